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
from robustlens.llm.toolloop import LoopOutcome
from robustlens.prompts import load
from robustlens.schemas import CorruptionPlan, DomainBrief, FailureAnalysis, ValidationReport
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
    progress: Any = None
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
        return self._llm_interview(state)

    def _offline_interview(self, state: AgentState) -> dict[str, Any]:
        """The fixed questionnaire, one reply per step; each answer is checked when it is given."""
        from robustlens.agent.interview import interview_step

        models = getattr(self.s.ctx, "models", None) or ()
        return interview_step(dict(state), self.s.ctx.data, models, self.s.run_dir)

    def _llm_interview(self, state: AgentState) -> dict[str, Any]:
        """The LLM interviews until it submits a brief; when it fails (endpoint error, junk, no brief
        within the rounds) the offline questionnaire takes over, and the transcript says so."""
        from robustlens.llm.toolloop import cap, run_tool_loop

        messages = list(state.get("messages") or [])
        if not messages:
            messages = [{"role": "system", "content": load("system") + "\n\n" + load("interview")}]
        if state.get("reply") is not None:
            messages.append({"role": "user", "content": cap(str(state["reply"]))})
        ctx = self.s.ctx
        ctx.user_text = "\n".join(str(m.get("content") or "") for m in messages if m.get("role") == "user")
        outcome = run_tool_loop(
            self.s.llm,  # type: ignore[arg-type]
            messages,
            ["submit_brief"],
            ctx,
            lambda name, ok, c: c.brief if ok and c.brief is not None else None,
            max_rounds=self.s.max_tool_rounds,
        )
        if outcome.status == "done":
            return {
                "messages": outcome.messages,
                "brief": outcome.value.model_dump(mode="json"),
                "pending": None,
                "reply": None,
                "events": [f"Brief complete (LLM interview): {outcome.value.domain}."],
            }
        if outcome.status == "talk" and outcome.content.strip():
            return {
                "messages": outcome.messages,
                "reply": None,
                "pending": {"field": "chat", "text": outcome.content},
            }
        why = outcome.why if outcome.status != "talk" else "it answered with an empty message"
        fallback = self._offline_interview({**state, "pending": None, "reply": None})
        note = f"LLM interview failed ({_short(why)}); the offline expert's questionnaire takes over."
        return {**fallback, "messages": outcome.messages, "events": [note, *fallback.get("events", [])]}

    def ask_user(self, state: AgentState) -> dict[str, Any]:
        answer = interrupt(state.get("pending") or {"text": "?"})
        return {"reply": str(answer)}

    @staticmethod
    def after_interview(state: AgentState) -> str:
        return "plan" if state.get("brief") else "ask"

    # ------------------------------------------------------------------ plan and validate

    def plan(self, state: AgentState) -> dict[str, Any]:
        brief = self._brief(state)
        if self.s.llm is None:
            return self._offline_plan(brief)
        outcome = self._llm_plan(brief, state.get("feedback", ""))
        if outcome.status == "done":
            plan = outcome.value
            self.s.usage["planner"] = "llm"
            return {
                "plan": plan.model_dump(mode="json"),
                "planner": "llm",
                "events": [
                    f"Planned {len(plan.specs)} corruptions (LLM): " + ", ".join(s.name for s in plan.specs)
                ],
            }
        why = _short(outcome.why)
        offline = self._offline_plan(brief, stood_in=f"LLM planning failed: {why}")
        note = f"LLM planning failed ({why}); the offline expert planned instead."
        return {**offline, "events": [note, *offline["events"]]}

    def _offline_plan(self, brief: DomainBrief, stood_in: str = "") -> dict[str, Any]:
        from robustlens.llm.offline import plan_from_brief

        plan = plan_from_brief(brief)
        if stood_in:  # the plan and the report say who really planned, and why
            plan = plan.model_copy(update={"planner": f"{OFFLINE} (stood in: {stood_in})"})
        self.s.usage["planner"] = plan.planner
        return {
            "plan": plan.model_dump(mode="json"),
            "planner": plan.planner,
            "events": [
                f"Planned {len(plan.specs)} corruptions (offline expert): "
                + ", ".join(s.name for s in plan.specs)
            ],
        }

    def _llm_plan(self, brief: DomainBrief, feedback: str) -> LoopOutcome:
        from robustlens.llm.planner import plan_with_llm

        return plan_with_llm(self.s.llm, brief, self.s.ctx, feedback, self.s.max_tool_rounds)  # type: ignore[arg-type]

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
        stood_in = [
            r.critic.critic
            for r in reports
            if r.critic and r.critic.critic.startswith(audit.OFFLINE_CRITIC + " (")
        ]
        if stood_in:  # the LLM critic failed: say so once, with why (each verdict is labelled too)
            self.s.usage["critic"] = stood_in[0]
            events.append(
                f"LLM critic failed for {len(stood_in)} spec(s) "
                f"({stood_in[0].removeprefix(audit.OFFLINE_CRITIC).strip(' ()')}); "
                "the offline rule critic judged instead."
            )
        if previews:
            events.append(f"Severity previews: {self.s.run_dir / 'previews'}/<corruption>.png")
        update: dict[str, Any] = {
            "validation": [r.model_dump(mode="json") for r in reports],
            "events": events,
        }
        revisions = state.get("revisions", 0)
        llm_planned = state.get("planner") == "llm"  # no revision round for a planner that failed
        if failed and self.s.llm is not None and llm_planned and revisions < self.s.max_revisions:
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

    def review(self, state: AgentState) -> dict[str, Any]:
        """Chat only: the user sees the checked plan and approves or changes it before evaluation.

        Interrupts like ``ask_user`` (no LLM call here, so a resumed review repeats nothing costly);
        the brief is saved as RUN/brief.yaml here, whichever interview produced it."""
        if not state.get("interactive"):
            return {"reviewed": True}
        from robustlens.agent.interview import save_brief
        from robustlens.agent.review import REVIEW_HELP, apply_review

        brief = self._brief(state)
        flags = dict(self.s.ctx.options.checkpoints)  # --checkpoint: part of the brief that reruns it
        if flags:
            brief = brief.model_copy(update={"checkpoints": {**brief.checkpoints, **flags}})
        save_brief(self.s.run_dir, brief)
        question = {
            "field": "plan_review",
            "text": "Run this plan? " + REVIEW_HELP,
            "plan": state["plan"],
            "validation": state.get("validation", []),
            "notice": state.get("review_note"),
        }
        answer = interrupt(question)
        plan, changed, note, approved = apply_review(
            state["plan"], brief.model_dump(mode="json"), str(answer)
        )
        update: dict[str, Any] = {"plan": plan, "brief": changed, "reviewed": approved, "review_note": note}
        if approved:
            save_brief(self.s.run_dir, DomainBrief.model_validate(changed))
            names = ", ".join(s["name"] for s in plan["specs"])
            update["events"] = [f"Plan approved: {names}."]
        return update

    @staticmethod
    def after_review(state: AgentState) -> str:
        return "evaluate" if state.get("reviewed") else "review"

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
        notes: list[str] = []
        if self.s.llm:
            refined, note = self._llm_decide(plan, analysis, brief, iteration)
            notes += [note] if note else []
        else:
            refined = audit.refine_around_collapse(plan, analysis)
        if refined is None or refined == plan:
            return {"refine": False, "events": [*notes, "No further refinement needed."]}
        added = sorted(set(refined.severities) - set(plan.severities))
        new_specs = [s.name for s in refined.specs if s.name not in {p.name for p in plan.specs}]
        return {
            "plan": refined.model_dump(mode="json"),
            "iteration": iteration + 1,
            "refine": True,
            "events": [
                *notes,
                f"Refining (iteration {iteration + 1}): severities +{added or '[]'}, "
                f"specs +{new_specs or '[]'}.",
            ],
        }

    def _llm_decide(
        self, plan: CorruptionPlan, analysis: FailureAnalysis, brief: DomainBrief, iteration: int
    ) -> tuple[CorruptionPlan | None, str]:
        """The LLM's refinement (or None to stop) and a transcript note when the offline rule
        decided instead because the LLM failed."""
        from robustlens.llm.toolloop import run_tool_loop

        ctx = self.s.ctx
        ctx.plan, ctx.finished = plan, False
        prompt = load("decide").format(
            analysis=analysis.model_dump_json(indent=1),
            iterations_left=brief.budget.max_iterations - iteration,
        )
        messages = [{"role": "system", "content": load("system")}, {"role": "user", "content": prompt}]
        outcome = run_tool_loop(
            self.s.llm,  # type: ignore[arg-type]
            messages,
            ["refine_plan", "finish"],
            ctx,
            lambda name, ok, c: ("finish" if c.finished else "refine") if ok else None,
            max_rounds=self.s.max_tool_rounds,
        )
        if outcome.status == "done":
            return (None if outcome.value == "finish" else ctx.plan), ""
        if outcome.status == "failed":
            note = f"LLM decision failed ({_short(outcome.why)}); the offline rule decided instead."
            return audit.refine_around_collapse(plan, analysis), note
        return None, ""  # the LLM talked or ran out of rounds without refining: stop here

    @staticmethod
    def after_decide(state: AgentState) -> str:
        return "iterate" if state.get("refine") else "report"

    def report(self, state: AgentState) -> dict[str, Any]:
        from robustlens.llm.toolloop import cap
        from robustlens.report.render import write_report

        narrative, source, events = None, "template", []
        if self.s.llm is not None and state.get("analysis"):
            try:
                text = load("narrative").format(analysis=json.dumps(state["analysis"], indent=1))
                reply = self.s.llm.chat(
                    [{"role": "system", "content": load("system")}, {"role": "user", "content": text}]
                )
                narrative = cap(reply.content.strip()) or None
                source = "llm" if narrative else "template"
            except LLMError as exc:
                narrative = None
                events.append(f"LLM narrative failed ({_short(str(exc))}); the template summary stands in.")
        paths = write_report(self.s.run_dir, narrative=narrative, narrative_source=source)
        events.append(f"Report written: {paths.get('html', next(iter(paths.values())))}")
        return {"report": {k: str(v) for k, v in paths.items()}, "events": events}

    # ------------------------------------------------------------------ helpers

    def _brief(self, state: AgentState) -> DomainBrief:
        return DomainBrief.model_validate(state["brief"])


def _questions() -> list[Any]:
    from robustlens.llm.offline import QUESTIONS

    return list(QUESTIONS)


def _short(text: str, limit: int = 300) -> str:
    """A failure reason short enough for a transcript line and a plan label."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _feedback(failed: list[ValidationReport]) -> str:
    lines = []
    for r in failed:
        reasons = [c.detail for c in r.checks if not c.passed]
        if r.critic is not None and not r.critic.realistic:
            reasons += r.critic.reasons
        lines.append(f"- {r.spec_name}: " + "; ".join(reasons))
    return "These specs were rejected; replace or fix them:\n" + "\n".join(lines)
