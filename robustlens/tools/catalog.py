"""Tools for the primitive catalogue, the brief and the plan (argument model + one call each)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from robustlens.corruptions import FAMILIES, REGISTRY, compile_plan, get_info
from robustlens.errors import ToolError
from robustlens.schemas import CorruptionPlan, DomainBrief
from robustlens.tools.bounded import (
    MAX_SEVERITIES,
    MAX_SPECS,
    TEXT,
    Severity,
    ToolBrief,
    ToolCorruption,
    is_hub_id,
)
from robustlens.tools.context import ToolContext
from robustlens.tools.registry import tool


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ListPrimitives(_Args):
    family: str | None = Field(None, max_length=64, description=f"only this family: {', '.join(FAMILIES)}")


@tool(
    "list_primitives", "List registered corruption primitives (name, family, what it models).", ListPrimitives
)
def list_primitives(ctx: ToolContext, args: ListPrimitives) -> list[dict[str, str]]:
    if args.family is not None and args.family not in FAMILIES:
        raise ToolError(f"unknown family {args.family!r}; families: {', '.join(FAMILIES)}")
    return [
        {"name": i.name, "family": i.family, "models": i.summary}
        for i in sorted(REGISTRY.values(), key=lambda i: (i.family, i.name))
        if args.family in (None, i.family)
    ]


class DescribePrimitive(_Args):
    name: str = Field(max_length=64, description="a primitive name from list_primitives")


@tool(
    "describe_primitive",
    "Parameters, physical ranges and the severity ladder of one primitive.",
    DescribePrimitive,
)
def describe_primitive(ctx: ToolContext, args: DescribePrimitive) -> dict[str, Any]:
    from robustlens.cli.corruptions import primitive_summary

    return primitive_summary(get_info(args.name))


@tool("submit_brief", "Submit the completed domain brief (ends the interview).", ToolBrief)
def submit_brief(ctx: ToolContext, args: ToolBrief) -> dict[str, Any]:
    brief = args.to_schema()
    if ctx.data is not None:  # the user's dataset always wins: tools never choose what files are read
        from robustlens.schemas import ImageSource

        source = brief.image_source or ImageSource(path=ctx.data)
        brief = brief.model_copy(update={"image_source": source.model_copy(update={"path": ctx.data})})
    elif brief.image_source is not None and not brief.image_source.path.startswith("demo:"):
        raise ToolError(
            "image_source must be the dataset the user named on the command line (--data); "
            "leave image_source empty."
        )
    models, reference = _user_models(ctx, brief)
    brief = brief.model_copy(update={"models": models, "reference_model": reference})
    ctx.brief = brief
    return {
        "accepted": True,
        "domain": brief.domain,
        "models": brief.models,
        "labelled": brief.labels is not None,
    }


def _user_models(ctx: ToolContext, brief: DomainBrief) -> tuple[list[str], str | None]:
    """Models, like data, come from the user: the ids given on the command line win; otherwise the
    LLM's ids are kept only when they name a published model (no path, no local folder) that the
    user typed in the conversation."""
    if ctx.models:
        reference = brief.reference_model if brief.reference_model in ctx.models else None
        return list(ctx.models), reference
    wanted = [*brief.models, *([brief.reference_model] if brief.reference_model else [])]
    refused = [m for m in wanted if not is_hub_id(m)]
    if refused:
        raise ToolError(
            f"model ids {refused} name local files or folders; the LLM cannot choose files. "
            "Ask the user to pass --model ID (or --model hf:/path for a local folder) on the command line."
        )
    if ctx.user_text is not None:
        said = ctx.user_text.lower()
        unsaid = [m for m in wanted if m.lower() not in said and m.split(":", 1)[-1].lower() not in said]
        if unsaid:
            raise ToolError(
                f"the user never named the model(s) {unsaid}. Ask the user which models to audit "
                "(exact ids such as openclip:ViT-B-32/openai), or to pass --model ID."
            )
    return list(brief.models), brief.reference_model


class ProposePlan(_Args):
    specs: list[ToolCorruption] = Field(
        min_length=1, max_length=MAX_SPECS, description="1..max_corruptions corruption specs"
    )
    severities: list[Severity] | None = Field(
        None, max_length=MAX_SEVERITIES, description="severities 0..5 to evaluate (default: the brief's)"
    )
    notes: str = Field("", max_length=TEXT)


@tool(
    "propose_plan",
    "Propose the corruption plan; it is compiled and checked against the registry.",
    ProposePlan,
)
def propose_plan(ctx: ToolContext, args: ProposePlan) -> dict[str, Any]:
    brief = ctx.brief or DomainBrief(domain="unspecified")
    if len(args.specs) > brief.budget.max_corruptions:
        raise ToolError(
            f"the budget allows {brief.budget.max_corruptions} corruptions; got {len(args.specs)}"
        )
    plan = CorruptionPlan(
        specs=[s.to_schema("llm") for s in args.specs],
        severities=args.severities or brief.budget.severities,
        seed=brief.seed,
        planner="llm",
        notes=args.notes,
    )
    compile_plan(plan)
    ctx.plan = plan
    return {"accepted": True, "specs": [s.name for s in plan.specs], "severities": plan.severities}
