"""The motion link of a chain where something moves is covered by the movement's own blur (issue 12).

A brief written for this test (new words, not from the eval scenarios): an industrial camera watches
parts slide past, and the user names no movement condition. Before, the link's representative was
the vibration blur (its need names the sensor), so the plan tested a mount's judder and not the smear
of the moving parts.
"""

from __future__ import annotations

from robustlens.expert.planner import plan_from_brief
from robustlens.schemas import DomainBrief

TILES = DomainBrief(
    domain="ceramic tile grading",
    description="Sort glazed floor tiles into first and second quality by surface flaws.",
    imaging_setup="A line-side monochrome camera above the kiln exit sees tiles slide by on rollers.",
    deployment_conditions=["glaze reflects the overhead lamps", "kiln dust settles on everything"],
    chain={"sensor": ["industrial_camera"], "moving": ["subject"], "scene": ["indoor"]},
)


def test_a_moving_subject_gets_motion_blur_as_its_motion_link() -> None:
    specs = plan_from_brief(TILES).specs
    names = [s.name for s in specs]
    assert "motion_blur" in names, names
    blur = next(s for s in specs if s.name == "motion_blur")
    assert "moving=subject" in blur.rationale, blur.rationale
