"""Who moves is read from the clause (the camera or its carrier before the motion verb, else the
subject), and the small readings it relies on: units stay whole, acronym plurals are no names, an
indoor camera that looks up sees no sky. Briefs written for these tests, not taken from scenarios."""

from __future__ import annotations

import pytest

from robustlens.expert.chain import infer_chain
from robustlens.expert.movers import movers
from robustlens.expert.quantities import speed
from robustlens.expert.words import split_phrases
from tests.expert.briefs import make_brief

_brief = make_brief


@pytest.mark.parametrize(
    ("clause", "who"),
    [
        ("the lamb fidgets and kicks while it is tagged", "subject"),
        ("visitors sway a little as they stand on the mat", "subject"),
        ("crates move under the camera during the exposure", "subject"),
        ("the mast sways in strong wind", "camera"),
        ("the tripod wobbles when a lorry passes", "camera"),
        ("bottles race past at 3 m/s", "subject"),
        ("the wall shakes when the press stamps", "camera"),
        ("residents turn over in bed during the night", "subject"),
        # a denied rest is motion, and who is denied it decides who moves
        ("toddlers can't sit perfectly still for the photo", "subject"),
        ("the conveyor never stops for the camera", "subject"),
        ("the handheld camera is never steady", "camera"),
        ("the drum is still rotating during the exposure", "subject"),
    ],
)
def test_the_clause_says_who_moves(clause: str, who: str) -> None:
    assert movers([clause]) == [(who, clause)]


@pytest.mark.parametrize(
    "clause",
    [
        "the light shifts from cool to warm over the afternoon",
        "clouds of vapour drift across the view",
        "the calf never moves during weighing",
        "the picture is archived nightly",
        "people are in a hurry",  # haste, not motion in the frame
        "the glossy tray throws back the floodlights",  # a reflection: light compounds move nothing
        "the lamp never stops flickering",  # a denied rest of the light is no motion either
        "the camera is still",
    ],
)
def test_light_weather_and_negated_motion_move_nothing(clause: str) -> None:
    assert movers([clause]) == []


def test_animals_that_shuffle_are_moving_subjects_in_the_chain() -> None:
    facts = infer_chain(
        _brief(
            "A fixed camera above the weighing pen of a sheep shed, lit by one lamp.",
            ["the ewes shuffle and toss their heads on the scale"],
            domain="sheep weighing",
        )
    )
    assert "subject" in facts.moving
    assert "camera" not in facts.moving


def test_a_speed_with_its_unit_stays_one_clause() -> None:
    assert split_phrases("the web runs at up to 12 m/s; sun/shadow at the door") == [
        "the web runs at up to 12 m/s",
        "sun",
        "shadow at the door",
    ]
    assert speed("the web runs at up to 12 m/s") == pytest.approx(12.0)


def test_an_acronym_plural_at_a_sentence_start_is_no_name() -> None:
    facts = infer_chain(_brief("A webcam over the bench. Small JPEGs are mailed every hour.", ["dim bench"]))
    assert "jpeg" in facts.processing


def test_an_indoor_camera_looking_up_sees_a_ceiling_not_the_sky() -> None:
    facts = infer_chain(
        _brief(
            "A small camera inside the hay barn looks up at the roof trusses for nesting birds.",
            ["the barn is dim in winter"],
            domain="barn nest monitoring",
        )
    )
    assert "indoor" in facts.scene
    assert facts.sky_in_view is False


def test_an_aircraft_the_camera_looks_at_is_the_subject_not_the_platform() -> None:
    facts = infer_chain(
        _brief(
            "A fixed camera on the hangar wall looks at the aircraft tail to read the registration.",
            ["the wall vibrates when engines run up"],
            domain="hangar registration reader",
        )
    )
    assert "aerial" not in facts.scene and "platform" not in facts.moving
    assert "camera" in facts.moving  # the wall that holds the camera shakes


def test_a_work_shift_moves_nothing() -> None:
    facts = infer_chain(_brief("A fixed camera over the press.", ["the night shift wipes the lens"]))
    assert facts.moving == []


def test_a_mover_in_no_example_s_words_names_the_motion_condition() -> None:
    """A deployment condition that says something moves, in words no motion example has, is the motion
    condition (so the plan models it with a blur), but a light compound that "throws" is not, nor a
    noun phrase that opens with a motion word."""
    from robustlens.expert.conditions import match_conditions

    brief = _brief(
        "A fixed camera over a ward bed.",
        [
            "toddlers can't sit perfectly still",
            "the glossy tray throws back the floodlights",
            "flying saucers",
        ],
    )
    named, _ = match_conditions(brief)
    said = {(m.phrase, m.condition) for m in named}
    assert ("toddlers can't sit perfectly still", "motion") in said
    assert not any(m.condition == "motion" and "tray" in m.phrase for m in named)
    assert not any(m.phrase == "flying saucers" for m in named)  # a noun phrase, not a statement
