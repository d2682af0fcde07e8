"""OOD detection metrics on planted scores: AUROC = scikit-learn's, FPR@95 = a direct computation,
the vectorised bootstrap = the metric on each resample, and chance inside the interval when ID and
OOD come from one distribution."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score, roc_curve

from robustlens.evaluation import ood_scores as S


def _cases() -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(3)
    cases = []
    for n_id, n_ood, shift, ties in (
        (50, 40, 1.0, False),
        (37, 91, 0.3, True),
        (5, 3, -0.5, True),
        (200, 17, 2.0, False),
    ):
        a, b = rng.normal(shift, 1, n_id), rng.normal(0, 1, n_ood)
        if ties:  # coarse scores: many ties within and across the two sets
            a, b = np.round(a * 2) / 2, np.round(b * 2) / 2
        cases.append((a, b))
    cases.append((np.ones(7), np.ones(4)))  # all tied: exactly chance
    return cases


@pytest.mark.parametrize("case", range(5))
def test_auroc_equals_sklearn(case: int) -> None:
    id_s, ood_s = _cases()[case]
    labels = np.r_[np.ones(len(id_s)), np.zeros(len(ood_s))]
    assert S.auroc(id_s, ood_s) == pytest.approx(roc_auc_score(labels, np.r_[id_s, ood_s]), abs=1e-12)


def _fpr95_direct(id_s: np.ndarray, ood_s: np.ndarray) -> float:
    """FPR at the first ROC point whose TPR reaches 95% (scikit-learn's full curve, ID positive)."""
    labels = np.r_[np.ones(len(id_s)), np.zeros(len(ood_s))]
    fpr, tpr, _ = roc_curve(labels, np.r_[id_s, ood_s], drop_intermediate=False)
    return float(fpr[np.argmax(tpr >= 0.95 - 1e-12)])


@pytest.mark.parametrize("case", range(5))
def test_fpr95_matches_the_roc_curve(case: int) -> None:
    id_s, ood_s = _cases()[case]
    assert S.fpr_at_tpr(id_s, ood_s) == pytest.approx(_fpr95_direct(id_s, ood_s), abs=1e-12)


def test_bootstrap_replicates_are_the_metrics_of_the_resamples() -> None:
    id_s, ood_s = _cases()[1]
    rng = np.random.default_rng(0)
    w_id, w_ood = S._counts(rng, len(id_s), 20), S._counts(rng, len(ood_s), 20)
    auc, fpr = S._weighted(id_s, ood_s, w_id, w_ood)
    for b in range(20):
        ri, ro = np.repeat(id_s, w_id[b]), np.repeat(ood_s, w_ood[b])
        assert auc[b] == pytest.approx(S.auroc(ri, ro), abs=1e-12)
        assert fpr[b] == pytest.approx(S.fpr_at_tpr(ri, ro), abs=1e-12)


def test_identical_distributions_give_chance_inside_the_interval() -> None:
    rng = np.random.default_rng(7)
    found = S.detection(rng.normal(size=300), rng.normal(size=250), seed=1, n_boot=500)
    auc = found["auroc"]
    assert auc["ci_low"] is not None and auc["ci_high"] is not None
    assert auc["ci_low"] < 0.5 < auc["ci_high"]
    assert abs(auc["value"] - 0.5) < 0.1
    # separated distributions: the interval excludes chance, and the same seed gives the same interval
    sep = S.detection(rng.normal(2, 1, 100), rng.normal(size=100), seed=1, n_boot=200)
    assert sep["auroc"]["ci_low"] > 0.5
    again = S.detection(*[np.asarray(x) for x in _cases()[0]], seed=4, n_boot=50)
    assert again == S.detection(*_cases()[0], seed=4, n_boot=50)


def test_mcm_and_knn_scores_match_their_definitions() -> None:
    rng = np.random.default_rng(2)
    emb, text, bank = rng.normal(size=(6, 5)), rng.normal(size=(3, 5)), rng.normal(size=(40, 5))
    unit = lambda x: x / np.linalg.norm(x, axis=1, keepdims=True)  # noqa: E731
    sims = unit(emb) @ unit(text).T
    softmax = np.exp(sims) / np.exp(sims).sum(axis=1, keepdims=True)
    assert np.allclose(S.mcm_scores(emb, text), softmax.max(axis=1))
    dist = 1 - unit(emb) @ unit(bank).T
    k = S.knn_k(len(bank))
    assert k == 2 and S.knn_k(5) == 1 and S.knn_k(10_000) == S.KNN_K
    assert np.allclose(S.knn_scores(emb, bank), -np.sort(dist, axis=1)[:, k - 1])
    assert math.isnan(S.auroc(np.zeros(0), np.ones(3)))
