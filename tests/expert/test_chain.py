"""Imaging-chain facts from short, varied briefs (issue 12): lay words, distractors, negations, overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from robustlens.errors import UserInputError
from robustlens.expert.chain import infer_chain, load_cues
from robustlens.schemas import DomainBrief


def _brief(domain: str, setup: str = "", conditions: list[str] | None = None, **kw: object) -> DomainBrief:
    return DomainBrief(domain=domain, imaging_setup=setup, deployment_conditions=conditions or [], **kw)


def test_lay_words_give_the_chain_with_the_briefs_own_words() -> None:
    facts = infer_chain(
        _brief("stock counting app", "people snap shelves with their phone", ["dim stockrooms"])
    )
    assert facts.has("sensor", "phone") and facts.has("moving", "camera") and facts.modality == "photograph"
    phone = next(e for e in facts.evidence if e.fact == "sensor=phone")
    assert phone.phrases and all(p in "people snap shelves with their phone" for p in phone.phrases)


def test_a_water_distractor_does_not_make_an_indoor_office_underwater() -> None:
    facts = infer_chain(_brief("dock office badge camera", "indoor desk camera in an office over the water"))
    assert "underwater" not in facts.scene and facts.has("scene", "indoor")
    assert facts.sky_in_view is False  # indoors, nothing says the sky is in view


def test_an_endoscope_implies_the_body_and_rules_out_the_sky() -> None:
    facts = infer_chain(_brief("colonoscopy polyp detection", "video colonoscope"))
    assert facts.scene == ["in_body"] and facts.sky_in_view is False
    assert facts.has("sensor", "endoscope") and facts.has("moving", "camera")


def test_negation_removes_a_fact_and_rules_out_a_condition() -> None:
    facts = infer_chain(_brief("yard camera", "camera outdoors", ["no rain", "fog in winter"]))
    assert "rain" in facts.ruled_out and "rain" not in facts.condition_names()
    assert "fog" in facts.condition_names()
    never = infer_chain(_brief("parcel sorting", "never outdoors, an industrial camera above the belt"))
    assert "outdoor" not in never.scene


def test_user_overrides_win_and_bad_ones_name_the_field() -> None:
    brief = _brief("yard camera", "camera outdoors", chain={"scene": ["indoor"], "sky_in_view": False})
    facts = infer_chain(brief)
    assert facts.scene == ["indoor"] and facts.sky_in_view is False
    assert any(e.fact == "scene=indoor" and e.method == "user" for e in facts.evidence)
    with pytest.raises(UserInputError) as err:
        infer_chain(_brief("x", chain={"scene": ["moon"]}))
    assert err.value.field == "chain.scene"
    with pytest.raises(UserInputError) as err:
        infer_chain(_brief("x", chain={"sceen": ["indoor"]}))
    assert err.value.field == "chain.sceen" and "scene" in str(err.value)


def test_a_broken_cue_file_names_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "chain.yaml"
    bad.write_text("facts:\n  scene:\n    moon: [lunar]\n", encoding="utf-8")
    with pytest.raises(UserInputError) as err:
        load_cues(str(bad))
    assert err.value.field == "facts.scene.moon"
    bad.write_text(
        "facts: {scene: {indoor: [room]}}\nhomonyms: {scene=slide: {words: [slides]}}\n", encoding="utf-8"
    )
    with pytest.raises(UserInputError) as err:
        load_cues(str(bad))
    assert err.value.field == "homonyms.scene=slide"
