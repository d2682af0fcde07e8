"""The one tool loop: bounded rounds, tool results back to the LLM, capped history, typed outcomes."""

from __future__ import annotations

import json
from pathlib import Path

from robustlens.llm.client import LLMClient, LLMConfig
from robustlens.llm.planner import plan_with_llm
from robustlens.llm.toolloop import MAX_KEPT_CHARS
from robustlens.schemas import Budget, DomainBrief
from robustlens.tools import ToolContext
from tests.agent.scripted_server import ScriptedLLM, error, message, raw, tool_call

BRIEF = DomainBrief(domain="textile line", budget=Budget(max_corruptions=2))
PLAN = {"specs": [{"name": "lint", "rationale": "lint on the glass", "recipe": [{"name": "dust"}]}]}


def _client(server: ScriptedLLM) -> LLMClient:
    return LLMClient(
        LLMConfig(base_url=server.base_url, model="m", api_key="k", timeout=5, max_retries=1, backoff=0.01)
    )


def test_huge_replies_are_not_echoed_back(tmp_path: Path) -> None:
    huge = "blah " * 1_000_000  # a 5 MB assistant text
    script = {
        "planner": [
            message(huge),
            tool_call("describe_primitive", {"name": "dust", "pad": "y" * 3_000_000}),
            tool_call("list_primitives", {}),
            tool_call("propose_plan", PLAN),
        ]
    }
    with ScriptedLLM(script) as server:
        outcome = plan_with_llm(_client(server), BRIEF, ToolContext(run_dir=tmp_path))
    assert outcome.status == "done" and [s.name for s in outcome.value.specs] == ["lint"]
    last = server.requests[-1][1]["messages"]
    assert len(json.dumps(last)) < 8 * MAX_KEPT_CHARS + 20_000, "history re-sent is capped"
    assert any("truncated by robustlens" in str(m.get("content")) for m in last)
    tool_results = [m["content"] for m in last if m["role"] == "tool"]
    assert "characters long" in tool_results[0], "the oversized call was refused with a message"
    assert "truncated by robustlens" in tool_results[1], "a long tool result is cut with a marker"


def test_an_endpoint_failure_is_a_typed_outcome(tmp_path: Path) -> None:
    script = {"planner": [tool_call("list_primitives", {}), raw("{broken")]}
    with ScriptedLLM(script) as server:
        outcome = plan_with_llm(_client(server), BRIEF, ToolContext(run_dir=tmp_path))
    assert outcome.status == "failed" and "unreadable body" in outcome.error
    assert outcome.why == outcome.error and outcome.value is None


def test_rounds_are_bounded(tmp_path: Path) -> None:
    with ScriptedLLM({}, default=lambda route: tool_call("list_primitives", {})) as server:
        outcome = plan_with_llm(_client(server), BRIEF, ToolContext(run_dir=tmp_path), max_rounds=3)
    assert outcome.status == "exhausted" and len(server.requests) == 3
    assert "rounds" in outcome.why


def test_500s_end_the_loop(tmp_path: Path) -> None:
    with ScriptedLLM({"planner": [error(500, "down")] * 5}) as server:
        outcome = plan_with_llm(_client(server), BRIEF, ToolContext(run_dir=tmp_path))
    assert outcome.status == "failed" and "after 2 attempts" in outcome.error
