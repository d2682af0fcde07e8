"""Robustness metrics as pure functions on numpy arrays (no torch, no state).

Every function validates its input shapes and raises ``ValueError`` naming the offending argument.
Means over an empty set return ``nan`` instead of raising, so that an empty cell in a run (all images
skipped) reports "no data" rather than crashing the audit. The definitions follow the papers cited in
each docstring; see the "Metric definitions" section of the design document.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np

# Embedding drift metrics are defined in drift.py and re-exported here with the others.
from robustlens.evaluation.drift import cosine_similarity, divergence_radius, l2_distance  # noqa: F401

Labels = np.ndarray | Sequence[int]  # one integer class index per image


def _labels(name: str, y: Labels) -> np.ndarray:
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one label per image), got shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{name} must hold integer class indices, got dtype {arr.dtype}")
    return arr


def _pair(name_a: str, a: np.ndarray, name_b: str, b: np.ndarray) -> None:
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"{name_a} and {name_b} differ in length: {a.shape[0]} vs {b.shape[0]}")


def _in_range(name: str, y: np.ndarray, n_classes: int) -> None:
    if n_classes < 1:
        raise ValueError(f"n_classes must be >= 1, got {n_classes}")
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(f"{name} holds labels outside [0, {n_classes}): min {y.min()}, max {y.max()}")


def _probs(probs: np.ndarray, y_true: Labels) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2:
        raise ValueError(f"probs must be 2-D (N images, C classes), got shape {p.shape}")
    y = _labels("y_true", y_true)
    _pair("probs", p, "y_true", y)
    _in_range("y_true", y, p.shape[1])
    return p, y


# ------------------------------------------------------------------------------ classification


def accuracy(y_true: Labels, y_pred: Labels) -> float:
    """Top-1 accuracy: share of images with ``y_pred == y_true``; ``nan`` when empty."""
    yt, yp = _labels("y_true", y_true), _labels("y_pred", y_pred)
    _pair("y_true", yt, "y_pred", yp)
    return float(np.mean(yt == yp)) if yt.size else float("nan")


def per_class_recall(y_true: Labels, y_pred: Labels, n_classes: int) -> np.ndarray:
    """Recall of each class c: correct predictions among images whose true label is c.

    Returns an array of length ``n_classes``; classes absent from ``y_true`` get ``nan`` (their recall
    is undefined, not zero). Predictions outside ``[0, n_classes)`` simply count as wrong.
    """
    yt, yp = _labels("y_true", y_true), _labels("y_pred", y_pred)
    _pair("y_true", yt, "y_pred", yp)
    _in_range("y_true", yt, n_classes)
    support = np.bincount(yt, minlength=n_classes).astype(np.float64)
    hits = np.bincount(yt[yt == yp], minlength=n_classes).astype(np.float64)
    out = np.full(n_classes, np.nan)
    present = support > 0
    out[present] = hits[present] / support[present]
    return out


def balanced_accuracy(y_true: Labels, y_pred: Labels, n_classes: int) -> float:
    """Balanced accuracy: mean per-class recall over the classes present in ``y_true``.

    Unlike accuracy it is not dominated by frequent classes, which matters for the skewed label
    distributions of domain datasets (DeepBench, arXiv 2506.23663, reports it alongside LFP).
    ``nan`` when ``y_true`` is empty.
    """
    rec = per_class_recall(y_true, y_pred, n_classes)
    rec = rec[~np.isnan(rec)]
    return float(rec.mean()) if rec.size else float("nan")


def label_flip_probability(pred_clean: Labels, pred_corrupt: Labels) -> float:
    """Label flip probability (LFP; DeepBench, arXiv 2506.23663).

    Share of images whose prediction on the corrupted image differs from the prediction on the clean
    image. It needs no ground-truth labels, so it can be measured on unlabeled domain data; DeepBench
    reports a correlation of about -0.90 between LFP and balanced accuracy. ``nan`` when empty.
    """
    pc, pk = _labels("pred_clean", pred_clean), _labels("pred_corrupt", pred_corrupt)
    _pair("pred_clean", pc, "pred_corrupt", pk)
    return float(np.mean(pc != pk)) if pc.size else float("nan")


def softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax (the maximum is subtracted before exponentiating)."""
    z = np.asarray(logits, dtype=np.float64)
    z = z - np.max(z, axis=axis, keepdims=True)
    e = np.exp(z)
    return e / np.sum(e, axis=axis, keepdims=True)


def confidence_drop(conf_clean: np.ndarray, conf_corrupt: np.ndarray) -> np.ndarray:
    """Per-image drop of confidence in the class predicted on the clean image.

    With 2-D inputs of class probabilities (N, C): ``k_i = argmax_c conf_clean[i, c]`` and the result is
    ``conf_clean[i, k_i] - conf_corrupt[i, k_i]``, i.e. how much probability the corrupted image takes
    away from the clean prediction, whether or not the corrupted prediction changes (the corrupted
    image's own max-probability is deliberately not used). With 1-D inputs (N,) the caller has already
    gathered both confidences in the clean-predicted class and the result is ``conf_clean - conf_corrupt``.
    Positive values mean the corruption lowered confidence.
    """
    a, b = np.asarray(conf_clean, dtype=np.float64), np.asarray(conf_corrupt, dtype=np.float64)
    if a.shape != b.shape or a.ndim not in (1, 2):
        raise ValueError(
            f"conf_clean and conf_corrupt must both be (N,) or both (N, C), got {a.shape} and {b.shape}"
        )
    if a.ndim == 1:
        return a - b
    k = np.argmax(a, axis=1)[:, None]
    return (np.take_along_axis(a, k, axis=1) - np.take_along_axis(b, k, axis=1))[:, 0]


# --------------------------------------------------------------------------------- calibration


def expected_calibration_error(probs: np.ndarray, y_true: Labels, n_bins: int = 15) -> float:
    """Expected calibration error with equal-width confidence bins (Naeini et al. 2015; Guo et al. 2017).

    Confidence is the maximum class probability and the prediction its argmax. Bin m (m = 1..M) holds the
    images with confidence in ((m-1)/M, m/M]; confidence 0 goes to the first bin. Then
    ``ECE = sum_m |B_m|/N * |acc(B_m) - conf(B_m)|`` where acc and conf are the bin's accuracy and mean
    confidence. ``nan`` when empty.

    This plug-in estimate is biased upward (Kumar et al. 2019; Roelofs et al. 2022): sampling noise in
    each bin's accuracy adds to ``|acc - conf|``, so a perfectly calibrated model scores above 0 and
    the bootstrap interval of ECE does not cover 0. Use :func:`debiased_calibration_error` to ask
    whether a model is miscalibrated at all.
    """
    bins = _confidence_bins(probs, y_true, n_bins)
    if bins is None:
        return float("nan")
    count, hits, conf_sum, n = bins
    # sum_m |B_m|/N * |acc_m - conf_m| == sum_m |sum_{i in B_m} (correct_i - conf_i)| / N
    return float(np.abs((hits - conf_sum)[count > 0]).sum() / n)


def _confidence_bins(
    probs: np.ndarray, y_true: Labels, n_bins: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int] | None:
    """Equal-width confidence bins: per bin the image count, correct count and confidence sum, and N
    (None when there are no images). Shared by ECE and its debiased variant so both bin alike."""
    p, y = _probs(probs, y_true)
    if n_bins < 1:
        raise ValueError(f"n_bins must be >= 1, got {n_bins}")
    if y.size == 0:
        return None
    conf, correct = p.max(axis=1), (p.argmax(axis=1) == y).astype(np.float64)
    idx = np.digitize(conf, np.linspace(0.0, 1.0, n_bins + 1)[1:-1], right=True)
    count = np.bincount(idx, minlength=n_bins)
    hits = np.bincount(idx, weights=correct, minlength=n_bins)
    return count, hits, np.bincount(idx, weights=conf, minlength=n_bins), int(y.size)


def debiased_squared_ece_from_bins(
    count: np.ndarray, hits: np.ndarray, conf_sum: np.ndarray, n: int
) -> np.ndarray:
    """Debiased squared (l2) calibration error from per-bin sums; rows of any leading shape.

    ``count``, ``hits`` and ``conf_sum`` hold, per bin (last axis), the number of images, of correct
    ones, and the sum of their confidences. Kumar, Liang & Ma 2019 ("Verified Uncertainty
    Calibration", NeurIPS, sec. 5): ``sum_m |B_m|/N * [(acc_m - conf_m)^2 - acc_m (1 - acc_m) /
    (|B_m| - 1)]``. The subtracted term is the unbiased estimate of the sampling variance of
    ``acc_m``, which is exactly what makes the plug-in estimate positive even for a perfectly
    calibrated model. Bins with fewer than 2 images have no variance estimate and are left out.
    """
    count = np.asarray(count, dtype=np.float64)
    safe = np.maximum(count, 1.0)
    acc, conf = hits / safe, conf_sum / safe
    term = (acc - conf) ** 2 - acc * (1.0 - acc) / np.maximum(count - 1.0, 1.0)
    return np.where(count >= 2, count / max(n, 1) * term, 0.0).sum(axis=-1)


def signed_sqrt(x: np.ndarray | float) -> np.ndarray | float:
    """sign(x) * sqrt(|x|): the debiased squared error back on the scale of an error, keeping the
    sign (a negative value means "no detectable miscalibration", and an interval can cover 0)."""
    return np.sign(x) * np.sqrt(np.abs(x))


def debiased_calibration_error(probs: np.ndarray, y_true: Labels, n_bins: int = 15) -> float:
    """Debiased l2 calibration error (Kumar et al. 2019), equal-width bins as in
    :func:`expected_calibration_error`, reported as ``signed_sqrt`` of the debiased squared error.

    Why: plug-in ECE is biased upward (each bin's ``|acc - conf|`` includes sampling noise), so its
    bootstrap interval never covers 0, even for a perfectly calibrated model on a few hundred images.
    The debiased estimate is close to 0 (either sign) for a calibrated model and its interval covers
    0. It is an RMS (l2) error, so it is not numerically comparable with the l1 ECE. ``nan`` when
    empty.
    """
    bins = _confidence_bins(probs, y_true, n_bins)
    if bins is None:
        return float("nan")
    return float(signed_sqrt(debiased_squared_ece_from_bins(*bins)))


def negative_log_likelihood(probs: np.ndarray, y_true: Labels, eps: float = 1e-12) -> float:
    """Mean negative log-likelihood of the true class, ``-mean_i log max(p_i[y_i], eps)`` (Guo et al. 2017).

    ``eps`` caps the loss of an image at ``-log(eps)`` (about 27.6 for 1e-12). ``nan`` when empty.
    """
    p, y = _probs(probs, y_true)
    if y.size == 0:
        return float("nan")
    return float(-np.mean(np.log(np.maximum(p[np.arange(y.size), y], eps))))


# ----------------------------------------------------------------------------------- retrieval


def retrieval_recall_at_k(
    image_emb: np.ndarray,
    text_emb: np.ndarray,
    k: int,
    direction: Literal["image_to_text", "text_to_image"] = "image_to_text",
) -> float:
    """Recall@k for paired retrieval: pair i <-> i is the only correct match.

    Similarity is the dot product (the embeddings are expected to be L2-normalised, so it is the cosine).
    For ``image_to_text`` each image queries all N texts; for ``text_to_image`` each text queries all
    images. A query counts as a hit when fewer than k wrong candidates score at least as high as the
    correct one; ties are broken against the correct item (pessimistic), so a constant model scores 0 at
    k < N instead of an arbitrary value. ``nan`` when N = 0.
    """
    a, b = np.asarray(image_emb, dtype=np.float64), np.asarray(text_emb, dtype=np.float64)
    if a.ndim != 2 or a.shape != b.shape:
        raise ValueError(
            f"image_emb and text_emb must both be (N, D) with equal shapes, got {a.shape}, {b.shape}"
        )
    if direction not in ("image_to_text", "text_to_image"):
        raise ValueError(f"direction must be 'image_to_text' or 'text_to_image', got {direction!r}")
    if int(k) != k or k < 1:
        raise ValueError(f"k must be a positive integer, got {k}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("image_emb and text_emb must be finite (no nan or inf)")
    if direction == "text_to_image":
        a, b = b, a
    n = a.shape[0]
    if n == 0:
        return float("nan")
    hits = 0
    step = max(1, 2**22 // n)  # bounded memory: at most ~4M similarities at a time
    for start in range(0, n, step):
        q = a[start : start + step]
        sim = q @ b.T
        rows = np.arange(q.shape[0])
        pos = sim[rows, start + rows]
        better = (sim >= pos[:, None]).sum(axis=1) - 1  # wrong candidates scoring >= the correct one
        hits += int(np.count_nonzero(better < k))
    return hits / n


# ------------------------------------------------------------------------------ embedding drift
# cosine_similarity, l2_distance and divergence_radius live in drift.py (imported at the top).


# --------------------------------------------------------------------------------- ImageNet-C


def _sum_ratio(num: np.ndarray, den: np.ndarray) -> float:
    d = float(np.sum(den))
    return float(np.sum(num)) / d if d != 0 else float("nan")


def _errs(name_a: str, a: Sequence[float], name_b: str, b: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(
            f"{name_a}, {name_b} need equal 1-D shapes (one error per severity): {x.shape} {y.shape}"
        )
    return x, y


def corruption_error(err_model: Sequence[float], err_ref: Sequence[float]) -> float:
    """Corruption error of one corruption c (ImageNet-C; Hendrycks & Dietterich 2019).

    ``CE_c = sum_s E_{s,c}(f) / sum_s E_{s,c}(ref)`` over severities s, where E is the top-1 error rate
    and ref is the reference model named in the run (ImageNet-C used AlexNet). Returns ``nan`` (not an
    exception) when the reference's summed error is 0, and for empty inputs.
    """
    m, r = _errs("err_model", err_model, "err_ref", err_ref)
    return _sum_ratio(m, r)


def relative_corruption_error(
    err_model: Sequence[float], clean_err_model: float, err_ref: Sequence[float], clean_err_ref: float
) -> float:
    """Relative corruption error (Hendrycks & Dietterich 2019): the degradation relative to clean error.

    ``rCE_c = sum_s (E_{s,c}(f) - E_clean(f)) / sum_s (E_{s,c}(ref) - E_clean(ref))``. Returns ``nan``
    when the denominator is 0 (the reference does not degrade) or the inputs are empty.
    """
    m, r = _errs("err_model", err_model, "err_ref", err_ref)
    return _sum_ratio(m - float(clean_err_model), r - float(clean_err_ref))


def mean_corruption_error(ces: Mapping[str, float]) -> float:
    """mCE (or relative mCE): mean of per-corruption CE values (Hendrycks & Dietterich 2019).

    ``nan`` when empty; a ``nan`` CE propagates so an undefined corruption is never silently dropped.
    """
    vals = np.asarray(list(ces.values()), dtype=np.float64)
    return float(vals.mean()) if vals.size else float("nan")
