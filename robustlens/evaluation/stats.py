"""Uncertainty for reported metrics: percentile bootstrap over images, and paired model comparisons.

Images are the sampling unit: a resample draws n images with replacement and keeps every array's
rows for the same images together (labels, predictions, probabilities, embeddings). The interval is
the percentile bootstrap interval (Efron & Tibshirani 1993, "An Introduction to the Bootstrap",
ch. 13): the alpha/2 and 1 - alpha/2 quantiles of the statistic over the resamples. Results are
deterministic for a seed: the resample indices come from ``np.random.default_rng(seed)`` in chunks
whose size depends only on n, so ``bootstrap_ci(np.mean, x)`` and ``bootstrap_mean_ci(x)`` use the
very same resamples.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

_CHUNK_ELEMENTS = 2**22  # resample indices generated at a time (32 MB of int64)


def _check(n_boot: int, alpha: float) -> None:
    if int(n_boot) != n_boot or n_boot < 1:
        raise ValueError(f"n_boot must be a positive integer, got {n_boot}")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")


def _length(arrays: tuple[np.ndarray, ...], what: str = "arrays") -> int:
    if not arrays:
        raise ValueError(f"{what}: at least one array is needed")
    lengths = {a.shape[0] if a.ndim else -1 for a in arrays}
    if len(lengths) != 1 or -1 in lengths:
        shapes = [a.shape for a in arrays]
        raise ValueError(f"{what} must share their first axis (one row per image), got shapes {shapes}")
    return lengths.pop()


def _resamples(n: int, n_boot: int, seed: int) -> Iterator[np.ndarray]:
    """Index matrices (rows, n), n_boot rows in all, each row n image indices drawn with replacement."""
    rng = np.random.default_rng(seed)
    rows = max(1, _CHUNK_ELEMENTS // n)
    for start in range(0, n_boot, rows):
        yield rng.integers(0, n, size=(min(rows, n_boot - start), n))


def percentile_interval(values: np.ndarray, alpha: float) -> tuple[float, float]:
    """Percentile interval; a nan statistic in any resample makes the interval nan (never hidden)."""
    if np.isnan(values).any():
        return float("nan"), float("nan")
    lo, hi = np.quantile(values, [alpha / 2, 1 - alpha / 2])
    return float(lo), float(hi)


def bootstrap_ci(
    statistic: Callable[..., float],
    *arrays: np.ndarray,
    n_boot: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
) -> tuple[float, float, float]:
    """Percentile bootstrap interval of ``statistic(*arrays)`` resampling images jointly.

    Returns (value on the full data, low, high). Every array is resampled along its first axis with the
    same indices, so e.g. ``bootstrap_ci(accuracy, y_true, y_pred)`` keeps label and prediction paired.
    With fewer than 2 images there is no sampling variability to estimate: returns (value, nan, nan).
    The statistic is called ``n_boot`` times; for means of per-image values use the vectorised
    :func:`bootstrap_mean_ci`, which gives the same numbers for the same seed.
    """
    _check(n_boot, alpha)
    arrs = tuple(np.asarray(a) for a in arrays)
    n = _length(arrs)
    value = float(statistic(*arrs))
    if n < 2:
        return value, float("nan"), float("nan")
    stats = np.empty(n_boot)
    i = 0
    for chunk in _resamples(n, n_boot, seed):
        for idx in chunk:
            stats[i] = statistic(*(a[idx] for a in arrs))
            i += 1
    return (value, *percentile_interval(stats, alpha))


def bootstrap_mean_ci(
    values: np.ndarray, n_boot: int = 1000, alpha: float = 0.05, seed: int = 0
) -> tuple[float, float, float]:
    """Vectorised percentile bootstrap interval of the mean of per-image values.

    For metrics that are means over images (accuracy from a 0/1 correctness vector, label flip
    probability, NLL from per-image losses, mean cosine drift, ...). Draws the same resamples as
    :func:`bootstrap_ci` for the same seed, as (rows, n) index matrices, so the result equals
    ``bootstrap_ci(np.mean, values)`` up to summation rounding. About 0.1 s for n = 10,000 and
    n_boot = 1000. Returns (mean, low, high); (mean, nan, nan) for n < 2, (nan, nan, nan) for n = 0.
    """
    _check(n_boot, alpha)
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1:
        raise ValueError(f"values must be 1-D (one value per image), got shape {v.shape}")
    n = v.size
    value = float(v.mean()) if n else float("nan")
    if n < 2:
        return value, float("nan"), float("nan")
    means = np.concatenate([v[idx].mean(axis=1) for idx in _resamples(n, n_boot, seed)])
    return (value, *percentile_interval(means, alpha))


@dataclass(frozen=True)
class PairedComparison:
    """Result of :func:`paired_bootstrap`: diff = stat(a) - stat(b) with its interval and p-value."""

    diff: float
    ci_low: float
    ci_high: float
    p_value: float


def paired_bootstrap(
    statistic: Callable[..., float],
    arrays_a: tuple[np.ndarray, ...],
    arrays_b: tuple[np.ndarray, ...],
    n_boot: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
) -> PairedComparison:
    """Paired bootstrap comparison of two models evaluated on the same images.

    ``diff = statistic(*arrays_a) - statistic(*arrays_b)``. Each resample draws one set of image
    indices and applies it to both models' arrays (paired design), so image difficulty cancels out
    and the interval is much narrower than comparing two separate intervals. The interval is the
    percentile interval of the resampled differences (Efron & Tibshirani 1993). The two-sided p-value
    is twice the fraction of resampled differences on the other side of 0 from ``diff`` (a difference
    of exactly 0 counts as the other side, conservatively), capped at 1; it is 1 when ``diff == 0``.
    Its resolution is 2 / n_boot: p = 0 means p < 2 / n_boot. Fewer than 2 images give nan bounds and
    a nan p-value.
    """
    _check(n_boot, alpha)
    a = tuple(np.asarray(x) for x in arrays_a)
    b = tuple(np.asarray(x) for x in arrays_b)
    n = _length(a + b, "arrays_a and arrays_b")
    diff = float(statistic(*a)) - float(statistic(*b))
    if n < 2:
        return PairedComparison(diff, float("nan"), float("nan"), float("nan"))
    diffs = np.empty(n_boot)
    i = 0
    for chunk in _resamples(n, n_boot, seed):
        for idx in chunk:
            diffs[i] = float(statistic(*(x[idx] for x in a))) - float(statistic(*(x[idx] for x in b)))
            i += 1
    low, high = percentile_interval(diffs, alpha)
    if np.isnan(diff) or np.isnan(diffs).any():
        p = float("nan")
    elif diff == 0:
        p = 1.0
    else:
        other = np.mean(diffs <= 0) if diff > 0 else np.mean(diffs >= 0)
        p = min(1.0, 2.0 * float(other))
    return PairedComparison(diff, low, high, p)
