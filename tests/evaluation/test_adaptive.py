"""Adaptive sampling (``--target-ci-width``): real engine runs of the bundled demo model on demo images."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import robustlens.evaluation.adaptive as AD
from robustlens.data.sources import open_images
from robustlens.errors import UserInputError
from robustlens.evaluation.engine import EngineOptions, evaluate
from robustlens.evaluation.store import CLEAN, RunStore
from robustlens.evaluation.subsets import SubsetResamples, shared_resamples
from robustlens.schemas import AuditResult, CorruptionPlan

MODEL = "demo:textile"
FLOOR = 3  # per class (24 images, 8 per class: the floor is 9 images)
WIDTH = 0.3
PLAN = {
    "seed": 5,
    "severities": [1],
    "specs": [
        {"name": "noise", "rationale": "sensor noise", "recipe": [{"name": "gaussian_noise"}]},
        {"name": "blur", "rationale": "defocus", "recipe": [{"name": "defocus_blur"}]},
    ],
}


def _evaluate(out: Path, cache: Path, width: float | None = WIDTH) -> AuditResult:
    images = open_images("demo:textile", max_images=24, seed=0)
    options = EngineOptions(
        workers=0, n_boot=200, batch_size=4, target_ci_width=width, cache_dir=cache, device="cpu"
    )
    return evaluate(CorruptionPlan.model_validate(PLAN), images, [MODEL], out, options=options)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, AuditResult]:
    root = tmp_path_factory.mktemp("adaptive")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(AD, "FLOOR_PER_CLASS", FLOOR)
        mp.setattr(AD, "MIN_IMAGES", 3 * FLOOR)
        result = _evaluate(root / "run", root / "cache")
    return root / "run", result


def _cells(result: AuditResult) -> list[Any]:
    return [c for c in result.cells if c.corruption != CLEAN]


def test_cells_stop_early_and_floors_hold(run: tuple[Path, AuditResult]) -> None:
    out, result = run
    store = RunStore(out)
    sizes = Counter(r["label"] for r in store.read_records(MODEL, CLEAN, 0.0))
    used = {(c.corruption, c.severity): c.n_images for c in _cells(result)}
    assert min(used.values()) < 24, used
    for corruption, severity in used:
        records = store.read_records(MODEL, corruption, severity)
        per_class = Counter(r["label"] for r in records)
        assert all(per_class[k] >= min(FLOOR, n) for k, n in sizes.items()), (corruption, per_class)
        assert len(np.load(store.embeddings_path(MODEL, corruption, severity))) == len(records)
    timings = {(t["corruption"], t["severity"]): t for t in store.timings()}
    for key, n in used.items():
        assert timings[key]["images_used"] == n and timings[key]["images_total"] == 24
        assert timings[key]["stopped"] in ("narrow", "decided", "futile", "all")
    early = [t["stopped"] for key, t in timings.items() if used[key] < 24]
    assert early and set(early) <= {
        "narrow",
        "decided",
        "futile",
    }  # "all" only for cells that used every image


def test_subset_drop_is_paired_with_clean_and_is_the_stop_rule_interval(
    run: tuple[Path, AuditResult],
) -> None:
    out, result = run
    store = RunStore(out)
    clean = store.read_records(MODEL, CLEAN, 0.0)
    cell = min(_cells(result), key=lambda c: c.n_images)
    records = store.read_records(MODEL, cell.corruption, cell.severity)
    pos = {r["id"]: k for k, r in enumerate(clean)}
    positions = np.array([pos[r["id"]] for r in records])
    assert list(positions) == sorted(positions)  # stored in image order
    paired = np.mean([clean[p]["pred"] == clean[p]["label"] for p in positions]) - np.mean(
        [r["pred"] == r["label"] for r in records]
    )
    drop = cell.metrics["accuracy_drop"]
    assert drop.value == pytest.approx(paired, abs=1e-6)
    rule = AD.StopRule(clean, 3, 5, 200, "accuracy_drop", 0.05)
    assert rule.interval(records, positions) == drop  # what the run stopped on is what the report shows


def test_report_says_so(run: tuple[Path, AuditResult]) -> None:
    from robustlens.report.render import write_report

    out, result = run
    written = write_report(out, ["md", "csv"])
    lo, hi = min(c.n_images for c in _cells(result)), max(c.n_images for c in _cells(result))
    early = sum(c.n_images < 24 for c in _cells(result))
    futile = sum(t["stopped"] == "futile" for t in RunStore(out).timings())
    line = f"adaptive sampling: target width 0.3; cells used {lo}..{hi} of 24 images; {early} cell"
    assert line in written["md"].read_text()
    assert f"stopped early ({futile} futile)" in written["md"].read_text()
    rows = list(csv.DictReader(written["csv"].open()))
    assert {int(r["n_images"]) for r in rows if r["corruption"] != CLEAN} == {
        c.n_images for c in _cells(result)
    }


def test_unfinished_cell_restarts_to_the_same_files_and_width_is_identity(
    run: tuple[Path, AuditResult], tmp_path: Path
) -> None:
    out, result = run
    store = RunStore(out)
    cell = max(_cells(result), key=lambda c: c.n_images)
    paths = [store.records_path(MODEL, cell.corruption, cell.severity)]
    paths.append(store.embeddings_path(MODEL, cell.corruption, cell.severity))
    before = [p.read_bytes() for p in [*paths, out / "result.json"]]
    for p in paths:
        p.unlink()  # the cell never finished
    (out / "result.json").unlink()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(AD, "FLOOR_PER_CLASS", FLOOR)
        mp.setattr(AD, "MIN_IMAGES", 3 * FLOOR)
        _evaluate(out, tmp_path / "cache")
        with pytest.raises(UserInputError, match="target_ci_width"):
            _evaluate(out, tmp_path / "cache", width=0.2)  # other widths are other cells
    assert [p.read_bytes() for p in [*paths, out / "result.json"]] == before


def test_order_is_stratified_and_seeded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(AD, "MIN_IMAGES", 0)
    labels = [0] * 10 + [1] * 4 + [2] * 6
    order = AD.sampling_order(labels, seed=1)
    assert sorted(order.tolist()) == list(range(20))
    assert order.tolist() == AD.sampling_order(labels, seed=1).tolist()
    assert order.tolist() != AD.sampling_order(labels, seed=2).tolist()
    for k in range(1, 21):  # every prefix keeps the class mix (10 : 4 : 6) within one image
        counts = Counter(labels[p] for p in order[:k])
        assert all(abs(counts[c] - k * share) < 1 for c, share in ((0, 0.5), (1, 0.2), (2, 0.3)))
    floor = AD.floor_size(order, labels, per_class=5)  # class 1 has 4: all of them; 5 of the others
    assert (
        min(Counter(labels[p] for p in order[:floor]).get(c, 0) - need for c, need in enumerate((5, 4, 5)))
        == 0
    )
    before = Counter(labels[p] for p in order[: floor - 1])
    assert any(before[c] < need for c, need in enumerate((5, 4, 5)))  # the shortest such prefix
    assert AD.schedule(10, 100, 8) == [10, 18, 26, 34, 43, 54, 68, 85, 100]
    free = AD.sampling_order([None] * 7, seed=1)
    assert sorted(free.tolist()) == list(range(7))


def test_subset_resamples_extend_the_shared_draws() -> None:
    shared = shared_resamples(seed=3, n=50, n_boot=100)
    subsets = SubsetResamples(3, shared)
    assert subsets.local(np.arange(50)) is shared  # full cells: the run's own resamples
    positions = np.array([1, 4, 9, 20, 33, 41])
    rows = subsets.local(positions)
    assert rows.shape == (100, 6) and rows.min() >= 0 and rows.max() <= 5
    first = shared[0][np.isin(shared[0], positions)][:6]  # the first shared draws in the subset
    assert positions[rows[0, : len(first)]].tolist() == first.tolist()
    again = SubsetResamples(3, shared_resamples(seed=3, n=50, n_boot=100)).local(positions)
    assert np.array_equal(rows, again)


def test_stop_rule_calls_clear_cells_and_waits_on_close_ones() -> None:
    clean = [
        {"id": str(i), "label": i % 2, "pred": i % 2, "conf": 0.9, "cos": 1.0, "l2": 0.0} for i in range(80)
    ]
    rule = AD.StopRule(clean, 2, 0, 200, "accuracy_drop", 0.05)
    first = np.arange(20)

    def wrong(positions: np.ndarray, k: int) -> list[dict[str, Any]]:  # the first k images flip
        flip = [(p, 1 - clean[p]["label"] if n < k else clean[p]["pred"]) for n, p in enumerate(positions)]
        return [{**clean[p], "pred": pred, "clean_pred": clean[p]["pred"]} for p, pred in flip]

    assert rule.interval(wrong(first, 20), first).value == 1.0
    assert rule.check(wrong(first, 20), first, 0.1) == "decided"  # every image wrong: fails, collapsed
    assert rule.check(wrong(first, 20), first, 0.2) == "narrow"  # [1, 1], at the 3/20 resolution
    # no image changed in 20: a [0, 0] bootstrap interval, but 0 of 20 still allows 3/20 > 0.05
    assert rule.interval(wrong(first, 0), first).ci_high == 0.0
    assert rule.check(wrong(first, 0), first, 0.1) is None
    assert rule.check(wrong(first, 0), first, 0.2) is None  # narrow enough, but not clearly within
    every = np.arange(80)
    assert rule.check(wrong(every, 0), every, 0.1) == "narrow"  # 3/80 <= 0.05: clearly holds
    assert rule.check(wrong(every, 0), every, 0.02) == "decided"  # no collapse either
    assert rule.check(wrong(first, 3), first, 0.1) is None  # drop 0.15 [0, 0.3]: straddles
    # half wrong: fails the tolerance clearly, but accuracy 0.5 sits on the collapse threshold
    assert rule.check(wrong(first, 10), first, 0.3) is None
    assert rule.check(wrong(first, 18), first, 0.1) == "decided"  # wide, but clear on both counts
    free = AD.StopRule([{k: v for k, v in r.items() if k != "label"} | {"label": None} for r in clean],
                       0, 0, 200, "accuracy_drop", 0.05)  # fmt: skip
    assert free.metric == "lfp"
    assert AD.tolerance({"brief": {"tolerance": {"metric": "lfp", "max": 0.2}}}, True) == ("lfp", 0.2)
    assert AD.tolerance({}, False) == ("lfp", 0.1)


def _flips(clean: list[dict[str, Any]], positions: np.ndarray, k: int) -> list[dict[str, Any]]:
    """A cell where k of every 20 images (in order) turn wrong: an accuracy drop of k / 20."""
    return [
        {
            **clean[p],
            "pred": 1 - clean[p]["label"] if n % 20 < k else clean[p]["pred"],
            "clean_pred": clean[p]["pred"],
        }
        for n, p in enumerate(positions)
    ]


CLEAN200 = [
    {"id": str(i), "label": i % 2, "pred": i % 2, "conf": 0.9, "cos": 1.0, "l2": 0.0} for i in range(200)
]


def test_futility_stops_a_cell_that_stays_inconclusive_and_narrow_needs_a_settled_call() -> None:
    rule = AD.StopRule(CLEAN200, 2, 0, 200, "accuracy_drop", 0.05, looks=(40, 80, 120, 160, 200))
    late, early = np.arange(160), np.arange(40)
    mv = rule.interval(_flips(CLEAN200, late, 1), late)  # drop 0.05 on the tolerance, interval straddling
    assert mv.ci_low is not None and mv.ci_high is not None and mv.ci_low <= 0.05 < mv.ci_high
    assert rule.check(_flips(CLEAN200, late, 1), late, 0.01) == "futile"  # 40 more images cannot decide it
    assert rule.check(_flips(CLEAN200, early, 1), early, 0.01) is None  # 160 more still might
    assert rule.check(_flips(CLEAN200, late, 2), late, 0.01) is None  # drop 0.10: may still fail clearly
    # [0, 0.125] is narrower than 0.2 but straddles 0.05 and may end on either side: not "narrow"
    assert rule.check(_flips(CLEAN200, early, 1), early, 0.2) is None


def test_error_spending_over_looks() -> None:
    """Lan-DeMets O'Brien-Fleming-type spending: all of ALPHA by t = 1, little early; Bonferroni over
    the looks' increments, so a cell's looks together spend at most ALPHA."""
    from statistics import NormalDist

    assert AD.spent(1.0) == pytest.approx(AD.ALPHA)
    assert AD.look_z(0.0, 1.0) == pytest.approx(NormalDist().inv_cdf(1 - AD.ALPHA / 2))
    looks = [0.2, 0.4, 0.6, 0.8, 1.0]
    steps = [AD.spent(t) - AD.spent(b) for b, t in zip([0.0, *looks], looks, strict=False)]
    assert sum(steps) == pytest.approx(AD.ALPHA) and all(x > 0 for x in steps)
    zs = [AD.look_z(b, t) for b, t in zip([0.0, *looks], looks, strict=False)]
    assert zs == sorted(zs, reverse=True) and zs[0] > 4  # the first look needs overwhelming evidence
    rule = AD.StopRule(CLEAN200, 2, 0, 200, "accuracy_drop", 0.05, looks=(40, 80, 120, 160, 200))
    alone = AD.StopRule(CLEAN200, 2, 0, 200, "accuracy_drop", 0.05)
    assert rule.z(120) > alone.z(120)  # a look after others may spend only its own increment
    assert AD.schedule(39, 120, AD.STEP) == [39, 49, 62, 78, 98, 120]


def _one_class_cell(pattern: tuple[int, ...], n: int = 200) -> tuple[list[dict[str, Any]], Any]:
    """Clean records (every image right) with labels cycling through ``pattern``, and a cell that
    predicts class 0 for every image (what the demo model does under heavy blur)."""
    clean = [
        {"id": str(i), "label": pattern[i % len(pattern)], "pred": pattern[i % len(pattern)], "conf": 0.9}
        | {"cos": 1.0, "l2": 0.0}
        for i in range(n)
    ]

    def cell(positions: np.ndarray) -> list[dict[str, Any]]:
        return [{**clean[p], "pred": 0, "clean_pred": clean[p]["pred"]} for p in positions]

    return clean, cell


def test_stratified_prediction_settles_a_one_class_cell_but_not_one_on_the_threshold() -> None:
    """Class 0 holds 60% of the images and the cell predicts class 0 everywhere: accuracy 0.6 (no
    collapse at 0.5) and a drop of 0.4 (fails). Pooled, the 0/1 outcomes look like a coin (p(1-p) =
    0.24) and 80 of 200 images cannot settle the collapse call; within each class nothing varies
    (recall 1 and 0), so the stratified prediction settles it, up to the per-class rule of three."""
    clean, cell = _one_class_cell((0, 0, 0, 1, 2))
    rule = AD.StopRule(clean, 3, 0, 200, "accuracy_drop", 0.05, looks=(40, 80, 120, 160, 200))
    first = np.arange(80)  # the stratified order's prefix: 48 / 16 / 16
    guess = rule.predict("accuracy", cell(first), first)
    assert guess is not None and guess.center == pytest.approx(0.6)
    se = [3 / m / (2 * AD.Z) for m in (48, 16, 16)]  # the rule-of-three floor of each class
    var = sum(u * s * e**2 for u, s, e in zip((72, 24, 24), (120, 40, 40), se, strict=True)) / 200**2
    assert guess.sd == pytest.approx(var**0.5)
    assert rule.check(cell(first), first, 0.01) == "decided"
    # class 0 holds exactly half: accuracy 0.5 sits on the collapse threshold, so one more right or
    # wrong image of the rest flips the call: it waits for all images at every look
    clean, cell = _one_class_cell((0, 0, 1, 2))
    rule = AD.StopRule(clean, 3, 0, 200, "accuracy_drop", 0.05, looks=(40, 80, 120, 160, 200))
    for m in (40, 80, 120, 160):
        assert rule.check(cell(np.arange(m)), np.arange(m), 0.01) is None


def test_stratified_prediction_is_exact_at_the_full_set_and_pooled_within_one_class() -> None:
    clean, _ = _one_class_cell((0, 1, 1, 2))
    rng = np.random.default_rng(0)
    wrong = rng.random(200) < np.array([0.1, 0.4, 0.4, 0.7] * 50)
    records = [
        {**r, "pred": (r["label"] + 1) % 3 if w else r["label"]} for r, w in zip(clean, wrong, strict=True)
    ]
    every = np.arange(200)
    full = AD.StopRule(clean, 3, 0, 200, "accuracy_drop", 0.05).predict("accuracy_drop", records, every)
    assert full is not None and full.sd == 0 and full.center == pytest.approx(wrong.mean())
    balanced = AD.StopRule(clean, 3, 0, 200, "balanced_accuracy_drop", 0.05)
    recalls = [1 - wrong[[r["label"] == c for r in clean]].mean() for c in range(3)]
    got = balanced.predict("balanced_accuracy_drop", records, every)
    assert got is not None and got.center == pytest.approx(1 - np.mean(recalls))
    one = [{**r, "label": 0, "pred": 0} for r in clean]  # one class: the pooled finite-population SD
    ones = [{**r, "pred": 1 if w else 0} for r, w in zip(one, wrong, strict=True)]
    seen = np.arange(50)
    guess = AD.StopRule(one, 2, 0, 200, "accuracy_drop", 0.05).predict("accuracy", ones[:50], seen)
    s = wrong[:50].astype(float).std(ddof=1)
    assert guess is not None and guess.sd == pytest.approx(s * ((200 - 50) / (200 * 50)) ** 0.5)
    assert AD.StopRule(one, 2, 0, 200, "lfp", 0.1).predict("lfp", ones[:50], seen) is None


def _clean_half_wrong_rare() -> list[dict[str, Any]]:
    """200 clean records, two classes; every 5th image is wrong on clean (20 per class)."""
    return [
        {"id": str(i), "label": i % 2, "pred": (1 - i % 2) if i % 5 == 0 else i % 2, "conf": 0.9}
        | {"cos": 1.0, "l2": 0.0}
        for i in range(200)
    ]


def test_post_stratified_prediction_uses_clean_correctness(monkeypatch: pytest.MonkeyPatch) -> None:
    """Corrupted images right where clean was right, but one in 20 images also wrong (accuracy 0.75):
    within a class correctness varies a lot, within class x clean correctness far less.
    Each part of a class with SUBSTRATUM_FLOOR seen images is its own stratum (Holt & Smith 1979)."""
    import robustlens.evaluation.adaptive_rule as rule_module

    clean = _clean_half_wrong_rare()

    def cell(positions: np.ndarray) -> list[dict[str, Any]]:
        ok = [clean[p]["pred"] == clean[p]["label"] and p % 20 != 1 for p in positions]
        return [
            {
                **clean[p],
                "pred": clean[p]["label"] if o else 1 - clean[p]["label"],
                "clean_pred": clean[p]["pred"],
            }
            for p, o in zip(positions, ok, strict=True)
        ]

    def expected_sd(m: int, split: bool) -> float:
        every = np.arange(200)
        ok = np.array([r["pred"] == r["label"] for r in cell(every)], dtype=float)
        clean_ok = np.array([r["pred"] == r["label"] for r in clean])
        var = 0.0
        for c in (0, 1):
            parts = [(every % 2 == c) & (clean_ok == k) for k in (False, True)] if split else [every % 2 == c]
            for part in parts:
                xs = ok[part & (every < m)]
                se2 = max(xs.var(ddof=1) / len(xs), (3 / len(xs) / (2 * AD.Z)) ** 2)
                var += (part.sum() - len(xs)) * part.sum() * se2 / 200**2
        return float(var**0.5)

    rule = AD.StopRule(clean, 2, 0, 200, "accuracy_drop", 0.05)
    seen = np.arange(120)  # 12 clean-wrong images per class seen: each part is its own stratum
    guess = rule.predict("accuracy", cell(seen), seen)
    assert guess is not None and guess.center == pytest.approx(0.75)
    assert guess.sd == pytest.approx(expected_sd(120, True))
    assert guess.sd < 0.8 * expected_sd(120, False)
    few = np.arange(80)  # 8 clean-wrong images per class seen: below the floor, the class is one stratum
    guess = rule.predict("accuracy", cell(few), few)
    assert guess is not None and guess.sd == pytest.approx(expected_sd(80, False))
    monkeypatch.setattr(rule_module, "SUBSTRATUM_FLOOR", 5)
    guess = rule.predict("accuracy", cell(few), few)
    assert guess is not None and guess.sd == pytest.approx(expected_sd(80, True))


def test_collapse_call_needs_the_cells_own_estimate_on_its_side() -> None:
    """A stopped cell shows its m-image accuracy, and the report's collapse call is made on it: a
    prediction "above" the threshold is no call while the cell's own estimate sits at or below it."""
    from robustlens.evaluation.adaptive_rule import Prediction, _predict
    from robustlens.schemas import MetricValue

    guess = Prediction(0.5, 0.001)
    own_below = MetricValue(value=0.39, ci_low=0.3, ci_high=0.48)
    own_above = MetricValue(value=0.45, ci_low=0.36, ci_high=0.54)
    assert _predict(own_above, 0.4, 100, 120, 3.0, False, guess) == "above"
    assert _predict(own_below, 0.4, 100, 120, 3.0, False, guess) is None
    assert _predict(own_below, 0.4, 100, 120, 3.0, False, Prediction(0.3, 0.001)) == "below"
    assert _predict(own_above, 0.4, 100, 120, 3.0, False, Prediction(0.3, 0.001)) is None
