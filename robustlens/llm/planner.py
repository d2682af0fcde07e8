"""The LLM planner: a bounded tool loop (list/describe primitives, propose a plan) that ends when the
LLM proposes a plan that compiles. Every tool call goes through the validated dispatcher; the loop and
its failure policy are ``robustlens.llm.toolloop``'s."""

from __future__ import annotations

from typing import Any

from robustlens.llm.client import LLMClient, LLMError
from robustlens.llm.toolloop import LoopOutcome, run_tool_loop
from robustlens.prompts import load
from robustlens.schemas import CorruptionPlan, DomainBrief

PLANNER_TOOLS = ["list_primitives", "describe_primitive", "propose_plan"]


def plan_with_llm(
    client: LLMClient,
    brief: DomainBrief,
    ctx: Any,
    feedback: str = "",
    max_rounds: int = 8,
    temperature: float = 0.0,
) -> LoopOutcome:
    """The planner loop's outcome: ``done`` with the plan as ``value``, or why there is none."""
    ctx.brief, ctx.plan = brief, None
    prompt = load("planner").format(
        max_corruptions=brief.budget.max_corruptions,
        brief=brief.model_dump_json(indent=1, exclude={"image_source"}),
        feedback=f"\nFeedback on the previous plan:\n{feedback}" if feedback else "",
    )
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": load("system")},
        {"role": "user", "content": prompt},
    ]

    def proposed(name: str, ok: bool, c: Any) -> CorruptionPlan | None:
        return c.plan if ok and name == "propose_plan" else None

    return run_tool_loop(
        client,
        messages,
        PLANNER_TOOLS,
        ctx,
        proposed,
        on_text="nudge",
        nudge="Please call propose_plan now.",
        max_rounds=max_rounds,
        temperature=temperature,
    )


def llm_plan(
    client: LLMClient,
    brief: DomainBrief,
    ctx: Any,
    feedback: str = "",
    max_rounds: int = 8,
    temperature: float = 0.0,
) -> CorruptionPlan | None:
    """The LLM's plan; None when it produced no valid plan within ``max_rounds`` turns.
    Raises ``LLMError`` when the endpoint failed (the evals record that as the run's error)."""
    outcome = plan_with_llm(client, brief, ctx, feedback, max_rounds, temperature)
    if outcome.status == "failed":
        raise LLMError(outcome.error)
    return outcome.value if outcome.status == "done" else None
