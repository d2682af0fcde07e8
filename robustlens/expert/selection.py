"""Which candidates a plan keeps within its budget, in a fixed order of need.

The order is (0) the chain's signature primitives (``physics.yaml`` ``signature``: what a fundus camera
or a fax is known by; after (1) when the budget is under NOISE_BUDGET, which then goes to what the user
listed), (1) one primitive per condition the user named (the listed deployment conditions
first, then what the setup's words name, "fisheye"), (2) the effects the chain's facts make unavoidable
whatever the user wrote (``implied``: every lossy codec leaves block artefacts, an uncooled
microbolometer has dead elements and a coarse grid, a microscope's depth of field is micrometres so
focus always drifts, an endoscope's wide lens bends lines) unless the plan already models the same
effect, (3) one primitive per chain link in a fixed link order, and (4) the rest by domain prior and
table order. Ties break on the SET of facts and conditions (sorted names, table order), never on
wording or the order the user named things in, so paraphrases of one deployment get the same plan; a
link default (3) or a prior (4) never displaces a named (1) or implied (2) effect.
Grouping by the physical process follows Hendrycks & Dietterich (2019), "Benchmarking Neural Network
Robustness to Common Corruptions and Perturbations", ICLR.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeGuard

from robustlens.expert.knowledge import Suitable
from robustlens.expert.physics import Producer, holds

if TYPE_CHECKING:
    from robustlens.expert.planner import Analysis

LINK_ORDER = (
    "acquisition",
    "noise",
    "processing",
    "motion",
    "optics",
    "light",
    "page",
    "weather",
    "geometry",
)
NOISE_BUDGET = 4  # from this many specs on, one slot is kept for sensor noise
COVERS = 2  # a chosen primitive covers a named condition listed among the first COVERS it models
GENERIC_PRIORITY = 4  # rank of a chain-plausible primitive the domain prior does not list


@dataclass
class Candidate:
    """A primitive the chain can produce, with why (the need that holds) and its prior, if any."""

    primitive: str
    producer: Producer
    need: str | None
    prior: Suitable | None
    order: int

    @property
    def priority(self) -> int:
        return self.prior.priority if self.prior else GENERIC_PRIORITY


def rank(c: Candidate, condition: str | None = None) -> tuple[int, int, tuple[bool, int]]:
    """Sort key, smallest first: how directly it models ``condition`` (physics first), prior priority
    (raised one level when the prior ties it to the condition), knowledge order."""
    if condition is None:  # a specific producing fact is better evidence than "every chain has it"
        return (0, c.priority, (c.need == "any", c.order))
    physical = list(c.producer.serves)
    closeness = physical.index(condition) if condition in physical else len(physical) + 1
    tied = c.prior is not None and condition in c.prior.conditions
    return (closeness, c.priority - tied, (False, c.order))


def serves(c: Candidate, condition: str) -> bool:
    return condition in c.producer.serves or bool(c.prior and condition in c.prior.conditions)


def _stands_for(
    canon: Candidate | None, best: Candidate, link_pick: bool, names: set[str], used: set[str]
) -> TypeGuard[Candidate]:
    """Whether the chain's own noise (``canon``) replaces the noise primitive ``best``: for a link pick,
    or when both model a condition the user named (one noise model per chain, however it was worded)."""
    if canon is None or canon.primitive in used:
        return False
    return link_pick or any(serves(canon, n) and serves(best, n) for n in names)


def link_rank(a: Analysis, c: Candidate) -> tuple[int, int, int]:
    """Rank within one chain link by the chain (``specific``), then the domain prior's priority, then
    table order: the named conditions were covered before, so the link's representative does not
    change with how the user worded them."""
    tier, order = specific(c)
    return (tier, c.priority, order)


def specific(c: Candidate) -> tuple[int, int]:
    """Chain-only rank: a need that names the sensor, then any other fact, then "every chain"; table order."""
    need = c.need or ""
    return (0 if "sensor=" in need else 1 if need != "any" else 2, c.order)


def select(a: Analysis, budget: int, taken: set[str] | None = None) -> list[Candidate]:
    """Within ``budget``: the chain's signature primitives, one per named condition, the effects the
    chain's facts imply, one per chain link (in a fixed link order; motion only when something moves),
    then the rest by prior and table order (see the module docstring)."""
    chosen: list[Candidate] = []
    used = set(taken or ())
    pool = a.candidates
    names = set(a.named)

    # every sensor adds noise, so a plan of a few specs or more keeps one (issue 12); a tiny budget is
    # spent on the conditions the user named
    noisy = budget >= NOISE_BUDGET and any(c.producer.link == "noise" for c in pool.values())

    # one noise model per chain: the sensor's own (``specific``), whichever words named the noise
    noise = [c for c in pool.values() if c.producer.link == "noise" and c.need]
    canon = min(noise, key=specific) if noise else None
    implied: set[str] = set()  # a detector fault the chain implies (dead elements) is not its noise

    def has_noise() -> bool:
        return any(c.producer.link == "noise" and c.primitive not in implied for c in chosen)

    def pick(
        options: list[Candidate], key: Callable[[Candidate], Any], reserve: bool = False, fault: bool = False
    ) -> None:
        """Add the best option; with ``reserve``, keep the last slot for sensor noise until it is in;
        with ``fault``, a noise-link pick is a detector fault the chain implies, not the sensor's noise."""
        options = [o for o in options if o.primitive not in used]
        if not options:
            return
        best = min(options, key=key)
        if best.producer.link == "noise" and _stands_for(canon, best, key is within, names, used):
            best = canon
        room = budget - len(chosen)
        if reserve and noisy and (best.producer.link != "noise" or fault) and not has_noise():
            room -= 1
        if room > 0:
            chosen.append(best)
            used.add(best.primitive)
            if fault:
                implied.add(best.primitive)

    def within(c: Candidate) -> tuple[int, int, int]:
        return link_rank(a, c)

    def signatures() -> None:
        for c in sorted(pool.values(), key=lambda c: c.order):  # what this kind of chain is known by
            if any(holds(s, a.facts, names) for s in c.producer.signature):
                pick([c], within, reserve=True)

    # a tiny budget (under NOISE_BUDGET) is spent on what the user listed before the chain's signature
    tiny = budget < NOISE_BUDGET
    if not tiny:
        signatures()
    stated = set(a.stated)

    def covered(cond: str) -> bool:
        return any(cond in c.producer.serves[:COVERS] for c in chosen)

    def cover(conditions: list[str]) -> None:
        for cond in sorted(set(conditions)):  # a set: the order the user named them in must not matter
            if not covered(cond):
                pick(
                    [c for c in pool.values() if serves(c, cond)],
                    functools.partial(rank, condition=cond),
                    reserve=True,
                )

    cover([c for c in a.named if c in stated])  # the deployment conditions the user listed come first
    if tiny:
        signatures()
    for d in sorted(a.direct, key=lambda d: d.primitive):  # those no knowledge-base condition covers
        c = pool[d.primitive]
        # lay words for grain ("speckly") stand for the chain's noise; a fault it does not model
        # (stuck pixels, bit errors) is exactly what the user named, and is no noise model
        own = canon is not None and any(serves(canon, cond) for cond in c.producer.serves)
        fault = c.producer.link == "noise" and canon is not None and not own
        pick([c], specific if fault else within, reserve=True, fault=fault)
    cover([c for c in a.named if c not in stated])  # then what the setup's words name ("fisheye")
    for c in sorted(pool.values(), key=lambda c: c.order):  # what the chain's facts make unavoidable
        modelled = {o.producer.serves[0] for o in chosen if o.producer.serves}
        if c.producer.serves and c.producer.serves[0] in modelled:
            continue  # the plan models this effect already (bit-depth loss stands for the codec)
        if c.primitive not in used and any(holds(s, a.facts, names) for s in c.producer.implied):
            pick([c], specific, reserve=True, fault=True)  # exactly this effect (no swap for noise)
    for link in LINK_ORDER:
        if link == "motion" and not a.facts.moving:
            continue
        if not (has_noise() if link == "noise" else any(c.producer.link == link for c in chosen)):
            # something moves, so the motion link stands for the movement itself (a smear along the
            # path), not a mount's vibration that only some of these chains add
            key = functools.partial(rank, condition="motion") if link == "motion" else within
            pick([c for c in pool.values() if c.producer.link == link and (c.need or c.prior)], key)
    links = {c.producer.link for c in chosen}

    def later(c: Candidate) -> tuple[int, int, bool, bool, int]:
        overlap = -len(names & set(c.producer.serves))
        return (c.priority, overlap, c.producer.link in links, c.need == "any", c.order)

    for c in sorted((c for c in pool.values() if c.primitive not in used), key=later):
        if len(chosen) >= budget:
            break
        chosen.append(c)
        used.add(c.primitive)
    return chosen
