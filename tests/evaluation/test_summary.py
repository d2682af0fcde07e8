"""Run summaries: vectorised bootstrap metrics agree with the pure metric functions on real run files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from robustlens.corruptions.seeding import derive_seed
from robustlens.evaluation import metrics as M
from robustlens.evaluation.store import CLEAN, RunStore
from robustlens.evaluation.summary import summarize
from robustlens.schemas import CorruptionPlan, CorruptionSpec, PrimitiveCall

N, C, D = 120, 4, 8
PLAN = CorruptionPlan(
    specs=[CorruptionSpec(name="fog", recipe=[PrimitiveCall(name="fog")])], severities=[2.0], seed=9
)


def _write_model(
    store: RunStore, model: str, rng: np.random.Generator, skill: float
) -> dict[str, np.ndarray]:
    labels = rng.integers(0, C, N)
    out = {}
    clean_pred = None
    clean_emb = None
    for corruption, sev, noise in [(CLEAN, 0.0, 0.0), ("fog", 2.0, 1.5)]:
        logits = rng.normal(0, 1, (N, C)) * (1 + noise)
        logits[np.arange(N), labels] += skill
        probs = M.softmax(logits)
        pred = probs.argmax(1)
        emb = rng.normal(size=(N, D))
        emb /= np.linalg.norm(emb, axis=1, keepdims=True)
        emb = emb.astype(np.float16).astype(np.float32)
        base = pred if clean_pred is None else clean_pred
        ref = emb if clean_emb is None else clean_emb
        records = [
            {
                "id": f"img{i}",
                "label": int(labels[i]),
                "pred": int(pred[i]),
                "conf": float(probs[i, pred[i]]),
                "p_true": float(probs[i, labels[i]]),
                "clean_pred": int(base[i]),
                "p_clean_pred": float(probs[i, base[i]]),
                "cos": float(emb[i] @ ref[i]),
                "l2": float(np.linalg.norm(emb[i] - ref[i])),
            }
            for i in range(N)
        ]
        store.write_cell(model, corruption, sev, records, emb)
        out[corruption] = probs
        if clean_pred is None:
            clean_pred, clean_emb = pred, emb
    out["labels"] = labels
    return out


@pytest.fixture
def run(tmp_path: Path) -> tuple[RunStore, dict[str, dict[str, np.ndarray]]]:
    store = RunStore(tmp_path / "run")
    store.open({"class_names": ["a", "b", "c", "d"], "labelled": True}, {}, fresh=False)
    rng = np.random.default_rng(0)
    data = {"good": _write_model(store, "good", rng, 3.0), "bad": _write_model(store, "bad", rng, 0.3)}
    store.write_images([{"id": f"img{i}"} for i in range(N)], [])
    return store, data


def test_cell_metrics_match_pure_functions(run: tuple[RunStore, dict]) -> None:
    store, data = run
    result = summarize(store, PLAN, ["good", "bad"], reference="bad", n_boot=300)
    for model in ("good", "bad"):
        labels = data[model]["labels"]
        for corruption, sev in [(CLEAN, 0.0), ("fog", 2.0)]:
            probs = data[model][corruption]
            cell = result.cell(model, corruption, sev)
            assert cell is not None
            pred = probs.argmax(1)
            assert cell.metrics["accuracy"].value == pytest.approx(M.accuracy(labels, pred), abs=1e-6)
            assert cell.metrics["balanced_accuracy"].value == pytest.approx(
                M.balanced_accuracy(labels, pred, C), abs=1e-6
            )
            assert cell.metrics["ece"].value == pytest.approx(
                M.expected_calibration_error(probs, labels), abs=1e-5
            )
            assert cell.metrics["nll"].value == pytest.approx(
                M.negative_log_likelihood(probs, labels), abs=1e-5
            )
        fog = result.cell(model, "fog", 2.0)
        lfp = M.label_flip_probability(data[model][CLEAN].argmax(1), data[model]["fog"].argmax(1))
        assert fog.metrics["lfp"].value == pytest.approx(lfp)


def test_interval_is_the_percentile_bootstrap_on_shared_resamples(run: tuple[RunStore, dict]) -> None:
    store, data = run
    result = summarize(store, PLAN, ["good"], reference=None, n_boot=300)
    idx = np.random.default_rng(derive_seed(PLAN.seed, "bootstrap")).integers(0, N, size=(300, N))
    correct = (data["good"]["fog"].argmax(1) == data["good"]["labels"]).astype(float)
    lo, hi = np.quantile(correct[idx].mean(axis=1), [0.025, 0.975])
    mv = result.cell("good", "fog", 2.0).metrics["accuracy"]
    assert (mv.ci_low, mv.ci_high) == (pytest.approx(lo, abs=1e-6), pytest.approx(hi, abs=1e-6))


def test_paired_comparison_and_corruption_error(run: tuple[RunStore, dict]) -> None:
    store, data = run
    result = summarize(store, PLAN, ["good", "bad"], reference="bad", n_boot=500)
    row = next(p for p in result.summary["paired"] if p["corruption"] == CLEAN and p["metric"] == "accuracy")
    assert row["diff"] > 0.3 and row["ci_low"] > 0 and row["p_value"] < 0.01
    good, bad = result.summary["models"]["good"], result.summary["models"]["bad"]
    assert bad["mce"]["value"] == pytest.approx(1.0)
    err = lambda m, c: 1 - M.accuracy(data[m]["labels"], data[m][c].argmax(1))  # noqa: E731
    assert good["ce"]["fog"]["value"] == pytest.approx(err("good", "fog") / err("bad", "fog"), abs=1e-6)
    rel = (err("good", "fog") - err("good", CLEAN)) / (err("bad", "fog") - err("bad", CLEAN))
    assert good["relative_ce"]["fog"]["value"] == pytest.approx(rel, abs=1e-6)
    assert good["divergence_radius"]["fog"]["value"] > 0


def test_debiased_calibration_error_cell_metric_matches_pure_function(run: tuple[RunStore, dict]) -> None:
    store, data = run
    result = summarize(store, PLAN, ["good"], reference=None, n_boot=100)
    for corruption, sev in [(CLEAN, 0.0), ("fog", 2.0)]:
        mv = result.cell("good", corruption, sev).metrics["ece_debiased"]
        expected = M.debiased_calibration_error(data["good"][corruption], data["good"]["labels"])
        assert mv.value == pytest.approx(expected, abs=1e-6)
        assert mv.ci_low <= mv.value <= mv.ci_high


def _tracking_run(root: Path, severities: list[float]) -> tuple[RunStore, CorruptionPlan, dict]:
    """One model, one corruption, several severities: the error and the L2 drift both rise with
    severity, and the clean model is wrong on some images (so LFP is no restatement of the drop)."""
    rng = np.random.default_rng(2)
    plan = CorruptionPlan(
        specs=[CorruptionSpec(name="blur", recipe=[PrimitiveCall(name="defocus_blur")])],
        severities=severities,
        seed=4,
    )
    store = RunStore(root)
    store.open({"class_names": ["a", "b", "c", "d"], "labelled": True}, {}, fresh=False)
    labels = rng.integers(0, C, N)
    clean_pred = np.where(rng.random(N) < 0.8, labels, (labels + 1) % C)
    emb0 = rng.normal(size=(N, D))
    emb0 /= np.linalg.norm(emb0, axis=1, keepdims=True)
    cols: dict = {}
    for corruption, sev in [(CLEAN, 0.0)] + [("blur", s) for s in severities]:
        pred = np.where(rng.random(N) < sev / 6, (labels + 2) % C, clean_pred)
        emb = emb0 + sev / 5 * rng.normal(size=(N, D))
        emb /= np.linalg.norm(emb, axis=1, keepdims=True)
        l2 = np.linalg.norm(emb - emb0, axis=1)
        records = [
            {"id": f"img{i}", "label": int(labels[i]), "pred": int(pred[i]), "conf": 0.7,
             "p_true": 0.5, "clean_pred": int(clean_pred[i]), "p_clean_pred": 0.6,
             "cos": float(emb[i] @ emb0[i]), "l2": float(l2[i])}
            for i in range(N)
        ]  # fmt: skip
        store.write_cell("m", corruption, sev, records, emb.astype(np.float32))
        cols[(corruption, sev)] = ((pred == labels).astype(float), np.array([r["l2"] for r in records]))
    store.write_images([{"id": f"img{i}"} for i in range(N)], [])
    return store, plan, cols


def test_tracking_interval_resamples_images_and_recomputes_r(tmp_path: Path) -> None:
    severities = [s / 2 for s in range(1, 10)]
    store, plan, cols = _tracking_run(tmp_path / "run", severities)
    result = summarize(store, plan, ["m"], reference=None, n_boot=200)
    l2 = result.summary["models"]["m"]["label_free_tracking"]["signals"]["l2_drift"]
    assert l2["status"] == "ok" and l2["ranked"] and l2["n_points"] == 9
    # By hand: the run's shared image resamples, every cell's drop and drift recomputed per resample,
    # then Pearson r across the 9 cells of each resample.
    idx = np.random.default_rng(derive_seed(plan.seed, "bootstrap")).integers(0, N, size=(200, N))
    clean_ok = cols[(CLEAN, 0.0)][0]
    drop = np.stack([clean_ok[idx].mean(1) - cols[("blur", s)][0][idx].mean(1) for s in severities], 1)
    drift = np.stack([cols[("blur", s)][1][idx].mean(1) for s in severities], 1)
    r = [np.corrcoef(drift[b], drop[b])[0, 1] for b in range(200)]
    lo, hi = np.quantile(r, [0.025, 0.975])
    assert (l2["ci_low"], l2["ci_high"]) == (pytest.approx(lo, abs=1e-6), pytest.approx(hi, abs=1e-6))
    point = np.corrcoef(
        [cols[("blur", s)][1].mean() for s in severities],
        [clean_ok.mean() - cols[("blur", s)][0].mean() for s in severities],
    )[0, 1]
    assert l2["value"] == pytest.approx(point, abs=1e-4)
    # The clean model errs, so LFP is compared too; the radius has one corruption: too few points.
    signals = result.summary["models"]["m"]["label_free_tracking"]["signals"]
    assert signals["lfp"]["status"] == "ok"
    assert signals["divergence_radius"]["status"] == "too_few"


def test_fewer_cells_than_the_minimum_are_not_ranked(tmp_path: Path) -> None:
    store, plan, _ = _tracking_run(tmp_path / "run", [1.0, 2.0, 3.0, 4.0, 5.0])
    result = summarize(store, plan, ["m"], reference=None, n_boot=50)
    l2 = result.summary["models"]["m"]["label_free_tracking"]["signals"]["l2_drift"]
    assert l2["value"] is not None and l2["status"] == "too_few" and not l2["ranked"]
    assert l2["reason"] == "too few cells: 5 distinct points, at least 8 needed"
