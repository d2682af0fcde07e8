"""Physical facts the lead added in session 7 of issue 12: a stain needs a stained specimen, a
microsecond exposure freezes motion, a capitalised name at a clause's start is a name, and named
effects outside a page (crumpled goods, heat shimmer, lamp flare) reach the primitives that model them.

Briefs are written for these tests in new words (not taken from the eval scenarios).
"""

from __future__ import annotations

from robustlens.expert.chain import infer_chain
from robustlens.expert.critic import critique
from robustlens.expert.planner import analyse, cap_of
from robustlens.schemas import CorruptionSpec, DomainBrief, PrimitiveCall
from tests.expert.planned import planned_names as _names


def _spec(name: str) -> CorruptionSpec:
    return CorruptionSpec(name="planted", recipe=[PrimitiveCall(name=name)])


POLLEN = DomainBrief(
    domain="airborne pollen counting",
    description="Count birch, grass and ragweed pollen grains caught on sticky tape from a spore trap.",
    imaging_setup="The tape is mounted on a glass slide and imaged under a brightfield microscope; "
    "the grains are not treated with anything.",
    deployment_conditions=["grains lie slightly out of the focal plane", "dust and soot on the tape"],
)
SPUTUM = DomainBrief(
    domain="tuberculosis smear reading",
    description="Find acid-fast bacilli in Ziehl-Neelsen stained sputum smears.",
    imaging_setup="A microscope camera photographs each smear at 100x under oil.",
    deployment_conditions=["staining strength differs between clinics", "thick smear areas are out of focus"],
)


def test_stain_variation_needs_a_stained_specimen() -> None:
    assert "specimen=stained" not in {e.fact for e in infer_chain(POLLEN).evidence}
    assert "stain_variation" not in _names(POLLEN)
    verdict = critique(_spec("stain_variation"), POLLEN)
    assert not verdict.realistic, verdict.reasons  # no link of an unstained chain produces it
    facts = infer_chain(SPUTUM)
    assert facts.specimen == ["stained"], facts.evidence
    assert critique(_spec("stain_variation"), SPUTUM).realistic
    assert "stain_variation" in _names(SPUTUM)


def test_a_microsecond_exposure_bounds_motion_blur_to_a_short_streak() -> None:
    base = dict(
        domain="nozzle droplet inspection",
        description="Check the size and shape of droplets leaving an inkjet print head.",
        deployment_conditions=["the droplets fly fast", "a faint streak behind the fastest drops"],
    )
    frozen = DomainBrief(
        **base,
        imaging_setup="A camera looks at the nozzle plate; a 2 microsecond LED flash lights each frame.",
    )
    plain = DomainBrief(**base, imaging_setup="A camera looks at the nozzle plate under a steady LED panel.")
    assert cap_of(analyse(frozen), "motion_blur") <= 1.0
    assert cap_of(analyse(plain), "motion_blur") > 1.0
    assert "motion_blur" in _names(frozen)  # still planned: the streak the user named, only short


def test_a_name_at_the_start_of_a_clause_sets_no_weather() -> None:
    brief = DomainBrief(
        domain="coach driver monitoring",
        description="Detect phone use by coach drivers.",
        imaging_setup="A dashboard camera faces the driver's seat inside the cab.",
        deployment_conditions=["Rain Hill coaches", "sunglasses reflect the cabin lights"],
    )
    facts = infer_chain(brief)
    assert "rain" not in facts.condition_names(), facts.conditions  # the route, not the weather
    assert "rain" not in _names(brief)


def test_crumpled_goods_heat_shimmer_and_lamp_flare_reach_their_primitives() -> None:
    bags = DomainBrief(
        domain="returned clothing sorting",
        description="Read the size tag on returned garments in plastic bags.",
        imaging_setup="An industrial camera above a conveyor in a returns warehouse.",
        deployment_conditions=["bags arrive crumpled so the tags fold"],
    )
    assert "grid_distortion" in _names(bags)
    border = DomainBrief(
        domain="desert border surveillance",
        description="Spot vehicles far out on open desert tracks.",
        imaging_setup="A long-lens camera on a tower looks out across the sand.",
        deployment_conditions=[
            "heat shimmer over the sand at midday",
            "floodlights flare in the lens after dark",
        ],
    )
    facts = infer_chain(border)
    assert {"shimmer", "glare"} <= set(facts.condition_names()), facts.conditions
    names = _names(border)
    # air wavering with heat displaces the picture locally (elastic): no sheet's grid warp, and no
    # frosted window either (that smear took the shimmer's place on a runway with rain on the windows)
    assert "elastic" in names and not {"grid_distortion", "glass_blur"} & set(names), names
    assert "glare" in names, names
