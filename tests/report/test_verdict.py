"""The verdict the executive summary opens with: holds / fails / inconclusive against the tolerance,
the most important safety fact found in the data, and the same sentences in HTML, Markdown and JSON."""

from __future__ import annotations

import html
import json
from pathlib import Path

from robustlens.analysis import inspect_failures
from robustlens.report.formatting import number
from robustlens.report.markdown import text
from robustlens.report.render import write_report
from robustlens.report.verdict import audited_safety_fact, verdict
from robustlens.schemas import AuditResult, ClassShift, DomainBrief, FailureAnalysis, Tolerance
from tests.report.synthetic import MODEL, synthetic_run


def _with_tolerance(run_dir: Path, result: AuditResult, tol: Tolerance | None) -> AuditResult:
    result.brief = DomainBrief(domain="synthetic line", tolerance=tol)
    result.save(run_dir / "result.json")
    return result


def _drops(result: AuditResult, key: str = "accuracy_drop") -> list[tuple[str, float, float, float]]:
    return [
        (c.corruption, c.severity, c.metrics[key].ci_low, c.metrics[key].ci_high)
        for c in result.cells
        if key in c.metrics
    ]


def test_fails_from_the_first_severity_whose_interval_clears_the_default(tmp_path: Path) -> None:
    run_dir, result = synthetic_run(tmp_path)
    v = verdict(result, inspect_failures(result, run_dir))
    assert (v.metric, v.max, v.source) == ("accuracy_drop", 0.05, "default")
    assert "default for labelled runs" in v.tolerance_text and "“tolerance:” in the brief" in v.tolerance_text
    (m,) = v.models
    assert m.status == "fails"
    first = min(s for c, s, lo, _ in _drops(result) if c == "blur" and lo > 0.05)
    cell = result.cell(MODEL, "blur", first)
    assert cell is not None
    drop = cell.metrics["accuracy_drop"]
    assert [(f.corruption, f.severity) for f in m.failures] == [("blur", first)]
    assert (
        f"blur from severity {first:g} (drop {number(drop.value)}, 95% CI "
        f"{number(drop.ci_low)}–{number(drop.ci_high)})" in m.text
    )
    assert "noise" not in m.text  # noise changes nothing


def test_holds_when_every_upper_bound_is_within_the_brief_tolerance(tmp_path: Path) -> None:
    run_dir, result = synthetic_run(tmp_path)
    highest = max(hi for *_, hi in _drops(result))
    tol = Tolerance(metric="accuracy_drop", max=min(1.0, highest + 0.01))
    result = _with_tolerance(run_dir, result, tol)
    v = verdict(result, inspect_failures(result, run_dir))
    assert v.source == "brief" and "from the brief" in v.tolerance_text
    assert [m.status for m in v.models] == ["holds"]
    assert number(highest) in v.models[0].text


def test_inconclusive_when_an_interval_straddles_the_tolerance(tmp_path: Path) -> None:
    run_dir, result = synthetic_run(tmp_path)
    drops = _drops(result)
    top_low, top_high = max(lo for _, _, lo, _ in drops), max(hi for *_, hi in drops)
    assert top_low < top_high
    result = _with_tolerance(run_dir, result, Tolerance(max=(top_low + top_high) / 2))
    v = verdict(result, inspect_failures(result, run_dir))
    (m,) = v.models
    assert m.status == "inconclusive" and not m.failures
    assert m.text.startswith("inconclusive") and "straddles" in m.text
    straddling = {(c, s) for c, s, lo, hi in drops if lo <= v.max < hi}
    assert {(c.corruption, c.severity) for c in m.inconclusive} == straddling


def test_label_free_run_defaults_to_lfp(tmp_path: Path) -> None:
    run_dir, result = synthetic_run(tmp_path, labelled=False)
    result = _with_tolerance(run_dir, result, Tolerance(metric="accuracy_drop", max=0.05))
    v = verdict(result, inspect_failures(result, run_dir))
    assert (v.metric, v.max, v.source) == ("lfp", 0.10, "default")
    assert "needs labels" in v.tolerance_text
    assert v.models[0].status == "fails" and "LFP" in v.models[0].text


def test_safety_fact_names_the_class_that_absorbs_the_errors(tmp_path: Path) -> None:
    run_dir, result = synthetic_run(tmp_path)
    v = verdict(result, inspect_failures(result, run_dir))
    # by construction: at blur s3 every 'local' and every 'global' image is predicted 'nominal'
    assert v.safety_fact is not None
    assert "every 'local' image and every 'global' image 'nominal'" in v.safety_fact
    assert "blur (from severity 3)" in v.safety_fact


def test_the_safety_fact_concerns_an_audited_model_before_the_reference() -> None:
    def shift(model: str, corruption: str, true: str) -> ClassShift:
        return ClassShift(
            model_id=model, corruption=corruption, severity=2.0, true_class=true,
            predicted_class="ok", clean_rate=0.0, corrupted_rate=1.0,
        )  # fmt: skip

    # The reference reaches more corruptions, but the audited model is the one to be deployed.
    analysis = FailureAnalysis(
        class_shifts=[shift("ref", "fog", "bad"), shift("ref", "blur", "bad"), shift("cand", "jpeg", "bad")]
    )
    fact = audited_safety_fact(analysis, ["cand", "ref"], "ref")
    assert fact is not None and "cand calls every 'bad' image 'ok'" in fact and "jpeg" in fact
    assert "ref calls" in (audited_safety_fact(analysis, ["cand", "ref"], None) or "")
    only_ref = FailureAnalysis(class_shifts=[shift("ref", "fog", "bad")])
    assert "ref calls" in (audited_safety_fact(only_ref, ["cand", "ref"], "ref") or "")


def test_without_a_sink_class_the_fact_is_the_largest_significant_damage(tmp_path: Path) -> None:
    run_dir, result = synthetic_run(tmp_path)
    analysis = inspect_failures(result, run_dir)
    analysis.class_shifts = [s for s in analysis.class_shifts if s.corrupted_rate < 0.5]
    v = verdict(result, analysis)
    assert v.safety_fact is not None and v.safety_fact.startswith("the largest significant damage")
    assert v.models[0].failures[0].sentence in v.safety_fact


def test_html_markdown_and_json_carry_the_same_verdict(tmp_path: Path) -> None:
    run_dir, _ = synthetic_run(tmp_path)
    paths = write_report(run_dir)
    data = json.loads(paths["json"].read_text(encoding="utf-8"))
    page, md = paths["html"].read_text(encoding="utf-8"), paths["md"].read_text(encoding="utf-8")
    v = data["verdict"]
    assert v["models"][0]["status"] == "fails" and v["safety_fact"]
    sentences = [v["tolerance_text"], v["safety_fact"], *(m["text"] for m in v["models"])]
    for s in sentences:
        assert s in html.unescape(page), s
        assert text(s) in md, s
    # the verdict opens the executive summary, before the generated summary
    summary = page.index('id="summary"')
    assert summary < page.index('id="verdict"') < page.index("generated from the numbers", summary)
    md_summary = md.index("## Executive summary")
    assert md_summary < md.index("**Verdict.**") < md.index("*generated from the numbers*")


def test_balanced_accuracy_drop_against_the_clean_value(tmp_path: Path) -> None:
    run_dir, result = synthetic_run(tmp_path)
    result = _with_tolerance(run_dir, result, Tolerance(metric="balanced_accuracy_drop", max=0.05))
    v = verdict(result, inspect_failures(result, run_dir))
    clean = result.cell(MODEL, "clean", 0.0)
    assert clean is not None
    base = clean.metrics["balanced_accuracy"].value
    fails = [
        c
        for c in result.cells
        if c.corruption == "blur" and base - (c.metrics["balanced_accuracy"].ci_high or 0.0) > 0.05
    ]
    first = min(fails, key=lambda c: c.severity)
    bal = first.metrics["balanced_accuracy"]
    (m,) = v.models
    assert m.status == "fails" and [(f.corruption, f.severity) for f in m.failures] == [
        ("blur", first.severity)
    ]
    assert f"drop {number(base - bal.value)}, 95% CI {number(base - bal.ci_high)}" in m.text
    assert "balanced accuracy drop" in v.tolerance_text


def test_verdict_texts_from_user_names_stay_inert(tmp_path: Path) -> None:
    run_dir, result = synthetic_run(tmp_path)
    evil = "<script>alert(1)</script> [x](javascript:alert(2))"
    result.class_names = ["nominal " + evil, "local", "global"]
    result.save(run_dir / "result.json")
    paths = write_report(run_dir, ("html", "md"))
    page, md = paths["html"].read_text(encoding="utf-8"), paths["md"].read_text(encoding="utf-8")
    data_fact = verdict(result, inspect_failures(result, run_dir)).safety_fact
    assert data_fact is not None and evil in data_fact, "the sink class is the renamed 'nominal'"
    assert "<script" not in md.lower() and "javascript:" not in md.lower()
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert text(data_fact) in md
