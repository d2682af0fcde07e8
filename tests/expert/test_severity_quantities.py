"""Motion-blur severity bounded by the speeds, exposures and pixels a brief states (issue 12).

Briefs are written for these tests in new words (not taken from the eval scenarios). The chain is
given as the user's confirmed chain so that the tests pin the bound, apart from how facts are read.
"""

from __future__ import annotations

import pytest

from robustlens.corruptions import REGISTRY
from robustlens.expert.critic import critique
from robustlens.expert.planner import analyse, cap_of, plan_from_brief
from robustlens.expert.quantities import exposure, motion_bound, speed
from robustlens.schemas import CorruptionSpec, DomainBrief, PrimitiveCall

CHAIN = {"moving": ["subject"], "sensor": ["industrial_camera"], "scene": ["indoor"]}


def _brief(setup: str, conditions: list[str]) -> DomainBrief:
    return DomainBrief(
        domain="bottle cap inspection",
        description="Reject bottles whose caps sit crooked on the filling line.",
        imaging_setup=setup,
        deployment_conditions=conditions,
        chain=CHAIN,
    )


# a cap stated in pixels: the bottles travel 4 px while the shutter is open
PIXELS = _brief(
    "A monochrome camera looks across the filling line; each bottle shifts 4 pixels per exposure.",
    ["bottles rush past the camera", "caps are sometimes blurred by the movement"],
)
# a cap from speed x exposure / pixel footprint: 2 m/s x 50 us = 0.1 mm = 1 px at 0.1 mm per pixel
DERIVED = _brief(
    "A camera over the belt with a 1/20000 s shutter; bottles move at 2 m/s; 0.1 mm per pixel on the belt.",
    ["bottles rush past the camera", "caps are sometimes blurred by the movement"],
)
# only a freezing exposure: a lay "a millionth of a second" flash, no pixel scale
FROZEN = _brief(
    "A camera watches the bottles go by; a lamp flashes for a millionth of a second to catch each one.",
    ["bottles rush past the camera", "caps are sometimes blurred by the movement"],
)
UNSTATED = _brief(
    "A camera watches the bottles go by under the factory lights.",
    ["bottles rush past the camera", "caps are sometimes blurred by the movement"],
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("global shutter, 20 µs exposure", 20e-6),
        ("the shutter is set to 1/1000 s", 1e-3),
        ("lit by a 3 ms flash", 3e-3),
        ("a microsecond LED pulse lights the field", 1e-6),
        ("network latency of 40 ms on the uplink", None),  # a duration that is no exposure
    ],
)
def test_exposure_reads_durations_only_where_light_is_collected(text: str, seconds: float | None) -> None:
    assert exposure(text) == pytest.approx(seconds) if seconds is not None else exposure(text) is None


def test_speed_reads_metric_imperial_and_spoken_units() -> None:
    assert speed("the train passes at 72 km/h") == pytest.approx(20.0)
    assert speed("parts glide by at half a metre a second") == pytest.approx(0.5)
    assert speed("carts roll at 10 mph") == pytest.approx(4.4704)
    assert speed("a calm scene") is None


def test_blur_in_pixels_follows_speed_times_exposure_over_pixel_size() -> None:
    bound = motion_bound(DERIVED.imaging_setup)
    assert bound is not None and bound.pixels == pytest.approx(1.0)
    assert motion_bound(UNSTATED.imaging_setup) is None


@pytest.mark.parametrize("brief", [PIXELS, DERIVED, FROZEN])
def test_stated_quantities_cap_motion_blur_in_plan_and_critic(brief: DomainBrief) -> None:
    a = analyse(brief)
    cap = cap_of(a, "motion_blur")
    assert cap <= 1.0, cap  # a few pixels of travel is below the default ladder's severity 1 (21 px)
    spec = next(s for s in plan_from_brief(brief).specs if s.name == "motion_blur")
    length = spec.recipe[0].ladder["length"]
    if a.motion is not None and a.motion.pixels is not None:
        assert length[-1] <= a.motion.pixels * 1.01 + 1e-9, length
    assert "The bound follows from the brief's" in spec.rationale, spec.rationale
    assert critique(spec, brief).realistic
    default = CorruptionSpec(name="planted", recipe=[PrimitiveCall(name="motion_blur")])
    verdict = critique(default, brief)
    assert not verdict.realistic and "stronger than is physically plausible" in verdict.reasons[0]
    assert "the brief's" in verdict.reasons[0], verdict.reasons  # the critic says which quantities


def test_no_stated_quantity_keeps_the_chain_caps() -> None:
    a = analyse(UNSTATED)
    assert a.motion is None
    assert cap_of(a, "motion_blur") > 1.0
    assert REGISTRY["motion_blur"].ladder_values("length")[1] > 4  # PIXELS really is below severity 1
