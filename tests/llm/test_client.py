"""The LLM client through the real openai SDK against a scripted HTTP server on localhost."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from robustlens.llm.client import LLMClient, LLMConfig, LLMError, ToolSpec
from tests.agent.scripted_server import ScriptedLLM, delayed, error, message, tool_call


class Args(BaseModel):
    name: str


TOOL = ToolSpec("describe_primitive", "Describe one primitive.", Args)
PLAN_TOOL = ToolSpec("propose_plan", "Propose a plan.", Args)


def client(server: ScriptedLLM, **kw: object) -> LLMClient:
    cfg = LLMConfig(
        base_url=server.base_url,
        model="scripted-1",
        api_key="sk-secret-123",
        timeout=5,
        max_retries=2,
        backoff=0.05,
    )
    for k, v in kw.items():
        setattr(cfg, k, v)
    return LLMClient(cfg)


def test_tool_call_round_trip_and_usage() -> None:
    with ScriptedLLM({"planner": [tool_call("describe_primitive", {"name": "fog"})]}) as server:
        c = client(server)
        reply = c.chat([{"role": "user", "content": "hi"}], [PLAN_TOOL, TOOL])
    assert [(t.name, t.arguments) for t in reply.tool_calls] == [("describe_primitive", '{"name": "fog"}')]
    assert c.usage.calls == 1 and c.usage.prompt_tokens == 11 and c.usage.completion_tokens == 7
    sent = server.requests[0][1]
    assert {t["function"]["name"] for t in sent["tools"]} == {"propose_plan", "describe_primitive"}
    assert sent["tools"][0]["function"]["parameters"]["properties"]["name"]["type"] == "string"


def test_falls_back_to_json_protocol_when_tools_are_rejected() -> None:
    script = {
        "planner": [error(400, "this model does not support tools")],
        "other": [message('Sure! {"tool": "describe_primitive", "arguments": {"name": "fog"}}')],
    }
    with ScriptedLLM(script) as server:
        c = client(server)
        reply = c.chat([{"role": "user", "content": "hi"}], [PLAN_TOOL, TOOL])
        again = c.chat([{"role": "user", "content": "hi"}], [PLAN_TOOL, TOOL])
    assert (
        reply.tool_calls[0].name == "describe_primitive"
        and reply.tool_calls[0].arguments == '{"name": "fog"}'
    )
    assert c.usage.fallback_json and not c.tools_supported
    assert (
        "tools" not in server.requests[1][1]
        and server.requests[1][1]["response_format"]["type"] == "json_object"
    )
    assert again.content == "ok", "after the switch, requests go straight to the JSON protocol"
    assert len(server.requests) == 3


def test_timeout_is_retried_with_backoff() -> None:
    with ScriptedLLM({"other": [delayed(2.0, message("late")), message("on time")]}) as server:
        c = client(server, timeout=0.5)
        reply = c.chat([{"role": "user", "content": "hi"}])
    assert reply.content == "on time" and c.usage.retries == 1


def test_retries_are_bounded() -> None:
    with ScriptedLLM({"other": [error(500, "boom")] * 5}) as server:
        c = client(server)
        with pytest.raises(LLMError, match="after 3 attempts"):
            c.chat([{"role": "user", "content": "hi"}])
    assert len(server.requests) == 3


def test_refusal_is_not_retried() -> None:
    with ScriptedLLM({"other": [error(403, "request refused by policy")]}) as server:
        c = client(server)
        with pytest.raises(LLMError, match="refused"):
            c.chat([{"role": "user", "content": "hi"}])
    assert len(server.requests) == 1


def test_complete_json_digs_the_object_out_of_prose() -> None:
    class Verdict(BaseModel):
        realistic: bool
        score: float

    with ScriptedLLM(
        {"other": [message('Here you go:\n```json\n{"realistic": false, "score": 0.2}\n```')]}
    ) as s:
        verdict = client(s).complete_json([{"role": "user", "content": "judge"}], Verdict)
    assert verdict == Verdict(realistic=False, score=0.2)


def test_key_is_never_described(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-123")
    cfg = LLMConfig.resolve(base_url="http://127.0.0.1:9/v1", model="m")
    assert cfg is not None and "sk-secret" not in repr(cfg) and "sk-secret" not in str(cfg.describe())
    monkeypatch.delenv("ROBUSTLENS_LLM_MODEL", raising=False)
    assert LLMConfig.resolve() is None, "no model configured: the offline expert is used"
