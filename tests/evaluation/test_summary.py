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
