"""Review a plan before running it: chain facts, rationales, severity caps and critic verdicts.

An audit spends GPU time on every spec of a plan; ``robustlens plan`` lets the user read what the
planner understood of the deployment (the imaging-chain facts, quoting the brief's words), why each
corruption was chosen, how far each ladder goes compared with the registry default, and what the
critic thinks of each spec — all without evaluating anything. The planner is the offline expert
unless an LLM is configured; a failing LLM degrades to the offline expert with a labelled note, as
``robustlens run`` does.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from robustlens.corruptions import REGISTRY
from robustlens.expert.facts import ChainFacts
from robustlens.schemas import CorruptionPlan, CorruptionSpec, CriticVerdict, DomainBrief, Model

OFFLINE = "offline-expert"


class LadderCap(Model):
    """Where a spec's ladder ends (severity 5) compared with the registry's default ladder."""

    spec: str
    primitive: str
    param: str
    planned: float = 0.0
    default: float = 0.0
    identity: float = 0.0

    @property
    def capped(self) -> bool:
        """True when the planned ladder stops short of the default's strongest level."""
        return abs(self.planned - self.identity) < abs(self.default - self.identity) - 1e-9


@dataclass
class PlanReview:
    """Everything ``robustlens plan`` shows; ``as_json()`` is its ``--json`` document."""

    brief: DomainBrief
    plan: CorruptionPlan
    planner: str
    chain_facts: ChainFacts | None = None
    verdicts: dict[str, CriticVerdict] = field(default_factory=dict)
    caps: list[LadderCap] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        facts = self.chain_facts.model_dump(mode="json") if self.chain_facts is not None else None
        return {
            "chain_facts": facts,
            "plan": self.plan.model_dump(mode="json"),
            "verdicts": [{"spec": name, **v.model_dump(mode="json")} for name, v in self.verdicts.items()],
            "caps": [c.model_dump(mode="json") | {"capped": c.capped} for c in self.caps],
            "planner": self.planner,
            "notes": self.notes,
        }


def offline_plan(brief: DomainBrief) -> CorruptionPlan:
    """The offline expert's plan."""
    from robustlens.expert.planner import plan_from_brief

    return plan_from_brief(brief)


def infer_facts(brief: DomainBrief) -> ChainFacts:
    """The imaging-chain facts of the brief, each with the brief's words that support it."""
    from robustlens.expert.chain import infer_chain

    return infer_chain(brief)


def plan_for_review(brief: DomainBrief, llm: Any | None = None) -> tuple[CorruptionPlan, str, list[str]]:
    """``(plan, planner, notes)``: the LLM's plan when ``llm`` (an ``LLMClient``) gives one, else the
    offline expert's — labelled "stood in" with why when the LLM failed."""
    if llm is None:
        plan = offline_plan(brief)
        return plan, plan.planner, []
    from robustlens.llm.planner import plan_with_llm
    from robustlens.tools import ToolContext

    with tempfile.TemporaryDirectory(prefix="robustlens-plan-") as tmp:
        outcome = plan_with_llm(llm, brief, ToolContext(run_dir=Path(tmp)))
    if outcome.status == "done":
        return outcome.value, f"llm ({llm.name})", []
    why = " ".join(str(outcome.why).split())[:200]
    plan = offline_plan(brief)
    plan = plan.model_copy(update={"planner": f"{OFFLINE} (stood in: LLM planning failed: {why})"})
    return plan, plan.planner, [f"LLM planning failed ({why}); the offline expert planned instead."]


def ladder_caps(spec: CorruptionSpec) -> list[LadderCap]:
    """Each ladder parameter's value at severity 5, planned vs the registry default."""
    out = []
    for call in spec.recipe:
        info = REGISTRY.get(call.name)
        if info is None:
            continue
        for param in info.ladder:
            try:
                planned = info.ladder_values(param, call.ladder.get(param))[-1]
            except (TypeError, ValueError):
                continue
            out.append(
                LadderCap(
                    spec=spec.name,
                    primitive=call.name,
                    param=param,
                    planned=float(planned),
                    default=float(info.ladder_values(param)[-1]),
                    identity=float(info.identity[param]),
                )
            )
    return out


def review_plan(
    brief: DomainBrief, llm: Any | None = None, critic: Any | None = None, plan: CorruptionPlan | None = None
) -> PlanReview:
    """Plan (unless ``plan`` is given), infer the chain facts, and have the critic judge every spec.

    ``critic``: an ``LLMClient`` or None for the offline rule critic; a failing LLM critic falls back
    to the offline rules, labelled in the verdict (``audit.critique_spec``). No image is touched.
    """
    from robustlens.audit import critique_spec

    notes: list[str] = []
    if plan is None:
        plan, planner, notes = plan_for_review(brief, llm)
    else:
        planner = plan.planner
    verdicts = {s.name: critique_spec(s, brief, {}, critic) for s in plan.specs}
    return PlanReview(
        brief=brief,
        plan=plan,
        planner=planner,
        chain_facts=infer_facts(brief),
        verdicts=verdicts,
        caps=[c for s in plan.specs for c in ladder_caps(s)],
        notes=notes,
    )
