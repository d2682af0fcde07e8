"""The offline expert: what robustlens uses when no LLM is configured.

Three deterministic stages built on the knowledge base (``knowledge.yaml``):

- a fixed questionnaire (``QUESTIONS``, ``next_question``, ``apply_answer``, ``brief_from_answers``)
  that turns free-text answers into a ``DomainBrief``;
- a planner (``plan_from_brief``) that picks the domain's realistic primitives, conditions the user
  named first, and caps each ladder at the domain's physical limit;
- a rule critic (``critique``) that rejects corruptions the knowledge base rules out, does not list
  for a recognised domain, or that are stronger than physically plausible in the domain.

Same brief in, same plan out: no randomness, no network, so it doubles as a baseline for the LLM.
"""

from __future__ import annotations

from robustlens.corruptions import REGISTRY, compile_plan
from robustlens.corruptions.base import LADDER_STEPS, PrimitiveInfo, interpolate
from robustlens.llm.knowledge import (
    GENERIC,
    Domain,
    Suitable,
    domain_for,
    load_knowledge,
    score_domains,
)
from robustlens.schemas import (
    CorruptionPlan,
    CorruptionSpec,
    CriticVerdict,
    DomainBrief,
    PrimitiveCall,
)

PLANNER = "offline-expert"
CRITIC = "offline-rules"
PRIORITY_SCORE = {1: 1.0, 2: 0.9, 3: 0.8}
UNKNOWN_SCORE = 0.5  # generic domain: an unlisted primitive is plausible by default
UNLISTED_SCORE = 0.3  # recognised domain: the knowledge base lists what occurs there
TOLERANCE = 1e-4  # relative slack when comparing a ladder with its bound (ladders are rounded)

from robustlens.llm.questionnaire import (  # noqa: E402,F401  (the questionnaire, re-exported)
    NONE_WORDS,
    QUESTIONS,
    apply_answer,
    brief_from_answers,
    next_question,
    run_interview,
    shown_default,
)

# --------------------------------------------------------------------------- the questionnaire
# lives in questionnaire.py (re-exported here: QUESTIONS, next_question, apply_answer, ...)

# --------------------------------------------------------------------------- the planner


def plan_from_brief(brief: DomainBrief) -> CorruptionPlan:
    """A deterministic plan: the matched domain's suitable primitives, best-fitting first.

    Selection is greedy: first one primitive for each deployment condition the brief names (in the
    order named), then by priority (a condition match raises it one level), number of matched
    conditions, family variety, and knowledge-base order.
    A primitive whose ``max_severity`` is below 5 gets a rescaled ladder, so severity 5 of the plan
    is the strongest physically plausible level in this domain rather than the registry's default.
    """
    kb = load_knowledge()
    domain, confidence = domain_for(brief, kb)
    conditions = [c for c in kb.recognise_conditions(brief.deployment_conditions) if c in domain.conditions]
    ruled = [u.primitive or u.family for u in domain.unsuitable if u.contextual]
    chosen = _select(domain, conditions, brief.budget.max_corruptions)
    specs = [_spec(entry, conditions) for entry in chosen]
    ranked = score_domains(brief, kb)
    evidence = ", ".join(ranked[0].hits) if ranked and ranked[0].score > 0 else ""
    matched_by = (
        f"matched domain '{domain.name}' ({domain.title}) by the keywords {evidence}, "
        f"confidence {confidence:.2f}"
        if evidence
        else "no domain keyword matched, so generic photography rules apply"
    )
    notes = (
        f"Offline expert: {matched_by}. Deployment conditions recognised for this domain: "
        f"{', '.join(conditions) or 'none'}. "
        + (f"Ruled out by what the brief says: {', '.join(map(str, ruled))}. " if ruled else "")
        + f"Picked {len(specs)} of {len(domain.suitable)} suitable "
        "primitives: one per named condition first, then by priority and family variety; ladders are "
        "capped at each primitive's physically plausible maximum for the domain."
    )
    plan = CorruptionPlan(
        specs=specs, severities=brief.budget.severities, seed=brief.seed, planner=PLANNER, notes=notes
    )
    compile_plan(plan)  # the knowledge base is validated, but a plan that cannot run must never leave here
    return plan


def _select(domain: Domain, conditions: list[str], budget: int) -> list[Suitable]:
    chosen: list[Suitable] = []
    covered: set[str] = set()
    families: dict[str, int] = {}
    pool = list(enumerate(domain.suitable))
    while pool and len(chosen) < budget:
        keys = [_rank(i, e, conditions, covered, families) for i, e in pool]
        _, entry = pool.pop(keys.index(min(keys)))
        chosen.append(entry)
        covered |= set(entry.conditions)
        fam = REGISTRY[entry.primitive].family
        families[fam] = families.get(fam, 0) + 1
    return chosen


def _rank(
    index: int, entry: Suitable, conditions: list[str], covered: set[str], families: dict[str, int]
) -> tuple[int, int, int, int, int]:
    """Sort key, smallest first: covers the earliest still-uncovered condition; then priority, raised
    one level when the entry matches a named condition (a relevant priority-2 ranks with an
    unconditional priority-1); then more matched conditions, an unused family, knowledge-base order."""
    matched = set(entry.conditions) & set(conditions)
    new = [c for c in conditions if c in matched and c not in covered]
    first_new = conditions.index(new[0]) if new else len(conditions)
    family_uses = families.get(REGISTRY[entry.primitive].family, 0)
    return (first_new, entry.priority - bool(matched), -len(matched), family_uses, index)


def _spec(entry: Suitable, conditions: list[str]) -> CorruptionSpec:
    info = REGISTRY[entry.primitive]
    matched = [c for c in conditions if c in entry.conditions]
    rationale = entry.rationale
    if matched:
        rationale += f" Relevant to the deployment conditions named: {', '.join(matched)}."
    ladder: dict[str, list[float]] = {}
    if entry.max_severity < LADDER_STEPS:
        ladder = {p: capped_ladder(info, p, entry.max_severity) for p in info.ladder}
        rationale += (
            f" Severity 5 is capped at the registry's severity {entry.max_severity:g}, "
            "the strongest level physically plausible here."
        )
    call = PrimitiveCall(name=entry.primitive, params=dict(entry.params), ladder=ladder)
    return CorruptionSpec(name=entry.primitive, rationale=rationale, recipe=[call], source="offline")


def capped_ladder(info: PrimitiveInfo, param: str, max_severity: float) -> list[float]:
    """Ladder values for severities 1..5 that reach the default ladder's value at ``max_severity``."""
    points = info.ladder_values(param)
    return [
        float(f"{interpolate(points, s * max_severity / LADDER_STEPS):.6g}")
        for s in range(1, LADDER_STEPS + 1)
    ]


# --------------------------------------------------------------------------- the critic


def critique(spec: CorruptionSpec, brief: DomainBrief) -> CriticVerdict:
    """Judge a spec against the knowledge base for the brief's domain (critic ``offline-rules``).

    Unrealistic when a primitive (or its family) is ruled out for the domain (also by what the brief
    says, e.g. a monochrome camera), when a recognised domain does not list it as suitable (a
    whitelist: score 0.3), or when the spec's severity-5 parameters lie further from the identity
    than the domain's ``max_severity`` allows. Only for the ``generic`` fallback are unlisted
    primitives judged plausible, with a lower score (0.5).
    """
    domain, _ = domain_for(brief)
    reasons: list[str] = []
    scores: list[float] = []
    realistic = True
    if domain.name == GENERIC:
        reasons.append("the domain was not recognised; judged against generic photography rules")
    for call in spec.recipe:
        name = call.name
        if name not in REGISTRY:
            realistic = False
            scores.append(0.0)
            reasons.append(f"{name} is not a registered corruption primitive")
            continue
        objection = domain.objection(name)
        entry = domain.entry(name)
        if objection is not None:
            realistic = False
            scores.append(0.05)
            scope = "" if objection.primitive else f" (family {objection.family})"
            reasons.append(f"{name}{scope} is unrealistic for {domain.title}: {objection.why}")
        elif entry is None and domain.name == GENERIC:
            scores.append(UNKNOWN_SCORE)
            reasons.append(
                f"{name} is not in the knowledge base for {domain.name}; judged plausible by default"
            )
        elif entry is None:
            realistic = False
            scores.append(UNLISTED_SCORE)
            reasons.append(
                f"{name} is unrealistic for {domain.title}: not among the corruptions the knowledge "
                f"base lists for {domain.name}"
            )
        else:
            excess = _excess(REGISTRY[name], call, entry.max_severity)
            if excess:
                realistic = False
                scores.append(0.3)
                reasons.append(
                    f"{name} at severity 5 is stronger than is physically plausible for {domain.title} "
                    f"({'; '.join(excess)}); rescale its ladder so severity 5 stays within the bound"
                )
            else:
                scores.append(PRIORITY_SCORE[entry.priority])
                reasons.append(f"{name}: {entry.rationale}")
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
