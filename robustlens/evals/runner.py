"""Run the agent evals: plan every scenario K times (seeds 0..K-1), score each plan, aggregate.

The planner is the offline expert (``plan_from_brief``, deterministic) or an ``LLMClient`` driven
through ``llm_plan`` (temperature 0.7 when K > 1, so seeded runs can differ, as in DeepBench's 10
runs per domain with a majority vote). The report is a JSON-serialisable pydantic model.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import Field

from robustlens.errors import UserInputError
from robustlens.evals.critic_eval import CriticEval, evaluate_critic
from robustlens.evals.scenarios import Scenario
from robustlens.evals.scorers import (
    consistency,
    coverage,
    diversity,
    forbidden_hits,
    group_coverage,
    missing_groups,
    plan_primitives,
    severity_breaches,
    validity,
    violations,
)
from robustlens.evals.splits import (
    SplitSummary,
    chain_inferrer,
    paraphrase_consistency,
    routing_mismatches,
    summarize_splits,
)
from robustlens.schemas import CorruptionPlan, DomainBrief, Persisted
from robustlens.schemas import Model as _Model

LLM_TEMPERATURE = 0.7
Planner = Callable[[DomainBrief], CorruptionPlan | None]


class RunScore(_Model):
    """One seeded plan of one scenario and its scores."""

    seed: int
    valid: bool
    error: str | None = None
    primitives: list[str] = Field(default_factory=list)
    specs: int = 0
    violations: list[str] = Field(default_factory=list)
    severity_breaches: list[str] = Field(default_factory=list, description="the severity-bound violations")
    coverage: float = 0.0
    missing_groups: list[list[str]] = Field(default_factory=list)
    diversity: float = 0.0
    plan: CorruptionPlan | None = None


class ScenarioScore(_Model):
    """A scenario's scores aggregated over its K runs."""

    name: str
    split: str = Field("", description="the scenario's folder name, e.g. dev or heldout")
    paraphrase_of: str | None = Field(None, description="the scenario this row paraphrases")
    domain: str
    matched_domain: str = Field("", description="the offline knowledge base's domain for this brief")
    match_confidence: float = 0.0
    runs: list[RunScore]
    violations: int = Field(description="total violations over all runs")
    severity_breaches: int = Field(0, description="severity-bound violations over all runs")
    routing_mismatches: list[str] | None = Field(
        None, description="expected chain facts infer_chain got wrong (None: routing not scored)"
    )
    paraphrase_consistency: float | None = Field(
        None, description="mean pairwise Jaccard of the plans for the brief and its paraphrases"
    )
    violation_messages: list[str] = Field(default_factory=list, description="distinct messages")
    coverage: float = Field(description="mean share of required groups covered (invalid runs count 0)")
    validity: float = Field(description="share of runs that produced a plan that compiles")
    diversity: float = Field(description="mean distinct families / specs over valid runs")
    consistency: float = Field(description="mean pairwise Jaccard of primitive sets over valid runs")
    majority_plan: list[str] = Field(default_factory=list)
    majority_violations: list[str] = Field(default_factory=list)
    majority_coverage: float = 0.0
    majority_missing: list[list[str]] = Field(default_factory=list)

    @property
    def passed(self) -> bool:
        """No violation in any run, every run valid and covering every required group."""
        return self.violations == 0 and self.validity == 1.0 and self.coverage == 1.0


class EvalReport(Persisted):
    planner: str
    critic: str | None = None
    seeds: int
    temperature: float | None = Field(None, description="LLM sampling temperature (None: offline)")
    scenarios: list[ScenarioScore]
    critic_eval: CriticEval | None = None
    total_violations: int = 0
    mean_coverage: float = 0.0
    validity: float = 0.0
    passed: list[str] = Field(
        default_factory=list, description="scenarios with no violation and full coverage"
    )
    failed: list[str] = Field(default_factory=list)
    splits: list[SplitSummary] = Field(default_factory=list, description="per split, then all")
    usage: dict[str, dict[str, Any]] = Field(default_factory=dict, description="LLM calls and tokens")
    oracle_facts: bool = Field(
        False,
        description="planned with brief.chain set from each scenario's expect_facts (routing: inference)",
    )


def offline_planner() -> Planner:
    from robustlens.expert.planner import plan_from_brief

    return plan_from_brief


def llm_planner(client: Any, temperature: float, work_dir: Path | None = None) -> Planner:
    """``llm_plan`` with a fresh ``ToolContext`` in a temporary run directory per call."""
    from robustlens.llm.planner import llm_plan
    from robustlens.tools import ToolContext

    def plan(brief: DomainBrief) -> CorruptionPlan | None:
        with tempfile.TemporaryDirectory(prefix="robustlens-evals-", dir=work_dir) as tmp:
            return llm_plan(client, brief, ToolContext(run_dir=Path(tmp)), temperature=temperature)

    return plan


def score_run(
    seed: int, plan: CorruptionPlan | None, scenario: Scenario, error: str | None = None
) -> RunScore:
    if plan is None or not validity(plan):
        return RunScore(
            seed=seed,
            valid=False,
            error=error or ("no plan" if plan is None else "the plan does not compile"),
            missing_groups=list(scenario.rules.must_include_any),
            plan=plan,
        )
    return RunScore(
        seed=seed,
        valid=True,
        primitives=plan_primitives(plan),
        specs=len(plan.specs),
        violations=violations(plan, scenario.rules),
        severity_breaches=severity_breaches(plan, scenario.rules),
        coverage=coverage(plan, scenario.rules),
        missing_groups=missing_groups(plan_primitives(plan), scenario.rules),
        diversity=diversity(plan),
        plan=plan,
    )


def _matched_domain(brief: DomainBrief) -> tuple[str, float]:
    """The knowledge base's domain prior for a brief (it ranks candidates; the chain facts decide)."""
    from robustlens.expert.knowledge import match_domain

    domain, confidence = match_domain(brief)
    return domain.name, confidence


def score_scenario(
    scenario: Scenario,
    runs: Sequence[RunScore],
    *,
    brief: DomainBrief | None = None,
    paraphrase: int = 0,
) -> ScenarioScore:
    """Aggregate one brief's runs: the scenario's own brief, or its ``paraphrase``-th paraphrase."""
    from robustlens.evals.scorers import majority_plan

    brief = brief or scenario.brief
    domain, confidence = _matched_domain(brief)
    valid = [r for r in runs if r.valid]
    majority = majority_plan([r.primitives for r in valid]) if valid else []
    k = max(len(runs), 1)
    return ScenarioScore(
        name=f"{scenario.name}~{paraphrase}" if paraphrase else scenario.name,
        split=scenario.split,
        paraphrase_of=scenario.name if paraphrase else None,
        domain=brief.domain,
        matched_domain=domain,
        match_confidence=confidence,
        runs=list(runs),
        violations=sum(len(r.violations) for r in runs),
        severity_breaches=sum(len(r.severity_breaches) for r in runs),
        violation_messages=list(dict.fromkeys(m for r in runs for m in r.violations)),
        coverage=sum(r.coverage for r in runs) / k,
        validity=len(valid) / k,
        diversity=sum(r.diversity for r in valid) / len(valid) if valid else 0.0,
        consistency=consistency([r.primitives for r in valid]) if valid else 0.0,
        majority_plan=majority,
        majority_violations=forbidden_hits(majority, scenario.rules),
        majority_coverage=group_coverage(majority, scenario.rules),
        majority_missing=missing_groups(majority, scenario.rules),
    )


def plan_runs(
    scenario: Scenario, brief: DomainBrief, plan_fn: Planner, seeds: int, deterministic: bool
) -> list[RunScore]:
    """Plan ``brief`` once per seed (once in all for a deterministic planner) and score each plan."""
    from robustlens.llm.client import LLMError

    runs: list[RunScore] = []
    for seed in range(seeds):
        if deterministic and runs:  # the offline expert gives the same plan for every seed
            runs.append(runs[0].model_copy(update={"seed": seed}))
            continue
        plan, error = None, None
        try:
            plan = plan_fn(brief.model_copy(update={"seed": seed}))
        except (LLMError, UserInputError) as exc:
            error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}"
        runs.append(score_run(seed, plan, scenario, error))
    return runs


def with_oracle_facts(scenario: Scenario) -> Scenario:
    """The scenario with its expected chain facts given as the user's confirmed facts (``brief.chain``).

    ``infer_chain`` lets ``brief.chain`` override inference, so planning quality can be measured apart
    from fact inference. The paraphrases inherit the brief's ``chain``. Facts the scenario does not
    assert are still inferred; a scenario without ``expect_facts`` is returned unchanged.
    """
    if scenario.expect_facts is None:
        return scenario
    oracle = scenario.expect_facts.model_dump(mode="json", exclude_none=True)
    brief = scenario.brief.model_copy(update={"chain": {**scenario.brief.chain, **oracle}})
    return scenario.model_copy(update={"brief": brief})


def score_scenario_rows(
    scenario: Scenario,
    plan_fn: Planner,
    seeds: int,
    deterministic: bool,
    infer: Any = None,
    *,
    oracle_facts: bool = False,
) -> list[ScenarioScore]:
    """The scenario's row (with routing and paraphrase consistency) and one row per paraphrase.

    With ``oracle_facts`` every brief is planned with the scenario's expected facts confirmed; routing
    is still scored on the brief as written (what inference gets right).
    """
    routed = scenario
    if oracle_facts:
        scenario = with_oracle_facts(scenario)
    briefs = scenario.briefs()
    runs = [plan_runs(scenario, b, plan_fn, seeds, deterministic) for b in briefs]
    rows = [
        score_scenario(scenario, r, brief=b, paraphrase=i)
        for i, (b, r) in enumerate(zip(briefs, runs, strict=True))
    ]
    rows[0] = rows[0].model_copy(
        update={
            "routing_mismatches": routing_mismatches(routed, infer),
            "paraphrase_consistency": paraphrase_consistency([[r.primitives for r in rs] for rs in runs]),
        }
    )
    return rows


def run_evals(
    scenarios: Sequence[Scenario],
    planner: Any = "offline",
    seeds: int = 3,
    critic: Any = None,
    *,
    work_dir: Path | None = None,
    progress: Callable[[ScenarioScore], None] | None = None,
    oracle_facts: bool = False,
) -> EvalReport:
    """Plan each scenario's brief and paraphrases with seeds 0..K-1, score every plan, aggregate per
    split (routing, paraphrase consistency), and test the critic.

    ``planner``: ``"offline"`` or an ``LLMClient`` (the offline expert is deterministic, so it plans
    each brief once). ``critic``: None or ``"offline"`` for the rule critic, an ``LLMClient`` for an
    LLM critic, or ``"none"`` to skip the critic eval. ``oracle_facts``: plan with each scenario's
    ``expect_facts`` as confirmed chain facts (see ``with_oracle_facts``).
    """
    if seeds < 1:
        raise UserInputError(f"--seeds must be at least 1; got {seeds}.", field="seeds")
    if planner == "offline":
        plan_fn, planner_name, temperature = offline_planner(), "offline-expert", None
    else:
        temperature = LLM_TEMPERATURE if seeds > 1 else 0.0
        plan_fn, planner_name = llm_planner(planner, temperature, work_dir), planner.name
    infer = chain_inferrer()
    results: list[ScenarioScore] = []
    for scenario in scenarios:
        rows = score_scenario_rows(
            scenario, plan_fn, seeds, planner == "offline", infer, oracle_facts=oracle_facts
        )
        results += rows
        if progress is not None:
            progress(rows[0])
    critic_result = None
    if critic != "none":
        critic_result = evaluate_critic(scenarios, "offline" if critic is None else critic)
    n = max(len(results), 1)
    usage = {
        role: c.usage.as_dict()
        for role, c in (("planner", planner), ("critic", critic))
        if hasattr(c, "usage")
    }
    return EvalReport(
        planner=planner_name,
        critic=critic_result.critic if critic_result else None,
        seeds=seeds,
        temperature=temperature,
        scenarios=results,
        critic_eval=critic_result,
        total_violations=sum(r.violations for r in results),
        mean_coverage=sum(r.coverage for r in results) / n,
        validity=sum(r.validity for r in results) / n,
        passed=[r.name for r in results if r.passed],
        failed=[r.name for r in results if not r.passed],
        splits=summarize_splits(results),
        usage=usage,
        oracle_facts=oracle_facts,
    )
