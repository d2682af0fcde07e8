"""The one report context: every number a report shows, taken from the run and formatted once.

``build_context`` reads ``result.json``, ``manifest.json`` and the failure analysis and returns a
``ReportContext`` whose ``data`` is plain JSON (it *is* ``report.json``). Every number appears there
as its raw value next to the text the renderers print (``{"value": .., "ci_low": .., "ci_high": ..,
"text": .., "ci_text": ..}``), so HTML, Markdown, CSV and plots cannot disagree with each other or
with the JSON: renderers only copy ``text`` fields, they never format a number themselves.
"""

from __future__ import annotations

import json
import math
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from robustlens import __version__
from robustlens.analysis import Ranking, collapse_rule, has_random_weights, inspect_failures, ranking_for
from robustlens.caveats import run_caveats
from robustlens.errors import UserInputError
from robustlens.evaluation.store import CLEAN, RunStore
from robustlens.investigate.records import load_investigation
from robustlens.report import sections as S
from robustlens.report.corruption_site import corruption_site
from robustlens.report.formatting import METRIC_LABELS, dataset_counts, metric, metric_order, scalar, sev
from robustlens.report.gallery import Thumbs, thumbnails
from robustlens.report.investigation import investigation_data, slice_examples
from robustlens.report.narrative import generated_summary
from robustlens.report.ood_section import ood_data
from robustlens.report.scope import metric_scope
from robustlens.report.strips import class_counts, severity_strips
from robustlens.report.thumb_cache import ThumbCache
from robustlens.report.verdict import verdict
from robustlens.schemas import AuditResult, CollapsePoint, FailureAnalysis

REPORT_SCHEMA = "robustlens.report"
REPORT_SCHEMA_VERSION = 1
NARRATIVE_LABELS = {
    "llm": "LLM narrative",
    "template": "generated from the numbers",
    "user": "written by hand",
}


@dataclass
class ReportContext:
    """What every renderer reads. ``data`` is exactly ``report.json``; ``thumbs`` are the gallery's
    images (same order as ``data["gallery"]``); ``figures`` are drawn on first use."""

    data: dict[str, Any]
    result: AuditResult
    manifest: dict[str, Any]
    analysis: FailureAnalysis
    run_dir: Path
    thumbs: list[Thumbs] = field(default_factory=list)
    strip_images: list[list[bytes | None]] = field(default_factory=list)
    slice_thumbs: list[Thumbs] = field(default_factory=list)
    _figures: dict[str, bytes] | None = None

    @property
    def figures(self) -> dict[str, bytes]:
        """PNG bytes by name: heatmap, severity_curves, label_free_vs_accuracy (when available)."""
        if self._figures is None:
            from robustlens.report.plots import figures

            self._figures = figures(self.data)
        return self._figures


# ------------------------------------------------------------------------------ the context


def load_run(run_dir: Path) -> tuple[AuditResult, dict[str, Any]]:
    """The run's AuditResult and manifest; ``UserInputError`` when the run is not finished."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise UserInputError(
            f"Run directory not found: {run_dir}",
            why="a report is built from the files `robustlens eval --out RUN_DIR` writes.",
            fix="Pass the folder given to --out of `robustlens eval`.",
            field="run_dir",
        )
    result_path = run_dir / "result.json"
    if not result_path.is_file():
        raise UserInputError(
            f"{run_dir} has no result.json.",
            why="result.json is written when an evaluation finishes; this run is unfinished or not a run.",
            fix="Run (or re-run, to resume) `robustlens eval ... --out "
            f"{run_dir}` until it completes, then `robustlens report {run_dir}`.",
            field="run_dir",
        )
    result = AuditResult.load(result_path)
    manifest_path = run_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.is_file() else {}
    return result, manifest


def build_context(
    run_dir: Path,
    narrative: str | None = None,
    narrative_source: str = "template",
    analysis: FailureAnalysis | None = None,
    collapse_fraction: float = 0.5,
) -> ReportContext:
    """Read the run, inspect its failures and assemble every section's data."""
    if narrative_source not in NARRATIVE_LABELS:
        raise UserInputError(
            f"Unknown narrative source {narrative_source!r}.",
            fix=f"Use one of: {', '.join(NARRATIVE_LABELS)}.",
            field="narrative_source",
        )
    run_dir = Path(run_dir)
    result, manifest = load_run(run_dir)
    analysis = analysis or inspect_failures(result, run_dir, collapse_fraction=collapse_fraction)
    ranking = ranking_for(result)
    cells = _cells(result)
    caveats = _warnings(result, run_dir, analysis)
    data: dict[str, Any] = {
        "schema": REPORT_SCHEMA,
        "schema_version": REPORT_SCHEMA_VERSION,
        "generator": f"robustlens {__version__}",
        "run": _run(result, manifest, ranking)
        | {"collapse_rule": collapse_rule(ranking.metric, collapse_fraction)},
        "warnings": [w["text"] for w in caveats],
        "warning_details": caveats,
        "brief": result.brief.model_dump(mode="json") if result.brief else None,
        "plan": _plan(result),
        "clean": [c for c in cells if c["corruption"] == CLEAN],
        "heatmap": S.heatmap(result, ranking),
        "vulnerabilities": S.vulnerabilities(result, analysis),
        "collapse": [_collapse(p) for p in analysis.collapse_points],
        "corruption_error": S.corruption_error(result),
        "label_free": S.label_free(result),
        "metric_scope": metric_scope(result, manifest),  # image-only models: which metrics apply
        "ood": ood_data(result),  # --ood: OOD detection under corruption (None without an OOD set)
        "calibration": S.calibration(result),
        "calibration_note": S.ECE_NOTE,
        "gallery": [
            e.model_dump(mode="json") | {"severity_text": sev(e.severity)} for e in analysis.examples
        ],
        "class_shifts": [
            s.model_dump(mode="json")
            | {
                "severity_text": sev(s.severity),
                "clean_rate": scalar(s.clean_rate),
                "corrupted_rate": scalar(s.corrupted_rate),
                "rise": scalar(round(s.corrupted_rate - s.clean_rate, 6)),
            }
            for s in analysis.class_shifts
        ],
        "recommendations": list(analysis.recommendations),
        "paired": S.paired(result, ranking),
        "metrics": metric_order(sorted({m for c in result.cells for m in c.metrics})),
        "metric_labels": {},
        "cells": cells,
        "reproducibility": _reproducibility(result, manifest, run_dir),
        "analysis": analysis.model_dump(mode="json"),
    }
    data["metric_labels"] = {m: METRIC_LABELS.get(m, m) for m in data["metrics"]}
    investigation = load_investigation(run_dir)
    if investigation is not None:
        data["investigation"] = investigation_data(investigation)
    label = NARRATIVE_LABELS[narrative_source if narrative is not None else "template"]
    found = verdict(result, analysis, data["investigation"]["envelope"] if investigation else None)
    data["verdict"] = found.as_json() | {"lines": found.lines}
    data["summary"] = {
        "source": narrative_source if narrative is not None else "template",
        "label": label,
        "narrative": narrative,
        "generated": generated_summary(data),
    }
    data["class_counts"] = class_counts(run_dir, result.class_names)
    strips, strip_images = severity_strips(result.plan, manifest, run_dir)
    data["strips"] = strips
    thumbs = thumbnails(data["gallery"], result.plan, manifest, cache := ThumbCache(run_dir))
    for entry, thumb in zip(data["gallery"], thumbs, strict=True):
        entry["source_found"] = thumb.clean is not None
        entry["note"] = thumb.note
    slice_thumbs = _slice_thumbs(data, result, manifest, cache)
    return ReportContext(
        data=_clean_json(data),
        result=result,
        manifest=manifest,
        analysis=analysis,
        run_dir=run_dir,
        thumbs=thumbs,
        strip_images=strip_images,
        slice_thumbs=slice_thumbs,
    )


def _slice_thumbs(data: dict, result: AuditResult, manifest: dict, cache: ThumbCache) -> list[Thumbs]:
    """Thumbnails of the failure slices' representative images (flat, in ``slice_examples`` order);
    a slice of a condition the stored plan cannot regenerate gets placeholders."""
    if "investigation" not in data:
        return []
    known = {s.name for s in result.plan.specs}
    out = []
    for ex in slice_examples(data["investigation"]):
        if ex["corruption"] in known:
            out += thumbnails([ex], result.plan, manifest, cache)
        else:
            out.append(Thumbs(None, None, f"{ex['corruption']} is not in the stored plan"))
    return out


def _clean_json(obj: Any) -> Any:
    """NaN/inf -> None so report.json is strict JSON."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _clean_json(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean_json(v) for v in obj]
    return obj


def _run(result: AuditResult, manifest: dict[str, Any], ranking: Ranking) -> dict[str, Any]:
    all_models = list(
        dict.fromkeys([*result.models, *([result.reference_model] if result.reference_model else [])])
    )
    checkpoints = {
        **(result.brief.checkpoints if result.brief else {}),
        **(manifest.get("identity") or {}).get("checkpoints", {}),
    }
    roles = []
    for m in all_models:
        role = "audited" if m in result.models else "reference"
        if m in result.models and m == result.reference_model:
            role = "audited, reference"
        ckpt = checkpoints.get(m)
        roles.append(
            {
                "id": m,
                "role": role,
                "random_weights": has_random_weights(m),
                "checkpoint": ckpt,
                "checkpoint_name": Path(ckpt).name if ckpt else None,
            }
        )
    brief = result.brief
    n_images = max((c.n_images for c in result.cells), default=0)
    return {
        "run_id": result.run_id,
        "title": f"Robustness audit — {brief.domain}" if brief and brief.domain else "Robustness audit",
        "labelled": result.labelled,
        "class_names": result.class_names,
        "n_images": n_images,
        "n_skipped": len(result.skipped),
        "models": roles,
        "reference_model": result.reference_model,
        "corruptions": [s.name for s in result.plan.specs],
        "severities": [sev(s) for s in result.plan.severities],
        "ranking": {
            "metric": ranking.metric,
            "label": ranking.label,
            "drop_metric": ranking.drop_metric,
            "damage_label": ranking.damage_label,
        },
        "dataset_kind": (manifest.get("dataset") or {}).get("kind"),
    }


def _warnings(result: AuditResult, run_dir: Path, analysis: FailureAnalysis) -> list[dict[str, Any]]:
    """Caveats the reader must see next to the numbers (``{"kind", "text", "items"}``): random
    weights, no labels, and the checks of ``robustlens.caveats`` (small classes, accuracy near
    chance, non-monotone severity curves, damage that is not significant, one-class collapse)."""
    out = []
    for m in dict.fromkeys([*result.models, *([result.reference_model] if result.reference_model else [])]):
        if has_random_weights(m):
            out.append(
                {
                    "kind": "random_weights",
                    "text": f"{m} has random weights: its numbers test the pipeline, not a model. Do not "
                    "draw conclusions about robustness from them.",
                    "items": [m],
                }
            )
    if not result.labelled:
        out.append(
            {
                "kind": "label_free",
                "text": "Label-free run: accuracy, CE and calibration need labels and are not reported.",
                "items": [],
            }
        )
    return out + run_caveats(result, run_dir, analysis)


def _collapse(p: CollapsePoint) -> dict[str, Any]:
    """A collapse point with the text the tables print: the first collapsed severity, and
    "non-monotone" where the curve recovers at a higher severity (so "from severity s" would be false)."""
    text = sev(p.severity) if p.severity is not None else "–"
    if p.non_monotone:
        text = f"{text} (non-monotone: only at {', '.join(sev(s) for s in p.collapsed_at)})"
    return {**p.model_dump(mode="json"), "severity_text": text}


def _plan(result: AuditResult) -> dict[str, Any]:
    checks = {v.spec_name: v for v in result.validation}
    corruptions = []
    for spec in result.plan.specs:
        recipe = [c.model_dump(mode="json") for c in spec.recipe]
        recipe_text = " → ".join(
            c.name + (f"({', '.join(f'{k}={v}' for k, v in c.params.items())})" if c.params else "")
            for c in spec.recipe
        )
        report = checks.get(spec.name)
        validation = None
        if report is not None:
            critic = report.critic
            validation = {
                "ok": report.ok,
                "checks": [c.model_dump(mode="json") for c in report.checks],
                "ssim": [{"severity": k, "ssim": scalar(v)} for k, v in report.ssim_by_severity.items()],
                "critic": None
                if critic is None
                else {
                    "realistic": critic.realistic,
                    "score": scalar(critic.score),
                    "reasons": list(critic.reasons),
                    "critic": critic.critic,
                },
            }
        corruptions.append(
            {
                "name": spec.name,
                "rationale": spec.rationale,
                "source": spec.source,
                "recipe": recipe,
                "recipe_text": recipe_text,
                "validation": validation,
            }
        )
    plan = result.plan
    return {
        "seed": plan.seed,
        "severities": [sev(s) for s in plan.severities],
        "planner": plan.planner,
        "notes": plan.notes,
        "corruptions": corruptions,
    }


def _cells(result: AuditResult) -> list[dict[str, Any]]:
    return [
        {
            "model": c.model_id,
            "corruption": c.corruption,
            "severity": c.severity,
            "severity_text": sev(c.severity),
            "n_images": c.n_images,
            "metrics": {m: metric(c.metrics[m]) for m in metric_order(list(c.metrics))},
        }
        for c in result.cells
    ]


def _reproducibility(result: AuditResult, manifest: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    identity = manifest.get("identity", {})
    return {
        "versions": dict(sorted(result.versions.items())),
        "seed": result.seed,
        "command": result.command,
        "rebuild_command": f"robustlens report {shlex.quote(str(run_dir))}",
        "dataset_fingerprint": result.dataset_fingerprint,
        "dataset": manifest.get("dataset"),
        "dataset_counts": dataset_counts(
            manifest.get("dataset"), max((c.n_images for c in result.cells), default=0), len(result.skipped)
        ),
        **corruption_site(identity, manifest.get("corruption_sites") or {}),
        "sampling": sampling_text(result, identity.get("target_ci_width"), _futile(run_dir)),
        "templates": identity.get("templates", []),
        "checkpoints": identity.get("checkpoints", {}),
        "skipped": [s.model_dump(mode="json") for s in result.skipped],
    }


def _futile(run_dir: Path) -> int:
    """Cells that adaptive sampling stopped as futile (``timings.jsonl``, see evaluation.adaptive)."""
    return sum(t.get("stopped") == "futile" for t in RunStore(run_dir).timings())


def sampling_text(result: AuditResult, width: float | None, futile: int = 0) -> str | None:
    """The methods line of adaptive sampling (``--target-ci-width``); None when every cell used every
    image. Per-cell n is in the cell table; per-class rows show their own n. ``futile``: how many of
    the early stops were futility stops (inconclusive whatever the remaining images show)."""
    cells = [c for c in result.cells if c.corruption != CLEAN]
    if width is None or not cells:
        return None
    total = max(c.n_images for c in result.cells)
    used = [c.n_images for c in cells]
    early = sum(n < total for n in used)
    return (
        f"adaptive sampling: target width {width:g}; cells used {min(used)}..{max(used)} of "
        f"{total} images; {early} cell{'s' if early != 1 else ''} stopped early ({futile} futile)"
    )
