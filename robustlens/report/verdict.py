"""The verdict a report opens with: does each audited model stay within the deployment's tolerance?

Computed once here (every renderer copies the texts), from the run's cells and the failure analysis:

- **holds**: every corrupted cell's upper 95% bound is within the tolerance;
- **fails**: some cell's lower 95% bound exceeds it (the damage is beyond the tolerance even at the
  optimistic end of its interval); listed per corruption at the first such severity;
- **inconclusive**: no cell fails but some interval straddles the tolerance (more images would
  decide), or a cell has no interval.

The intervals are the run's percentile-bootstrap 95% intervals over images (Efron & Tibshirani 1993).
Reading "the interval lies above the bound" as a failure is the usual one-sided non-inferiority
decision at the 2.5% level (Wellek 2010, *Testing Statistical Hypotheses of Equivalence and
Noninferiority*).

The *safety fact* is the most actionable single finding, looked for in the data: one predicted class
that absorbs the errors (a "sink" class, e.g. every defective fabric called "defect-free"), taken from
the analysis' class shifts; failing that, the largest damage that is significant.

When the run has an investigation, the verdict also says what to ship for, from the operating
envelope (``report.investigation``): "Ship for: blur up to sigma 2.1 px; not for: low_light (fails
at the mildest level)". The envelope is the bisected tolerated level, so it is a finer statement
than the per-cell calls above, which only see the planned severities.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from robustlens.evaluation.store import CLEAN
from robustlens.report.formatting import number, sev
from robustlens.schemas import AuditResult, CellResult, FailureAnalysis, MetricValue, Tolerance

DEFAULT_LABELLED = Tolerance(metric="accuracy_drop", max=0.05)
DEFAULT_LABEL_FREE = Tolerance(metric="lfp", max=0.10)
TOLERANCE_LABELS = {
    "accuracy_drop": "accuracy drop",
    "balanced_accuracy_drop": "balanced accuracy drop",
    "lfp": "label flip probability (LFP)",
}
SHORT = {"accuracy_drop": "drop", "balanced_accuracy_drop": "drop", "lfp": "LFP"}
#: a class shift counts towards a sink class from this corrupted rate on
SINK_RATE = 0.5


@dataclass(frozen=True)
class CellCall:
    """One corrupted cell against the tolerance."""

    corruption: str
    severity: float
    drop: float
    ci_low: float | None
    ci_high: float | None
    status: str  # "holds" | "fails" | "inconclusive"
    sentence: str


@dataclass
class ModelVerdict:
    model: str
    status: str  # "holds" | "fails" | "inconclusive" | "unknown"
    text: str
    failures: list[CellCall] = field(default_factory=list)
    inconclusive: list[CellCall] = field(default_factory=list)


@dataclass
class Verdict:
    metric: str
    max: float
    source: str  # "brief" | "default"
    tolerance_text: str
    models: list[ModelVerdict]
    safety_fact: str | None
    envelope: list[dict[str, Any]] | None = None

    def as_json(self) -> dict[str, Any]:
        """Plain JSON (the ``verdict`` key of report.json); no ``envelope`` key without an investigation."""
        out = asdict(self)
        if self.envelope is None:
            del out["envelope"]
        return out

    @property
    def lines(self) -> list[str]:
        """The sentences the executive summary opens with (tolerance, one per model, safety fact)."""
        out = [self.tolerance_text, *(f"{m.model}: {m.text}" for m in self.models)]
        out += [f"{e['model']}: {e['text']}" for e in self.envelope or []]
        return out + ([f"Most important safety fact: {self.safety_fact}"] if self.safety_fact else [])


def tolerance_for(result: AuditResult) -> tuple[Tolerance, str, str]:
    """The tolerance in force, where it came from ("brief"/"default") and a note on why."""
    default = DEFAULT_LABELLED if result.labelled else DEFAULT_LABEL_FREE
    chosen = result.brief.tolerance if result.brief else None
    if chosen is None:
        return (
            default,
            "default",
            "default for labelled runs" if result.labelled else "default for label-free runs",
        )
    if chosen.metric != "lfp" and not result.labelled:
        return default, "default", f"the brief's {TOLERANCE_LABELS[chosen.metric]} needs labels; default"
    return chosen, "brief", "from the brief"


def _drop(cell: CellResult, clean: CellResult | None, metric: str) -> MetricValue | None:
    if metric in cell.metrics:
        return cell.metrics[metric]
    if metric != "balanced_accuracy_drop" or clean is None:
        return None
    base, now = clean.metrics.get("balanced_accuracy"), cell.metrics.get("balanced_accuracy")
    if base is None or now is None:
        return None
    # not stored by the engine: clean value minus the corrupted interval (the clean value held fixed)
    lo = None if now.ci_high is None else base.value - now.ci_high
    hi = None if now.ci_low is None else base.value - now.ci_low
    return MetricValue(value=base.value - now.value, ci_low=lo, ci_high=hi)


def _call(corruption: str, severity: float, mv: MetricValue, tol: Tolerance) -> CellCall:
    lo, hi = mv.ci_low, mv.ci_high
    if lo is not None and lo > tol.max:
        status = "fails"
    elif hi is not None and hi <= tol.max:
        status = "holds"
    else:
        status = "inconclusive"
    ci = f", 95% CI {number(lo)}–{number(hi)}" if lo is not None and hi is not None else ", no interval"
    text = f"{corruption} from severity {sev(severity)} ({SHORT[tol.metric]} {number(mv.value)}{ci})"
    return CellCall(corruption, severity, mv.value, lo, hi, status, text)


def _model_verdict(result: AuditResult, model: str, tol: Tolerance) -> ModelVerdict:
    clean = result.cell(model, CLEAN, 0.0)
    calls: list[CellCall] = []
    for spec in result.plan.specs:
        for s in result.plan.severities:
            cell = result.cell(model, spec.name, float(s))
            mv = None if cell is None else _drop(cell, clean, tol.metric)
            if mv is not None:
                calls.append(_call(spec.name, float(s), mv, tol))
    if not calls:
        probe = clean is not None and "probe_accuracy" in clean.metrics  # an image-only model
        where = " (image-only: its probe accuracy drop is under “Which metrics apply”)" if probe else ""
        text = f"not judged: no {TOLERANCE_LABELS[tol.metric]} in this run{where}."
        return ModelVerdict(model, "unknown", text)
    first: dict[str, CellCall] = {}
    for c in calls:
        if c.status == "fails" and c.corruption not in first:
            first[c.corruption] = c
    failures = list(first.values())
    unsure = [c for c in calls if c.status == "inconclusive"]
    if failures:
        text = "fails under " + "; ".join(c.sentence for c in failures) + "."
        return ModelVerdict(model, "fails", text, failures, unsure)
    if unsure:
        shown = "; ".join(c.sentence.replace(" from severity ", " at severity ") for c in unsure[:4])
        more = f" and {len(unsure) - 4} more" if len(unsure) > 4 else ""
        text = f"inconclusive: the 95% interval straddles the tolerance under {shown}{more}."
        return ModelVerdict(model, "inconclusive", text, [], unsure)
    worst = max(calls, key=lambda c: c.ci_high if c.ci_high is not None else c.drop)
    text = (
        f"holds: every cell's upper 95% bound is within the tolerance (highest: {worst.corruption} "
        f"at severity {sev(worst.severity)}, {number(worst.ci_high)})."
    )
    return ModelVerdict(model, "holds", text)


def safety_fact(analysis: FailureAnalysis, models: list[str]) -> str | None:
    """One predicted class that absorbs errors of other classes (corrupted rate >= ``SINK_RATE``);
    the sink reaching the most (corruptions, true classes) wins. None when no class does."""
    groups: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for s in analysis.class_shifts:
        if s.model_id in models and s.corrupted_rate >= SINK_RATE and s.corrupted_rate > s.clean_rate:
            groups[(s.model_id, s.predicted_class)].append(s)
    if not groups:
        return None

    def reach(key: tuple[str, str]) -> tuple[int, int, float, int, str]:
        shifts = groups[key]
        return (
            len({s.corruption for s in shifts}),
            len({s.true_class for s in shifts}),
            sum(s.corrupted_rate for s in shifts),
            -models.index(key[0]),
            key[1],
        )

    model, sink = max(groups, key=reach)
    shifts = groups[(model, sink)]
    corruptions = list(dict.fromkeys(s.corruption for s in shifts))
    where = ", ".join(
        f"{c} (from severity {sev(min(s.severity for s in shifts if s.corruption == c))})"
        for c in corruptions
    )
    by_class: dict[str, float] = {}
    for s in shifts:
        by_class[s.true_class] = max(by_class.get(s.true_class, 0.0), s.corrupted_rate)
    parts = [
        f"every '{t}' image" if r >= 1.0 else f"{number(r * 100, 0)}% of '{t}' images"
        for t, r in by_class.items()
    ]
    what = ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]
    return (
        f"under {where}, {model} calls {what} '{sink}': one class absorbs the errors, so these failures "
        f"look like '{sink}' in deployment."
    )


def audited_safety_fact(analysis: FailureAnalysis, models: list[str], reference: str | None) -> str | None:
    """The safety fact of the audited models first: the reference is the yardstick, not the model
    being considered for deployment; its own fact is shown only when no audited model has one."""
    audited = [m for m in models if m != reference]
    return (safety_fact(analysis, audited) if audited else None) or safety_fact(analysis, models)


def _largest_significant(mv: list[ModelVerdict]) -> str | None:
    fails = [(c, m.model) for m in mv for c in m.failures]
    if not fails:
        return None
    c, model = max(fails, key=lambda x: x[0].ci_low or 0.0)
    return f"the largest significant damage is {model} under {c.sentence}."


def envelope_verdict(rows: list[dict[str, Any]], models: list[str]) -> list[dict[str, Any]]:
    """Per audited model, what to ship for and what not, from the envelope rows (report data)."""
    out = []
    for model in models:
        mine = [r for r in rows if r["model"] == model]
        if not mine:
            continue
        ship = [
            f"{r['corruption']} {r['level_text']}"
            + (" (every level tested)" if r["status"] == "within_all" else "")
            for r in mine
            if r["status"] != "fails_mildest"
        ]
        not_for = [
            f"{r['corruption']} (fails at the mildest level)" for r in mine if r["status"] == "fails_mildest"
        ]
        parts = [f"ship for: {', '.join(ship)}"] if ship else ["ship for: none of the conditions tested"]
        parts += [f"not for: {', '.join(not_for)}"] if not_for else []
        tol = "; ".join(dict.fromkeys(r["tolerance_text"] for r in mine))
        text = f"Operating envelope at {tol} — " + "; ".join(parts) + "."
        out.append({"model": model, "ship_for": ship, "not_for": not_for, "text": text})
    return out


def verdict(
    result: AuditResult, analysis: FailureAnalysis, envelope: list[dict[str, Any]] | None = None
) -> Verdict:
    """Each audited model against the tolerance, and the most important safety fact; with the
    investigation's ``envelope`` rows, what each model can be shipped for."""
    tol, source, why = tolerance_for(result)
    models = [_model_verdict(result, m, tol) for m in result.models]
    hint = "" if source == "brief" else "; set “tolerance:” in the brief to change it"
    text = f"Tolerance: {TOLERANCE_LABELS[tol.metric]} ≤ {number(tol.max)} ({why}{hint})."
    fact = audited_safety_fact(analysis, list(result.models), result.reference_model)
    fact = fact or _largest_significant(models)
    ships = None if envelope is None else envelope_verdict(envelope, list(result.models))
    return Verdict(tol.metric, tol.max, source, text, models, fact, ships)
