"""Paired before/after comparison of the original and the hardened model on the held-out images.

Both models are evaluated by the regular engine (``robustlens.evaluation.engine.evaluate``) into
OUT/compare/before and OUT/compare/after, with the same plan, seed and images, so every corrupted
image is identical for the two models and the comparison is paired: each image contributes one
difference, and the interval is the paired percentile bootstrap over images
(``evaluation.stats.paired_bootstrap``; Efron & Tibshirani 1993). Metrics: Divergence Radius of
{clean, every severity} per spec (arXiv 2604.14973), cosine drift 1 - cos(clean, corrupted)
averaged over severities, clean zero-shot accuracy (utility kept?) and accuracy per cell; for an
image-only model with labels, the linear probe's accuracy instead (clean and per cell). Specs the
model was trained on are marked ``trained``; the others are held-out corruptions (does hardening
against blur transfer to fog, or hurt JPEG?).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from robustlens.data.sources import ImageItem, ImageSet
from robustlens.evaluation.drift import divergence_radius
from robustlens.evaluation.engine import evaluate
from robustlens.evaluation.engine_options import EngineOptions
from robustlens.evaluation.stats import paired_bootstrap
from robustlens.evaluation.store import CLEAN, RunStore, write_json
from robustlens.harden.towers import reload_with
from robustlens.schemas import CorruptionPlan


def comparison_plan(trained: CorruptionPlan, extra: CorruptionPlan | None) -> CorruptionPlan:
    """The evaluation plan: ``extra``'s specs plus every trained spec it lacks (by name)."""
    if extra is None:
        return trained
    names = {s.name for s in extra.specs}
    specs = [*[s for s in trained.specs if s.name not in names], *extra.specs]
    return extra.model_copy(update={"specs": specs})


def compare(
    model_id: str,
    base_checkpoint: str | None,
    hardened: Path,
    images: ImageSet,
    held_out: Sequence[ImageItem],
    plan: CorruptionPlan,
    trained: Sequence[str],
    out: Path,
    *,
    options: EngineOptions | None = None,
    n_boot: int = 1000,
) -> dict[str, Any]:
    """Evaluate both models on ``held_out`` and return (and write) the paired table."""
    base = options or EngineOptions()
    held = ImageSet(list(held_out), images.class_names, images.root, images.kind)
    after_id, after_ckpt = reload_with(model_id, hardened)
    runs, ids = {}, {"before": model_id, "after": after_id}
    for name, ckpt in (("before", base_checkpoint), ("after", after_ckpt)):
        folder = out / "compare" / name
        opts = EngineOptions(**{**base.__dict__, "checkpoints": {ids[name]: ckpt} if ckpt else {}})
        evaluate(plan, held, [ids[name]], folder, options=opts)
        runs[name] = RunStore(folder)
    rows = paired_rows(
        runs["before"], runs["after"], (ids["before"], ids["after"]), plan, set(trained), n_boot
    )
    table = {
        "model": model_id,
        "base_checkpoint": base_checkpoint,
        "hardened": str(hardened),
        "n_images": len(held_out),
        "trained_specs": sorted(trained),
        "severities": [float(s) for s in plan.severities],
        "n_boot": n_boot,
        "seed": plan.seed,
        "rows": rows,
    }
    write_json(out / "comparison.json", table)
    (out / "comparison.md").write_text(markdown(table))
    return table


def _by_id(store: RunStore, model_id: str, cell: str, severity: float) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in store.read_records(model_id, cell, severity)}


def _probe_correct(store: RunStore, model_id: str, seed: int) -> Any:
    """cell(corruption, severity) -> {image id: 1.0 if the linear probe is right}, over the query
    images; None without labels or for a zero-shot model. The probe is the engine's own
    (``evaluation.probe``: fitted on this run's clean support images, never on corrupted ones), so an
    image-only model's utility is the probe accuracy its audit reports (arXiv 2604.14973)."""
    from robustlens.evaluation.probe import cell_columns, model_probes

    clean = store.read_records(model_id, CLEAN, 0.0)
    probes = model_probes(store, model_id, clean, seed)
    if probes is None or probes.linear is None:
        return None
    pos = {r["id"]: k for k, r in enumerate(clean)}

    def cell(corruption: str, severity: float) -> dict[str, float]:
        recs = store.read_records(model_id, corruption, severity)
        cols = cell_columns(probes, store, model_id, corruption, severity, [pos[r["id"]] for r in recs])
        return {r["id"]: float(cols["probe_correct"][k]) for k, r in enumerate(recs) if cols["query"][k]}

    return cell


def paired_rows(
    before: RunStore,
    after: RunStore,
    model_ids: tuple[str, str],
    plan: CorruptionPlan,
    trained: set[str],
    n_boot: int,
) -> list[dict[str, Any]]:
    """One row per metric (and spec, severity): before, after, after - before with its interval.
    ``model_ids``: the id in each run (a tagged openclip id loses its tag to take a checkpoint)."""
    id_b, id_a = model_ids
    clean_b, clean_a = _by_id(before, id_b, CLEAN, 0.0), _by_id(after, id_a, CLEAN, 0.0)
    ids = [i for i in clean_b if i in clean_a]
    pos_b = {r: k for k, r in enumerate(clean_b)}
    pos_a = {r: k for k, r in enumerate(clean_a)}
    sev = [float(s) for s in plan.severities]
    rows: list[dict[str, Any]] = []

    def add(metric: str, spec: str | None, severity: float | None, b: np.ndarray, a: np.ndarray) -> None:
        p = paired_bootstrap(np.mean, (a,), (b,), n_boot=n_boot, seed=plan.seed)
        kind = None if spec is None else ("trained" if spec in trained else "held-out")
        rows.append(
            {
                "metric": metric,
                "spec": spec,
                "severity": severity,
                "kind": kind,
                "before": float(np.mean(b)),
                "after": float(np.mean(a)),
                "diff": p.diff,
                "ci_low": p.ci_low,
                "ci_high": p.ci_high,
                "p_value": p.p_value,
            }
        )

    labelled = all(clean_b[i].get("label") is not None and "pred" in clean_b[i] for i in ids)
    if labelled:
        correct = {
            k: np.array([r[i]["pred"] == r[i]["label"] for i in ids], float)
            for k, r in (("b", clean_b), ("a", clean_a))
        }
        add("clean_accuracy", None, None, correct["b"], correct["a"])
    probe = {"b": _probe_correct(before, id_b, plan.seed), "a": _probe_correct(after, id_a, plan.seed)}

    def add_probe(metric: str, spec: str | None, corruption: str, severity: float) -> None:
        if probe["b"] is None or probe["a"] is None:
            return  # image-only models with labels only (zero-shot models have their accuracy rows)
        b, a = probe["b"](corruption, severity), probe["a"](corruption, severity)
        both = [i for i in b if i in a]
        if both:
            add(
                metric,
                spec,
                severity if spec else None,
                np.array([b[i] for i in both]),
                np.array([a[i] for i in both]),
            )

    add_probe("clean_probe_accuracy", None, CLEAN, 0.0)
    emb = {
        "b": before.read_embeddings(id_b, CLEAN, 0.0)[[pos_b[i] for i in ids]],
        "a": after.read_embeddings(id_a, CLEAN, 0.0)[[pos_a[i] for i in ids]],
    }
    for spec in plan.specs:
        cells = {"b": [], "a": []}  # type: dict[str, list[dict[str, dict[str, Any]]]]
        stacks = {"b": [emb["b"]], "a": [emb["a"]]}
        for s in sev:
            for key, store, mid in (("b", before, id_b), ("a", after, id_a)):
                recs = _by_id(store, mid, spec.name, s)
                cells[key].append(recs)
                e = store.read_embeddings(mid, spec.name, s)
                where = {r: k for k, r in enumerate(recs)}
                stacks[key].append(e[[where[i] for i in ids]])
        dr = {k: divergence_radius(np.stack(v, axis=1)) for k, v in stacks.items()}
        add("divergence_radius", spec.name, None, dr["b"], dr["a"])
        drift = {k: np.mean([[1.0 - c[i]["cos"] for i in ids] for c in cells[k]], axis=0) for k in cells}
        add("cosine_drift", spec.name, None, drift["b"], drift["a"])
        if labelled:
            for n, s in enumerate(sev):
                acc = {
                    k: np.array([cells[k][n][i]["pred"] == cells[k][n][i]["label"] for i in ids], float)
                    for k in cells
                }
                add("accuracy", spec.name, s, acc["b"], acc["a"])
        for s in sev:
            add_probe("probe_accuracy", spec.name, spec.name, s)
    return rows


LABELS = {
    "clean_accuracy": "clean accuracy",
    "divergence_radius": "Divergence Radius",
    "cosine_drift": "cosine drift",
    "accuracy": "accuracy",
    "clean_probe_accuracy": "clean probe accuracy",
    "probe_accuracy": "probe accuracy",
}


def fmt_row(row: dict[str, Any]) -> list[str]:
    """(metric, spec, kind, before, after, diff [CI]) as text."""
    what = LABELS[row["metric"]] + (f" @ {row['severity']:g}" if row["severity"] is not None else "")
    return [
        what,
        row["spec"] or "-",
        row["kind"] or "-",
        f"{row['before']:.3f}",
        f"{row['after']:.3f}",
        f"{row['diff']:+.3f} [{row['ci_low']:+.3f}, {row['ci_high']:+.3f}]",
    ]


HEADER = ["metric", "spec", "trained?", "before", "after", "after - before [95% CI]"]


def markdown(table: dict[str, Any]) -> str:
    """The paired table as Markdown (what the README example shows)."""
    lines = [
        f"Paired before/after on {table['n_images']} held-out images, {table['model']}"
        f" (trained on: {', '.join(table['trained_specs'])}; severities"
        f" {', '.join(f'{s:g}' for s in table['severities'])};"
        f" paired bootstrap, {table['n_boot']} resamples).",
        "",
        "| " + " | ".join(HEADER) + " |",
        "|" + "---|" * len(HEADER),
    ]
    lines += ["| " + " | ".join(fmt_row(r)) + " |" for r in table["rows"]]
    return "\n".join(lines) + "\n"
