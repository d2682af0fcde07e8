"""Readings of the brief that decide a fact by what the words mean together: a lossless format rules
lossy compression out, a camera "outside the window" of a room is behind glass (indoors), and
show-through needs a page. Briefs written for these tests."""

from __future__ import annotations

from robustlens.expert.chain import infer_chain
from robustlens.expert.facts import ChainFacts
from robustlens.expert.physics import load_physics, producing
from robustlens.schemas import DomainBrief
from tests.expert.briefs import make_brief


def _brief(setup: str, conditions: list[str]) -> DomainBrief:
    return make_brief(
        setup,
        conditions,
        domain="quality control",
        description="Classify each item as pass or fail.",
        labels=["pass", "fail"],
    )


def test_a_lossless_format_sets_no_lossy_compression() -> None:
    setup = "Line camera over the belt; images kept as lossless PNG files."
    facts = infer_chain(_brief(setup, ["pages curl"]))
    assert "jpeg" not in facts.processing


def test_a_camera_outside_the_window_of_a_room_is_indoors() -> None:
    facts = infer_chain(
        _brief(
            "The camera sits outside the window of the spray-paint cabin, looking in at the panels.",
            ["overspray mist in the cabin"],
        )
    )
    assert "outdoor" not in facts.scene


def test_show_through_needs_a_page() -> None:
    bleed = load_physics().primitives["bleed_through"]
    bags = ChainFacts(scene=["indoor"], modality="photograph")
    assert producing(bleed, bags, {"thin_paper"}) is None  # see-through bags are no thin paper
    pages = ChainFacts(scene=["page"], modality="photograph")
    assert producing(bleed, pages, {"thin_paper"}) is not None


def test_stored_uncompressed_sets_no_lossy_compression() -> None:
    facts = infer_chain(_brief("Overhead page camera. Stored uncompressed.", ["pages curl"]))
    assert "jpeg" not in facts.processing


def test_coherent_light_makes_speckle_possible() -> None:
    facts = infer_chain(_brief("A laser line profiler above the conveyor scans each plank.", ["bark dust"]))
    assert "laser" in facts.light
    speckle = load_physics().primitives["speckle_noise"]
    assert producing(speckle, facts, set()) is not None


def test_a_laser_printer_lights_nothing() -> None:
    facts = infer_chain(
        _brief("A webcam over the desk photographs labels from the laser printer.", ["toner smudges"])
    )
    assert "laser" not in facts.light
    assert producing(load_physics().primitives["speckle_noise"], facts, set()) is None


def test_water_on_the_lens_does_not_put_the_camera_underwater() -> None:
    for condition in ("condensation forms on the lens glass", "the optics get wet when it drizzles"):
        facts = infer_chain(_brief("A small camera module photographs the dial every hour.", [condition]))
        assert "underwater" not in facts.scene, condition


def test_a_plant_that_stands_somewhere_is_no_camera_stand() -> None:
    facts = infer_chain(
        _brief("People photograph the leaves with their phone wherever the plant stands.", ["shaky hands"])
    )
    assert "fixed_mount" not in {c.condition for c in facts.conditions}
    facts = infer_chain(_brief("A webcam mounted on a stand over the tray.", ["glare"]))
    assert "fixed_mount" in {c.condition for c in facts.conditions}


def test_words_that_only_look_like_a_place_or_a_page() -> None:
    """An airline's livery is no liver (no body), a booking no book, solder paste printed through a
    stencil is no printed page, and a ground vehicle's reversing camera is not flying, however like
    flying its load reads."""
    livery = infer_chain(
        _brief(
            "A rugged camera on the tug's rear frame; most aircraft are in Snowbird Airlines livery.",
            ["rain"],
        )
    )
    assert "in_body" not in livery.scene
    ferry = infer_chain(_brief("A camera on the ramp reads plates to match them to the bookings.", ["spray"]))
    assert "page" not in ferry.scene
    sorter = infer_chain(_brief("Two colour line cameras in a closed hood above a roller belt.", ["dust"]))
    assert "industrial_camera" in sorter.sensor
    paste = infer_chain(
        _brief("A colour camera above the stencil printer checks the paste print on each board.", ["glare"])
    )
    assert "print" not in paste.processing
    tug = DomainBrief(
        domain="plane-pushing tractor camera",
        description="See people behind the tractor that pushes planes back.",
        imaging_setup="A back-up camera on the tractor showing video in the cab.",
        deployment_conditions=["heavy rain showers"],
        labels=["person", "cone"],
    )
    facts = infer_chain(tug)
    assert "vehicle_camera" in facts.sensor
    assert "aerial" not in facts.scene and "orbit" not in facts.scene
