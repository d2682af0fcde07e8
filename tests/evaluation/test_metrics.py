"""Metrics cross-checked against independent slow implementations and hand-computed cases."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy.optimize import minimize

from robustlens.evaluation import metrics as M
from robustlens.evaluation.stats import bootstrap_ci

RNG = np.random.default_rng(1234)


# ------------------------------------------------------------------------------ classification


def test_accuracy_hand_case_and_empty() -> None:
    assert M.accuracy([0, 1, 2, 2], [0, 2, 2, 1]) == pytest.approx(0.5)
    assert math.isnan(M.accuracy(np.array([], dtype=int), np.array([], dtype=int)))


def test_per_class_and_balanced_accuracy_match_explicit_loops() -> None:
    n_classes = 7
    y = RNG.integers(0, 6, size=300)  # class 6 never occurs
    pred = np.where(RNG.random(300) < 0.6, y, RNG.integers(0, n_classes, size=300))
    recalls = []
    for c in range(n_classes):
        members = [i for i in range(len(y)) if y[i] == c]
        if members:
            recalls.append(sum(pred[i] == c for i in members) / len(members))
        else:
            recalls.append(float("nan"))
    got = M.per_class_recall(y, pred, n_classes)
    np.testing.assert_allclose(got, recalls, equal_nan=True)
    assert math.isnan(got[6])
    present = [r for r in recalls if not math.isnan(r)]
    assert M.balanced_accuracy(y, pred, n_classes) == pytest.approx(sum(present) / len(present))


def test_balanced_accuracy_differs_from_accuracy_on_imbalance() -> None:
    y = np.array([0] * 9 + [1])
    pred = np.zeros(10, dtype=int)  # always predicts the majority class
    assert M.accuracy(y, pred) == pytest.approx(0.9)
    assert M.balanced_accuracy(y, pred, 2) == pytest.approx(0.5)
    assert math.isnan(M.balanced_accuracy(np.array([], dtype=int), np.array([], dtype=int), 2))


def test_label_validation() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        M.accuracy([0, 1], [0])
    with pytest.raises(ValueError, match="outside"):
        M.per_class_recall([0, 3], [0, 0], 3)
    with pytest.raises(ValueError, match="integer"):
        M.accuracy(np.array([0.5]), np.array([0]))
    with pytest.raises(ValueError, match="1-D"):
        M.label_flip_probability(np.zeros((2, 2), dtype=int), np.zeros((2, 2), dtype=int))


def test_label_flip_probability() -> None:
    assert M.label_flip_probability([1, 2, 3, 4], [1, 0, 3, 0]) == pytest.approx(0.5)
    assert M.label_flip_probability([5, 5], [5, 5]) == 0.0
    assert math.isnan(M.label_flip_probability(np.array([], dtype=int), np.array([], dtype=int)))


def test_softmax_is_stable_and_normalised() -> None:
    out = M.softmax(np.array([[1000.0, 1000.0, -1000.0], [0.0, math.log(3.0), -np.inf]]))
    np.testing.assert_allclose(out, [[0.5, 0.5, 0.0], [0.25, 0.75, 0.0]], atol=1e-12)


def test_confidence_drop_uses_clean_predicted_class() -> None:
    clean = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    corrupt = np.array([[0.3, 0.6, 0.1], [0.2, 0.1, 0.7]])
    # image 0: clean class 0 -> 0.7 - 0.3 (not 0.7 - 0.6, the corrupted max); image 1: class 2
    np.testing.assert_allclose(M.confidence_drop(clean, corrupt), [0.4, 0.1])
    np.testing.assert_allclose(M.confidence_drop(np.array([0.9, 0.5]), np.array([0.4, 0.6])), [0.5, -0.1])
    with pytest.raises(ValueError):
        M.confidence_drop(clean, corrupt[:, :2])


# --------------------------------------------------------------------------------- calibration


def _ece_slow(probs: np.ndarray, y: np.ndarray, n_bins: int) -> float:
    total = 0.0
    for m in range(n_bins):
        lo, hi = m / n_bins, (m + 1) / n_bins
        members = []
        for i in range(len(y)):
            c = probs[i].max()
            if (lo < c <= hi) or (m == 0 and c == 0):
                members.append(i)
        if members:
            acc = np.mean([probs[i].argmax() == y[i] for i in members])
            conf = np.mean([probs[i].max() for i in members])
            total += len(members) / len(y) * abs(acc - conf)
    return total


def test_ece_hand_example() -> None:
    probs = np.array([[0.9, 0.1], [0.7, 0.3], [0.3, 0.7], [0.55, 0.45]])
    y = np.array([0, 1, 1, 0])
    # bins of width 0.2: {0.9 correct}, {0.7 wrong, 0.7 correct}, {0.55 correct}
    expected = 1 / 4 * 0.1 + 2 / 4 * abs(0.5 - 0.7) + 1 / 4 * abs(1 - 0.55)
    assert expected == pytest.approx(0.2375)
    assert M.expected_calibration_error(probs, y, n_bins=5) == pytest.approx(expected)


def test_ece_bins_are_closed_on_the_right() -> None:
    # 4 bins with exact binary edges: 0.5 belongs to (0.25, 0.5], 0.75 to (0.5, 0.75]
    probs = np.array([[0.75, 0.25], [0.5, 0.5], [0.7, 0.3]])
    y = np.array([0, 1, 0])
    expected = 1 / 3 * abs(0.0 - 0.5) + 2 / 3 * abs(1.0 - 0.725)
    assert M.expected_calibration_error(probs, y, n_bins=4) == pytest.approx(expected)
    assert _ece_slow(probs, y, 4) == pytest.approx(expected)


@pytest.mark.parametrize("n_bins", [1, 10, 15])
def test_ece_matches_slow_per_bin_loop(n_bins: int) -> None:
    probs = M.softmax(RNG.normal(size=(400, 5)) * 2)
    y = RNG.integers(0, 5, size=400)
    assert M.expected_calibration_error(probs, y, n_bins) == pytest.approx(_ece_slow(probs, y, n_bins))


def test_ece_perfect_and_worst() -> None:
    one_hot = np.eye(3)[[0, 1, 2, 1]]
    assert M.expected_calibration_error(one_hot, [0, 1, 2, 1]) == pytest.approx(0.0)
    assert M.expected_calibration_error(one_hot, [1, 2, 0, 0]) == pytest.approx(1.0)
    assert math.isnan(M.expected_calibration_error(np.zeros((0, 3)), np.array([], dtype=int)))
    with pytest.raises(ValueError, match="n_bins"):
        M.expected_calibration_error(one_hot, [0, 1, 2, 1], n_bins=0)


def test_nll_hand_case() -> None:
    probs = np.array([[0.5, 0.5], [0.25, 0.75]])
    assert M.negative_log_likelihood(probs, [0, 1]) == pytest.approx(-(math.log(0.5) + math.log(0.75)) / 2)
    assert M.negative_log_likelihood(np.array([[1.0, 0.0]]), [1]) == pytest.approx(-math.log(1e-12))
    with pytest.raises(ValueError, match="2-D"):
        M.negative_log_likelihood(np.array([0.5, 0.5]), [0])


# ----------------------------------------------------------------------------------- retrieval


def _recall_slow(img: np.ndarray, txt: np.ndarray, k: int, direction: str) -> float:
    q, c = (img, txt) if direction == "image_to_text" else (txt, img)
    hits = 0
    for i in range(len(q)):
        scores = [float(np.dot(q[i], c[j])) for j in range(len(c))]
        # pessimistic rank: wrong candidates scoring at least as high come first
        rank = sum(1 for j in range(len(c)) if j != i and scores[j] >= scores[i])
        hits += rank < k
    return hits / len(q)


@pytest.mark.parametrize("direction", ["image_to_text", "text_to_image"])
@pytest.mark.parametrize("k", [1, 5])
def test_retrieval_matches_brute_force(direction: str, k: int) -> None:
    img = RNG.normal(size=(60, 16))
    txt = img + RNG.normal(size=(60, 16)) * 1.5
    img /= np.linalg.norm(img, axis=1, keepdims=True)
    txt /= np.linalg.norm(txt, axis=1, keepdims=True)
    got = M.retrieval_recall_at_k(img, txt, k, direction)  # type: ignore[arg-type]
    assert got == pytest.approx(_recall_slow(img, txt, k, direction))
    assert 0.0 < got < 1.0


def test_retrieval_directions_differ_and_ties_count_against() -> None:
    # image 0 is closest to text 1, but text 0 is still closest to image 0: the directions disagree
    img = np.array([[1.0, 0.0], [0.0, 1.0]])
    txt = np.array([[0.8, 0.6], [0.9, 0.1]])
    assert M.retrieval_recall_at_k(img, txt, 1, "image_to_text") == pytest.approx(0.0)
    assert M.retrieval_recall_at_k(img, txt, 1, "text_to_image") == pytest.approx(0.5)
    same = np.ones((3, 2)) / math.sqrt(2)  # all similarities tie
    assert M.retrieval_recall_at_k(same, same, 1) == 0.0
    assert M.retrieval_recall_at_k(same, same, 3) == 1.0
    with pytest.raises(ValueError, match="direction"):
        M.retrieval_recall_at_k(img, txt, 1, "both")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="k must"):
        M.retrieval_recall_at_k(img, txt, 0)


# ------------------------------------------------------------------------------ embedding drift


def test_cosine_and_l2_rowwise() -> None:
    a = np.array([[1.0, 0.0], [3.0, 4.0], [0.0, 0.0]])
    b = np.array([[0.0, 2.0], [3.0, 4.0], [1.0, 1.0]])
    cos = M.cosine_similarity(a, b)
    np.testing.assert_allclose(cos[:2], [0.0, 1.0])
    assert math.isnan(cos[2])
    np.testing.assert_allclose(M.l2_distance(a, b), [math.sqrt(5), 0.0, math.sqrt(2)])
    with pytest.raises(ValueError):
        M.cosine_similarity(a, b[:2])


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _meb_exhaustive(points: np.ndarray) -> float:
    """Exact MEB radius: smallest enclosing circumsphere over all affinely independent subsets."""
    x = _unit(points)
    best = math.inf
    for m in range(1, min(len(x), x.shape[1] + 1) + 1):
        for subset in itertools.combinations(range(len(x)), m):
            p = x[list(subset)]
            diffs = p[1:] - p[0]
            try:
                coef = np.linalg.solve(2 * diffs @ diffs.T, np.sum(diffs**2, axis=1)) if m > 1 else []
            except np.linalg.LinAlgError:
                continue
            centre = p[0] + np.asarray(coef) @ diffs if m > 1 else p[0]
            best = min(best, float(np.max(np.linalg.norm(x - centre, axis=1))))
    return best


def _meb_scipy(points: np.ndarray) -> float:
    """MEB radius by SLSQP on the epigraph form: minimise t s.t. |c - x_i|^2 <= t."""
    x = _unit(np.asarray(points, dtype=np.float64))
    d = x.shape[1]
    c0 = x.mean(axis=0)
    z0 = np.append(c0, np.max(np.sum((x - c0) ** 2, axis=1)))
    cons = {"type": "ineq", "fun": lambda z: z[-1] - np.sum((x - z[:d]) ** 2, axis=1)}
    res = minimize(lambda z: z[-1], z0, constraints=[cons], method="SLSQP", options={"ftol": 1e-14})
    return float(np.sqrt(np.max(np.sum((x - res.x[:d]) ** 2, axis=1))))


@pytest.mark.parametrize(("k", "d"), [(3, 3), (5, 4), (6, 3), (7, 5), (8, 8)])
def test_divergence_radius_matches_exhaustive_search(k: int, d: int) -> None:
    emb = RNG.normal(size=(15, k, d))
    got = M.divergence_radius(emb)
    expected = [_meb_exhaustive(e) for e in emb]
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)


@pytest.mark.parametrize(("k", "d"), [(4, 3), (12, 6), (30, 10)])
def test_divergence_radius_matches_scipy_minimax(k: int, d: int) -> None:
    emb = RNG.normal(size=(5, k, d)) + 2.0 * RNG.normal(size=(5, 1, d))  # clustered, like drift
    got = M.divergence_radius(emb)
    expected = [_meb_scipy(e) for e in emb]
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)
    assert np.all(got <= np.asarray(expected) + 1e-12)  # ours is exact: never above the optimiser


def test_divergence_radius_geometric_cases() -> None:
    # K = 1: a single point has radius 0
    assert M.divergence_radius(RNG.normal(size=(3, 1, 8))) == pytest.approx(np.zeros(3))
    # K = 2: half the distance between the normalised points
    two = RNG.normal(size=(4, 2, 8))
    u = _unit(two)
    np.testing.assert_allclose(M.divergence_radius(two), np.linalg.norm(u[:, 0] - u[:, 1], axis=1) / 2)
    # equilateral triangle on the circle of radius s at height h (s^2 + h^2 = 1): circumradius s
    s, h = 0.6, 0.8
    angles = np.array([0.0, 2 * np.pi / 3, 4 * np.pi / 3])
    tri = np.stack([s * np.cos(angles), s * np.sin(angles), np.full(3, h)], axis=1)
    assert M.divergence_radius(tri[None])[0] == pytest.approx(s, abs=1e-12)
    # an obtuse triangle: the ball is set by its longest side only
    obtuse = _unit(np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.6, 0.6, 0.1]]))
    assert M.divergence_radius(obtuse[None])[0] == pytest.approx(math.sqrt(2) / 2, abs=1e-12)
    # K orthonormal vectors: regular simplex with circumradius sqrt(1 - 1/K)
    assert M.divergence_radius(np.eye(6)[None, :5])[0] == pytest.approx(math.sqrt(1 - 1 / 5), abs=1e-12)


def test_divergence_radius_duplicates_scale_and_shape() -> None:
    x, y = _unit(RNG.normal(size=(2, 16)))
    expected = np.linalg.norm(x - y) / 2
    dup = np.stack([x, x, y, 3.0 * y, x])  # duplicates and a rescaled copy (normalised away)
    assert M.divergence_radius(dup[None])[0] == pytest.approx(expected, abs=1e-12)
    assert M.divergence_radius(np.stack([x] * 4)[None])[0] == pytest.approx(0.0, abs=1e-7)
    assert M.divergence_radius(np.zeros((0, 3, 4))).shape == (0,)
    with pytest.raises(ValueError, match="non-zero"):
        M.divergence_radius(np.zeros((1, 2, 4)))
    with pytest.raises(ValueError, match="N images"):
        M.divergence_radius(np.ones((2, 4)))


def test_divergence_radius_is_order_invariant_and_batched() -> None:
    emb = RNG.normal(size=(40, 9, 32)).astype(np.float32)
    got = M.divergence_radius(emb)
    perm = M.divergence_radius(emb[:, RNG.permutation(9)])
    single = np.array([M.divergence_radius(e[None])[0] for e in emb])
    np.testing.assert_allclose(perm, got, atol=1e-12)
    np.testing.assert_allclose(single, got, atol=1e-12)


# --------------------------------------------------------------------------------- ImageNet-C


def test_corruption_errors_hand_example() -> None:
    # ImageNet-C: errors of model f and reference (AlexNet) on severities 1..3 of one corruption
    err_f, err_ref = [0.2, 0.3, 0.5], [0.4, 0.5, 0.6]
    assert M.corruption_error(err_f, err_ref) == pytest.approx(1.0 / 1.5)
    # relative: clean errors 0.1 and 0.3 -> (0.1 + 0.2 + 0.4) / (0.1 + 0.2 + 0.3)
    assert M.relative_corruption_error(err_f, 0.1, err_ref, 0.3) == pytest.approx(0.7 / 0.6)
    assert M.mean_corruption_error({"gauss": 0.5, "blur": 1.0, "fog": 1.5}) == pytest.approx(1.0)


def test_corruption_errors_degenerate_denominators() -> None:
    assert math.isnan(M.corruption_error([0.1, 0.2], [0.0, 0.0]))
    assert math.isnan(M.relative_corruption_error([0.3, 0.4], 0.1, [0.2, 0.2], 0.2))
    assert math.isnan(M.corruption_error([], []))
    assert math.isnan(M.mean_corruption_error({}))
    assert math.isnan(M.mean_corruption_error({"a": 1.0, "b": float("nan")}))
    with pytest.raises(ValueError, match="one error per severity"):
        M.corruption_error([0.1, 0.2], [0.3])


# ------------------------------------------------------------------------ debiased calibration error


def _two_class_model(n: int, gap: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Confidence ~ U(0.5, 1) on class 0; the label is 0 with probability ``conf - gap`` (gap 0 =
    perfectly calibrated by construction)."""
    rng = np.random.default_rng(seed)
    conf = rng.uniform(0.5, 1.0, n)
    correct = rng.random(n) < conf - gap
    probs = np.stack([conf, 1 - conf], axis=1)
    return probs, np.where(correct, 0, 1)


def test_plugin_ece_interval_misses_zero_debiased_covers_it_when_calibrated() -> None:
    """Plug-in ECE is biased upward (its interval excludes 0 for a calibrated model); the debiased
    estimate (Kumar et al. 2019) is near 0 and its interval covers 0."""
    probs, y = _two_class_model(400, 0.0, seed=3)
    _, lo, _ = bootstrap_ci(M.expected_calibration_error, probs, y, n_boot=400, seed=1)
    assert lo > 0
    value, lo, hi = bootstrap_ci(M.debiased_calibration_error, probs, y, n_boot=400, seed=1)
    assert lo < 0 < hi and abs(value) < M.expected_calibration_error(probs, y)


def test_debiased_calibration_error_detects_miscalibration() -> None:
    probs, y = _two_class_model(400, 0.2, seed=3)
    value, lo, _ = bootstrap_ci(M.debiased_calibration_error, probs, y, n_boot=400, seed=1)
    assert lo > 0.1 and value == pytest.approx(0.2, abs=0.05)


def test_debiased_calibration_error_matches_per_bin_formula() -> None:
    probs, y = _two_class_model(60, 0.1, seed=5)
    conf, correct = probs.max(1), (probs.argmax(1) == y).astype(float)
    total = 0.0
    for m in range(15):
        inside = (conf > m / 15) & (conf <= (m + 1) / 15)
        k = inside.sum()
        if k >= 2:
            acc = correct[inside].mean()
            total += k / 60 * ((acc - conf[inside].mean()) ** 2 - acc * (1 - acc) / (k - 1))
    assert M.debiased_calibration_error(probs, y) == pytest.approx(np.sign(total) * np.sqrt(abs(total)))
    assert math.isnan(M.debiased_calibration_error(np.zeros((0, 2)), np.zeros(0, dtype=int)))
