"""Tolerance bisection brackets a planted threshold; planted failure slices are found, random ones not."""

from __future__ import annotations

import numpy as np
from PIL import Image

from robustlens.investigate.slices import candidate_groups, find_slices, image_stats
from robustlens.investigate.tolerance import search_tolerance
from robustlens.investigate.units import physical_levels
from robustlens.schemas import CorruptionSpec, PrimitiveCall

SPEC = CorruptionSpec(name="blur", recipe=[PrimitiveCall(name="gaussian_blur")])
N = 200


def planted(threshold: float):
    """Accuracy drop 0 below ``threshold``, 0.5 from it (half the images turn wrong)."""

    def values(severity: float) -> np.ndarray:
        return np.where(np.arange(N) % 2 == 0, 1.0, 0.0) if severity >= threshold else np.zeros(N)

    return values


def test_bisection_brackets_a_planted_threshold_and_reuses_finished_cells():
    threshold = 2.6
    fn = planted(threshold)
    known = {s: fn(s) for s in (1.0, 2.0, 3.0, 4.0, 5.0)}
    asked: list[float] = []

    def evaluate(severity: float) -> np.ndarray:
        asked.append(severity)
        return fn(severity)

    r = search_tolerance(
        "m", SPEC, metric="accuracy_drop", tolerance=0.05, known=known, evaluate=evaluate, max_new=5
    )
    assert r.status == "bracketed"
    assert r.tolerated_severity < threshold <= r.failing_severity
    assert r.failing_severity - r.tolerated_severity <= r.resolution
    assert asked and not set(asked) & set(known)  # ladder cells reused, never re-evaluated
    assert 2.0 < asked[0] < 3.0
    sigma = next(p for p in r.physical if p.param == "sigma")
    assert sigma.value == physical_levels(SPEC, r.tolerated_severity)[0].value
    assert 2.0 < sigma.value < 3.0 and "px" in sigma.text  # gaussian_blur ladder 1,2,3,4,6 px


def test_fails_at_the_mildest_level_and_within_all():
    r = search_tolerance(
        "m",
        SPEC,
        metric="lfp",
        tolerance=0.1,
        known={1.0: planted(0.0)(1.0)},
        evaluate=planted(0.0),
        max_new=3,
    )
    assert r.status == "fails_mildest" and r.tolerated_severity is None and r.physical == []
    r = search_tolerance(
        "m",
        SPEC,
        metric="lfp",
        tolerance=0.1,
        known={s: np.zeros(N) for s in (1, 2, 3, 4, 5)},
        evaluate=planted(9.0),
    )
    assert r.status == "within_all" and r.tolerated_severity == 5.0 and r.evaluated == [1, 2, 3, 4, 5]


def _images(tmp_path, n: int, dark: set[int]):
    rng = np.random.default_rng(3)
    stats, folders = {}, []
    for i in range(n):
        level = 30 if i in dark else 170
        px = np.clip(rng.normal(level, 25, (24, 24, 3)), 0, 255).astype(np.uint8)
        folder = tmp_path / ("a" if i % 2 else "b")
        folder.mkdir(exist_ok=True)
        Image.fromarray(px).save(folder / f"{i}.png")
        stats[f"{i}"] = image_stats(folder / f"{i}.png")
        folders.append(folder.name)
    return stats, folders


def test_planted_dark_slice_is_found_and_random_failures_give_none(tmp_path):
    n = 48
    dark = set(range(0, n, 4))  # a quarter of the images are dark; all of them fail
    ids = [f"{i}" for i in range(n)]
    stats, folders = _images(tmp_path, n, dark)
    emb = np.random.default_rng(0).normal(size=(n, 8))
    groups = candidate_groups(
        ids, emb, stats, classes=["x" if i % 3 else "y" for i in range(n)], folders=folders
    )
    assert {g[0] for g in groups} >= {"cluster", "brightness", "class", "folder"}
    same = candidate_groups(ids, classes=folders, folders=folders)  # folders named after classes
    assert [g[0] for g in same] == ["class", "class"], "one test per distinct group of images"
    rng = np.random.default_rng(1)
    failed = np.array([i in dark or rng.random() < 0.1 for i in range(n)])
    found = find_slices("m", "blur", 3.0, ids, failed, groups)
    top = found[0]
    assert top.significant and top.kind == "brightness" and "lowest" in top.description
    assert top.difference.ci_low > 0 and set(top.image_ids) <= {f"{i}" for i in dark}
    random_failed = np.random.default_rng(7).random(n) < 0.3
    assert not any(s.significant for s in find_slices("m", "blur", 3.0, ids, random_failed, groups))
