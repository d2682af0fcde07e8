"""What a run's numbers cannot support: the caveats a report must print next to them.

Each check reads the finished run (``result.json`` and the per-image records), never a model or an
image, and returns warnings that name the cells or classes concerned, so a reader can find them in
the tables. The checks:

- small classes: fewer than ``SMALL_CLASS`` images in a class make its recall (and every per-class
  statement) a matter of a few images;
- near chance: a clean accuracy whose 95% interval reaches ``1/k + CHANCE_MARGIN`` is not clearly
  better than guessing among ``k`` classes, so its drops say little;
- non-monotone severity: damage that falls significantly as severity rises (paired bootstrap over
  images, Efron & Tibshirani 1993) means the severity ladder is not ordered for this model;
- not significant: a listed "worst" cell whose damage interval includes 0;
- one-class collapse: a cell predicting one class for at least ``ONE_CLASS`` of its images (the
  model no longer discriminates; accuracy then only reflects that class's share).

Every random draw is seeded from the run seed, so the same run gives the same warnings.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from robustlens.analysis import Ranking, ranking_for
from robustlens.corruptions.seeding import derive_seed
from robustlens.evaluation.stats import percentile_interval
from robustlens.evaluation.store import CLEAN, RunStore
from robustlens.schemas import AuditResult, FailureAnalysis

SMALL_CLASS = 20
CHANCE_MARGIN = 0.1
ONE_CLASS = 0.95
N_BOOT = 1000
ALPHA = 0.05

Caveat = dict[str, Any]  # {"kind": str, "text": str, "items": [str, ...]}


def run_caveats(result: AuditResult, run_dir: Path, analysis: FailureAnalysis) -> list[Caveat]:
    """Every caveat of the run, in a fixed order (see the module docstring)."""
    store = RunStore(Path(run_dir))
    ranking = ranking_for(result)
    return [
        *small_classes(result, store),
        *near_chance(result),
        *non_monotone(result, store, ranking),
        *not_significant(result, analysis, ranking),
        *one_class_cells(result, store),
    ]


def _f(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def _cell(model_id: str, corruption: str, severity: float) -> str:
    return f"{model_id} {corruption}" + ("" if corruption == CLEAN else f" s{severity:g}")


SHOWN_ITEMS = 6  # a warning names at most this many cells in its text; "items" keeps them all (report.json)


def _listed(items: list[str]) -> str:
    """The first few items of a warning, and how many more are in report.json (a banner that lists 33
    cells buries the verdict below it)."""
    head = "; ".join(items[:SHOWN_ITEMS])
    rest = len(items) - SHOWN_ITEMS
    return head + (f"; and {rest} more (all listed in report.json)" if rest > 0 else "")


def _names(result: AuditResult) -> list[str]:
    return list(result.class_names or [])


def small_classes(result: AuditResult, store: RunStore) -> list[Caveat]:
    if not result.labelled:
        return []
    names = _names(result)
    counts = Counter(i.get("label") for i in (store.read_images() or {}).get("images", []))
    small = [(names[c] if c < len(names) else str(c), counts.get(c, 0)) for c in range(len(names))]
    small = [(n, k) for n, k in small if k < SMALL_CLASS]
    if not small:
        return []
    items = [f"{n} ({k} images)" for n, k in small]
    return [
        {
            "kind": "small_sample",
            "text": f"Small sample: {len(small)} of {len(names)} classes have fewer than {SMALL_CLASS} "
            f"images ({', '.join(items)}): per-class rates and their changes rest on a few images "
            "each; treat them as indicative.",
            "items": items,
        }
    ]


def near_chance(result: AuditResult) -> list[Caveat]:
    k = len(_names(result))
    if not result.labelled or k < 2:
        return []
    chance = 1.0 / k
    items = []
    for model_id in dict.fromkeys(
        [*result.models, *([result.reference_model] if result.reference_model else [])]
    ):
        cell = result.cell(model_id, CLEAN, 0.0)
        acc = cell.metrics.get("accuracy") if cell else None
        if acc is None or not np.isfinite(acc.value):
            continue
        low = acc.ci_low if acc.ci_low is not None else acc.value
        if low <= chance + CHANCE_MARGIN:
            has_ci = acc.ci_low is not None and acc.ci_high is not None
            ci = f" (95% interval {_f(acc.ci_low)}–{_f(acc.ci_high)})" if has_ci else ""
            items.append(f"{model_id}: clean accuracy {_f(acc.value)}{ci}")
    if not items:
        return []
    return [
        {
            "kind": "near_chance",
            "text": f"Clean accuracy near chance (1/{k} = {_f(chance)}, margin {CHANCE_MARGIN:g}): "
            f"{'; '.join(items)}. A model that barely beats guessing has little accuracy to lose, so "
            "its drops and rankings say little about robustness.",
            "items": items,
        }
    ]


def _damage(ranking: Ranking, records: list[dict[str, Any]]) -> np.ndarray | None:
    """Per-image damage in the ranking's terms (error, flip, or 1 - cosine)."""
    if not records:
        return None
    if ranking.metric == "accuracy":
        if records[0].get("label") is None or records[0].get("pred") is None:
            return None
        return np.array([float(r["pred"] != r["label"]) for r in records])
    if ranking.metric == "lfp":
        if records[0].get("pred") is None or records[0].get("clean_pred") is None:
            return None
        return np.array([float(r["pred"] != r["clean_pred"]) for r in records])
    return np.array([1.0 - float(r["cos"]) for r in records])


def non_monotone(result: AuditResult, store: RunStore, ranking: Ranking) -> list[Caveat]:
    """Model x corruption whose damage falls significantly from a lower to a higher severity: the
    paired bootstrap interval (images resampled jointly across severities) of damage(high) -
    damage(low) lies below 0. The largest such fall is named."""
    severities = sorted(float(s) for s in result.plan.severities)
    items = []
    for model_id in result.models:
        for spec in result.plan.specs:
            cells = [store.read_records(model_id, spec.name, s) for s in severities]
            common = set.intersection(*({r["id"] for r in c} for c in cells)) if cells else set()
            cells = [[r for r in c if r["id"] in common] for c in cells]  # adaptive: images all used
            per_severity = [_damage(ranking, c) for c in cells]
            rows = [r for r in per_severity if r is not None]
            if len(rows) < len(per_severity) or len(rows) < 2:
                continue
            damage = np.stack(rows)
            n = damage.shape[1]
            rng = np.random.default_rng(derive_seed(result.seed, "monotonicity", model_id, spec.name))
            means = damage[:, rng.integers(0, n, size=(N_BOOT, n))].mean(axis=2)  # (sev, boot)
            found = None
            for i in range(len(severities)):
                for j in range(i + 1, len(severities)):
                    fall = damage[j].mean() - damage[i].mean()
                    lo, hi = percentile_interval(means[j] - means[i], ALPHA)
                    if hi < 0 and (found is None or fall < found[2]):
                        found = (severities[i], severities[j], fall, lo, hi)
            if found:
                a, b, fall, lo, hi = found
                items.append(
                    f"{model_id} {spec.name}: {ranking.damage_label} falls by {_f(-fall)} from severity "
                    f"{a:g} to {b:g} (95% interval of the change {_f(lo)}–{_f(hi)})"
                )
    if not items:
        return []
    return [
        {
            "kind": "non_monotone",
            "text": "Non-monotone severity curves: " + _listed(items) + ". A higher severity hurt "
            "significantly less than a lower one, so the ladder is not ordered for this model and no "
            "single severity threshold describes it.",
            "items": items,
        }
    ]


def not_significant(result: AuditResult, analysis: FailureAnalysis, ranking: Ranking) -> list[Caveat]:
    """Worst cells whose damage interval includes 0 (their rank could be noise)."""
    items, top = [], False
    for rank, w in enumerate(analysis.worst_cells):
        cell = result.cell(w.model_id, w.corruption, w.severity)
        mv = cell.metrics.get(ranking.drop_metric or ranking.metric) if cell else None
        if mv is None or mv.ci_low is None or mv.ci_high is None:
            continue
        lo, hi = (
            (1.0 - mv.ci_high, 1.0 - mv.ci_low) if ranking.metric == "cosine" else (mv.ci_low, mv.ci_high)
        )
        if lo <= 0:
            top = top or rank == 0
            items.append(
                f"{_cell(w.model_id, w.corruption, w.severity)} ({ranking.damage_label} {_f(w.drop)}, "
                f"95% interval {_f(lo)}–{_f(hi)})"
            )
    if not items:
        return []
    head = "The largest damage is not significant" if top else "Not significant"
    return [
        {
            "kind": "not_significant",
            "text": f"{head}: the interval of {'; '.join(items)} includes 0, so this damage may be "
            "sampling noise (not significant at the 5% level).",
            "items": items,
        }
    ]


def one_class_cells(result: AuditResult, store: RunStore) -> list[Caveat]:
    """Cells (clean included) whose predictions are one class for >= ``ONE_CLASS`` of the images."""
    names = _names(result)
    if len(names) < 2:
        return []
    grid = [(CLEAN, 0.0)] + [(s.name, float(v)) for s in result.plan.specs for v in result.plan.severities]
    items, total = [], 0
    for model_id in result.models:
        for corruption, severity in grid:
            preds: list[int] = [
                r["pred"]
                for r in store.read_records(model_id, corruption, severity)
                if r.get("pred") is not None
            ]
            if not preds:
                continue
            total += 1
            cls, count = Counter(preds).most_common(1)[0]
            if count / len(preds) >= ONE_CLASS:
                name = names[cls] if cls < len(names) else str(cls)
                items.append(f"{_cell(model_id, corruption, severity)} ({name}, {count}/{len(preds)})")
    if not items:
        return []
    return [
        {
            "kind": "one_class",
            "text": f"One-class collapse: {len(items)} of {total} cells predict a single class for at "
            f"least {ONE_CLASS:.0%} of their images: {_listed(items)}. There the model no longer "
            "discriminates, and accuracy only reflects that class's share of the images.",
            "items": items,
        }
    ]
