"""The LLM planner: a bounded tool loop (list/describe primitives, propose a plan) that ends when the
LLM proposes a plan that compiles. Every tool call goes through the validated dispatcher; the loop and
its failure policy are ``robustlens.llm.toolloop``'s."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from robustlens.llm.client import LLMClient, LLMError
from robustlens.llm.toolloop import LoopOutcome, run_tool_loop
from robustlens.prompts import load
from robustlens.schemas import CorruptionPlan, CorruptionSpec, DomainBrief

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


REPLACE_PROMPT = """A corruption in the robustness-audit plan for this deployment failed validation.

Deployment brief:
{brief}

Specs the plan already has or has tried (do not repeat their primitives):
{used}

Dropped spec:
{dropped}

Why it failed: {reason}

Propose ONE replacement corruption spec that is realistic for this deployment, covers the same link of
the imaging chain if possible, and avoids the failure (e.g. a milder ladder when SSIM collapsed, a
stronger one when severity 1 changed nothing). Fields: name (lowercase slug), rationale (one sentence
from the brief's own facts), recipe (a list of {{"name": primitive, "params": {{}}, "ladder": {{}}}})."""


def llm_replacement(
    client: LLMClient,
    plan: CorruptionPlan,
    dropped: CorruptionSpec,
    brief: DomainBrief,
    reason: str,
    fallback: Callable[[CorruptionPlan, CorruptionSpec, DomainBrief, str], CorruptionSpec | None]
    | None = None,
) -> tuple[CorruptionSpec | None, str]:
    """One LLM request for a replacement of a spec that failed validation: ``(spec, who proposed it)``.

    Any failure — the endpoint, an unusable answer, a spec that does not compile or repeats a
    primitive the plan already has — falls back to the offline expert's replacement, labelled
    "offline expert (LLM replacement unavailable: ...)" so the notes say who really chose it.
    """
    from robustlens.corruptions import compile_spec
    from robustlens.errors import UserInputError

    if fallback is None:
        from robustlens.replacement import offline_replacement

        fallback = offline_replacement
    used = {c.name for s in plan.specs for c in s.recipe} | {c.name for c in dropped.recipe}
    text = REPLACE_PROMPT.format(
        brief=brief.model_dump_json(indent=1, exclude={"image_source", "models"}),
        used=", ".join(f"{s.name} ({'+'.join(c.name for c in s.recipe)})" for s in plan.specs),
        dropped=dropped.model_dump_json(indent=1),
        reason=reason,
    )
    try:
        spec = client.complete_json([{"role": "user", "content": text}], CorruptionSpec)
        assert isinstance(spec, CorruptionSpec)
        compile_spec(spec, where=spec.name)
        repeated = sorted({c.name for c in spec.recipe} & used)
        if repeated:
            raise LLMError(f"it proposed {', '.join(repeated)}, which the plan already has or dropped")
        return spec.model_copy(update={"source": "llm"}), f"proposed by {client.name}"
    except (LLMError, UserInputError) as exc:
        why = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        return fallback(plan, dropped, brief, reason), f"offline expert; LLM replacement unavailable: {why}"
