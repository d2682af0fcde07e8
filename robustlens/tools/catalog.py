"""Tools for the primitive catalogue, the brief and the plan (argument model + one call each)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from robustlens.corruptions import FAMILIES, REGISTRY, compile_plan, get_info
from robustlens.errors import ToolError
from robustlens.schemas import CorruptionPlan, CorruptionSpec, DomainBrief
from robustlens.tools.context import ToolContext
from robustlens.tools.registry import tool


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ListPrimitives(_Args):
    family: str | None = Field(None, description=f"only this family: {', '.join(FAMILIES)}")


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
    name: str = Field(description="a primitive name from list_primitives")


@tool(
    "describe_primitive",
    "Parameters, physical ranges and the severity ladder of one primitive.",
    DescribePrimitive,
)
def describe_primitive(ctx: ToolContext, args: DescribePrimitive) -> dict[str, Any]:
    from robustlens.cli.corruptions import primitive_summary

    return primitive_summary(get_info(args.name))


@tool("submit_brief", "Submit the completed domain brief (ends the interview).", DomainBrief)
def submit_brief(ctx: ToolContext, args: DomainBrief) -> dict[str, Any]:
    brief = args
    if ctx.data is not None:  # the user's dataset always wins: tools never choose what files are read
        from robustlens.schemas import ImageSource

        source = brief.image_source or ImageSource(path=ctx.data)
        brief = brief.model_copy(update={"image_source": source.model_copy(update={"path": ctx.data})})
    elif brief.image_source is not None and not brief.image_source.path.startswith("demo:"):
        raise ToolError(
            "image_source must be the dataset the user named on the command line (--data); "
            "leave image_source empty."
        )
    ctx.brief = brief
    return {
        "accepted": True,
        "domain": brief.domain,
        "models": brief.models,
        "labelled": brief.labels is not None,
    }


class ProposePlan(_Args):
    specs: list[CorruptionSpec] = Field(min_length=1, description="1..max_corruptions corruption specs")
    severities: list[float] | None = Field(None, description="severities to evaluate (default: the brief's)")
    notes: str = ""


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
        specs=[s.model_copy(update={"source": "llm"}) for s in args.specs],
        severities=args.severities or brief.budget.severities,
        seed=brief.seed,
        planner="llm",
        notes=args.notes,
    )
    compile_plan(plan)
    ctx.plan = plan
    return {"accepted": True, "specs": [s.name for s in plan.specs], "severities": plan.severities}
