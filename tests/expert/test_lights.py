"""A deployment condition that describes a light: a coloured lamp tints the picture ("very dim red
lighting", "the LED panel turns yellower as it ages"), a lamp aimed at the lens or named alone
("spotlights point straight at the camera", "headlamps") is glare, the sun into the lens is its flare, and
a lamp said to light unevenly ("uneven backlight") is uneven illumination."""

from __future__ import annotations

import pytest

from robustlens.expert.conditions import match_conditions
from robustlens.expert.lights import COLOUR_CAST, GLARE, SUN, UNEVEN, light_reading
from robustlens.schemas import DomainBrief
from tests.expert.planned import planned_names as _names


@pytest.mark.parametrize(
    ("clause", "reading"),
    [
        ("only a dim red darkroom lamp is allowed", COLOUR_CAST),
        ("the ring light slowly drifts bluer", COLOUR_CAST),
        ("the backlight goes warmer after a year", COLOUR_CAST),
        ("purple grow lights at night", COLOUR_CAST),
        ("stage lights point straight into the camera", GLARE),
        ("uneven backlight", UNEVEN),
        ("the flash lights the corners unevenly", UNEVEN),
        ("the ring light is patchy", UNEVEN),
        ("the sun sets right into the lens", SUN),
        ("at noon the sun reflects off the wet road into the camera", GLARE),
        ("the blue lamp bounces off the glossy labels", GLARE),
        ("oncoming headlights", GLARE),
        # contrasts: the subject's hue, a signal, heat, a denial, a lamp not aimed at the lens
        ("green peppers under white lamps", None),
        ("cyclists jump the red light", None),
        ("the lamp housing gets warmer by noon", None),
        ("there is no blue light", None),
        ("the lamp lights the belt", None),
        ("headlamps of the forklifts sweep across the racks at the back", None),
        ("uneven floor under the lights", None),
        ("the lighting is never uneven", None),
    ],
)
def test_what_a_clause_says_of_a_light(clause: str, reading: str | None) -> None:
    assert light_reading(clause) == reading


def conditions(*items: str) -> list[str]:
    brief = DomainBrief(domain="line", imaging_setup="A colour camera.", deployment_conditions=list(items))
    return [m.condition for m in match_conditions(brief)[0]]


def test_a_coloured_lamp_named_in_lay_words_is_a_colour_cast() -> None:
    assert "color_cast" in conditions("the only light is a weak red bulb over the bench")
    assert "color_cast" in conditions("the old strip lights have turned yellower")


def test_a_lamp_said_to_light_unevenly_is_uneven_illumination() -> None:
    """Machine-vision words for the lamp ("backlight", "flash") are no backlit subject and no flash glare
    alone when the clause says the light falls unevenly."""
    assert conditions("uneven backlight")[0] == "uneven_light"
    assert conditions("uneven flash")[0] == "uneven_light"


def test_fog_lamps_are_lamps_not_fog() -> None:
    found = conditions("the fog lights make the falling flakes glow")
    assert "fog" not in found
    assert "fog" in conditions("fog rolls in off the river")


def test_a_lamp_aimed_at_the_lens_is_glare() -> None:
    assert "glare" in conditions("the stage lights point right into the lens")


def test_a_darkroom_picture_plans_a_colour_cast() -> None:
    room = DomainBrief(
        domain="photo paper sorting",
        description="Sort exposed photo paper sheets by defect before development.",
        imaging_setup="A colour camera above a tray in a darkroom.",
        deployment_conditions=[
            "the only light is a dim red safelight",
            "sheets slide under the camera quickly",
            "the camera is a cheap webcam and the picture is grainy",
        ],
    )
    assert "white_balance" in _names(room)
