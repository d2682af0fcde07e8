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
  ("futile", the same "inconclusive" in the report), or when every image is used ("all"). The rule
  (``adaptive_rule.StopRule``) predicts the full-set estimate class by class (the order is
  stratified, so the images to come are the rest of each class), and its predictions spend an
  error budget over the looks (Lan & DeMets 1983), so looking often does not inflate the chance of
  a call the full set would not make. "Clear" uses margins instead of a bound on the width (such
  as 2W): a bound keeps clearly failing cells running long after their call is settled (measured:
  90% of the encodings at W = 0.1 on the demo with a 2W bound).

Measured (``benchmarks/adaptive_sampling.py --floor 10 --widths 0.05 --replay``, demo brief, 2 models
x 30 cells; every verdict, collapse point, collapsed severity and non-monotone flag as in the full
run; a real run on 120 images uses the replay's images cell for cell): 69.7% of the encodings on 120
images, 57.5% on 400; with ``--seed 1`` 73.9% / 56.1% (before the clean-correctness
post-stratification of ``adaptive_rule``: 71.7% / 59.7% and 75.3% / 57.7%).
The issue's 50% is out of reach on this set without weaker error control. On 120 images the clean
cells, the floor and the 7 cells whose accuracy is exactly the collapse threshold (0.500 against
half of a clean 1.0: one more right or wrong image flips the call, so no rule can stop them) take
42.3%, leaving 11 images a cell for the other 53; most inconclusive cells end within 0.01-0.03 of the
tolerance. The error budget per call (``adaptive_rule.ALPHA``, ``--alpha``) buys the rest: 0.05 gives
67.0% / 53.4% (120 / 400 images), 0.2 62.6% / 47.8%, 0.5 54.8% with 3 verdicts wrong / 42.2%; a
hindsight oracle that knows the full-set calls uses 42.0% / 32.1%. Under other seeded orders
(``--orders``) ALPHA = 0.01 uses 70.9% / 56.4% on average with no wrong verdict (one wrong collapse
call in 600 on 400 images, a cell 0.01 from the threshold, the same before the post-stratification);
ALPHA = 0.2 uses 45.5% on 400 images but gets 3 verdicts and 1 collapse point wrong in 10 orders.
Measured and not kept: a Pocock-type spending function (70.8% on 120, was 71.7%); GROWTH 0.1 (69.6% /
58.6% before the post-stratification, for about twice the rounds); GROWTH 0.15 (1-2 points for 40-90%
more rounds); a lower floor (5 or 7 per class: no change, the spending function keeps early looks
strict); the rule-of-three floor on the pooled variance instead of per class (1-2 points fewer, but a
class whose images all agree would count as certain once another class varies); skipping collapse calls
that do not move the first collapsed severity (every such call on the demo changes the collapsed
severities or the non-monotone flag the report prints).

A stopped cell is written with the records and embeddings of the images it used, in image order;
``timings.jsonl`` records ``images_used``/``images_total`` and why it stopped. An unfinished cell is
not written, so a resumed run restarts it and, everything being seeded, reaches the same result.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from robustlens.corruptions.seeding import derive_seed
from robustlens.evaluation.adaptive_rule import ALPHA, COLLAPSE_FRACTION, StopRule, Z, look_z, spent
from robustlens.evaluation.loader import CellJob
from robustlens.evaluation.store import CLEAN
from robustlens.evaluation.zeroshot import cell_records

__all__ = ["ALPHA", "COLLAPSE_FRACTION", "StopRule", "Z", "look_z", "spent"]  # the rule's names, re-exported

FLOOR_PER_CLASS = 10
MIN_IMAGES = 20
GROWTH = 0.25
STEP = 8  # the smallest round: a cell's call can settle between two batches' worth of images
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
