"""Investigation tools for the LLM's decide step: bounded arguments, one ``Investigator`` call each.

Each tool requires ``why`` (one sentence) and spends new cells only within the investigation budget.
Findings accumulate in ``ctx.investigation``; the decide stage logs each call as a step (its ``why``,
the returned ``finding``) and writes ``investigation.json``. A tool that evaluated tolerance rungs
sets ``ctx.plan`` to the plan with those rungs as ``extra_severities``, so the next evaluation
reuses them.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from robustlens.errors import ToolError
from robustlens.investigate.compound import chain_of
from robustlens.investigate.evaluator import refined_plan
from robustlens.investigate.policy import Investigator
from robustlens.investigate.records import Investigation
from robustlens.tools.bounded import SHORT, Severity
from robustlens.tools.context import ToolContext
from robustlens.tools.registry import tool

WHY = Field(
    min_length=1, max_length=300, description="one sentence: why this follow-up (goes into the report)"
)


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str = Field(max_length=SHORT, description="an audited model id")
    why: str = WHY


class ToleranceArgs(_Args):
    corruption: str = Field(max_length=64, description="a spec of the plan")
    max_new_cells: int = Field(2, ge=0, le=8, description="bisection steps that may evaluate new cells")


class CellArgs(_Args):
    corruption: str = Field(max_length=64, description="a spec of the plan")
    severity: Severity = Field(description="a finished severity of that spec")


class ChainArgs(_Args):
    parts: list[Annotated[str, Field(max_length=64)]] = Field(
        min_length=2, max_length=4, description="plan specs to chain, e.g. ['low_light', 'noise', 'jpeg']"
    )
    severity: Severity = Field(3.0, description="severity of the chain and of its parts (a plan rung)")


def _investigator(ctx: ToolContext, model: str) -> Investigator:
    if ctx.result is None:
        raise ToolError("No results yet: the investigation tools follow the first evaluation.")
    if model not in ctx.result.models:
        raise ToolError(f"unknown model {model!r}; audited: {', '.join(ctx.result.models)}")
    if ctx.investigation is None:
        ctx.investigation = Investigation()
    return Investigator(
        ctx.run_dir,
        ctx.result,
        ctx.images(),
        ctx.brief,
        ctx.options,
        inv=ctx.investigation,
        planner="llm",
        log=False,
    )


def _spec(it: Investigator, corruption: str) -> None:
    if corruption not in {s.name for s in it.result.plan.specs}:
        raise ToolError(f"no spec {corruption!r}; specs: {', '.join(s.name for s in it.result.plan.specs)}")


def _finished(it: Investigator, model: str, corruption: str, severity: float) -> None:
    _spec(it, corruption)
    if not it.cells.done(model, corruption, severity):
        done = ", ".join(f"{s:g}" for s in it.cells.severities(model, corruption))
        raise ToolError(f"{corruption} at {severity:g} is not evaluated for {model}; finished: {done}")


def _done(ctx: ToolContext, it: Investigator, payload: Any) -> dict[str, Any]:
    added = len(it.evaluator.computed)
    if added and it.inv.envelope:
        ctx.plan = refined_plan(ctx.plan or it.result.plan, it.inv)
    return {"finding": it.finding, "cells_added": added, "cells_left": it.cells_left(), **payload}


@tool(
    "search_tolerance",
    "Largest severity of one spec at which a model stays within the brief's tolerance (bisection, "
    "reusing finished cells); answers in physical units.",
    ToleranceArgs,
)
def search_tolerance(ctx: ToolContext, args: ToleranceArgs) -> dict[str, Any]:
    it = _investigator(ctx, args.model)
    _spec(it, args.corruption)
    spec = it.result.plan.spec(args.corruption)
    res = it.search_tolerance(args.model, spec, min(args.max_new_cells, it.cells_left()), args.why)
    return _done(ctx, it, {"envelope": res.model_dump(mode="json")})


@tool(
    "find_slices",
    "Groups of images (embedding clusters, brightness/contrast/sharpness/size quartiles, class, folder) "
    "that fail more often than the rest under one finished cell, with intervals.",
    CellArgs,
)
def find_slices(ctx: ToolContext, args: CellArgs) -> dict[str, Any]:
    it = _investigator(ctx, args.model)
    _finished(it, args.model, args.corruption, args.severity)
    found = it.find_slices(args.model, args.corruption, args.severity, args.why)
    return _done(ctx, it, {"slices": [s.model_dump(mode="json") for s in found[:4]]})


@tool(
    "class_vulnerability",
    "Per class under one finished cell: accuracy drop with interval and the share of errors it absorbs.",
    CellArgs,
)
def class_vulnerability(ctx: ToolContext, args: CellArgs) -> dict[str, Any]:
    it = _investigator(ctx, args.model)
    _finished(it, args.model, args.corruption, args.severity)
    rows = it.class_vulnerability(args.model, args.corruption, args.severity, args.why)
    return _done(ctx, it, {"classes": [r.model_dump(mode="json") for r in rows]})


@tool(
    "evaluate_chain",
    "Evaluate plan specs chained as one condition (imaging-chain order) and compare the chain with its "
    "parts at one severity: worse than the worst part? than the parts' drops added?",
    ChainArgs,
)
def evaluate_chain(ctx: ToolContext, args: ChainArgs) -> dict[str, Any]:
    it = _investigator(ctx, args.model)
    for part in args.parts:
        _finished(it, args.model, part, args.severity)
    chain = chain_of(it.result.plan, args.parts, args.why)
    if not it.cells.done(args.model, chain.name, args.severity) and it.cells_left() <= 0:
        raise ToolError("the investigation's budget of new cells is spent; finish or use finished cells")
    parts = list(dict.fromkeys(args.parts))
    res = it.evaluate_chain(args.model, chain, parts, args.severity, args.why)
    return _done(ctx, it, {"compound": res.model_dump(mode="json")})
