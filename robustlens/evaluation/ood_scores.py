"""OOD scores and detection metrics: MCM, kNN distance, AUROC and FPR@95 with bootstrap intervals.

Conventions: a higher score means "more in-distribution"; in-distribution (ID) images are the
positives. So AUROC is the probability that a random ID image scores above a random OOD image (ties
count one half: the Mann-Whitney statistic, equal to scikit-learn's ``roc_auc_score``), and FPR@95
is the share of OOD images accepted at the threshold that keeps 95% of the ID images (the
operating point of Liang et al. 2018 and of both papers below).

- MCM, maximum concept matching (Ming et al., "Delving into out-of-distribution detection with
  vision-language representations", NeurIPS 2022): the largest softmax probability of the cosine
  similarities between an image and the class prompts, at temperature ``MCM_TEMPERATURE`` (their
  default, tau = 1; the model's own logit scale makes the softmax nearly one-hot and hurts OOD).
- kNN (Sun et al., "Out-of-distribution detection with deep nearest neighbors", ICML 2022): minus the
  cosine distance from the normalised image embedding to its k-th nearest neighbour among a bank of
  clean ID embeddings (on unit vectors Euclidean and cosine distance rank alike). k = bank size // 20,
  at least 1 and at most ``KNN_K``: Sun et al. use k = 50 for 50,000 CIFAR images (0.1%) and report
  small k works; on a small bank a k near a class's size reaches into other classes and every image,
  ID or not, ends up equally far (k = 10 on a 12-image bank gives AUROC 0.55 on the demo, k = 1 0.92).

Intervals: percentile bootstrap that resamples the ID and the OOD scores independently (they are
two samples), vectorised with per-replicate counts so 1000 resamples of thousands of images stay fast.
"""

from __future__ import annotations

import math

import numpy as np

from robustlens.evaluation.stats import percentile_interval

MCM_TEMPERATURE = 1.0
KNN_K = 10
TPR_LEVEL = 0.95
_CHUNK = 2048


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x / np.linalg.norm(x, axis=1, keepdims=True).clip(1e-12)


def mcm_scores(emb: np.ndarray, text: np.ndarray, temperature: float = MCM_TEMPERATURE) -> np.ndarray:
    """Max softmax over classes of cosine(image, class prompt) / temperature, per image."""
    sims = _unit(emb) @ _unit(text).T / temperature
    sims -= sims.max(axis=1, keepdims=True)
    p = np.exp(sims)
    return np.asarray(p.max(axis=1) / p.sum(axis=1))


def knn_k(n_bank: int) -> int:
    """The k of the kNN score for a bank of ``n_bank`` clean embeddings (module docstring)."""
    return max(1, min(KNN_K, n_bank // 20))


def knn_scores(emb: np.ndarray, bank: np.ndarray, k: int | None = None) -> np.ndarray:
    """Minus the cosine distance to the k-th nearest bank embedding (k capped at the bank size)."""
    bank_u = _unit(bank)
    k = max(1, min(knn_k(len(bank_u)) if k is None else k, len(bank_u)))
    out = []
    for start in range(0, len(emb), _CHUNK):
        sims = _unit(emb[start : start + _CHUNK]) @ bank_u.T
        kth = -np.partition(-sims, k - 1, axis=1)[:, k - 1]
        out.append(-(1.0 - kth))
    return np.concatenate(out) if out else np.zeros(0)


def auroc(id_scores: np.ndarray, ood_scores: np.ndarray) -> float:
    """P(ID score > OOD score) + P(tie) / 2 (nan when either side is empty)."""
    value = _weighted(np.asarray(id_scores, float), np.asarray(ood_scores, float), None, None)[0]
    return float(value[0])


def fpr_at_tpr(id_scores: np.ndarray, ood_scores: np.ndarray, tpr: float = TPR_LEVEL) -> float:
    """Share of OOD scores >= the largest threshold that accepts at least ``tpr`` of the ID scores."""
    value = _weighted(np.asarray(id_scores, float), np.asarray(ood_scores, float), None, None, tpr)[1]
    return float(value[0])


def _weighted(
    id_s: np.ndarray,
    ood_s: np.ndarray,
    w_id: np.ndarray | None,
    w_ood: np.ndarray | None,
    tpr: float = TPR_LEVEL,
) -> tuple[np.ndarray, np.ndarray]:
    """AUROC and FPR@tpr for each row of resampling counts (w_id: (B, n_id), w_ood: (B, n_ood));
    None = each score once. Counts, not index arrays, so a replicate costs O(n), not a sort."""
    n_id, n_ood = len(id_s), len(ood_s)
    if n_id == 0 or n_ood == 0:
        rows = 1 if w_id is None else len(w_id)
        return np.full(rows, np.nan), np.full(rows, np.nan)
    order = np.argsort(id_s, kind="stable")
    s = id_s[order]
    w = np.ones((1, n_id), np.int64) if w_id is None else w_id[:, order]
    v = np.ones((1, n_ood), np.int64) if w_ood is None else w_ood
    cw = np.concatenate([np.zeros((len(w), 1), np.int64), np.cumsum(w, axis=1)], axis=1)
    lo, hi = np.searchsorted(s, ood_s, "left"), np.searchsorted(s, ood_s, "right")
    greater = n_id - cw[:, hi]
    equal = cw[:, hi] - cw[:, lo]
    auc = ((greater + 0.5 * equal) * v).sum(axis=1) / (n_id * n_ood)
    need = math.ceil(tpr * n_id - 1e-9)  # ID images that must be accepted
    at = (cw <= n_id - need).sum(axis=1) - 1  # last sorted position whose tail holds >= need images
    threshold = s[np.clip(at, 0, n_id - 1)]
    fpr = ((ood_s[None, :] >= threshold[:, None]) * v).sum(axis=1) / n_ood
    return auc, fpr


def _counts(rng: np.random.Generator, n: int, n_boot: int) -> np.ndarray:
    draws = rng.integers(0, n, size=(n_boot, n))
    counts = np.zeros((n_boot, n), np.int64)
    np.add.at(counts, (np.arange(n_boot)[:, None], draws), 1)
    return counts


def detection(
    id_scores: np.ndarray, ood_scores: np.ndarray, seed: int, n_boot: int, alpha: float = 0.05
) -> dict[str, dict[str, float | None]]:
    """AUROC and FPR@95 with percentile bootstrap intervals (ID and OOD resampled independently,
    from ``seed``: the same seed and sizes give the same draws, so cells of a model are comparable)."""
    id_s, ood_s = np.asarray(id_scores, float), np.asarray(ood_scores, float)
    auc, fpr = _weighted(id_s, ood_s, None, None)
    out: dict[str, dict[str, float | None]] = {
        "auroc": {"value": float(auc[0]), "ci_low": None, "ci_high": None},
        "fpr95": {"value": float(fpr[0]), "ci_low": None, "ci_high": None},
    }
    if n_boot > 0 and len(id_s) > 1 and len(ood_s) > 1:
        rng = np.random.default_rng(seed)
        w_id, w_ood = _counts(rng, len(id_s), n_boot), _counts(rng, len(ood_s), n_boot)
        reps = _weighted(id_s, ood_s, w_id, w_ood)
        for name, values in zip(("auroc", "fpr95"), reps, strict=True):
            lo, hi = percentile_interval(values, alpha)
            out[name]["ci_low"], out[name]["ci_high"] = lo, hi
    return out
