"""The scorers on hand-built plans: each one can fail, and each failure is caught."""

from __future__ import annotations

import pytest

from robustlens.corruptions import REGISTRY
from robustlens.evals import (
    Rules,
    consistency,
    coverage,
    diversity,
    jaccard,
    majority_plan,
    missing_groups,
    plan_primitives,
    severity_excess,
    validity,
    violations,
)
from robustlens.evals.critic_eval import capped_ladder
from robustlens.schemas import CorruptionPlan, CorruptionSpec, PrimitiveCall

MRI_RULES = Rules(
    must_include_any=[["mri_bias_field"], ["mri_ghosting"], ["gaussian_noise", "noise"]],
    must_not={"weather": "no weather inside a scanner bore", "stain_variation": "histology only"},
    severity_bounds={"rotation": 3},
)


def spec(name: str, *primitives: str, ladder: dict[str, list[float]] | None = None) -> CorruptionSpec:
    calls = [PrimitiveCall(name=p, ladder=ladder or {}) for p in primitives]
    return CorruptionSpec(name=name, recipe=calls)


def plan(*specs: CorruptionSpec, severities: list[float] | None = None) -> CorruptionPlan:
    return CorruptionPlan(specs=list(specs), severities=severities or [1, 2, 3, 4, 5])


def test_rain_on_mri_is_a_family_violation() -> None:
    p = plan(spec("bias", "mri_bias_field"), spec("storm", "rain"))
    found = violations(p, MRI_RULES)
    assert len(found) == 1
    assert found[0].startswith("storm: rain (family weather)") and "scanner bore" in found[0]


def test_forbidden_primitive_by_name_and_inside_a_recipe() -> None:
    p = plan(spec("combo", "gaussian_noise", "stain_variation"))
    assert violations(p, MRI_RULES) == ["combo: stain_variation must not appear: histology only"]


def test_realistic_plan_has_no_violation() -> None:
    p = plan(spec("bias", "mri_bias_field"), spec("ghost", "mri_ghosting"), spec("noise", "gaussian_noise"))
    assert violations(p, MRI_RULES) == []


def test_severity_bound_violation_is_caught() -> None:
    rules = Rules(severity_bounds={"scan_skew": 3})
    # default ladder: 7 degrees at severity 5, beyond 3.5 degrees at default severity 3
    found = violations(plan(spec("skew", "scan_skew")), rules)
    assert len(found) == 1 and "scan_skew.angle = 7" in found[0] and "3.5" in found[0]
    # the same primitive with its ladder rescaled to the bound passes
    capped = {"angle": capped_ladder("scan_skew", "angle", 3)}
    assert capped["angle"][-1] == pytest.approx(3.5)
    assert violations(plan(spec("skew", "scan_skew", ladder=capped)), rules) == []
    # ... and so does the default ladder when the plan stops at severity 3
    assert violations(plan(spec("skew", "scan_skew"), severities=[1, 2, 3]), rules) == []


def test_severity_bound_checks_every_ladder_parameter_and_direction() -> None:
    info = REGISTRY["jpeg"]  # quality falls from the identity 100: strength is the distance from it
    assert info.identity["quality"] == 100
    call = PrimitiveCall(name="jpeg", ladder={"quality": [60, 50, 40, 30, 20]})
    assert severity_excess(call, 1, [5]) and not severity_excess(call, 1, [1])
    two = PrimitiveCall(name="rain")  # four ladder parameters, all beyond a bound of 1 at severity 5
    assert len(severity_excess(two, 1, [5])) == len(REGISTRY["rain"].ladder) == 4
    assert severity_excess(two, 5, [5]) == []


def test_coverage_counts_groups_and_families() -> None:
    p = plan(spec("bias", "mri_bias_field"), spec("speckle", "speckle_noise"))
    # group 3 is satisfied through the 'noise' family; group 2 (mri_ghosting) is missing
    assert coverage(p, MRI_RULES) == pytest.approx(2 / 3)
    assert missing_groups(plan_primitives(p), MRI_RULES) == [["mri_ghosting"]]
    assert coverage(plan(spec("blur", "gaussian_blur")), MRI_RULES) == 0.0
    assert coverage(p, Rules()) == 1.0


def test_validity() -> None:
    assert validity(plan(spec("ok", "fog")))
    assert not validity(None)
    assert not validity(plan(spec("typo", "gausian_noise")))
    bad_ladder = spec("bad", "gaussian_noise", ladder={"sigma": [0.1, 0.2]})
    assert not validity(plan(bad_ladder))


def test_diversity() -> None:
    assert diversity(
        plan(spec("a", "gaussian_blur"), spec("b", "defocus_blur"), spec("c", "jpeg"))
    ) == pytest.approx(2 / 3)
    assert diversity(plan(spec("a", "gaussian_blur"), spec("b", "jpeg"))) == 1.0
    assert diversity(plan(spec("a", "gaussian_blur", "jpeg", "fog"))) == 1.0  # capped


def test_jaccard_consistency_and_majority() -> None:
    assert jaccard({"a", "b"}, {"a", "c"}) == pytest.approx(1 / 3)
    assert jaccard(set(), set()) == 1.0
    runs = [{"a", "b"}, {"a", "b"}, {"a", "c"}]
    assert consistency(runs) == pytest.approx((1 + 1 / 3 + 1 / 3) / 3)
    assert consistency([{"a"}]) == 1.0
    assert majority_plan(runs) == ["a", "b"]
    assert majority_plan([{"a"}, {"b"}]) == []  # a tie is not a majority
    plans = [plan(spec("x", "fog")), plan(spec("y", "fog"), spec("z", "rain"))]
    assert consistency(plans) == pytest.approx(0.5)
    assert majority_plan(plans) == ["fog"]
