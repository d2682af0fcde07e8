"""The investigation stages and the offline policy that chains them (no LLM).

After the first evaluation the owner's next questions are: up to what level of each condition can we
ship (tolerance search per model x spec; the specs with a significant drop first, since only they need
new cells), which images fail first under the worst cells and what they share (failure slices), what
the conditions named together do in combination (compound chains vs their parts), and which class
absorbs the errors. ``Investigator`` holds one method per question — the offline policy and the LLM's
tools (``robustlens.tools.investigate_tools``) call the same ones — and logs each as a step. Severities
are refined per spec (``extra_severities``), never plan-wide; new cells are bounded by the budget.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from robustlens.data.sources import ImageSet
from robustlens.evaluation.engine import EngineOptions
from robustlens.evaluation.store import CLEAN, RunStore
from robustlens.investigate import compound, slices, tolerance, vulnerability
from robustlens.investigate.cells import RunCells, mean_interval
from robustlens.investigate.evaluator import CellEvaluator
from robustlens.investigate.records import (
    ClassVulnerability,
    CompoundResult,
    Investigation,
    InvestigationStep,
    Slice,
    ToleranceResult,
)
from robustlens.schemas import AuditResult, CorruptionSpec, DomainBrief, FailureAnalysis


@dataclass
class InvestigationBudget:
    """How much follow-up work may be spent (sized so `robustlens demo` stays <= 2 min of audit)."""

    max_cells: int = 16  # new cells in all (bisection steps and chains): ~15 s of the demo on 2 cores
    per_search: int = 2  # new cells per model x spec tolerance search
    resolution: float = 0.25
    chains: int = 2
    slice_cells: int = 1  # worst cells per model searched for slices
    n_boot: int = 500


def spent_cells(inv: Investigation, result: AuditResult) -> int:
    """Follow-up cells an investigation already holds: off-ladder tolerance rungs, and chains."""
    ladder = {s.name: {*result.plan.severities, *s.extra_severities} for s in result.plan.specs}
    rungs = {(t.model_id, t.corruption, s) for t in inv.envelope for s in t.evaluated}
    off = [r for r in rungs if r[2] not in ladder.get(r[1], set())]
    return len(off) + len({(c.model_id, c.corruption, c.severity) for c in inv.compounds})


def chain_severity(severities: Sequence[float]) -> float:
    """The plan rung closest to the middle of the knob (3), where chains are compared with parts."""
    return min(severities, key=lambda s: (abs(s - 3.0), s))


@dataclass
class Investigator:
    """The investigation stages on one finished run; each call appends its finding and a step."""

    run_dir: Path
    result: AuditResult
    images: ImageSet
    brief: DomainBrief | None = None
    options: EngineOptions | None = None
    budget: InvestigationBudget = field(default_factory=InvestigationBudget)
    inv: Investigation = field(default_factory=Investigation)
    planner: str = "offline-expert"
    iteration: int = 1
    log: bool = True  # False for the LLM's tools: the decide stage logs their calls itself

    def __post_init__(self) -> None:
        from robustlens.report.verdict import tolerance_for

        self.cells = RunCells(RunStore(Path(self.run_dir)))
        self.evaluator = CellEvaluator(Path(self.run_dir), self.images, self.result.plan.seed, self.options)
        self.tolerance = tolerance_for(self.result)[0]
        self.seed, self.n_boot = self.result.plan.seed, self.budget.n_boot
        self.finding = ""
        self.prior = spent_cells(self.inv, self.result)

    def cells_left(self, reserve: int = 0) -> int:
        return max(0, self.budget.max_cells - reserve - self.prior - len(self.evaluator.computed))

    def _step(
        self, question: str, tool: str, args: dict[str, Any], text: str, why: str, added: int = 0
    ) -> None:
        self.finding = text
        if not self.log:
            return
        self.inv.steps.append(
            InvestigationStep(
                iteration=self.iteration,
                question=question,
                tool=tool,
                arguments=args,
                result=text,
                why=why,
                cells_added=added,
                planner=self.planner,
            )
        )

    def _metric(self, model_id: str) -> str:
        return self.cells.metric_for(model_id, self.tolerance.metric)

    def known(self, model_id: str, spec: str) -> dict[float, np.ndarray]:
        metric = self._metric(model_id)
        return {
            s: self.cells.values(model_id, spec, s, metric) for s in self.cells.severities(model_id, spec)
        }

    def significant(self, model_id: str, spec: str) -> tuple[bool, float]:
        """Whether some finished rung drops the metric significantly (interval above 0), and the worst."""
        drops = [
            mean_interval(v, n_boot=self.n_boot, seed=self.seed) for v in self.known(model_id, spec).values()
        ]
        return any(d.ci_low is not None and d.ci_low > 0 for d in drops), max(
            (d.value for d in drops), default=0.0
        )

    def search_tolerance(
        self, model_id: str, spec: CorruptionSpec, max_new: int, why: str
    ) -> ToleranceResult:
        metric, before = self._metric(model_id), len(self.evaluator.computed)

        def evaluate(severity: float) -> np.ndarray:
            self.evaluator.ensure(model_id, spec, [severity])
            return self.cells.values(model_id, spec.name, severity, metric)

        res = tolerance.search_tolerance(
            model_id,
            spec,
            metric=metric,
            tolerance=self.tolerance.max,
            known=self.known(model_id, spec.name),
            evaluate=evaluate,
            resolution=self.budget.resolution,
            max_new=max_new,
            n_boot=self.n_boot,
            seed=self.seed,
        )
        self.inv.envelope = [
            t for t in self.inv.envelope if (t.model_id, t.corruption) != (model_id, spec.name)
        ]
        self.inv.envelope.append(res)
        self._step(
            f"Up to what level of {spec.name} can {model_id} still ship?",
            "search_tolerance",
            {"model": model_id, "corruption": spec.name, "metric": metric, "max": self.tolerance.max},
            tolerance.describe(res),
            why,
            len(self.evaluator.computed) - before,
        )
        return res

    def groups(self, model_id: str) -> tuple[list[str], list[tuple[str, str, np.ndarray]]]:
        """Candidate slices of the run's images: clusters, statistics quartiles, class, folder."""
        clean = self.cells.clean(model_id)
        ids = [r["id"] for r in clean]
        paths = {i.id: i.path for i in self.images.items}
        stats = {i: slices.image_stats(paths[i]) for i in ids} if all(i in paths for i in ids) else None
        emb = self.cells.store.read_embeddings(model_id, CLEAN, 0.0)
        labels = [r.get("label") for r in clean]
        names = self.result.class_names
        classes = [names[y] for y in labels if y is not None] if names and None not in labels else None
        folders = [paths[i].parent.name for i in ids] if stats is not None else None
        return ids, slices.candidate_groups(ids, emb, stats, classes, folders, seed=self.seed)

    def find_slices(self, model_id: str, corruption: str, severity: float, why: str) -> list[Slice]:
        recs = self.cells.records(model_id, corruption, severity)
        if not recs or recs[0].get("pred") is None:
            return []
        labelled = recs[0].get("label") is not None
        failed = np.array([r["pred"] != (r["label"] if labelled else r["clean_pred"]) for r in recs])
        ids, groups = self.groups(model_id)
        if len(recs) != len(ids):  # adaptive sampling: the images this cell used (image order)
            keep = np.isin(ids, [r["id"] for r in recs])
            ids, groups = (
                [i for i, k in zip(ids, keep, strict=True) if k],
                [(a, b, m[keep]) for a, b, m in groups],
            )
        found = slices.find_slices(
            model_id,
            corruption,
            severity,
            ids,
            failed,
            groups,
            outcome="error" if labelled else "flip",
            n_boot=self.n_boot,
            seed=self.seed,
        )
        self.inv.slices += found
        sig = [s for s in found if s.significant and s.difference.value > 0]
        text = (
            f"{len(sig)} significant slice(s); most over-represented: {sig[0].description} "
            f"({sig[0].failure_rate.value:.0%} vs {sig[0].rest_rate.value:.0%} failing)."
            if sig
            else f"No group fails significantly more often than the rest ({int(failed.sum())} failures)."
        )
        self._step(
            f"Which images fail first under {corruption} at {severity:g}, and what do they share?",
            "find_slices",
            {"model": model_id, "corruption": corruption, "severity": severity},
            text,
            why,
        )
        return found

    def class_vulnerability(
        self, model_id: str, corruption: str, severity: float, why: str
    ) -> list[ClassVulnerability]:
        rows = vulnerability.class_vulnerability(
            model_id,
            corruption,
            severity,
            self.cells.records(model_id, corruption, severity),
            self.cells.clean(model_id),
            self.result.class_names or [],
            n_boot=self.n_boot,
            seed=self.seed,
        )
        self.inv.vulnerability += rows
        self._step(
            f"Which class absorbs the errors under {corruption}?",
            "class_vulnerability",
            {"model": model_id, "corruption": corruption, "severity": severity},
            vulnerability.describe(rows),
            why,
        )
        return rows

    def evaluate_chain(
        self, model_id: str, chain: CorruptionSpec, parts: Sequence[str], severity: float, why: str
    ) -> CompoundResult:
        added = self.evaluator.ensure(model_id, chain, [severity])
        metric = self._metric(model_id)
        chain_values, *values = self.cells.values_on_common(
            model_id, [(chain.name, severity), *((p, severity) for p in parts)], metric
        )
        part_values = dict(zip(parts, values, strict=True))
        res = compound.compare_compound(
            model_id,
            chain,
            severity,
            metric,
            chain_values,
            part_values,
            n_boot=self.n_boot,
            seed=self.seed,
        )
        self.inv.compounds.append(res)
        self._step(
            f"What happens when {' and '.join(parts)} come together?",
            "evaluate_chain",
            {"model": model_id, "chain": chain.name, "severity": severity},
            compound.describe(res),
            why,
            added,
        )
        return res

    def save(self) -> Investigation:
        self.cells.store.write_investigation(self.inv)
        return self.inv


def investigate(
    run_dir: Path,
    result: AuditResult,
    analysis: FailureAnalysis | None,
    brief: DomainBrief | None,
    images: ImageSet,
    models: Sequence[str] | None = None,
    options: EngineOptions | None = None,
    budget: InvestigationBudget | None = None,
    iteration: int = 1,
) -> Investigation:
    """The offline policy on a finished run; writes and returns ``investigation.json``'s content."""
    it = Investigator(
        Path(run_dir), result, images, brief, options, budget or InvestigationBudget(), iteration=iteration
    )
    models = list(models or result.models)
    chains = compound.compound_specs(result.plan, brief, limit=it.budget.chains)
    reserved = min(len(chains) * len(models), it.budget.max_cells)  # chains are not starved by searches
    # 1. operating envelope for every model x spec; the ones with a significant drop spend cells first
    order = []
    for model_id in models:
        for spec in result.plan.specs:
            sig, worst = it.significant(model_id, spec.name)
            order.append((not sig, -worst, model_id, spec.name, sig))
    for _, _, model_id, name, sig in sorted(order):
        why = (
            f"{name} drops the metric significantly for {model_id}; the owner needs its tolerated level."
            if sig
            else f"{name} shows no significant drop for {model_id}; the finished ladder bounds it."
        )
        budget_here = min(it.budget.per_search, it.cells_left(reserved)) if sig else 0
        it.search_tolerance(model_id, result.plan.spec(name), budget_here, why)
    # 2. failure slices and per-class vulnerability under each model's worst cells
    seen: dict[str, int] = {}
    for w in analysis.worst_cells if analysis else []:
        if w.model_id not in models or seen.get(w.model_id, 0) >= it.budget.slice_cells:
            continue
        if not it.cells.done(w.model_id, w.corruption, w.severity):
            continue
        seen[w.model_id] = seen.get(w.model_id, 0) + 1
        why = f"{w.corruption} at severity {w.severity:g} is among {w.model_id}'s worst cells."
        it.find_slices(w.model_id, w.corruption, w.severity, why)
        if result.labelled:
            it.class_vulnerability(
                w.model_id, w.corruption, w.severity, "A worst cell's errors may flow into one class."
            )
    # 3. compound chains of the conditions that co-occur in the brief
    severity = chain_severity(result.plan.severities)
    for chain in chains:
        parts = compound.parts_of(chain, result.plan)
        for model_id in models:
            if it.cells.done(model_id, chain.name, severity) or it.cells_left() > 0:
                it.evaluate_chain(model_id, chain, parts, severity, chain.rationale)
    return it.save()
