"""Where a named condition is and what the light does across the view (issue 12, ``expert/rereading.py``).

Dust, powder, steam or spray in the air veil the whole view; on the window they blot it: the user's place
words decide which, and an item that says both gets both. Darkness beside light is uneven light or more
range than one exposure holds, not night. Plus lay words for fumes, a saturated sensor, exposure that
hunts, mixed light sources, spatter on the glass, a torch beam, movement during the exposure and a pitted
window. Every item is written for these tests in words of its own (no scenario's text); each was read as
the wrong condition, or as nothing, before.
"""

from __future__ import annotations

import pytest

from robustlens.evals.scorers import plan_primitives
from robustlens.expert.conditions import match_conditions
from robustlens.expert.phrases import semantic_available
from robustlens.expert.planner import plan_from_brief
from tests.expert.briefs import make_brief

needs_model = pytest.mark.skipif(not semantic_available(), reason="MiniLM sentence model not installed")


def _named(item: str) -> set[str]:
    brief = make_brief("A camera watches the work area.", [item])
    return {m.condition for m in match_conditions(brief)[0]}


@pytest.mark.parametrize(
    ("item", "meant", "not_meant"),
    [
        ("powder clouds fill the mixing room", {"haze"}, {"dust", "clouds"}),  # in the air, not the sky's
        ("steam condenses on the camera window", {"misted"}, {"fog"}),  # a film on the glass, not in the air
        ("flour powder fills the bakery and coats the lens", {"haze", "dust"}, set()),  # both places
        ("salt dries on the lens and leaves it cloudy", {"dust"}, {"haze"}),  # a cloudy window is no cloud
        ("exhaust fumes drift across the loading bay", {"haze"}, {"motion"}),
    ],
)
def test_the_place_words_say_whether_it_veils_or_blots(
    item: str, meant: set[str], not_meant: set[str]
) -> None:
    named = _named(item)
    assert meant <= named and not named & not_meant


@pytest.mark.parametrize(
    ("item", "meant", "not_meant"),
    [
        ("the aisle ends away from the lamps are dark", "uneven_light", "night"),
        ("a white shirt beside a black coat: no exposure suits both", "overexposed", "night"),
        ("the lamp lights the nearest racks while the far aisle stays black", "uneven_light", "night"),
    ],
)
def test_darkness_beside_light_is_no_night(item: str, meant: str, not_meant: str) -> None:
    named = _named(item)
    assert meant in named and not_meant not in named


@pytest.mark.parametrize(
    "item",
    [
        "after dark the yard is unlit except at the edges of the gate",  # a time word: it is night
    ],
)
def test_darkness_of_the_scene_stays_night(item: str) -> None:
    assert {"night", "uneven_light"} <= _named(item)


def test_darkness_past_the_lamps_reach_is_the_scenes_own() -> None:
    named = _named("the quarry floor is dark far from the floodlights")
    assert "night" in named and "uneven_light" not in named


@pytest.mark.parametrize(
    ("item", "condition"),
    [
        ("fumes from the soldering station", "haze"),
        ("the sensor saturates whenever the furnace door opens", "overexposed"),
        ("auto-exposure keeps hunting as trucks pass", "overexposed"),
        ("the hall has mixed light sources", "color_cast"),
        ("paint spatter on the cover glass", "dust"),
        ("a head torch is the only light", "uneven_light"),
        ("the trolley travels during the exposure", "motion"),
        ("cerumen coats the probe tip", "smear"),
        ("the rooftops glint in the afternoon", "glare"),
        ("dew settles on the housing overnight", "lens_water"),
        ("a crust of lime forms on the port", "dust"),
        ("the feed breaks up when the link is busy", "low_bandwidth"),
        ("forklifts pass at 20 km/h", "motion"),
        ("receipts arrive balled up", "crumpled"),
        ("most shots come out dark", "poor_lighting"),
        ("the camera is aimed upward at the rafters", "perspective"),
    ],
)
def test_lay_words_name_the_condition(item: str, condition: str) -> None:
    assert condition in _named(item)


@needs_model
def test_air_and_window_each_get_a_pick() -> None:
    """Soot in the air (scatter) and on the window (deposits) are two corruptions, one pick each."""
    brief = make_brief(
        "A fixed industrial camera looks through a glass window into a furnace hall.",
        ["soot fills the hall and coats the window"],
    )
    prims = set(plan_primitives(plan_from_brief(brief)))
    assert prims & {"fog", "haze", "contrast"} and prims & {"dirty_lens", "dust"}


@needs_model
def test_a_pitted_window_is_planned_as_looking_through_worn_glass() -> None:
    brief = make_brief(
        "An outdoor camera behind a glass window watches a quarry.", ["flying grit has pitted the window"]
    )
    assert "glass_blur" in plan_primitives(plan_from_brief(brief))


def test_nobody_rules_a_condition_out() -> None:
    brief = make_brief("A camera watches the work area.", ["nobody works out there when it snows"])
    named, ruled_out = match_conditions(brief)
    assert "snow" in ruled_out and "snow" not in {m.condition for m in named}
