"""The decide stage: after an evaluation, what (if anything) to investigate and evaluate next.

Offline, the investigation policy (``robustlens.investigate.policy.investigate``: tolerance search,
failure slices, compound chains, per-class vulnerability, with per-spec severities) runs after the
first evaluation; while that policy is not installed, the expert's half-step rule refines severities.
With an LLM, the planner LLM decides through tools: the investigation tools next to ``refine_plan``
and ``finish``, each call recorded as an ``InvestigationStep`` with the LLM's one-sentence ``why``;
any LLM failure degrades to the offline policy, labelled in the transcript and in the log.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from robustlens import audit
from robustlens.evaluation.store import RunStore
from robustlens.investigate.records import Investigation, InvestigationStep, load_investigation
from robustlens.llm.client import LLMClient
from robustlens.prompts import load
from robustlens.schemas import CorruptionPlan, DomainBrief, FailureAnalysis, ValidatedPlan
from robustlens.stages import short
from robustlens.stages.steps import QUESTIONS, llm_steps, record_steps

#: Follow-up tools the LLM may call (offered when registered: robustlens.tools.investigate_tools).
INVESTIGATION_TOOLS = ("search_tolerance", "find_slices", "evaluate_chain", "class_vulnerability")


@dataclass(frozen=True)
class Decision:
    """``validated``: the plan of the next iteration (None: go on to the report)."""

    validated: ValidatedPlan | None
    events: list[str] = field(default_factory=list)
    steps: list[InvestigationStep] = field(default_factory=list)


def plan_diff(old: CorruptionPlan, new: CorruptionPlan) -> str:
    """What a refinement added, for the transcript: 'severities +[1.5], specs +['glare']'."""
    added = sorted(set(new.severities) - set(old.severities))
    new_specs = [s.name for s in new.specs if s.name not in {p.name for p in old.specs}]
    extra = {
        s.name: sorted(set(getattr(s, "extra_severities", []) or []) - set(_extra(old, s.name)))
        for s in new.specs
    }
    per_spec = {k: v for k, v in extra.items() if v}
    text = f"severities +{added or '[]'}, specs +{new_specs or '[]'}"
    return text + (f", per-spec severities +{per_spec}" if per_spec else "")


def decide(
    validated: ValidatedPlan,
    analysis: FailureAnalysis,
    brief: DomainBrief,
    iteration: int,
    llm: LLMClient | None = None,
    ctx: Any = None,
    max_rounds: int = 8,
) -> Decision:
    """The next plan after iteration ``iteration`` (0 = the first evaluation), within the budget.

    ``ctx`` is the session's ``ToolContext`` (run folder, images, engine options; the LLM's tools act
    on it)."""
    if iteration >= brief.budget.max_iterations:
        return Decision(None)
    plan = validated.plan
    if llm is not None:
        refined, notes, steps = llm_decision(llm, ctx, plan, analysis, brief, iteration, max_rounds)
    else:
        refined, notes, steps = offline_decision(ctx, plan, analysis, brief, iteration)
    if refined is None or refined == plan:
        return Decision(None, [*notes, "No further refinement needed."], steps)
    line = f"Refining (iteration {iteration + 1}): {plan_diff(plan, refined)}."
    return Decision(validated.model_copy(update={"plan": refined}), [*notes, line], steps)


def offline_decision(
    ctx: Any,
    plan: CorruptionPlan,
    analysis: FailureAnalysis,
    brief: DomainBrief,
    iteration: int,
    label: str = "offline-expert",
    keep: Investigation | None = None,
) -> tuple[CorruptionPlan | None, list[str], list[InvestigationStep]]:
    """The offline investigation policy after the first evaluation (later: the half-step rule).

    Returns the plan the policy extended (it evaluates its own follow-up cells; the graph's next
    evaluation reuses them), transcript lines, and the steps it logged."""
    policy = _policy()
    if policy is None or ctx is None:
        return _half_steps(ctx, plan, analysis, iteration, label)
    if iteration > 0:  # the investigation ran after the first pass; its cells are evaluated
        return None, [], []
    from robustlens.investigate.evaluator import refined_plan

    run_dir = Path(ctx.run_dir)
    inv: Investigation = policy(
        run_dir=run_dir,
        result=RunStore(run_dir).read_result(),
        analysis=analysis,
        brief=brief,
        images=ctx.images(),
        models=list(brief.models),
        options=ctx.options,
        iteration=iteration + 1,
    )
    if label != "offline-expert" or keep is not None:  # the LLM failed: say who chose; keep its steps
        inv = record_steps(run_dir, [], _merge(keep or Investigation(), inv, label))
    steps = [s for s in inv.steps if s.iteration == iteration + 1 and s.planner == label]
    events = [f"Investigated ({s.tool}): {s.result}" for s in steps]
    extended = refined_plan(plan, inv)  # per-spec rungs; the next evaluation reuses their cells
    return (extended if extended != plan else None), events, steps


def llm_decision(
    llm: LLMClient,
    ctx: Any,
    plan: CorruptionPlan,
    analysis: FailureAnalysis,
    brief: DomainBrief,
    iteration: int,
    max_rounds: int = 8,
) -> tuple[CorruptionPlan | None, list[str], list[InvestigationStep]]:
    """The LLM's follow-ups through tools; the refined plan (None: stop), transcript lines, steps.

    The tools act on ``ctx`` (a ``ToolContext``): its plan, result and analysis are this stage's
    inputs, and the plan the LLM refined (or the investigation tools extended) is read back from it."""
    from robustlens.llm.toolloop import run_tool_loop
    from robustlens.tools import TOOLS

    run_dir = Path(ctx.run_dir)
    ctx.plan, ctx.finished, ctx.analysis = plan, False, analysis
    ctx.result = RunStore(run_dir).read_result()
    ctx.investigation = load_investigation(run_dir) or Investigation()
    follow_ups = [t for t in INVESTIGATION_TOOLS if t in TOOLS]
    tools = [*follow_ups, "refine_plan", "finish"]
    prompt = load("decide").format(
        analysis=analysis.model_dump_json(indent=1),
        iterations_left=brief.budget.max_iterations - iteration,
        tools=", ".join(f"`{t}`" for t in follow_ups) or "none",
    )
    messages = [{"role": "system", "content": load("system")}, {"role": "user", "content": prompt}]
    outcome = run_tool_loop(
        llm,
        messages,
        tools,
        ctx,
        lambda name, ok, c: ("finish" if c.finished else "refine") if ok and name in _ENDS else None,
        max_rounds=max_rounds,
    )
    # the tools add their findings to ctx.investigation; each successful call is logged as a step
    steps = llm_steps(outcome.messages, [*follow_ups, "refine_plan"], iteration + 1)
    if steps or _has_findings(ctx.investigation):
        record_steps(run_dir, steps, ctx.investigation)
    if outcome.status == "failed":
        why = short(outcome.why)
        label = f"offline-expert (stood in: LLM decision failed: {why})"
        keep = load_investigation(run_dir)
        refined, events, offline = offline_decision(ctx, plan, analysis, brief, iteration, label, keep)
        note = f"LLM decision failed ({why}); the offline policy decided instead."
        return refined, [note, *events], [*steps, *offline]
    events = [
        f"Investigated ({s.tool}, LLM): {s.result} Why: {s.why}" for s in steps if s.tool != "refine_plan"
    ]
    if outcome.status == "done" and outcome.value == "refine":
        return ctx.plan, events, steps
    # finished, talked or ran out of rounds: stop, unless the tools evaluated per-spec rungs (the
    # next evaluation adds them to the run's plan, reusing their cells)
    return (ctx.plan if ctx.plan != plan else None), events, steps


_ENDS = ("refine_plan", "finish")


def _half_steps(
    ctx: Any, plan: CorruptionPlan, analysis: FailureAnalysis, iteration: int, label: str
) -> tuple[CorruptionPlan | None, list[str], list[InvestigationStep]]:
    """The expert's rule: half-step severities below each collapse point, logged as a step."""
    refined = audit.refine_around_collapse(plan, analysis)
    if ctx is None:
        return refined, [], []
    added = sorted(set(refined.severities) - set(plan.severities)) if refined else []
    result = (
        f"Added severities {', '.join(f'{s:g}' for s in added)} to every corruption."
        if added
        else "No model collapses above severity 1: no finer severities to add."
    )
    step = InvestigationStep(
        iteration=iteration + 1,
        question=QUESTIONS["refine_plan"],
        tool="refine_plan",
        arguments={"add_severities": added},
        result=result,
        why="A model collapses there: a half step below each collapse point says where exactly it breaks.",
        planner=label,
    )
    record_steps(Path(ctx.run_dir), [step])
    return refined, [], [step]


def _merge(before: Investigation, new: Investigation, label: str) -> Investigation:
    """``before`` (what the LLM found until it failed) followed by the policy's, relabelled."""
    steps = [
        s.model_copy(update={"planner": label}) if s.planner == "offline-expert" else s for s in new.steps
    ]
    return Investigation(
        steps=[*before.steps, *steps],
        envelope=[*before.envelope, *new.envelope],
        slices=[*before.slices, *new.slices],
        compounds=[*before.compounds, *new.compounds],
        vulnerability=[*before.vulnerability, *new.vulnerability],
    )


def _has_findings(inv: Investigation) -> bool:
    return bool(inv.envelope or inv.slices or inv.compounds or inv.vulnerability)


def _extra(plan: CorruptionPlan, name: str) -> list[float]:
    spec = next((s for s in plan.specs if s.name == name), None)
    return list(getattr(spec, "extra_severities", []) or []) if spec else []


def _policy() -> Callable[..., Investigation] | None:
    """T's offline investigation policy, when installed (issue 13)."""
    try:
        from robustlens.investigate.policy import investigate
    except ImportError:
        return None
    return investigate
