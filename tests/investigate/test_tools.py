"""The investigation tools through the real dispatcher, on the shared real run."""

from __future__ import annotations

import json

from robustlens.schemas import DomainBrief
from robustlens.tools import ToolContext, dispatch
from tests.investigate.realrun import MODEL, OPTIONS

LABELS = ["nominal", "local", "global"]


def call(ctx: ToolContext, name: str, **args: object) -> tuple[bool, dict]:
    ok, out = dispatch(name, json.dumps(args), ctx)
    return ok, json.loads(out)


def test_investigation_tools_on_a_real_run(run) -> None:
    out, data, result = run
    brief = DomainBrief(domain="textile", labels=LABELS, models=[MODEL])
    ctx = ToolContext(run_dir=out, brief=brief, data=str(data), options=OPTIONS, result=result)
    why = "Blur is the largest drop, so the owner needs its limit."
    ok, body = call(ctx, "search_tolerance", model=MODEL, corruption="blur", max_new_cells=1, why=why)
    assert ok, body
    assert body["envelope"]["corruption"] == "blur" and body["finding"].startswith(MODEL)
    if body["cells_added"]:  # the new rung is the spec's own, for the next evaluation to reuse
        assert ctx.plan is not None and ctx.plan.severities == result.plan.severities
        assert set(ctx.plan.spec("blur").extra_severities) & set(body["envelope"]["evaluated"])
    assert body["cells_added"] <= 1
    ok, body = call(ctx, "find_slices", model=MODEL, corruption="blur", severity=5, why="worst cell")
    assert ok and "slices" in body
    ok, body = call(ctx, "class_vulnerability", model=MODEL, corruption="blur", severity=5, why="who absorbs")
    assert ok and {r["class_name"] for r in body["classes"]} == set(LABELS)
    ok, body = call(ctx, "evaluate_chain", model=MODEL, parts=["jpeg", "blur"], severity=3, why="both named")
    assert ok, body
    assert body["compound"]["corruption"] == "chain-blur-jpeg"  # imaging-chain order: optics, then codec
    assert (out / "cells" / "demo_textile" / "chain-blur-jpeg" / "s3.jsonl").exists()
    inv = ctx.investigation  # the findings; the decide stage logs the calls as steps
    assert inv is not None and not inv.steps and len(inv.envelope) == 1 and len(inv.compounds) == 1
    assert inv.vulnerability and body["finding"].startswith(f"{MODEL}: chain-blur-jpeg")
    # refusals the LLM can act on: an unfinished cell, an unknown model, a missing why, a too-long why
    ok, body = call(ctx, "find_slices", model=MODEL, corruption="blur", severity=2, why="x")
    assert not ok and "not evaluated" in body["error"] and "finished: " in body["error"]
    assert not call(ctx, "find_slices", model="demo:other", corruption="blur", severity=5, why="x")[0]
    assert not call(ctx, "find_slices", model=MODEL, corruption="blur", severity=5)[0]
    assert not call(ctx, "find_slices", model=MODEL, corruption="blur", severity=5, why="x" * 301)[0]
    assert not call(ctx, "evaluate_chain", model=MODEL, parts=["jpeg", "nope"], severity=3, why="x")[0]
    spent = [inv.compounds[0].model_copy(update={"severity": k / 8}) for k in range(16)]
    ctx.investigation = inv.model_copy(update={"compounds": spent})  # the budget's 16 cells are spent
    ok, body = call(ctx, "evaluate_chain", model=MODEL, parts=["shake", "blur"], severity=3, why="x")
    assert not ok and "budget" in body["error"]
    assert not (out / "cells" / "demo_textile" / "chain-shake-blur").exists()
