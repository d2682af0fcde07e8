"""Honest claims: runs built to be degenerate, small, near chance and non-monotone get the warnings
they need, and the report (HTML, Markdown, JSON) makes none of the false claims they invite.

The runs are written through the real RunStore, summarised by the real ``summarize`` and rendered by
the real ``write_report``; predictions are chosen per cell, so every expected warning is known by
construction.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from robustlens.analysis import inspect_failures
from robustlens.caveats import run_caveats
from robustlens.evaluation.store import CLEAN, RunStore
from robustlens.evaluation.summary import summarize
from robustlens.report.render import write_report
from robustlens.schemas import AuditResult, CorruptionPlan, CorruptionSpec, PrimitiveCall

CLASSES = ["nominal", "local", "global"]
MODEL = "demo:synthetic"
Preds = Callable[[str, float, list[int]], list[int]]


def build_run(root: Path, per_class: int, corruptions: list[str], severities: list[int], preds: Preds,
              drift: Callable[[str, float], float]) -> tuple[Path, AuditResult]:  # fmt: skip
    """A labelled run: ``preds(corruption, severity, labels)`` gives each cell's predictions (the clean
    cell is ``(CLEAN, 0)``); ``drift(corruption, severity)`` scales the embedding noise."""
    store = RunStore(root)
    plan = CorruptionPlan(
        specs=[CorruptionSpec(name=c, rationale="test", recipe=[PrimitiveCall(name="gaussian_noise")])
               for c in corruptions],
        severities=severities,
        seed=0,
    )  # fmt: skip
    labels = [c for c in range(len(CLASSES)) for _ in range(per_class)]
    ids = [f"{CLASSES[y]}/img{i:03d}.png" for i, y in enumerate(labels)]
    identity = {"labelled": True, "class_names": CLASSES, "dataset": "synthetic", "corrupt_at": "native"}
    manifest = {"dataset": {"kind": "class_folders", "root": str(root / "none"), "n_images": len(ids)}}
    store.open(identity, manifest, fresh=True)
    store.write_images([{"id": i, "label": y, "hash": "0"} for i, y in zip(ids, labels, strict=True)], [])
    rng = np.random.default_rng(0)
    clean_emb = rng.normal(size=(len(ids), 8))
    clean_emb /= np.linalg.norm(clean_emb, axis=1, keepdims=True)
    clean_pred = preds(CLEAN, 0.0, labels)
    for corruption, severity in [(CLEAN, 0.0)] + [(c, float(s)) for c in corruptions for s in severities]:
        pred = preds(corruption, severity, labels)
        emb = clean_emb + drift(corruption, severity) * rng.normal(size=clean_emb.shape)
        emb /= np.linalg.norm(emb, axis=1, keepdims=True)
        records = []
        for n, (image_id, y, p) in enumerate(zip(ids, labels, pred, strict=True)):
            conf = round(0.55 + 0.4 * (n % 7) / 7, 6)
            records.append({
                "id": image_id, "label": y, "pred": p, "conf": conf, "clean_pred": clean_pred[n],
                "p_clean_pred": conf if p == clean_pred[n] else round(1 - conf, 6),
                "p_true": conf if p == y else round(1 - conf, 6),
                "cos": round(float(emb[n] @ clean_emb[n]), 6),
                "l2": round(float(np.linalg.norm(emb[n] - clean_emb[n])), 6),
            })  # fmt: skip
        store.write_cell(MODEL, corruption, severity, records, emb)
    result = summarize(store, plan, [MODEL], None, n_boot=200)
    result.save(root / "result.json")
    return root, result


def degenerate_preds(corruption: str, severity: float, labels: list[int]) -> list[int]:
    """Every clean prediction correct. ``blur``: severity s turns 2s images to class 0 (damage rises).
    ``jpeg``: severity 1 predicts class 0 for everything, the others change nothing (non-monotone)."""
    wrong = [i for i, y in enumerate(labels) if y != 0]
    if corruption == "blur":
        flipped = set(wrong[: int(2 * severity)])
    elif corruption == "jpeg" and severity == 1:
        flipped = set(wrong)
    else:
        flipped = set()
    return [0 if i in flipped else y for i, y in enumerate(labels)]


def degenerate_drift(corruption: str, severity: float) -> float:
    return {"blur": severity / 8, "jpeg": 0.6 if severity == 1 else 0.02}.get(corruption, 0.0)


@pytest.fixture(scope="module")
def degenerate(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("degenerate") / "run"
    run_dir, result = build_run(
        root, 4, ["blur", "jpeg"], [1, 2, 3, 4, 5], degenerate_preds, degenerate_drift
    )
    paths = write_report(run_dir)
    return {
        "result": result,
        "dir": run_dir,
        "json": json.loads(paths["json"].read_text(encoding="utf-8")),
        "html": paths["html"].read_text(encoding="utf-8"),
        "md": paths["md"].read_text(encoding="utf-8"),
    }


def kinds(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {w["kind"]: w for w in data["warning_details"]}


def test_degenerate_trackers_are_not_ranked(degenerate: dict[str, Any]) -> None:
    tracking = degenerate["result"].summary["models"][MODEL]["label_free_tracking"]
    signals = tracking["signals"]
    assert tracking["n_cells"] == 10
    # Clean accuracy is 1, so LFP is the accuracy drop cell for cell: r = 1 but meaningless.
    assert signals["lfp"]["value"] == 1.0 and signals["lfp"]["status"] == "degenerate"
    assert "every clean prediction is correct" in signals["lfp"]["reason"]
    assert signals["confidence_drop"]["status"] == "degenerate"
    # Two corruptions are far below the minimum number of points for the radius.
    assert signals["divergence_radius"]["status"] == "too_few"
    # Embedding drift is not tied to the clean prediction: it is compared, with an interval.
    l2 = signals["l2_drift"]
    assert l2["status"] == "ok" and l2["ci_low"] is not None and l2["ci_low"] <= l2["value"] <= l2["ci_high"]
    for doc in (degenerate["html"], degenerate["md"]):
        assert "not ranked (degenerate)" in doc
        assert "LFP equals the accuracy drop cell for cell" in doc
        assert "Best label-free tracker of the accuracy drop: LFP" not in doc
        assert "Monitor LFP" not in doc and "Monitor confidence drop" not in doc
    data = degenerate["json"]
    lfp = next(s for s in data["label_free"][0]["tracking"]["signals"] if s["signal"] == "lfp")
    assert lfp["r"]["value"] is None and lfp["ranked"] is False and lfp["raw_r"][0] == 1.0
    assert not any("Monitor LFP" in r for r in data["recommendations"])


def test_small_sample_and_one_class_warnings_name_what_they_concern(degenerate: dict[str, Any]) -> None:
    data = degenerate["json"]
    assert data["warnings"] == [w["text"] for w in data["warning_details"]]
    found = kinds(data)
    assert found["small_sample"]["items"] == ["nominal (4 images)", "local (4 images)", "global (4 images)"]
    # jpeg s1 predicts "nominal" for all 12 images; blur s5 flips 8 of the 8 others to nominal too, and
    # blur s4 flips all 8 too: those are the cells with >= 95 % one class.
    assert found["one_class"]["items"] == [
        f"{MODEL} blur s4 (nominal, 12/12)",
        f"{MODEL} blur s5 (nominal, 12/12)",
        f"{MODEL} jpeg s1 (nominal, 12/12)",
    ]
    assert "3 of 11 cells" in found["one_class"]["text"]
    for doc in (degenerate["html"], degenerate["md"]):
        assert "Small sample" in doc and "One-class collapse" in doc and "jpeg s1 (nominal, 12/12)" in doc


def test_non_monotone_curve_is_called_so_not_critical_from_severity_1(degenerate: dict[str, Any]) -> None:
    data = degenerate["json"]
    jpeg = next(p for p in data["collapse"] if p["corruption"] == "jpeg")
    assert jpeg["severity"] == 1.0 and jpeg["non_monotone"] and jpeg["collapsed_at"] == [1.0]
    assert "non-monotone" in jpeg["severity_text"]
    items = kinds(data)["non_monotone"]["items"]
    assert len(items) == 1 and items[0].startswith(
        f"{MODEL} jpeg: accuracy drop falls by 0.667 from severity 1"
    )
    # blur halves accuracy exactly at severity 3 (6 of 12 wrong): a reader sees the collapse there; the
    # old rule (strictly below half) only reported it from severity 4.
    blur = next(p for p in data["collapse"] if p["corruption"] == "blur")
    assert blur["severity"] == 3.0 and not blur["non_monotone"]
    for doc in (degenerate["html"], degenerate["md"]):
        assert "jpeg is deployment-critical from severity 1" not in doc
        assert "jpeg has a non-monotone severity curve" in doc
        assert "blur is deployment-critical from severity 3" in doc
        assert "Non-monotone severity curves" in doc


def near_chance_preds(corruption: str, severity: float, labels: list[int]) -> list[int]:
    """Clean: right on the first 3 images of each class only (9 of 24 = 0.375, chance 1/3). ``fog``
    at severity 2 loses one more image: a damage too small to be significant."""
    seen: dict[int, int] = {}
    out = []
    for y in labels:
        seen[y] = seen.get(y, 0) + 1
        out.append(y if seen[y] <= 3 else (y + 1) % 3)
    if corruption == "fog" and severity == 2:
        out[0] = 1
    return out


def test_near_chance_not_significant_and_too_few_cells(tmp_path: Path) -> None:
    run_dir, result = build_run(tmp_path / "run", 8, ["fog"], [1, 2, 3], near_chance_preds,
                                lambda c, s: s / 20)  # fmt: skip
    paths = write_report(run_dir)
    data = json.loads(paths["json"].read_text(encoding="utf-8"))
    found = kinds(data)
    assert found["near_chance"]["items"][0].startswith(f"{MODEL}: clean accuracy 0.375")
    assert found["not_significant"]["text"].startswith("The largest damage is not significant")
    assert found["not_significant"]["items"][0].startswith(f"{MODEL} fog s2 (accuracy drop 0.042")
    assert (
        data["vulnerabilities"][0]["corruption"] == "fog"
        and data["vulnerabilities"][0]["significant"] is False
    )
    l2 = result.summary["models"][MODEL]["label_free_tracking"]["signals"]["l2_drift"]
    assert l2["status"] == "too_few" and "too few cells" in l2["reason"]
    assert not any(r.startswith("Monitor") for r in data["recommendations"])
    for doc in (paths["html"].read_text(encoding="utf-8"), paths["md"].read_text(encoding="utf-8")):
        assert "near chance" in doc and "not significant" in doc and "too few cells" in doc


def test_clean_run_has_no_false_warnings(tmp_path: Path) -> None:
    """A balanced run with enough images, a monotone curve and no collapse warns of nothing."""

    def preds(corruption: str, severity: float, labels: list[int]) -> list[int]:
        out = list(labels)
        for i in range(int(severity) * 3):
            out[i * 7 % len(out)] = (labels[i * 7 % len(out)] + 1) % 3
        return out if corruption != CLEAN else list(labels)

    run_dir, result = build_run(tmp_path / "run", 20, ["blur"], [1, 2, 3], preds, lambda c, s: s / 20)
    analysis = inspect_failures(result, run_dir)
    assert analysis.worst_cells and analysis.worst_cells[0].severity == 3.0
    assert run_caveats(result, run_dir, analysis) == []


def test_cli_tracking_line_shows_intervals_and_refusals(degenerate: dict[str, Any]) -> None:
    from robustlens.cli.evaluate import _aggregate_lines

    line = next(x for x in _aggregate_lines(degenerate["result"], MODEL) if x.startswith("label-free"))
    assert "lfp not ranked (degenerate)" in line and "divergence_radius not ranked (too_few)" in line
    l2 = degenerate["result"].summary["models"][MODEL]["label_free_tracking"]["signals"]["l2_drift"]
    assert f"l2_drift r={l2['value']:+.2f} [{l2['ci_low']:+.2f}, {l2['ci_high']:+.2f}]" in line


def test_a_long_warning_names_a_few_cells_and_keeps_all_in_the_json() -> None:
    from robustlens.caveats import SHOWN_ITEMS, _listed

    items = [f"m fog s{i}" for i in range(SHOWN_ITEMS + 27)]
    text = _listed(items)
    assert text.startswith("m fog s0; m fog s1") and f"m fog s{SHOWN_ITEMS - 1}" in text
    assert f"m fog s{SHOWN_ITEMS};" not in text and "and 27 more (all listed in report.json)" in text
    assert _listed(items[:2]) == "m fog s0; m fog s1"
