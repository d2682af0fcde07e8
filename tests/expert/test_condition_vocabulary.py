"""Lay words for the effects users most often name (issue 12): colour casts, over-bright frames, objects
lying any way round, specks and films on the window, material that sags or buckles, dark edges, uneven
light, jerky or buzzing mounts, and plain darkness. Each item is written for these tests in words of its
own (no scenario's text); each was understood as nothing, or as the wrong condition, before.
"""

from __future__ import annotations

import pytest

from robustlens.evals.scorers import plan_primitives
from robustlens.expert.conditions import match_conditions
from robustlens.expert.phrases import semantic_available
from robustlens.expert.planner import plan_from_brief
from robustlens.schemas import DomainBrief
from tests.expert.briefs import make_brief

needs_model = pytest.mark.skipif(not semantic_available(), reason="MiniLM sentence model not installed")


def _named(item: str, setup: str = "") -> set[str]:
    items = [item] if item else []
    brief = DomainBrief(domain="site camera", imaging_setup=setup, deployment_conditions=items)
    return {m.condition for m in match_conditions(brief)[0]}


@pytest.mark.parametrize(
    ("item", "condition"),
    [
        ("the sodium lamps turn everything a sickly yellow", "color_cast"),
        ("colours are off under the warehouse tubes", "color_cast"),
        ("the bright window behind makes the faces too light", "overexposed"),
        ("the smelter glows white hot in view", "overexposed"),
        ("parts land on the tray every which way", "orientation"),
        ("flecks of paint land on the window", "dust"),
        ("the fabric sags between the rollers", "warp"),
        ("the page doesn't lie flat on the glass", "warp"),
        ("a bright pool of lamplight in the middle, dim all round", "uneven_light"),
        ("the robot arm jerks when it stops", "motion"),
        ("the gimbal buzzes at high revs", "vibration"),
        ("no light at all in the crawlspace", "night"),
        ("the morning sun floods the loading dock", "overexposed"),
        # a coordinator is no skipped word: warm bulbs, whichever rooms they hang in
        ("evenings under warm kitchen or hallway bulbs", "color_cast"),
        ("the left strip light is weaker than the other", "uneven_light"),
        ("the torch leaves a bright spot in the middle", "uneven_light"),
        # "depth of field" reaches the matcher as "focus depth"
        ("tall parcels stick out beyond the depth of field", "focus_drift"),
        ("our survey boat rolls in the swell", "orientation"),
        ("the furnace mouth is blindingly bright", "overexposed"),
        ("a strobe fires during the show", "glare"),
        ("the long cable adds interference to the video", "low_snr"),
        ("low cloud hides the hillside", "fog"),
        ("positioning of the arm varies between nurses", "orientation"),
    ],
)
def test_lay_words_name_the_condition(item: str, condition: str) -> None:
    assert condition in _named(item)


@pytest.mark.parametrize(
    ("item", "meant", "not_meant"),
    [
        ("the drone banks in turns so the horizon tilts", "orientation", "perspective"),  # roll, not pitch
        ("bolts lie on the tray at any angle", "orientation", "perspective"),  # said word for word
        ("the edges of each frame are shadowed", "dark_corners", "shadow"),  # fall-off, not a cast shadow
        ("the midday frames are bleached and pale", "overexposed", "low_snr"),  # not photobleaching
    ],
)
def test_a_precise_phrase_beats_a_shared_word(item: str, meant: str, not_meant: str) -> None:
    named = _named(item)
    assert meant in named and not_meant not in named


@needs_model
def test_a_homonym_in_the_imaging_setup_names_nothing() -> None:
    assert "glare" not in _named("", setup="the unit sits by the flash freezer in the fish plant")
    assert "wide_angle" in _named("", setup="a fisheye lens on the ceiling")  # a real cue still counts


def test_paraphrases_of_over_bright_frames_name_the_same_condition_and_plan_overexposure() -> None:
    lay = "the picture is washed out whenever the door opens"
    expert = "the frames are overexposed when the door opens"
    assert _named(lay) == _named(expert) == {"overexposed"}
    brief = DomainBrief(
        domain="loading bay camera",
        description="a camera watches pallets inside a warehouse",
        imaging_setup="industrial camera on the ceiling",
        deployment_conditions=[lay],
    )
    assert "overexposure" in {s.name for s in plan_from_brief(brief).specs}


@needs_model
def test_a_detector_fault_named_in_lay_words_is_planned_not_swapped_for_sensor_noise() -> None:
    brief = DomainBrief(
        domain="backyard observatory",
        description="a cooled camera on a tripod photographs the night sky",
        imaging_setup="astronomy camera with a wide lens",
        deployment_conditions=["long exposures at night", "a handful of sensor pixels are permanently white"],
    )
    names = {s.name for s in plan_from_brief(brief).specs}
    assert "dead_pixels" in names


def test_darkness_at_a_time_of_day_is_night_not_uneven_light() -> None:
    assert "uneven_light" not in _named("it stays dark for half the day in midwinter")
    assert "uneven_light" in _named("the far half of the yard is dark")


@pytest.mark.parametrize(
    ("setup", "item", "primitive"),
    [
        # outdoors the sun lights a scene evenly, but a lamp the user says lights it unevenly does not
        (
            "a camera on a pole over an open-air car park, lit at night by one floodlight",
            "the floodlight leaves a bright spot in the middle and the rest darker",
            "uneven_illumination",
        ),
        (
            "a drone camera looking straight down at apple trees",
            "in bright sun a thick cluster of blossom is just a white blob",
            "overexposure",
        ),
    ],
)
def test_an_effect_named_in_lay_words_is_planned(setup: str, item: str, primitive: str) -> None:
    assert primitive in plan_primitives(plan_from_brief(make_brief(setup, [item])))
