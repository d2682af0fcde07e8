"""Tools that check, preview, run and report an audit (argument model + one stage call each)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from robustlens import audit
from robustlens.errors import ToolError
from robustlens.schemas import CorruptionPlan, DomainBrief, ValidatedPlan
from robustlens.tools.bounded import MAX_SEVERITIES, MAX_SPECS, TEXT, Severity, ToolCorruption
from robustlens.tools.context import ToolContext
from robustlens.tools.registry import tool


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _plan(ctx: ToolContext) -> CorruptionPlan:
    if ctx.plan is None:
        raise ToolError("No plan yet: call propose_plan first.")
    return ctx.plan


def _brief(ctx: ToolContext) -> DomainBrief:
    if ctx.brief is None:
        raise ToolError("No brief yet: call submit_brief first.")
    return ctx.brief


class PreviewSpec(_Args):
    name: str = Field(max_length=64, description="name of a spec in the current plan")


@tool(
    "preview_spec",
    "Render a severity grid of one spec on sample images; returns the PNG path and mean SSIM per severity.",
    PreviewSpec,
)
def preview_spec(ctx: ToolContext, args: PreviewSpec) -> dict[str, Any]:
    from robustlens.validation import ssim_ladder

    plan = _plan(ctx)
    names = [s.name for s in plan.specs]
    if args.name not in names:
        raise ToolError(f"no spec {args.name!r} in the plan; specs: {', '.join(names)}")
    spec = plan.spec(args.name)
    samples = ctx.samples()
    one = plan.model_copy(update={"specs": [spec]})
    path = audit.write_previews(one, samples, ctx.run_dir)[spec.name]
    return {"preview": str(path), "ssim_by_severity": ssim_ladder(spec, samples, [1, 2, 3, 4, 5], plan.seed)}


class NoArgs(_Args):
    pass


@tool(
    "validate_plan",
    "Check every spec: compiles, SSIM falls monotonically, not an identity at "
    "severity 1, not destroyed at 5.",
    NoArgs,
)
def validate_plan(ctx: ToolContext, args: NoArgs) -> list[dict[str, Any]]:
    from robustlens.validation import validate_plan as run

    reports = run(_plan(ctx), ctx.samples(), ctx.thresholds, ctx.label_check())
    ctx.validation = reports
    return [r.model_dump() for r in reports]


@tool("critique_plan", "Ask the realism critic about every spec in the plan.", NoArgs)
def critique_plan(ctx: ToolContext, args: NoArgs) -> list[dict[str, Any]]:
    plan = _plan(ctx)
    reports = audit.check_plan(
        plan, _brief(ctx), ctx.samples(), ctx.critic, ctx.thresholds, ctx.label_check()
    )
    ctx.validation = reports
    return [
        {"spec": r.spec_name, "ok": r.ok, "critic": r.critic.model_dump() if r.critic else None}
        for r in reports
    ]


@tool("run_evaluation", "Evaluate the brief's models on the current plan (resumes finished cells).", NoArgs)
def run_evaluation(ctx: ToolContext, args: NoArgs) -> dict[str, Any]:
    plan = _plan(ctx)
    validated = ValidatedPlan(plan=plan, reports=ctx.validation)
    ctx.result = audit.run_audit(_brief(ctx), validated, ctx.images(), ctx.run_dir, ctx.options, ctx.command)
    return headline(ctx)


class InspectFailures(_Args):
    top_k: int = Field(5, ge=1, le=20)


@tool(
    "inspect_failures",
    "Worst cells, class confusions under corruption, collapse points, examples.",
    InspectFailures,
)
def inspect_failures(ctx: ToolContext, args: InspectFailures) -> dict[str, Any]:
    from robustlens.analysis import inspect_failures as run

    if ctx.result is None:
        raise ToolError("No results yet: call run_evaluation first.")
    ctx.analysis = run(ctx.result, ctx.run_dir, top_k=args.top_k)
    return ctx.analysis.model_dump(mode="json")


class RefinePlan(_Args):
    add_severities: list[Severity] = Field(
        default_factory=list, max_length=MAX_SEVERITIES, description="extra severities 0..5, e.g. 2.5"
    )
    add_specs: list[ToolCorruption] = Field(
        default_factory=list, max_length=8, description="extra corruption specs"
    )
    why: str = Field("", max_length=300, description="one sentence: why this follow-up (shown in the report)")


@tool("refine_plan", "Add severities or corruptions to the plan (finished cells are kept).", RefinePlan)
def refine_plan(ctx: ToolContext, args: RefinePlan) -> dict[str, Any]:
    from robustlens.corruptions import compile_plan

    plan = _plan(ctx)
    names = {s.name for s in plan.specs}
    clash = [s.name for s in args.add_specs if s.name in names]
    if clash:
        raise ToolError(f"specs already in the plan: {', '.join(clash)}; choose new names")
    if len(plan.specs) + len(args.add_specs) > MAX_SPECS:
        raise ToolError(f"a plan holds at most {MAX_SPECS} corruptions; it has {len(plan.specs)}")
    new = plan.model_copy(
        update={
            "severities": sorted({*plan.severities, *args.add_severities}),
            "specs": [*plan.specs, *[s.to_schema("agent") for s in args.add_specs]],
        }
    )
    new = type(new).model_validate(new.model_dump())
    compile_plan(new)
    ctx.plan = new
    added = sorted(set(new.severities) - set(plan.severities))
    finding = f"Severities now {', '.join(f'{s:g}' for s in new.severities)}" + (
        f" (added {', '.join(f'{s:g}' for s in added)})" if added else ""
    )
    if args.add_specs:
        finding += f"; added corruptions {', '.join(s.name for s in args.add_specs)}"
    return {"specs": [s.name for s in new.specs], "severities": new.severities, "finding": finding + "."}


class WriteReport(_Args):
    narrative: str | None = Field(
        None, max_length=TEXT, description="executive summary written from the analysis numbers"
    )


@tool("write_report", "Write the HTML, Markdown, JSON and CSV report of the run.", WriteReport)
def write_report(ctx: ToolContext, args: WriteReport) -> dict[str, str]:
    from robustlens.report.render import write_report as render

    if ctx.result is None:
        raise ToolError("No results yet: call run_evaluation first.")
    paths = render(
        ctx.run_dir, narrative=args.narrative, narrative_source="llm" if args.narrative else "template"
    )
    return {fmt: str(p) for fmt, p in paths.items()}


class Finish(_Args):
    reason: str = Field("", max_length=TEXT)


@tool("finish", "Stop iterating and go on to the report.", Finish)
def finish(ctx: ToolContext, args: Finish) -> dict[str, bool]:
    ctx.finished = True
    return {"finished": True}


def headline(ctx: ToolContext) -> dict[str, Any]:
    """Compact numbers for the LLM: per model, clean and mean-corrupted headline metric with CIs."""
    result = ctx.result
    assert result is not None
    out: dict[str, Any] = {"models": {}}
    key = "accuracy" if result.labelled else "cosine"
    for model in result.models:
        clean = result.cell(model, "clean", 0.0)
        entry = result.summary.get("models", {}).get(model, {})
        clean_value = clean.metrics.get(key) if clean else None
        out["models"][model] = {
            "clean": clean_value.model_dump() if clean_value else None,
            "mean_corrupted": entry.get("mean_corrupted", {}).get(key),
            "mce": entry.get("mce"),
        }
    out["metric"] = key
    return out
