"""The public eval suite's files: a development split and a held-out split, each scenario complete.

Issue 12 measures generalisation on a held-out split written before the planner changed, and
paraphrase consistency and routing on both splits, so every file must carry the parts those metrics
read (``expect_facts``, exactly three paraphrases) and rules a plan can actually meet within its
budget. No planning happens here: these are checks of the data, kept fast.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from robustlens.evals.scenarios import Rules, Scenario, load_scenario, members

ROOT = Path(__file__).resolve().parents[2] / "evals" / "scenarios"
SPLITS = {"dev": 30, "heldout": 20}  # split folder -> minimum number of scenarios
FILES = {split: sorted((ROOT / split).glob("*.yaml")) for split in SPLITS}
ALL = [(split, path, load_scenario(path)) for split, paths in FILES.items() for path in paths]
IDS = [f"{split}/{path.stem}" for split, path, _ in ALL]


def min_plan_size(rules: Rules) -> int | None:
    """The fewest allowed primitives that hit every must-include group (None: some group cannot be hit).

    Exact search (branch on the first group not yet hit); groups are few and small, so it is instant.
    """
    forbidden = set(rules.forbidden())
    groups = [{p for name in g for p in members(name)} - forbidden for g in rules.must_include_any]
    if any(not g for g in groups):
        return None

    def search(chosen: frozenset[str]) -> int:
        open_group = next((g for g in groups if not g & chosen), None)
        if open_group is None:
            return len(chosen)
        return min(search(chosen | {p}) for p in sorted(open_group))

    return search(frozenset())


def free_text(s: Scenario, index: int) -> str:
    brief = s.briefs()[index]
    return " ".join([brief.description, brief.imaging_setup, *brief.deployment_conditions])


def test_both_splits_exist_and_hold_enough_scenarios() -> None:
    for split, minimum in SPLITS.items():
        assert len(FILES[split]) >= minimum, (split, len(FILES[split]))
    stray = sorted(p.name for p in ROOT.iterdir() if p.is_file() and p.suffix in (".yaml", ".yml"))
    assert not stray, f"scenario files outside a split folder: {stray}"
    assert not list(ROOT.rglob("*.yml")), "use the .yaml suffix so every tool finds the files"


def test_names_are_unique_across_splits_and_match_file_names() -> None:
    names = [s.name for _, _, s in ALL]
    assert len(set(names)) == len(names), sorted({n for n in names if names.count(n) > 1})
    assert all(s.name == path.stem for _, path, s in ALL), [p.name for _, p, s in ALL if s.name != p.stem]


@pytest.mark.parametrize(("split", "path", "scenario"), ALL, ids=IDS)
def test_scenario_is_complete(split: str, path: Path, scenario: Scenario) -> None:
    brief = scenario.brief
    assert brief.models == ["demo:textile"] and 6 <= brief.budget.max_corruptions <= 8 and brief.seed == 0
    assert brief.description and brief.imaging_setup and brief.deployment_conditions and brief.labels
    assert not brief.chain, "chain facts are what the planner must infer; a scenario must not give them"
    facts = scenario.expect_facts
    assert facts is not None and facts.model_dump(exclude_none=True), "assert at least one chain fact"
    rules = scenario.rules
    assert 3 <= len(rules.must_include_any) <= 6 and rules.must_not, rules


@pytest.mark.parametrize(("split", "path", "scenario"), ALL, ids=IDS)
def test_three_paraphrases_retell_the_deployment(split: str, path: Path, scenario: Scenario) -> None:
    assert len(scenario.paraphrases) == 3
    for p in scenario.paraphrases:
        assert p.description and p.imaging_setup and p.deployment_conditions, "override all free text"
    texts = [free_text(scenario, i) for i in range(4)]
    assert len(set(texts)) == 4, "each paraphrase must use its own words"
    lengths = [len(t) for t in texts]
    # one terse and one long retelling: some paraphrase is shorter, some longer than the original
    assert min(lengths[1:]) < lengths[0] < max(lengths[1:]), lengths


@pytest.mark.parametrize(("split", "path", "scenario"), ALL, ids=IDS)
def test_required_groups_fit_the_budget(split: str, path: Path, scenario: Scenario) -> None:
    size = min_plan_size(scenario.rules)
    assert size is not None and size <= scenario.brief.budget.max_corruptions, size


def test_min_plan_size_sees_groups_that_cannot_share_a_primitive() -> None:
    nine = ["rain", "snow", "fog", "frost", "jpeg", "webp", "flip", "glare", "dust"]
    disjoint = Rules(must_include_any=[[p] for p in nine])
    assert min_plan_size(disjoint) == 9  # nine single-member groups need nine specs: over a budget of 8
    shared = Rules(must_include_any=[["rain", "fog"], ["fog", "snow"], ["fog"]])
    assert min_plan_size(shared) == 1
    by_family = Rules(must_include_any=[["weather"], ["rain"]], must_not={"snow": "indoors"})
    assert min_plan_size(by_family) == 1
