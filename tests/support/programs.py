"""Programs from Debian's packages that some tests start (redis-server, chromium).

Where one is missing the tests needing it skip, saying how to install it; under CI=true they
fail instead (CI installs them: .ci/system-packages), so that a missing program never hides a
test behind a skip.
"""

from __future__ import annotations

import os
import shutil

import pytest


def program_or_skip(package: str, *names: str, purpose: str) -> str:
    """The path of the first of `names` installed (Debian `package`), else skip (fail on CI)."""
    found = next((path for path in map(shutil.which, names or (package,)) if path), None)
    if found is None:
        message = f"{package} is not installed (Debian: apt-get install {package})"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}; CI must run {purpose}")
        pytest.skip(message)
    return found
