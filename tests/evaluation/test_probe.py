"""Downstream probes (kNN, linear probe, kNN flip) on planted embeddings in real run folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from robustlens.corruptions.seeding import derive_seed
from robustlens.evaluation import probe as P
from robustlens.evaluation.store import CLEAN, RunStore
from robustlens.evaluation.subsets import shared_resamples
from robustlens.evaluation.summary import summarize
from robustlens.schemas import CorruptionPlan, CorruptionSpec, PrimitiveCall

N, C, D, SEED = 60, 3, 8, 11
PLAN = CorruptionPlan(
    specs=[
        CorruptionSpec(name="swap", recipe=[PrimitiveCall(name="fog")]),
        CorruptionSpec(name="mild", recipe=[PrimitiveCall(name="gaussian_noise")]),
    ],
    severities=[2.0],
    seed=SEED,
)


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def _records(emb: np.ndarray, clean: np.ndarray, labels: list[int | None], zero_shot: bool) -> list[dict]:
    rows = []
    for i, y in enumerate(labels):
        row = {"id": f"img{i:02d}", "label": y, "cos": float(emb[i] @ clean[i])}
        row["l2"] = float(np.linalg.norm(emb[i] - clean[i]))
        if zero_shot:  # a CLIP-like model: its records carry zero-shot predictions
            row |= {"pred": 0, "conf": 0.5, "clean_pred": 0, "p_clean_pred": 0.5}
        rows.append(row)
    return rows


def planted_run(root: Path, labelled: bool = True, zero_shot: bool = False) -> tuple[RunStore, dict]:
    """Three separable classes (centroid + small noise). ``swap``: every image moves to the next
    class's centroid (every probe is wrong); ``mild``: a tiny perturbation (every probe is right)."""
    rng = np.random.default_rng(0)
    labels = [i % C for i in range(N)]
    centroids = _unit(rng.normal(size=(C, D)) * 5)
    clean = _unit(centroids[labels] + 0.05 * rng.normal(size=(N, D)))
    cells = {
        (CLEAN, 0.0): clean,
        ("swap", 2.0): _unit(centroids[[(y + 1) % C for y in labels]] + 0.05 * rng.normal(size=(N, D))),
        ("mild", 2.0): _unit(clean + 0.001 * rng.normal(size=(N, D))),
    }
    store = RunStore(root)
    names = ["a", "b", "c"] if labelled else None
    store.open({"class_names": names, "labelled": labelled}, {}, fresh=False)
    shown = [y if labelled else None for y in labels]
    store.write_images([{"id": f"img{i:02d}", "label": y} for i, y in enumerate(shown)], [])
    for (corruption, severity), emb in cells.items():
        store.write_cell("m", corruption, severity, _records(emb, clean, shown, zero_shot), emb)
    return store, {"labels": np.array(labels), **{k[0]: v for k, v in cells.items()}}


def test_separable_classes_give_accuracy_one_and_a_paired_drop(tmp_path: Path) -> None:
    store, _ = planted_run(tmp_path / "run")
    result = summarize(store, PLAN, ["m"], None, n_boot=100)
    clean, swap, mild = (result.cell("m", c, s) for c, s in [(CLEAN, 0.0), ("swap", 2.0), ("mild", 2.0)])
    for name in ("knn_accuracy", "probe_accuracy"):
        assert clean.metrics[name].value == 1.0 and mild.metrics[name].value == 1.0
        assert swap.metrics[name].value == 0.0
        drop = swap.metrics[f"{name}_drop"]
        assert (drop.value, drop.ci_low, drop.ci_high) == (1.0, 1.0, 1.0)  # paired: same query images
    assert swap.metrics["knn_lfp"].value == 1.0 and mild.metrics["knn_lfp"].value == 0.0
    assert "accuracy" not in clean.metrics  # no zero-shot head
    info = result.summary["models"]["m"]["probe"]
    assert info["stratified"] and info["n_support"] + info["n_query"] == N
    assert info["n_support"] == 30 and info["knn"]["k"] == 10 and info["linear_probe"]["converged"]
    assert result.summary["models"]["m"]["divergence_radius"]["swap"]["value"] > 0


def test_split_is_stratified_and_seeded() -> None:
    labels = [0] * 10 + [1] * 7 + [2]
    split = P.support_query_split(labels, len(labels), seed=3)
    y = np.array(labels)
    assert split.stratified
    assert [int((y[split.support] == c).sum()) for c in range(3)] == [5, 4, 1]  # round(3.5) = 4
    assert [int((y[split.query] == c).sum()) for c in range(3)] == [5, 3, 0]  # one image: support only
    assert sorted([*split.support, *split.query]) == list(range(len(labels)))
    again = P.support_query_split(labels, len(labels), seed=3)
    other = P.support_query_split(labels, len(labels), seed=4)
    assert np.array_equal(split.support, again.support)
    assert not np.array_equal(split.support, other.support)
    unlabelled = P.support_query_split(None, 9, seed=3)
    assert not unlabelled.stratified and (len(unlabelled.support), len(unlabelled.query)) == (4, 5)


def test_the_probes_are_fitted_on_clean_support_embeddings_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, data = planted_run(tmp_path / "run")
    seen: list[np.ndarray] = []
    fit, knn_init = P.LinearProbe.fit.__func__, P.KNN.__init__  # type: ignore[attr-defined]

    def spy_fit(cls, x, y, c=P.PROBE_C):
        seen.append(np.array(x))
        return fit(cls, x, y, c)

    def spy_knn(self, support_emb, labels, k=P.K_NEIGHBOURS):
        seen.append(np.array(support_emb))
        knn_init(self, support_emb, labels, k)

    monkeypatch.setattr(P.LinearProbe, "fit", classmethod(spy_fit))
    monkeypatch.setattr(P.KNN, "__init__", spy_knn)
    summarize(store, PLAN, ["m"], None, n_boot=20)
    split = P.support_query_split(list(data["labels"]), N, derive_seed(SEED, "probe-split"))
    assert len(seen) == 2  # one kNN and one linear probe, fitted once for the whole run
    for rows in seen:
        np.testing.assert_array_equal(rows, store.read_embeddings("m", CLEAN, 0.0)[split.support])


def test_linear_probe_matches_scikit_learn_logistic_regression() -> None:
    sklearn = pytest.importorskip("sklearn.linear_model")
    rng = np.random.default_rng(5)
    y = rng.integers(0, 4, 200)
    x = rng.normal(size=(200, 6)) + 1.2 * np.eye(4, 6)[y]  # overlapping classes: C matters
    test = rng.normal(size=(300, 6)) + 1.2 * np.eye(4, 6)[rng.integers(0, 4, 300)]
    ours = P.LinearProbe.fit(x, y)
    mean, std = x.mean(axis=0), x.std(axis=0)
    ref = sklearn.LogisticRegression(C=1.0, max_iter=5000, tol=1e-10).fit((x - mean) / std, y)
    assert np.mean(ours.predict(test) == ref.predict((test - mean) / std)) >= 0.99
    np.testing.assert_allclose(
        ours.weights[:-1].T - ours.weights[:-1].T.mean(0), ref.coef_ - ref.coef_.mean(0), atol=2e-3
    )


def test_knn_majority_vote_and_ties_go_to_the_nearest_neighbour() -> None:
    support = _unit(np.array([[1, 0], [0.9, 0.1], [0.8, 0.2], [0, 1], [0.1, 0.9], [0.2, 0.8]], float))
    knn = P.KNN(support, np.array([0, 0, 0, 1, 1, 1]), k=3)
    assert knn.k == 3
    query = _unit(np.array([[1, 0.05], [0.05, 1], [0.62, 0.38]]))
    np.testing.assert_array_equal(knn.predict(query), [0, 1, 0])  # 3-0, 0-3 and a 2-1 majority
    tie = P.KNN(support[[0, 3]], np.array([0, 1]), k=10)  # k capped at the smallest class: 1
    assert tie.k == 1
    even = P.KNN(support[[0, 1, 3, 4]], np.array([0, 0, 1, 1]), k=2)
    # neighbours: one of each class, a 1-1 tie: the class of the nearest wins
    np.testing.assert_array_equal(even.predict(_unit(np.array([[0.8, 0.6], [0.6, 0.8]]))), [0, 1])


def test_knn_flip_is_label_free_and_computed_for_every_model(tmp_path: Path) -> None:
    store, data = planted_run(tmp_path / "run", labelled=False, zero_shot=True)
    result = summarize(store, PLAN, ["m"], None, n_boot=200)
    swap, clean = result.cell("m", "swap", 2.0), result.cell("m", CLEAN, 0.0)
    assert "knn_accuracy" not in swap.metrics and "probe_accuracy" not in clean.metrics
    split = P.support_query_split(None, N, derive_seed(SEED, "probe-split"))
    sims = lambda e: _unit(e) @ data[CLEAN][split.support].T  # noqa: E731
    flips = (sims(data["swap"]).argmax(1) != sims(data[CLEAN]).argmax(1)).astype(float)
    query = np.isin(np.arange(N), split.query).astype(float)
    mv = swap.metrics["knn_flip"]
    assert mv.value == pytest.approx(flips[split.query].mean(), abs=1e-6)
    idx = shared_resamples(SEED, N, 200)  # the run's shared draws, restricted to the query images
    reps = (flips * query)[idx].sum(1) / query[idx].sum(1)
    lo, hi = np.quantile(reps, [0.025, 0.975])
    assert (mv.ci_low, mv.ci_high) == (pytest.approx(lo, abs=1e-6), pytest.approx(hi, abs=1e-6))
    assert result.summary["models"]["m"]["probe"]["n_query"] == len(split.query)


def test_label_free_signals_are_tracked_against_the_probe_accuracy_drop(tmp_path: Path) -> None:
    """One corruption, nine severities: at severity s a random s/5 of the images move to the next
    class's centroid, so the probe accuracy drop and the L2 drift both rise with severity."""
    rng = np.random.default_rng(3)
    labels = [i % C for i in range(N)]
    centroids = _unit(rng.normal(size=(C, D)) * 5)
    clean = _unit(centroids[labels] + 0.05 * rng.normal(size=(N, D)))
    severities = [s / 2 for s in range(1, 10)]
    plan = CorruptionPlan(
        specs=[CorruptionSpec(name="mix", recipe=[PrimitiveCall(name="fog")])],
        severities=severities,
        seed=SEED,
    )
    store = RunStore(tmp_path / "run")
    store.open({"class_names": ["a", "b", "c"], "labelled": True}, {}, fresh=False)
    store.write_images([{"id": f"img{i:02d}", "label": y} for i, y in enumerate(labels)], [])
    store.write_cell("m", CLEAN, 0.0, _records(clean, clean, labels, False), clean)
    for s in severities:
        moved = rng.permutation(N)[: int(N * s / 5)]
        emb = clean.copy()
        emb[moved] = _unit(
            centroids[[(labels[i] + 1) % C for i in moved]] + 0.05 * rng.normal(size=(len(moved), D))
        )
        store.write_cell("m", "mix", s, _records(emb, clean, labels, False), emb)
    result = summarize(store, plan, ["m"], None, n_boot=100)
    tracking = result.summary["models"]["m"]["probe"]["tracking"]["probe_accuracy_drop"]
    cells = [result.cell("m", "mix", s) for s in severities]
    drift = [c.metrics["l2_drift"].value for c in cells]
    drop = [c.metrics["probe_accuracy_drop"].value for c in cells]
    l2 = tracking["signals"]["l2_drift"]
    assert l2["status"] == "ok" and l2["n_points"] == 9
    assert l2["value"] == pytest.approx(np.corrcoef(drift, drop)[0, 1], abs=1e-3) and l2["value"] > 0.9
    assert l2["ci_low"] <= l2["value"] <= l2["ci_high"]
    assert tracking["signals"]["divergence_radius"]["status"] == "too_few"  # one corruption


def test_two_image_only_models_get_a_paired_probe_comparison(tmp_path: Path) -> None:
    store, data = planted_run(tmp_path / "run")
    labels = [int(y) for y in data["labels"]]
    # model "m2": robust to "swap" (its swap cell is a tiny perturbation of its clean embeddings)
    for corruption, emb in ((CLEAN, data[CLEAN]), ("swap", data["mild"]), ("mild", data["mild"])):
        store.write_cell(
            "m2",
            corruption,
            0.0 if corruption == CLEAN else 2.0,
            _records(emb, data[CLEAN], labels, False),
            emb,
        )
    result = summarize(store, PLAN, ["m", "m2"], None, n_boot=100)
    row = next(
        p for p in result.summary["paired"] if p["metric"] == "probe_accuracy" and p["corruption"] == "swap"
    )
    assert (row["a"], row["b"], row["diff"]) == ("m", "m2", -1.0)
    assert row["ci_high"] == -1.0 and row["p_value"] == 0.0
