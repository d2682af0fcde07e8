"""Condition-aware knowledge: contextual objections, global restrictions and the conditions they need.

What the brief says about the capture (a camera looking down at the track, a dermatoscope, a
monochrome sensor, an RGB drone camera, fundus photography rather than OCT) rules primitives out that
the domain otherwise lists; the planner and the rule critic must agree on it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from robustlens.errors import UserInputError
from robustlens.expert.critic import critique
from robustlens.expert.knowledge import KNOWLEDGE_PATH, brief_text, domain_for, load_knowledge
from robustlens.expert.planner import plan_from_brief
from robustlens.schemas import Budget, CorruptionSpec, DomainBrief, PrimitiveCall

KB = load_knowledge()


def _brief(domain: str, setup: str = "", conditions: list[str] | None = None, n: int = 64) -> DomainBrief:
    return DomainBrief(
        domain=domain,
        imaging_setup=setup,
        deployment_conditions=conditions or [],
        budget=Budget(max_corruptions=n),
    )


def _verdict(primitive: str, brief: DomainBrief):  # type: ignore[no-untyped-def]
    return critique(CorruptionSpec(name="planted", recipe=[PrimitiveCall(name=primitive)]), brief)


# (brief in which the primitive is ruled out, the same domain where it is not, primitive, quote)
CONTEXTS = [
    (
        _brief("railway track inspection", "downward-looking cameras under the car body", ["sunlight"]),
        _brief("railway track inspection", "forward-facing cab camera", ["sunlight"]),
        "sun_flare",
        "never has the sun",
    ),
    (
        _brief("dermatology (dermoscopy)", "handheld dermatoscope with polarised ring light"),
        _brief("dermatology", "smartphone photos of skin rashes"),
        "shadow",
        "ring light",
    ),
    (
        _brief("drone aerial imagery", "1-inch CMOS RGB camera on a quadcopter"),
        _brief("drone aerial imagery", "multispectral camera with one lens per band"),
        "band_misalignment",
        "Bayer sensor",
    ),
    (
        _brief("retinal fundus photography"),
        _brief("retinal OCT", "spectral-domain optical coherence tomography B-scans"),
        "ultrasound_speckle",
        "incoherent flash",
    ),
    (
        _brief("textile inspection", "monochrome industrial camera above the web"),
        _brief("textile inspection", "RGB industrial camera above the web"),
        "white_balance",
        "monochrome",
    ),
    (
        _brief("abdominal CT", "multi-detector CT scanners, axial slices"),
        _brief("chest x-ray", "portable bedside radiographs"),
        "perspective",
        "tomographic slice",
    ),
]


@pytest.mark.parametrize(("ruled", "allowed", "primitive", "quote"), CONTEXTS)
def test_the_brief_rules_out_what_its_capture_cannot_show(
    ruled: DomainBrief, allowed: DomainBrief, primitive: str, quote: str
) -> None:
    assert primitive not in {s.name for s in plan_from_brief(ruled).specs}
    verdict = _verdict(primitive, ruled)
    assert not verdict.realistic and verdict.score < 0.1
    # the reason quotes the chain fact (issue 12) or the domain's objection
    assert any(quote in r or "ruled out by the chain" in r for r in verdict.reasons), verdict.reasons
    assert domain_for(allowed)[0].entry(primitive) is not None  # the same domain keeps it otherwise


def test_a_downward_track_camera_plan_names_what_was_ruled_out() -> None:
    brief = _brief(
        "railway track inspection",
        "downward-looking monochrome cameras under the car body, LED strobes",
        ["high-speed motion", "sunlight leaking under the train", "rain"],
        n=8,
    )
    plan = plan_from_brief(brief)
    names = {s.name for s in plan.specs}
    assert not names & {"sun_flare", "fog", "rain", "low_light", "white_balance", "zoom_blur"}
    assert "Ruled out by what the brief says" in plan.notes and "sun_flare" in plan.notes
    assert all(critique(spec, brief).realistic for spec in plan.specs)


@pytest.mark.parametrize(
    ("text", "condition"),
    [
        ("pages fed crooked by the document feeder", "skew"),
        ("store lighting colour casts", "color_cast"),
        ("varying probe pressure and angle", "probe_pressure"),
        ("dust on the camera optics", "dust"),
        ("dark corners from the dermatoscope's circular field", "dark_corners"),
        ("small pupils give dark, unevenly lit images", "poor_lighting"),
    ],
)
def test_new_deployment_conditions_are_recognised(text: str, condition: str) -> None:
    assert condition in KB.recognise_conditions([text])


@pytest.mark.parametrize(
    ("brief", "primitive"),
    [
        (_brief("scanned documents", conditions=["pages fed crooked by the feeder"], n=1), "scan_skew"),
        (_brief("retail product photos", conditions=["store lighting colour casts"], n=1), "white_balance"),
        (_brief("breast ultrasound", conditions=["varying probe pressure"], n=1), "elastic"),
        (_brief("retinal fundus photography", conditions=["dust on the camera optics"], n=1), "dirty_lens"),
    ],
)
def test_a_named_condition_brings_its_primitive_into_a_small_plan(brief: DomainBrief, primitive: str) -> None:
    assert [s.name for s in plan_from_brief(brief).specs] == [primitive]


def test_brief_text_covers_every_free_text_field() -> None:
    brief = DomainBrief(domain="A_b", description="C", imaging_setup="D", deployment_conditions=["E", "F"])
    assert brief_text(brief) == "a b ; c ; d ; e ; f"


def test_a_contextual_objection_may_override_a_suitable_entry_but_a_plain_one_may_not(tmp_path: Path) -> None:
    text = KNOWLEDGE_PATH.read_text()
    assert load_knowledge(KNOWLEDGE_PATH).domain("rail").entry("sun_flare") is not None
    old = "      - primitive: sun_flare\n        when: *under_car\n"
    plain = text.replace(old, "      - primitive: sun_flare\n", 1)
    bad = tmp_path / "kb.yaml"
    bad.write_text(plain)
    with pytest.raises(UserInputError, match="sun_flare' is listed as both suitable and unsuitable"):
        load_knowledge(bad)
