"""Downstream probes on stored embeddings: kNN and linear-probe accuracy, and the kNN flip rate.

An image-only encoder (DINOv2, a timm ViT) has no zero-shot classifier; its usefulness is what a
classifier built on its embeddings achieves (arXiv 2604.14973 measures the downstream accuracy drop
this way and shows the Divergence Radius predicts it). Everything here is computed post hoc from the
embeddings the run already stored: nothing is encoded again.

Protocol (fixed, recorded in the result under ``summary.models[m].probe``):

- Split: a seeded split of the clean images into a *support* half and a *query* half, stratified by
  class when the images are labelled (each class with >= 2 images has images on both sides; a class
  with one image is support only). Seed: ``derive_seed(run seed, "probe-split")``.
- kNN: cosine similarity to the support images' CLEAN embeddings, k = 10 but at most the support
  size of the smallest class (a larger k would let a small class never win a vote), majority vote,
  ties broken towards the class of the nearest neighbour (DINO's kNN evaluation uses a weighted vote
  over k = 20 on ImageNet (Caron et al. 2021); the plain vote is the textbook rule and needs no
  temperature).
- Linear probe: multinomial logistic regression (L2, C = 1, unpenalised intercept) on the support's
  clean embeddings standardised with the support's mean and std, fitted by L-BFGS from zeros, so it is
  deterministic (no seed involved); the objective of scikit-learn's ``LogisticRegression(C=1)``. Frozen
  features + a linear classifier is the linear-probe protocol of CLIP (Radford et al. 2021, sec. 3.2)
  and DINOv2 (Oquab et al. 2023, sec. 7).
- The probes never see a corrupted image: they are fitted once per model on clean support embeddings
  and only *applied* to each cell's query rows. Accuracies are over the query images; the drop is
  clean minus corrupted on the same query images, so its bootstrap interval is paired.
- kNN flip (label-free, every model): the share of query images whose nearest clean support image
  changes under the corruption. The neighbour's identity, not its label, so it needs no labels and
  means the same in labelled and unlabelled runs; the label-level analogue (the kNN class prediction
  changes, as LFP for zero-shot models) is ``knn_lfp``, computed when the probes are.

Intervals resample images with the run's shared bootstrap draws (``summary``); a query-only metric
is the mean over the resampled query images. The split and the fitted probes are held fixed, so the
intervals cover which images were evaluated, not the randomness of the split.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from robustlens.corruptions.seeding import derive_seed
from robustlens.evaluation.store import CLEAN, RunStore
from robustlens.evaluation.summary import Arrays, cell_metric
from robustlens.schemas import CorruptionPlan

SUPPORT_FRACTION = 0.5
K_NEIGHBOURS = 10
PROBE_C = 1.0
_CHUNK = 2048  # query rows per similarity block (bounded memory on large runs)


@dataclass(frozen=True)
class Split:
    """Sorted image positions of the support and query halves of the clean images."""

    support: np.ndarray
    query: np.ndarray
    stratified: bool


def support_query_split(
    labels: Sequence[int | None] | None, n: int, seed: int, fraction: float = SUPPORT_FRACTION
) -> Split:
    """Seeded split of n images; stratified by class when every image has a label."""
    rng = np.random.default_rng(seed)
    known = [int(y) for y in labels or () if y is not None]
    labelled = labels is not None and len(known) == len(labels) == n
    groups = (
        [np.flatnonzero(np.asarray(known) == c) for c in sorted(set(known))] if labelled else [np.arange(n)]
    )
    support: list[np.ndarray] = []
    for members in groups:
        members = rng.permutation(members)
        take = 1 if len(members) == 1 else max(1, min(len(members) - 1, round(fraction * len(members))))
        support.append(members[:take])
    chosen = np.sort(np.concatenate(support)) if support else np.zeros(0, np.int64)
    rest = np.setdiff1d(np.arange(n), chosen)
    return Split(chosen.astype(np.int64), rest.astype(np.int64), labelled)


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x / np.linalg.norm(x, axis=1, keepdims=True).clip(1e-12)


class KNN:
    """Cosine kNN over fixed support embeddings (ties in similarity: the lower support index first)."""

    def __init__(self, support_emb: np.ndarray, labels: np.ndarray | None, k: int = K_NEIGHBOURS) -> None:
        self.support = _unit(support_emb).astype(np.float32)  # float32: stored embeddings are float16
        self.labels = labels
        smallest = int(np.unique(labels, return_counts=True)[1].min()) if labels is not None else k
        self.k = max(1, min(k, len(self.support), smallest))

    def neighbours(self, emb: np.ndarray, k: int | None = None) -> np.ndarray:
        """(n, k) support indices, most similar first (k = 1: the nearest alone, one argmax)."""
        k = self.k if k is None else k
        out = []
        for start in range(0, len(emb), _CHUNK):
            sims = _unit(emb[start : start + _CHUNK]).astype(np.float32) @ self.support.T
            if k == 1:
                out.append(np.argmax(sims, axis=1)[:, None])
                continue
            part = np.argpartition(-sims, k - 1, axis=1)[:, :k]
            order = np.lexsort((part, -np.take_along_axis(sims, part, axis=1)), axis=1)
            out.append(np.take_along_axis(part, order, axis=1))
        return np.concatenate(out) if out else np.zeros((0, k), np.int64)

    def vote(self, neighbours: np.ndarray) -> np.ndarray:
        """Majority class of the neighbours; a tie goes to the tied class met first (the nearest)."""
        if self.labels is None:
            raise ValueError("kNN prediction needs support labels")
        votes_of = self.labels[neighbours]  # (n, k) classes, nearest first
        n_classes = int(self.labels.max()) + 1
        votes = np.zeros((len(votes_of), n_classes), np.int64)
        np.add.at(votes, (np.arange(len(votes_of))[:, None], votes_of), 1)
        tied = votes == votes.max(axis=1, keepdims=True)
        first = np.argmax(np.take_along_axis(tied, votes_of, axis=1), axis=1)
        return np.asarray(votes_of[np.arange(len(votes_of)), first])

    def predict(self, emb: np.ndarray) -> np.ndarray:
        return self.vote(self.neighbours(emb))


@dataclass
class LinearProbe:
    """Multinomial logistic regression (L2, C) on standardised features; see the module docstring."""

    mean: np.ndarray
    std: np.ndarray
    classes: np.ndarray
    weights: np.ndarray  # (D + 1, n_classes), last row the intercept
    converged: bool
    iterations: int

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray, c: float = PROBE_C) -> LinearProbe:
        from scipy.optimize import minimize

        x = np.asarray(x, dtype=np.float64)
        mean, std = x.mean(axis=0), x.std(axis=0).clip(1e-6)
        z = np.hstack([(x - mean) / std, np.ones((len(x), 1))])
        classes, target = np.unique(y, return_inverse=True)
        shape = (z.shape[1], len(classes))
        if len(classes) == 1:
            return cls(mean, std, classes, np.zeros(shape), True, 0)
        onehot = np.eye(len(classes))[target]

        def loss(flat: np.ndarray) -> tuple[float, np.ndarray]:
            w = flat.reshape(shape)
            logits = z @ w
            logits -= logits.max(axis=1, keepdims=True)
            log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
            penal = w.copy()
            penal[-1] = 0.0  # the intercept is not penalised (as scikit-learn)
            value = -(onehot * log_p).sum() + 0.5 / c * (penal**2).sum()
            grad = z.T @ (np.exp(log_p) - onehot) + penal / c
            return float(value), grad.ravel()

        res = minimize(loss, np.zeros(shape).ravel(), jac=True, method="L-BFGS-B", options={"maxiter": 1000})
        return cls(mean, std, classes, res.x.reshape(shape), bool(res.success), int(res.nit))

    def predict(self, x: np.ndarray) -> np.ndarray:
        z = (np.asarray(x, dtype=np.float64) - self.mean) / self.std
        logits = z @ self.weights[:-1] + self.weights[-1]
        return np.asarray(self.classes[np.argmax(logits, axis=1)])


@dataclass
class ModelProbes:
    """The probes of one model, fitted on its clean support embeddings, and its clean answers."""

    split: Split
    knn: KNN
    linear: LinearProbe | None
    labels: np.ndarray | None
    clean: dict[str, np.ndarray] = field(default_factory=dict)  # per image position

    def answers(self, emb: np.ndarray) -> dict[str, np.ndarray]:
        """Nearest support image and, with the accuracy probes, the kNN and linear-probe classes."""
        near = self.knn.neighbours(emb, None if self.linear is not None else 1)
        out = {"knn_nn": near[:, 0]}
        if self.linear is not None:
            out["knn_pred"] = self.knn.vote(near)
            out["probe_pred"] = self.linear.predict(emb)
        return out

    def query_answers(
        self, emb: np.ndarray, positions: np.ndarray
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """(query mask, answers) for rows at ``positions``; only query rows are computed (others -1)."""
        query = np.isin(positions, self.split.query)
        rows = np.flatnonzero(query)
        found = self.answers(emb[rows])
        out = {}
        for name, values in found.items():
            full = np.full(len(positions), -1, dtype=np.int64)
            full[rows] = values
            out[name] = full
        return query.astype(float), out

    def columns(self, emb: np.ndarray, positions: np.ndarray) -> dict[str, np.ndarray]:
        """Per-row columns of a cell whose rows are the images at ``positions`` (query rows only count)."""
        query, now = self.query_answers(emb, positions)
        cols = {"query": query, "knn_nn": now["knn_nn"], "knn_nn_clean": self.clean["knn_nn"][positions]}
        if self.labels is not None and self.linear is not None:
            truth = self.labels[positions]
            for name in ("knn", "probe"):
                cols[f"{name}_correct"] = (now[f"{name}_pred"] == truth).astype(float)
                cols[f"{name}_clean_correct"] = (self.clean[f"{name}_pred"][positions] == truth).astype(float)
            cols["knn_pred"], cols["knn_pred_clean"] = now["knn_pred"], self.clean["knn_pred"][positions]
        return cols

    def info(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "support_fraction": SUPPORT_FRACTION,
            "stratified": self.split.stratified,
            "n_support": len(self.split.support),
            "n_query": len(self.split.query),
            "knn": {"k": self.knn.k, "similarity": "cosine", "vote": "majority, ties to the nearest"},
            "fitted_on": "clean support images only",
        }
        if self.linear is not None:
            entry["linear_probe"] = {
                "model": "multinomial logistic regression",
                "C": PROBE_C,
                "standardised": True,
                "converged": self.linear.converged,
                "iterations": self.linear.iterations,
            }
        return entry


def fit_probes(
    clean_emb: np.ndarray, labels: Sequence[int | None] | None, run_seed: int, with_accuracy: bool
) -> ModelProbes | None:
    """Fit one model's probes on its clean embeddings (None with fewer than 2 images).

    ``with_accuracy``: fit the label-using probes (kNN classes, linear probe); only when every image
    has a label. The label-free kNN flip needs only the split and the support embeddings.
    """
    n = len(clean_emb)
    if n < 2:
        return None
    split = support_query_split(labels, n, derive_seed(run_seed, "probe-split"))
    y = np.asarray(labels, dtype=np.int64) if split.stratified and labels is not None else None
    use_labels = with_accuracy and y is not None
    support = clean_emb[split.support]
    knn = KNN(support, y[split.support] if use_labels and y is not None else None)
    linear = LinearProbe.fit(support, y[split.support]) if use_labels and y is not None else None
    probes = ModelProbes(split, knn, linear, y if use_labels else None)
    probes.clean = probes.query_answers(clean_emb, np.arange(n))[1]
    return probes


# ---------------------------------------------------------------- cell metrics (registered in summary)


def _query_mean(values: np.ndarray, query: np.ndarray, idx: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean over the query rows, and per bootstrap row over the resampled query rows."""
    total = query.sum()
    point = float((values * query).sum() / total) if total else float("nan")
    counts = query[idx].sum(axis=1)
    sums = (values * query)[idx].sum(axis=1)
    return point, np.divide(sums, counts, out=np.full(len(idx), np.nan), where=counts > 0)


def _column_metric(expr: str) -> Any:
    def fn(a: Arrays, idx: np.ndarray) -> tuple[float, np.ndarray]:
        q = a.need("query")
        if expr == "knn_flip":
            values = np.not_equal(a.need("knn_nn"), a.need("knn_nn_clean")).astype(float)
        elif expr == "knn_lfp":
            values = np.not_equal(a.need("knn_pred"), a.need("knn_pred_clean")).astype(float)
        elif expr.endswith("_drop"):
            name = expr.removesuffix("_accuracy_drop")
            values = a.need(f"{name}_clean_correct") - a.need(f"{name}_correct")
        else:
            values = a.need(f"{expr.removesuffix('_accuracy')}_correct")
        return _query_mean(values, q, idx)

    return fn


for _name, _needs, _clean_too in (
    ("knn_accuracy", ("query", "knn_correct"), True),
    ("probe_accuracy", ("query", "probe_correct"), True),
    ("knn_accuracy_drop", ("query", "knn_correct", "knn_clean_correct"), False),
    ("probe_accuracy_drop", ("query", "probe_correct", "probe_clean_correct"), False),
    ("knn_flip", ("query", "knn_nn", "knn_nn_clean"), False),
    ("knn_lfp", ("query", "knn_pred", "knn_pred_clean"), False),
):
    cell_metric(_name, _needs, _clean_too)(_column_metric(_name))


def model_probes(
    store: RunStore, model_id: str, clean_records: list[dict[str, Any]], run_seed: int
) -> ModelProbes | None:
    """A model's probes from its stored clean cell; accuracy probes only for labelled runs of a model
    with no zero-shot head (its clean records carry no ``pred``)."""
    if len(clean_records) < 2:
        return None
    labels = [r.get("label") for r in clean_records]
    zero_shot = clean_records[0].get("pred") is not None
    return fit_probes(store.read_embeddings(model_id, CLEAN, 0.0), labels, run_seed, not zero_shot)


def cell_columns(
    probes: ModelProbes | None,
    store: RunStore,
    model_id: str,
    corruption: str,
    severity: float,
    positions: Sequence[int],
) -> dict[str, np.ndarray]:
    """The probe columns of one stored cell (empty without probes); rows in the cell's record order."""
    if probes is None:
        return {}
    emb = store.read_embeddings(model_id, corruption, severity)
    if len(emb) != len(positions):
        return {}  # a cell whose embeddings do not match its records: no probe metrics, never wrong ones
    return probes.columns(emb, np.asarray(positions, dtype=np.int64))


TRACKED = ("l2_drift", "knn_flip")


def probe_summary(
    probes: ModelProbes,
    store: RunStore,
    plan: CorruptionPlan,
    model_id: str,
    reps: dict[tuple[str, str, float], dict[str, tuple[float, np.ndarray]]],
    idx: np.ndarray,
) -> dict[str, Any]:
    """The probe protocol and, with the accuracy probes, how the label-free signals track each probe's
    accuracy drop: Pearson r with a bootstrap interval and a ranked/not-ranked verdict, as for
    zero-shot models (``aggregate._tracking``). arXiv 2604.14973 reports that the Divergence Radius
    linearly predicts the downstream (probe) accuracy drop of image-only encoders: this is that check
    on the user's images (across corruptions for the radius, across cells for the others)."""
    from robustlens.evaluation.aggregate import _assess, _divergence, _series

    info = probes.info()
    corruptions, severities = [s.name for s in plan.specs], [float(v) for v in plan.severities]
    keys = [(model_id, c, s) for c in corruptions for s in severities]
    if probes.linear is None or not keys or any("probe_accuracy_drop" not in reps[k] for k in keys):
        return info
    radius = _divergence(store, model_id, corruptions, severities, idx, plan.seed)
    tracking: dict[str, Any] = {}
    for target in ("probe_accuracy_drop", "knn_accuracy_drop"):
        clean = reps[(model_id, CLEAN, 0.0)][target.removesuffix("_drop")][0]
        drop, drop_r = _series(reps, keys, target)
        signals = {
            name: _assess(name, *_series(reps, keys, name), drop, drop_r, clean, "cells")
            for name in TRACKED
            if name in reps[keys[0]]
        }
        if radius:
            per_c = [_series(reps, [(model_id, c, s) for s in severities], target) for c in corruptions]
            y = np.array([p.mean() for p, _ in per_c])
            y_r = np.stack([r.mean(axis=1) for _, r in per_c], axis=1)
            x = np.array([radius[c][0] for c in corruptions])
            x_r = np.stack([radius[c][1] for c in corruptions], axis=1)
            signals["divergence_radius"] = _assess("divergence_radius", x, x_r, y, y_r, clean, "corruptions")
        tracking[target] = {"n_cells": len(keys), "signals": signals}
    info["tracking"] = tracking
    return info


def mark_image_only(store: RunStore, model: Any) -> np.ndarray | None:
    """Record in the run's manifest that ``model`` has no text tower (``image_only_models``), so the
    report can say which metrics apply to it even in a label-free run. The engine's class text
    embeddings of such a model (or of a run without class names): None."""
    if getattr(model, "image_only", False):
        known = (store.read_manifest() or {}).get("image_only_models", [])
        store.update_manifest(image_only_models=sorted({*known, model.id}))
    return None
