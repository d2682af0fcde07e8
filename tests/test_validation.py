"""Plan validation on real sample images: each check can fail, and thresholds are configurable."""

from __future__ import annotations

import numpy as np

from robustlens.schemas import CorruptionPlan, CorruptionSpec, PrimitiveCall
from robustlens.validation import Thresholds, validate_plan, validate_spec


def spec(name: str, primitive: str, **ladder: list[float]) -> CorruptionSpec:
    return CorruptionSpec(name=name, recipe=[PrimitiveCall(name=primitive, ladder=ladder)])


def checks(report) -> dict[str, bool]:
    return {c.name: c.passed for c in report.checks}


def test_a_good_spec_passes(samples: list[np.ndarray]) -> None:
    report = validate_spec(spec("noise", "gaussian_noise"), samples)
    assert report.ok and all(checks(report).values())
    values = list(report.ssim_by_severity.values())
    assert values == sorted(values, reverse=True) and len(values) == 5


def test_identity_destroyed_and_non_monotone_are_caught(samples: list[np.ndarray]) -> None:
    tiny = validate_spec(spec("tiny", "gaussian_noise", sigma=[0.0005] * 5), samples)
    assert not tiny.ok and not checks(tiny)["not_identity"]
    wrecked = validate_spec(spec("wrecked", "impulse_noise", amount=[0.05, 0.2, 0.5, 0.8, 0.98]), samples)
    assert not wrecked.ok and not checks(wrecked)["not_destroyed"]
    backwards = validate_spec(spec("backwards", "gaussian_noise", sigma=[0.4, 0.2, 0.1, 0.05, 0.02]), samples)
    assert not backwards.ok and not checks(backwards)["monotone"]


def test_thresholds_are_configurable(samples: list[np.ndarray]) -> None:
    noise = spec("noise", "gaussian_noise")
    assert not validate_spec(noise, samples, Thresholds(identity_ssim=0.1)).ok


def test_schema_errors_are_reported_not_raised(samples: list[np.ndarray]) -> None:
    report = validate_spec(spec("bad", "gausian_noise"), samples)
    assert not report.ok and report.checks[0].name == "schema" and "gaussian_noise" in report.checks[0].detail


def test_label_preservation_is_advisory(samples: list[np.ndarray]) -> None:
    """A fragile model flipping labels must not remove the corruption it is fragile to."""
    flips_everything = validate_spec(spec("noise", "gaussian_noise"), samples, label_check=lambda a, b: 0.0)
    label = next(c for c in flips_everything.checks if c.name == "label_preserved")
    assert not label.passed and label.advisory and flips_everything.ok
    keeps = validate_plan(
        CorruptionPlan(specs=[spec("noise", "gaussian_noise")]), samples, label_check=lambda a, b: 1.0
    )
    assert next(c for c in keeps[0].checks if c.name == "label_preserved").passed
