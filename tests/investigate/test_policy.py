"""The offline investigation on a real small run (demo model, 18 textile images, engine-evaluated)."""

from __future__ import annotations

import json
from pathlib import Path

from robustlens.analysis import inspect_failures
from robustlens.data.sources import open_images
from robustlens.evaluation.engine import evaluate
from robustlens.investigate.compound import compound_specs
from robustlens.investigate.evaluator import refined_plan
from robustlens.investigate.policy import InvestigationBudget, investigate
from robustlens.investigate.records import load_investigation
from robustlens.schemas import CorruptionSpec
from tests.investigate.realrun import BRIEF, MODEL, OPTIONS, plan


def test_extending_with_an_extra_severity_evaluates_one_new_cell_per_model(run, tmp_path: Path) -> None:
    out, data, result = run
    before = len((out / "timings.jsonl").read_text().splitlines())
    extended_plan = plan()
    first = extended_plan.specs[0]
    extended_plan.specs[0] = CorruptionSpec(**{**first.model_dump(), "extra_severities": [2.50001, 2.5]})
    assert extended_plan.specs[0].extra_severities == [2.5]
    extended = evaluate(extended_plan, open_images(data), [MODEL], out, options=OPTIONS)
    after = (out / "timings.jsonl").read_text().splitlines()
    assert [json.loads(x)["severity"] for x in after[before:]] == [2.5]
    assert (out / "cells" / "demo_textile" / "blur" / "s2.5.jsonl").exists()
    assert {c.severity for c in extended.cells} == {0.0, 1.0, 3.0, 5.0}, "summary keeps the plan ladder"
    assert extended.summary == result.summary


def test_offline_investigation_on_a_real_run(run) -> None:
    out, data, result = run
    images = open_images(data)
    analysis = inspect_failures(result, out)
    budget = InvestigationBudget(max_cells=4, chains=1, n_boot=200)
    inv = investigate(out, result, analysis, BRIEF, images, [MODEL], OPTIONS, budget)
    assert load_investigation(out) == inv
    assert {(t.model_id, t.corruption) for t in inv.envelope} == {(MODEL, s.name) for s in result.plan.specs}
    added = sum(s.cells_added for s in inv.steps)
    assert 0 < added <= budget.max_cells
    searched = [t for t in inv.envelope if set(t.evaluated) - {1.0, 3.0, 5.0}]
    assert searched, "a spec with a significant drop was refined"
    for t in searched:  # new rungs evaluated as files of that spec only
        for s in set(t.evaluated) - {1.0, 3.0, 5.0}:
            assert (out / "cells" / "demo_textile" / t.corruption / f"s{s:g}.jsonl").exists()
    chains = [c.name for c in compound_specs(result.plan, BRIEF)]
    assert (
        chains
        and chains[0] == "chain-shake-jpeg"
        and "vibration" in compound_specs(result.plan, BRIEF)[0].rationale
    )
    assert inv.compounds and set(inv.compounds[0].parts) == {"shake", "jpeg"}
    assert (
        inv.slices
        and inv.vulnerability
        and {s.tool for s in inv.steps}
        >= {"search_tolerance", "find_slices", "evaluate_chain", "class_vulnerability"}
    )
    assert all(s.question and s.result and s.why for s in inv.steps)
    refined = refined_plan(result.plan, inv)
    assert refined.severities == result.plan.severities
    assert any(s.extra_severities for s in refined.specs)
