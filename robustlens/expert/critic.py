"""The offline rule critic (``offline-rules``): judges a spec from the brief's imaging chain.

It shares ``planner.analyse`` with the planner, so both reason from the same chain facts: a
primitive is realistic only when a link of the chain produces it and no physical fact rules it out
(MRI ghosting in a phone photo, sun flare with no sky in view, rain inside the body), and its
severity-5 level must stay within the plausible bound (the domain prior's when the domain clearly
matches, else the generic cap). An unknown domain is no excuse: nothing is "plausible by default".
"""

from __future__ import annotations

from robustlens.corruptions import REGISTRY
from robustlens.corruptions.base import LADDER_STEPS, PrimitiveInfo, interpolate
from robustlens.expert.physics import load_physics
from robustlens.expert.planner import BLUR_LENGTH, analyse, cap_of, describe
from robustlens.schemas import CorruptionSpec, CriticVerdict, DomainBrief, PrimitiveCall

CRITIC = "offline-rules"
PRIORITY_SCORE = {1: 1.0, 2: 0.9, 3: 0.8}
CHAIN_SCORE = 0.7  # produced by the chain but not listed by a matching domain prior
UNPRODUCED_SCORE = 0.2
EXCLUDED_SCORE = 0.05
TOLERANCE = 1e-4  # relative slack when comparing a ladder with its bound (ladders are rounded)


def critique(spec: CorruptionSpec, brief: DomainBrief) -> CriticVerdict:
    """Judge every primitive of ``spec`` against the brief's chain facts; the verdict is the weakest."""
    a = analyse(brief)
    physics = load_physics().primitives
    reasons: list[str] = []
    scores: list[float] = []
    realistic = True
    for call in spec.recipe:
        name = call.name
        candidate = a.candidates.get(name)
        if name not in REGISTRY:
            realistic, score = False, 0.0
            reasons.append(f"{name} is not a registered corruption primitive")
        elif name in a.excluded:
            realistic, score = False, EXCLUDED_SCORE
            reasons.append(f"{name} is physically impossible here: {a.excluded[name]}")
        elif candidate is None:
            realistic, score = False, UNPRODUCED_SCORE
            what = physics[name].why if name in physics else "it"
            reasons.append(
                f"{name} is unrealistic here: no link of the brief's imaging chain produces {what} "
                f"(chain: {', '.join(e.fact for e in a.facts.evidence) or 'nothing stated'})"
            )
        elif excess := _excess(REGISTRY[name], call, cap_of(a, name)):
            realistic, score = False, 0.3
            reasons.append(
                f"{name} at severity 5 is stronger than is physically plausible here ({'; '.join(excess)}); "
                "rescale its ladder so severity 5 stays within the bound"
                + (f" ({a.motion.reason()})" if a.motion is not None and name in BLUR_LENGTH else "")
            )
        else:
            score = PRIORITY_SCORE[candidate.prior.priority] if candidate.prior else CHAIN_SCORE
            source = describe(candidate.need, a.facts) if candidate.need else f"listed for {a.domain.title}"
            reasons.append(f"{name}: {candidate.producer.why}, produced by {source}")
        scores.append(score)
    return CriticVerdict(
        realistic=realistic, score=min(scores) if scores else 0.0, reasons=reasons, critic=CRITIC
    )


def _excess(info: PrimitiveInfo, call: PrimitiveCall, max_severity: float) -> list[str]:
    """Ladder parameters whose severity-5 value is further from the identity than the bound allows."""
    out = []
    for param in info.ladder:
        identity = info.identity[param]
        v5 = info.ladder_values(param, call.ladder.get(param))[-1]
        default = info.ladder_values(param)
        grid = [s for s in range(LADDER_STEPS + 1) if s <= max_severity] + [max_severity]
        bound = max(abs(interpolate(default, s) - identity) for s in grid)
        if abs(v5 - identity) > bound * (1 + TOLERANCE) + 1e-12:
            limit = interpolate(default, max_severity)
            out.append(f"{param} = {v5:g}, plausible up to {limit:g} (registry severity {max_severity:g})")
    return out
