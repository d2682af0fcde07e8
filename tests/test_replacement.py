"""A spec that fails validation is replaced (offline, by the LLM, or offline after an LLM failure)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from robustlens.corruptions import REGISTRY
from robustlens.expert.planner import plan_from_brief
from robustlens.llm.client import LLMClient, LLMConfig
from robustlens.llm.planner import llm_replacement
from robustlens.replacement import proposer_for, validate_with_replacements
from robustlens.schemas import CorruptionPlan, CorruptionSpec, DomainBrief, PrimitiveCall
from tests.agent.scripted_server import ScriptedLLM, error, message
from tests.conftest import sample_images

BRIEF = DomainBrief(
    domain="dashcam on delivery vans",
    imaging_setup="windshield camera, JPEG-compressed video",
    deployment_conditions=["rain", "night driving"],
)
# a ladder so weak that severity 1 changes nothing: the SSIM check rejects it
WEAK = CorruptionSpec(
    name="noise_weak", recipe=[PrimitiveCall(name="gaussian_noise", ladder={"sigma": [1e-4] * 5})]
)


@pytest.fixture(scope="module")
def expert() -> CorruptionPlan:
    """The offline expert's plan for the brief: its specs pass validation and its critic."""
    return plan_from_brief(BRIEF)


@pytest.fixture(scope="module")
def small() -> list[np.ndarray]:
    return sample_images(64)[:2]


def _tiny(name: str) -> dict[str, list[float]]:
    info = REGISTRY[name]
    return {
        p: [info.identity[p] + 1e-6 * (info.ladder_values(p)[-1] - info.identity[p])] * 5 for p in info.ladder
    }


def _plan(*specs: CorruptionSpec) -> CorruptionPlan:
    return CorruptionPlan(specs=list(specs), planner="test")


def _client(server: ScriptedLLM) -> LLMClient:
    return LLMClient(LLMConfig(base_url=server.base_url, model="planner-1", api_key="k", max_retries=0))


def test_a_failing_spec_is_replaced_offline_in_its_place(
    small: list[np.ndarray], expert: CorruptionPlan
) -> None:
    keep = expert.specs[0]
    plan, reports, notes = validate_with_replacements(_plan(WEAK, keep), BRIEF, small)
    assert plan is not None and len(plan.specs) == 2, "the plan did not shrink"
    new = plan.specs[0]
    assert new.name not in ("noise_weak", keep.name) and plan.specs[1] == keep
    assert new.source == "offline" and not {c.name for c in new.recipe} & {"gaussian_noise"}
    assert [r.spec_name for r in reports] == ["noise_weak", keep.name, new.name]
    assert not reports[0].ok and reports[1].ok and reports[2].ok
    assert len(notes) == 1 and notes[0].startswith("noise_weak dropped (SSIM at severity 1")
    assert notes[0].endswith(f"replaced by {new.name}") and notes[0] in plan.notes


def test_replacements_that_fail_are_reported_and_nothing_passing_gives_none(
    small: list[np.ndarray],
) -> None:
    offers = iter([WEAK.model_copy(update={"name": f"weak{i}"}) for i in range(1, 4)])
    seen: list[str] = []

    def propose(plan: CorruptionPlan, spec: CorruptionSpec, reason: str) -> CorruptionSpec:
        seen.append(reason)
        other = next(offers)
        # each offer uses a different recipe so it is not refused as a repeat
        name = ["shot_noise", "iso_noise", "speckle_noise"][len(seen) - 1]
        return other.model_copy(update={"recipe": [PrimitiveCall(name=name, ladder=_tiny(name))]})

    plan, reports, notes = validate_with_replacements(
        _plan(WEAK), BRIEF, small, propose=propose, max_rounds=2
    )
    assert plan is None
    assert [r.spec_name for r in reports] == ["noise_weak", "weak1", "weak2"], "max_rounds bounds the tries"
    assert all("SSIM at severity 1" in r for r in seen)
    assert "no replacement passed validation (tried weak1: SSIM" in notes[0] and "weak2" in notes[0]


def test_the_llm_replacement_is_used(small: list[np.ndarray], expert: CorruptionPlan) -> None:
    # a realistic spec (the expert's, renamed) stands in for what a good LLM would propose
    proposal = expert.specs[1].model_dump(mode="json") | {"name": "wet_glass", "source": "user"}
    with ScriptedLLM({"other": [message(json.dumps(proposal))]}) as server:
        propose = proposer_for(BRIEF, _client(server))
        plan, _, notes = validate_with_replacements(_plan(WEAK), BRIEF, small, propose=propose)
    assert plan is not None and [s.name for s in plan.specs] == ["wet_glass"]
    assert plan.specs[0].source == "llm"
    assert notes[0].endswith("replaced by wet_glass (proposed by planner-1)")
    sent = server.requests[0][1]["messages"][0]["content"]
    assert "SSIM at severity 1" in sent and "noise_weak" in sent, "the LLM is told why the spec failed"


@pytest.mark.parametrize(
    "step",
    [
        error(500, "boom"),
        message("no JSON here"),
        message(json.dumps({"name": "x", "recipe": [{"name": "gaussian_noise"}]})),
    ],
    ids=["server error", "junk", "repeats the dropped primitive"],
)
def test_a_broken_llm_falls_back_to_the_offline_replacement_labelled(
    step: dict, small: list[np.ndarray]
) -> None:
    with ScriptedLLM({"other": [step] * 3}) as server:
        client = _client(server)
        spec, label = llm_replacement(client, _plan(WEAK), WEAK, BRIEF, "SSIM at severity 1 = 1.0")
    assert (
        spec is not None
        and spec.source == "offline"
        and "gaussian_noise" not in {c.name for c in spec.recipe}
    )
    assert label.startswith("offline expert; LLM replacement unavailable")
