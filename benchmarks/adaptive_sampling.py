"""Adaptive sampling (``--target-ci-width W``) against a full audit on the demo, side by side.

Runs the demo audit (``robustlens/plans/textile_brief.yaml``: demo:textile and demo:textile-robust on
the brief's 120 textile test images, the offline expert's plan for the brief) once with every image
and once per W, and prints per W: the fraction of image encodings used (clean cells included),
how many cells stopped early, where the encodings go (cells and encodings per stop reason), whether
every cell's verdict (holds / fails / inconclusive against the report's tolerance) and every collapse
point (with its collapsed severities and non-monotone flag) equal the full run's, and what differs.
The issue's target: the same verdicts and collapse points with <= 50% of the encodings.

Usage: python benchmarks/adaptive_sampling.py [--widths 0.1,0.2,0.3] [--floor 20] [--max-images N]
       [--out DIR] [--json out.json] [--cells] [--replay] [--seed N --plan RUN/manifest.json] [--alpha A]
Real runs; the full run is reused from --out when it is there. ``--replay`` replays the stop rule on
the full run's records instead of running each W (seconds instead of minutes; exact, since an image's
corrupted record does not depend on the round that encodes it: on 120 images it gives the real
run's 5955 encodings cell for cell), writes the stopped cells into a copy of the full run and
summarises it with the report's code. ``--cells`` prints
every cell: its full-run verdict and interval, the images the adaptive run used and why it stopped
("narrow", "decided", "futile", "all": see ``evaluation.adaptive``). ``--max-images 400`` takes every
test image of the demo (the larger set the issue asks to verify on). ``--seed`` draws another image
set, order and corruptions (a setting the rule was not tuned on), ``--plan`` reuses a stored run's
plan (the offline expert's plan may change), ``--alpha`` sets the stop rule's error budget per call
(how much error control the issue's 50% would cost).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import robustlens.evaluation.adaptive as adaptive
import robustlens.evaluation.adaptive_rule as adaptive_rule
from robustlens.analysis import inspect_failures
from robustlens.data.sources import open_images
from robustlens.evaluation.engine import EngineOptions, evaluate
from robustlens.evaluation.rebuild import rebuild_result
from robustlens.evaluation.store import CLEAN, RunStore
from robustlens.expert.planner import plan_from_brief
from robustlens.report.verdict import _call, _drop, tolerance_for
from robustlens.schemas import AuditResult, CorruptionPlan, DomainBrief
from robustlens.userfiles import load_model


def calls(result: AuditResult) -> dict[tuple[str, str, float], str]:
    """Every corrupted cell's verdict (holds / fails / inconclusive), as the report computes it."""
    tol, _, _ = tolerance_for(result)
    out = {}
    for model in result.models:
        clean = result.cell(model, CLEAN, 0.0)
        for c in result.cells:
            if c.model_id == model and c.corruption != CLEAN:
                mv = _drop(c, clean, tol.metric)
                out[(model, c.corruption, c.severity)] = (
                    "unknown" if mv is None else _call(c.corruption, c.severity, mv, tol).status
                )
    return out


def collapses(result: AuditResult, run: Path) -> dict[tuple[str, str], tuple[Any, ...]]:
    """Per model x corruption what the report prints of its collapse: the first collapsed severity,
    every collapsed severity and whether the curve recovers (``analysis.collapse_points``)."""
    analysis = inspect_failures(result, run)
    return {
        (p.model_id, p.corruption): (p.severity, tuple(p.collapsed_at), p.non_monotone)
        for p in analysis.collapse_points
    }


def breakdown(result: AuditResult, stops: dict[tuple[str, str, float], dict[str, Any]]) -> str:
    """Where the corrupted cells' encodings go, per stop reason: cells and encodings."""
    cells: dict[str, list[int]] = {}
    for c in result.cells:
        if c.corruption != CLEAN:
            why = stops.get((c.model_id, c.corruption, c.severity), {}).get("stopped", "all")
            cells.setdefault(why, []).append(c.n_images)
    return "; ".join(
        f"{why} {len(cells[why])} cells / {sum(cells[why])} enc"
        for why in ("decided", "narrow", "futile", "all")
        if why in cells
    )


def replay(
    full: AuditResult, full_dir: Path, out: Path, width: float, n_classes: int, order_seed: int | None = None
) -> AuditResult:
    """The adaptive run at ``width`` replayed on the full run's records (``run_adaptive``'s order,
    schedule and stop rule, no encoding): the stopped cells are written into a copy of the full run
    and summarised again. ``order_seed``: another seeded sampling order than the run's own."""
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(full_dir, out)
    (out / "timings.jsonl").unlink(missing_ok=True)
    (out / "result.json").unlink()
    store = RunStore(out)
    labels = [r["label"] for r in (store.read_images() or {})["images"]]
    order = adaptive.sampling_order(labels, full.plan.seed if order_seed is None else order_seed)
    sizes = adaptive.schedule(adaptive.floor_size(order, labels), len(labels), adaptive.STEP)
    metric, limit = adaptive.tolerance(store.read_manifest() or {}, True)
    for model in full.models:
        clean = store.read_records(model, CLEAN, 0.0)
        rule = adaptive.StopRule(clean, n_classes, full.plan.seed, 1000, metric, limit, sizes)
        for c in full.cells:
            if c.model_id != model or c.corruption == CLEAN:
                continue
            records = store.read_records(model, c.corruption, c.severity)
            emb = store.read_embeddings(model, c.corruption, c.severity)
            for size in sizes:
                used = np.sort(order[:size])
                sub = [records[p] for p in used]
                why = "all" if size == len(labels) else rule.check(sub, used, width)
                if why is not None:
                    break
            store.write_cell(model, c.corruption, c.severity, sub, emb[used])
            entry = {"model": model, "corruption": c.corruption, "severity": c.severity, "stopped": why}
            store.log_timing(entry | {"images_used": size, "images_total": len(labels)})
    return rebuild_result(out)


def encodings(result: AuditResult) -> int:
    return sum(c.n_images for c in result.cells)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--widths", default="0.1,0.2,0.3")
    ap.add_argument("--floor", type=int, default=adaptive.FLOOR_PER_CLASS, help="images per class")
    ap.add_argument("--max-images", type=int, default=None)
    ap.add_argument("--out", type=Path, default=Path("runs/bench-adaptive"))
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--cells", action="store_true", help="print every cell's use and stop reason")
    ap.add_argument("--replay", action="store_true", help="replay the stop rule on the full run's records")
    ap.add_argument("--seed", type=int, default=None, help="another seed (image draw, order, corruptions)")
    ap.add_argument("--plan", type=Path, default=None, help="a run's manifest.json whose plan to use")
    ap.add_argument("--alpha", type=float, default=None, help="the stop rule's error budget per call")
    ap.add_argument("--orders", type=int, default=0, help="replay K other seeded orders: wrong calls")
    args = ap.parse_args()
    if args.alpha is not None:
        adaptive_rule.ALPHA = args.alpha
    adaptive.FLOOR_PER_CLASS = args.floor
    adaptive.MIN_IMAGES = min(adaptive.MIN_IMAGES, 2 * args.floor)
    brief = load_model(DomainBrief, Path(str(files("robustlens") / "plans" / "textile_brief.yaml")))
    if args.seed is not None:
        brief = brief.model_copy(update={"seed": args.seed})
    n = args.max_images or brief.budget.max_images
    stored = args.out / "full" / "manifest.json"  # the full run's plan: the planner may have changed since
    stored = stored if stored.exists() else args.plan
    plan = (
        CorruptionPlan.model_validate(json.loads(stored.read_text())["plan"])
        if stored is not None
        else plan_from_brief(brief)
    )
    if args.seed is not None:
        plan = plan.model_copy(update={"seed": args.seed})
    images = open_images("demo:textile", class_names=brief.labels, max_images=n, seed=brief.seed)

    def run(width: float | None) -> tuple[AuditResult, Path, float]:
        out = args.out / ("full" if width is None else f"w{width:g}-floor{args.floor}")
        start = time.perf_counter()
        if width is not None and args.replay:
            out = out.with_name(f"{out.name}-replay")
            result = replay(full, args.out / "full", out, width, len(brief.labels))
            return result, out, time.perf_counter() - start
        result = evaluate(
            plan,
            open_images("demo:textile", class_names=brief.labels, max_images=n, seed=brief.seed),
            brief.models,
            out,
            reference=brief.reference_model,
            brief=brief,
            options=EngineOptions(target_ci_width=width),
        )
        return result, out, time.perf_counter() - start

    full, full_dir, full_s = run(None)
    base_calls, base_collapse = calls(full), collapses(full, full_dir)
    print(
        f"demo: {len(brief.models)} models, {len(plan.specs)} corruptions x {len(plan.severities)} "
        f"severities, {len(images.items)} images; floor {args.floor}/class"
    )
    print(f"full: {encodings(full)} encodings, {full_s:.0f} s; verdicts {_count(base_calls)}")
    print(
        f"{'W':>5} {'encodings':>10} {'fraction':>8} {'early':>6} {'futile':>6} "
        f"{'verdicts':>9} {'collapse':>9} {'s':>5}"
    )
    rows: list[dict[str, Any]] = []
    for width in [float(w) for w in args.widths.split(",")]:
        result, out, seconds = run(width)
        got, got_collapse = calls(result), collapses(result, out)
        diff = {k: (base_calls[k], got[k]) for k in base_calls if got.get(k) != base_calls[k]}
        cdiff = {k: (base_collapse.get(k), v) for k, v in got_collapse.items() if base_collapse.get(k) != v}
        total = max(c.n_images for c in result.cells)
        early = sum(c.n_images < total for c in result.cells if c.corruption != CLEAN)
        frac = encodings(result) / encodings(full)
        stops = {(t["model"], t["corruption"], t["severity"]): t for t in RunStore(out).timings()}
        futile = sum(t.get("stopped") == "futile" for t in stops.values())
        print(
            f"{width:>5g} {encodings(result):>10} {frac:>8.3f} {early:>6} {futile:>6} "
            f"{'same' if not diff else len(diff):>9} {'same' if not cdiff else len(cdiff):>9} {seconds:>5.0f}"
        )
        print(f"      where the encodings go: {breakdown(result, stops)}")
        for k, v in diff.items():
            print(f"      verdict {k}: full {v[0]} -> adaptive {v[1]}")
        if args.cells:
            _cells(full, result, stops, base_calls, got)
        for where, (was, now) in cdiff.items():
            print(f"      collapse {where}: full {was} -> adaptive {now}")
        rows.append(
            {
                "width": width,
                "floor_per_class": args.floor,
                "encodings": encodings(result),
                "fraction": round(frac, 4),
                "cells_stopped_early": early,
                "cells_futile": futile,
                "breakdown": breakdown(result, stops),
                "verdict_changes": [[*k, *v] for k, v in diff.items()],
                "collapse_changes": [[*where, was, now] for where, (was, now) in cdiff.items()],
                "seconds": round(seconds, 1),
            }
        )
    for width in [float(w) for w in args.widths.split(",")] if args.orders else []:
        _orders(full, full_dir, args.out / "orders", width, len(brief.labels or []), args.orders)
    if args.json:
        args.json.write_text(json.dumps({"full_encodings": encodings(full), "rows": rows}, indent=2))


def _orders(full: AuditResult, full_dir: Path, out: Path, width: float, n_classes: int, k: int) -> None:
    """The stop rule under k other seeded sampling orders (each a replay): the mean fraction of the
    encodings and how many cells / collapse points end with another call than the full run's: the
    error rate the rule's budget (``adaptive_rule.ALPHA`` per call) bounds, seen on real records."""
    base, base_collapse = calls(full), collapses(full, full_dir)
    used, wrong, wrong_collapse = 0, 0, 0
    for j in range(k):
        result = replay(full, full_dir, out, width, n_classes, order_seed=full.plan.seed + 1000 + j)
        got, got_collapse = calls(result), collapses(result, out)
        used += encodings(result)
        wrong += sum(got.get(key) != call for key, call in base.items())
        wrong_collapse += sum(got_collapse.get(key) != point for key, point in base_collapse.items())
    print(
        f"{width:>5g} {k} other orders: mean fraction {used / k / encodings(full):.3f}; wrong verdicts "
        f"{wrong} of {k * len(base)} cells, wrong collapse points {wrong_collapse} "
        f"of {k * len(base_collapse)}"
    )


def _cells(
    full: AuditResult,
    result: AuditResult,
    stops: dict[tuple[str, str, float], dict[str, Any]],
    base: dict[tuple[str, str, float], str],
    got: dict[tuple[str, str, float], str],
) -> None:
    """One line per corrupted cell: what costs the encodings."""
    tol, _, _ = tolerance_for(full)
    for key, call in base.items():
        model, corruption, severity = key
        mv = _drop(full.cell(model, corruption, severity), full.cell(model, CLEAN, 0.0), tol.metric)
        acc = full.cell(model, corruption, severity).metrics.get("accuracy")
        accuracy = acc.value if acc else float("nan")
        t = stops.get(key, {})
        print(
            f"      {model[:20]:<20} {corruption[:18]:<18} {severity:>3g}  full {call:<12} "
            f"{mv.value:6.3f} [{mv.ci_low:6.3f}, {mv.ci_high:6.3f}] acc {accuracy:.2f}"
            f"  used {t.get('images_used', '?'):>4} {t.get('stopped', '?'):<8} {got.get(key)}"
        )


def _count(c: dict[Any, str]) -> str:
    return ", ".join(f"{s} {sum(v == s for v in c.values())}" for s in ("holds", "fails", "inconclusive"))


if __name__ == "__main__":
    main()
