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
from robustlens.evaluation.subsets import SubsetResamples
from robustlens.evaluation.summary import interval, paired
from robustlens.schemas import CorruptionPlan

Replicates = dict[tuple[str, str, float], dict[str, tuple[float, np.ndarray]]]
PAIRED_METRICS = ("accuracy", "balanced_accuracy", "lfp", "cosine", "probe_accuracy")


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
        radius = _divergence(store, model_id, corruptions, severities, idx, plan.seed)
        entry["divergence_radius"] = {c: _mv(*v) for c, v in radius.items()}
        entry["label_free_tracking"] = _tracking(model_id, corruptions, severities, reps, radius)
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
    store: RunStore, model: str, corruptions: list[str], severities: list[float], idx: np.ndarray, seed: int
) -> dict[str, tuple[float, np.ndarray]]:
    """Per corruption: mean over images of the Divergence Radius of {clean, every severity}, with its
    bootstrap replicates (the run's shared image resamples)."""
    if idx.size == 0:
        return {}
    clean = store.read_embeddings(model, CLEAN, 0.0)
    out = {}
    for c in corruptions:
        embs = [store.read_embeddings(model, c, s) for s in severities]
        rows = idx
        if any(len(e) != len(clean) for e in embs):  # adaptive sampling: the images every severity used
            common, embs = _common_images(store, model, c, severities, embs)
            clean_c, rows = clean[common], SubsetResamples(seed, idx).local(common)
        else:
            clean_c = clean
        radii = M.divergence_radius(np.stack([clean_c, *embs], axis=1))
        out[c] = (float(radii.mean()), radii[rows].mean(axis=1))
    return out


def _common_images(
    store: RunStore, model: str, corruption: str, severities: list[float], embs: list[np.ndarray]
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Sorted positions of the images every severity of ``corruption`` used, and each severity's
    embeddings of exactly those images (a subset cell stores its images in position order)."""
    pos_of = {r["id"]: k for k, r in enumerate((store.read_images() or {"images": []})["images"])}
    used = [[pos_of[r["id"]] for r in store.read_records(model, corruption, s)] for s in severities]
    common = np.array(sorted(set.intersection(*(set(u) for u in used))), dtype=np.int64)
    picked = []
    for positions, emb in zip(used, embs, strict=True):
        row = {p: k for k, p in enumerate(positions)}
        picked.append(emb[[row[p] for p in common]])
    return common, picked


# Fewer points than this and a correlation is not ranked (the demo's Divergence Radius r = 0.79 on 6
# corruptions has p = 0.064): a Pearson r on a handful of cells is mostly noise.
MIN_POINTS = 8
# 1 - |r| below this: the signal is an affine function of the accuracy drop on this run.
AFFINE_TOL = 1e-6
# Signals measured against the clean *prediction*: when every clean prediction is correct the clean
# prediction is the label, so they measure the corrupted error itself, not something a label-free
# monitor could add.
_RELATIVE_TO_CLEAN_PRED = {
    "lfp": "a changed prediction is an error: LFP equals the accuracy drop cell for cell",
    "confidence_drop": "the clean prediction is the true class: confidence drop restates the "
    "probability lost by the correct answer",
}


def _tracking(
    model: str,
    corruptions: list[str],
    severities: list[float],
    reps: Replicates,
    radius: dict[str, tuple[float, np.ndarray]],
) -> dict[str, Any]:
    """How each label-free signal tracks the accuracy drop: Pearson r across cells (Divergence
    Radius: across corruptions), with a bootstrap 95% interval and a verdict on whether the
    comparison can be ranked at all.

    DeepBench reports r ~ -0.90 between LFP and balanced accuracy; the Divergence Radius paper (arXiv
    2604.14973) reports it linearly predicts the accuracy drop. The interval resamples *images*: each
    of the run's shared bootstrap replicates recomputes every cell's metrics on the same resampled
    images, and r is recomputed across the cells of that replicate, so the interval includes the
    sampling noise of each cell and the correlation between cells (they hold the same images).
    A correlation is only ranked when it is informative (``status == "ok"``); otherwise ``reason``
    says why: a constant series, a signal that equals (or is an affine function of) the accuracy
    drop by construction, or fewer than ``MIN_POINTS`` distinct points.
    """
    keys = [(model, c, s) for c in corruptions for s in severities]
    if not keys or "accuracy_drop" not in reps[keys[0]]:
        return {}
    clean_acc = reps[(model, CLEAN, 0.0)]["accuracy"][0]
    drop, drop_r = _series(reps, keys, "accuracy_drop")
    out: dict[str, Any] = {"n_cells": len(keys), "min_points": MIN_POINTS, "signals": {}}
    for name in ("lfp", "l2_drift", "confidence_drop"):
        if name in reps[keys[0]]:
            x, x_r = _series(reps, keys, name)
            out["signals"][name] = _assess(name, x, x_r, drop, drop_r, clean_acc, "cells")
    if radius:
        per_c = [_series(reps, [(model, c, s) for s in severities], "accuracy_drop") for c in corruptions]
        y = np.array([p.mean() for p, _ in per_c])
        y_r = np.stack([r.mean(axis=1) for _, r in per_c], axis=1)
        x = np.array([radius[c][0] for c in corruptions])
        x_r = np.stack([radius[c][1] for c in corruptions], axis=1)
        out["signals"]["divergence_radius"] = _assess(
            "divergence_radius", x, x_r, y, y_r, clean_acc, "corruptions"
        )
    return out


def _series(reps: Replicates, keys: list[tuple[str, str, float]], name: str) -> tuple[np.ndarray, np.ndarray]:
    """Point values (cells,) and replicates (n_boot, cells) of one metric over cells."""
    return np.array([reps[k][name][0] for k in keys]), np.stack([reps[k][name][1] for k in keys], axis=1)


def _assess(
    name: str,
    x: np.ndarray,
    x_reps: np.ndarray,
    y: np.ndarray,
    y_reps: np.ndarray,
    clean_accuracy: float,
    over: str,
) -> dict[str, Any]:
    r = _pearson(x, y)
    entry: dict[str, Any] = {
        **_mv(float("nan") if r is None else r, _pearson_rows(x_reps, y_reps)),
        "over": over,
        "n_points": len(x),
        "n_distinct": len({(round(float(a), 9), round(float(b), 9)) for a, b in zip(x, y, strict=True)}),
    }
    entry["value"] = None if r is None else r
    status, reason = "ok", None
    too_few = f"too few {over}: {entry['n_distinct']} distinct points, at least {MIN_POINTS} needed"
    if len(x) < 3:
        status, reason = "too_few", too_few
    elif np.std(y) == 0:
        status, reason = "constant", "the accuracy drop is the same in every " + over[:-1]
    elif np.std(x) == 0:
        status, reason = "constant", "the signal is the same in every " + over[:-1]
    elif name in _RELATIVE_TO_CLEAN_PRED and clean_accuracy == 1.0:
        status, reason = (
            "degenerate",
            "every clean prediction is correct, so " + _RELATIVE_TO_CLEAN_PRED[name],
        )
    elif r is not None and 1.0 - abs(r) < AFFINE_TOL:
        status, reason = "degenerate", "the signal is an affine function of the accuracy drop on this run"
    elif entry["n_distinct"] < MIN_POINTS:
        status, reason = "too_few", too_few
    entry["status"], entry["reason"], entry["ranked"] = status, reason, status == "ok"
    return entry


def _pearson(x: np.ndarray, y: np.ndarray) -> float | None:
    if len(x) < 3 or np.std(x) == 0 or np.std(y) == 0:
        return None
    return round(float(np.corrcoef(x, y)[0, 1]), 4)


def _pearson_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson r of each row pair of (n_boot, points) matrices; nan where a row is constant."""
    if x.shape[1] < 3:
        return np.full(x.shape[0], np.nan)
    xc = x - x.mean(axis=1, keepdims=True)
    yc = y - y.mean(axis=1, keepdims=True)
    den = np.sqrt((xc**2).sum(axis=1) * (yc**2).sum(axis=1))
    num = (xc * yc).sum(axis=1)
    return np.divide(num, den, out=np.full(x.shape[0], np.nan), where=den > 1e-15)


def _paired(
    models: list[str], corruptions: list[str], severities: list[float], reps: Replicates
) -> list[dict[str, Any]]:
    """Model a minus model b per cell and metric, replicate by replicate (the same resampled images).
    With adaptive sampling two models' cells may hold different prefixes of the same image order;
    their replicates then share only the draws of the smaller prefix, so the pairing is partial."""
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
