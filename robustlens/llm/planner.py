"""The LLM planner: a bounded tool loop (list/describe primitives, propose a plan) that ends when the
LLM proposes a plan that compiles. Every tool call goes through the validated dispatcher."""

from __future__ import annotations

from typing import Any

from robustlens.llm.client import LLMClient
from robustlens.prompts import load
from robustlens.schemas import CorruptionPlan, DomainBrief
from robustlens.tools import dispatch, specs

PLANNER_TOOLS = ["list_primitives", "describe_primitive", "propose_plan"]


def assistant_tool_message(reply: Any) -> dict[str, Any]:
    """An assistant turn with tool calls, in OpenAI message format."""
    return {
        "role": "assistant",
        "content": reply.content or None,
        "tool_calls": [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in reply.tool_calls
        ],
    }


def llm_plan(
    client: LLMClient,
    brief: DomainBrief,
    ctx: Any,
    feedback: str = "",
    max_rounds: int = 8,
    temperature: float = 0.0,
) -> CorruptionPlan | None:
    """Ask the LLM for a plan; None when it produced no valid plan within ``max_rounds`` turns."""
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
    for _ in range(max_rounds):
        reply = client.chat(messages, specs(PLANNER_TOOLS), temperature=temperature)
        if not reply.tool_calls:
            messages += [
                {"role": "assistant", "content": reply.content},
                {"role": "user", "content": "Please call propose_plan now."},
            ]
            continue
        messages.append(assistant_tool_message(reply))
        for call in reply.tool_calls:
            ok, out = dispatch(call.name, call.arguments, ctx, allowed=PLANNER_TOOLS)
            messages.append({"role": "tool", "tool_call_id": call.id, "content": out})
            if ok and call.name == "propose_plan" and ctx.plan is not None:
                return ctx.plan
    return None
