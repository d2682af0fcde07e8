"""The report files of a real run: numbers agree across formats, rebuilds are byte-identical, the CSV
has one row per cell with intervals, and the CLI wraps it all with clear errors."""

from __future__ import annotations

import csv
import html
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from robustlens.cli import main
from robustlens.report.render import write_report
from robustlens.schemas import Check, CriticVerdict, DomainBrief, ValidationReport
from tests.report.conftest import Run
from tests.report.synthetic import synthetic_run

NUMBER = re.compile(r"-?\d+\.\d+")
SECTION_TITLES = (
    "Executive summary",
    "Corruption plan",
    "Clean performance",
    "Severity curves",
    "Ranked vulnerabilities",
    "Corruption error",
    "Label-free metrics",
    "Calibration",
    "Failure gallery",
    "Class-level confusion shifts",
    "Recommendations",
    "Reproducibility",
)


def fmt(x: float) -> str:
    """The report's number format, written out independently: 3 decimals, no negative zero."""
    text = f"{x:.3f}"
    return "0.000" if text == "-0.000" else text


def shown_values(obj: Any) -> Iterator[dict[str, Any]]:
    """Every displayed number in report.json: dicts that carry a value and its display text."""
    if isinstance(obj, dict):
        if "text" in obj and "value" in obj:
            yield obj
        for v in obj.values():
            yield from shown_values(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from shown_values(v)


def all_numbers(obj: Any) -> set[str]:
    """Every float anywhere in report.json, formatted as the report formats numbers."""
    if isinstance(obj, bool) or obj is None:
        return set()
    if isinstance(obj, int | float):
        return {fmt(float(obj))}
    if isinstance(obj, dict):
        return set().union(*(all_numbers(v) for v in obj.values())) if obj else set()
    if isinstance(obj, list):
        return set().union(*(all_numbers(v) for v in obj)) if obj else set()
    if isinstance(obj, str):
        return set(NUMBER.findall(obj))
    return set()


def files(folder: Path) -> dict[Path, bytes]:
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def load(run: Run) -> tuple[dict[str, Any], str, str]:
    data = json.loads(run.paths["json"].read_text(encoding="utf-8"))
    return data, run.paths["html"].read_text(encoding="utf-8"), run.paths["md"].read_text(encoding="utf-8")


def test_writes_every_format(audit_run: Run) -> None:
    assert set(audit_run.paths) == {"html", "md", "json", "csv"}
    report = audit_run.dir / "report"
    assert {p.name for p in report.iterdir()} >= {"report.html", "report.md", "report.json", "cells.csv"}
    assert (report / "figures" / "severity_curves.png").read_bytes()[:4] == b"\x89PNG"
    data, page, md = load(audit_run)
    assert data["schema"] == "robustlens.report" and data["schema_version"] == 1
    for section in (
        "summary",
        "plan",
        "clean",
        "heatmap",
        "vulnerabilities",
        "corruption_error",
        "label_free",
    ):
        assert data[section], section
    for title in SECTION_TITLES:
        assert title in page and title in md, title
    assert "generated from the numbers" in page
    assert "random weights" in page and 'class="warn"' in page, "random-weight models get a visible warning"


def test_every_number_shown_equals_the_json(audit_run: Run) -> None:
    data, page, md = load(audit_run)
    values = list(shown_values(data))
    assert len(values) > 100
    for v in values:
        if v["value"] is None:
            assert v["text"] == "–"
            continue
        assert v["text"] == fmt(v["value"]), v
        for doc, name in ((page, "html"), (md, "md")):
            assert v["text"] in doc, (name, v)
            if v.get("ci_low") is not None:
                assert f"{fmt(v['ci_low'])}–{fmt(v['ci_high'])}" in doc, (name, v)
    known = all_numbers(data)
    cells = [re.sub(r"<[^>]+>", " ", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", page, flags=re.S)]
    html_numbers = [n for c in cells for n in NUMBER.findall(html.unescape(c))]
    md_numbers = [n for line in md.splitlines() if line.startswith("|") for n in NUMBER.findall(line)]
    assert len(html_numbers) > 200 and len(md_numbers) > 200
    assert set(html_numbers) <= known, set(html_numbers) - known
    assert set(md_numbers) <= known, set(md_numbers) - known


def test_rebuild_is_byte_identical(audit_run: Run, tmp_path: Path) -> None:
    report = audit_run.dir / "report"
    before = files(report)
    copy = tmp_path / "copy"
    shutil.copytree(audit_run.dir, copy, ignore=shutil.ignore_patterns("report"))
    for run_dir in (audit_run.dir, copy):
        write_report(run_dir)
        # the report names its own run folder ("Rebuild this report: robustlens report RUN"), so a
        # copy differs in that path only
        own, orig = str(run_dir).encode(), str(audit_run.dir).encode()
        after = {k: v.replace(own, orig) for k, v in files(run_dir / "report").items()}
        assert after.keys() == before.keys()
        changed = [str(k) for k in before if before[k] != after[k]]
        assert not changed, f"rebuilt files differ: {changed}"


def test_csv_has_one_row_per_cell_with_intervals(audit_run: Run) -> None:
    result = audit_run.result
    with open(audit_run.paths["csv"], newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(result.cells) == 3 * (1 + 2 * 2)
    assert len({(r["model"], r["corruption"], r["severity"]) for r in rows}) == len(rows)
    header = rows[0].keys()
    metrics = sorted({m for c in result.cells for m in c.metrics})
    for m in metrics:
        assert {m, f"{m}_ci_low", f"{m}_ci_high"} <= header, m
    for row, cell in zip(rows, result.cells, strict=True):
        assert (row["model"], row["corruption"], float(row["severity"])) == (
            cell.model_id,
            cell.corruption,
            cell.severity,
        )
        for m, mv in cell.metrics.items():
            assert float(row[m]) == mv.value
            if mv.ci_low is not None:
                assert float(row[f"{m}_ci_low"]) == mv.ci_low and float(row[f"{m}_ci_high"]) == mv.ci_high
    assert rows[0]["lfp"] == "", "the clean row has no label flips"


def test_llm_narrative_is_labelled(audit_run: Run, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(audit_run.dir, copy, ignore=shutil.ignore_patterns("report"))
    paths = write_report(copy, ("html", "md"), narrative="Blur <b>hurts</b> most.", narrative_source="llm")
    page, md = paths["html"].read_text(), paths["md"].read_text()
    assert "LLM narrative" in page and "LLM narrative" in md
    assert "Blur &lt;b&gt;hurts&lt;/b&gt; most." in page, "the narrative is escaped, never markup"
    assert "generated from the numbers" in page, "the numbers-based summary stays next to it"
    assert not (copy / "report" / "report.json").exists()


def test_label_free_run_and_missing_images(tmp_path: Path) -> None:
    run, _ = synthetic_run(tmp_path / "run", labelled=False)
    paths = write_report(run)
    data = json.loads(paths["json"].read_text())
    assert data["run"]["ranking"]["metric"] == "lfp" and data["corruption_error"] is None
    assert data["gallery"] and not any(g["source_found"] for g in data["gallery"])
    page = paths["html"].read_text()
    assert "source image not found" in page and 'class="ph"' in page
    assert "Label-free run" in page


def test_cli_report(audit_run: Run, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(audit_run.dir, copy, ignore=shutil.ignore_patterns("report"))
    assert main(["report", str(copy), "--format", "json,csv"]) == 0
    assert sorted(p.name for p in (copy / "report").iterdir()) == ["cells.csv", "report.json"]
    (copy / "result.json").unlink()
    assert main(["report", str(copy)]) == 2, "a run without result.json is a clear user error"
    assert main(["report", str(audit_run.dir), "--format", "pdf"]) == 2


def test_brief_and_critic_verdicts_are_shown(tmp_path: Path) -> None:
    run, result = synthetic_run(tmp_path / "run")
    brief = DomainBrief(
        domain="textile line", imaging_setup="line-scan camera", deployment_conditions=["dust"]
    )
    verdict = CriticVerdict(
        realistic=False, score=0.25, reasons=["blur this strong needs a broken lens"], critic="offline-rules"
    )
    validation = [
        ValidationReport(spec_name="blur", ok=False, checks=[Check(name="ssim", passed=True)], critic=verdict)
    ]
    result.model_copy(update={"brief": brief, "validation": validation}).save(run / "result.json")
    paths = write_report(run, ("html", "md"))
    for doc in (paths["html"].read_text(), paths["md"].read_text()):
        assert "Robustness audit — textile line" in doc and "line-scan camera" in doc
        assert "NOT realistic" in doc and "blur this strong needs a broken lens" in doc and "0.250" in doc


def test_failed_check_reference_hint_and_checkpoint_are_named(tmp_path: Path) -> None:
    run, result = synthetic_run(tmp_path / "run")
    checks = [
        Check(name="ssim", passed=True),
        Check(name="monotone_damage", passed=False, detail="severity 3 milder than 2"),
    ]
    validation = [ValidationReport(spec_name="blur", ok=False, checks=checks)]
    brief = DomainBrief(domain="textile line", checkpoints={result.models[0]: "/weights/line-v7.pt"})
    result.model_copy(update={"brief": brief, "validation": validation}).save(run / "result.json")
    paths = write_report(run, ("html", "md"))
    for raw in (html.unescape(paths["html"].read_text()), paths["md"].read_text()):
        doc = " ".join(raw.split())
        assert "FAILED (1/2 checks)" in doc and "monotone" in doc and "severity 3 milder than 2" in doc
        assert "reference_model: MODEL_ID" in doc and "--reference MODEL_ID" in doc  # no reference here
        assert "line-v7.pt" in doc


def test_images_per_class_and_severity_strips_of_the_users_images(audit_run: Run) -> None:
    data, page, md = load(audit_run)
    images = json.loads((audit_run.dir / "images.json").read_text(encoding="utf-8"))["images"]
    names = audit_run.result.class_names or []
    expected = [
        {"class": n, "n_images": sum(1 for i in images if i["label"] == k)} for k, n in enumerate(names)
    ]
    assert data["class_counts"] == expected and sum(c["n_images"] for c in expected) == len(images)
    for c in expected:
        assert f"<strong>{c['class']}</strong> {c['n_images']}" in page
        assert f"**{c['class']}** {c['n_images']}" in md
    plan = audit_run.result.plan
    assert [s["corruption"] for s in data["strips"]] == [s.name for s in plan.specs]
    first = min(i["id"] for i in images)
    assert all(s["image_id"] == first and s["note"] == "" for s in data["strips"])
    for spec in plan.specs:
        for label in ["clean", *(f"s{v:g}" for v in plan.severities)]:
            assert f'alt="{spec.name} {label}"' in page, (spec.name, label)


def test_scatter_legend_sits_outside_the_axes(audit_run: Run) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from robustlens.report.plots import tracking_scatter

    data, _, _ = load(audit_run)
    fig = tracking_scatter(data)
    assert fig is not None
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    whole = fig.bbox
    for ax in fig.axes:
        legend = ax.get_legend()
        box = legend.get_window_extent(renderer)
        assert not box.overlaps(ax.get_window_extent(renderer)), "the legend covers the plot"
        assert whole.x0 - 1 <= box.x0 and box.x1 <= whole.x1 + 1 and whole.y0 - 1 <= box.y0


def test_a_rebuild_reads_its_thumbnails_back_and_an_edited_image_remakes_them(tmp_path: Path) -> None:
    """Strips and gallery regenerate corrupted images at native resolution (seconds each on photos), so
    a rebuild reads them back from RUN/.thumbs; an image edited since (another mtime) is remade."""
    import base64
    import io
    import os

    from PIL import Image

    from tests.fixtures import textile_folder

    plan = tmp_path / "plan.yaml"
    plan.write_text("seed: 1\nseverities: [2, 5]\nspecs: [{name: noise, recipe: [{name: gaussian_noise}]}]\n")
    data = textile_folder(tmp_path / "data", per_class=2, broken=False)
    run = tmp_path / "run"
    args = ["eval", "-p", str(plan), "-d", str(data), "-m", "demo:textile", "-o", str(run), "-j", "0"]
    assert main([*args, "--bootstrap", "10"]) == 0
    first = write_report(run, ["html"])["html"].read_bytes()
    cached = sorted((run / ".thumbs").glob("*.png"))
    assert len(cached) >= 3  # the strip: clean + 2 severities (and any gallery examples)
    buf = io.BytesIO()
    Image.new("RGB", (3, 3), (255, 0, 255)).save(buf, format="PNG")
    for path in cached:  # a marker in place of every stored thumbnail: a rebuild must show it
        path.write_bytes(buf.getvalue())
    marker = base64.b64encode(buf.getvalue()).decode("ascii")
    assert marker in write_report(run, ["html"])["html"].read_text()
    for image in data.rglob("*.jpg"):
        os.utime(image, ns=(image.stat().st_atime_ns, image.stat().st_mtime_ns + 10**9))
    assert write_report(run, ["html"])["html"].read_bytes() == first  # remade, byte-identical
