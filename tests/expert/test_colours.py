"""A monochrome sensor is read from words that describe the image, in place, and rules out every colour
corruption in the plan and in the rule critic. Briefs written for these tests, not taken from scenarios."""

from __future__ import annotations

import pytest

from robustlens.expert.chain import infer_chain
from robustlens.expert.colours import monochrome
from robustlens.expert.critic import critique
from robustlens.expert.planner import plan_from_brief
from robustlens.schemas import CorruptionSpec, PrimitiveCall
from tests.expert.briefs import make_brief

COLOUR_ONLY = ("white_balance", "saturate", "chromatic_aberration", "iso_noise")


@pytest.mark.parametrize(
    ("clauses", "mono"),
    [
        (["a black-and-white night-vision security camera watches the gate"], True),
        (["the reader makes a black-and-white picture of each coupon"], True),
        (["the frames come out 8-bit greyscale"], True),
        (["slides are photographed in black and white"], True),
        (["a mono CMOS board camera looks down"], True),
        (["the herd is black-and-white cattle"], False),  # the subject, not the image
        (["black-and-white stripes on the tag are read by the camera"], False),
        (["not a greyscale camera"], False),
        (["pages are saved in greyscale or colour"], False),  # colour images happen too
        (["greyscale frames at night", "colour by day"], False),
        (["a monochrome sensor behind RGB filters"], False),
    ],
)
def test_monochrome_is_read_from_words_about_the_image(clauses: list[str], mono: bool) -> None:
    assert bool(monochrome(clauses)) is mono


def test_a_black_and_white_camera_has_no_colour_corruption_in_plan_or_critic() -> None:
    brief = make_brief(
        "A black-and-white night-vision security camera is bolted under the loading canopy.",
        ["colours look off under the sodium lamps", "the lens gets dirty", "motion blur from forklifts"],
    )
    facts = infer_chain(brief)
    assert facts.colour == ["mono"]
    assert any(e.fact == "colour=mono" and "black-and-white" in e.phrases[0] for e in facts.evidence)
    planned = {s.name for s in plan_from_brief(brief).specs}
    assert not planned & set(COLOUR_ONLY), planned
    verdict = critique(CorruptionSpec(name="planted", recipe=[PrimitiveCall(name="white_balance")]), brief)
    assert not verdict.realistic
    # the same deployment with a colour camera keeps the colour cast the user named
    colour = make_brief(
        "A colour security camera is bolted under the loading canopy.",
        ["colours look off under the sodium lamps", "the lens gets dirty", "motion blur from forklifts"],
    )
    assert infer_chain(colour).colour == []
    assert {s.name for s in plan_from_brief(colour).specs} & {"white_balance", "saturate"}


def test_the_user_can_correct_the_colour_fact() -> None:
    brief = make_brief("A board camera in the housing.", ["dim light"], chain={"colour": ["mono"]})
    assert infer_chain(brief).colour == ["mono"]
