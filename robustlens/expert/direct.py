"""Match a named deployment condition straight to the primitives' own descriptions.

A user names a condition in their own words ("slime grows on the housing window"); when no
knowledge-base condition recognises it, the condition must not be dropped (issue 12: "always consider
conditions the user names"). The fallback compares the condition's clauses with what each primitive
*is* -- the registry's one-line summary, the physical process (``physics.yaml`` ``why``) and how the
effect looks in a picture (``looks``) -- with the same matcher as everything else (lexical, then the
MiniLM sentence model; Reimers & Gurevych 2019, "Sentence-BERT", EMNLP), and keeps only primitives the
brief's imaging chain can produce, so the fallback can never plan what physics rules out.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from robustlens.expert.cues import _clean
from robustlens.expert.facts import ConditionMatch
from robustlens.expert.phrases import PhraseMatch, match_phrases, split_phrases
from robustlens.schemas import DomainBrief

__all__ = ["DIRECT_THRESHOLD", "DirectMatch", "direct_matches", "primitive_labels", "uncovered"]

# MiniLM cosines between a lay clause and a one-line physical description are low (0.4-0.6) even
# when they mean the same thing; the candidate restriction (physics) is what keeps this bar safe
DIRECT_THRESHOLD = 0.45
# a primitive no link of the chain produces, though no fact rules it out, needs the user's words to
# name it clearly: a lexical hit on its lay description or a higher cosine
POSSIBLE_THRESHOLD = 0.55
# the matcher's own floor: it asks a clause that shares only some of an example's words for a margin
# over the floor, which would otherwise stack on DIRECT_THRESHOLD ("particles on the glass")
MATCH_FLOOR = 0.3


@dataclass(frozen=True)
class DirectMatch:
    """A deployment condition (the user's item) and the primitive whose description matches it best."""

    item: str
    phrase: str
    primitive: str
    score: float
    method: str


def uncovered(brief: DomainBrief, matched: Sequence[ConditionMatch], modelled: Collection[str]) -> list[str]:
    """The deployment conditions (the user's items) no matched knowledge-base condition speaks for: none
    of their clauses matched a condition in ``modelled`` (those some candidate primitive models). They
    are matched to the primitives' own descriptions instead, so no condition the user names goes
    unplanned."""
    out = []
    for item in brief.deployment_conditions:
        clauses = set(_clean(split_phrases(item)))  # this item's share of ``condition_clauses(brief)``
        if not any(m.condition in modelled for m in matched if m.phrase in clauses):
            out.append(item)
    return out


@functools.cache
def primitive_labels() -> dict[str, list[str]]:
    """Per physics primitive: its registry summary, its physical process and how the effect looks."""
    from robustlens.corruptions import REGISTRY
    from robustlens.expert.physics import load_physics

    physics = load_physics()
    return {
        # a name of several words ("motion blur", "dead pixels") is the user naming the effect itself
        name: [
            *([name.replace("_", " ")] if "_" in name else []),
            REGISTRY[name].summary,
            p.why,
            *physics.looks.get(name, []),
        ]
        for name, p in physics.primitives.items()
    }


def direct_matches(
    items: Sequence[str],
    candidates: Collection[str],
    possible: Collection[str] = (),
    threshold: float = DIRECT_THRESHOLD,
) -> list[DirectMatch]:
    """Per deployment condition, the best primitive over its clauses (conditions without one omitted).

    ``candidates``: primitives the chain produces; ``possible``: primitives no fact rules out, which
    the user's words alone must name (POSSIBLE_THRESHOLD). Ties break on the primitive's name, so
    the same words always give the same primitive; a negated clause ("no rain") never yields one.
    """
    labels = primitive_labels()
    out: list[DirectMatch] = []

    def usable(m: PhraseMatch) -> bool:
        if m.negated:
            return False
        bar = threshold if m.label in candidates else max(threshold, POSSIBLE_THRESHOLD)
        return (m.label in candidates or m.label in possible) and (m.method == "lexical" or m.score >= bar)

    for item in items:
        clauses = _clean(split_phrases(item)) or [item]
        hits = match_phrases(clauses, labels, threshold=min(threshold, MATCH_FLOOR), top_k=len(labels))
        usable_hits = [m for m in hits if usable(m)]
        if not usable_hits:
            continue
        best = min(usable_hits, key=lambda m: (m.method != "lexical", -m.score, m.label))
        out.append(DirectMatch(item, best.phrase, best.label, best.score, best.method))
    return out
