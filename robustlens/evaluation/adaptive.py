"""Adaptive sampling (``--target-ci-width W``, issue 14): a cell stops taking images once it is decided.

Why: most cells of an audit are not close calls. A cell whose accuracy drop is 0.00 or 0.60 against a
tolerance of 0.05 is decided by a few dozen images; encoding hundreds more only narrows an interval
nobody reads. Only cells near the tolerance need every image.

How (a sequential design, every step seeded):

- **Order.** One order of the model's valid images, the same for every cell: per class a seeded
  permutation, interleaved in proportion to the class sizes, so every prefix is stratified with the
  full set's class mix (label-free: one seeded permutation). It depends on the run seed and the
  labels only, so every model and every resume sees the same order.
- **Floor.** No cell stops before every class has ``min(FLOOR_PER_CLASS, class size)`` images (and
  the prefix holds at least ``MIN_IMAGES``): a percentile bootstrap interval from a handful of
  images under-covers (Efron & Tibshirani 1993, ch. 13), and per-class recall needs some images.
- **Growth.** From the floor, every unfinished cell grows by ``max(STEP, GROWTH x size)`` images per
  round (geometric growth: the width shrinks like 1/sqrt(n), so each round gains a comparable
  amount of precision, and the number of rounds, each one DataLoader over every unfinished cell's
  next chunk, stays logarithmic in N: the accelerator stays busy).
- **Stop.** After each round the cell's 95% percentile bootstrap interval of the verdict's statistic
  is computed exactly as the report computes it (``summary``: the run's shared resamples restricted to
  the cell's images, ``subsets``): the paired accuracy drop against clean on the same images for
  ``accuracy_drop`` (the clean balanced accuracy minus the cell's, for ``balanced_accuracy_drop``),
  the label flip probability for label-free runs, the mean cosine drift without class names. The cell
  stops when the width is below W and its verdict is predictable ("narrow"), or when its verdict and
  its collapse call are both clear ("decided": the report's holds/fails call and collapse point would
  not change with more images), when it will stay inconclusive whatever the remaining images show
  ("futile", the same "inconclusive" in the report), or when every image is used ("all"). The
  predictions behind "decided" and "futile" spend an error budget over the looks (``spent``, Lan &
  DeMets 1983), so looking often does not inflate the chance of a call the full set would not make.
  "Clear" uses margins instead of a bound on the width (such as 2W): a bound keeps clearly failing
  cells running long after their call is settled (measured: 90% of the encodings at W = 0.1 on the
  demo with a 2W bound), while the margins (``StopRule``) are what keeps a lucky first chunk from
  deciding.

A stopped cell is written with the records and embeddings of the images it used, in image order;
``timings.jsonl`` records ``images_used``/``images_total`` and why it stopped. An unfinished cell is
not written, so a resumed run restarts it and, everything being seeded, reaches the same result.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from statistics import NormalDist
from typing import Any

import numpy as np

from robustlens.corruptions.seeding import derive_seed
from robustlens.evaluation.loader import CellJob
from robustlens.evaluation.store import CLEAN
from robustlens.evaluation.subsets import SubsetResamples, shared_resamples
from robustlens.evaluation.summary import CELL_METRICS, Arrays, interval
from robustlens.evaluation.zeroshot import cell_records
from robustlens.schemas import MetricValue

FLOOR_PER_CLASS = 10
MIN_IMAGES = 20
GROWTH = 0.25
STEP = 8  # the smallest round: a cell's call can settle between two batches' worth of images
Z = 1.959964  # the normal quantile of a two-sided 95% interval
#: per call (verdict, collapse) of a cell: the chance, over all its looks, that a stop makes a call the
#: full set would not make (spent over the looks by ``spent``)
ALPHA = 0.01
Z_MAX = 8.0  # a look that may spend nothing
_NORMAL = NormalDist()
#: ``analysis.collapse_points``' default: collapsed at half the clean accuracy
COLLAPSE_FRACTION = 0.5
#: the tolerance the report's verdict uses when the brief sets none (``report.verdict``)
DEFAULT_TOLERANCE = {True: ("accuracy_drop", 0.05), False: ("lfp", 0.10)}


def sampling_order(labels: Sequence[int | None], seed: int) -> np.ndarray:
    """Image positions in the order cells take them: per class a seeded permutation, interleaved in
    proportion to the class sizes (image k of a class of size s sorts at (k + 1/2) / s), so every
    prefix has the full set's class mix (an equal share per class would bias every prefix towards
    the small classes); one seeded permutation when any label is missing."""
    rng = np.random.default_rng(derive_seed(seed, "adaptive-order"))
    n = len(labels)
    if n == 0 or any(lab is None for lab in labels):
        return rng.permutation(n).astype(np.int64)
    by_class: dict[int, list[int]] = {}
    for pos, lab in enumerate(labels):
        by_class.setdefault(int(lab), []).append(pos)  # type: ignore[arg-type]
    keyed = []
    for c in sorted(by_class):
        members = np.array(by_class[c])[rng.permutation(len(by_class[c]))]
        keyed += [((k + 0.5) / len(members), c, int(p)) for k, p in enumerate(members)]
    return np.array([p for _, _, p in sorted(keyed)], dtype=np.int64)


def floor_size(order: np.ndarray, labels: Sequence[int | None], per_class: int | None = None) -> int:
    """Shortest prefix of ``order`` holding min(per_class, class size) images of every class (and at
    least min(MIN_IMAGES, n) images); ``per_class`` defaults to ``FLOOR_PER_CLASS``."""
    per_class = FLOOR_PER_CLASS if per_class is None else per_class
    n = len(order)
    if n == 0:
        return 0
    if any(lab is None for lab in labels):
        return min(n, MIN_IMAGES)
    sizes: dict[int, int] = {}
    for lab in labels:
        sizes[int(lab)] = sizes.get(int(lab), 0) + 1  # type: ignore[arg-type]
    need = {c: min(per_class, s) for c, s in sizes.items()}
    seen: dict[int, int] = dict.fromkeys(sizes, 0)
    for k, pos in enumerate(order):
        c = int(labels[int(pos)])  # type: ignore[arg-type]
        seen[c] += 1
        if all(seen[x] >= need[x] for x in need) and k + 1 >= min(MIN_IMAGES, n):
            return k + 1
    return n


def schedule(floor: int, n: int, chunk: int) -> list[int]:
    """Cell sizes after each round: the floor, then geometric growth, ending at n."""
    sizes = [min(floor, n)] if n else []
    while sizes and sizes[-1] < n:
        sizes.append(min(n, sizes[-1] + max(chunk, math.ceil(GROWTH * sizes[-1]))))
    return sizes


def tolerance(manifest: dict[str, Any], labelled: bool) -> tuple[str, float]:
    """The verdict's tolerance: the brief's (stored in the manifest) or the report's default."""
    chosen = (manifest.get("brief") or {}).get("tolerance")
    if chosen and (labelled or chosen.get("metric") == "lfp"):
        return str(chosen["metric"]), float(chosen["max"])
    return DEFAULT_TOLERANCE[labelled]


class StopRule:
    """The interval a stopped cell will show in the report, and whether to stop there.

    A cell is "decided" only when the two calls the report makes from it are settled: the verdict
    (its interval against the tolerance) and the collapse point (``analysis.collapse_points``:
    accuracy at most half the clean accuracy; LFP >= 0.5 label-free; cosine <= 0.5 without
    predictions). Settled means the cell's own interval is on one side *and* so would be the
    interval of all N images, with predictive probability 1 - (the error this look may spend, see
    ``look_z``): with m of N images and standard error se (the bootstrap interval's width / 3.92),
    the full-set estimate can still move by z se sqrt((N - m) / N) (finite-population prediction:
    the N - m images to come, drawn from the same population) and the full set's own half-width is
    the m-image one times sqrt(m / N). se is at least the rule-of-three resolution 3/m / 3.92 (no
    event in m images still allows a rate of 3/m at 95%; Hanley & Lippman-Hand 1983, JAMA 249:1743),
    so a lucky first chunk (a [0, 0] bootstrap interval) never decides a cell.

    "Futile" is the same prediction the other way round (a futility stop, as in group-sequential
    trials): the cell's interval straddles the tolerance now, and the interval of all N images would
    straddle it too wherever the estimate moves within its predictive reach, so more images cannot
    turn "inconclusive" into a verdict; the report shows the same "inconclusive". Its collapse call
    must be settled as for "decided". "Narrow" (the interval is narrower than W, at the rule-of-three
    resolution) needs the verdict settled or futile too: a narrow interval near the tolerance can
    still cross it (measured: two "holds" cells stopped as "inconclusive" on 400 demo images without
    this), but not the collapse call (W is the precision the user asked for).
    """

    def __init__(
        self,
        clean: list[dict[str, Any]],
        n_classes: int,
        seed: int,
        n_boot: int,
        metric: str,
        limit: float,
        looks: Sequence[int] = (),
    ) -> None:
        self.clean, self.n_classes = clean, n_classes
        self.looks = sorted(looks)
        self.subsets = SubsetResamples(seed, shared_resamples(seed, len(clean), n_boot))
        has_pred = bool(clean) and clean[0].get("pred") is not None
        has_label = bool(clean) and clean[0].get("label") is not None
        self.metric = "cosine" if not has_pred else metric if has_label else "lfp"
        self.limit = limit
        self.collapse = ("accuracy" if has_label else "lfp") if has_pred else "cosine"
        accuracy = float(np.mean([r["pred"] == r["label"] for r in clean])) if has_label and clean else 0.0
        self.collapse_at = COLLAPSE_FRACTION * accuracy if self.collapse == "accuracy" else 0.5
        if self.metric == "balanced_accuracy_drop":
            full = Arrays.from_records(clean, clean, n_classes)
            self.clean_balanced = CELL_METRICS["balanced_accuracy"][2](full, self.subsets.streams[0])[0]

    def _arrays(self, records: list[dict[str, Any]], positions: np.ndarray) -> tuple[Arrays, Any, np.ndarray]:
        base = [self.clean[p] for p in positions]
        return Arrays.from_records(records, base, self.n_classes), base, self.subsets.local(positions)

    def interval(self, records: list[dict[str, Any]], positions: np.ndarray) -> MetricValue:
        """The verdict's statistic with its 95% interval, exactly as ``summary`` reports the cell."""
        cell, base, rows = self._arrays(records, positions)
        if self.metric == "accuracy_drop":
            pc, rc = CELL_METRICS["accuracy"][2](Arrays.from_records(base, base, self.n_classes), rows)
            pa, ra = CELL_METRICS["accuracy"][2](cell, rows)
            return interval(pc - pa, rc - ra)
        if self.metric == "balanced_accuracy_drop":
            pa, ra = CELL_METRICS["balanced_accuracy"][2](cell, rows)
            return interval(self.clean_balanced - pa, self.clean_balanced - ra)
        return interval(*CELL_METRICS[self.metric][2](cell, rows))

    def z(self, m: int) -> float:
        """The predictive quantile of the look at m images (``look_z`` over this rule's looks)."""
        n = len(self.clean)
        before = max((s for s in self.looks if s < m), default=0)
        return look_z(before / n if n else 0.0, m / n if n else 1.0)

    def check(self, records: list[dict[str, Any]], positions: np.ndarray, width: float) -> str | None:
        """Why to stop: "narrow", "decided", "futile", or None (keep going)."""
        verdict = self.interval(records, positions)
        if verdict.ci_low is None or verdict.ci_high is None:
            return None
        m, n = len(positions), len(self.clean)
        z = self.z(m)
        call = "straddles" if self.metric == "cosine" else _predict(verdict, self.limit, m, n, z, True)
        settled = call in ("above", "below")
        straddles = self.metric == "cosine" or verdict.ci_low <= self.limit < verdict.ci_high
        futile = call == "straddles" and straddles
        if not settled and not futile:
            return None
        if max(verdict.ci_high - verdict.ci_low, 3.0 / m) < width:
            return "narrow"
        cell, _, rows = self._arrays(records, positions)
        collapse = interval(*CELL_METRICS[self.collapse][2](cell, rows))
        if _predict(collapse, self.collapse_at, m, n, z) is None:
            return None
        return "decided" if settled else "futile"


def spent(t: float) -> float:
    """Lan & DeMets' (1983, Biometrika 70:659) O'Brien-Fleming-type spending function: the share of
    ``ALPHA`` a sequential procedure may have used by information fraction t (here m / N).
    It spends almost nothing early (O'Brien & Fleming 1979, Biometrics 35:549), where a prediction
    from few images is least reliable, and all of ``ALPHA`` by t = 1."""
    if t <= 0:
        return 0.0
    return min(ALPHA, 2.0 * (1.0 - _NORMAL.cdf(_NORMAL.inv_cdf(1.0 - ALPHA / 2.0) / math.sqrt(min(t, 1.0)))))


def look_z(before: float, t: float) -> float:
    """The two-sided predictive quantile of a look at fraction t after one at ``before``: the error
    spent between them, spent(t) - spent(before), taken as this look's own (Bonferroni over looks,
    so the chance that any look of a cell makes a call the full set would not is at most ``ALPHA``
    per call)."""
    step = spent(t) - spent(before)
    return Z_MAX if step <= 0 else min(Z_MAX, _NORMAL.inv_cdf(1.0 - step / 2.0))


def _predict(
    mv: MetricValue, threshold: float, m: int, n: int, z: float, interval_too: bool = False
) -> str | None:
    """The call "above" / "below" (at or below) ``threshold`` that all n images would make, predicted
    from m with quantile z (see ``StopRule``): for the point estimate, or (``interval_too``) for the
    whole 95% interval, whose reported bounds must then lie on that side already, and which may also
    be predicted to "straddle" the threshold. None: not predictable yet."""
    if mv.ci_low is None or mv.ci_high is None:
        return None
    se = max(mv.ci_high - mv.ci_low, 3.0 / m) / (2 * Z)
    move = z * se * math.sqrt((n - m) / n)
    shrink = math.sqrt(m / n)  # the full set's interval: the m-image one, narrower by sqrt(m / n)
    half = Z * se * shrink if interval_too else 0.0
    if mv.value - move - half > threshold:
        return "above" if not interval_too or mv.ci_low > threshold else None
    if mv.value + move + half <= threshold:
        return "below" if not interval_too or mv.ci_high <= threshold else None
    low, high = (mv.value - mv.ci_low) * shrink, (mv.ci_high - mv.value) * shrink
    if interval_too and mv.value + move - low <= threshold < mv.value - move + high:
        return "straddles"
    return None


def run_adaptive(
    runner: Any,
    model: Any,
    jobs: list[CellJob],
    items: list[Any],
    text: np.ndarray | None,
    clean_emb: np.ndarray,
    clean_pred: list[int] | None,
    batch: int,
    workers: int,
) -> None:
    """Compute ``jobs`` (pending cells of one model) with adaptive sampling; see the module doc.

    Each round is one dataset of every unfinished cell's next chunk, encoded through
    ``runner._encode`` (DataLoader workers, the device path or Ray alike)."""
    width = float(runner.options.target_ci_width)
    store = runner.store
    ids, labels = [i.id for i in items], [i.label for i in items]
    n = len(items)
    order = sampling_order(labels, runner.plan.seed)
    sizes = schedule(floor_size(order, labels), n, STEP)
    metric, limit = tolerance(store.read_manifest() or {}, runner.images.labelled)
    n_classes = len(runner.images.class_names or [])
    rule = StopRule(
        store.read_records(model.id, CLEAN, 0.0),
        n_classes,
        runner.plan.seed,
        runner.options.n_boot,
        metric,
        limit,
        sizes,
    )
    inputs = runner._ensure_inputs(model, items, batch, workers)
    parts: dict[tuple[str, float], list[np.ndarray]] = {j.key: [] for j in jobs}
    seconds = dict.fromkeys(parts, 0.0)
    active, done_at = list(jobs), 0
    for size in sizes:
        chunk = tuple(int(p) for p in order[done_at:size])
        round_jobs = [CellJob(j.key, j.spec_json, j.severity, chunk) for j in active]
        dataset = runner._dataset(model, round_jobs, items, inputs)
        for job, emb, _, took in runner._encode(model, dataset, batch, workers):
            parts[job.key].append(emb)
            seconds[job.key] += took
        done_at = size
        still = []
        for job in active:
            start = time.perf_counter()
            used = order[:size]
            sort = np.argsort(used, kind="stable")
            positions, emb = used[sort], np.concatenate(parts[job.key])[sort]
            records = cell_records(
                [ids[p] for p in positions],
                [labels[p] for p in positions],
                emb,
                clean_emb[positions],
                text,
                model.logit_scale,
                model.logit_bias,
                None if clean_pred is None else [clean_pred[p] for p in positions],
                None,
            )
            why = "all" if size == n else rule.check(records, positions, width)
            seconds[job.key] += time.perf_counter() - start
            if why is None:
                still.append(job)
                continue
            corruption, severity = job.key
            store.write_cell(model.id, corruption, severity, records, emb)
            _timing(runner, model, job.key, size, n, seconds[job.key], batch, workers, why)
            runner.progress.cell_done()
            del parts[job.key]
        active = still


def _timing(
    runner: Any,
    model: Any,
    key: tuple[str, float],
    used: int,
    total: int,
    seconds: float,
    batch: int,
    workers: int,
    why: str,
) -> None:
    runner.store.log_timing(
        {
            "model": model.id,
            "corruption": key[0],
            "severity": key[1],
            "images": used,
            "images_used": used,
            "images_total": total,
            "stopped": why,
            "target_ci_width": runner.options.target_ci_width,
            "seconds": round(seconds, 4),
            "images_per_s": round(used / max(seconds, 1e-9), 2),
            "device": str(model.device),
            "batch_size": batch,
            "workers": workers,
        }
    )
