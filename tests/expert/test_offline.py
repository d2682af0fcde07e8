"""The offline expert: knowledge base, domain matcher, planner, rule critic and questionnaire.

The knowledge base is data, so most tests run over all of it (as the corruption tests run over the
whole registry): a new domain gets the same checks without a new test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from robustlens.corruptions import FAMILIES, REGISTRY, compile_plan
from robustlens.errors import UserInputError
from robustlens.expert.critic import critique
from robustlens.expert.knowledge import GENERIC, KNOWLEDGE_PATH, Domain, load_knowledge, match_domain
from robustlens.expert.planner import analyse, capped_ladder, plan_from_brief
from robustlens.expert.questionnaire import (
    QUESTIONS,
    apply_answer,
    brief_from_answers,
    next_question,
    run_interview,
)
from robustlens.schemas import Budget, CorruptionSpec, DomainBrief, PrimitiveCall

KB = load_knowledge()
DOMAINS = [d.name for d in KB.domains]


def _brief(domain: str, conditions: list[str] | None = None, n: int = 8, **kw: object) -> DomainBrief:
    return DomainBrief(
        domain=domain, deployment_conditions=conditions or [], budget=Budget(max_corruptions=n), **kw
    )


def _title_brief(d: Domain, n: int = 64) -> DomainBrief:
    return _brief(d.title, n=n)


def _spec(primitive: str, **ladder: list[float]) -> CorruptionSpec:
    return CorruptionSpec(name="planted", recipe=[PrimitiveCall(name=primitive, ladder=ladder)])


# --------------------------------------------------------------------------- knowledge base


def test_knowledge_base_loads_and_names_only_registered_primitives() -> None:
    for d in KB.domains:
        for s in d.suitable:
            assert s.primitive in REGISTRY, (d.name, s.primitive)
            assert set(s.conditions) <= set(d.conditions) <= set(KB.conditions)
        for u in d.unsuitable:
            assert (u.primitive in REGISTRY) if u.primitive else (u.family in FAMILIES), (d.name, u)


def test_required_domains_are_covered() -> None:
    required = {"mri", "xray_ct", "ultrasound", "histopathology", "dermatology", "endoscopy", "microscopy"}
    required |= {"driving", "rail", "aerial", "satellite", "manufacturing", "documents", "retail"}
    required |= {"agriculture", "surveillance", "underwater", GENERIC}
    assert required <= set(DOMAINS)


@pytest.mark.parametrize("name", DOMAINS)
def test_every_domain_is_broad_enough(name: str) -> None:
    d = KB.domain(name)
    assert len(d.suitable) >= 5
    assert len(d.families()) >= 3
    assert all(1 <= s.max_severity <= 5 and s.priority in (1, 2, 3) for s in d.suitable)


@pytest.mark.parametrize("name", DOMAINS)
def test_a_domain_is_recognised_from_its_own_title(name: str) -> None:
    d = KB.domain(name)
    assert match_domain(_title_brief(d))[0].name == name


def test_a_typo_in_the_knowledge_base_fails_loudly(tmp_path: Path) -> None:
    text = KNOWLEDGE_PATH.read_text().replace("primitive: mri_bias_field", "primitive: mri_bias_fiel")
    bad = tmp_path / "kb.yaml"
    bad.write_text(text)
    with pytest.raises(UserInputError, match=r"mri_bias_fiel.*Did you mean: mri_bias_field"):
        load_knowledge(bad)


def test_a_primitive_cannot_be_both_suitable_and_unsuitable(tmp_path: Path) -> None:
    text = KNOWLEDGE_PATH.read_text().replace(
        "      - primitive: vignetting\n        why: there is no camera lens",
        "      - primitive: mri_ghosting\n        why: there is no camera lens",
        1,
    )
    bad = tmp_path / "kb.yaml"
    bad.write_text(text)
    with pytest.raises(UserInputError, match="both suitable and unsuitable"):
        load_knowledge(bad)


# --------------------------------------------------------------------------- domain matching


@pytest.mark.parametrize(
    ("brief", "expected"),
    [
        (_brief("knee MRI in a radiology ward"), "mri"),
        (_brief("dashcam on delivery vans"), "driving"),
        (_brief("scanned invoices"), "documents"),
        (_brief("Sentinel-2 crop monitoring"), "satellite"),
        (_brief("chest x-ray triage"), "xray_ct"),
        (_brief("CT of the abdomen"), "xray_ct"),
        (_brief("point-of-care thyroid ultrasound"), "ultrasound"),
        (_brief("H&E whole-slide images of lymph nodes"), "histopathology"),
        (_brief("quadcopter inspection of power lines"), "aerial"),
        (_brief("fabric defects on a textile line"), "manufacturing"),
        (_brief("textile_line"), "manufacturing"),
        (_brief("supermarket shelf photos taken by phone"), "retail"),
        (_brief("smartphone photos of moles"), "dermatology"),
        (_brief("CCTV in a parking garage at night"), "surveillance"),
        (_brief("coral reef survey by ROV"), "underwater"),
        (_brief("fluorescence microscopy of HeLa cells"), "microscopy"),
        (_brief("histology slides under a microscope"), "histopathology"),
        (_brief("railway track inspection from a train-mounted camera"), "rail"),
        (_brief("colonoscopy polyp detection"), "endoscopy"),
        (_brief("weed detection from a tractor-mounted camera in wheat fields"), "agriculture"),
        (
            _brief("quality audit", imaging_setup="line-scan camera above a loom weaving fabric"),
            "manufacturing",
        ),
        (_brief("our project", description="Classify land cover in Landsat scenes"), "satellite"),
    ],
)
def test_match_domain(brief: DomainBrief, expected: str) -> None:
    domain, confidence = match_domain(brief)
    assert domain.name == expected
    assert 0 < confidence <= 1


@pytest.mark.parametrize("text", ["zxqv blorf", "pictures of things", ""])
def test_match_domain_falls_back_to_generic(text: str) -> None:
    domain, confidence = match_domain(_brief(text))
    assert (domain.name, confidence) == (GENERIC, 0.0)


# --------------------------------------------------------------------------- planner


def test_plan_is_deterministic_and_compiles() -> None:
    brief = _brief("dashcam on delivery vans", ["night", "heavy rain"], seed=7)
    first, second = plan_from_brief(brief), plan_from_brief(brief.model_copy(deep=True))
    assert first.to_json() == second.to_json()
    assert set(compile_plan(first)) == {s.name for s in first.specs}
    assert first.planner == "offline-expert" and first.seed == 7
    assert first.severities == brief.budget.severities
    assert all(s.source == "offline" and s.rationale for s in first.specs)
    assert "driving" in first.notes and "night" in first.notes


@pytest.mark.parametrize("budget", [1, 3, 8, 64])
def test_plan_respects_max_corruptions(budget: int) -> None:
    plan = plan_from_brief(_brief("scanned invoices", n=budget))
    assert len(plan.specs) == min(budget, len(analyse(_brief("scanned invoices")).candidates))


def test_capped_ladders_match_physical_limits() -> None:
    xray = plan_from_brief(_brief("chest x-ray", n=64))
    rotation = compile_plan(xray)["rotation"].params_at(5.0)[0]
    assert rotation.angle == pytest.approx(4.0)  # registry severity 2
    assert capped_ladder(REGISTRY["rotation"], "angle", 2.0) == pytest.approx([0.8, 1.6, 2.4, 3.2, 4.0])


def test_named_conditions_come_first() -> None:
    plan = plan_from_brief(_brief("dashcam on delivery vans", ["night", "rain"], n=2))
    assert {s.name for s in plan.specs} == {"low_light", "rain"}
    plan = plan_from_brief(_brief("dashcam on delivery vans", ["heavy snowfall", "foggy mornings"], n=2))
    assert {s.name for s in plan.specs} == {"snow", "fog"}
    plan = plan_from_brief(_brief("knee MRI", ["patient motion"], n=1))
    assert [s.name for s in plan.specs] == ["mri_ghosting"]
    assert "patient_motion" in plan.specs[0].rationale


# --------------------------------------------------------------------------- critic


@pytest.mark.parametrize(
    ("brief", "primitive", "quote"),
    [
        (_brief("knee MRI in a radiology ward"), "rain", "scanner bore"),
        (_brief("fluorescence microscopy of HeLa cells"), "snow", "microscope stage"),
        (_brief("scanned invoices"), "sun_flare", "indoors"),
        (_brief("chest x-ray triage"), "white_balance", "single-channel"),
        (_brief("Sentinel-2 crop monitoring"), "water_droplets", "orbit"),
        (_brief("fabric defects on a textile line"), "fog", "indoors"),
    ],
)
def test_critic_rejects_planted_unrealistic_specs(brief: DomainBrief, primitive: str, quote: str) -> None:
    verdict = critique(_spec(primitive), brief)
    assert not verdict.realistic
    assert verdict.critic == "offline-rules"
    assert verdict.score < 0.5
    # reasons now come from the chain facts (behaviour changed on purpose: no domain whitelist)
    assert any(primitive in r and ("impossible" in r or "unrealistic" in r) for r in verdict.reasons)


def test_critic_rejects_a_suitable_primitive_beyond_its_physical_bound() -> None:
    docs = _brief("scanned invoices")
    verdict = critique(_spec("scan_skew"), docs)  # default ladder reaches 7 degrees; plausible up to 2.5
    assert not verdict.realistic
    assert "angle = 7" in verdict.reasons[0]
    capped = capped_ladder(REGISTRY["scan_skew"], "angle", 2.0)
    assert critique(_spec("scan_skew", angle=capped), docs).realistic
    # direction-aware: JPEG quality falls with severity, so a lower quality is the stronger one
    histo = _brief("H&E whole-slide images")
    assert not critique(_spec("jpeg", quality=[40, 30, 20, 10, 5]), histo).realistic
    assert critique(_spec("jpeg", quality=[60, 40, 30, 20, 15]), histo).realistic


def test_critic_reasons_from_the_chain_not_a_whitelist() -> None:
    """Behaviour changed on purpose (issue 12): no domain whitelist and no "plausible by default"."""
    verdict = critique(_spec("zoom_blur"), _brief("knee MRI"))
    assert not verdict.realistic and "modality=tomographic" in verdict.reasons[0]
    verdict = critique(_spec("zoom_blur"), _brief("pictures of things"))  # nothing moves: no zoom blur
    assert not verdict.realistic and "no link of the brief's imaging chain produces" in verdict.reasons[0]
    noise = critique(_spec("gaussian_noise"), _brief("pictures of things"))  # produced, but the generic
    assert "stronger than is physically plausible" in noise.reasons[0]  # fallback caps its severity


def test_critic_rejects_a_recipe_with_one_unrealistic_step() -> None:
    spec = CorruptionSpec(
        name="mixed", recipe=[PrimitiveCall(name="mri_bias_field"), PrimitiveCall(name="sun_flare")]
    )
    verdict = critique(spec, _brief("brain MRI"))
    assert not verdict.realistic and len(verdict.reasons) == 2


def test_suitable_primitive_overrides_an_unsuitable_family() -> None:
    docs = _brief("phone scans of receipts")
    shadow = REGISTRY["shadow"]
    capped = {p: capped_ladder(shadow, p, 3.0) for p in shadow.ladder}
    assert critique(_spec("shadow", **capped), docs).realistic
    assert not critique(_spec("shadow"), docs).realistic  # the default ladder is too strong for a page
    assert not critique(_spec("snow"), docs).realistic


@pytest.mark.parametrize("name", DOMAINS)
def test_critic_passes_the_experts_own_plans(name: str) -> None:
    brief = _title_brief(KB.domain(name))
    for spec in plan_from_brief(brief).specs:
        verdict = critique(spec, brief)
        assert verdict.realistic, (spec.name, verdict.reasons)
        assert 0.7 <= verdict.score <= 1.0


def test_critic_scores_stay_in_range_for_every_primitive() -> None:
    for name in ("mri", "driving", GENERIC):
        brief = _title_brief(KB.domain(name))
        for primitive in REGISTRY:
            verdict = critique(_spec(primitive), brief)
            assert 0.0 <= verdict.score <= 1.0 and verdict.reasons


# --------------------------------------------------------------------------- questionnaire

SCRIPT = {
    "domain": "dashcam on delivery vans",
    "description": "Detect pedestrians and cyclists in front of the van.",
    "imaging_setup": "1080p windshield camera, wide-angle lens",
    "deployment_conditions": "night, rain; glare from headlights",
    "image_source": "/data/dashcam",
    "labels": "pedestrian, cyclist, empty road",
    "models": "openclip:ViT-B-32/laion2b_s34b_b79k, hf:openai/clip-vit-base-patch32",
    "reference_model": "none",
    "max_corruptions": "6",
    "severities": "1-3, 4.5",
    "max_images": "",
    "seed": "11",
}


def test_questionnaire_covers_the_brief() -> None:
    fields = [q.field for q in QUESTIONS]
    assert fields[0] == "domain"
    assert set(fields) == set(SCRIPT)


def test_scripted_interview_gives_a_valid_brief() -> None:
    asked: list[str] = []

    def ask(question):  # type: ignore[no-untyped-def]
        asked.append(question.field)
        if question.field == "deployment_conditions":
            assert "Typical for Driving" in question.help
        return SCRIPT[question.field]

    brief = run_interview(ask)
    assert asked == [q.field for q in QUESTIONS]
    assert brief.deployment_conditions == ["night", "rain", "glare from headlights"]
    assert brief.labels == ["pedestrian", "cyclist", "empty road"]
    assert brief.models == ["openclip:ViT-B-32/laion2b_s34b_b79k", "hf:openai/clip-vit-base-patch32"]
    assert brief.reference_model is None
    assert brief.image_source is not None and brief.image_source.kind == "class_folders"
    assert brief.budget.max_corruptions == 6 and brief.budget.max_images is None
    assert brief.budget.severities == [1.0, 2.0, 3.0, 4.5]
    assert brief.seed == 11
    plan = plan_from_brief(brief)
    assert len(plan.specs) == 6 and {"low_light", "rain", "glare"} <= {s.name for s in plan.specs}


def test_step_by_step_interview_with_defaults_and_label_free_audit() -> None:
    answers: dict[str, object] = {}
    replies = {
        "domain": "scanned invoices",
        "labels": "none",
        "models": "demo:textile",
        "image_source": "demo:natural",
    }
    while (question := next_question(answers)) is not None:
        answers = apply_answer(answers, question, replies.get(question.field, ""))
    brief = brief_from_answers(answers)
    assert brief.labels is None and brief.deployment_conditions == []
    assert brief.image_source is not None and (brief.image_source.kind, brief.image_source.path) == (
        "demo",
        "natural",
    )
    assert brief.budget.max_corruptions == 8 and brief.budget.severities == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert brief.seed == 0 and brief.description == ""


def _question(field: str):  # type: ignore[no-untyped-def]
    return next(q for q in QUESTIONS if q.field == field)


@pytest.mark.parametrize(
    ("field", "text", "message"),
    [
        ("severities", "9", "outside 0..5"),
        ("severities", "1, two", "not a number"),
        ("severities", "5-1", "Expected numbers"),
        ("max_corruptions", "0", "outside 1..64"),
        ("max_corruptions", "2.5", "not a whole number"),
        ("max_corruptions", "none", "not a number"),
        ("seed", "-1", "outside"),
        ("labels", "cat", "at least two"),
        ("labels", "cat, cat", "repeated: cat"),
        ("models", "", "answer is required"),
        ("models", "clip-vit-b32", "Unrecognised model id"),
        ("reference_model", "demo:textile, demo:textile", "one model id"),
        ("domain", "  ", "answer is required"),
    ],
)
def test_bad_answers_raise_clear_errors(field: str, text: str, message: str) -> None:
    with pytest.raises(UserInputError, match=message) as info:
        apply_answer({}, _question(field), text)
    if "Unrecognised" not in message:
        assert info.value.field == field


def test_apply_answer_does_not_mutate_its_input() -> None:
    answers = {"domain": "knee MRI"}
    updated = apply_answer(answers, _question("deployment_conditions"), "")
    assert answers == {"domain": "knee MRI"} and updated["deployment_conditions"] == []


def test_incomplete_brief_names_the_missing_fields() -> None:
    with pytest.raises(UserInputError, match="labels, models") as info:
        brief_from_answers({"domain": "knee MRI"})
    assert info.value.field == "labels"
