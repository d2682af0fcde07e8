"""Report sections computed from the run's results: the heatmap, ranked vulnerabilities, corruption
error, label-free metrics, calibration and paired model comparisons (each a plain JSON-ready dict)."""

from __future__ import annotations

from typing import Any

from robustlens.analysis import Ranking
from robustlens.evaluation.store import CLEAN
from robustlens.report.formatting import SIGNAL_LABELS, SIGNALS, metric, scalar, sev
from robustlens.schemas import AuditResult, FailureAnalysis

NOT_RANKED = {"degenerate": "degenerate", "constant": "constant", "too_few": "too few points"}


def heatmap(result: AuditResult, ranking: Ranking) -> dict[str, Any]:
    """Mean damage per audited model x corruption, averaged over the severities."""
    rows = []
    for model_id in result.models:
        row = []
        for spec in result.plan.specs:
            values = [
                d[1]
                for s in result.plan.severities
                if (cell := result.cell(model_id, spec.name, float(s))) is not None
                and (d := ranking.damage(cell)) is not None
            ]
            row.append(scalar(round(sum(values) / len(values), 6) if values else None))
        rows.append(row)
    return {
        "metric": ranking.drop_metric or ("lfp" if ranking.metric == "lfp" else "1-cosine"),
        "label": f"mean {ranking.damage_label} over severities (higher = worse)",
        "short_label": ranking.damage_label,
        "models": list(result.models),
        "corruptions": [s.name for s in result.plan.specs],
        "values": rows,
    }


def vulnerabilities(result: AuditResult, analysis: FailureAnalysis) -> list[dict[str, Any]]:
    """The worst cells with their values; ``significant`` says whether the damage interval excludes
    0 (``None`` without an interval), so no renderer calls noise the largest damage."""
    out = []
    for rank, w in enumerate(analysis.worst_cells, start=1):
        cell = result.cell(w.model_id, w.corruption, w.severity)
        metrics = cell.metrics if cell else {}
        value = metrics.get(w.metric)
        # Only the accuracy ranking has a separate damage column; for LFP the damage is the value.
        drop = metric(metrics.get("accuracy_drop")) if w.metric == "accuracy" else None
        # Significant: the damage interval excludes 0 (for cosine the damage is 1 - cosine < 1).
        damage = drop or metric(value)
        lo = (
            damage["ci_low"]
            if w.metric != "cosine"
            else (None if damage["ci_high"] is None else 1 - damage["ci_high"])
        )
        out.append(
            {
                "rank": rank,
                "model": w.model_id,
                "corruption": w.corruption,
                "severity": w.severity,
                "severity_text": sev(w.severity),
                "metric": w.metric,
                "value": metric(value),
                "drop": drop,
                "significant": None if lo is None else lo > 0,
            }
        )
    return out


def _summary_of(result: AuditResult, model_id: str) -> dict[str, Any]:
    return result.summary.get("models", {}).get(model_id, {})


def corruption_error(result: AuditResult) -> dict[str, Any] | None:
    rows = []
    for model_id in result.models:
        entry = _summary_of(result, model_id)
        if "mce" not in entry:
            continue
        rows.append(
            {
                "model": model_id,
                "mce": metric(entry["mce"]),
                "relative_mce": metric(entry.get("relative_mce")),
                "per_corruption": [
                    {
                        "corruption": s.name,
                        "ce": metric(entry.get("ce", {}).get(s.name)),
                        "relative_ce": metric(entry.get("relative_ce", {}).get(s.name)),
                    }
                    for s in result.plan.specs
                ],
            }
        )
    if not rows:
        return None
    return {"reference": result.reference_model, "models": rows}


def label_free(result: AuditResult) -> list[dict[str, Any]]:
    out = []
    for model_id in result.models:
        entry = _summary_of(result, model_id)
        mean = entry.get("mean_corrupted", {})
        tracking = entry.get("label_free_tracking", {})
        out.append(
            {
                "model": model_id,
                "mean_corrupted": {
                    m: metric(mean[m]) for m in ("lfp", "cosine", "l2_drift", "confidence_drop") if m in mean
                },
                "divergence_radius": [
                    {"corruption": s.name, "radius": metric(entry.get("divergence_radius", {}).get(s.name))}
                    for s in result.plan.specs
                    if s.name in entry.get("divergence_radius", {})
                ],
                "tracking": _tracking(tracking),
            }
        )
    return out


def _tracking(tracking: dict[str, Any]) -> dict[str, Any]:
    """Each signal's r with its bootstrap interval; a comparison that cannot be ranked (degenerate,
    constant, too few points: see ``aggregate._tracking``) shows why instead of an r to rank on."""
    signals = []
    for s in SIGNALS:
        entry = tracking.get("signals", {}).get(s)
        if entry is None:
            continue
        r = metric({k: entry.get(k) for k in ("value", "ci_low", "ci_high")})
        status = entry.get("status", "ok")
        ranked = status == "ok"
        display = (
            (f"{r['text']} ({r['ci_text']})" if r["ci_text"] else r["text"])
            if ranked
            else (f"not ranked ({NOT_RANKED[status]})")
        )
        signals.append(
            {
                "signal": s,
                "label": SIGNAL_LABELS[s],
                # No value to rank on unless the comparison is informative: nothing may crown it.
                "r": r if ranked else metric(None),
                "raw_r": [r["value"], r["ci_low"], r["ci_high"]],  # r and interval, ranked or not
                "display": display,
                "over": entry.get("over", "cells"),
                "n_points": entry.get("n_points"),
                "status": status,
                "ranked": ranked,
                "reason": entry.get("reason"),
            }
        )
    notes = [f"{x['label']}: not ranked, {x['reason']}." for x in signals if not x["ranked"]]
    return {
        "n_cells": tracking.get("n_cells"),
        "min_points": tracking.get("min_points"),
        "signals": signals,
        "notes": notes,
    }


ECE_NOTE = (
    "Plug-in ECE is biased upward: sampling noise in each bin adds to |accuracy - confidence|, so even "
    "a perfectly calibrated model scores above 0 and its interval does not cover 0. The debiased "
    "calibration error (Kumar et al. 2019, debiased squared l2 error, shown as its signed square "
    "root) removes that bias: an interval that covers 0 means no detectable miscalibration."
)


def calibration(result: AuditResult) -> list[dict[str, Any]]:
    """Per audited model: ECE, debiased calibration error and NLL, clean and mean corrupted, plus
    the worst-ECE cell; ``ECE_NOTE`` is the footnote every renderer prints with this table."""
    out = []
    for model_id in result.models:
        clean = result.cell(model_id, CLEAN, 0.0)
        mean = _summary_of(result, model_id).get("mean_corrupted", {})
        if clean is None or "ece" not in clean.metrics:
            continue
        corrupted = [c for c in result.cells if c.model_id == model_id and c.corruption != CLEAN]
        worst = max(
            corrupted, key=lambda c: c.metrics["ece"].value if "ece" in c.metrics else -1, default=None
        )
        out.append(
            {
                "model": model_id,
                "clean": {m: metric(clean.metrics.get(m)) for m in ("ece", "ece_debiased", "nll")},
                "mean_corrupted": {m: metric(mean.get(m)) for m in ("ece", "nll")},
                "worst_ece": None
                if worst is None or "ece" not in worst.metrics
                else {
                    "corruption": worst.corruption,
                    "severity_text": sev(worst.severity),
                    "ece": metric(worst.metrics["ece"]),
                },
            }
        )
    return out


def paired(result: AuditResult, ranking: Ranking) -> list[dict[str, Any]]:
    rows = []
    for p in result.summary.get("paired", []):
        if p.get("metric") != ranking.metric:
            continue
        rows.append(
            {
                "a": p["a"],
                "b": p["b"],
                "corruption": p["corruption"],
                "severity_text": sev(float(p["severity"])),
                "metric": p["metric"],
                "diff": metric({"value": p["diff"], "ci_low": p.get("ci_low"), "ci_high": p.get("ci_high")}),
                "p_value": scalar(p.get("p_value")),
            }
        )
    return rows
