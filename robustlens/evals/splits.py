"""Per-split summaries of an eval run: passing, violations, missing groups, routing and consistency.

Issue 12 asks for an honest measure of generalisation: a *development* split that the expert is
tuned against and a *held-out* split that it never is (a scenario's split is the name of its
folder). Two metrics are added to DeepBench's rule check (arXiv 2506.23663):

- **routing**: the share of scenarios whose asserted imaging-chain facts (``expect_facts``) all
  hold for ``infer_chain(brief)``; scenarios without ``expect_facts`` are not counted;
- **consistency across paraphrases**: per scenario, the mean pairwise Jaccard similarity of the
  primitive sets planned for the brief and each paraphrase of it (the same deployment in other
  words should get the same plan); the split reports its mean and minimum.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from pydantic import Field

from robustlens.evals.scenarios import Scenario
from robustlens.evals.scorers import consistency
from robustlens.schemas import Model


class SplitSummary(Model):
    """One split's totals (rows: a scenario's brief and each of its paraphrases, scored separately).

    Problems are counted once per row however many seeded runs repeat them, so a deterministic
    planner's figures do not grow with ``--seeds``.
    """

    split: str
    scenarios: int
    passed: int = Field(description="scenarios whose brief and every paraphrase pass")
    rows: int = Field(description="briefs scored: scenarios plus their paraphrases")
    violations: int = Field(description="distinct rule violations, counted once per row")
    missing_groups: int = Field(description="required groups missing, counted once per row")
    severity_breaches: int = Field(description="distinct severity-bound breaches (part of violations)")
    routing: float | None = Field(None, description="share of scenarios whose expected chain facts hold")
    routed: int = Field(0, description="scenarios with expect_facts (the routing denominator)")
    routing_mismatches: dict[str, list[str]] = Field(default_factory=dict)
    consistency_mean: float | None = Field(None, description="mean paraphrase consistency (Jaccard)")
    consistency_min: float | None = None
    consistency_scored: int = Field(0, description="scenarios with at least one paraphrase")


def chain_inferrer() -> Callable[[Any], Any]:
    """The expert's ``infer_chain``, through the planner's per-brief cache when it has one (the
    planner has already inferred the chain of every brief it planned, so routing costs nothing)."""
    from robustlens.expert import planner

    if hasattr(planner, "analyse"):
        return lambda brief: planner.analyse(brief).facts
    from robustlens.expert.chain import infer_chain

    return infer_chain


def routing_mismatches(scenario: Scenario, infer: Callable[[Any], Any] | None) -> list[str] | None:
    """What ``infer_chain`` got wrong about the scenario's brief; None when routing is not scored."""
    if scenario.expect_facts is None or infer is None:
        return None
    return scenario.expect_facts.mismatches(infer(scenario.brief))


def paraphrase_consistency(primitives_by_brief: Sequence[Sequence[Sequence[str]]]) -> float | None:
    """Mean over seeds of the pairwise Jaccard of the briefs' primitive sets (None without paraphrases).

    ``primitives_by_brief[b][k]`` is the primitive list planned for brief ``b`` with seed ``k``.
    """
    if len(primitives_by_brief) < 2:
        return None
    seeds = min(len(runs) for runs in primitives_by_brief)
    if seeds == 0:
        return 0.0
    per_seed = [consistency([runs[k] for runs in primitives_by_brief]) for k in range(seeds)]
    return sum(per_seed) / seeds


def summarize_split(split: str, rows: Sequence[Any]) -> SplitSummary:
    """Aggregate ``ScenarioScore`` rows of one split (paraphrase rows carry ``paraphrase_of``)."""
    bases = [r for r in rows if r.paraphrase_of is None]
    failing = {r.paraphrase_of or r.name for r in rows if not r.passed}
    routed = [r for r in bases if r.routing_mismatches is not None]
    wrong = {r.name: r.routing_mismatches for r in routed if r.routing_mismatches}
    scored = [r.paraphrase_consistency for r in bases if r.paraphrase_consistency is not None]
    return SplitSummary(
        split=split,
        scenarios=len(bases),
        passed=sum(r.name not in failing for r in bases),
        rows=len(rows),
        violations=sum(len(r.violation_messages) for r in rows),
        missing_groups=sum(len({tuple(g) for run in r.runs for g in run.missing_groups}) for r in rows),
        severity_breaches=sum(len({m for run in r.runs for m in run.severity_breaches}) for r in rows),
        routing=(len(routed) - len(wrong)) / len(routed) if routed else None,
        routed=len(routed),
        routing_mismatches=wrong,
        consistency_mean=sum(scored) / len(scored) if scored else None,
        consistency_min=min(scored) if scored else None,
        consistency_scored=len(scored),
    )


def summarize_splits(rows: Sequence[Any]) -> list[SplitSummary]:
    """One summary per split in first-seen order, then ``all`` when there is more than one split."""
    splits = list(dict.fromkeys(r.split for r in rows))
    out = [summarize_split(s, [r for r in rows if r.split == s]) for s in splits]
    if len(splits) > 1:
        out.append(summarize_split("all", rows))
    return out
