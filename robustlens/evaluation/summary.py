"""Aggregate a run's per-image records into an ``AuditResult`` with bootstrap 95% intervals.

Uncertainty: percentile bootstrap over images (Efron & Tibshirani 1993). One seeded matrix of
resampled image indices is drawn per run and shared by every metric, cell and model: all cells hold
the same images in the same order, so a difference between two models (or between a cell and the
clean baseline) computed replicate by replicate is a *paired* bootstrap, and aggregates such as mCE
get intervals that respect the correlation between cells. A cell that used only some images
(adaptive sampling, ``--target-ci-width``) is resampled from the same draws restricted to its images
(``subsets``) and compared with the clean cell on those same images (its accuracy drop is paired).

Everything here is recomputed from the files in the run directory, so a resumed run and an
uninterrupted one produce the same summary.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from robustlens.evaluation import metrics as M
from robustlens.evaluation.stats import percentile_interval
from robustlens.evaluation.store import CLEAN, RunStore
from robustlens.evaluation.subsets import SubsetResamples, shared_resamples
from robustlens.schemas import AuditResult, CellResult, CorruptionPlan, DomainBrief, MetricValue, SkippedFile

ALPHA = 0.05
ECE_BINS = 15


@dataclass
class Arrays:
    """Per-image columns of one cell."""

    label: np.ndarray | None
    pred: np.ndarray | None
    conf: np.ndarray | None
    p_true: np.ndarray | None
    clean_pred: np.ndarray | None
    p_clean_pred: np.ndarray | None
    clean_conf: np.ndarray | None
    cos: np.ndarray
    l2: np.ndarray
    i2t: np.ndarray | None
    t2i: np.ndarray | None
    n_classes: int
    extra: dict[str, np.ndarray] = field(default_factory=dict)  # derived columns (probe.py)

    @classmethod
    def from_records(
        cls, records: list[dict[str, Any]], clean: list[dict[str, Any]], n_classes: int
    ) -> Arrays:
        def col(name: str, rows: list[dict[str, Any]] = records, dtype: Any = float) -> np.ndarray | None:
            if not rows or rows[0].get(name) is None:
                return None
            return np.array([r[name] for r in rows], dtype=dtype)

        return cls(
            label=col("label", dtype=np.int64),
            pred=col("pred", dtype=np.int64),
            conf=col("conf"),
            p_true=col("p_true"),
            clean_pred=col("clean_pred", dtype=np.int64),
            p_clean_pred=col("p_clean_pred"),
            clean_conf=col("conf", clean),
            cos=np.array([r["cos"] for r in records], dtype=float),
            l2=np.array([r["l2"] for r in records], dtype=float),
            i2t=col("i2t_rank", dtype=np.int64),
            t2i=col("t2i_rank", dtype=np.int64),
            n_classes=n_classes,
        )

    def get(self, name: str) -> np.ndarray | None:
        """A record column, or a derived one (``extra``), or None."""
        return self.extra[name] if name in self.extra else getattr(self, name, None)

    def need(self, name: str) -> np.ndarray:
        """A column a metric declared in ``needs`` (present whenever the metric is computed)."""
        value = self.get(name)
        if value is None:
            raise ValueError(f"the cell has no {name!r} column")
        arr: np.ndarray = value
        return arr

    @property
    def correct(self) -> np.ndarray:
        return (self.need("label") == self.need("pred")).astype(float)


# A cell metric: (point estimate, bootstrap replicates) from the arrays and the index matrix.
CellMetric = Callable[[Arrays, np.ndarray], tuple[float, np.ndarray]]
CELL_METRICS: dict[str, tuple[tuple[str, ...], bool, CellMetric]] = {}


def cell_metric(
    name: str, needs: tuple[str, ...] = (), clean_too: bool = True
) -> Callable[[CellMetric], CellMetric]:
    """Register a per-cell metric; ``needs`` names the Arrays fields it requires."""

    def decorate(fn: CellMetric) -> CellMetric:
        CELL_METRICS[name] = (needs, clean_too, fn)
        return fn

    return decorate


def mean_of(values: np.ndarray, idx: np.ndarray) -> tuple[float, np.ndarray]:
    return float(values.mean()), values[idx].mean(axis=1)


@cell_metric("accuracy", ("label", "pred"))
def _accuracy(a: Arrays, idx: np.ndarray) -> tuple[float, np.ndarray]:
    """Top-1 accuracy."""
    return M.accuracy(a.need("label"), a.need("pred")), a.correct[idx].mean(axis=1)


@cell_metric("balanced_accuracy", ("label", "pred"))
def _balanced(a: Arrays, idx: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean per-class recall over the classes present (the resample's own classes)."""
    y, ok = a.need("label")[idx], a.correct[idx]
    recalls = []
    for c in range(a.n_classes):
        mask = y == c
        count = mask.sum(axis=1)
        recalls.append(np.where(count > 0, (ok * mask).sum(axis=1) / np.maximum(count, 1), np.nan))
    reps = np.nanmean(np.stack(recalls, axis=1), axis=1)
    return M.balanced_accuracy(a.need("label"), a.need("pred"), a.n_classes), reps


@cell_metric("ece", ("label", "pred", "conf"))
def _ece(a: Arrays, idx: np.ndarray) -> tuple[float, np.ndarray]:
    """Expected calibration error, 15 equal-width confidence bins (Guo et al. 2017), via bincounts."""
    conf, ok = a.need("conf"), a.correct
    bins = np.clip(np.ceil(conf * ECE_BINS).astype(int) - 1, 0, ECE_BINS - 1)

    def ece(rows: np.ndarray) -> np.ndarray:
        n_rep, n = rows.shape
        flat = (np.arange(n_rep)[:, None] * ECE_BINS + bins[rows]).ravel()
        size = n_rep * ECE_BINS
        gap = np.bincount(flat, ok[rows].ravel(), size) - np.bincount(flat, conf[rows].ravel(), size).astype(
            float
        )
        return np.abs(gap.reshape(n_rep, ECE_BINS)).sum(axis=1) / n

    return float(ece(np.arange(len(ok))[None, :])[0]), ece(idx)


@cell_metric("ece_debiased", ("label", "pred", "conf"))
def _ece_debiased(a: Arrays, idx: np.ndarray) -> tuple[float, np.ndarray]:
    """Debiased l2 calibration error (Kumar et al. 2019), same 15 bins as ECE, as signed sqrt of the
    debiased squared error: unlike plug-in ECE (biased upward), its interval covers 0 for a
    calibrated model. See ``metrics.debiased_calibration_error``."""
    conf, ok = a.need("conf"), a.correct
    bins = np.clip(np.ceil(conf * ECE_BINS).astype(int) - 1, 0, ECE_BINS - 1)

    def debiased(rows: np.ndarray) -> np.ndarray:
        n_rep, n = rows.shape
        flat = (np.arange(n_rep)[:, None] * ECE_BINS + bins[rows]).ravel()
        size = n_rep * ECE_BINS

        def sums(w: np.ndarray | None) -> np.ndarray:
            return np.bincount(flat, w, size).reshape(n_rep, ECE_BINS)

        sq = M.debiased_squared_ece_from_bins(sums(None), sums(ok[rows].ravel()), sums(conf[rows].ravel()), n)
        return np.asarray(M.signed_sqrt(sq))

    return float(debiased(np.arange(len(ok))[None, :])[0]), debiased(idx)


@cell_metric("nll", ("label", "p_true"))
def _nll(a: Arrays, idx: np.ndarray) -> tuple[float, np.ndarray]:
    """Negative log-likelihood of the true class."""
    return mean_of(-np.log(np.clip(a.need("p_true"), 1e-12, 1.0)), idx)


@cell_metric("lfp", ("pred", "clean_pred"), clean_too=False)
def _lfp(a: Arrays, idx: np.ndarray) -> tuple[float, np.ndarray]:
    """Label flip probability (DeepBench): prediction differs from the clean prediction."""
    pred, clean_pred = a.need("pred"), a.need("clean_pred")
    flips = np.not_equal(pred, clean_pred).astype(float)
    return M.label_flip_probability(clean_pred, pred), flips[idx].mean(axis=1)


@cell_metric("confidence_drop", ("clean_conf", "p_clean_pred"), clean_too=False)
def _conf_drop(a: Arrays, idx: np.ndarray) -> tuple[float, np.ndarray]:
    """Clean confidence minus the corrupted probability of the clean-predicted class."""
    return mean_of(M.confidence_drop(a.need("clean_conf"), a.need("p_clean_pred")), idx)


@cell_metric("cosine", clean_too=False)
def _cos(a: Arrays, idx: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cosine similarity between clean and corrupted embeddings."""
    return mean_of(a.cos, idx)


@cell_metric("l2_drift", clean_too=False)
def _l2(a: Arrays, idx: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean Euclidean distance between clean and corrupted (normalised) embeddings."""
    return mean_of(a.l2, idx)


def _recall_metric(direction: str, k: int) -> CellMetric:
    def fn(a: Arrays, idx: np.ndarray) -> tuple[float, np.ndarray]:
        ranks = a.need(direction)
        return mean_of(np.less(ranks, k).astype(float), idx)

    return fn


for _d in ("i2t", "t2i"):
    for _k in (1, 5, 10):
        cell_metric(f"{_d}_r{_k}", (_d,))(_recall_metric(_d, _k))


def interval(point: float, reps: np.ndarray) -> MetricValue:
    """Point estimate with the percentile interval of its replicates (undefined replicates, e.g. a
    resample with no error in the reference model, are left out)."""
    reps = reps[np.isfinite(reps)]
    if not np.isfinite(point):
        return MetricValue(value=float("nan"))
    if reps.size < 2:
        return MetricValue(value=round(point, 6))
    lo, hi = percentile_interval(reps, ALPHA)
    return MetricValue(value=round(point, 6), ci_low=round(float(lo), 6), ci_high=round(float(hi), 6))


def paired(point_a: float, reps_a: np.ndarray, point_b: float, reps_b: np.ndarray) -> dict[str, float | None]:
    """Paired bootstrap of a difference a - b (same resampled images for both)."""
    diff = reps_a - reps_b
    diff = diff[np.isfinite(diff)]
    value = interval(point_a - point_b, diff)
    p = float(min(1.0, 2 * min((diff <= 0).mean(), (diff >= 0).mean()))) if diff.size else None
    return {"diff": value.value, "ci_low": value.ci_low, "ci_high": value.ci_high, "p_value": p}


def summarize(
    store: RunStore,
    plan: CorruptionPlan,
    models: list[str],
    reference: str | None,
    *,
    brief: DomainBrief | None = None,
    n_boot: int = 1000,
) -> AuditResult:
    """Build the AuditResult of a finished run from its files alone."""
    from robustlens.evaluation.aggregate import model_level

    manifest = store.read_manifest() or {}
    images = store.read_images() or {"images": [], "skipped": []}
    identity = manifest.get("identity", {})
    class_names = identity.get("class_names")
    n_classes = len(class_names or [])
    n = len(images["images"])
    idx = shared_resamples(plan.seed, n, n_boot)
    subsets = SubsetResamples(plan.seed, idx)  # cells that used some images (adaptive sampling)
    pos_of = {r["id"]: k for k, r in enumerate(images["images"])}
    cells: list[CellResult] = []
    replicates: dict[tuple[str, str, float], dict[str, tuple[float, np.ndarray]]] = {}
    all_models = list(dict.fromkeys([*models, *([reference] if reference else [])]))
    grid = [(CLEAN, 0.0)] + [(s.name, float(v)) for s in plan.specs for v in plan.severities]
    probes: dict[str, Any] = {}
    for model_id in all_models:
        clean_records = store.read_records(model_id, CLEAN, 0.0)
        probes[model_id] = _probe.model_probes(store, model_id, clean_records, plan.seed)
        for corruption, severity in grid:
            records = (
                clean_records if corruption == CLEAN else store.read_records(model_id, corruption, severity)
            )
            rows, base = idx, clean_records
            if len(records) != len(clean_records):  # a subset: paired with clean on the same images
                records = sorted(records, key=lambda r: pos_of[r["id"]])
                positions = np.array([pos_of[r["id"]] for r in records], dtype=np.int64)
                rows, base = subsets.local(positions), [clean_records[p] for p in positions]
            arrays = Arrays.from_records(records, base, n_classes)
            arrays.extra = _probe.cell_columns(
                probes[model_id], store, model_id, corruption, severity, [pos_of[r["id"]] for r in records]
            )
            values: dict[str, tuple[float, np.ndarray]] = {}
            for name, (needs, clean_too, fn) in CELL_METRICS.items():
                if (corruption == CLEAN and not clean_too) or any(arrays.get(f) is None for f in needs):
                    continue
                if n:
                    values[name] = fn(arrays, rows)
            if corruption != CLEAN and "accuracy" in values:
                clean_acc = replicates[(model_id, CLEAN, 0.0)]["accuracy"]
                if base is not clean_records:
                    clean_acc = _accuracy(Arrays.from_records(base, base, n_classes), rows)
                values["accuracy_drop"] = (
                    clean_acc[0] - values["accuracy"][0],
                    clean_acc[1] - values["accuracy"][1],
                )
            replicates[(model_id, corruption, severity)] = values
            cells.append(
                CellResult(
                    model_id=model_id,
                    corruption=corruption,
                    severity=severity,
                    n_images=len(records),
                    metrics={k: interval(*v) for k, v in values.items()},
                    records_path=str(
                        store.records_path(model_id, corruption, severity).relative_to(store.root)
                    ),
                )
            )
    summary = model_level(store, plan, all_models, reference, replicates, idx)
    for model_id, fitted in probes.items():  # the probe protocol of each model (split, k, C), tracking
        if fitted is not None and model_id in summary["models"]:
            summary["models"][model_id]["probe"] = _probe.probe_summary(
                fitted, store, plan, model_id, replicates, idx
            )
    return AuditResult(
        run_id=store.root.name,
        brief=brief,
        plan=plan,
        models=list(models),
        reference_model=reference,
        labelled=bool(identity.get("labelled")),
        class_names=class_names,
        cells=cells,
        summary=summary,
        skipped=[SkippedFile(**s) for s in images.get("skipped", [])],
        dataset_fingerprint=str(identity.get("dataset", "")),
        seed=plan.seed,
        versions=manifest.get("versions", {}),
        command=manifest.get("command", ""),
    )


# The kNN / linear-probe cell metrics register themselves (they need Arrays and cell_metric above).
from robustlens.evaluation import probe as _probe  # noqa: E402
