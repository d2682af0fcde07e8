"""The one tool-calling loop (interview, planner, decision) and its one failure policy.

Why one function: the loop used to be written three times, each with its own idea of what happens
when the endpoint fails or answers junk. Here the policy is written once:

- bounded: at most ``max_rounds`` LLM turns, at most ``MAX_CALLS_PER_TURN`` tool calls per turn;
- every tool call goes through the validated ``dispatch`` and its result goes back to the LLM;
- what is kept in the history and re-sent is capped (``MAX_KEPT_CHARS`` per assistant text, tool
  argument and tool result, with a marker), so a 5 MB reply is never echoed back on every turn;
- an ``LLMError`` (the client turns every endpoint failure into one) ends the loop with a typed
  ``LoopOutcome`` (``failed``), as does running out of rounds (``exhausted``): the caller turns both
  into the offline expert's answer and labels who really did the work.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from robustlens.llm.client import LLMClient, LLMError, Reply
from robustlens.tools import dispatch, specs

MAX_KEPT_CHARS = 8_000
MAX_CALLS_PER_TURN = 8
TRUNCATED = "…[truncated by robustlens: {n} more characters]"

Status = Literal["done", "talk", "exhausted", "failed"]
# (tool name, ok, tool context) -> a value ends the loop as "done"; None goes on
Stop = Callable[[str, bool, Any], Any]


@dataclass
class LoopOutcome:
    """How a tool loop ended. ``done``: ``stop`` returned ``value``; ``talk``: the LLM answered in
    prose (``content``) and the caller wanted that; ``exhausted``: no result within the rounds;
    ``failed``: the endpoint failed or answered unusably (``error`` says how)."""

    status: Status
    messages: list[dict[str, Any]] = field(default_factory=list)
    value: Any = None
    content: str = ""
    error: str = ""

    @property
    def why(self) -> str:
        """One phrase for the fallback label: why the LLM's work was not used."""
        if self.status == "failed":
            return self.error
        if self.status == "exhausted":
            return "no usable result within the allowed rounds"
        if self.status == "talk":
            return "it answered in prose instead of calling a tool"
        return ""


def cap(text: str, limit: int = MAX_KEPT_CHARS) -> str:
    """``text`` cut to ``limit`` characters with a marker saying how much was dropped."""
    if len(text) <= limit:
        return text
    return text[:limit] + TRUNCATED.format(n=len(text) - limit)


def run_tool_loop(
    client: LLMClient,
    messages: list[dict[str, Any]],
    tools: Sequence[str],
    ctx: Any,
    stop: Stop,
    *,
    on_text: Literal["return", "nudge"] = "return",
    nudge: str = "Please call one of the tools now.",
    max_rounds: int = 8,
    temperature: float = 0.0,
) -> LoopOutcome:
    """Drive ``client`` with ``tools`` until ``stop`` says done, the LLM talks (``on_text="return"``),
    the rounds run out, or the endpoint fails. ``messages`` is copied, never mutated."""
    history = list(messages)
    offered = specs(tools)
    for _ in range(max(1, max_rounds)):
        try:
            reply = client.chat(history, offered, temperature=temperature)
        except LLMError as exc:
            return LoopOutcome("failed", history, error=str(exc))
        if not reply.tool_calls:
            history.append({"role": "assistant", "content": cap(reply.content)})
            if on_text == "return":
                return LoopOutcome("talk", history, content=cap(reply.content))
            history.append({"role": "user", "content": nudge})
            continue
        calls = reply.tool_calls[:MAX_CALLS_PER_TURN]
        history.append(_assistant_turn(reply, calls))
        for call in calls:
            ok, out = dispatch(call.name, call.arguments, ctx, allowed=list(tools))
            history.append({"role": "tool", "tool_call_id": call.id, "content": cap(out)})
            value = stop(call.name, ok, ctx)
            if value is not None:
                return LoopOutcome("done", history, value=value)
    return LoopOutcome("exhausted", history)


def _assistant_turn(reply: Reply, calls: Sequence[Any]) -> dict[str, Any]:
    """An assistant turn with tool calls, in OpenAI message format, its texts capped."""
    return {
        "role": "assistant",
        "content": cap(reply.content) or None,
        "tool_calls": [
            {
                "id": c.id,
                "type": "function",
                "function": {"name": cap(c.name, 200), "arguments": _cap_arguments(c.arguments)},
            }
            for c in calls
        ],
    }


def _cap_arguments(arguments: str) -> str:
    """Over-long tool arguments are replaced by a short JSON note (cut JSON would be invalid)."""
    if len(arguments) <= MAX_KEPT_CHARS:
        return arguments
    return json.dumps({"truncated_by_robustlens": f"{len(arguments)} characters of arguments"})
