"""Plans, critic and replacement reason from the chain for domains the knowledge base never saw (issue 12)."""

from __future__ import annotations

from robustlens.expert.critic import critique
from robustlens.expert.physics import load_physics
from robustlens.expert.planner import analyse, plan_from_brief
from robustlens.expert.replace import replacement_for
from robustlens.schemas import Budget, CorruptionSpec, DomainBrief, PrimitiveCall

PHONE = DomainBrief(
    domain="gallery app tagging",
    imaging_setup="people's phone camera, indoors at home",
    deployment_conditions=["the camera shakes", "bad light"],
)


def _spec(name: str) -> CorruptionSpec:
    return CorruptionSpec(name="planted", recipe=[PrimitiveCall(name=name)])


def test_the_critic_rejects_the_physically_impossible_in_an_unknown_domain() -> None:
    for name in ("mri_ghosting", "sun_flare", "rain"):
        verdict = critique(_spec(name), PHONE)
        assert not verdict.realistic and verdict.score < 0.5, (name, verdict.reasons)
    in_body = DomainBrief(domain="capsule camera triage", imaging_setup="swallowed capsule camera")
    assert not critique(_spec("rain"), in_body).realistic
    assert all(critique(s, PHONE).realistic for s in plan_from_brief(PHONE).specs)


def test_named_conditions_are_never_dropped_and_rationales_quote_the_brief() -> None:
    plan = plan_from_brief(PHONE.model_copy(update={"budget": Budget(max_corruptions=3)}))
    names = [s.name for s in plan.specs]
    served = {c for n in names for c in load_physics().primitives[n].serves}
    assert {"vibration", "poor_lighting"} <= served or {"handheld", "poor_lighting"} <= served, names
    assert any(
        "people's phone camera" in s.rationale or "the camera shakes" in s.rationale for s in plan.specs
    )
    assert not any("tractor" in s.rationale or "flatbed" in s.rationale for s in plan.specs)


def test_a_budget_keeps_noise_and_compression() -> None:
    brief = PHONE.model_copy(update={"deployment_conditions": [], "budget": Budget(max_corruptions=4)})
    links = {load_physics().primitives[s.name].link for s in plan_from_brief(brief).specs}
    assert {"noise", "processing"} <= links
    assert plan_from_brief(brief) == plan_from_brief(brief)  # deterministic


def test_replacement_covers_the_same_condition_and_is_new() -> None:
    plan = plan_from_brief(PHONE)
    dropped = next(s for s in plan.specs if s.name in {"low_light", "underexposure"})
    spec = replacement_for(plan, dropped, PHONE, reason="it failed validation")
    assert spec is not None and spec.name not in {s.name for s in plan.specs}
    physics = load_physics().primitives
    assert (
        physics[spec.name].link == physics[dropped.name].link or "poor_lighting" in physics[spec.name].serves
    )
    assert "it failed validation" in spec.rationale
    assert critique(spec, PHONE).realistic


def test_ultrasound_blurs_only_where_the_brief_says_something_moves() -> None:
    """B-mode frames are averaged over time (frame persistence), so a probe or tissue that moves smears
    them: a motion blur is possible in an ultrasound chain when the user names motion, never otherwise."""
    still = DomainBrief(
        domain="liver ultrasound",
        imaging_setup="a curvilinear ultrasound probe on a cart-based scanner",
        deployment_conditions=["speckle in deep tissue", "gain set too low"],
    )
    moving = still.model_copy(
        update={"deployment_conditions": ["speckle in deep tissue", "the patient moves during the sweep"]}
    )
    assert "motion_blur" in analyse(still).excluded
    assert "motion_blur" not in analyse(moving).excluded
    impossible = "physically impossible"
    assert any(impossible in r for r in critique(_spec("motion_blur"), still).reasons)
    assert not any(impossible in r for r in critique(_spec("motion_blur"), moving).reasons)
