"""The HTML report in a real headless Chromium: renders without console errors, makes no network
request at all, shows its images, and a screenshot is not blank.

Chromium is Debian's (``apt-get install chromium``, done by ``make test``); Playwright drives it. A
missing browser is a failure, not a skip: this is the only check that the page really renders.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.report.conftest import Run

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def test_html_renders_offline_in_chromium(audit_run: Run) -> None:
    if not CHROMIUM.exists() and shutil.which("chromium") is None:
        pytest.fail(f"Chromium not found at {CHROMIUM}: run `make test` (it installs chromium with apt-get).")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright is not installed: run `make test` (it installs the dev extra).")
    page_html = audit_run.paths["html"].read_text(encoding="utf-8")
    requests: list[str] = []
    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM if CHROMIUM.exists() else shutil.which("chromium")), args=ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 1400})
            page.on("request", lambda r: requests.append(r.url))
            page.on(
                "console",
                lambda m: problems.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None,
            )
            page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
            page.set_content(page_html, wait_until="load")
            images = page.evaluate(
                "Array.from(document.images).map(i => [i.alt, i.complete && i.naturalWidth > 0])"
            )
            sections = page.evaluate("Array.from(document.querySelectorAll('h2')).map(h => h.textContent)")
            png = page.screenshot(full_page=False)
        finally:
            browser.close()
    external = [u for u in requests if not (u.startswith("data:") or u == "about:blank")]
    assert not external, f"the report made network requests: {external[:5]}"
    assert not problems, problems
    assert len(images) >= 3 and all(ok for _, ok in images), images
    assert "Executive summary" in sections and "Reproducibility" in sections
    shot = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    colours = np.unique(shot.reshape(-1, 3), axis=0)
    assert len(colours) > 50 and shot.std() > 10, "the screenshot is blank"
