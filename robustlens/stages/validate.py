"""The validate stage: check a plan, then either ask the planner LLM to revise it or keep a plan that
passed, with each failing spec replaced (``robustlens.replacement``) rather than silently dropped.

The policy lives here, not in the graph node: a plan the LLM wrote gets up to ``max_revisions``
revision rounds with the findings as feedback; any other plan (the offline expert's, or the LLM's
once its rounds are spent) goes through ``validate_with_replacements``; when nothing passes, the
offline expert's plan is checked and kept as the last resort.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from robustlens import audit
from robustlens.schemas import CorruptionPlan, DomainBrief, ValidatedPlan, ValidationReport
from robustlens.validation import LabelCheck, Thresholds


@dataclass(frozen=True)
class ValidateInputs:
    """What the validate stage needs; ``critic``/``llm`` are LLM clients or None (offline)."""

    plan: CorruptionPlan
    brief: DomainBrief
    samples: Sequence[np.ndarray]
    run_dir: Path
    critic: Any = None
    llm: Any = None
    thresholds: Thresholds = field(default_factory=Thresholds)
    label_check: LabelCheck | None = None
    may_revise: bool = False  # the LLM planned this plan and has revision rounds left


@dataclass(frozen=True)
class ValidateOutcome:
    """Either ``feedback`` for the planner (``validated`` is None) or the plan to evaluate."""

    reports: list[ValidationReport]
    validated: ValidatedPlan | None = None
    feedback: str = ""
    events: list[str] = field(default_factory=list)
    critic_stood_in: str | None = None  # "offline-rules (LLM critic unavailable: ...)" when it failed


def validate_stage(inp: ValidateInputs) -> ValidateOutcome:
    """Check ``inp.plan`` (validation + critic) and decide: revise, or keep (with replacements).

    Each spec is checked once: a plan the LLM may still revise is checked here and, when every spec
    passes, kept as it is; any other plan goes through ``validate_with_replacements``."""
    if inp.may_revise:
        reports = audit.check_plan(
            inp.plan, inp.brief, inp.samples, inp.critic, inp.thresholds, inp.label_check
        )
        failed = [r for r in reports if not r.ok]
        if failed:
            events = _summary(reports) + _stood_in_events(reports)
            return ValidateOutcome(reports, None, revision_feedback(failed), events, _stood_in(reports))
        return _keep(inp, inp.plan, reports, _summary(reports))
    from robustlens.replacement import proposer_for, validate_with_replacements

    propose = proposer_for(inp.brief, inp.llm)
    kept, reports, notes = validate_with_replacements(
        inp.plan, inp.brief, inp.samples, inp.critic, inp.thresholds, inp.label_check, propose
    )
    events = _summary(reports[: len(inp.plan.specs)]) + [f"{n[:1].upper()}{n[1:]}." for n in notes]
    if kept is None:
        kept, reports = _last_resort(inp, reports)
        events.append("No spec passed; falling back to the offline expert's plan.")
    return _keep(inp, kept, reports, events)


def _keep(
    inp: ValidateInputs, plan: CorruptionPlan, reports: list[ValidationReport], events: list[str]
) -> ValidateOutcome:
    """The plan to evaluate, with its reports; severity previews written for each kept spec."""
    events = events + _stood_in_events(reports)
    if audit.write_previews(plan, inp.samples, inp.run_dir):
        events.append(f"Severity previews: {inp.run_dir / 'previews'}/<corruption>.png")
    return ValidateOutcome(reports, ValidatedPlan(plan=plan, reports=reports), "", events, _stood_in(reports))


def _last_resort(
    inp: ValidateInputs, reports: list[ValidationReport]
) -> tuple[CorruptionPlan, list[ValidationReport]]:
    """The offline expert's plan, checked (its reports are kept, pass or fail: the report shows them)."""
    from robustlens.expert.planner import plan_from_brief

    plan = plan_from_brief(inp.brief)
    more = audit.check_plan(plan, inp.brief, inp.samples, inp.critic, inp.thresholds, inp.label_check)
    return plan, [*reports, *more]


def revision_feedback(failed: Sequence[ValidationReport]) -> str:
    """What the planner LLM reads before its next round: each rejected spec and why."""
    lines = []
    for r in failed:
        reasons = [c.detail for c in r.checks if not c.passed]
        if r.critic is not None and not r.critic.realistic:
            reasons += r.critic.reasons
        lines.append(f"- {r.spec_name}: " + "; ".join(reasons))
    return "These specs were rejected; replace or fix them:\n" + "\n".join(lines)


def _summary(reports: Sequence[ValidationReport]) -> list[str]:
    """One line: how many specs pass, which of those only after their ladder was rescaled to the user's
    images (``robustlens.rescale``: the count alone would hide that they changed), which were rejected."""
    failed = [r.spec_name for r in reports if not r.ok]
    rescaled = [r.spec_name for r in reports if r.ok and any(c.name == "rescaled" for c in r.checks)]
    after = f" ({len(rescaled)} after rescaling the ladder: {', '.join(rescaled)})" if rescaled else ""
    rejected = f"; rejected {', '.join(failed)}" if failed else ""
    specs = "spec" if len(reports) == 1 else "specs"
    return [f"Validated {len(reports)} {specs}: {len(reports) - len(failed)} pass{after}{rejected}."]


def _stood_in_labels(reports: Sequence[ValidationReport]) -> list[str]:
    prefix = audit.OFFLINE_CRITIC + " ("
    return [r.critic.critic for r in reports if r.critic and r.critic.critic.startswith(prefix)]


def _stood_in(reports: Sequence[ValidationReport]) -> str | None:
    labels = _stood_in_labels(reports)
    return labels[0] if labels else None


def _stood_in_events(reports: Sequence[ValidationReport]) -> list[str]:
    """The LLM critic failed: say so once, with why (each verdict is labelled too)."""
    labels = _stood_in_labels(reports)
    if not labels:
        return []
    n, label = len(labels), labels[0]
    # Only the label's own brackets go: the reason may end in one, "... (not retried: ...)".
    why = label.removeprefix(audit.OFFLINE_CRITIC + " (").removesuffix(")")
    return [f"LLM critic failed for {n} spec(s) ({why}); the offline rule critic judged instead."]
