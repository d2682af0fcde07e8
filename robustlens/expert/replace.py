"""The next-best replacement for a spec that validation dropped, so a plan never silently shrinks."""

from __future__ import annotations

from robustlens.expert.planner import analyse, make_spec
from robustlens.expert.selection import rank, serves
from robustlens.schemas import CorruptionPlan, CorruptionSpec, DomainBrief


def replacement_for(
    plan: CorruptionPlan, dropped: CorruptionSpec, brief: DomainBrief, reason: str = ""
) -> CorruptionSpec | None:
    """A candidate covering what ``dropped`` covered -- the same named condition, else the same chain
    link -- that is not already in the plan and not excluded; None when the chain offers none.

    ``reason`` (why validation dropped it) is quoted in the replacement's rationale.
    """
    a = analyse(brief)
    taken = {call.name for spec in plan.specs for call in spec.recipe}
    taken |= {call.name for call in dropped.recipe} | {s.name for s in plan.specs} | {dropped.name}
    options = [c for c in a.candidates.values() if c.primitive not in taken]
    if not options:
        return None
    gone = [a.candidates[call.name] for call in dropped.recipe if call.name in a.candidates]
    conditions = [cond for cond in a.named if any(serves(g, cond) for g in gone)]
    links = {g.producer.link for g in gone}
    if not gone:  # an unknown or excluded primitive: fall back on its registry family's link
        from robustlens.corruptions import REGISTRY
        from robustlens.expert.physics import load_physics

        links = {
            load_physics().primitives[call.name].link
            for call in dropped.recipe
            if call.name in REGISTRY and call.name in load_physics().primitives
        }
    best = None
    for cond in conditions:
        same = [c for c in options if serves(c, cond)]
        if same:
            best = min(same, key=lambda c: rank(c, cond))
            break
    if best is None:
        same = [c for c in options if c.producer.link in links]
        if not same:
            return None
        best = min(same, key=lambda c: rank(c))
    spec = make_spec(a, best)
    why = f" Replaces {dropped.name}" + (f", dropped because {reason}." if reason else ".")
    return spec.model_copy(update={"rationale": spec.rationale + why})
