"""Places read from general words: body passages a scope enters are in the body; enclosed and underground
places are indoors (so no sky); a picture gallery or library is no room; a camera under water sees no
weather, water on the optics means air, and a product name sets no physics. Briefs written for these tests."""

from __future__ import annotations

import pytest

from robustlens.expert.chain import infer_chain
from robustlens.expert.critic import critique
from robustlens.expert.planner import plan_from_brief
from robustlens.schemas import CorruptionSpec, PrimitiveCall
from tests.expert.briefs import make_brief


@pytest.mark.parametrize(
    ("setup", "scene"),
    [
        ("A clip-on scope on the phone looks down the ear canal at the eardrum.", "in_body"),
        ("A flexible scope is passed through the nostril to view the vocal cords.", "in_body"),
        ("The meters sit in a dark cellar; people photograph them with the phone's torch.", "indoor"),
        ("A camera on a cable is lowered down the mine shaft.", "indoor"),
        ("Fixed cameras in the windowless museum rooms count visitors.", "indoor"),
    ],
)
def test_general_place_words_set_the_scene(setup: str, scene: str) -> None:
    facts = infer_chain(make_brief(setup, ["dim light"]))
    assert scene in facts.scene, facts.scene
    assert facts.sky_in_view is False


def test_a_word_with_a_second_sense_needs_its_world() -> None:
    """ "Slides" are microscope slides only beside a microscope's world; a camera on a roof is outdoors."""
    snow = infer_chain(
        make_brief(
            "A webcam on the roof of the warden's hut looks across at the gully.",
            ["wet snow slides in spring"],
            description="Spot new slides and cornices on the gully.",
        )
    )
    assert "slide" not in snow.scene and "indoor" not in snow.scene and snow.modality == "photograph"
    slide = infer_chain(make_brief("Stained slides are imaged under the microscope at 40x.", ["dust"]))
    assert "slide" in slide.scene and slide.modality == "microscopy"


@pytest.mark.parametrize(
    "setup",
    [
        "Users pick a picture from the phone gallery and the app sorts it.",
        "Images come from the photo library.",
    ],
)
def test_a_picture_gallery_or_library_is_no_room(setup: str) -> None:
    assert "indoor" not in infer_chain(make_brief(setup, ["blur"])).scene


def test_a_camera_under_water_sees_no_rain_and_no_drops_whatever_the_river_outside() -> None:
    brief = make_brief(
        "A camera behind a submerged glass panel looks across the river channel at passing eels.",
        ["after heavy rain upstream the water turns brown", "algae grow on the panel", "eels swim fast"],
    )
    facts = infer_chain(brief)
    assert "underwater" in facts.scene
    planned = {s.name for s in plan_from_brief(brief).specs}
    assert not planned & {"rain", "water_droplets", "spatter"}, planned
    assert not critique(CorruptionSpec(name="planted", recipe=[PrimitiveCall(name="rain")]), brief).realistic


def test_water_on_the_optics_places_the_camera_in_air() -> None:
    facts = infer_chain(make_brief("Mast cameras watch the runway.", ["precipitation and wet optics"]))
    assert "underwater" not in facts.scene


@pytest.mark.parametrize(
    ("setup", "absent"),
    [
        ("A pole camera photographs the lane. It runs on the vendor's X-Ray series controller.", "xray"),
        ("Shop cameras film the tills; the Fog app stores the clips.", "fog"),
        ("A pole camera photographs the lane; its maker's product range is called X-Ray.", "xray"),
        ("A slit lamp camera at the eye clinic of Rain camp photographs the cornea.", "rain"),
    ],
)
def test_a_product_name_sets_no_physics(setup: str, absent: str) -> None:
    facts = infer_chain(make_brief(setup, ["dim light"]))
    assert absent not in facts.sensor
    assert all(absent not in c.condition for c in facts.conditions)


@pytest.mark.parametrize(
    ("setup", "sky"),
    [
        # looking up at a thing sees it from below, not the sky
        ("Cameras under a glass strip in the floor look up at the passing tyres.", False),
        ("A fisheye camera on the roof looks up at the night sky.", True),
        # a windscreen is the camera's window only when the camera is behind it
        ("A post camera at the gate reads the sticker on each car's windscreen.", False),
        ("A camera behind the windscreen of the van films the road.", True),
    ],
)
def test_sky_in_view_follows_where_the_camera_looks(setup: str, sky: bool) -> None:
    assert (infer_chain(make_brief(setup, ["rain"])).sky_in_view is True) is sky


def test_a_car_park_under_the_building_has_no_sky() -> None:
    brief = make_brief(
        "A camera at the gate of the car park under our building reads plates.", ["headlights"]
    )
    facts = infer_chain(brief)
    assert facts.sky_in_view is False
    assert "sun_flare" not in {s.name for s in plan_from_brief(brief).specs}
