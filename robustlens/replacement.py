"""Validation with replacements: a spec that fails validation is replaced, so plans do not silently shrink.

``robustlens.audit.check_plan`` validates every spec (schema, SSIM ladder, label preservation) and
asks the critic; before this stage a failing spec was simply dropped, and a plan of 8 could reach
the evaluation with 5 corruptions and no word about the missing conditions. Here each failure goes
to a *proposer* with the reason it failed ("SSIM at severity 5 = 0.01"), the proposal is validated
the same way, and it is kept if it passes (up to ``max_rounds`` proposals per dropped spec). Every
report is returned, replacements included, with one human-readable note per dropped spec.

Before any proposer runs, a spec that failed only because its ladder is out of scale for the user's
images (too mild at severity 1, destroyed at 5, not monotone) is tried again with its ladder rescaled
(``robustlens.rescale``), so the condition the user named stays covered; its note says what changed.

The offline proposer is the expert's ``replacement_for`` (the next-best corruption for the same
imaging-chain facts); the LLM proposer (``robustlens.llm.planner.llm_replacement``) asks the
planner LLM once and falls back to the offline proposer, labelled, on any failure.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from robustlens.audit import check_plan, critique_spec
from robustlens.schemas import Check, CorruptionPlan, CorruptionSpec, DomainBrief, ValidationReport
from robustlens.validation import LabelCheck, Thresholds

#: ``propose(plan, failed_spec, reason)`` -> a replacement spec, or ``(spec, label)`` where ``label``
#: says who proposed it (e.g. "offline expert; LLM replacement unavailable: ..."), or None.
Proposal = CorruptionSpec | tuple[CorruptionSpec | None, str] | None
Proposer = Callable[[CorruptionPlan, CorruptionSpec, str], Proposal]


def failure_reason(report: ValidationReport) -> str:
    """Why a spec was rejected, in one line: the failed (non-advisory) checks, then the critic's reasons."""
    parts = [c.detail or c.name for c in report.checks if not c.passed and not c.advisory]
    verdict = report.critic
    if verdict is not None and not verdict.realistic:
        why = "; ".join(verdict.reasons[:2]) or "judged unrealistic"
        parts.append(f"critic ({verdict.critic or 'critic'}): {why}")
    return "; ".join(parts) or "failed validation"


def offline_replacement(
    plan: CorruptionPlan, dropped: CorruptionSpec, brief: DomainBrief, reason: str = ""
) -> CorruptionSpec | None:
    """The offline expert's next-best corruption for this brief that the plan does not use yet."""
    from robustlens.expert.replace import replacement_for

    return replacement_for(plan, dropped, brief, reason=reason)


def proposer_for(brief: DomainBrief, llm: Any = None) -> Proposer:
    """The replacement proposer for an audit: the planner LLM when one is configured (falling back to
    the offline expert, labelled, on any failure), else the offline expert."""
    if llm is None:
        return lambda plan, spec, reason: offline_replacement(plan, spec, brief, reason)
    from robustlens.llm.planner import llm_replacement

    return lambda plan, spec, reason: llm_replacement(llm, plan, spec, brief, reason)


def _unpack(proposal: Proposal, default_label: str) -> tuple[CorruptionSpec | None, str]:
    if isinstance(proposal, tuple):
        return proposal[0], proposal[1] or default_label
    return proposal, default_label


def _unique_name(spec: CorruptionSpec, taken: set[str]) -> CorruptionSpec:
    name, i = spec.name, 2
    while name in taken:
        name, i = f"{spec.name[:60]}_{i}", i + 1
    return spec if name == spec.name else spec.model_copy(update={"name": name})


def _primitives(spec: CorruptionSpec) -> frozenset[str]:
    return frozenset(c.name for c in spec.recipe)


def validate_with_replacements(
    plan: CorruptionPlan,
    brief: DomainBrief,
    samples: Sequence[np.ndarray],
    critic: Any = None,
    thresholds: Thresholds = Thresholds(),
    label_check: LabelCheck | None = None,
    propose: Proposer | None = None,
    max_rounds: int = 2,
) -> tuple[CorruptionPlan | None, list[ValidationReport], list[str]]:
    """Validate ``plan`` (``check_plan``), replace each failing spec by a validated proposal.

    Returns the kept plan (each replacement in its predecessor's place; None when nothing passed),
    every validation report (originals first, a rescaled spec's report in place of its original, then
    the replacements in the order tried) and one note per dropped or rescaled spec, e.g. "fog dropped
    (SSIM at severity 5 = 0.01 (must be > 0.05)); replaced by haze"."""
    propose = propose or proposer_for(brief)
    reports = check_plan(plan, brief, samples, critic, thresholds, label_check)
    all_reports = list(reports)
    notes: list[str] = []
    slots: list[CorruptionSpec | None] = [
        s if r.ok else None for s, r in zip(plan.specs, reports, strict=True)
    ]
    tried: list[CorruptionSpec] = list(plan.specs)  # the proposer must not offer these again
    for i, (spec, report) in enumerate(zip(plan.specs, reports, strict=True)):
        if report.ok:
            continue
        rescaled = _rescaled(spec, report, plan, brief, samples, critic, thresholds, label_check)
        if rescaled is not None:  # the same condition, scaled to the user's images: nothing to replace
            slots[i], all_reports[i], kept = rescaled
            notes.append(kept)
            continue
        reason = failure_reason(report)
        note = f"{spec.name} dropped ({reason})"
        rejected: list[str] = []
        current = spec
        for _ in range(max_rounds):
            context = plan.model_copy(update={"specs": _dedupe(tried)})
            candidate, label = _unpack(propose(context, current, reason), "")
            if candidate is None or _primitives(candidate) in {_primitives(s) for s in tried}:
                break
            taken = {s.name for s in tried} | {s.name for s in slots if s is not None}
            candidate = _unique_name(candidate, taken)
            tried.append(candidate)
            single = plan.model_copy(update={"specs": [candidate]})
            (result,) = check_plan(single, brief, samples, critic, thresholds, label_check)
            all_reports.append(result)
            by = f" ({label})" if label else ""
            if result.ok:
                slots[i] = candidate
                note += f"; replaced by {candidate.name}{by}"
                break
            reason = failure_reason(result)
            rejected.append(f"{candidate.name}{by}: {reason}")
            current = candidate
        if slots[i] is None:
            note += (
                f"; no replacement passed validation (tried {'; '.join(rejected)})"
                if rejected
                else "; no replacement proposed"
            )
        notes.append(note)
    specs = [s for s in slots if s is not None]
    if not specs:
        return None, all_reports, notes
    text = (plan.notes + " " + " ".join(f"{n}." for n in notes)).strip() if notes else plan.notes
    return plan.model_copy(update={"specs": specs, "notes": text}), all_reports, notes


def _rescaled(
    spec: CorruptionSpec,
    report: ValidationReport,
    plan: CorruptionPlan,
    brief: DomainBrief,
    samples: Sequence[np.ndarray],
    critic: Any,
    thresholds: Thresholds,
    label_check: LabelCheck | None,
) -> tuple[CorruptionSpec, ValidationReport, str] | None:
    """The spec with its ladder rescaled (``robustlens.rescale``), checked like any spec (the same SSIM
    checks, then the critic, as in ``check_plan``), its report carrying a ``rescaled`` check, and the
    note; None when rescaling cannot pass."""
    from robustlens.rescale import rescale_spec

    found = rescale_spec(spec, report, samples, thresholds, plan.seed, label_check)
    if found is None:
        return None
    candidate, result, what = found
    verdict = critique_spec(candidate, brief, result.ssim_by_severity, critic, samples)
    if not verdict.realistic:
        return None
    result = result.model_copy(update={"critic": verdict})
    before = failure_reason(report)
    check = Check(name="rescaled", passed=True, advisory=True, detail=f"{what} (before: {before})")
    result = result.model_copy(update={"checks": [*result.checks, check]})
    return candidate, result, f"{spec.name} kept, {what}"


def _dedupe(specs: Sequence[CorruptionSpec]) -> list[CorruptionSpec]:
    seen: dict[str, CorruptionSpec] = {}
    for s in specs:
        seen.setdefault(s.name, s)
    return list(seen.values())


__all__ = [
    "Proposer",
    "failure_reason",
    "offline_replacement",
    "proposer_for",
    "validate_with_replacements",
]
