"""Agent evals: does the planner choose realistic corruptions for a domain?

Scenarios (``evals/scenarios/{dev,heldout}/*.yaml``) pair a ``DomainBrief`` with expert rules:
corruption groups a plan must cover, primitives or families it must never contain, and physical
severity bounds. In the spirit of DeepBench's expert whitelist/blacklist check over 10 seeded runs
with a majority vote, the runner plans each scenario K times and scores every plan; the critic eval
plants unrealistic specs and measures how well a critic flags them.
"""

from robustlens.evals.critic_eval import CriticCase, CriticEval, CriticOutcome, evaluate_critic, planted_cases
from robustlens.evals.runner import EvalReport, RunScore, ScenarioScore, run_evals
from robustlens.evals.scenarios import Rules, Scenario, load_scenarios, select_scenarios
from robustlens.evals.scorers import (
    consistency,
    coverage,
    diversity,
    jaccard,
    majority_plan,
    missing_groups,
    plan_primitives,
    severity_breaches,
    severity_excess,
    validity,
    violations,
)
from robustlens.evals.splits import SplitSummary, paraphrase_consistency, summarize_splits

__all__ = [
    "CriticCase",
    "CriticEval",
    "CriticOutcome",
    "EvalReport",
    "Rules",
    "RunScore",
    "Scenario",
    "ScenarioScore",
    "SplitSummary",
    "consistency",
    "coverage",
    "diversity",
    "evaluate_critic",
    "jaccard",
    "load_scenarios",
    "majority_plan",
    "missing_groups",
    "paraphrase_consistency",
    "plan_primitives",
    "planted_cases",
    "run_evals",
    "select_scenarios",
    "severity_breaches",
    "severity_excess",
    "summarize_splits",
    "validity",
    "violations",
]
