"""A plan keeps what the chain makes unavoidable and nothing its sensor cannot produce (issue 12).

Briefs are written for these tests (not taken from the eval scenarios); the chain facts are given as
the user's confirmed chain so that the tests pin planning, apart from how facts are read.
"""

from __future__ import annotations

from robustlens.expert.critic import critique
from robustlens.expert.physics import load_physics
from robustlens.expert.planner import analyse, plan_from_brief
from robustlens.schemas import Budget, CorruptionSpec, DomainBrief, PrimitiveCall
from tests.expert.planned import planned_names as _names

COLOUR = {"chromatic_aberration", "white_balance", "saturate", "stain_variation", "iso_noise"}
VISIBLE_LIGHT = {"low_light", "underexposure", "shot_noise"}

SWITCHGEAR = DomainBrief(
    domain="switchgear hot-spot inspection",
    description="Flag overheating breakers and cable lugs in electrical cabinets.",
    imaging_setup="An electrician holds an infrared imager up to open cabinets in a plant room.",
    deployment_conditions=["cabinet doors cast reflections of warm bodies", "lugs are sometimes tiny"],
    chain={"sensor": ["thermal"], "scene": ["indoor"], "moving": ["camera"]},
)


def _spec(name: str) -> CorruptionSpec:
    return CorruptionSpec(name="planted", recipe=[PrimitiveCall(name=name)])


def test_a_thermal_sensor_gets_no_colour_or_visible_light_effects_and_keeps_its_detector_faults() -> None:
    names = _names(SWITCHGEAR)
    assert not (COLOUR | VISIBLE_LIGHT) & set(names), names
    assert {"dead_pixels", "downscale"} <= set(names), names  # microbolometer: dead elements, coarse grid
    assert "gaussian_noise" in names  # its noise is the detector's own, not photon or colour noise
    dead = next(s for s in plan_from_brief(SWITCHGEAR).specs if s.name == "dead_pixels")
    assert "Unavoidable in this chain: sensor=thermal" in dead.rationale, dead.rationale
    for name in COLOUR | VISIBLE_LIGHT:
        verdict = critique(_spec(name), SWITCHGEAR)
        assert not verdict.realistic and "thermal" in " ".join(verdict.reasons), (name, verdict.reasons)


def test_what_the_chain_makes_unavoidable_is_kept_before_link_defaults() -> None:
    # five named conditions and the sensor's noise fill most of a budget of seven; a video codec's
    # blocks are unavoidable, so they keep the last slot even though the named thumbnails already put a
    # processing primitive in the plan (a link default would stop there)
    brief = DomainBrief(
        domain="tram stop passenger counting",
        description="Count people waiting at tram stops.",
        imaging_setup="A pole camera at each stop streams to the depot.",
        deployment_conditions=[
            "tiny thumbnails are all the depot keeps",
            "drizzle",
            "headlights at dusk",
            "grime on the housing",
        ],
        chain={"sensor": ["cctv"], "scene": ["outdoor"], "processing": ["video_codec"], "sky_in_view": False},
        budget=Budget(max_corruptions=7),
    )
    names = _names(brief)
    assert len(names) == 7 and "jpeg" in names, names
    assert "downscale" in names  # a low resolution is modelled by resizing, not by colour fringes
    assert "chromatic_aberration" not in names
    physics = load_physics().primitives
    served = {c for n in names for c in physics[n].serves}
    assert {"rain", "glare", "dust", "low_resolution"} <= served, names  # named conditions still first


def test_a_microscope_always_plans_focus() -> None:
    # a depth of field of micrometres: focus drifts whatever the user lists
    brief = DomainBrief(
        domain="pollen counting",
        description="Identify pollen grains on sticky tape slides from air samplers.",
        imaging_setup="A brightfield microscope with a camera, 40x objective.",
        deployment_conditions=[
            "bubbles and grit trapped under the cover glass",
            "the halogen bulb is dimmer on one side",
            "the mounting medium yellows over the season",
            "grains overlap in thick samples",
            "the slide is placed upside down now and then",
        ],
        chain={"sensor": ["microscope"], "scene": ["slide"], "modality": "microscopy"},
    )
    a = analyse(brief)
    assert "defocus_blur" in a.candidates
    assert "defocus_blur" in _names(brief)


def test_implied_effects_do_not_depend_on_wording_or_order() -> None:
    reworded = SWITCHGEAR.model_copy(
        update={
            "imaging_setup": "Handheld IR thermography of open electrical panels.",
            "deployment_conditions": list(reversed(SWITCHGEAR.deployment_conditions)),
        }
    )
    first, second = set(_names(SWITCHGEAR)), set(_names(reworded))
    assert {"dead_pixels", "downscale"} <= first & second


def test_a_tiny_budget_goes_to_what_the_user_listed_before_the_chain_s_signature() -> None:
    """Two specs for a phone photo of skin (scene in_body: its signature is a fouled lens) model two of
    the conditions the user listed, not the signature; from NOISE_BUDGET specs on the signature returns."""
    brief = DomainBrief(
        domain="home eczema photos",
        description="Parents photograph their child's skin for a nurse to triage.",
        imaging_setup="The family's own smartphone indoors; the app uploads JPEGs.",
        deployment_conditions=["evenings under warm kitchen bulbs", "the flash glares off greasy cream"],
        budget=Budget(max_corruptions=2),
    )
    assert [s.name for s in plan_from_brief(brief).specs] == ["white_balance", "glare"]
    bigger = brief.model_copy(update={"budget": Budget(max_corruptions=6)})
    assert "dirty_lens" in [s.name for s in plan_from_brief(bigger).specs]
