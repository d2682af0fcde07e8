"""Operating envelope: the largest severity at which a model stays within the brief's tolerance.

Bisection on the continuous severity knob (fractional severities interpolate the primitive's ladder
linearly, ``robustlens.corruptions.base``). It starts from the cells already finished (the plan's
ladder and any earlier extra rungs) — these are never re-evaluated — and narrows the bracket between
the largest severity known to be within and the smallest known to be beyond, until the bracket is
``resolution`` wide or ``max_new`` new cells were spent.

Each step is decided by the bootstrap 95% interval of the metric (Efron & Tibshirani 1993): a severity
is *within* only when the interval's upper bound is <= the tolerance; otherwise (beyond, or
inconclusive) it counts as beyond. This is conservative on purpose: the envelope promises only what
the data supports, so a small image set gives a smaller, not a rosier, envelope.

The search assumes the metric grows with severity (as the ladders are built to); where the finished
ladder is non-monotone, the first failing rung bounds the envelope.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from robustlens.investigate.records import ToleranceResult
from robustlens.investigate.units import physical_levels
from robustlens.schemas import CorruptionSpec, MetricValue, canonical_severity

# severity -> per-image values whose mean is the metric (see investigate/cells.py)
Evaluator = Callable[[float], np.ndarray]
MAX_SEVERITY = 5.0


def within(mv: MetricValue, tolerance: float) -> bool:
    """Within only when the whole interval is (upper bound <= tolerance); no interval -> point value."""
    bound = mv.ci_high if mv.ci_high is not None else mv.value
    return bound <= tolerance


def search_tolerance(
    model_id: str,
    spec: CorruptionSpec,
    *,
    metric: str,
    tolerance: float,
    known: Mapping[float, np.ndarray],
    evaluate: Evaluator,
    resolution: float = 0.25,
    max_new: int = 3,
    n_boot: int = 1000,
    seed: int = 0,
) -> ToleranceResult:
    """Bracket the tolerated severity of ``spec`` for ``model_id``.

    ``known``: per-image values of the finished cells (reused as they are); ``evaluate``: computes a new
    severity's per-image values (the default in ``policy`` runs the engine with the spec's
    ``extra_severities``; tests plant a synthetic threshold). Returns the bracket, the metric at the
    tolerated severity with its interval, and that level in physical units."""
    from robustlens.investigate.cells import mean_interval

    seen: dict[float, MetricValue] = {}

    def measure(severity: float, values: np.ndarray) -> bool:
        seen[severity] = mean_interval(values, n_boot=n_boot, seed=seed)
        return within(seen[severity], tolerance)

    lo, hi = 0.0, None
    for severity in sorted(canonical_severity(s) for s in known if 0 < s <= MAX_SEVERITY):
        if measure(severity, known[severity]):
            lo = severity
        else:
            hi = severity
            break
    if hi is None and lo < MAX_SEVERITY and max_new > 0:  # the ladder stops short of 5: test 5
        if measure(MAX_SEVERITY, evaluate(MAX_SEVERITY)):
            lo = MAX_SEVERITY
        else:
            hi = MAX_SEVERITY
    new = sum(1 for s in seen if s not in {canonical_severity(k) for k in known})
    while hi is not None and hi - lo > resolution + 1e-9 and new < max_new:
        mid = canonical_severity((lo + hi) / 2)
        if mid in (lo, hi):
            break
        if measure(mid, evaluate(mid)):
            lo = mid
        else:
            hi = mid
        new += 1
    status = "within_all" if hi is None else ("fails_mildest" if lo == 0 else "bracketed")
    tolerated = None if lo == 0 else lo
    return ToleranceResult(
        model_id=model_id,
        corruption=spec.name,
        metric=metric,
        tolerance=tolerance,
        status=status,
        tolerated_severity=tolerated,
        failing_severity=hi,
        value=seen.get(lo) if tolerated is not None else None,
        physical=physical_levels(spec, tolerated) if tolerated is not None else [],
        evaluated=sorted(seen),
        resolution=resolution,
    )


def describe(result: ToleranceResult) -> str:
    """One sentence for the investigation log and the report."""
    units = "; ".join(p.text for p in result.physical)
    if result.status == "fails_mildest":
        return (
            f"{result.model_id} exceeds {result.metric} {result.tolerance:g} under {result.corruption} "
            f"already at severity {result.failing_severity:g} (the mildest level tested)."
        )
    if result.status == "within_all":
        return (
            f"{result.model_id} stays within {result.metric} {result.tolerance:g} under {result.corruption} "
            f"up to severity {result.tolerated_severity:g} (the strongest tested; {units})."
        )
    return (
        f"{result.model_id} tolerates {result.corruption} up to severity {result.tolerated_severity:g} "
        f"({units}); it exceeds {result.metric} {result.tolerance:g} by {result.failing_severity:g}."
    )
