"""Words of a body that name something else (an aircraft's skin, a fracture in an ice core, gear teeth)
put no scene in a body unless the brief is about a body; and a colour cast does not stand in for dim
light. Briefs written for these tests, not taken from scenarios."""

from __future__ import annotations

from robustlens.expert.chain import infer_chain
from tests.expert.briefs import make_brief
from tests.expert.planned import planned_names


def test_an_aircraft_skin_or_an_ice_fracture_is_no_body() -> None:
    wing = infer_chain(
        make_brief(
            "A camera on a crawler robot looks at the wing skin inside a maintenance hangar.",
            ["the crawler shakes over the rivet rows"],
            description="Classify patches of wing skin as dented, scratched or sound.",
        )
    )
    assert "in_body" not in wing.scene and "indoor" in wing.scene, wing.scene
    core = infer_chain(
        make_brief(
            "A line-scan camera on a carriage above a sawn rock core in the core store.",
            ["dust from the saw on the surface"],
            labels=["intact", "fracture", "vein"],
        )
    )
    assert "in_body" not in core.scene, core.scene


def test_skin_and_fractures_of_a_patient_are_still_a_body() -> None:
    clinic = infer_chain(
        make_brief(
            "A dermatoscope on a phone in the clinic.",
            ["patients' skin is oily"],
            description="Classify skin lesions of patients as benign or suspicious.",
        )
    )
    assert "in_body" in clinic.scene, clinic.scene


def test_dim_coloured_light_plans_both_a_colour_cast_and_a_dark_picture() -> None:
    studio = make_brief(
        "A wide-angle colour camera on the wall of a windowless dance studio, H.264 to a small box.",
        ["dancers move fast", "the studio dims the lights and switches on coloured LEDs"],
        domain="dance class counter",
    )
    names = set(planned_names(studio))
    assert {"white_balance", "saturate"} & names, names
    assert {"low_light", "underexposure"} & names, names
