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


def _browser(p: object) -> object:
    path = CHROMIUM if CHROMIUM.exists() else shutil.which("chromium")
    if path is None:
        pytest.fail(f"Chromium not found at {CHROMIUM}: run `make test` (it installs chromium with apt-get).")
    return p.chromium.launch(executable_path=str(path), args=ARGS)  # type: ignore[attr-defined]


OPEN_ALL = "document.querySelectorAll('details').forEach(d => d.open = true)"
# tables whose right edge lies beyond the page and cannot be scrolled to inside their container
CLIPPED_TABLES = """() => Array.from(document.querySelectorAll('table')).filter(t => {
  const box = t.closest('.scroll');
  if (!box) return t.getBoundingClientRect().right > document.documentElement.clientWidth + 1;
  const scrolls = ['auto', 'scroll'].includes(getComputedStyle(box).overflowX);
  const inside = box.getBoundingClientRect().right <= document.documentElement.clientWidth + 1;
  return !(scrolls && inside && box.scrollWidth >= t.offsetWidth - 1);
}).map(t => (t.closest('[id]') || {}).id + ': ' + t.rows[0].textContent.slice(0, 40))"""
# the widest "All results" table is wider than its container and scrolls inside it
ALL_RESULTS_SCROLLS = """() => Array.from(document.querySelectorAll('h2#cells ~ details .scroll')).some(
  b => b.scrollWidth > b.clientWidth && getComputedStyle(b).overflowX === 'auto')"""


def test_layout_on_a_phone_and_a_desktop(audit_run: Run) -> None:
    """The page fits a 390 px phone (tables scroll inside their own box), the "All results" tables
    scroll instead of being cut off, and the report names the real run and checkpoints."""
    from playwright.sync_api import sync_playwright

    page_html = audit_run.paths["html"].read_text(encoding="utf-8")
    with sync_playwright() as p:
        browser = _browser(p)
        try:
            widths, clipped = {}, {}
            for width in (390, 1200):
                page = browser.new_page(viewport={"width": width, "height": 900})  # type: ignore[attr-defined]
                page.set_content(page_html, wait_until="load")
                page.evaluate(OPEN_ALL)
                widths[width] = page.evaluate("document.documentElement.scrollWidth")
                clipped[width] = page.evaluate(CLIPPED_TABLES)
                if width == 390:
                    scrolls = page.evaluate(ALL_RESULTS_SCROLLS)
                    strips = page.evaluate(
                        "Array.from(document.querySelectorAll('.strip img')).map(i => i.naturalWidth > 0)"
                    )
                    rebuild = page.evaluate(
                        "Array.from(document.querySelectorAll('dt')).find(d => d.textContent === "
                        "'Rebuild this report').nextElementSibling.textContent"
                    )
                    header = page.evaluate("document.querySelector('header.top').textContent")
        finally:
            browser.close()  # type: ignore[attr-defined]
    assert widths[390] <= 390 + 2, f"the page is {widths[390]} px wide on a 390 px phone"
    assert widths[1200] <= 1200 + 2
    assert clipped == {390: [], 1200: []}, clipped
    assert scrolls, "the All results table should scroll inside its box on a phone"
    result = audit_run.result
    assert len(strips) == len(result.plan.specs) * (len(result.plan.severities) + 1) and all(strips)
    assert rebuild == f"robustlens report {audit_run.dir}"
    assert "a.pt" in header and "b.pt" in header, "checkpoint files next to the model names"
