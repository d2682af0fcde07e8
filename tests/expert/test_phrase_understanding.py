"""General reading fixes of the offline expert (issue 12): decoy compounds, stemming, negation inside a
hyphenated name, setup-only vehicle words, recapture, lay hand shake, noise under a full budget, mild
wording and rationales written from the brief's own chain (never from a domain's canned text)."""

from __future__ import annotations

import pytest

from robustlens.expert import phrases
from robustlens.expert.chain import infer_chain
from robustlens.expert.physics import load_physics
from robustlens.expert.planner import analyse, cap_of, plan_from_brief
from robustlens.schemas import Budget, DomainBrief


def _brief(**fields: object) -> DomainBrief:
    return DomainBrief(**{"domain": "image tagging", **fields})


def test_decoy_compounds_set_no_chain_fact() -> None:
    facts = infer_chain(
        _brief(
            description="the web page warns hikers",
            imaging_setup="outdoor network camera on a hut roof, sends a photo by phone signal",
        )
    )
    assert "page" not in facts.scene and "phone" not in facts.sensor, facts


def test_verb_forms_do_not_become_nouns() -> None:
    facts = infer_chain(
        _brief(
            description="a waiter carries the plate out",
            imaging_setup="camera above the kitchen counter",
            deployment_conditions=["plates slid in fast"],
        )
    )
    assert "slide" not in facts.scene and facts.modality == "photograph", facts
    assert "platform" not in facts.moving and "subject" in facts.moving, facts


def test_a_vehicle_word_carries_the_camera_only_in_the_imaging_setup() -> None:
    paperwork = infer_chain(
        _brief(description="classify boat paperwork", imaging_setup="flatbed scanner in the office")
    )
    assert "platform" not in paperwork.moving, paperwork
    onboard = infer_chain(_brief(imaging_setup="camera on a boat looking at the waves"))
    assert "platform" in onboard.moving, onboard


def test_a_hyphenated_no_is_a_name_not_a_negation() -> None:
    facts = infer_chain(_brief(imaging_setup="trail camera with a no-glow infrared flash at night"))
    assert "flash" in facts.light, facts


def test_a_phone_photo_of_an_xray_film_is_a_photograph() -> None:
    film = _brief(imaging_setup="chest X-ray film on a lightbox, photographed with a smartphone")
    assert infer_chain(film).modality == "photograph"
    assert "perspective" in analyse(film).candidates  # a recapture can be taken at an angle
    smear = _brief(imaging_setup="light microscope, a smartphone held to the eyepiece")
    assert infer_chain(smear).modality == "microscopy"


def test_a_shaking_hand_is_handheld_motion_not_machine_vibration() -> None:
    brief = _brief(
        imaging_setup="phone camera indoors", deployment_conditions=["the camera shakes in my hand"]
    )
    assert "handheld" in infer_chain(brief).condition_names()
    names = [s.name for s in plan_from_brief(brief).specs]
    assert "motion_blur" in names and "vibration_blur" not in names, names


def test_a_full_budget_of_named_conditions_keeps_sensor_noise() -> None:
    conditions = ["fast belt", "dust", "the machine vibrates", "shiny foil", "crumpled foil", "glare",
                  "uneven lighting", "fingerprints"]  # fmt: skip
    brief = _brief(
        imaging_setup="industrial camera over a conveyor",
        deployment_conditions=conditions,
        budget=Budget(max_corruptions=8),
    )
    links = [load_physics().primitives[s.name].link for s in plan_from_brief(brief).specs]
    assert "noise" in links, links


def test_mild_wording_caps_the_strongest_level() -> None:
    brief = _brief(imaging_setup="phone camera", deployment_conditions=["pages shot slightly off-square"])
    a = analyse(brief)
    assert "perspective" in a.candidates and cap_of(a, "perspective") <= 2.0
    tilted = analyse(_brief(imaging_setup="phone camera", deployment_conditions=["pages shot off-square"]))
    assert cap_of(tilted, "perspective") > 2.0


def test_rationales_come_from_the_briefs_own_chain_not_a_domains_text() -> None:
    brief = _brief(domain="retail shelf photos", imaging_setup="phone camera in the store aisle")
    for spec in plan_from_brief(brief).specs:
        assert "Known for" not in spec.rationale, spec.rationale


def test_the_lexical_fallback_still_reads_lay_wording(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(phrases, "semantic_available", lambda: False)
    from robustlens.expert.planner import _analyse

    _analyse.cache_clear()
    try:
        brief = _brief(imaging_setup="phone camera", deployment_conditions=["the camera gets greasy"])
        facts = infer_chain(brief)
        named = set(facts.condition_names())  # greasy lens: "dust", or "smear" (a film) once split
        assert named & {"dust", "smear"} and all(m.method == "lexical" for m in facts.conditions)
        assert "dirty_lens" in [s.name for s in plan_from_brief(brief).specs]
    finally:
        _analyse.cache_clear()


def test_a_flash_drive_is_no_light_source() -> None:
    facts = infer_chain(
        _brief(
            imaging_setup="a fixed camera over the counter under ceiling lamps",
            deployment_conditions=["recordings are copied to a USB flash drive every night"],
        )
    )
    assert "flash" not in facts.light and "artificial" in facts.light, facts
