"""Readings that keep each word in its own world: a denial after the fact's word, a camera that works only
in the dark (no sun, no shadow), decoy words (a PNG is no JPEG, a nose print no printed page), a tilt read
only where a tilt is named, light and dust re-read as a whole, a ring of LEDs that only looks like a
dermatoscope, a device of another stage of the work, and conditions physics now plans."""

from __future__ import annotations

from pathlib import Path

import pytest

from robustlens.errors import UserInputError
from robustlens.expert.chain import infer_chain
from robustlens.expert.cues import load_cues
from robustlens.expert.planner import plan_from_brief
from robustlens.expert.quantities import tilt
from robustlens.schemas import DomainBrief
from tests.expert.planned import planned_names as _names


def _conditions(brief: DomainBrief) -> set[str]:
    return set(infer_chain(brief).condition_names())


# 1. a denial whose negation follows the fact's word


def test_a_clause_that_only_denies_the_sky_is_a_denial() -> None:
    road = DomainBrief(
        domain="pothole survey",
        imaging_setup="A van camera looks steeply down at the asphalt, so the sky is never in the picture.",
        deployment_conditions=["wet roads after rain"],
    )
    assert infer_chain(road).sky_in_view is not True


# 2. a camera that works only in the dark sees no sun


def test_a_darkness_triggered_outdoor_camera_has_no_sun_and_no_shadow() -> None:
    trap = DomainBrief(
        domain="badger sett monitoring",
        imaging_setup="A darkness-triggered outdoor camera on a post in the woods watches the sett entrance.",
        deployment_conditions=["rain on some nights"],
        budget={"max_corruptions": 64},  # room for every primitive the chain can produce
    )
    facts = infer_chain(trap)
    assert "outdoor" in facts.scene, facts.scene
    assert "sun" not in facts.light, facts.light
    assert "shadow" not in _names(trap)


def test_an_outdoor_camera_recording_only_at_night_plans_no_shadow() -> None:
    # a budget large enough for every primitive the chain can produce, so only physics leaves one out
    night = DomainBrief(
        domain="fox den monitoring",
        imaging_setup="An outdoor camera on a fence records only at night.",
        deployment_conditions=["drizzle"],
        budget={"max_corruptions": 64},
    )
    facts = infer_chain(night)
    assert "outdoor" in facts.scene and "sun" not in facts.light, (facts.scene, facts.light)
    assert "shadow" not in _names(night)
    # the same camera in daylight keeps the sun and its shadows
    day = DomainBrief(
        domain="fox den monitoring",
        imaging_setup="An outdoor camera on a fence records in bright sun all day.",
        deployment_conditions=["drizzle"],
        budget={"max_corruptions": 64},
    )
    assert "sun" in infer_chain(day).light
    assert "shadow" in _names(day)


# 3. decoy words


def test_decoy_words_set_no_processing_stage() -> None:
    png = DomainBrief(
        domain="leaf disease app",
        imaging_setup="A phone photo of a leaf is saved as a PNG and uploaded to the server.",
        deployment_conditions=["harsh midday light"],
    )
    assert "jpeg" not in infer_chain(png).processing
    nose = DomainBrief(
        domain="petting zoo visitor counter",
        imaging_setup="A small camera at goat height by the fence.",
        deployment_conditions=["nose prints on the camera from curious goats"],
    )
    assert "print" not in infer_chain(nose).processing
    assert "smear" in _conditions(nose), _conditions(nose)
    mp4 = DomainBrief(
        domain="parking lot occupancy",
        imaging_setup="A pole camera over the lot, stored as MPEG-4.",
        deployment_conditions=["evening light"],
    )
    assert "video_codec" in infer_chain(mp4).processing


def test_decoy_words_set_no_sensor_light_or_motion() -> None:
    ir = DomainBrief(
        domain="backyard wildlife camera",
        imaging_setup="A garden camera; the camera switches to infrared at night.",
        deployment_conditions=["hedgehogs come out after dark"],
    )
    assert "thermal" not in infer_chain(ir).sensor
    sign = DomainBrief(
        domain="roadworks traffic counter",
        imaging_setup="A camera on a trailer beside a flashing warning sign.",
        deployment_conditions=["heavy traffic at rush hour"],
    )
    assert "flash" not in infer_chain(sign).light
    colony = DomainBrief(
        domain="seabird colony census",
        imaging_setup="A fixed camera on the cliff top overlooks the nesting ledges.",
        deployment_conditions=["sea fog drifts over the colony"],
    )
    conditions = _conditions(colony)
    assert "motion" not in conditions and "fog" in conditions, conditions


# 4. a tilt is read only where a tilt is named


@pytest.mark.parametrize(
    ("text", "degrees"),
    [
        ("skew up to 5 deg", 5.0),
        ("pages crooked by 3°", 3.0),
        ("skewed 2.5 degs", 2.5),
        ("a 160-degree lens", None),
        ("camera at 45 degrees", None),
    ],
)
def test_tilt_reads_degrees_only_beside_a_tilt_word(text: str, degrees: float | None) -> None:
    assert tilt(text) == (pytest.approx(degrees) if degrees is not None else None)


def test_a_stated_skew_caps_the_rotation_ladder() -> None:
    tickets = DomainBrief(
        domain="parking ticket reader",
        description="Read the plate number and time from printed parking tickets.",
        imaging_setup="Staff photograph each ticket with a phone; skew up to 5 deg.",
        deployment_conditions=["crumpled tickets"],
    )
    spec = next((s for s in plan_from_brief(tickets).specs if s.name == "rotation"), None)
    assert spec is not None, _names(tickets)
    angles = spec.recipe[0].ladder.get("angle")
    assert angles, spec.recipe[0].ladder
    assert max(abs(a) for a in angles) <= 5.0 + 1e-9, angles
    assert "a stated tilt of 5 degrees" in spec.rationale, spec.rationale


# 5. items re-read as a whole


def test_a_bending_fisheye_is_wide_angle_and_chalk_on_a_dome_is_dust() -> None:
    gym = DomainBrief(
        domain="climbing gym occupancy",
        imaging_setup="Ceiling cameras over the bouldering walls.",
        deployment_conditions=["the fisheye lens bends the wall edges", "chalk settles on the camera domes"],
    )
    conditions = _conditions(gym)
    assert "wide_angle" in conditions and "warp" not in conditions, conditions
    assert "dust" in conditions, conditions


def test_bright_beside_dark_is_uneven_light_not_night() -> None:
    def read(item: str) -> set[str]:
        return _conditions(
            DomainBrief(
                domain="care home bed monitoring",
                imaging_setup="A wall camera with infrared lamps watches the bed.",
                deployment_conditions=[item],
            )
        )

    spots = read("some spots bright, some dark")
    assert "uneven_light" in spots and "night" not in spots, spots
    pillow = read("the IR lamps make the pillow much brighter than the foot of the bed")
    assert "uneven_light" in pillow, pillow
    ring = read("a dark ring around the picture")
    assert "uneven_light" in ring and "night" not in ring, ring


def test_one_bright_thing_clips_the_exposure() -> None:
    snow = DomainBrief(
        domain="ski lift queue counter",
        imaging_setup="A camera over the lift station.",
        deployment_conditions=["bright snow fools the exposure"],
    )
    assert "overexposed" in _conditions(snow), _conditions(snow)
    furnace = DomainBrief(
        domain="glass furnace monitoring",
        imaging_setup="A camera looks through a port at the burner.",
        deployment_conditions=["the flame is far brighter than everything else in the frame"],
    )
    conditions = _conditions(furnace)
    assert "overexposed" in conditions and "uneven_light" not in conditions, conditions


# 6. a likeness alone needs the fact's world


def test_a_ring_of_leds_round_a_pipe_camera_is_no_dermatoscope() -> None:
    for setup in (
        "A crawler pipe-inspection camera with a ring of white LEDs around the lens.",
        "A magnifying lens with a ring of white LEDs pressed against the pipe wall.",
    ):
        pipe = DomainBrief(
            domain="pipe inspection",
            imaging_setup=setup,
            deployment_conditions=["rust"],
        )
        facts = infer_chain(pipe)
        assert "dermatoscope" not in facts.sensor, (setup, facts.sensor)
        assert "in_body" not in facts.scene, (setup, facts.scene)
    # the same lens on a mole is a dermatoscope: its world is in the brief
    mole = DomainBrief(
        domain="mole checks",
        imaging_setup="A magnifying lens with a ring of white LEDs pressed against the skin over a mole.",
        deployment_conditions=["hair over the lesion"],
    )
    assert "dermatoscope" in infer_chain(mole).sensor


def test_a_homonym_needs_words_or_likeness(tmp_path: Path) -> None:
    bad = tmp_path / "chain.yaml"
    bad.write_text(
        "facts: {scene: {indoor: [room]}}\nhomonyms: {sensor=dermatoscope: {context: [skin]}}\n",
        encoding="utf-8",
    )
    with pytest.raises(UserInputError) as err:
        load_cues(str(bad))
    assert err.value.field == "homonyms.sensor=dermatoscope"
    # the same entry with `likeness: true` loads
    bad.write_text(
        "facts: {scene: {indoor: [room]}}\n"
        "homonyms: {sensor=dermatoscope: {likeness: true, context: [skin]}}\n",
        encoding="utf-8",
    )
    assert load_cues(str(bad))["homonyms"]["sensor=dermatoscope"]["likeness"] is True


# 7. a device of another stage of the work


@pytest.mark.parametrize(
    "description",
    [
        "Spot beet tops left on the roots before the load goes to the factory's X-ray stone detector.",
        "Flag badly topped beets so fewer tops reach the sugar factory and its X-ray stone detector.",
    ],
)
def test_a_device_the_description_names_for_another_stage_sets_no_sensor(description: str) -> None:
    harvester = DomainBrief(
        domain="sugar beet harvest",
        description=description,
        imaging_setup="A colour camera on the harvester looks at the beets on the cleaning belt.",
        deployment_conditions=["mud on the roots"],
    )
    facts = infer_chain(harvester)
    assert facts.modality == "photograph", facts.modality
    assert "xray" not in facts.sensor, facts.sensor


def test_an_xray_detector_named_in_the_setup_keeps_transmission() -> None:
    factory = DomainBrief(
        domain="sugar factory stone detection",
        description="Find stones among the beets before they reach the slicers.",
        imaging_setup="An X-ray stone detector images the beets on the intake belt.",
        deployment_conditions=["beets overlap on the belt"],
    )
    facts = infer_chain(factory)
    assert facts.modality == "transmission", facts.modality


# 8. conditions physics now plans


def test_a_named_cast_and_frost_on_a_slide_are_planned() -> None:
    reef = DomainBrief(
        domain="reef fish census",
        imaging_setup="An underwater camera on a reef frame.",
        deployment_conditions=["everything looks green-blue"],
        budget={"max_corruptions": 1},
    )
    assert "color_cast" in _conditions(reef)
    assert _names(reef) == ["white_balance"]
    cold = DomainBrief(
        domain="ice core microscopy",
        imaging_setup="A microscope in a cold lab images ice thin sections on glass slides.",
        deployment_conditions=["frost grows on the slide and the objective's front lens"],
    )
    assert infer_chain(cold).modality == "microscopy"
    assert "glass_blur" in _names(cold)


def test_an_image_intensifier_plans_its_dark_rim_and_pincushion_a_radiograph_does_not() -> None:
    fluoro = DomainBrief(
        domain="orthopaedic fluoroscopy",
        imaging_setup="A C-arm with an X-ray image intensifier for fluoroscopy.",
        deployment_conditions=[
            "the edge of the round field is darker than the centre",
            "pincushion distortion",
        ],
    )
    names = set(_names(fluoro))
    assert {"vignetting", "uneven_illumination"} & names, names
    assert "lens_distortion" in names, names
    chest = DomainBrief(
        domain="chest radiograph triage",
        imaging_setup="A digital chest radiograph taken on a flat-panel detector.",
        deployment_conditions=["patients are sometimes rotated"],
    )
    plain = set(_names(chest))
    assert not {"vignetting", "lens_distortion"} & plain, plain


def test_patients_who_flinch_blur_an_endoscopy() -> None:
    scope = DomainBrief(
        domain="nasal endoscopy",
        imaging_setup="A rigid endoscope in the nasal cavity.",
        deployment_conditions=["patients flinch or sneeze"],
        budget={"max_corruptions": 1},
    )
    # the named movement's own pick (a budget of one) is the blur of a moving picture
    assert "patient_motion" in _conditions(scope)
    assert _names(scope) == ["motion_blur"]


# 9. where the pictures go, a camera fixed in place, a misted window


def test_the_room_the_video_is_sent_to_is_not_the_cameras_scene() -> None:
    lock = DomainBrief(
        domain="canal lock boat counter",
        imaging_setup="A camera on the lock gate streams compressed H.264 video to the waterways office.",
        deployment_conditions=["rain"],
    )
    assert "indoor" not in infer_chain(lock).scene
    office = DomainBrief(
        domain="office occupancy counter",
        imaging_setup="A camera on the ceiling of the open-plan office counts desks in use.",
    )
    assert "indoor" in infer_chain(office).scene  # a camera in the office is indoors


def test_a_fixed_camera_is_no_platform_by_likeness() -> None:
    pole = DomainBrief(
        domain="wildlife road crossing",
        imaging_setup="A fixed roadside camera on a pole looks along the road.",
        deployment_conditions=["heavy snowfall"],
    )
    assert "platform" not in infer_chain(pole).moving


def test_a_window_that_steams_up_is_misted_not_dropped_on() -> None:
    oven = DomainBrief(
        domain="bakery loaf inspection",
        imaging_setup="A colour camera over the conveyor after the tunnel oven.",
        deployment_conditions=["steam from the oven mouth fogs the camera window"],
    )
    conditions = _conditions(oven)
    assert "misted" in conditions and "lens_water" not in conditions, conditions
    assert "in_body" not in infer_chain(oven).scene  # an oven's mouth is its opening
    drips = DomainBrief(
        domain="bakery loaf inspection",
        imaging_setup="A colour camera over the conveyor after the tunnel oven.",
        deployment_conditions=["steam fogs the window and leaves water drops on it"],
    )
    assert "lens_water" in _conditions(drips)
