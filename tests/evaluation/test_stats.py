"""Bootstrap intervals and paired comparisons: coverage, scaling, determinism, pairing."""

from __future__ import annotations

import math

import numpy as np
import pytest

from robustlens.evaluation import metrics as M
from robustlens.evaluation.stats import PairedComparison, bootstrap_ci, bootstrap_mean_ci, paired_bootstrap


def test_ci_contains_true_mean_of_large_normal_sample() -> None:
    x = np.random.default_rng(7).normal(loc=3.0, scale=2.0, size=5000)
    value, low, high = bootstrap_mean_ci(x)
    assert value == pytest.approx(x.mean())
    assert low < 3.0 < high
    # the percentile interval agrees with the normal-theory one: mean +- 1.96 sd / sqrt(n)
    assert high - low == pytest.approx(2 * 1.96 * x.std(ddof=1) / math.sqrt(x.size), rel=0.1)


def test_coverage_is_close_to_nominal() -> None:
    rng = np.random.default_rng(11)
    hits = 0
    for trial in range(200):
        x = rng.exponential(scale=1.0, size=400)  # skewed, true mean 1
        _, low, high = bootstrap_mean_ci(x, n_boot=500, seed=trial)
        hits += low < 1.0 < high
    assert 0.88 <= hits / 200 <= 0.99


def test_width_shrinks_with_n() -> None:
    rng = np.random.default_rng(3)
    widths = []
    for n in (250, 1000, 4000):
        _, low, high = bootstrap_mean_ci(rng.normal(size=n))
        widths.append(high - low)
    assert widths[0] > widths[1] > widths[2]
    assert widths[0] / widths[2] == pytest.approx(4.0, rel=0.2)  # 1 / sqrt(n) scaling


def test_determinism_and_seed_dependence() -> None:
    x = np.random.default_rng(0).normal(size=500)
    assert bootstrap_mean_ci(x, seed=5) == bootstrap_mean_ci(x, seed=5)
    assert bootstrap_mean_ci(x, seed=5) != bootstrap_mean_ci(x, seed=6)
    assert bootstrap_ci(np.median, x, seed=5) == bootstrap_ci(np.median, x, seed=5)


def test_generic_and_vectorised_use_the_same_resamples() -> None:
    x = np.random.default_rng(1).random(3000)
    generic = bootstrap_ci(np.mean, x, n_boot=300, seed=9)
    fast = bootstrap_mean_ci(x, n_boot=300, seed=9)
    np.testing.assert_allclose(generic, fast, rtol=1e-12)


def test_arrays_are_resampled_jointly() -> None:
    y = np.random.default_rng(2).integers(0, 5, size=200)
    # perfect predictions stay perfect in every resample only if rows stay paired
    assert bootstrap_ci(M.accuracy, y, y.copy()) == (1.0, 1.0, 1.0)
    pred = np.where(np.arange(200) % 4 == 0, (y + 1) % 5, y)
    value, low, high = bootstrap_ci(M.accuracy, y, pred)
    assert value == pytest.approx(0.75)
    assert low < 0.75 < high


def test_fewer_than_two_images_gives_nan_bounds() -> None:
    value, low, high = bootstrap_mean_ci(np.array([0.3]))
    assert value == pytest.approx(0.3) and math.isnan(low) and math.isnan(high)
    value, low, high = bootstrap_ci(M.accuracy, np.array([1]), np.array([1]))
    assert value == 1.0 and math.isnan(low) and math.isnan(high)
    assert all(math.isnan(v) for v in bootstrap_mean_ci(np.array([])))
    res = paired_bootstrap(np.mean, (np.array([1.0]),), (np.array([0.0]),))
    assert res.diff == 1.0 and math.isnan(res.ci_low) and math.isnan(res.p_value)


def test_input_validation() -> None:
    with pytest.raises(ValueError, match="first axis"):
        bootstrap_ci(M.accuracy, np.zeros(3, dtype=int), np.zeros(4, dtype=int))
    with pytest.raises(ValueError, match="alpha"):
        bootstrap_mean_ci(np.ones(5), alpha=1.5)
    with pytest.raises(ValueError, match="n_boot"):
        bootstrap_mean_ci(np.ones(5), n_boot=0)
    with pytest.raises(ValueError, match="first axis"):
        paired_bootstrap(np.mean, (np.ones(5),), (np.ones(6),))


def _accuracy_pair(rng: np.random.Generator, n: int, acc_a: float, acc_b: float) -> tuple:
    y = rng.integers(0, 10, size=n)
    u = rng.random(n)  # shared image difficulty: both models fail on the hardest images
    pred_a = np.where(u < acc_a, y, (y + 1) % 10)
    pred_b = np.where(u < acc_b, y, (y + 2) % 10)
    return y, pred_a, pred_b


def test_paired_bootstrap_detects_real_difference() -> None:
    y, pred_a, pred_b = _accuracy_pair(np.random.default_rng(21), 1000, 0.80, 0.76)
    res = paired_bootstrap(M.accuracy, (y, pred_a), (y, pred_b))
    assert isinstance(res, PairedComparison)
    assert res.diff == pytest.approx(M.accuracy(y, pred_a) - M.accuracy(y, pred_b))
    assert res.diff > 0 and res.ci_low > 0
    assert res.p_value < 0.05
    # the unpaired intervals of the two accuracies overlap: only pairing resolves the difference
    _, low_a, _ = bootstrap_ci(M.accuracy, y, pred_a)
    _, _, high_b = bootstrap_ci(M.accuracy, y, pred_b)
    assert low_a < high_b


def test_paired_bootstrap_null_difference() -> None:
    rng = np.random.default_rng(5)
    y = rng.integers(0, 10, size=600)
    pred_a = np.where(rng.random(600) < 0.7, y, (y + 1) % 10)
    pred_b = np.where(rng.random(600) < 0.7, y, (y + 1) % 10)  # same skill, independent errors
    res = paired_bootstrap(M.accuracy, (y, pred_a), (y, pred_b), seed=3)
    assert res.ci_low < 0 < res.ci_high
    assert res.p_value > 0.05
    same = paired_bootstrap(M.accuracy, (y, pred_a), (y, pred_a.copy()))
    assert (same.diff, same.ci_low, same.ci_high, same.p_value) == (0.0, 0.0, 0.0, 1.0)


def test_paired_bootstrap_uses_the_same_indices_for_both_models() -> None:
    a = np.random.default_rng(8).normal(size=300)
    b = a - 0.25  # b is a shifted exactly: any paired resample differs by exactly 0.25
    res = paired_bootstrap(np.mean, (a,), (b,), n_boot=200)
    assert res.ci_low == pytest.approx(0.25) and res.ci_high == pytest.approx(0.25)
    assert res.p_value == 0.0
    negative = paired_bootstrap(np.mean, (b,), (a,), n_boot=200)
    assert negative.diff == pytest.approx(-0.25) and negative.p_value == 0.0


def test_paired_bootstrap_matches_a_hand_loop() -> None:
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=50), rng.normal(size=50) + 0.2
    res = paired_bootstrap(np.median, (a,), (b,), n_boot=400, seed=12)
    # the documented scheme: one default_rng(seed) index matrix (n_boot, n), shared by both models
    idx = np.random.default_rng(12).integers(0, 50, size=(400, 50))
    diffs = np.array([np.median(a[i]) - np.median(b[i]) for i in idx])
    diff = float(np.median(a) - np.median(b))
    assert res.diff == pytest.approx(diff)
    np.testing.assert_allclose([res.ci_low, res.ci_high], np.quantile(diffs, [0.025, 0.975]))
    other = np.mean(diffs <= 0) if diff > 0 else np.mean(diffs >= 0)
    assert 0.0 < other < 0.5
    assert res.p_value == pytest.approx(min(1.0, 2 * other))


def test_paired_bootstrap_counts_zero_differences_against_the_effect() -> None:
    # the models differ on one image of 20: a resample shows no difference when it misses that image,
    # probability (19/20)^20 ~ 0.358; those ties count as "the other side", so p ~ 2 * 0.358
    y = np.zeros(20, dtype=int)
    pred_a, pred_b = y.copy(), y.copy()
    pred_b[0] = 1
    res = paired_bootstrap(M.accuracy, (y, pred_a), (y, pred_b), n_boot=2000)
    assert res.diff == pytest.approx(0.05)
    assert res.p_value == pytest.approx(2 * (19 / 20) ** 20, abs=0.06)
