"""A small run directory with known failures, written through the real RunStore and summarised by the
real ``summarize``: cheap to build, and every expected analysis result is known by construction.

Model ``m`` is right on every clean image. Under ``blur`` at severity s, the first ``s`` images of the
class ``local`` turn into ``nominal``; at severity 3 every ``local`` and every ``global`` image does
(accuracy 4/12 < half the clean accuracy: a collapse). ``noise`` changes nothing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from robustlens.evaluation.store import CLEAN, RunStore
from robustlens.evaluation.summary import summarize
from robustlens.schemas import AuditResult, CorruptionPlan, CorruptionSpec, PrimitiveCall

CLASSES = ["nominal", "local", "global"]
MODEL = "openclip:rl-tiny-a/random"
PER_CLASS = 4


def _plan() -> CorruptionPlan:
    return CorruptionPlan(
        specs=[
            CorruptionSpec(
                name="noise", rationale="sensor noise", recipe=[PrimitiveCall(name="gaussian_noise")]
            ),
            CorruptionSpec(name="blur", rationale="defocus", recipe=[PrimitiveCall(name="defocus_blur")]),
        ],
        severities=[1, 2, 3],
        seed=0,
    )


def _preds(corruption: str, severity: float, labels: list[int]) -> list[int]:
    preds = list(labels)
    if corruption != "blur":
        return preds
    local = [i for i, y in enumerate(labels) if y == 1]
    flipped = local if severity >= 3 else local[: int(severity)]
    if severity >= 3:
        flipped += [i for i, y in enumerate(labels) if y == 2]
    for i in flipped:
        preds[i] = 0
    return preds


def synthetic_run(root: Path, labelled: bool = True) -> tuple[Path, AuditResult]:
    """Write the run under ``root`` and return (run dir, result)."""
    store = RunStore(root)
    plan = _plan()
    labels = [c for c in range(len(CLASSES)) for _ in range(PER_CLASS)]
    ids = [f"{CLASSES[y]}/img{i:02d}.png" for i, y in enumerate(labels)]
    identity = {"labelled": labelled, "class_names": CLASSES, "dataset": "synthetic", "corrupt_at": "native"}
    manifest = {"dataset": {"kind": "class_folders", "root": str(root / "no-such-dataset"), "n_images": 12}}
    store.open(identity, manifest, fresh=True)
    store.write_images(
        [{"id": i, "label": y if labelled else None, "hash": "0"} for i, y in zip(ids, labels, strict=True)],
        [],
    )
    rng = np.random.default_rng(0)
    clean_emb = rng.normal(size=(len(ids), 8))
    clean_emb /= np.linalg.norm(clean_emb, axis=1, keepdims=True)
    grid = [(CLEAN, 0.0)] + [(s.name, float(v)) for s in plan.specs for v in plan.severities]
    for corruption, severity in grid:
        preds = _preds(corruption, severity, labels)
        emb = clean_emb + (severity / 10 if corruption == "blur" else severity / 40) * rng.normal(
            size=clean_emb.shape
        )
        emb /= np.linalg.norm(emb, axis=1, keepdims=True)
        records = []
        for n, (image_id, y, p) in enumerate(zip(ids, labels, preds, strict=True)):
            conf = round(0.5 + 0.04 * n, 6)
            records.append(
                {
                    "id": image_id,
                    "label": y if labelled else None,
                    "pred": p,
                    "conf": conf,
                    "clean_pred": y,
                    "p_clean_pred": conf if p == y else round(1 - conf, 6),
                    "cos": round(float(emb[n] @ clean_emb[n]), 6),
                    "l2": round(float(np.linalg.norm(emb[n] - clean_emb[n])), 6),
                    **({"p_true": conf if p == y else round(1 - conf, 6)} if labelled else {}),
                }
            )
        store.write_cell(MODEL, corruption, severity, records, emb)
    result = summarize(store, plan, [MODEL], None, n_boot=50)
    result.save(root / "result.json")
    return root, result
