"""Graph nodes: each reads the state, calls one stage (offline expert, LLM via tools, validation,
engine, analysis, report) and returns a state update. No domain logic lives here."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langgraph.types import interrupt

from robustlens import audit
from robustlens.agent.state import AgentState
from robustlens.llm.client import LLMClient, LLMError
from robustlens.llm.planner import assistant_tool_message
from robustlens.prompts import load
from robustlens.schemas import CorruptionPlan, DomainBrief, FailureAnalysis, ValidationReport
from robustlens.tools import ToolContext, dispatch, specs

OFFLINE = "offline-expert"


@dataclass
class Services:
    run_dir: Path
    ctx: ToolContext
    llm: LLMClient | None = None
    critic: LLMClient | None = None
    max_revisions: int = 2
    max_tool_rounds: int = 8
    progress: Any = None
    usage: dict[str, Any] = field(default_factory=dict)


class Nodes:
    def __init__(self, s: Services) -> None:
        self.s = s

    # ------------------------------------------------------------------ interview

    def interview(self, state: AgentState) -> dict[str, Any]:
        if state.get("brief"):
            return {"pending": None}
        if self.s.llm is None:
            return self._offline_interview(state)
        return self._llm_interview(state)

    def _offline_interview(self, state: AgentState) -> dict[str, Any]:
        from robustlens.errors import ToolError, UserInputError
        from robustlens.llm.offline import apply_answer, brief_from_answers, next_question

        answers = dict(state.get("answers") or {})
        events = []
        pending, reply = state.get("pending"), state.get("reply")
        if pending and reply is not None:
            question = next(q for q in _questions() if q.field == pending["field"])
            try:
                answers = apply_answer(answers, question, reply)
            except (ToolError, UserInputError) as exc:
                text = exc.message() if isinstance(exc, UserInputError) else str(exc)
                return {"pending": {**pending, "error": text}, "reply": None}
        question = next_question(answers)
        if question is None:
            brief = brief_from_answers(answers)
            events.append(f"Brief complete (offline expert questionnaire): {brief.domain}.")
            return {
                "answers": answers,
                "brief": brief.model_dump(mode="json"),
                "pending": None,
                "reply": None,
                "events": events,
            }
        return {
            "answers": answers,
            "reply": None,
            "pending": {
                "field": question.field,
                "text": question.prompt,
                "help": question.help,
                "default": question.default,
            },
        }

    def _llm_interview(self, state: AgentState) -> dict[str, Any]:
        messages = list(state.get("messages") or [])
        if not messages:
            messages = [{"role": "system", "content": load("system") + "\n\n" + load("interview")}]
        if state.get("reply") is not None:
            messages.append({"role": "user", "content": str(state["reply"])})
        for _ in range(self.s.max_tool_rounds):
            reply = self.s.llm.chat(messages, specs(["submit_brief"]))  # type: ignore[union-attr]
            if not reply.tool_calls:
                messages.append({"role": "assistant", "content": reply.content})
                return {
                    "messages": messages,
                    "reply": None,
                    "pending": {"field": "chat", "text": reply.content},
                }
            messages.append(assistant_tool_message(reply))
            for call in reply.tool_calls:
                ok, out = dispatch(call.name, call.arguments, self.s.ctx, allowed=["submit_brief"])
                messages.append({"role": "tool", "tool_call_id": call.id, "content": out})
                if ok and self.s.ctx.brief is not None:
                    brief = self.s.ctx.brief.model_dump(mode="json")
                    return {
                        "messages": messages,
                        "brief": brief,
                        "pending": None,
                        "reply": None,
                        "events": [f"Brief complete (LLM interview): {self.s.ctx.brief.domain}."],
                    }
        return {
            "messages": messages,
            "reply": None,
            "pending": {"field": "chat", "text": "Could you summarise your deployment in one paragraph?"},
        }

    def ask_user(self, state: AgentState) -> dict[str, Any]:
        answer = interrupt(state.get("pending") or {"text": "?"})
        return {"reply": str(answer)}

    @staticmethod
    def after_interview(state: AgentState) -> str:
        return "plan" if state.get("brief") else "ask"

    # ------------------------------------------------------------------ plan and validate

    def plan(self, state: AgentState) -> dict[str, Any]:
        brief = self._brief(state)
        if self.s.llm is not None:
            try:
                plan = self._llm_plan(brief, state.get("feedback", ""))
                if plan is not None:
                    return {
                        "plan": plan.model_dump(mode="json"),
                        "planner": "llm",
                        "events": [
                            f"Planned {len(plan.specs)} corruptions (LLM): "
                            + ", ".join(s.name for s in plan.specs)
                        ],
                    }
            except LLMError as exc:
                note = f"LLM planning failed ({exc}); using the offline expert."
                return {**self._offline_plan(brief), "events": [note, *self._offline_plan(brief)["events"]]}
        return self._offline_plan(brief)

    def _offline_plan(self, brief: DomainBrief) -> dict[str, Any]:
        from robustlens.llm.offline import plan_from_brief

        plan = plan_from_brief(brief)
        return {
            "plan": plan.model_dump(mode="json"),
            "planner": OFFLINE,
            "events": [
                f"Planned {len(plan.specs)} corruptions (offline expert): "
                + ", ".join(s.name for s in plan.specs)
            ],
        }

    def _llm_plan(self, brief: DomainBrief, feedback: str) -> CorruptionPlan | None:
        from robustlens.llm.planner import llm_plan

        return llm_plan(self.s.llm, brief, self.s.ctx, feedback, self.s.max_tool_rounds)  # type: ignore[arg-type]

    def validate(self, state: AgentState) -> dict[str, Any]:
        brief, plan = self._brief(state), CorruptionPlan.model_validate(state["plan"])
        self.s.ctx.brief = brief
        ctx = self.s.ctx
        critic = self.s.critic if self.s.llm else None
        reports = audit.check_plan(plan, brief, ctx.samples(), critic, ctx.thresholds, ctx.label_check())
        previews = audit.write_previews(plan, self.s.ctx.samples(), self.s.run_dir)
        failed = [r for r in reports if not r.ok]
        events = [
            f"Validated {len(reports)} specs: {len(reports) - len(failed)} pass"
            + (f"; rejected {', '.join(r.spec_name for r in failed)}" if failed else "")
            + "."
        ]
        if previews:
            events.append(f"Severity previews: {self.s.run_dir / 'previews'}/<corruption>.png")
        update: dict[str, Any] = {
            "validation": [r.model_dump(mode="json") for r in reports],
            "events": events,
        }
        revisions = state.get("revisions", 0)
        if failed and self.s.llm is not None and revisions < self.s.max_revisions:
            update.update(revisions=revisions + 1, feedback=_feedback(failed))
            return update
        kept = audit.keep_passing(plan, reports)
        if kept is None:
            from robustlens.llm.offline import plan_from_brief

            kept = plan_from_brief(brief)
            events.append("No spec passed; falling back to the offline expert's plan.")
        update.update(plan=kept.model_dump(mode="json"), feedback="")
        return update

    def after_validate(self, state: AgentState) -> str:
        return "revise" if state.get("feedback") else "evaluate"

    # ------------------------------------------------------------------ evaluate, inspect, decide, report

    def evaluate(self, state: AgentState) -> dict[str, Any]:
        brief, plan = self._brief(state), CorruptionPlan.model_validate(state["plan"])
        ctx = self.s.ctx
        ctx.brief, ctx.plan = brief, plan
        validation = [ValidationReport.model_validate(v) for v in state.get("validation", [])]
        result = audit.run_audit(
            brief, plan, ctx.images(), self.s.run_dir, ctx.options, validation, ctx.command, self.s.progress
        )
        return {
            "events": [
                f"Evaluated {len(result.models)} model(s) on {len(plan.specs)} corruptions x "
                f"{len(plan.severities)} severities ({len(result.cells)} cells)."
            ]
        }

    def inspect(self, state: AgentState) -> dict[str, Any]:
        from robustlens.analysis import inspect_failures
        from robustlens.schemas import AuditResult

        result = AuditResult.load(self.s.run_dir / "result.json")
        analysis = inspect_failures(result, self.s.run_dir)
        worst = analysis.worst_cells[0] if analysis.worst_cells else None
        line = (
            (
                f"Worst: {worst.model_id} under {worst.corruption} s={worst.severity:g} "
                f"({worst.metric} {worst.value:.3f}, drop {worst.drop:.3f})."
            )
            if worst
            else "No failures found."
        )
        return {"analysis": analysis.model_dump(mode="json"), "events": [line]}

    def decide(self, state: AgentState) -> dict[str, Any]:
        brief = self._brief(state)
        iteration = state.get("iteration", 0)
        if iteration >= brief.budget.max_iterations:
            return {"refine": False}
        plan = CorruptionPlan.model_validate(state["plan"])
        analysis = FailureAnalysis.model_validate(state["analysis"])
        refined = (
            self._llm_decide(plan, analysis, brief, iteration)
            if self.s.llm
            else audit.refine_around_collapse(plan, analysis)
        )
        if refined is None or refined == plan:
            return {"refine": False, "events": ["No further refinement needed."]}
        added = sorted(set(refined.severities) - set(plan.severities))
        new_specs = [s.name for s in refined.specs if s.name not in {p.name for p in plan.specs}]
        return {
            "plan": refined.model_dump(mode="json"),
            "iteration": iteration + 1,
            "refine": True,
            "events": [
                f"Refining (iteration {iteration + 1}): severities +{added or '[]'}, "
                f"specs +{new_specs or '[]'}."
            ],
        }

    def _llm_decide(
        self, plan: CorruptionPlan, analysis: FailureAnalysis, brief: DomainBrief, iteration: int
    ) -> CorruptionPlan | None:
        ctx = self.s.ctx
        ctx.plan, ctx.finished = plan, False
        prompt = load("decide").format(
            analysis=analysis.model_dump_json(indent=1),
            iterations_left=brief.budget.max_iterations - iteration,
        )
        messages = [{"role": "system", "content": load("system")}, {"role": "user", "content": prompt}]
        names = ["refine_plan", "finish"]
        try:
            for _ in range(self.s.max_tool_rounds):
                reply = self.s.llm.chat(messages, specs(names))  # type: ignore[union-attr]
                if not reply.tool_calls:
                    return None
                messages.append(assistant_tool_message(reply))
                for call in reply.tool_calls:
                    ok, out = dispatch(call.name, call.arguments, ctx, allowed=names)
                    messages.append({"role": "tool", "tool_call_id": call.id, "content": out})
                    if ok:
                        return None if ctx.finished else ctx.plan
        except LLMError:
            return audit.refine_around_collapse(plan, analysis)
        return None

    @staticmethod
    def after_decide(state: AgentState) -> str:
        return "iterate" if state.get("refine") else "report"

    def report(self, state: AgentState) -> dict[str, Any]:
        from robustlens.report.render import write_report

        narrative, source = None, "template"
        if self.s.llm is not None and state.get("analysis"):
            try:
                text = load("narrative").format(analysis=json.dumps(state["analysis"], indent=1))
                narrative = (
                    self.s.llm.chat(
                        [{"role": "system", "content": load("system")}, {"role": "user", "content": text}]
                    ).content.strip()
                    or None
                )
                source = "llm" if narrative else "template"
            except LLMError:
                narrative = None
        paths = write_report(self.s.run_dir, narrative=narrative, narrative_source=source)
        return {
            "report": {k: str(v) for k, v in paths.items()},
            "events": [f"Report written: {paths.get('html', next(iter(paths.values())))}"],
        }

    # ------------------------------------------------------------------ helpers

    def _brief(self, state: AgentState) -> DomainBrief:
        return DomainBrief.model_validate(state["brief"])


def _questions() -> list[Any]:
    from robustlens.llm.offline import QUESTIONS

    return list(QUESTIONS)


def _feedback(failed: list[ValidationReport]) -> str:
    lines = []
    for r in failed:
        reasons = [c.detail for c in r.checks if not c.passed]
        if r.critic is not None and not r.critic.realistic:
            reasons += r.critic.reasons
        lines.append(f"- {r.spec_name}: " + "; ".join(reasons))
    return "These specs were rejected; replace or fix them:\n" + "\n".join(lines)
