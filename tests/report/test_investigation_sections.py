"""The report shows the investigation: operating envelope, failure slices (with images), compound
conditions, per-class vulnerability and the log, in HTML, Markdown, report.json and envelope.csv; the
verdict names the envelope; a run without ``investigation.json`` gets none of it.

Runs are the synthetic run of ``tests/report/synthetic.py`` with planted investigation records, so
every number the sections must show is known.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from robustlens.errors import UserInputError
from robustlens.investigate.records import CompoundResult
from robustlens.report.investigation import compound_finding
from robustlens.report.render import write_report
from robustlens.schemas import MetricValue
from tests.report.synthetic import (
    EVIL_QUESTION,
    MODEL,
    plant_investigation,
    planted_investigation,
    synthetic_run,
)
from tests.report.test_browser import _browser

SECTIONS = ("Operating envelope", "Failure slices", "Compound conditions", "Per-class vulnerability")
IMG = r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)" alt="slice (clean|corrupted) image ([^"]+)">'
BLUR = "tolerates blur up to radius 3.5 px (severity 1.5; accuracy drop 0.042, 95% CI 0.008–0.067)"


@dataclass(frozen=True)
class Report:
    dir: Path
    md: str
    html: str  # unescaped text of the page, for reading numbers
    raw_html: str
    data: dict
    paths: dict[str, Path]


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Report:
    run_dir, _ = synthetic_run(tmp_path_factory.mktemp("inv") / "run", images=True)
    plant_investigation(run_dir)
    paths = write_report(run_dir)
    raw = paths["html"].read_text(encoding="utf-8")
    data = json.loads(paths["json"].read_text(encoding="utf-8"))
    return Report(run_dir, paths["md"].read_text(encoding="utf-8"), html.unescape(raw), raw, data, paths)


def test_envelope_in_physical_units_with_interval_sorted_by_first_failure(planted: Report) -> None:
    for page in (planted.md, planted.html):
        assert "Operating envelope" in page and "Tolerance used" in page and "accuracy drop ≤ 0.050" in page
        assert BLUR in page and "exceeds it from severity 1.75" in page
        assert "tolerates compression down to quality 21.5" in page  # JPEG quality falls with severity
        assert "fails at the mildest level tested (severity 0.25)" in page
        assert "within tolerance at every level tested (up to severity 3; accuracy drop 0.000" in page
        section = page.split("Tolerance used")[1]
        texts = ("fails at the mildest level", BLUR, "tolerates compression", "within tolerance at every")
        order = [section.index(t) for t in texts]
        assert order == sorted(order), "earliest failure first"
    rows = planted.data["investigation"]["envelope"]
    assert [r["corruption"] for r in rows] == ["low_light", "blur", "compression", "noise"]
    blur = rows[1]
    assert (blur["value"]["value"], blur["value"]["ci_low"], blur["value"]["ci_high"]) == (
        0.0417,
        0.0083,
        0.0667,
    )
    table = list(csv.reader(io.StringIO(planted.paths["envelope_csv"].read_text(encoding="utf-8"))))
    assert table[2][:3] == [MODEL, "blur", "bracketed"] and table[2][-4:] == [
        "0.0417",
        "0.0083",
        "0.0667",
        "up to radius 3.5 px",
    ]


def test_verdict_names_the_envelope(planted: Report) -> None:
    ship = (
        "Operating envelope at accuracy drop ≤ 0.050 — ship for: blur up to radius 3.5 px, compression down "
        "to quality 21.5, noise up to severity 3 (every level tested); not for: low_light (fails at the "
        "mildest level)."
    )
    (env,) = planted.data["verdict"]["envelope"]
    assert env["text"] == ship and env["not_for"] == ["low_light (fails at the mildest level)"]
    assert f"{MODEL}: {ship}" in planted.data["verdict"]["lines"]
    summary = planted.md.split("## Executive summary")[1].split("## ")[0]
    assert ship in summary
    verdict_box = planted.html.split('id="verdict"')[1].split("</div>")[0]
    assert ship in verdict_box


def test_slices_with_intervals_marker_and_images(planted: Report) -> None:
    md_rows = [
        line for line in planted.md.splitlines() if "darkest quarter" in line or "class global" in line
    ]
    assert "0.500 (0.250–0.750)" in md_rows[0] and md_rows[0].endswith("| **significant** |")
    assert "0.062 (-0.125–0.312)" in md_rows[1] and md_rows[1].endswith("| not significant |")
    assert "`local/img04.png`, `local/img05.png`" in planted.md
    section = planted.raw_html.split('id="slices"')[1].split('id="compounds"')[0]
    assert section.count('class="sig">significant</span></td>') == 1 and "0.250–0.750" in section
    found = {(side, i): b64 for b64, side, i in re.findall(IMG, section)}
    ids = ("local/img04.png", "local/img05.png", "global/img08.png")
    assert set(found) == {(side, i) for i in ids for side in ("clean", "corrupted")}
    for i in ids:
        clean, corrupted = (
            Image.open(io.BytesIO(base64.b64decode(found[s, i]))) for s in ("clean", "corrupted")
        )
        assert clean.size == corrupted.size == (48, 48) and clean.tobytes() != corrupted.tobytes()


def test_compounds_claim_only_what_the_intervals_support(planted: Report) -> None:
    (first, second) = planted.data["investigation"]["compounds"]
    assert first["finding_text"] == "worse than the parts added"
    assert second["finding"] == "not_distinguishable", "the record said worse, its intervals overlap"
    assert (
        "0.611 (0.528–0.694)" in planted.md and '0.611<span class="ci">0.528–0.694</span>' in planted.raw_html
    )
    for page in (planted.md, planted.html):
        assert "worse than the parts added" in page and "not distinguishable from its worst part" in page

    def chain(lo: float, hi: float, **claims: bool | None) -> str:
        parts = {
            "a": MetricValue(value=0.2, ci_low=0.1, ci_high=0.3),
            "b": MetricValue(value=0.15, ci_low=0.05, ci_high=0.25),
        }
        drop = MetricValue(value=(lo + hi) / 2, ci_low=lo, ci_high=hi)
        record = CompoundResult(
            model_id=MODEL,
            corruption="a+b",
            parts=["a", "b"],
            severity=2,
            metric="accuracy_drop",
            drop=drop,
            part_drops=parts,
            **claims,
        )
        return compound_finding(record)[0]

    assert chain(0.36, 0.5, worse_than_worst_part=True, worse_than_sum=True) == "worse_than_sum"
    assert chain(0.32, 0.5, worse_than_worst_part=True, worse_than_sum=True) == "worse_than_worst_part"
    assert chain(0.05, 0.08, worse_than_worst_part=False) == "milder_than_worst_part"
    assert chain(0.25, 0.4, worse_than_worst_part=True) == "not_distinguishable"


def test_classes_and_log_with_untrusted_text_escaped(planted: Report) -> None:
    for page in (planted.md, planted.html):
        assert "Per-class vulnerability" in page and "Investigation log" in page
        assert "0.875" in page and "bisect_tolerance" in page
        assert "blur was the worst condition in the first pass" in page
    assert "<script>" not in planted.md and "](javascript:" not in planted.md and "<b>" not in planted.md
    assert (
        "Is it &lt;script&gt;alert(1)&lt;/script&gt; safe? \\[click\\]\\(javascript\\:alert(1))" in planted.md
    )
    assert "\\*\\*bold\\*\\* \\| pipe" in planted.md, "a pipe in a question cannot split the table row"
    assert "<script>" not in planted.raw_html and html.escape(EVIL_QUESTION, quote=False) in planted.raw_html


def test_without_investigation_nothing_changes(planted: Report, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(planted.dir, run_dir)
    (run_dir / "investigation.json").unlink()
    shutil.rmtree(run_dir / "report")
    paths = write_report(run_dir)
    data = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert "investigation" not in data and "envelope" not in data["verdict"]
    assert "envelope_csv" not in paths and not (run_dir / "report" / "envelope.csv").exists()
    page, md = paths["html"].read_text(encoding="utf-8"), paths["md"].read_text(encoding="utf-8")
    for title in (*SECTIONS, "Investigation log", "Operating envelope at"):
        assert title not in page and title not in md
    assert "slice" not in page and 'class="ship"' not in page


SEEN = """() => Array.from(document.querySelectorAll('h2')).filter(h => h.offsetParent !== null
  && h.getBoundingClientRect().height > 0).map(h => h.textContent)"""
SLICE_IMAGES = """() => Array.from(document.querySelectorAll('.slices img')).map(i =>
  [i.alt, i.complete && i.naturalWidth > 0 && i.getBoundingClientRect().width > 0])"""


def test_sections_visible_and_slice_images_load_in_chromium(planted: Report) -> None:
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    with sync_playwright() as p:
        browser = _browser(p)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})  # type: ignore[attr-defined]
            page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
            page.set_content(planted.raw_html, wait_until="load")
            headings = page.evaluate(SEEN)
            images = page.evaluate(SLICE_IMAGES)
            toc = page.evaluate("Array.from(document.querySelectorAll('nav.toc a')).map(a => a.textContent)")
            ship = page.evaluate("document.querySelector('#verdict .ship').innerText")
        finally:
            browser.close()  # type: ignore[attr-defined]
    assert not problems, problems
    assert all(s in headings for s in (*SECTIONS, "Investigation log")), headings
    assert all(s in toc for s in (*SECTIONS, "Investigation log")), toc
    assert len(images) == 6 and all(ok for _, ok in images), images
    assert "ship for: blur up to radius 3.5 px" in ship and "not for: low_light" in ship


def test_rebuild_identical_placeholder_and_damaged_file(planted: Report, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(planted.dir, run_dir)
    inv = planted_investigation()
    odd = inv.slices[0].model_copy(update={"corruption": "fog", "image_ids": ["nominal/img00.png"]})
    plant_investigation(run_dir, inv.model_copy(update={"slices": [*inv.slices, odd]}))
    first = {k: p.read_bytes() for k, p in write_report(run_dir).items()}
    again = {k: p.read_bytes() for k, p in write_report(run_dir).items()}
    assert first == again, "same run -> byte-identical report files"
    section = first["html"].decode().split('id="slices"')[1].split('id="compounds"')[0]
    assert section.count("fog is not in the stored plan") == 2 and len(re.findall(IMG, section)) == 6
    (run_dir / "investigation.json").write_text('{"steps": [{"iteration": "x"}]}', encoding="utf-8")
    with pytest.raises(UserInputError, match=r"investigation\.json cannot be read"):
        write_report(run_dir)
