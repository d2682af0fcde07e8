"""A clause's own words decide what it names (issue 12): a clause that names its sensor lexically gets no
second sensor from a sentence-level likeness; a named camera's video "digitised" somewhere is no scanned
page; a satellite that only carries the pictures home is a radio link; a camera over what it images looks
down; a mono camera is mono whatever it is called; MRI and CT jargon names the modality."""

from __future__ import annotations

import pytest

from robustlens.evals.scorers import plan_primitives
from robustlens.expert.chain import infer_chain
from robustlens.expert.planner import plan_from_brief
from tests.expert.briefs import make_brief


def test_a_clause_that_names_its_sensor_gets_no_second_one() -> None:
    """'A small x-ray scanner that spins around the head' reads like an MRI magnet to a sentence model,
    but it says x-ray: no MRI ghosting or coil bias in the plan of a cone-beam CT."""
    brief = make_brief(
        "The patient sits in a small x-ray scanner that spins around the head; the computer makes slices.",
        ["people move their head while it spins"],
        domain="ear implant scan",
    )
    facts = infer_chain(brief)
    assert "xray" in facts.sensor and "mri" not in facts.sensor
    prims = plan_primitives(plan_from_brief(brief))
    assert not {"mri_ghosting", "mri_bias_field"} & set(prims)


@pytest.mark.parametrize(
    ("setup", "sensor"),
    [
        ("Seated cone-beam CT of the temporal bone.", "ct"),
        ("Clinical 1.5 T system, anterior phased-array receive coil, cine SSFP frames.", "mri"),
        ("Congenital CMR service, short-axis stacks.", "mri"),
    ],
)
def test_scanner_jargon_names_the_modality(setup: str, sensor: str) -> None:
    assert sensor in infer_chain(make_brief(setup, ["noise"], domain="radiology")).sensor


def test_video_digitised_in_a_control_room_is_no_scanned_page() -> None:
    brief = make_brief(
        "Cooled CCD camera in the firing hood; composite video over coax, digitised in the CCR.",
        ["analogue transmission noise"],
        domain="rotary kiln flame monitoring",
    )
    facts = infer_chain(brief)
    assert "page" not in facts.scene and "scanner" not in facts.sensor and facts.modality != "scan"
    # a brief about scanned pages still says so
    pages = make_brief("Invoices go through a sheet-fed document scanner at 200 dpi.", ["skewed pages"])
    assert "scanner" in infer_chain(pages).sensor


def test_a_satellite_link_is_no_satellite_camera() -> None:
    brief = make_brief(
        "Portable linear-array transducer on a tablet; lossy JPEG upload over a satellite broadband uplink.",
        ["aggressive lossy compression for low bandwidth"],
        domain="tele-ultrasound",
    )
    facts = infer_chain(brief)
    assert "satellite" not in facts.sensor and "orbit" not in facts.scene
    assert "bandwidth_limited" in facts.processing


def test_a_camera_over_what_it_images_sees_no_sky() -> None:
    """Daylight leaking in at the belt entry is light on the belt, not the sun in the frame."""
    brief = make_brief(
        "Colour line cameras in a hood over a roller belt, white LEDs.",
        ["daylight leak at belt entry", "belt vibration"],
        domain="potato sorting",
    )
    assert infer_chain(brief).sky_in_view is False
    assert "sun_flare" not in plan_primitives(plan_from_brief(brief))


@pytest.mark.parametrize("camera", ["Mono stereo navcams on the mast", "a mono hazcam under the deck"])
def test_a_mono_camera_by_any_name_is_mono(camera: str) -> None:
    assert infer_chain(make_brief(camera + ".", ["dust on the lens"])).colour == ["mono"]
    # "mono" before a word that is no imaging device stays silent
    assert infer_chain(make_brief("Stereo cameras with mono audio.", ["dust"])).colour == []
