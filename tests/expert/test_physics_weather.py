"""Weather is only in a picture that light from the scene forms: a radiograph, CT slice or sonogram taken
outdoors in the rain shows no rain, whatever the user says about the weather at the site.

Briefs are written for these tests in new words (not taken from the eval scenarios).
"""

from __future__ import annotations

from robustlens.expert.chain import infer_chain
from robustlens.expert.critic import critique
from robustlens.expert.planner import plan_from_brief
from robustlens.schemas import CorruptionSpec, DomainBrief, PrimitiveCall

PIPELINE_XRAY = DomainBrief(
    domain="pipeline weld radiography",
    description="Find porosity and cracks in girth welds of a gas pipeline being laid across open country.",
    imaging_setup="A portable X-ray tube is clamped beside the pipe out in the field and a flat-panel "
    "detector behind the weld records the radiograph.",
    deployment_conditions=["heavy rain", "snowfall", "the detector is reused for years"],
)
FIELD_CAMERA = DomainBrief(
    domain="pipeline trench inspection",
    description="Spot water pooling and collapsed walls in a trench dug for a gas pipeline.",
    imaging_setup="A camera on a pole photographs the open trench from above.",
    deployment_conditions=["heavy rain", "snowfall"],
)


def _spec(name: str) -> CorruptionSpec:
    return CorruptionSpec(name="planted", recipe=[PrimitiveCall(name=name)])


def test_weather_at_the_site_never_reaches_a_radiograph() -> None:
    assert infer_chain(PIPELINE_XRAY).modality == "transmission", infer_chain(PIPELINE_XRAY).evidence
    planned = {call.name for spec in plan_from_brief(PIPELINE_XRAY).specs for call in spec.recipe}
    assert not planned & {"rain", "snow", "frost", "spatter"}, planned
    for name in ("rain", "snow"):
        verdict = critique(_spec(name), PIPELINE_XRAY)
        assert not verdict.realistic and "modality=transmission" in " ".join(verdict.reasons), verdict.reasons


def test_the_same_weather_in_a_camera_picture_is_planned() -> None:
    planned = {call.name for spec in plan_from_brief(FIELD_CAMERA).specs for call in spec.recipe}
    assert {"rain", "snow"} <= planned, planned
    assert "ruled out" not in " ".join(critique(_spec("rain"), FIELD_CAMERA).reasons)
