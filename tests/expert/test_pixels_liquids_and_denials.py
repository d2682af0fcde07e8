"""Conditions read from how users describe them: struck or stuck pixels are impulse noise or dead pixels,
a platform in orbit that wobbles smears its picture, a cloudy liquid is turbid (not the sky's clouds), a
denied rest is a movement, a camera that cannot focus is defocus, and a polished surface throws glare."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from robustlens.errors import UserInputError
from robustlens.expert.chain import infer_chain
from robustlens.expert.knowledge import Knowledge, load_knowledge
from robustlens.expert.planner import plan_from_brief
from robustlens.schemas import DomainBrief
from tests.expert.planned import planned_names as _names


def _conditions(brief: DomainBrief) -> tuple[set[str], list[str]]:
    facts = infer_chain(brief)
    return set(facts.condition_names()), list(facts.ruled_out)


def test_radiation_hits_and_line_noise_are_single_struck_pixels() -> None:
    probe = DomainBrief(
        domain="deep-space probe imaging",
        description="Classify comet surface patches as dust, ice or rock.",
        imaging_setup="A narrow-angle camera on a probe flying past the comet nucleus.",
        deployment_conditions=["cosmic rays leave single bright pixels in long exposures"],
    )
    assert "pixel_hits" in _conditions(probe)[0]
    names = _names(probe)
    assert {"impulse_noise", "dead_pixels"} & set(names), names
    fax = DomainBrief(
        domain="insurance claims by fax",
        imaging_setup="Claim forms arrive by fax and are stored as black-and-white TIFF pages.",
        deployment_conditions=["a noisy phone line sprinkles stray black specks over the page"],
    )
    assert "pixel_hits" in _conditions(fax)[0]
    assert "impulse_noise" in _names(fax)
    # a likeness to "pixels" is no struck pixel: the condition is read only from its own words
    fine = DomainBrief(
        domain="brain MRI",
        imaging_setup="A 3 T scanner at high in-plane resolution.",
        deployment_conditions=["the pixels are very fine, so the images are noisy"],
    )
    assert "pixel_hits" not in _conditions(fine)[0]


def test_a_platform_in_orbit_that_wobbles_smears_its_picture_and_a_steady_one_does_not() -> None:
    wobbly = DomainBrief(
        domain="Earth observation smallsat",
        imaging_setup="A smallsat in low Earth orbit looks straight down at the ground.",
        deployment_conditions=["reaction wheels jitter during the exposure"],
    )
    assert "motion_blur" in _names(wobbly)
    steady = DomainBrief(
        domain="Earth observation smallsat",
        imaging_setup="A smallsat in low Earth orbit looks straight down at the ground.",
        deployment_conditions=["thin cloud over the coast"],
    )
    assert "motion_blur" not in _names(steady)


def test_a_cloudy_liquid_is_turbid_and_veils_the_view() -> None:
    bladder = DomainBrief(
        domain="cystoscopy",
        imaging_setup="A flexible cystoscope inside the bladder, recorded as video.",
        deployment_conditions=["the irrigation fluid gets cloudy with debris"],
    )
    conditions, _ = _conditions(bladder)
    assert "water" in conditions and "clouds" not in conditions, conditions
    assert "contrast" in _names(bladder)
    sky = DomainBrief(
        domain="lake monitoring",
        imaging_setup="A shore camera looks across the lake to the hills and the sky.",
        deployment_conditions=["the sky over the lake is cloudy most afternoons"],
    )
    assert "clouds" in _conditions(sky)[0]


def test_a_denied_rest_is_a_movement_not_a_denial() -> None:
    ct = DomainBrief(
        domain="chest CT",
        imaging_setup="A multi-slice CT scanner.",
        deployment_conditions=["elderly patients often can't hold their breath for the whole scan"],
    )
    conditions, ruled_out = _conditions(ct)
    assert "patient_motion" in conditions and "patient_motion" not in ruled_out, (conditions, ruled_out)
    assert {"motion_blur", "elastic"} & set(_names(ct))
    calm = DomainBrief(
        domain="chest CT",
        imaging_setup="A multi-slice CT scanner.",
        deployment_conditions=["no patient motion: every scan is a short breath-hold"],
    )
    assert "patient_motion" in _conditions(calm)[1]


def test_a_camera_that_cannot_focus_is_defocus_and_a_polished_part_throws_glare() -> None:
    label = DomainBrief(
        domain="wine label reader app",
        imaging_setup="Phone photos of bottle labels.",
        deployment_conditions=["the phone struggles to focus on the curved bottle"],
    )
    assert "focus_drift" in _conditions(label)[0]
    assert {"defocus_blur", "gaussian_blur"} & set(_names(label))
    bearing = DomainBrief(
        domain="bearing race inspection",
        imaging_setup="A machine-vision camera over the grinding line with a bar light.",
        deployment_conditions=["polished races throw the bar light back into the lens"],
    )
    assert "glare" in _conditions(bearing)[0]


def test_faded_print_is_read_in_either_word_order() -> None:
    tag = DomainBrief(
        domain="laundry tag reader",
        imaging_setup="Phone photos of sewn-in tags.",
        deployment_conditions=["the print faded after years of washing"],
    )
    assert "faded_print" in _conditions(tag)[0]
    assert "ink_fading" in _names(tag)


def test_words_only_must_name_known_conditions(tmp_path: Path) -> None:
    data = load_knowledge().model_dump()
    data["words_only"] = ["faded_print", "no_such_condition"]
    with pytest.raises(ValueError, match="words_only: unknown condition 'no_such_condition'"):
        Knowledge.model_validate(data)
    path = tmp_path / "knowledge.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(UserInputError, match="no_such_condition"):
        load_knowledge(path)


def test_room_light_does_not_reach_a_picture_made_of_sound() -> None:
    cart = DomainBrief(
        domain="bedside lung ultrasound",
        imaging_setup="A portable ultrasound cart at the bedside; the probe sits on the chest.",
        deployment_conditions=["the ward is kept dark at night", "the probe slips when patients cough"],
    )
    conditions, _ = _conditions(cart)
    assert not conditions & {"night", "poor_lighting"}, conditions
    assert {"motion", "patient_motion"} & conditions, conditions
    # the same words about a camera are a dark picture
    ward = DomainBrief(
        domain="ward fall detection",
        imaging_setup="A ceiling camera over the bed.",
        deployment_conditions=["the ward is kept dark at night"],
    )
    assert {"night", "poor_lighting"} & _conditions(ward)[0]


def test_unseen_conditions_are_known_conditions() -> None:
    from robustlens.expert.cues import load_cues

    known = set(load_knowledge().conditions)
    for fact, conditions in load_cues()["unseen"].items():
        assert set(conditions) <= known, (fact, set(conditions) - known)


def test_a_3d_printers_print_is_an_object_not_ink_on_paper() -> None:
    farm = DomainBrief(
        domain="additive manufacturing cell",
        description="Is the part on the build plate complete, warped or detached?",
        imaging_setup="A webcam inside each filament printer's enclosure.",
        deployment_conditions=["the printed part is small against the bed", "the enclosure light is dim"],
    )
    facts = infer_chain(farm)
    assert "print" not in facts.processing, facts.processing
    assert not {"halftone", "ink_fading", "bleed_through"} & set(_names(farm))
    # a printed form is still ink on paper
    form = DomainBrief(
        domain="tax form intake",
        imaging_setup="Printed forms photographed with a phone.",
        deployment_conditions=["creased pages"],
    )
    assert "print" in infer_chain(form).processing


def test_a_misted_window_veils_the_view_and_headlights_are_glare_not_the_sun() -> None:
    booth = DomainBrief(
        domain="carcass chiller inspection",
        imaging_setup="A fixed camera behind a glass port in a cold room.",
        deployment_conditions=["a film of condensation covers the port when the door opens"],
    )
    conditions, _ = _conditions(booth)
    assert "misted" in conditions, conditions
    assert {"glass_blur", "contrast"} & set(_names(booth))
    road = DomainBrief(
        domain="wildlife road crossing",
        imaging_setup="A pole camera looks along the road to the horizon.",
        deployment_conditions=["long winter nights", "oncoming headlights shine into the lens"],
    )
    assert "glare" in _names(road)


def test_a_plan_says_which_named_conditions_its_budget_left_out() -> None:
    many = DomainBrief(
        domain="quarry conveyor camera",
        imaging_setup="A camera over the rock conveyor in an open-pit quarry.",
        deployment_conditions=[
            "rock dust settles on the camera window",
            "the conveyor frame shakes",
            "harsh midday sun",
            "rain showers",
            "long shadows in the evening",
        ],
        budget={"max_corruptions": 2},
    )
    notes = plan_from_brief(many).notes
    assert "left out for the budget of 2" in notes, notes
    roomy = many.model_copy(update={"budget": many.budget.model_copy(update={"max_corruptions": 8})})
    assert "left out for the budget" not in plan_from_brief(roomy).notes


def test_a_hyphenated_example_needs_its_words_side_by_side_and_sprinters_move() -> None:
    from robustlens.expert.phrases import match_phrases

    examples = {"backlight": ["back-lit"]}
    assert not match_phrases(["wet tissue throws reflections back from the light"], examples, threshold=1.01)
    assert match_phrases(["a back-lit doorway"], examples, threshold=1.01)
    finish = DomainBrief(
        domain="race finish camera",
        imaging_setup="A camera on the finish gantry.",
        deployment_conditions=["runners sprint through the frame"],
    )
    assert "motion" in _conditions(finish)[0]
    assert "motion_blur" in _names(finish)
