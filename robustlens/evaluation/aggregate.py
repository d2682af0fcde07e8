"""Model-level aggregates: mean corrupted performance, CE / mCE / relative mCE, Divergence Radius,
how well the label-free metrics track accuracy, and paired model comparisons.

All intervals reuse the run's shared bootstrap replicates (see ``summary``), so CE of a model and
of the reference are computed on the same resampled images.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np

from robustlens.evaluation import metrics as M
from robustlens.evaluation.store import CLEAN, RunStore
from robustlens.evaluation.summary import interval, paired
from robustlens.schemas import CorruptionPlan

Replicates = dict[tuple[str, str, float], dict[str, tuple[float, np.ndarray]]]
PAIRED_METRICS = ("accuracy", "balanced_accuracy", "lfp", "cosine")


def _mv(point: float, reps: np.ndarray) -> dict[str, Any]:
    return interval(point, reps).model_dump()


def model_level(
    store: RunStore,
    plan: CorruptionPlan,
    models: list[str],
    reference: str | None,
    reps: Replicates,
    idx: np.ndarray,
) -> dict[str, Any]:
    severities = [float(s) for s in plan.severities]
    corruptions = [s.name for s in plan.specs]
    out: dict[str, Any] = {"models": {}, "paired": []}
    for model_id in models:
        entry: dict[str, Any] = {"mean_corrupted": {}}
        cells = [reps[(model_id, c, s)] for c in corruptions for s in severities]
        for metric in cells[0] if cells else {}:
            points = np.array([c[metric][0] for c in cells])
            stack = np.stack([c[metric][1] for c in cells])
            entry["mean_corrupted"][metric] = _mv(float(points.mean()), stack.mean(axis=0))
        if reference and "accuracy" in reps[(model_id, CLEAN, 0.0)]:
            entry.update(_corruption_errors(model_id, reference, corruptions, severities, reps))
        entry["divergence_radius"] = _divergence(store, model_id, corruptions, severities, idx)
        entry["label_free_tracking"] = _tracking(
            model_id, corruptions, severities, reps, entry["divergence_radius"]
        )
        out["models"][model_id] = entry
    out["paired"] = _paired(models, corruptions, severities, reps)
    return out


def _error(reps: Replicates, model: str, corruption: str, severity: float) -> tuple[float, np.ndarray]:
    point, rep = reps[(model, corruption, severity)]["accuracy"]
    return 1.0 - point, 1.0 - rep


def _corruption_errors(
    model: str, ref: str, corruptions: list[str], severities: list[float], reps: Replicates
) -> dict[str, Any]:
    """CE_c, mCE and relative CE/mCE against the reference (Hendrycks & Dietterich 2019), top-1 error."""
    clean_m, clean_m_r = _error(reps, model, CLEAN, 0.0)
    clean_r, clean_r_r = _error(reps, ref, CLEAN, 0.0)
    ce, rce, ce_reps, rce_reps = {}, {}, [], []
    for c in corruptions:
        em = [_error(reps, model, c, s) for s in severities]
        er = [_error(reps, ref, c, s) for s in severities]
        point = M.corruption_error([e[0] for e in em], [e[0] for e in er])
        rel = M.relative_corruption_error([e[0] for e in em], clean_m, [e[0] for e in er], clean_r)
        num = np.sum([e[1] for e in em], axis=0)
        den = np.sum([e[1] for e in er], axis=0)
        r_ce = np.divide(num, den, out=np.full_like(num, np.nan), where=den != 0)
        rnum = num - len(severities) * clean_m_r
        rden = den - len(severities) * clean_r_r
        r_rce = np.divide(rnum, rden, out=np.full_like(rnum, np.nan), where=rden != 0)
        ce[c], rce[c] = _mv(point, r_ce), _mv(rel, r_rce)
        ce_reps.append((point, r_ce))
        rce_reps.append((rel, r_rce))
    return {
        "reference": ref,
        "ce": ce,
        "relative_ce": rce,
        "mce": _mv(float(np.mean([p for p, _ in ce_reps])), np.mean([r for _, r in ce_reps], axis=0)),
        "relative_mce": _mv(
            float(np.mean([p for p, _ in rce_reps])), np.mean([r for _, r in rce_reps], axis=0)
        ),
    }


def _divergence(
    store: RunStore, model: str, corruptions: list[str], severities: list[float], idx: np.ndarray
) -> dict[str, Any]:
    """Per corruption: mean over images of the Divergence Radius of {clean, every severity}."""
    if idx.size == 0:
        return {}
    clean = store.read_embeddings(model, CLEAN, 0.0)
    out = {}
    for c in corruptions:
        stack = np.stack([clean, *[store.read_embeddings(model, c, s) for s in severities]], axis=1)
        radii = M.divergence_radius(stack)
        out[c] = _mv(float(radii.mean()), radii[idx].mean(axis=1))
    return out


def _tracking(
    model: str, corruptions: list[str], severities: list[float], reps: Replicates, radius: dict[str, Any]
) -> dict[str, Any]:
    """Pearson r across cells between the accuracy drop and each label-free signal (DeepBench: ~ -0.9
    between LFP and balanced accuracy)."""
    keys = [(model, c, s) for c in corruptions for s in severities]
    if not keys or "accuracy_drop" not in reps[keys[0]]:
        return {}
    drop = np.array([reps[k]["accuracy_drop"][0] for k in keys])
    out: dict[str, Any] = {"n_cells": len(keys)}
    for name in ("lfp", "l2_drift", "confidence_drop"):
        if name in reps[keys[0]]:
            out[f"{name}_vs_accuracy_drop"] = _pearson(np.array([reps[k][name][0] for k in keys]), drop)
    if radius:
        per_c = np.array(
            [np.mean([reps[(model, c, s)]["accuracy_drop"][0] for s in severities]) for c in corruptions]
        )
        out["divergence_radius_vs_accuracy_drop"] = _pearson(
            np.array([radius[c]["value"] for c in corruptions]), per_c
        )
    return out


def _pearson(x: np.ndarray, y: np.ndarray) -> float | None:
    if len(x) < 3 or np.std(x) == 0 or np.std(y) == 0:
        return None
    return round(float(np.corrcoef(x, y)[0, 1]), 4)


def _paired(
    models: list[str], corruptions: list[str], severities: list[float], reps: Replicates
) -> list[dict[str, Any]]:
    rows = []
    grid = [(CLEAN, 0.0)] + [(c, s) for c in corruptions for s in severities]
    for a, b in combinations(models, 2):
        for c, s in grid:
            for metric in PAIRED_METRICS:
                if metric in reps[(a, c, s)] and metric in reps[(b, c, s)]:
                    pa, ra = reps[(a, c, s)][metric]
                    pb, rb = reps[(b, c, s)][metric]
                    rows.append(
                        {
                            "a": a,
                            "b": b,
                            "corruption": c,
                            "severity": s,
                            "metric": metric,
                            **paired(pa, ra, pb, rb),
                        }
                    )
    return rows
