"""Naming conditions precisely and planning from them (issue 12, dev-split tuning): one clause names one
condition unless a second is as direct, negation denies only what it precedes, the imaging setup's
optics count, and a domain prior that contradicts the chain is not used."""

from __future__ import annotations

from robustlens.expert.chain import infer_chain, match_conditions
from robustlens.expert.phrases import match_phrases, split_phrases
from robustlens.expert.planner import analyse, plan_from_brief
from robustlens.schemas import DomainBrief


def _brief(domain: str, setup: str = "", conditions: list[str] | None = None) -> DomainBrief:
    return DomainBrief(domain=domain, imaging_setup=setup, deployment_conditions=conditions or [])


def _named(conditions: list[str], setup: str = "") -> dict[str, list[str]]:
    named, _ = match_conditions(_brief("site camera", setup, conditions))
    out: dict[str, list[str]] = {}
    for m in named:
        out.setdefault(m.phrase, []).append(m.condition)
    return out


def test_a_one_word_condition_name_is_not_an_example_and_echoes_are_dropped() -> None:
    named = _named(["over the water", "dark corners", "yellow cast", "fogged lens"])
    assert "water" not in named.get("over the water", [])
    assert named["dark corners"] == ["dark_corners"]  # not also "dark" -> night
    assert named["yellow cast"] == ["color_cast"]  # not "yellowed" -> ageing
    assert named["fogged lens"] == ["misted"]  # a film of condensation on the glass
    assert _named(["fog"])["fog"] == ["fog"]  # no looser second guess (lens water) beside an exact hit
    both = _named(["noisy images on older tubes"])["noisy images on older tubes"]
    assert set(both) == {"low_snr", "aging"}  # two different words name two conditions


def test_a_negated_clause_rules_out_only_its_best_match() -> None:
    _, ruled_out = match_conditions(_brief("yard camera", "", ["no rain"]))
    assert ruled_out == ["rain"]
    facts = infer_chain(_brief("slide reader", "microscope", ["focus not quite right"]))
    assert "focus_drift" not in facts.ruled_out  # the cue negates "right", not "focus"


def test_a_hyphenated_example_needs_its_words_together() -> None:
    hits = match_phrases(["two LED lamps at the sides"], {"thin_paper": ["two-sided"]}, threshold=1.01)
    assert hits == []
    assert match_phrases(["two-sided pages"], {"thin_paper": ["two-sided"]}, threshold=1.01)


def test_parentheses_split_label_lists_from_the_text() -> None:
    assert "none" in split_phrases("classify defects (crack, none) in sewer video")
    facts = infer_chain(_brief("pipe inspection", "crawler camera", ["defects (crack, none) in sewer video"]))
    assert "video_codec" in facts.processing  # a label 'none' does not deny the video


def test_a_slash_names_two_things_and_numbers_alone_name_nothing() -> None:
    named = _named(["low sun/shadows", "130 km/h", "130 units"])
    assert set(named["low sun"]) == {"sun"} and named["shadows"] == ["shadow"]
    assert named["130 km/h"] == ["motion"]  # a stated speed: things move (its unit, not a guess)
    assert not any(p.startswith("130 units") for p in named)  # no semantic guess for a bare number


def test_the_setups_optics_and_backlight_reach_the_plan() -> None:
    brief = _brief(
        "front door camera",
        "a 160-degree fisheye lens by the front door, H.264 video over Wi-Fi",
        ["visitors backlit against the bright sky", "rain on the lens"],
    )
    names = [s.name for s in plan_from_brief(brief).specs]
    assert "lens_distortion" in names and "underexposure" in names and "water_droplets" in names


def test_a_domain_prior_that_objects_to_the_chains_own_physics_is_not_used() -> None:
    brief = _brief(
        "archive of scanned document pages",
        "brain MRI scanner in a hospital",
        ["people move their head in the magnet"],
    )
    a = analyse(brief)
    assert a.facts.has("sensor", "mri")
    if a.domain.name == "documents":  # the keyword prior says documents; the chain says MRI
        assert a.conflict is not None and not a.prior_ok
    names = [s.name for s in plan_from_brief(brief).specs]
    assert "mri_ghosting" in names  # motion in an MRI is ghosting, whatever the prior says
