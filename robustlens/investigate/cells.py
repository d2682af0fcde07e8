"""Per-image outcomes of finished cells, read from the run folder, for the investigation stages.

Every tolerance metric is written as the mean of one value per image, so one percentile bootstrap over
images (``robustlens.evaluation.stats.bootstrap_mean_ci``; Efron & Tibshirani 1993) gives its interval:

- ``accuracy_drop``: clean correct minus corrupted correct (1, 0 or -1) per image — a paired difference;
- ``balanced_accuracy_drop``: the same, weighted n / (K n_y) so the mean is the balanced-accuracy drop
  (class counts held at the full set's, a close approximation inside the bootstrap);
- ``lfp``: 1 when the prediction flips from the clean prediction (label flip probability);
- ``drift``: 1 - cosine similarity of corrupted and clean image embeddings (label-free runs without
  class names have no predictions to flip).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from robustlens.evaluation.stats import bootstrap_mean_ci
from robustlens.evaluation.store import CLEAN, RunStore
from robustlens.schemas import MetricValue, canonical_severity

METRICS = ("accuracy_drop", "balanced_accuracy_drop", "lfp", "drift")


def has_predictions(records: list[dict[str, Any]]) -> bool:
    return bool(records) and records[0].get("pred") is not None


def is_labelled(records: list[dict[str, Any]]) -> bool:
    return bool(records) and records[0].get("label") is not None and has_predictions(records)


def per_image_values(cell: list[dict[str, Any]], clean: list[dict[str, Any]], metric: str) -> np.ndarray:
    """One value per image whose mean is ``metric`` for the cell (see the module docstring)."""
    if metric == "drift":
        return 1.0 - np.array([r["cos"] for r in cell], dtype=float)
    pred = np.array([r["pred"] for r in cell])
    if metric == "lfp":
        return (pred != np.array([r["clean_pred"] for r in cell])).astype(float)
    label = np.array([r["label"] for r in cell])
    if len(clean) != len(cell):  # a cell of some of the images (adaptive sampling): the same images
        by_id = {r["id"]: r for r in clean}
        clean = [by_id[r["id"]] for r in cell]
    diff = (np.array([r["pred"] for r in clean]) == label).astype(float) - (pred == label)
    if metric == "accuracy_drop":
        return diff
    if metric == "balanced_accuracy_drop":
        classes, counts = np.unique(label, return_counts=True)
        n_of = dict(zip(classes.tolist(), counts.tolist(), strict=True))
        weight = np.array([len(label) / (len(classes) * n_of[y]) for y in label.tolist()])
        return diff * weight
    raise ValueError(f"unknown metric {metric!r}; one of {', '.join(METRICS)}")


def mean_interval(values: np.ndarray, n_boot: int = 1000, seed: int = 0) -> MetricValue:
    value, lo, hi = bootstrap_mean_ci(values, n_boot=n_boot, seed=seed)
    ok = not (np.isnan(lo) or np.isnan(hi))
    return MetricValue(value=value, ci_low=lo if ok else None, ci_high=hi if ok else None)


class RunCells:
    """Reads finished cells of one run folder (records cached; nothing is ever written here)."""

    def __init__(self, store: RunStore) -> None:
        self.store = store
        self._cache: dict[tuple[str, str, float], list[dict[str, Any]]] = {}

    def done(self, model_id: str, corruption: str, severity: float) -> bool:
        return self.store.is_done(model_id, corruption, canonical_severity(severity))

    def records(self, model_id: str, corruption: str, severity: float) -> list[dict[str, Any]]:
        key = (model_id, corruption, canonical_severity(severity))
        if key not in self._cache:
            self._cache[key] = self.store.read_records(*key)
        return self._cache[key]

    def clean(self, model_id: str) -> list[dict[str, Any]]:
        return self.records(model_id, CLEAN, 0.0)

    def severities(self, model_id: str, corruption: str) -> list[float]:
        """Every finished severity of one spec (plan ladder and extra rungs alike), ascending."""
        folder = self.store.cell_dir(model_id, corruption)
        found = [float(p.stem[1:]) for p in folder.glob("s*.jsonl")] if folder.is_dir() else []
        return sorted(canonical_severity(s) for s in found if s > 0)

    def values(self, model_id: str, corruption: str, severity: float, metric: str) -> np.ndarray:
        return per_image_values(self.records(model_id, corruption, severity), self.clean(model_id), metric)

    def values_on_common(
        self, model_id: str, cells: list[tuple[str, float]], metric: str
    ) -> list[np.ndarray]:
        """``values`` of several cells on the images all of them used (cells of adaptive sampling
        may hold different subsets), in image order, so they can be compared image by image."""
        rows = [self.records(model_id, c, s) for c, s in cells]
        common = set.intersection(*({r["id"] for r in recs} for recs in rows)) if rows else set()
        clean = self.clean(model_id)
        return [per_image_values([r for r in recs if r["id"] in common], clean, metric) for recs in rows]

    def metric_for(self, model_id: str, wanted: str) -> str:
        """``wanted`` when the records support it, else the label-free fallback (lfp, then drift)."""
        clean = self.clean(model_id)
        if wanted in ("accuracy_drop", "balanced_accuracy_drop") and is_labelled(clean):
            return wanted
        return "lfp" if has_predictions(clean) else "drift"
