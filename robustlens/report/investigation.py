"""The investigation's report sections as report data: envelope, failure slices, compounds, classes, log.

``investigation_data`` turns the run's ``investigation.json`` (``robustlens.investigate.records``) into
the ``investigation`` key of ``report.json``: every number as its raw value next to the text the
renderers print (``formatting.metric``), so HTML, Markdown, CSV and JSON cannot disagree.

- **Operating envelope**: per model x condition, the largest severity whose metric stays within the
  brief's tolerance (found by bisection), told in the primitive's physical units, with the metric's
  bootstrap 95% interval at that level (Efron & Tibshirani 1993). Sorted by how early it fails.
- **Failure slices**: groups of images that fail more often than the rest; the difference of failure
  rates comes with its interval and is marked significant only when that interval excludes 0.
- **Compound conditions**: a chain against its parts; a claim ("worse than its worst part", "worse
  than the parts added") is printed only when the intervals support it, otherwise "not
  distinguishable" (a difference whose interval overlaps is not evidence of one).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from robustlens.errors import UserInputError
from robustlens.investigate.records import (
    CompoundResult,
    Investigation,
    PhysicalLevel,
    Slice,
    ToleranceResult,
)
from robustlens.report.formatting import METRIC_LABELS, metric, number, scalar, sev

#: representative images per slice shown as thumbnails (clean and corrupted)
SLICE_IMAGES = 3
ENVELOPE_ORDER = {"fails_mildest": 0, "bracketed": 1, "within_all": 2}
STATUS_TEXT = {
    "fails_mildest": "fails at the mildest level",
    "bracketed": "tolerated up to a level",
    "within_all": "within tolerance at every level tested",
}
METRIC_NAMES = {
    "accuracy_drop": "accuracy drop",
    "balanced_accuracy_drop": "balanced accuracy drop",
    "lfp": "LFP",
    "drift": "embedding drift",
}


def metric_name(name: str) -> str:
    return METRIC_NAMES.get(name, METRIC_LABELS.get(name, name).lower())


def _ci(mv: dict[str, Any]) -> str:
    return f"{mv['text']}, 95% CI {mv['ci_text']}" if mv.get("ci_text") else f"{mv['text']}, no interval"


def _direction(level: PhysicalLevel) -> str:
    """'up to' when the parameter grows with severity (blur sigma), 'down to' when it shrinks (JPEG
    quality), read off the primitive's registered severity ladder; 'at' when unknown."""
    from robustlens.corruptions.compiler import get_info

    try:
        values = get_info(level.primitive).ladder_values(level.param)
    except (UserInputError, KeyError):
        return "at"
    return "up to" if values[-1] > values[0] else "down to" if values[-1] < values[0] else "at"


def level_text(levels: Sequence[PhysicalLevel], severity: float) -> str:
    """'up to sigma 2.1 px' (and more parameters joined by 'and'), or 'up to severity 2.5'."""
    if not levels:
        return f"up to severity {sev(severity)}"
    clash = len({p.param for p in levels}) < len(levels)
    parts = []
    for p in levels:
        name = f"{p.primitive} {p.param}" if clash else p.param
        value = f"{p.value:.3g}" + (f" {p.unit}" if p.unit and p.unit != "%" else p.unit)
        parts.append(f"{_direction(p)} {name} {value}")
    return " and ".join(parts)


def _envelope_row(t: ToleranceResult) -> dict[str, Any]:
    label = metric_name(t.metric)
    value = metric(t.value)
    evaluated = sorted(t.evaluated)
    if t.status == "fails_mildest":
        at = t.failing_severity if t.failing_severity is not None else (evaluated[0] if evaluated else None)
        where = f" (severity {sev(at)})" if at is not None else ""
        text = f"fails at the mildest level tested{where}"
        level = "fails at the mildest level"
    else:
        s = t.tolerated_severity if t.tolerated_severity is not None else max(evaluated, default=0.0)
        level = level_text(t.physical, s)
        shown = f"; {label} {_ci(value)}" if value["text"] != "–" else ""
        if t.status == "within_all":
            where = f"{level} at severity {sev(s)}" if t.physical else f"up to severity {sev(s)}"
            text = f"within tolerance at every level tested ({where}{shown})"
        else:
            text = f"tolerates {t.corruption} {level} (severity {sev(s)}; {label} {_ci(value)})"
            if t.failing_severity is not None:
                text += f"; exceeds it from severity {sev(t.failing_severity)}"
    return {
        "model": t.model_id,
        "corruption": t.corruption,
        "status": t.status,
        "status_text": STATUS_TEXT[t.status],
        "metric": t.metric,
        "metric_label": label,
        "tolerance": scalar(t.tolerance),
        "tolerance_text": f"{label} ≤ {number(t.tolerance)}",
        "tolerated_severity": t.tolerated_severity,
        "tolerated_severity_text": "–" if t.tolerated_severity is None else sev(t.tolerated_severity),
        "failing_severity": t.failing_severity,
        "failing_severity_text": "–" if t.failing_severity is None else sev(t.failing_severity),
        "level_text": level,
        "physical": [p.model_dump(mode="json") for p in t.physical],
        "value": value,
        "evaluated": evaluated,
        "evaluated_text": ", ".join(sev(s) for s in evaluated) or "–",
        "resolution": t.resolution,
        "text": text,
    }


def _envelope_key(row: dict[str, Any]) -> tuple[int, float, str, str]:
    """How early it fails: at the mildest level first, then by the first failing severity, then the
    conditions tolerated at every level."""
    fail = row["failing_severity"] if row["failing_severity"] is not None else row["tolerated_severity"]
    return (ENVELOPE_ORDER[row["status"]], fail if fail is not None else 0.0, row["model"], row["corruption"])


def _slice_row(s: Slice) -> dict[str, Any]:
    diff = metric(s.difference)
    outcome = "flip" if s.outcome == "flip" else "failure"
    return s.model_dump(mode="json") | {
        "severity_text": sev(s.severity),
        "failure_rate": metric(s.failure_rate),
        "rest_rate": metric(s.rest_rate),
        "difference": diff,
        "outcome_label": f"{outcome} rate",
        "significant_text": "significant" if s.significant else "not significant",
        "shown_ids": list(s.image_ids[:SLICE_IMAGES]),
        "text": f"{s.description}: {outcome} rate {_ci(metric(s.failure_rate))} vs "
        f"{_ci(metric(s.rest_rate))} for the rest (difference {_ci(diff)}; n = {s.n_images})",
    }


def compound_finding(c: CompoundResult) -> tuple[str, str]:
    """(key, text): what the intervals support about the chain against its parts.

    "worse than the parts added" needs the record's verdict and a chain interval above the parts'
    summed drops; "worse than its worst part" needs the chain's interval above the worst part's.
    A record that claims more than its intervals show is read as "not distinguishable".
    """
    lo = c.drop.ci_low
    worst = max(c.part_drops.values(), key=lambda m: m.value, default=None)
    total = sum(m.value for m in c.part_drops.values())
    above_worst = worst is not None and lo is not None and worst.ci_high is not None and lo > worst.ci_high
    if c.worse_than_sum and lo is not None and lo > total and above_worst:
        return "worse_than_sum", "worse than the parts added"
    if c.worse_than_worst_part and above_worst:
        return "worse_than_worst_part", "worse than its worst part"
    hi, worst_lo = c.drop.ci_high, None if worst is None else worst.ci_low
    if c.worse_than_worst_part is False and hi is not None and worst_lo is not None and hi < worst_lo:
        return "milder_than_worst_part", "milder than its worst part"
    return "not_distinguishable", "not distinguishable from its worst part (the intervals overlap)"


def _compound_row(c: CompoundResult) -> dict[str, Any]:
    key, finding = compound_finding(c)
    parts = [{"name": p, "drop": metric(c.part_drops[p])} for p in c.parts if p in c.part_drops]
    return c.model_dump(mode="json") | {
        "severity_text": sev(c.severity),
        "metric_label": metric_name(c.metric),
        "drop": metric(c.drop),
        "part_drops": parts,
        "finding": key,
        "finding_text": finding,
    }


def investigation_data(inv: Investigation) -> dict[str, Any]:
    """The ``investigation`` key of report.json (every number with its display text)."""
    envelope = sorted((_envelope_row(t) for t in inv.envelope), key=_envelope_key)
    tolerances = list(dict.fromkeys(r["tolerance_text"] for r in envelope))
    return {
        "envelope": envelope,
        "envelope_tolerance": "; ".join(tolerances),
        "slices": [_slice_row(s) for s in inv.slices],
        "compounds": [_compound_row(c) for c in inv.compounds],
        "vulnerability": [
            v.model_dump(mode="json")
            | {
                "severity_text": sev(v.severity),
                "clean_accuracy": scalar(v.clean_accuracy),
                "corrupted_accuracy": scalar(v.corrupted_accuracy),
                "drop": metric(v.drop),
                "absorbed_share": scalar(v.absorbed_share),
            }
            for v in inv.vulnerability
        ],
        "steps": [s.model_dump(mode="json") for s in inv.steps],
    }


def slice_examples(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The (image, corruption, severity) of every thumbnail the slices show, in display order, in the
    shape ``gallery.thumbnails`` takes."""
    return [
        {"image_id": i, "corruption": s["corruption"], "severity": s["severity"]}
        for s in data["slices"]
        for i in s["shown_ids"]
    ]


def envelope_csv_rows(data: dict[str, Any]) -> list[list[str]]:
    """``envelope.csv``: one row per model x condition, raw values (display texts are in report.json)."""

    def cell(x: Any) -> str:
        return "" if x is None else repr(x) if isinstance(x, float) else str(x)

    head = ["model", "corruption", "status", "metric", "tolerance", "tolerated_severity"]
    head += ["failing_severity", "value", "ci_low", "ci_high", "level"]
    rows = [head]
    for r in data["envelope"]:
        v = r["value"]
        severities = [cell(r["tolerated_severity"]), cell(r["failing_severity"])]
        values = [cell(v["value"]), cell(v["ci_low"]), cell(v["ci_high"])]
        ids = [r["model"], r["corruption"], r["status"], r["metric"], cell(r["tolerance"]["value"])]
        rows.append([*ids, *severities, *values, r["level_text"]])
    return rows
