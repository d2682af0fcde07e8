"""Audit stages the agent and its tools share: plain, typed functions, each usable without the graph.

open the brief's images -> check a plan (validation + critic) -> evaluate -> refine -> report.
Critique uses the critic LLM when one is configured and the offline rule critic otherwise; either
way the verdict says who judged.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from robustlens.data.sources import ImageSet, open_images
from robustlens.errors import UserInputError
from robustlens.evaluation.engine import EngineOptions, ProgressSink, evaluate
from robustlens.llm.client import LLMClient
from robustlens.schemas import (
    AuditResult,
    CorruptionPlan,
    CorruptionSpec,
    CriticVerdict,
    DomainBrief,
    FailureAnalysis,
    ValidatedPlan,
    ValidationReport,
)
from robustlens.validation import LabelCheck, Thresholds, sample_images, validate_spec

OFFLINE_CRITIC = "offline-rules"
CRITIC_DOWN = "LLM critic unavailable"


def open_brief_images(brief: DomainBrief, data: str | None = None) -> ImageSet:
    """The dataset named by the user (``data`` from the command line wins over the brief)."""
    source = data or (brief.image_source.path if brief.image_source else None)
    if source and brief.image_source is not None and brief.image_source.kind == "demo" and data is None:
        source = source if source.startswith("demo:") else f"demo:{source}"
    if not source:
        raise UserInputError(
            "The brief names no images to audit.",
            fix="Set image_source.path in the brief or pass --data (a folder, a manifest or demo:textile).",
            field="image_source",
        )
    labels = brief.labels is not None
    names = (brief.image_source.class_names if brief.image_source else None) or brief.labels
    images = open_images(
        source, labels=labels, class_names=names, max_images=brief.budget.max_images, seed=brief.seed
    )
    if not labels and brief.labels is None and names:
        images.class_names = list(names)
    if brief.ood:  # the OOD set (evaluation.ood) is checked with the images: before any planning
        from robustlens.evaluation.ood import open_ood

        open_ood(brief.ood, brief.seed)
    return images


def critique_spec(
    spec: CorruptionSpec,
    brief: DomainBrief,
    ssim: dict[str, float],
    critic: LLMClient | None,
    samples: Sequence[np.ndarray] = (),
) -> CriticVerdict:
    """The critic LLM's verdict (with thumbnails when it sees images), or the offline rule critic's.

    Any critic failure — an error, a timeout, a refusal, a junk or empty verdict — falls back to the
    offline rule critic, whose verdict is labelled ``offline-rules (LLM critic unavailable: ...)``
    so the report says who really judged and why."""
    from robustlens.expert.critic import critique

    if critic is None:
        return critique(spec, brief)
    from robustlens.corruptions.compiler import compile_spec
    from robustlens.corruptions.seeding import corruption_seed
    from robustlens.llm.client import LLMError
    from robustlens.llm.critic import llm_critique

    corruption = compile_spec(spec)
    thumbs = [
        _png(corruption(im, 3.0, corruption_seed(brief.seed, f"critic{i}", spec.name, 3.0)))
        for i, im in enumerate(samples[:2])
    ]
    try:
        return llm_critique(critic, spec, brief, ssim, thumbs)
    except LLMError as exc:
        verdict = critique(spec, brief)
        return verdict.model_copy(update={"critic": f"{OFFLINE_CRITIC} ({CRITIC_DOWN}: {exc})"})


def check_plan(
    plan: CorruptionPlan,
    brief: DomainBrief,
    samples: Sequence[np.ndarray],
    critic: LLMClient | None = None,
    thresholds: Thresholds = Thresholds(),
    label_check: LabelCheck | None = None,
) -> list[ValidationReport]:
    """Validation (schema, SSIM ladder, label preservation) plus the critic's realism verdict, per spec."""
    reports = []
    for spec in plan.specs:
        report = validate_spec(spec, samples, thresholds, plan.seed, label_check)
        if report.checks and report.checks[0].passed:
            verdict = critique_spec(spec, brief, report.ssim_by_severity, critic, samples)
            report = report.model_copy(update={"critic": verdict, "ok": report.ok and verdict.realistic})
        reports.append(report)
    return reports


def write_previews(plan: CorruptionPlan, samples: Sequence[np.ndarray], run_dir: Path) -> dict[str, Path]:
    """A severity grid (clean + 1..5) per spec on a sample image: RUN/previews/<spec>.png."""
    from robustlens.corruptions import compile_spec
    from robustlens.corruptions.preview import severity_grid
    from robustlens.data.images import save_image
    from robustlens.evaluation.store import RunStore

    if not samples:
        return {}
    store = RunStore(run_dir)
    return {
        s.name: save_image(
            severity_grid(samples[0], [compile_spec(s)], seed=plan.seed, cell=192), store.preview_path(s.name)
        )
        for s in plan.specs
    }


def run_audit(
    brief: DomainBrief,
    validated: ValidatedPlan,
    images: ImageSet,
    run_dir: Path,
    options: EngineOptions,
    command: str = "",
    progress: ProgressSink | None = None,
) -> AuditResult:
    """Evaluate a validated plan; the engine writes RUN/result.json once, reports included."""
    from robustlens.evaluation.ood import attach_ood, with_ood

    if not brief.models:
        raise UserInputError(
            "The brief names no model to audit.", fix="Add models: [ID, ...] to the brief.", field="models"
        )
    # the brief's local weights apply wherever it is run; --checkpoint flags (in options) win
    options = replace(options, checkpoints={**brief.checkpoints, **options.checkpoints})
    # the engine drops undecodable images from the set it is given: each pass gets its own copy, so
    # the next iteration sees the same dataset (and fingerprint) as the first
    images = replace(images, items=list(images.items), skipped=list(images.skipped))
    options = with_ood(options, brief.ood, brief.seed)  # the OOD set, encoded with each loaded model
    result = evaluate(
        validated.plan,
        images,
        brief.models,
        run_dir,
        reference=brief.reference_model,
        options=options,
        brief=brief,
        command=command,
        progress=progress,
        validation=validated.reports,
    )
    return attach_ood(result, run_dir, brief.ood, options)  # the brief's OOD set, if any


def refine_around_collapse(plan: CorruptionPlan, analysis: FailureAnalysis) -> CorruptionPlan | None:
    """The offline iteration rule: add half-step severities just below each collapse point, so the
    report can say where exactly a model breaks. None when there is nothing to refine."""
    extra = set()
    for point in analysis.collapse_points:
        if point.severity is not None and point.severity > 1:
            candidate = point.severity - 0.5
            if candidate not in plan.severities:
                extra.add(candidate)
    if not extra:
        return None
    return plan.model_copy(update={"severities": sorted({*plan.severities, *extra})})


def _png(image: np.ndarray, size: int = 256) -> bytes:
    from PIL import Image

    im = Image.fromarray(image)
    im.thumbnail((size, size))
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


__all__ = [
    "check_plan",
    "critique_spec",
    "open_brief_images",
    "refine_around_collapse",
    "run_audit",
    "sample_images",
]
