"""The scenario files and the critic scoring (the offline expert's acceptance test and the rule critic's
planted test are in test_acceptance_even.py and test_acceptance_odd.py, two halves so two test workers
share them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from robustlens.corruptions import FAMILIES, REGISTRY
from robustlens.errors import UserInputError
from robustlens.evals import evaluate_critic, load_scenarios, planted_cases, select_scenarios
from robustlens.schemas import CriticVerdict

SCENARIOS = Path(__file__).resolve().parents[2] / "evals" / "scenarios"
# the acceptance test is the development split's: the held-out split is never tuned against
ALL = [s for s in load_scenarios(SCENARIOS) if s.split != "heldout"]
REQUIRED_AREAS = {  # the domains the issue asks for -> the scenario covering each
    "MRI": "mri_brain",
    "CT/X-ray": "chest_xray",
    "ultrasound": "breast_ultrasound",
    "histopathology": "histopathology",
    "dermatology/endoscopy": "dermoscopy",
    "driving": "dashcam",
    "rail": "rail_track",
    "drones": "drone_aerial",
    "satellite": "satellite_landcover",
    "manufacturing": "textile_line",
    "documents": "scanned_documents",
    "retail/handheld": "retail_handheld",
    "agriculture": "crop_disease",
    "underwater": "underwater_reef",
    "microscopy": "fluorescence_microscopy",
    "surveillance": "cctv_surveillance",
}


def test_scenarios_load_and_cover_the_required_domains() -> None:
    names = [s.name for s in ALL]
    assert len(ALL) >= 15 and len(set(names)) == len(names)
    assert set(REQUIRED_AREAS.values()) <= set(names)
    for s in ALL:
        assert s.brief.models == ["demo:textile"]
        assert 6 <= s.brief.budget.max_corruptions <= 8
        assert s.rules.must_include_any and s.rules.must_not, s.name


def test_every_named_primitive_or_family_exists() -> None:
    known = set(REGISTRY) | set(FAMILIES)
    for s in ALL:
        named = {n for g in s.rules.must_include_any for n in g} | set(s.rules.must_not)
        assert named <= known, (s.name, named - known)
        assert set(s.rules.severity_bounds) <= set(REGISTRY), s.name
        assert all(why.strip() for why in s.rules.must_not.values())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: x\nbrief: {domain: d}\nrules: {must_not: {rainn: wet}}", "did you mean: rain"),
        (
            "name: x\nbrief: {domain: d}\nrules: {must_include_any: [[rain]], must_not: {weather: dry}}",
            "never",
        ),
        ("name: x\nbrief: {domain: d}\nrules: {severity_bounds: {rotation: 9}}", "(0, 5]"),
        ("name: x\nbrief: {domain: d, budgett: 3}", "budgett"),
        ("name: x\nbrief: [unclosed", "not valid YAML"),
        ("- just a list", "must hold a mapping"),
        ("name: Bad Name\nbrief: {domain: d}", "lowercase"),
    ],
)
def test_invalid_scenario_files_are_clear_user_errors(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "broken.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(UserInputError) as exc:
        load_scenarios(tmp_path)
    assert "broken.yaml" in exc.value.what
    assert message.lower() in exc.value.message().lower()


def test_missing_empty_duplicate_and_unknown_selection(tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match="does not exist"):
        load_scenarios(tmp_path / "nope")
    with pytest.raises(UserInputError, match="No scenario files"):
        load_scenarios(tmp_path)
    for f in ("a.yaml", "b.yaml"):
        (tmp_path / f).write_text("name: same\nbrief: {domain: d}\n", encoding="utf-8")
    with pytest.raises(UserInputError, match="repeated: same"):
        load_scenarios(tmp_path)
    with pytest.raises(UserInputError, match="mri_brain"):
        select_scenarios(ALL, ["mri_brian"])
    assert [s.name for s in select_scenarios(ALL, ["dashcam", "mri_brain"])] == ["dashcam", "mri_brain"]


def test_planted_cases_for_mri() -> None:
    mri = select_scenarios(ALL, ["mri_brain"])[0]
    cases = {c.spec.name: c for c in planted_cases(mri)}
    assert cases["planted_rain"].unrealistic and cases["planted_rain"].kind == "forbidden"  # weather family
    assert cases["planted_stain_variation"].unrealistic
    assert cases["too_strong_rotation"].unrealistic and cases["too_strong_rotation"].kind == "too_strong"
    assert not cases["realistic_mri_bias_field"].unrealistic
    assert len(planted_cases(mri, all_family_members=True)) > len(cases)


def test_critic_scoring_with_oracle_and_permissive_critics() -> None:
    truth = {(c.scenario, c.spec.name): c.unrealistic for s in ALL for c in planted_cases(s)}
    scenario_of = {c.spec.name: c.scenario for s in ALL for c in planted_cases(s)}

    def oracle(spec, brief):  # type: ignore[no-untyped-def]
        name = next(s.name for s in ALL if s.brief == brief)
        return CriticVerdict(realistic=not truth[(name, spec.name)], score=0.5)

    def yes_man(spec, brief):  # type: ignore[no-untyped-def]
        return CriticVerdict(realistic=True, score=1.0)

    perfect = evaluate_critic(ALL, oracle)
    assert perfect.precision == 1.0 and perfect.recall == 1.0 and scenario_of
    permissive = evaluate_critic(ALL, yes_man)
    assert permissive.recall == 0.0 and permissive.precision is None
    assert permissive.false_negatives == sum(truth.values())
