"""Failure inspection: where a run fails worst, how it fails, where it collapses, and what to do.

``inspect_failures`` is a pure function of a finished run: it reads ``result.json``'s cells (as an
``AuditResult``) and the per-image records under ``RUN/cells``; it never loads a model or an image.
So the analysis can be rebuilt at any time, and the report built on it is reproducible byte for byte.

Every ranking has a fixed tie-break (model order, plan order of corruptions, severity, then image id),
so the same run always yields the same analysis.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from robustlens.evaluation.store import CLEAN, RunStore
from robustlens.schemas import (
    AuditResult,
    CellResult,
    ClassShift,
    CollapsePoint,
    ExamplePick,
    FailureAnalysis,
    WorstCell,
)

EXAMPLES_PER_CELL = 2
LFP_COLLAPSE = 0.5
# Mean damage below these is treated as noise when recommending augmentations.
MIN_DAMAGE = {"accuracy": 0.02, "lfp": 0.05, "cosine": 0.02}
SIGNAL_LABELS = {
    "lfp": "LFP (label flip probability)",
    "l2_drift": "embedding L2 drift",
    "confidence_drop": "confidence drop",
    "divergence_radius": "Divergence Radius",
}


@dataclass(frozen=True)
class Ranking:
    """How cells are ranked for a run.

    Labelled runs rank by the accuracy drop against the clean cell (the quantity users deploy on).
    Without labels but with a class set, by LFP: DeepBench reports LFP correlates with balanced
    accuracy at r ~ -0.90, and it needs no labels. With neither, by embedding cosine (lower = more
    drift, so the damage is ``1 - cosine``): the only signal left.
    """

    metric: str
    drop_metric: str | None
    label: str
    damage_label: str

    def damage(self, cell: CellResult) -> tuple[float, float] | None:
        """(value, damage) of a cell, or None when the cell lacks the metric."""
        if self.metric not in cell.metrics:
            return None
        value = cell.metrics[self.metric].value
        if self.drop_metric is not None:
            if self.drop_metric not in cell.metrics:
                return None
            return value, cell.metrics[self.drop_metric].value
        return value, (value if self.metric == "lfp" else 1.0 - value)


def has_random_weights(model_id: str) -> bool:
    """True for ids that build seeded random weights (``openclip:ARCH/random``): their numbers say
    nothing about a real model, and reports must say so."""
    return model_id.rsplit("/", 1)[-1] == "random" and "/" in model_id


def ranking_for(result: AuditResult) -> Ranking:
    """The ranking a run supports (see ``Ranking``)."""
    corrupted = [c for c in result.cells if c.corruption != CLEAN]
    if result.labelled and any("accuracy_drop" in c.metrics for c in corrupted):
        return Ranking("accuracy", "accuracy_drop", "accuracy", "accuracy drop")
    if any("lfp" in c.metrics for c in corrupted):
        return Ranking("lfp", None, "LFP", "LFP")
    return Ranking("cosine", None, "cosine similarity", "1 − cosine")


def inspect_failures(
    result: AuditResult, run_dir: Path, top_k: int = 5, collapse_fraction: float = 0.5
) -> FailureAnalysis:
    """Worst cells, class confusions that appear under corruption, collapse points, example images
    and recommendations, from the stored run alone.

    ``top_k`` bounds the worst cells and the class shifts per audited model; ``collapse_fraction``
    defines a collapse for labelled runs (accuracy below that share of the clean accuracy).
    """
    store = RunStore(Path(run_dir))
    ranking = ranking_for(result)
    worst = worst_cells(result, ranking, top_k)
    collapses = collapse_points(result, ranking, collapse_fraction)
    shifts = class_shifts(result, store, top_k) if result.labelled else []
    examples = example_picks(result, store, worst)
    analysis = FailureAnalysis(
        worst_cells=worst, class_shifts=shifts, collapse_points=collapses, examples=examples
    )
    from robustlens.recommendations import recommendations  # it builds on this module's rankings

    analysis.recommendations = recommendations(result, ranking, analysis, collapse_fraction)
    return analysis


# ------------------------------------------------------------------------------ worst cells


def _order(result: AuditResult) -> tuple[dict[str, int], dict[str, int]]:
    models = {m: i for i, m in enumerate(dict.fromkeys([*result.models, result.reference_model or ""]))}
    corruptions = {s.name: i for i, s in enumerate(result.plan.specs)}
    return models, corruptions


def worst_cells(result: AuditResult, ranking: Ranking, top_k: int) -> list[WorstCell]:
    """The ``top_k`` most damaged cells of each audited model, most damaged first overall.

    One cell per (model, corruption): its most damaging severity, the lowest one on ties (where
    the damage is first reached). Otherwise the severities of one bad corruption would crowd every
    other vulnerability out of the list. Only cells that lost something (damage > 0) are listed: a
    cell that did not move is no vulnerability, and listing it would make a model look fragile.
    """
    models, corruptions = _order(result)
    out: list[WorstCell] = []
    for model_id in result.models:
        best: dict[str, WorstCell] = {}
        for cell in result.cells:
            scored = ranking.damage(cell) if cell.model_id == model_id and cell.corruption != CLEAN else None
            if scored is None or not scored[1] > 0:
                continue
            w = WorstCell(model_id=model_id, corruption=cell.corruption, severity=cell.severity,
                          metric=ranking.metric, value=scored[0], drop=scored[1])  # fmt: skip
            old = best.get(cell.corruption)
            if old is None or (w.drop, -w.severity) > (old.drop, -old.severity):
                best[cell.corruption] = w
        out.extend(sorted(best.values(), key=lambda w: (-w.drop, corruptions[w.corruption]))[:top_k])
    out.sort(key=lambda w: (-w.drop, models[w.model_id], corruptions[w.corruption], w.severity))
    return out


# ------------------------------------------------------------------------------ collapse points


def collapse_points(result: AuditResult, ranking: Ranking, collapse_fraction: float) -> list[CollapsePoint]:
    """Per audited model x corruption, the first severity at which the model has collapsed.

    Labelled: accuracy <= ``collapse_fraction`` x clean accuracy (by default: at most half the clean
    accuracy, the point where the classifier is no longer fit for its job; "halved" counts, as a
    reader of the curve would say). Unlabelled with predictions: LFP >= 0.5 (at least half the
    predictions changed). Embeddings only: cosine <= ``collapse_fraction``. ``None`` when the model
    holds up over the whole tested ladder (it may still collapse beyond it). Every collapsed severity
    is kept (``collapsed_at``); when the curve recovers at a higher severity the point is marked
    ``non_monotone``, so no report calls it critical "from" that severity on.
    """
    out = []
    for model_id in result.models:
        clean = result.cell(model_id, CLEAN, 0.0)
        base = clean.metrics["accuracy"].value if clean and "accuracy" in clean.metrics else 0.0
        for spec in result.plan.specs:
            cells = [result.cell(model_id, spec.name, float(s)) for s in result.plan.severities]
            values = [
                (c.severity, c.metrics[ranking.metric].value)
                for c in cells
                if c and ranking.metric in c.metrics
            ]
            hits = [s for s, v in values if _collapsed(ranking.metric, v, base, collapse_fraction)]
            first = hits[0] if hits else None
            recovered = first is not None and any(s > first and s not in hits for s, _ in values)
            out.append(
                CollapsePoint(model_id=model_id, corruption=spec.name, severity=first, metric=ranking.metric,
                              collapsed_at=hits, non_monotone=recovered)
            )  # fmt: skip
    return out


def _collapsed(metric: str, value: float, clean_accuracy: float, fraction: float) -> bool:
    if metric == "accuracy":
        return clean_accuracy > 0 and value <= fraction * clean_accuracy
    return value >= LFP_COLLAPSE if metric == "lfp" else value <= fraction


def collapse_rule(metric: str, collapse_fraction: float = 0.5) -> str:
    """The collapse criterion of ``collapse_points`` in words."""
    return {
        "accuracy": f"accuracy at or below {collapse_fraction:g} x clean accuracy",
        "lfp": f"LFP at or above {LFP_COLLAPSE:g}",
        "cosine": f"cosine at or below {collapse_fraction:g}",
    }[metric]


# ------------------------------------------------------------------------------ class shifts


def _confusions(records: list[dict[str, Any]]) -> tuple[Counter[tuple[int, int]], Counter[int]]:
    pairs: Counter[tuple[int, int]] = Counter()
    totals: Counter[int] = Counter()
    for r in records:
        if r.get("label") is None or r.get("pred") is None:
            continue
        totals[r["label"]] += 1
        if r["pred"] != r["label"]:
            pairs[(r["label"], r["pred"])] += 1
    return pairs, totals


def class_shifts(result: AuditResult, store: RunStore, top_k: int) -> list[ClassShift]:
    """Confusions (true class -> predicted class) whose rate rises most under corruption.

    The rate of ``t -> p`` is the share of images of class ``t`` predicted as ``p``; the shift is its
    corrupted rate minus its clean rate, so confusions the model already made on clean images do not
    count as caused by the corruption. Each (model, corruption, t, p) is kept once, at the severity
    where it rose most; the ``top_k`` largest rises per model are returned.
    """
    names = result.class_names or []
    models, corruptions = _order(result)
    out: list[ClassShift] = []
    for model_id in result.models:
        clean = store.read_records(model_id, CLEAN, 0.0)
        best: dict[tuple[str, int, int], ClassShift] = {}
        for spec in result.plan.specs:
            for severity in result.plan.severities:
                records = store.read_records(model_id, spec.name, float(severity))
                ids = {r["id"] for r in records}  # a cell of some images (adaptive): their clean rates
                clean_pairs, totals = _confusions([r for r in clean if r["id"] in ids])
                pairs, _ = _confusions(records)
                for (t, p), count in sorted(pairs.items()):
                    n = totals[t]
                    rise = (count - clean_pairs[(t, p)]) / n
                    key = (spec.name, t, p)
                    if rise <= 0 or (key in best and _rise(best[key]) >= rise):
                        continue
                    best[key] = ClassShift(
                        model_id=model_id,
                        corruption=spec.name,
                        severity=float(severity),
                        true_class=names[t] if t < len(names) else str(t),
                        predicted_class=names[p] if p < len(names) else str(p),
                        clean_rate=round(clean_pairs[(t, p)] / n, 6),
                        corrupted_rate=round(count / n, 6),
                    )
        ranked = sorted(
            best.items(), key=lambda kv: (-_rise(kv[1]), corruptions[kv[0][0]], kv[0][1], kv[0][2])
        )
        out.extend(shift for _, shift in ranked[:top_k])
    out.sort(key=lambda s: (-_rise(s), models[s.model_id], corruptions[s.corruption], s.severity))
    return out


def _rise(shift: ClassShift) -> float:
    return round(shift.corrupted_rate - shift.clean_rate, 6)


# ------------------------------------------------------------------------------ examples


def example_picks(result: AuditResult, store: RunStore, worst: list[WorstCell]) -> list[ExamplePick]:
    """Images that illustrate each worst cell: fine on the clean image, failing on the corrupted one.

    Labelled: correct clean, wrong corrupted. With predictions but no labels: the prediction flipped.
    Embeddings only: the largest drift (lowest cosine). Among candidates the most confident failures
    come first (they are the dangerous ones in deployment), then image id, so the choice is
    deterministic. At most ``EXAMPLES_PER_CELL`` per cell, and an image is shown once per model.
    """
    names = result.class_names or []
    out: list[ExamplePick] = []
    seen: set[tuple[str, str]] = set()

    def name(index: int | None) -> str | None:
        if index is None:
            return None
        return names[index] if index < len(names) else str(index)

    for cell in worst:
        records = store.read_records(cell.model_id, cell.corruption, cell.severity)
        clean = {r["id"]: r for r in store.read_records(cell.model_id, CLEAN, 0.0)}
        if result.labelled:
            candidates = [
                r
                for r in records
                if r.get("label") is not None
                and clean[r["id"]].get("pred") == r["label"]
                and r.get("pred") != r["label"]
            ]
            candidates.sort(key=lambda r: (-r["conf"], r["id"]))
        elif records and records[0].get("pred") is not None:
            candidates = [r for r in records if r["pred"] != r["clean_pred"]]
            candidates.sort(key=lambda r: (-r["conf"], r["id"]))
        else:
            candidates = sorted(records, key=lambda r: (r["cos"], r["id"]))
        for r in [r for r in candidates if (cell.model_id, r["id"]) not in seen][:EXAMPLES_PER_CELL]:
            seen.add((cell.model_id, r["id"]))
            out.append(
                ExamplePick(model_id=cell.model_id, corruption=cell.corruption, severity=cell.severity,
                            image_id=r["id"], clean_prediction=name(clean[r["id"]].get("pred")),
                            corrupted_prediction=name(r.get("pred")), label=name(r.get("label")))
            )  # fmt: skip
    return out
