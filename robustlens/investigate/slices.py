"""Failure slices: coherent groups of images that fail more often than the rest under one cell.

Candidate groups come from the clean images only (so they describe the data, not the corruption):
k-means clusters of the clean image embeddings (seeded k-means++, Arthur & Vassilvitskii 2007), the
quartiles of simple image statistics (brightness, contrast, sharpness = variance of the Laplacian,
Pech-Pacheco et al. 2000, and pixel count), the class and the source folder. A failure is an error
when the run is labelled and a prediction flip from the clean prediction when it is label-free.

Each group's failure rate is compared with the rest's by a percentile bootstrap over images
(Efron & Tibshirani 1993) of the difference of the two rates. Many groups are tested at once, so the
interval is Bonferroni-widened to 1 - 0.05 / m for m candidate groups: a slice is *significant* when
that interval excludes 0, which keeps the expected number of false slices on random failures below
0.05 per cell.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from robustlens.evaluation.stats import percentile_interval
from robustlens.investigate.records import Slice
from robustlens.schemas import MetricValue

ALPHA = 0.05
MIN_SIZE = 3
STATS = ("brightness", "contrast", "sharpness", "size")
QUARTER = ("lowest", "second", "third", "highest")


def image_stats(path: Path) -> dict[str, float]:
    """Brightness and contrast (mean and std of gray, 0..1), sharpness, pixel count of one image."""
    from PIL import Image

    with Image.open(path) as im:
        size = float(im.width * im.height)
        im.draft("L", (256, 256))
        gray = np.asarray(im.convert("L"), dtype=np.float64) / 255.0
    lap = gray[1:-1, 1:-1] * 4 - gray[:-2, 1:-1] - gray[2:, 1:-1] - gray[1:-1, :-2] - gray[1:-1, 2:]
    sharp = float(lap.var()) if lap.size else 0.0
    return {"brightness": float(gray.mean()), "contrast": float(gray.std()), "sharpness": sharp, "size": size}


def kmeans(x: np.ndarray, k: int, seed: int = 0, iters: int = 25) -> np.ndarray:
    """Seeded k-means++ on L2-normalised rows; returns one cluster index per row."""
    x = x / np.linalg.norm(x, axis=1, keepdims=True).clip(1e-12)
    rng = np.random.default_rng(seed)
    centres = [x[rng.integers(len(x))]]
    for _ in range(1, k):
        d = np.min([((x - c) ** 2).sum(1) for c in centres], axis=0)
        centres.append(x[rng.choice(len(x), p=d / d.sum())] if d.sum() > 0 else x[rng.integers(len(x))])
    c = np.stack(centres)
    assign = np.zeros(len(x), dtype=int)
    for _ in range(iters):
        assign = ((x[:, None, :] - c[None]) ** 2).sum(-1).argmin(1)
        new = np.stack([x[assign == j].mean(0) if (assign == j).any() else c[j] for j in range(k)])
        if np.allclose(new, c):
            break
        c = new
    return assign


def candidate_groups(
    ids: Sequence[str],
    embeddings: np.ndarray | None = None,
    stats: Mapping[str, Mapping[str, float]] | None = None,
    classes: Sequence[str | None] | None = None,
    folders: Sequence[str] | None = None,
    seed: int = 0,
) -> list[tuple[str, str, np.ndarray]]:
    """(kind, description, member mask) for every candidate group of at least MIN_SIZE images."""
    n = len(ids)
    groups: list[tuple[str, str, np.ndarray]] = []
    if embeddings is not None and n >= 16:
        assign = kmeans(np.asarray(embeddings, dtype=np.float64), min(4, n // 8), seed)
        groups += [
            ("cluster", f"embedding cluster {j + 1} of {assign.max() + 1}", assign == j)
            for j in range(assign.max() + 1)
        ]
    for name in STATS if stats else ():
        values = np.array([stats[i].get(name, np.nan) for i in ids], dtype=np.float64)  # type: ignore[index]
        if np.isnan(values).any() or np.unique(values).size < 4:
            continue
        edges = np.quantile(values, [0.25, 0.5, 0.75])
        bins = np.searchsorted(edges, values, side="right")
        for q in range(4):
            lo = f"{edges[q - 1]:.3g}" if q else None
            hi = f"{edges[q]:.3g}" if q < 3 else None
            where = (
                f"{name} < {hi}"
                if lo is None
                else (f"{name} >= {lo}" if hi is None else f"{lo} <= {name} < {hi}")
            )
            groups.append((name, f"{QUARTER[q]} quarter by {name} ({where})", bins == q))
    for kind, keys in (("class", classes), ("folder", folders)):
        if keys is None:
            continue
        arr = np.array([str(k) for k in keys])
        if np.unique(arr).size < 2:
            continue
        groups += [(kind, f"{kind} '{v}'", arr == v) for v in sorted(set(arr.tolist()))]
    kept: list[tuple[str, str, np.ndarray]] = []
    for g in groups:  # the same images twice (folders named after classes) would be tested twice
        if MIN_SIZE <= g[2].sum() < n and not any(np.array_equal(g[2], k[2]) for k in kept):
            kept.append(g)
    return kept


def _rate(f: np.ndarray, m: np.ndarray) -> np.ndarray:
    count = m.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, (f * m).sum(axis=-1) / np.maximum(count, 1), np.nan)


def find_slices(
    model_id: str,
    corruption: str,
    severity: float,
    ids: Sequence[str],
    failed: np.ndarray,
    groups: Sequence[tuple[str, str, np.ndarray]],
    *,
    outcome: str = "error",
    n_boot: int = 1000,
    seed: int = 0,
    limit: int = 6,
    examples: int = 4,
) -> list[Slice]:
    """Groups whose failure rate differs from the rest's, most over-represented first (significant
    ones before the others); ``failed`` is one bool per image of ``ids``."""
    f = np.asarray(failed, dtype=float)
    n = len(f)
    if n < 2 or not groups or f.sum() == 0:
        return []
    alpha = ALPHA / len(groups)
    idx = np.random.default_rng(seed).integers(0, n, size=(n_boot, n))
    fb = f[idx]
    out: list[Slice] = []
    for kind, description, member in groups:
        m = member.astype(float)
        rate_in, rate_out = _rate(f, m), _rate(f, 1 - m)
        mb = m[idx]
        diffs = _rate(fb, mb) - _rate(fb, 1 - mb)
        diffs = diffs[~np.isnan(diffs)]
        lo, hi = percentile_interval(diffs, alpha) if diffs.size else (float("nan"), float("nan"))
        failing = [ids[int(i)] for i in np.flatnonzero(member & (f > 0))][:examples]
        out.append(
            Slice(
                model_id=model_id,
                corruption=corruption,
                severity=severity,
                kind=kind,
                description=description,
                n_images=int(member.sum()),
                failure_rate=MetricValue(value=float(rate_in)),
                rest_rate=MetricValue(value=float(rate_out)),
                difference=MetricValue(value=float(rate_in - rate_out), ci_low=lo, ci_high=hi),
                significant=bool(lo > 0 or hi < 0),
                outcome=outcome,
                image_ids=failing,
            )
        )
    out.sort(
        key=lambda s: (not (s.significant and s.difference.value > 0), -s.difference.value, s.description)
    )
    return out[:limit]
