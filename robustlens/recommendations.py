"""Recommendations of the failure analysis: concrete actions, each backed by a number of the run
(what to augment against, which severities are deployment-critical, which label-free signal to
monitor). Split from ``robustlens.analysis``, whose rankings and collapse points it reads."""

from __future__ import annotations

from typing import Any

from robustlens.analysis import (
    MIN_DAMAGE,
    SIGNAL_LABELS,
    Ranking,
    _order,
    collapse_rule,
    has_random_weights,
)
from robustlens.schemas import AuditResult, FailureAnalysis


def _n(x: float) -> str:
    text = f"{x:.3f}"
    return "0.000" if text == "-0.000" else text


def recommendations(
    result: AuditResult, ranking: Ranking, analysis: FailureAnalysis, collapse_fraction: float
) -> list[str]:
    """Concrete actions, each backed by a number of this run.

    1. Which corruptions to augment against: those with the largest mean damage over models and
       severities (augmenting against what the deployment will meet is the standard remedy,
       cf. AugMix, Hendrycks et al. 2020).
    2. Which severities are deployment-critical: the earliest collapse per corruption.
    3. Which label-free signal to monitor in production: the one that tracked the accuracy drop
       best across this run's cells (labels are rarely available after deployment).
    """
    out: list[str] = []
    if random := [m for m in _order(result)[0] if has_random_weights(m)]:
        out.append(f"Re-run with trained weights: {', '.join(random)} had random weights, so this run tests "
                   "the pipeline, not the models.")  # fmt: skip
    out.extend(_augmentation(result, ranking))
    out.extend(_critical_severities(result, ranking, analysis, collapse_fraction))
    out.extend(_monitoring(result))
    return out


def _augmentation(result: AuditResult, ranking: Ranking) -> list[str]:
    damage: dict[str, list[float]] = {s.name: [] for s in result.plan.specs}
    for cell in result.cells:
        if cell.model_id in result.models and cell.corruption in damage:
            scored = ranking.damage(cell)
            if scored is not None:
                damage[cell.corruption].append(scored[1])
    means = {c: sum(v) / len(v) for c, v in damage.items() if v}
    threshold = MIN_DAMAGE[ranking.metric]
    harmful = sorted((c for c in means if means[c] >= threshold), key=lambda c: (-means[c], c))
    if not harmful:
        return [
            f"No corruption cost more than {_n(threshold)} {ranking.damage_label} on average: "
            "augmentation is not a priority on this evidence."
        ]
    listed = ", ".join(f"{c} (mean {ranking.damage_label} {_n(means[c])})" for c in harmful[:3])
    return [
        f"Augment training or fine-tuning data against {listed}: these cost the most on average over "
        "models and severities."
    ]


def _critical_severities(
    result: AuditResult, ranking: Ranking, analysis: FailureAnalysis, collapse_fraction: float
) -> list[str]:
    rule = collapse_rule(ranking.metric, collapse_fraction)
    out = []
    for spec in result.plan.specs:
        points = [p for p in analysis.collapse_points if p.corruption == spec.name and p.severity is not None]
        if not points:
            continue
        first = min(p.severity for p in points if p.severity is not None)
        at_first = [p for p in points if p.severity == first]
        who = ", ".join(p.model_id for p in at_first)
        if any(p.non_monotone for p in at_first):
            p = next(p for p in at_first if p.non_monotone)
            at = ", ".join(f"{s:g}" for s in p.collapsed_at)
            out.append(
                f"{spec.name} has a non-monotone severity curve ({rule} at severity {at} only: {who}): "
                "no single threshold is safe; check the severity ladder of this corruption and treat "
                f"every level from {first:g} as a risk until it is understood."
            )
            continue
        out.append(
            f"{spec.name} is deployment-critical from severity {first:g} ({rule}: {who}): keep conditions "
            "below that level, or detect them and route images to review."
        )
    if not out:
        top = max(result.plan.severities)
        out.append(
            f"No model collapsed ({rule}) up to severity {top:g}: extend the ladder to find the "
            "breaking point before relying on this margin."
        )
    return out


def _monitoring(result: AuditResult) -> list[str]:
    if not result.labelled:
        return [
            "Without labels this run cannot measure accuracy: monitor LFP and embedding drift, and "
            "label a small sample to check that they track accuracy on your data (DeepBench reports "
            "r ~ -0.90 between LFP and balanced accuracy)."
        ]
    best: tuple[float, str, str, dict[str, Any]] | None = None
    refused: list[str] = []
    for model_id in result.models:
        tracking = result.summary.get("models", {}).get(model_id, {}).get("label_free_tracking", {})
        for signal, s in tracking.get("signals", {}).items():
            label = SIGNAL_LABELS.get(signal, signal)
            if not s.get("ranked"):
                refused.append(f"{label} ({model_id}): {s.get('reason')}")
                continue
            cand = (abs(s["value"]), signal, model_id, s)
            if best is None or cand[0] > best[0]:
                best = cand
    not_ranked = f" Not ranked: {'; '.join(refused)}." if refused else ""
    if best is None:
        return [
            "No label-free signal can be recommended from this run: none could be compared with the "
            f"accuracy drop in an informative way.{not_ranked} Label a sample in deployment before "
            "trusting LFP or drift."
        ]
    _, signal, model_id, s = best
    ci = f", 95% interval [{_n(s['ci_low'])}, {_n(s['ci_high'])}]" if s.get("ci_low") is not None else ""
    direction = "rises with" if s["value"] > 0 else "falls as"
    stats = f"r = {_n(s['value'])}{ci}, {s['n_points']} {s['over']}, {model_id}"
    if s.get("ci_low") is None or s["ci_low"] <= 0 <= s["ci_high"]:
        return [
            f"No label-free signal is shown to track the accuracy drop: the closest, "
            f"{SIGNAL_LABELS.get(signal, signal)} ({stats}), has an interval that includes 0.{not_ranked} "
            "Label a sample in deployment before trusting LFP or drift."
        ]
    return [
        f"Monitor {SIGNAL_LABELS.get(signal, signal)} in deployment: of the signals that could be "
        f"compared, it tracked the accuracy drop best ({stats}; it {direction} the drop).{not_ranked}"
    ]
