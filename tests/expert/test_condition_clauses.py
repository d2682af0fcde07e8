"""What one named condition clause is understood as (issue 12): lay and expert words for one effect meet
at the same condition or primitive, a word used in another sense names nothing, and a clause that only
says a condition never happens rules it out. The clauses are written for these tests, not taken from
any scenario."""

from __future__ import annotations

import pytest

from robustlens.expert.conditions import match_conditions
from robustlens.expert.direct import direct_matches
from robustlens.expert.phrases import semantic_available
from robustlens.expert.physics import load_physics
from robustlens.schemas import DomainBrief

needs_model = pytest.mark.skipif(not semantic_available(), reason="MiniLM sentence model not installed")


def _read(item: str) -> tuple[set[str], set[str], list[str]]:
    """(conditions named, primitive matched directly when no condition speaks for it, ruled out)."""
    named, ruled_out = match_conditions(DomainBrief(domain="site camera", deployment_conditions=[item]))
    conditions = {m.condition for m in named}
    primitives: set[str] = set()
    if not conditions and not ruled_out:
        every = list(load_physics().primitives)
        primitives = {d.primitive for d in direct_matches([item], every)}
    return conditions, primitives, ruled_out


@needs_model
@pytest.mark.parametrize(
    ("expert", "lay", "primitive"),
    [
        ("hot pixels on long exposures", "the same few pixels are bright in every frame", "dead_pixels"),
    ],
)
def test_lay_and_expert_words_for_one_effect_reach_the_same_primitive(
    expert: str, lay: str, primitive: str
) -> None:
    physics = load_physics().primitives
    for item in (expert, lay):
        conditions, primitives, _ = _read(item)
        # the condition that says it (struck pixels) or none, never one sharing a word ("dots" -> fax)
        assert conditions <= {"pixel_hits"}, item
        reached = primitives | {name for name, p in physics.items() if conditions & set(p.serves)}
        assert primitive in reached, item


@needs_model
@pytest.mark.parametrize(
    ("expert", "lay", "condition"),
    [
        ("pendulum motion of the suspended payload", "the pod swings and spins on its cable", "motion"),
        ("turbid water in the tank", "the tank water turns cloudy and milky", "water"),
        ("photon-starved frames with a high noise floor", "the frames look grainy", "low_snr"),
        # a movement stated in words beats a likeness ("swirling" liquid only reads like water on a lens)
        ("the vial contents are in motion during the exposure", "the liquid is still swirling", "motion"),
        ("patient positioning varies", "small children don't keep the hand flat or straight", "orientation"),
        ("non-uniform illumination", "daylight from the shed door lights one side", "uneven_light"),
    ],
)
def test_lay_and_expert_words_for_one_condition_name_the_same_condition(
    expert: str, lay: str, condition: str
) -> None:
    for item in (expert, lay):
        conditions, _, _ = _read(item)
        assert condition in conditions, item
    assert "clouds" not in _read("the tank water turns cloudy and milky")[0]  # water, not the sky


@needs_model
@pytest.mark.parametrize(
    ("item", "wrong"),
    [
        ("delivery vans flash past the depot gate", "glare"),  # moving fast, not a flash of light
        ("the kiosk stands in the old quarter of the city", "aging"),  # an old town, not old equipment
    ],
)
def test_a_word_in_another_sense_names_nothing(item: str, wrong: str) -> None:
    conditions, _, _ = _read(item)
    assert wrong not in conditions


def test_a_clause_saying_a_condition_never_happens_rules_it_out() -> None:
    conditions, _, ruled_out = _read("hail and snow do not occur at this altitude")
    assert "snow" in ruled_out and "snow" not in conditions
    conditions, _, ruled_out = _read("snow on the roofs makes the scene bright")
    assert "snow" in conditions and not ruled_out  # a clause without a negation is not denied
