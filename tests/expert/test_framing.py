"""The subject framed differently from picture to picture (a user cuts it down, a sonographer zooms in, people
step up close and fill the frame, an X-ray's collimation varies) is a change of scale and position: the
crop-and-zoom corruption, however it is said."""

from __future__ import annotations

import pytest

from robustlens.expert.conditions import match_conditions
from robustlens.schemas import DomainBrief
from tests.expert.planned import planned_names


def conditions(item: str) -> list[str]:
    brief = DomainBrief(domain="classifier", imaging_setup="A camera.", deployment_conditions=[item])
    return [m.condition for m in match_conditions(brief)[0]]


@pytest.mark.parametrize(
    "item",
    [
        "users cut the screenshot down to the bubbles",
        "some sonographers zoom in, others do not",
        "people step up close to the camera and fill the frame",
        "variable collimation",
    ],
)
def test_framing_said_in_many_words(item: str) -> None:
    assert "framing" in conditions(item)


@pytest.mark.parametrize("item", ["the wheat crop ripens in July", "the power is cut off at night"])
def test_a_crop_of_plants_and_a_cut_supply_are_no_framing(item: str) -> None:
    assert "framing" not in conditions(item)


def test_a_cropped_screenshot_plans_crop_and_zoom() -> None:
    brief = DomainBrief(
        domain="screenshot translation",
        description="Translate text in chat screenshots.",
        imaging_setup="Phone screenshots shared into the app.",
        deployment_conditions=["recompressed when forwarded", "users cut the screenshot down to the bubbles"],
        labels=["english", "spanish"],
    )
    assert "crop_zoom" in planned_names(brief)
