"""The status page in a real browser: headless Chromium renders `/` of the demo gateway, and the
screenshot and the DOM it dumps show every tenant's row, its metadata link and the example
requests. Without Chromium the test skips, saying so; under CI=true it fails instead."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx

from gateway.observability.status_page import CSP, EXAMPLES
from tests.conftest import DEMO_TENANTS, RunningGateway
from tests.support.png import read_png
from tests.support.programs import program_or_skip

FLAGS = (
    "--headless",
    "--no-sandbox",  # the tests run as root, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def chromium_or_skip() -> str:
    return program_or_skip("chromium", "chromium", "chromium-browser", purpose="the status page's browser test")


def _chromium(browser: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [browser, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def test_the_status_page_renders_every_tenant_in_a_browser(gateway: RunningGateway, tmp_path: Path) -> None:
    browser = chromium_or_skip()
    # Some traffic first, so the page has figures to show.
    with httpx.Client(base_url=gateway.url, timeout=30) as client:
        for tenant in DEMO_TENANTS:
            client.get(f"/fhir/{tenant}/Patient", params={"_count": 2})
        html = client.get("/", headers={"Accept": "text/html"})
    assert html.headers["content-security-policy"] == CSP

    dom = _chromium(browser, tmp_path / "profile-dom", "--dump-dom", f"{gateway.url}/").stdout
    for tenant in DEMO_TENANTS:
        assert f'id="tenant-{tenant}"' in dom, f"no row for {tenant}"
        assert f'href="{gateway.url}/fhir/{tenant}/metadata"' in dom
        assert f'href="{gateway.url}/fhir/{tenant}/Patient?family=smith&amp;_count=5"' in dom
    assert "<script" not in dom.lower()

    shot = tmp_path / "status.png"
    _chromium(browser, tmp_path / "profile-shot", f"--screenshot={shot}", "--window-size=1200,900", f"{gateway.url}/")
    image = read_png(shot.read_bytes())
    assert (image.width, image.height) == (1200, 900)
    colours = image.colours()
    _, most = colours.most_common(1)[0]
    assert len(colours) > 20, "the screenshot is (nearly) one colour: nothing was drawn"
    assert most < 0.97 * len(image.pixels), "almost every pixel is the background"


def test_the_example_requests_work(gateway: RunningGateway) -> None:
    with httpx.Client(base_url=gateway.url, timeout=30) as client:
        status = client.get("/").json()["status"]
        for tenant in DEMO_TENANTS:
            base = status[tenant]["fhir_base_url"]
            for path in EXAMPLES:
                answer = client.get(f"{base}/{path}")
                assert answer.status_code == 200, f"{tenant} {path}: {answer.status_code} {answer.text[:300]}"
