"""What the imaging setup says carries the camera moves the camera when it moves: "a camera bolted to
the shearer" and then "the shearer shakes hard" is camera shake, where the same clause under a camera
on the gallery wall is a moving subject. Briefs written for these tests, not taken from scenarios."""

from __future__ import annotations

import pytest

from robustlens.expert.chain import infer_chain
from robustlens.expert.movers import movers, setup_carriers
from robustlens.expert.words import stem
from tests.expert.briefs import make_brief


@pytest.mark.parametrize(
    ("setup", "carrier"),
    [
        ("A flameproof camera housing bolted to the cutter arm, lit by its floodlights", "arm"),
        ("A small camera on the inside of the bin lid snaps a photo when it shuts", "lid"),
        ("Each surveyor carries a compact camera in a splash-proof case", "surveyor"),
        ("An action camera held by a kayaker films the bank", "kayaker"),
        ("The webcam is screwed to the top of the flagpole", "flagpole"),
    ],
)
def test_the_setup_names_what_carries_the_camera(setup: str, carrier: str) -> None:
    assert stem(carrier) in setup_carriers(setup)


def test_a_camera_that_only_looks_at_something_is_not_carried_by_it() -> None:
    carriers = setup_carriers("A fixed camera above the conveyor looks down at the trays, lit by an LED bar")
    assert stem("conveyor") not in carriers and stem("tray") not in carriers


def test_the_carrier_moving_moves_the_camera_and_the_same_words_elsewhere_move_the_subject() -> None:
    shake = ["the cutter arm shakes hard while it works"]
    carried = infer_chain(make_brief("A sealed camera bolted to the cutter arm, with its own lamps.", shake))
    watched = infer_chain(make_brief("A sealed camera on the gallery wall watches the cutter arm.", shake))
    assert "camera" in carried.moving, carried.moving
    assert "camera" not in watched.moving and "subject" in watched.moving, watched.moving


def test_a_carrier_pushed_about_moves_the_camera() -> None:
    carriers = setup_carriers("A compact camera held by a kayaker, JPEG stills")
    clause = "waves push the kayaker sideways"
    assert movers([clause], carriers=carriers) == [("camera", clause)]
    assert movers([clause]) == [("subject", clause)]  # without the setup, the kayaker is what the camera sees
