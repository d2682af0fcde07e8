"""Every persisted type round-trips through JSON and YAML, and bad input names the field."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from robustlens.schemas import (
    AuditResult,
    Budget,
    CellResult,
    Check,
    ClassShift,
    CollapsePoint,
    CorruptionPlan,
    CorruptionSpec,
    CriticVerdict,
    DomainBrief,
    ExamplePick,
    FailureAnalysis,
    ImageSource,
    MetricValue,
    PrimitiveCall,
    SkippedFile,
    ValidatedPlan,
    ValidationReport,
    WorstCell,
)


def _plan() -> CorruptionPlan:
    return CorruptionPlan(
        specs=[
            CorruptionSpec(
                name="rainy_night",
                rationale="windshield camera at night in rain",
                recipe=[
                    PrimitiveCall(name="low_light", params={}),
                    PrimitiveCall(name="gaussian_noise", ladder={"sigma": [0.01, 0.02, 0.03, 0.04, 0.05]}),
                ],
                source="offline",
            )
        ],
        severities=[1, 2.5, 5],
        seed=42,
    )


def _brief() -> DomainBrief:
    return DomainBrief(
        domain="windshield camera",
        imaging_setup="1080p RGB behind glass",
        deployment_conditions=["night", "rain"],
        labels=["car", "pedestrian"],
        image_source=ImageSource(kind="class_folders", path="data/kitti"),
        models=["openclip:ViT-B-32/laion2b_s34b_b79k"],
        budget=Budget(max_corruptions=4, severities=[1, 3, 5]),
        seed=7,
    )


def _audit() -> AuditResult:
    metric = MetricValue(value=0.8, ci_low=0.7, ci_high=0.9)
    return AuditResult(
        run_id="r1",
        brief=_brief(),
        plan=_plan(),
        validation=[
            ValidationReport(
                spec_name="rainy_night",
                ok=True,
                ssim_by_severity={"1": 0.9, "5": 0.4},
                checks=[Check(name="monotone", passed=True)],
                critic=CriticVerdict(
                    realistic=True, score=0.9, reasons=["rain at night"], critic="offline-rules"
                ),
            )
        ],
        models=["m1", "m2"],
        cells=[
            CellResult(
                model_id="m1",
                corruption="rainy_night",
                severity=2.5,
                n_images=10,
                metrics={"accuracy": metric},
            )
        ],
        skipped=[SkippedFile(path="a.jpg", reason="truncated")],
        versions={"robustlens": "0.1.0"},
    )


PERSISTED = {
    "brief": _brief,
    "plan": _plan,
    "validated": lambda: ValidatedPlan(plan=_plan(), reports=_audit().validation),
    "audit": _audit,
    "analysis": lambda: FailureAnalysis(
        worst_cells=[
            WorstCell(model_id="m", corruption="c", severity=5, metric="accuracy", value=0.2, drop=0.6)
        ],
        class_shifts=[
            ClassShift(
                model_id="m",
                corruption="c",
                severity=5,
                true_class="a",
                predicted_class="b",
                clean_rate=0.01,
                corrupted_rate=0.4,
            )
        ],
        collapse_points=[CollapsePoint(model_id="m", corruption="c", severity=3.0, metric="accuracy")],
        examples=[ExamplePick(model_id="m", corruption="c", severity=5, image_id="x/1.png", label="a")],
        recommendations=["augment with blur"],
    ),
}


@pytest.mark.parametrize("kind", sorted(PERSISTED))
@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_round_trip(kind: str, suffix: str, tmp_path: Path) -> None:
    obj = PERSISTED[kind]()
    path = obj.save(tmp_path / f"obj{suffix}")
    again = type(obj).load(path)
    assert again == obj
    assert again.schema_version == 1
    assert type(obj).from_json(obj.to_json()) == obj
    assert type(obj).from_yaml(obj.to_yaml()) == obj


def test_unknown_field_is_rejected() -> None:
    with pytest.raises(ValidationError, match="sevrity"):
        CorruptionPlan.model_validate({"specs": [{"name": "a", "recipe": [{"name": "fog"}]}], "sevrity": 1})


def test_severities_are_checked_and_sorted() -> None:
    assert Budget(severities=[5, 1, 1]).severities == [1.0, 5.0]
    with pytest.raises(ValidationError, match=r"0\.\.5"):
        Budget(severities=[6])


def test_spec_names_are_slugs_and_unique() -> None:
    with pytest.raises(ValidationError, match="lowercase"):
        CorruptionSpec(name="Heavy Fog!", recipe=[PrimitiveCall(name="fog")])
    spec = CorruptionSpec(name="fog", recipe=[PrimitiveCall(name="fog")])
    with pytest.raises(ValidationError, match="unique"):
        CorruptionPlan(specs=[spec, spec])
    with pytest.raises(ValidationError, match="at least 1"):
        CorruptionSpec(name="empty", recipe=[])


def test_audit_lookup() -> None:
    audit = _audit()
    assert audit.cell("m1", "rainy_night", 2.5) is not None
    assert audit.cell("m1", "rainy_night", 3) is None
