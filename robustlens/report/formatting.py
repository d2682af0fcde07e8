"""Number formatting and metric names: the only place a report turns a number into text.

Every number in a report is stored in ``report.json`` as its raw value next to the text built here,
so what HTML, Markdown and plots print is exactly what the JSON holds.
"""

from __future__ import annotations

import math
from typing import Any

DIGITS = 3
METRIC_LABELS = {
    "accuracy": "Accuracy",
    "accuracy_drop": "Accuracy drop",
    "balanced_accuracy": "Balanced accuracy",
    "lfp": "LFP",
    "cosine": "Cosine",
    "l2_drift": "L2 drift",
    "confidence_drop": "Confidence drop",
    "ece": "ECE",
    "ece_debiased": "Debiased calibration error",
    "nll": "NLL",
    "knn_accuracy": "kNN accuracy",
    "knn_accuracy_drop": "kNN accuracy drop",
    "probe_accuracy": "Linear-probe accuracy",
    "probe_accuracy_drop": "Linear-probe accuracy drop",
    "knn_flip": "kNN flip",
    "knn_lfp": "kNN LFP",
}
for _d, _name in (("i2t", "Image→text"), ("t2i", "Text→image")):
    for _k in (1, 5, 10):
        METRIC_LABELS[f"{_d}_r{_k}"] = f"{_name} R@{_k}"
SIGNALS = ("lfp", "l2_drift", "confidence_drop", "divergence_radius")
SIGNAL_LABELS = {
    "lfp": "LFP",
    "l2_drift": "L2 drift",
    "confidence_drop": "Confidence drop",
    "divergence_radius": "Divergence Radius",
}


def number(x: float | None, digits: int = DIGITS) -> str:
    """A number as every report prints it: fixed decimals, no '-0.000', '–' when missing."""
    if x is None or not math.isfinite(x):
        return "–"
    text = f"{x:.{digits}f}"
    return text.replace("-", "") if float(text) == 0 else text


def scalar(x: float | None) -> dict[str, Any]:
    """A bare number with its display text."""
    ok = x is not None and math.isfinite(x)
    return {"value": x if ok else None, "text": number(x)}


def metric(mv: Any) -> dict[str, Any]:
    """A metric value (dict or MetricValue) with its 95% interval and display texts."""
    if mv is None:
        return {"value": None, "ci_low": None, "ci_high": None, "text": "–", "ci_text": ""}
    d = mv if isinstance(mv, dict) else mv.model_dump()
    value, lo, hi = d.get("value"), d.get("ci_low"), d.get("ci_high")
    finite = value is not None and math.isfinite(value)
    has_ci = finite and lo is not None and hi is not None and math.isfinite(lo) and math.isfinite(hi)
    return {
        "value": value if finite else None,
        "ci_low": lo if has_ci else None,
        "ci_high": hi if has_ci else None,
        "text": number(value),
        "ci_text": f"{number(lo)}–{number(hi)}" if has_ci else "",
    }


def upfirst(text: str) -> str:
    """Capitalise the first letter only ('LFP' stays 'LFP', unlike str.capitalize)."""
    return text[:1].upper() + text[1:]


def sev(x: float) -> str:
    return f"{x:g}"


def metric_order(names: list[str]) -> list[str]:
    known = [m for m in METRIC_LABELS if m in names]
    return known + sorted(n for n in names if n not in METRIC_LABELS)


def dataset_counts(dataset: dict[str, Any] | None, n_used: int, n_skipped: int) -> str:
    """ "45 images found, 9 used (seeded subsample), 2 skipped": the provenance line names what was
    available and what was used, so a subsampled run does not pass its sample off as the dataset.
    ``dataset`` is the manifest's (``n_found`` set by a subsample); ``n_used`` the images evaluated."""
    found = (dataset or {}).get("n_found")
    parts = [f"{found} images found, {n_used} used (seeded subsample)" if found else f"{n_used} images found"]
    return ", ".join([*parts, f"{n_skipped} skipped"] if n_skipped else parts)
