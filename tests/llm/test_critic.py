"""The LLM critic sees thumbnails when its endpoint accepts images, and falls back to text otherwise."""

from __future__ import annotations

import numpy as np
import pytest

from robustlens.audit import critique_spec
from robustlens.expert.critic import critique
from robustlens.llm.client import LLMClient, LLMConfig
from robustlens.schemas import CorruptionSpec, DomainBrief, PrimitiveCall
from tests.agent.scripted_server import ScriptedLLM, error, hang, message

SPEC = CorruptionSpec(name="rain", rationale="monsoon", recipe=[PrimitiveCall(name="rain")])
BRIEF = DomainBrief(domain="dashcam on delivery vans", deployment_conditions=["rain"])
VERDICT = message('{"realistic": true, "score": 0.8, "reasons": ["rain on the windshield"]}')


def _client(server: ScriptedLLM) -> LLMClient:
    return LLMClient(LLMConfig(base_url=server.base_url, model="critic-1", api_key="k", max_retries=0))


def test_critic_is_shown_thumbnails(samples: list[np.ndarray]) -> None:
    with ScriptedLLM({"critic": [VERDICT]}) as server:
        verdict = critique_spec(SPEC, BRIEF, {"1": 0.9, "5": 0.4}, _client(server), samples)
    content = server.requests[0][1]["messages"][0]["content"]
    images = [part for part in content if part["type"] == "image_url"]
    assert len(images) == 2 and images[0]["image_url"]["url"].startswith("data:image/png;base64,")
    assert (
        verdict.realistic and verdict.critic == "critic-1" and verdict.reasons == ["rain on the windshield"]
    )


def test_text_only_endpoint_gets_the_verdict_without_images(samples: list[np.ndarray]) -> None:
    script = {"critic": [error(400, "this model does not accept image input"), VERDICT]}
    with ScriptedLLM(script) as server:
        client = _client(server)
        verdict = critique_spec(SPEC, BRIEF, {"1": 0.9}, client, samples)
    assert verdict.score == 0.8
    assert isinstance(server.requests[1][1]["messages"][0]["content"], str), "retried as plain text"
    assert client.config.vision is False, "remembered: later critiques skip the images"


JUNK = {
    "not a boolean, score out of range": message('{"realistic": "maybe", "score": 7}'),
    "not JSON": message("I think it looks fine."),
    "empty": message(""),
    "refused": error(403, "request refused by policy"),
    "server error": error(500, "boom"),
    "never answers": hang(),
}


@pytest.mark.parametrize("case", list(JUNK))
def test_a_failing_critic_falls_back_to_the_offline_rules_labelled(
    case: str, samples: list[np.ndarray]
) -> None:
    with ScriptedLLM({"critic": [JUNK[case]] * 4}) as server:
        client = LLMClient(
            LLMConfig(
                base_url=server.base_url,
                model="critic-1",
                api_key="k",
                timeout=1,
                max_retries=1,
                backoff=0.01,
            )
        )
        verdict = critique_spec(SPEC, BRIEF, {"1": 0.9}, client, samples)
    offline = critique(SPEC, BRIEF)
    assert verdict.critic.startswith("offline-rules (LLM critic unavailable: critic-1")
    assert (verdict.realistic, verdict.score, verdict.reasons) == (
        offline.realistic,
        offline.score,
        offline.reasons,
    )
    assert client.config.vision is not False, "a junk verdict is not a refusal of the images"
