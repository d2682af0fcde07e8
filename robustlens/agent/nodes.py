"""Graph nodes: each reads the state, calls one stage (``robustlens.stages``, ``audit``, the
interview, the analysis, the report) and returns a state update. No domain logic lives here: the
validate policy, the decision and the narrative are stage functions with typed inputs/outputs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from langgraph.types import interrupt

from robustlens import audit
from robustlens.agent.state import AgentState, to_output
from robustlens.evaluation.engine import ProgressSink
from robustlens.evaluation.store import RunStore
from robustlens.llm.client import LLMClient
from robustlens.llm.toolloop import LoopOutcome
from robustlens.schemas import CorruptionPlan, DomainBrief, ValidatedPlan
from robustlens.stages import short
from robustlens.stages.decide import decide
from robustlens.stages.llm_interview import interview_turn
from robustlens.stages.narrative import narrate
from robustlens.stages.validate import ValidateInputs, validate_stage
from robustlens.tools import ToolContext

OFFLINE = "offline-expert"


@dataclass
class Services:
    run_dir: Path
    ctx: ToolContext
    llm: LLMClient | None = None
    critic: LLMClient | None = None
    max_revisions: int = 2
    max_tool_rounds: int = 8
    progress: ProgressSink | None = None
    usage: dict[str, Any] = field(default_factory=dict)


class Nodes:
    def __init__(self, s: Services) -> None:
        self.s = s

    # ------------------------------------------------------------------ interview

    def interview(self, state: AgentState) -> dict[str, Any]:
        if state.get("brief"):
            return {"pending": None}
        pending = state.get("pending") or {}
        if self.s.llm is None or pending.get("field", "chat") != "chat":  # offline, or it took over
            return self._offline_interview(state)
        return self._llm_interview(self.s.llm, state)

    def _offline_interview(self, state: AgentState) -> dict[str, Any]:
        """The fixed questionnaire, one reply per step; each answer is checked when it is given."""
        from robustlens.agent.interview import interview_step

        models = self.s.ctx.models or ()
        update = interview_step(dict(state), self.s.ctx.data, models, self.s.run_dir)
        if isinstance(update.get("brief"), dict):  # the questionnaire hands back JSON
            update["brief"] = DomainBrief.model_validate(update["brief"])
        return update

    def _llm_interview(self, llm: LLMClient, state: AgentState) -> dict[str, Any]:
        """The LLM interviews until it submits a brief; when it fails (endpoint error, junk, no brief
        within the rounds) the offline questionnaire takes over, and the transcript says so."""
        turn = interview_turn(
            llm, self.s.ctx, state.get("messages") or [], state.get("reply"), self.s.max_tool_rounds
        )
        if turn.status == "brief" and turn.brief is not None:
            from robustlens.agent.interview import confirm_brief  # "What I understood" (P, issue 12)

            done = f"Brief complete (LLM interview): {turn.brief.domain}."
            update = confirm_brief(turn.brief, events=[done])
            if update.get("brief") is not None:  # not asked (scripted answers): the brief is final
                update["brief"] = turn.brief
            return {"messages": turn.messages, **update}
        if turn.status == "ask":
            return {
                "messages": turn.messages,
                "reply": None,
                "pending": {"field": "chat", "text": turn.question},
            }
        fallback = self._offline_interview({**state, "pending": None, "reply": None})
        note = f"LLM interview failed ({short(turn.why)}); the offline expert's questionnaire takes over."
        return {**fallback, "messages": turn.messages, "events": [note, *fallback.get("events", [])]}

    def ask_user(self, state: AgentState) -> dict[str, Any]:
        answer = interrupt(state.get("pending") or {"text": "?"})
        return {"reply": str(answer)}

    @staticmethod
    def after_interview(state: AgentState) -> Literal["ask", "plan"]:
        return "plan" if state.get("brief") else "ask"

    # ------------------------------------------------------------------ plan and validate

    def plan(self, state: AgentState) -> dict[str, Any]:
        brief = _brief(state)
        if self.s.llm is None:
            return self._offline_plan(brief)
        outcome = self._llm_plan(self.s.llm, brief, state.get("feedback", ""))
        if outcome.status == "done":
            plan: CorruptionPlan = outcome.value
            self.s.usage["planner"] = "llm"
            names = ", ".join(s.name for s in plan.specs)
            return {
                "plan": plan,
                "planner": "llm",
                "events": [f"Planned {len(plan.specs)} corruptions (LLM): {names}"],
            }
        why = short(outcome.why)
        offline = self._offline_plan(brief, stood_in=f"LLM planning failed: {why}")
        note = f"LLM planning failed ({why}); the offline expert planned instead."
        return {**offline, "events": [note, *offline["events"]]}

    def _offline_plan(self, brief: DomainBrief, stood_in: str = "") -> dict[str, Any]:
        from robustlens.expert.planner import plan_from_brief

        plan = plan_from_brief(brief)
        if stood_in:  # the plan and the report say who really planned, and why
            plan = plan.model_copy(update={"planner": f"{OFFLINE} (stood in: {stood_in})"})
        self.s.usage["planner"] = plan.planner
        names = ", ".join(s.name for s in plan.specs)
        return {
            "plan": plan,
            "planner": plan.planner,
            "events": [f"Planned {len(plan.specs)} corruptions (offline expert): {names}"],
        }

    def _llm_plan(self, llm: LLMClient, brief: DomainBrief, feedback: str) -> LoopOutcome:
        from robustlens.llm.planner import plan_with_llm

        return plan_with_llm(llm, brief, self.s.ctx, feedback, self.s.max_tool_rounds)

    def validate(self, state: AgentState) -> dict[str, Any]:
        brief, plan = _brief(state), _plan(state)
        ctx = self.s.ctx.use_brief(brief)
        revisions = state.get("revisions", 0)
        llm_planned = state.get("planner") == "llm"  # no revision round for a planner that failed
        outcome = validate_stage(
            ValidateInputs(
                plan=plan,
                brief=brief,
                samples=ctx.samples(),
                run_dir=self.s.run_dir,
                critic=self.s.critic if self.s.llm else None,
                llm=self.s.llm if llm_planned else None,
                thresholds=ctx.thresholds,
                label_check=ctx.label_check(),
                may_revise=llm_planned and self.s.llm is not None and revisions < self.s.max_revisions,
            )
        )
        if outcome.critic_stood_in:
            self.s.usage["critic"] = outcome.critic_stood_in
        if outcome.validated is None:
            return {"revisions": revisions + 1, "feedback": outcome.feedback, "events": outcome.events}
        return {"validated": outcome.validated, "feedback": "", "events": outcome.events}

    @staticmethod
    def after_validate(state: AgentState) -> Literal["revise", "evaluate"]:
        return "revise" if state.get("feedback") else "evaluate"

    def review(self, state: AgentState) -> dict[str, Any]:
        """Chat only: the user sees the checked plan and approves or changes it before evaluation.

        Interrupts like ``ask_user`` (no LLM call here, so a resumed review repeats nothing costly);
        the brief is saved as RUN/brief.yaml here, whichever interview produced it."""
        if not state.get("interactive"):
            return {"reviewed": True}
        from robustlens.agent.interview import save_brief
        from robustlens.agent.review import REVIEW_HELP, apply_review

        brief, validated = _brief(state), _validated(state)
        flags = dict(self.s.ctx.options.checkpoints)  # --checkpoint: part of the brief that reruns it
        if flags:
            brief = brief.model_copy(update={"checkpoints": {**brief.checkpoints, **flags}})
        save_brief(self.s.run_dir, brief)
        shown = to_output({"validated": validated})
        question = {
            "field": "plan_review",
            "text": "Run this plan? " + REVIEW_HELP,
            "plan": shown["plan"],
            "validation": shown["validation"],
            "notice": state.get("review_note"),
        }
        answer = interrupt(question)
        plan, changed, note, approved = apply_review(validated.plan, brief, str(answer))
        update: dict[str, Any] = {
            "validated": validated.model_copy(update={"plan": plan}),
            "brief": changed,
            "reviewed": approved,
            "review_note": note,
        }
        if approved:
            save_brief(self.s.run_dir, changed)
            update["events"] = [f"Plan approved: {', '.join(s.name for s in plan.specs)}."]
        return update

    @staticmethod
    def after_review(state: AgentState) -> Literal["review", "evaluate"]:
        return "evaluate" if state.get("reviewed") else "review"

    # ------------------------------------------------------------------ evaluate, inspect, decide, report

    def evaluate(self, state: AgentState) -> dict[str, Any]:
        brief, validated = _brief(state), _validated(state)
        ctx = self.s.ctx.use_brief(brief)
        result = audit.run_audit(
            brief, validated, ctx.images(), self.s.run_dir, ctx.options, ctx.command, self.s.progress
        )
        plan = validated.plan
        return {
            "events": [
                f"Evaluated {len(result.models)} model(s) on {len(plan.specs)} corruptions x "
                f"{len(plan.severities)} severities ({len(result.cells)} cells)."
            ]
        }

    def inspect(self, state: AgentState) -> dict[str, Any]:
        from robustlens.analysis import inspect_failures

        result = RunStore(self.s.run_dir).read_result()
        analysis = inspect_failures(result, self.s.run_dir)
        worst = analysis.worst_cells[0] if analysis.worst_cells else None
        line = (
            (
                f"Worst: {worst.model_id} under {worst.corruption} s={worst.severity:g} "
                f"({worst.metric} {worst.value:.3f}, drop {worst.drop:.3f})."
            )
            if worst
            # point estimates only: the tolerance envelope judges intervals and may still flag a cell
            else "No cell is worse than clean (point estimates; the tolerance envelope judges intervals)."
        )
        return {"analysis": analysis, "events": [line]}

    def decide(self, state: AgentState) -> dict[str, Any]:
        brief, iteration = _brief(state), state.get("iteration", 0)
        analysis = state.get("analysis")
        if analysis is None:
            return {"refine": False}
        decision = decide(
            _validated(state),
            analysis,
            brief,
            iteration,
            self.s.llm,
            self.s.ctx.use_brief(brief),
            self.s.max_tool_rounds,
        )
        if decision.validated is None:
            return {"refine": False, "events": decision.events}
        return {
            "validated": decision.validated,
            "iteration": iteration + 1,
            "refine": True,
            "events": decision.events,
        }

    @staticmethod
    def after_decide(state: AgentState) -> Literal["iterate", "report"]:
        return "iterate" if state.get("refine") else "report"

    def report(self, state: AgentState) -> dict[str, Any]:
        from robustlens.report.render import write_report

        narrative = narrate(self.s.llm, state.get("analysis"))
        paths = write_report(self.s.run_dir, narrative=narrative.text, narrative_source=narrative.source)
        events = [*narrative.events, f"Report written: {paths.get('html', next(iter(paths.values())))}"]
        return {"report": {k: str(v) for k, v in paths.items()}, "events": events}


# ------------------------------------------------------------------ helpers


def _brief(state: AgentState) -> DomainBrief:
    brief = state.get("brief")
    if brief is None:
        raise ValueError("the graph reached a node that needs the brief before the interview ended")
    return brief


def _plan(state: AgentState) -> CorruptionPlan:
    plan = state.get("plan")
    if plan is None:
        raise ValueError("the graph reached validation without a plan")
    return plan


def _validated(state: AgentState) -> ValidatedPlan:
    validated = state.get("validated")
    if validated is None:
        raise ValueError("the graph reached evaluation without a validated plan")
    return validated
