"""The LLM interview stage: one turn of the conversation that ends when the LLM submits a brief.

The caller (the graph's interview node) decides what a failed turn means: the offline
questionnaire takes over, and the transcript says why (``Turn.why``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from robustlens.llm.client import LLMClient
from robustlens.prompts import load
from robustlens.schemas import DomainBrief


@dataclass(frozen=True)
class Turn:
    """``brief``: the LLM submitted one; ``ask``: it asks the user ``question``; ``failed``: ``why``."""

    status: Literal["brief", "ask", "failed"]
    messages: list[dict[str, Any]] = field(default_factory=list)
    brief: DomainBrief | None = None
    question: str = ""
    why: str = ""


def interview_turn(
    llm: LLMClient, ctx: Any, messages: list[dict[str, Any]], reply: str | None, max_rounds: int = 8
) -> Turn:
    """Send the user's ``reply`` (if any) and run the ``submit_brief`` tool loop until the LLM
    submits a brief, asks something, or fails. ``ctx`` (a ``ToolContext``) learns what the user typed:
    model ids the LLM names must appear in it."""
    from robustlens.llm.toolloop import cap, run_tool_loop

    messages = list(messages) or [{"role": "system", "content": load("system") + "\n\n" + load("interview")}]
    if reply is not None:
        messages.append({"role": "user", "content": cap(str(reply))})
    ctx.user_text = "\n".join(str(m.get("content") or "") for m in messages if m.get("role") == "user")
    outcome = run_tool_loop(
        llm,
        messages,
        ["submit_brief"],
        ctx,
        lambda name, ok, c: c.brief if ok and c.brief is not None else None,
        max_rounds=max_rounds,
    )
    if outcome.status == "done":
        return Turn("brief", outcome.messages, brief=outcome.value)
    if outcome.status == "talk" and outcome.content.strip():
        return Turn("ask", outcome.messages, question=outcome.content)
    why = outcome.why if outcome.status != "talk" else "it answered with an empty message"
    return Turn("failed", outcome.messages, why=why)
