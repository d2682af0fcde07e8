"""Failure analysis: consistent with the stored metrics of a real run, exact on a run with known failures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from robustlens.analysis import inspect_failures, ranking_for
from robustlens.evaluation.store import CLEAN, RunStore
from tests.report.conftest import Run
from tests.report.synthetic import MODEL, synthetic_run


def test_worst_cell_matches_the_result_metrics(audit_run: Run) -> None:
    result = audit_run.result
    analysis = inspect_failures(result, audit_run.dir)
    drops = {
        (c.model_id, c.corruption, c.severity): c.metrics["accuracy_drop"].value
        for c in result.cells
        if c.model_id in result.models and c.corruption != CLEAN
    }
    worst = max(drops.values())
    assert worst > 0, "the fixture run should lose accuracy somewhere"
    first = analysis.worst_cells[0]
    assert first.drop == worst
    assert drops[(first.model_id, first.corruption, first.severity)] == worst
    cell = result.cell(first.model_id, first.corruption, first.severity)
    assert cell is not None and first.value == cell.metrics["accuracy"].value
    assert [w.drop for w in analysis.worst_cells] == sorted(
        (w.drop for w in analysis.worst_cells), reverse=True
    )
    assert all(w.drop > 0 and w.model_id in result.models for w in analysis.worst_cells)


def test_collapse_points_and_examples_agree_with_the_records(audit_run: Run) -> None:
    result = audit_run.result
    analysis = inspect_failures(result, audit_run.dir)
    assert len(analysis.collapse_points) == len(result.models) * len(result.plan.specs)
    for point in analysis.collapse_points:
        clean = result.cell(point.model_id, CLEAN, 0.0).metrics["accuracy"].value  # type: ignore[union-attr]
        accs = {
            s: result.cell(point.model_id, point.corruption, s).metrics["accuracy"].value
            for s in result.plan.severities
        }  # type: ignore[union-attr]
        collapsed = [s for s, a in accs.items() if a <= 0.5 * clean]
        assert point.severity == (min(collapsed) if collapsed else None)
    store = RunStore(audit_run.dir)
    for ex in analysis.examples:
        clean = {r["id"]: r for r in store.read_records(ex.model_id, CLEAN, 0.0)}[ex.image_id]
        bad = {r["id"]: r for r in store.read_records(ex.model_id, ex.corruption, ex.severity)}[ex.image_id]
        assert clean["pred"] == clean["label"] and bad["pred"] != bad["label"]
        assert ex.label == ex.clean_prediction != ex.corrupted_prediction
    again = inspect_failures(result, audit_run.dir)
    assert again == analysis, "the analysis is deterministic"


def test_known_failures_are_found_exactly(tmp_path: Path) -> None:
    run, result = synthetic_run(tmp_path / "run")
    analysis = inspect_failures(result, run, top_k=5)
    # one cell per corruption (its worst severity); noise did no damage and is not a vulnerability
    assert [(w.corruption, w.severity) for w in analysis.worst_cells] == [("blur", 3.0)]
    assert analysis.worst_cells[0].drop == pytest.approx(8 / 12, abs=1e-6)
    points = {p.corruption: p.severity for p in analysis.collapse_points}
    assert points == {"noise": None, "blur": 3.0}
    shifts = {(s.true_class, s.predicted_class): s for s in analysis.class_shifts}
    assert set(shifts) == {("local", "nominal"), ("global", "nominal")}
    assert all(s.severity == 3.0 and s.clean_rate == 0 and s.corrupted_rate == 1 for s in shifts.values())
    # most confident failures first, two per worst cell, never the same image twice for a model
    picks = [(e.severity, e.image_id) for e in analysis.examples]
    assert picks == [(3.0, "global/img11.png"), (3.0, "global/img10.png")]
    assert len({i for _, i in picks}) == len(picks)
    text = " ".join(analysis.recommendations)
    assert "against blur" in text and "blur is deployment-critical from severity 3" in text
    assert "random weights" in text


def test_label_free_run_ranks_by_label_flips(tmp_path: Path) -> None:
    run, result = synthetic_run(tmp_path / "run", labelled=False)
    assert ranking_for(result).metric == "lfp"
    analysis = inspect_failures(result, run)
    assert analysis.worst_cells[0].metric == "lfp" and analysis.worst_cells[0].value == pytest.approx(
        8 / 12, abs=1e-6
    )
    assert analysis.class_shifts == []
    assert {p.corruption: p.severity for p in analysis.collapse_points} == {"noise": None, "blur": 3.0}
    assert any("Without labels" in r for r in analysis.recommendations)
    assert json.loads(analysis.to_json())["examples"][0]["label"] is None
    assert MODEL in {e.model_id for e in analysis.examples}
