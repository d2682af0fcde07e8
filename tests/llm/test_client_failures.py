"""Every way an endpoint can fail becomes an LLMError, in bounded time (real openai SDK, real HTTP)."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest
from pydantic import BaseModel

from robustlens.llm.client import LLMClient, LLMConfig, LLMError, _first_json
from tests.agent.scripted_server import ScriptedLLM, error, hang, message, no_choices, raw

HI = [{"role": "user", "content": "hi"}]


def client(base_url: str, **kw: object) -> LLMClient:
    cfg = LLMConfig(base_url=base_url, model="m", api_key="k", timeout=1.0, max_retries=2, backoff=0.01)
    for k, v in kw.items():
        setattr(cfg, k, v)
    return LLMClient(cfg)


BROKEN = {
    "invalid JSON body": (raw('{"choices": [oops'), "unreadable body"),
    "text/plain body": (raw("I am a teapot", "text/plain"), "not a completion"),
    "100000 nested arrays": (raw("[" * 100_000), "unreadable body"),
    "JSON null": (raw("null"), "not a completion"),
    "choices of the wrong shape": (raw('{"choices": [1, 2]}'), "unusable completion"),
    "empty choices": (no_choices(), "no choices"),
    "HTTP 500": (error(500, "boom"), "after 3 attempts"),
    "HTTP 429": (error(429, "slow down"), "after 3 attempts"),
    "HTTP 422": (error(422, "odd"), "HTTP 422"),
    "never answers": (hang(), "after 2 attempts"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_a_broken_endpoint_is_an_llm_error(case: str) -> None:
    step, expected = BROKEN[case]
    with ScriptedLLM({"other": [step] * 5}) as server:
        c = client(server.base_url)
        with pytest.raises(LLMError, match=expected):
            c.chat(HI)
        sent = len(server.requests)
        with pytest.raises(LLMError):
            c.chat(HI)
        if case != "HTTP 422":  # a transport or protocol failure opens the breaker
            assert len(server.requests) == sent, "later calls fail fast without a request"


def test_connection_refused_is_an_llm_error_and_opens_the_breaker() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    c = client(f"http://127.0.0.1:{port}/v1")
    with pytest.raises(LLMError, match="Connection error"):
        c.chat(HI)
    assert c.broken and c.usage.retries == 1, "connection errors are retried once, not max_retries times"
    with pytest.raises(LLMError, match="not retried"):
        c.chat(HI)
    assert c.usage.retries == 1


def test_timeouts_are_retried_fewer_times_than_server_errors() -> None:
    with ScriptedLLM({"other": [hang()] * 5}) as server:
        c = client(server.base_url, max_retries=3)
        with pytest.raises(LLMError):
            c.chat(HI)
        assert len(server.requests) == 2


def test_a_junk_json_answer_to_complete_json_is_an_llm_error() -> None:
    class Verdict(BaseModel):
        realistic: bool
        score: float

    for text in ['{"realistic": "maybe", "score": "high"}', "no json here", ""]:
        with ScriptedLLM({"other": [message(text)]}) as server, pytest.raises(LLMError):
            client(server.base_url).complete_json(HI, Verdict)


def test_first_json_finds_objects_and_never_recurses_out() -> None:
    assert _first_json('Sure:\n```json\n{"a": {"b": [1, 2]}}\n```') == {"a": {"b": [1, 2]}}
    assert _first_json('{ not this } but {"this": 1}') == {"this": 1}
    for junk in ["[" * 100_000, '{"a":' * 100_000, "{" * 10_000]:
        with pytest.raises(LLMError):
            _first_json(junk)


def test_first_json_on_five_megabytes_of_braces_returns() -> None:
    """Quadratic scanning hung the CPU here; a subprocess with a generous limit catches only a hang."""
    code = (
        "from robustlens.llm.client import _first_json, LLMError\n"
        "try:\n    _first_json('{' * 5_000_000)\nexcept LLMError:\n    print('LLMError')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "LLMError", done.stderr[-2000:]
