"""The offline planner: corruptions follow from the imaging chain, domain knowledge only ranks them.

``analyse`` infers the chain facts of a brief (``chain.infer_chain``), keeps every primitive that a
link of the chain can produce and no physical fact rules out (``physics.yaml``), and ranks them with
the best-matching knowledge-base domain as a prior (its priority, severity caps and objections apply
only when the domain clearly matches). ``plan_from_brief`` then covers the chain within the budget
(``selection.py``): the chain's signature primitives (``physics.yaml`` ``signature``: what a fundus
camera or a fax is known by), one spec per condition the user named (never dropped for being outside a
domain; from 4 specs on one slot stays reserved for sensor noise), the effects the chain's facts make
unavoidable (``implied``), then one per chain link in a fixed order, then the priors.
The plan follows from the SET of chain facts and named conditions (sorted, with one noise model per
chain), so wording and order do not change it; a named condition no knowledge-base condition covers
is matched to the primitives' own descriptions (``direct.py``), and a condition the user names beats
a domain's blanket objection, while a sensor the chain names beats a prior that objects to it.
Rationales quote the brief's own chain facts and named conditions, never a domain's canned text.
A speed, exposure or pixels of motion the brief states bound the motion blurs (``quantities.py``),
and the critic checks the same bound (``cap_of``).
Same brief in, same plan out (no randomness).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from robustlens.corruptions import REGISTRY, compile_plan
from robustlens.corruptions.base import LADDER_STEPS, PrimitiveInfo, interpolate
from robustlens.expert.chain import condition_clauses, infer_chain
from robustlens.expert.direct import DirectMatch, direct_matches, uncovered
from robustlens.expert.facts import ChainFacts
from robustlens.expert.knowledge import GENERIC, Domain, domain_for
from robustlens.expert.knowledge import Unsuitable as Objection
from robustlens.expert.physics import Producer, excluding, holds, load_physics, producing
from robustlens.expert.quantities import MotionBound, motion_bound, severity_at, severity_for, tilt
from robustlens.expert.selection import Candidate, select, serves
from robustlens.schemas import CorruptionPlan, CorruptionSpec, DomainBrief, PrimitiveCall

PLANNER = "offline-expert"
PRIOR_CONFIDENCE = 0.3  # a domain's caps, objections and rationales apply only above this match confidence
MILD = re.compile(r"\b(?:slightly|a bit|a little|somewhat|mildly|minor|a few degrees)\b", re.IGNORECASE)
MILD_CAP = 2.0  # severity-5 bound of a primitive whose conditions the user calls mild
SAID = "said:"  # a need that is the user's own words (a named condition matched to the primitive itself)
BLUR_LENGTH = {"motion_blur": "length", "vibration_blur": "amplitude"}  # pixels of motion per exposure
TILT_ANGLE = {"rotation": "angle", "scan_skew": "angle"}  # degrees of a stated tilt


@dataclass
class Analysis:
    """Everything the planner, critic and replacement share about one brief."""

    brief: DomainBrief
    facts: ChainFacts
    domain: Domain
    confidence: float
    named: list[str]
    candidates: dict[str, Candidate] = field(default_factory=dict)
    excluded: dict[str, str] = field(default_factory=dict)
    conflict: str | None = None  # the chain's primitive (or modality) the domain prior contradicts
    direct: list[DirectMatch] = field(default_factory=list)  # named conditions no KB condition covers
    motion: MotionBound | None = None  # the blur the brief's stated speed / exposure / pixels allow
    tilt: float | None = None  # the largest tilt the brief states, in degrees
    unmatched: list[str] = field(default_factory=list)  # named conditions no condition or primitive models

    @property
    def stated(self) -> list[str]:
        """The conditions named in the brief's deployment conditions (not only in its imaging setup)."""
        clauses = set(condition_clauses(self.brief))
        return list(dict.fromkeys(m.condition for m in self.facts.conditions if m.phrase in clauses))

    @property
    def prior_ok(self) -> bool:
        return self.domain.name != GENERIC and self.confidence >= PRIOR_CONFIDENCE and self.conflict is None


def analyse(brief: DomainBrief) -> Analysis:
    """Chain facts, the domain prior, the candidates and the excluded primitives (cached per brief)."""
    return _analyse(brief.model_dump_json())


@functools.lru_cache(maxsize=1024)  # ~20 KB each: a dev eval's ~930 briefs, then its critic eval, hit
def _analyse(key: str) -> Analysis:
    brief = DomainBrief.model_validate_json(key)
    facts = infer_chain(brief)
    domain, confidence = domain_for(brief)
    named = facts.condition_names()
    a = Analysis(brief, facts, domain, confidence, named)
    said = [brief.domain, brief.description, brief.imaging_setup, *brief.deployment_conditions]
    a.motion = motion_bound(". ".join(said))
    a.tilt = tilt(". ".join(said))
    physics = load_physics()
    names = set(named)
    a.conflict = _conflict(a, physics.primitives, names)
    for order, (name, p) in enumerate(physics.primitives.items()):
        prior = domain.entry(name) if a.prior_ok else None
        objection = domain.objection(name) if a.prior_ok else None
        rule = excluding(p, facts, names)
        if rule is not None:
            a.excluded[name] = f"ruled out by the chain: {describe(rule, facts)}"
        elif p.serves and p.serves[0] in facts.ruled_out:
            a.excluded[name] = f"the brief rules out {p.serves[0].replace('_', ' ')}"
        elif objection is not None and (_contextual(objection) or not names & set(p.serves)):
            a.excluded[name] = f"unrealistic for {domain.title}: {objection.why}"
        else:
            need = producing(p, facts, names)
            if (
                need is not None
            ):  # a domain prior ranks candidates; it never makes one the chain cannot produce
                a.candidates[name] = Candidate(name, p, need, prior, order)
    possible = [n for n in physics.primitives if n not in a.candidates and n not in a.excluded]
    modelled = {cond for c in a.candidates.values() for cond in a.named if serves(c, cond)}
    unmodelled = uncovered(brief, facts.conditions, modelled)
    a.direct = direct_matches(unmodelled, a.candidates, possible)
    a.unmatched = [item for item in unmodelled if item not in {d.item for d in a.direct}]
    for d in a.direct:  # the user's own words are the link that produces it (nothing rules it out)
        if d.primitive not in a.candidates:
            p = physics.primitives[d.primitive]
            prior = domain.entry(d.primitive) if a.prior_ok else None
            order = list(physics.primitives).index(d.primitive)
            a.candidates[d.primitive] = Candidate(d.primitive, p, f"{SAID}{d.phrase}", prior, order)
    return a


def _contextual(objection: Objection) -> bool:
    """An objection tied to the brief's own words ("looking down at the track": no sun in view) is a
    physical fact and holds; a domain's blanket objection is a prior that a condition the user names
    overrides (a camera trap's frost is not ruled out by a drone prior)."""
    return bool(objection.when or objection.unless)


def _conflict(a: Analysis, primitives: dict[str, Producer], names: set[str]) -> str | None:
    """A primitive the chain's own sensor or acquisition produces but the matched domain objects to (MRI
    ghosting under a 'documents' prior, CT quantum mottle under an 'MRI' prior): the prior then
    contradicts the brief's own chain and is not used (physics wins over a domain prior)."""
    if not a.prior_ok:
        return None
    modality = a.facts.modality
    if modality is not None and a.domain.modalities and modality not in a.domain.modalities:
        return f"modality={modality}"  # a prior about another kind of imaging (microscopy for a photograph)
    for name, p in primitives.items():
        if excluding(p, a.facts, names) is None:
            need = producing(p, a.facts, names) or ""
            own = (p.link == "acquisition" and need != "any") or "sensor=" in need
            if need and own and a.domain.objection(name) is not None:
                return name
    return None


def describe(conj: str, facts: ChainFacts) -> str:
    """A conjunction of chain facts in words, quoting the brief's phrases that support each fact."""
    parts = []
    atoms = [conj] if conj.startswith(SAID) else conj.split("&")
    for atom in (a.strip() for a in atoms):
        if atom == "any":
            parts.append("every imaging chain")
            continue
        if atom.startswith(SAID):
            parts.append(f"the condition named '{atom[len(SAID) :]}'")
            continue
        if atom.startswith("condition="):
            name = atom.split("=", 1)[1]
            said = [c.phrase for c in facts.conditions if c.condition == name]
            parts.append(f"the condition named '{said[0]}'" if said else f"condition {name}")
            continue
        if "!=" in atom:
            continue  # negative atoms only narrow the rule; the positive facts explain it
        fact = atom.lower()
        ev = next((e for e in facts.evidence if e.fact == fact), None)
        if fact.startswith("modality=") and ev is None and facts.modality is None:
            parts.append("a camera (the brief names no other modality)")
            continue
        if ev is None:
            parts.append(fact)
        elif ev.method == "user":
            parts.append(f"{fact} (the user's correction)")
        else:
            parts.append(f"{fact} ('{ev.phrases[0]}')" if ev.phrases else fact)
    return "; ".join(parts) or conj


def plan_from_brief(brief: DomainBrief) -> CorruptionPlan:
    """A deterministic plan covering the named conditions and the links of the brief's imaging chain."""
    a = analyse(brief)
    chosen = select(a, brief.budget.max_corruptions)
    specs = [make_spec(a, c) for c in chosen]
    facts = a.facts
    chain = ", ".join(e.fact for e in facts.evidence) or "nothing stated (a generic camera is assumed)"
    prior = (
        f"domain prior '{a.domain.name}' ({a.domain.title}, confidence {a.confidence:.2f}) ranks candidates "
        "and caps severities"
        if a.prior_ok
        else "no domain matched clearly, so generic caps apply"
    )
    notes = (
        f"Offline expert: imaging chain inferred from the brief: {chain}. "
        f"Conditions named: {', '.join(a.named) or 'none'}"
        + (f"; ruled out: {', '.join(facts.ruled_out)}" if facts.ruled_out else "")
        + f". {prior}. Picked {len(specs)} of {len(a.candidates)} primitives the chain can produce: one per "
        "named condition first, then one per chain link, then by prior. Ruled out by what the brief says "
        "(the physics of its chain): "
        + (", ".join(sorted(a.excluded)) or "none")
        + "."
        + _left_out(a, chosen, brief.budget.max_corruptions)
        + (
            " Named but not modelled (no corruption in the catalogue matches it): "
            + ", ".join(repr(item) for item in a.unmatched)
            + "."
            if a.unmatched
            else ""
        )
    )
    plan = CorruptionPlan(
        specs=specs, severities=brief.budget.severities, seed=brief.seed, planner=PLANNER, notes=notes
    )
    compile_plan(plan)  # a plan that cannot run must never leave here
    return plan


def _left_out(a: Analysis, chosen: list[Candidate], budget: int) -> str:
    """The named conditions the chain could model but the budget left without a spec, so a user who
    listed more conditions than ``max_corruptions`` sees what a larger budget would add."""
    out = [
        f"{cond.replace('_', ' ')} ('{m.phrase}')"
        for cond in a.named
        if not any(serves(c, cond) for c in chosen) and any(serves(c, cond) for c in a.candidates.values())
        for m in [next(m for m in a.facts.conditions if m.condition == cond)]
    ]
    if not out:
        return ""
    return (
        f" Named but left out for the budget of {budget} (raise budget.max_corruptions to plan them): "
        + ", ".join(out)
        + "."
    )


def cap_of(a: Analysis, name: str) -> float:
    """The severity-5 bound: the domain prior's when it clearly applies, else the generic cap."""
    c = a.candidates.get(name)
    physics = load_physics().primitives
    bound = c.prior.max_severity if c is not None and c.prior is not None else None
    if name in physics:
        p = physics[name]
        bound = p.cap if bound is None else bound  # a clearly matching domain's own bound wins
        limits = [rule.cap for rule in p.caps if holds(rule.when, a.facts, set(a.named))]
        if c is not None and _mild(a, c):
            limits.append(MILD_CAP)
        if (quantity := _quantity_cap(a, name)) is not None:
            if name in TILT_ANGLE:  # the user's own stated tilt ("skewed by up to 4 degrees") is the bound
                return quantity
            limits.append(quantity)
        bound = min([bound, *limits])
    return float(LADDER_STEPS) if bound is None else bound


def _quantity_cap(a: Analysis, name: str) -> float | None:
    """The severity bound the brief's own quantities give a motion blur or a tilt (``quantities.py``)."""
    if name not in REGISTRY:
        return None
    if a.motion is not None and name in BLUR_LENGTH:
        return severity_for(a.motion, list(REGISTRY[name].ladder_values(BLUR_LENGTH[name])))
    if a.tilt is not None and name in TILT_ANGLE:
        return severity_at(a.tilt, list(REGISTRY[name].ladder_values(TILT_ANGLE[name])))
    return None


def _mild(a: Analysis, c: Candidate) -> bool:
    """The user calls every condition this primitive models mild ("slightly off-square", "a bit
    skewed"): its strongest level should stay mild too."""
    said = [m.phrase for m in a.facts.conditions if serves(c, m.condition)]
    return bool(said) and all(MILD.search(p) for p in said)


def make_spec(a: Analysis, c: Candidate) -> CorruptionSpec:
    """A spec for ``c`` whose rationale is written from the brief's own chain facts."""
    info = REGISTRY[c.primitive]
    why = c.producer.why[0].upper() + c.producer.why[1:]
    if c.need == "any":
        rationale = f"{why} ({c.producer.link}): present in every imaging chain, including this one."
    elif c.need is not None:
        rationale = f"{why} ({c.producer.link}): the brief's chain has {describe(c.need, a.facts)}."
    else:
        rationale = f"{why} ({c.producer.link}): listed for {a.domain.title}."
    matched = [f"'{m.phrase}' ({m.condition})" for m in a.facts.conditions if serves(c, m.condition)]
    matched += [f"'{d.item}' (by its description)" for d in a.direct if d.primitive == c.primitive]
    if matched:
        rationale += f" Models the condition(s) named: {', '.join(dict.fromkeys(matched))}."
    unavoidable = next((s for s in c.producer.implied if holds(s, a.facts, set(a.named))), None)
    if unavoidable is not None:
        rationale += f" Unavoidable in this chain: {describe(unavoidable, a.facts)}."
    cap = cap_of(a, c.primitive)
    ladder: dict[str, list[float]] = {}
    if cap < LADDER_STEPS:
        ladder = {p: capped_ladder(info, p, cap) for p in info.ladder}
        rationale += (
            f" Its ladder is capped: its severity 5 is the default ladder's severity {cap:g}, the strongest"
            " level plausible here (severities of this spec count on its own ladder)."
        )
        if _quantity_cap(a, c.primitive) == cap:
            said = (
                a.motion.reason()
                if c.primitive in BLUR_LENGTH and a.motion
                else f"a stated tilt of {a.tilt:g} degrees"
            )
            rationale += f" The bound follows from {said}."
    params = dict(c.prior.params) if c.prior else {}
    call = PrimitiveCall(name=c.primitive, params=params, ladder=ladder)
    return CorruptionSpec(name=c.primitive, rationale=rationale, recipe=[call], source="offline")


def capped_ladder(info: PrimitiveInfo, param: str, max_severity: float) -> list[float]:
    """Ladder values for severities 1..5 that reach the default ladder's value at ``max_severity``."""
    points = info.ladder_values(param)
    return [
        float(f"{interpolate(points, s * max_severity / LADDER_STEPS):.6g}")
        for s in range(1, LADDER_STEPS + 1)
    ]
