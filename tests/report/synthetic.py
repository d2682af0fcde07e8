"""A small run directory with known failures, written through the real RunStore and summarised by the
real ``summarize``: cheap to build, and every expected analysis result is known by construction.

Model ``m`` is right on every clean image. Under ``blur`` at severity s, the first ``s`` images of the
class ``local`` turn into ``nominal``; at severity 3 every ``local`` and every ``global`` image does
(accuracy 4/12 < half the clean accuracy: a collapse). ``noise`` changes nothing.

``plant_investigation`` writes an ``investigation.json`` with known numbers into such a run (the
report's investigation sections must show exactly those), and ``images=True`` writes the 12 source
images so thumbnails can be regenerated.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from robustlens.evaluation.store import CLEAN, RunStore
from robustlens.evaluation.summary import summarize
from robustlens.investigate.records import (
    INVESTIGATION_FILE,
    ClassVulnerability,
    CompoundResult,
    Investigation,
    InvestigationStep,
    PhysicalLevel,
    Slice,
    ToleranceResult,
)
from robustlens.schemas import AuditResult, CorruptionPlan, CorruptionSpec, MetricValue, PrimitiveCall

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


def _write_images(folder: Path, ids: list[str]) -> None:
    """Small textured PNGs (a gradient plus seeded noise), so a corruption visibly changes them."""
    from PIL import Image

    rng = np.random.default_rng(1)
    ramp = np.linspace(40, 200, 48)[None, :, None] * np.ones((48, 1, 3))
    for n, image_id in enumerate(ids):
        pixels = np.clip(ramp + rng.normal(0, 20, ramp.shape) + 4 * n, 0, 255).astype(np.uint8)
        (folder / image_id).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels).save(folder / image_id)


def synthetic_run(root: Path, labelled: bool = True, images: bool = False) -> tuple[Path, AuditResult]:
    """Write the run under ``root`` and return (run dir, result); ``images`` writes the source images."""
    store = RunStore(root)
    plan = _plan()
    labels = [c for c in range(len(CLASSES)) for _ in range(PER_CLASS)]
    ids = [f"{CLASSES[y]}/img{i:02d}.png" for i, y in enumerate(labels)]
    identity = {"labelled": labelled, "class_names": CLASSES, "dataset": "synthetic", "corrupt_at": "native"}
    data_root = root / ("dataset" if images else "no-such-dataset")
    manifest = {"dataset": {"kind": "class_folders", "root": str(data_root), "n_images": 12}}
    store.open(identity, manifest, fresh=True)
    if images:
        _write_images(data_root, ids)
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


def _mv(value: float, lo: float, hi: float) -> MetricValue:
    return MetricValue(value=value, ci_low=lo, ci_high=hi)


#: a log entry written by an LLM planner that tries to inject markup into the report
EVIL_QUESTION = "Is it <script>alert(1)</script> safe? [click](javascript:alert(1)) **bold** | pipe"


def planted_investigation() -> Investigation:
    """Known investigation records for the synthetic run (model ``MODEL``, conditions blur/noise)."""
    tol = {"model_id": MODEL, "metric": "accuracy_drop", "tolerance": 0.05}
    tol["evaluated"] = [1.0, 1.5, 1.75, 2.0]
    mildest = tol | {"evaluated": [0.25]}
    radius = PhysicalLevel(primitive="defocus_blur", param="radius", value=3.5, unit="px")
    quality = PhysicalLevel(primitive="jpeg", param="quality", value=21.5)
    return Investigation(
        envelope=[
            ToleranceResult(
                corruption="noise", status="within_all", tolerated_severity=3.0, value=_mv(0, 0, 0), **tol
            ),
            ToleranceResult(
                corruption="blur",
                status="bracketed",
                tolerated_severity=1.5,
                failing_severity=1.75,
                value=_mv(0.0417, 0.0083, 0.0667),
                physical=[radius],
                **tol,
            ),
            ToleranceResult(
                corruption="compression",
                status="bracketed",
                tolerated_severity=1.5,
                failing_severity=2.0,
                value=_mv(0.0312, 0.0104, 0.0521),
                physical=[quality],
                **tol,
            ),
            ToleranceResult(corruption="low_light", status="fails_mildest", failing_severity=0.25, **mildest),
        ],
        slices=[
            Slice(
                model_id=MODEL,
                corruption="blur",
                severity=2.0,
                kind="brightness",
                description="darkest quarter (mean brightness < 0.31)",
                n_images=4,
                failure_rate=_mv(0.5, 0.25, 0.75),
                rest_rate=_mv(0.0, 0.0, 0.0),
                difference=_mv(0.5, 0.25, 0.75),
                significant=True,
                image_ids=["local/img04.png", "local/img05.png"],
            ),
            Slice(
                model_id=MODEL,
                corruption="blur",
                severity=1.0,
                kind="class",
                description="class global",
                n_images=4,
                failure_rate=_mv(0.125, 0.0, 0.375),
                rest_rate=_mv(0.0625, 0.0, 0.1875),
                difference=_mv(0.0625, -0.125, 0.3125),
                significant=False,
                image_ids=["global/img08.png"],
            ),
        ],
        compounds=[
            CompoundResult(
                model_id=MODEL,
                corruption="blur+noise",
                parts=["blur", "noise"],
                severity=2.0,
                metric="accuracy_drop",
                drop=_mv(0.6111, 0.5278, 0.6944),
                part_drops={"blur": _mv(0.3333, 0.2222, 0.4444), "noise": _mv(0.0278, 0.0, 0.0556)},
                worse_than_worst_part=True,
                worse_than_sum=True,
                why="blur and noise both named in the brief",
            ),
            CompoundResult(  # the record claims more than its overlapping intervals support
                model_id=MODEL,
                corruption="noise+blur",
                parts=["noise", "blur"],
                severity=1.0,
                metric="accuracy_drop",
                drop=_mv(0.1944, 0.0833, 0.3056),
                part_drops={"noise": _mv(0.0, 0.0, 0.0), "blur": _mv(0.0833, 0.0, 0.1667)},
                worse_than_worst_part=True,
            ),
        ],
        vulnerability=[
            ClassVulnerability(
                model_id=MODEL,
                corruption="blur",
                severity=2.0,
                class_name="local",
                clean_accuracy=1.0,
                corrupted_accuracy=0.5,
                drop=_mv(0.5, 0.25, 0.75),
                absorbed_share=0.875,
                n_images=4,
            )
        ],
        steps=[
            InvestigationStep(
                iteration=1,
                question="Up to what blur does the model stay within tolerance?",
                tool="bisect_tolerance",
                result="tolerates blur up to radius 3.5 px",
                why="blur was the worst condition in the first pass",
            ),
            InvestigationStep(iteration=2, question=EVIL_QUESTION, tool="find_slices", why="<b>why</b> _x_"),
        ],
    )


def plant_investigation(run_dir: Path, investigation: Investigation | None = None) -> Investigation:
    """Write ``investigation.json`` into the run (the planted records by default) and return it."""
    inv = investigation or planted_investigation()
    inv.save(run_dir / INVESTIGATION_FILE)
    return inv
