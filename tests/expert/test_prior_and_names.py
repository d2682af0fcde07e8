"""A domain prior about another kind of imaging is not used; an effect named by its own name is that effect;
a named condition nothing models is said, not dropped (issue 12; found by a user's garage-camera brief)."""

from __future__ import annotations

from robustlens.evals.scorers import plan_primitives
from robustlens.expert.chain import infer_chain
from robustlens.expert.conditions import match_conditions
from robustlens.expert.planner import analyse, plan_from_brief
from tests.expert.briefs import make_brief

GARAGE = make_brief(
    "A wifi camera on the wall of a windowless garage looks at the parked car; a fluorescent tube lights it.",
    ["low light", "motion blur", "flicker"],
    domain="home garage pet camera",
    description="Tell whether the frame shows the cat, the dog or just the car.",
)


def test_a_prior_about_another_modality_is_not_used() -> None:
    """'Fluorescent' is a microscopy keyword, but this chain is a photograph: the microscopy prior's caps and
    whitelist say nothing about it."""
    a = analyse(GARAGE)
    assert a.facts.modality == "photograph"
    assert not (a.domain.name == "microscopy" and a.prior_ok)
    slide = make_brief("Fluorescent-stained cells imaged under a widefield microscope.", ["photobleaching"])
    b = analyse(slide)
    assert b.domain.name == "microscopy" and b.prior_ok


def test_a_parked_car_is_no_park() -> None:
    assert "outdoor" not in infer_chain(GARAGE).scene


def test_an_effect_named_by_its_name_is_only_that_effect() -> None:
    named = {m.condition for m in match_conditions(make_brief("A camera on a pole.", ["motion blur"]))[0]}
    assert "motion" in named and "focus_drift" not in named
    prims = plan_primitives(plan_from_brief(GARAGE))
    assert "motion_blur" in prims and "defocus_blur" not in prims


def test_a_named_condition_nothing_models_is_said_in_the_notes() -> None:
    notes = plan_from_brief(GARAGE).notes
    assert "not modelled" in notes and "'flicker'" in notes
    assert "'low light'" not in notes.split("not modelled")[1]
