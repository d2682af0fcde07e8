"""Decide what one named condition clause is about: a knowledge-base condition, a primitive, or nothing.

The matcher (``phrases.match_phrases``) proposes hits; this module vets them, because the cheapest hits
are the loosest. A word can carry several senses ("vans *flash* past", "the *old* quarter of the city", "the
tank water turns *cloudy*", "*dark* corners"), so:

- a hit on an example that another hit of the same clause contains is an echo ("dark" inside "dark
  corners") and is dropped;
- a semantic hit on a clause whose telling words are all among the example's is a fragment ("small"
  against "small object", "the lens" against "film on the lens") and is dropped;
- a one-word hit in a clause of several content words must also be supported by the clause's meaning:
  the clause's sentence embedding (MiniLM, Reimers & Gurevych 2019, "Sentence-BERT", EMNLP) must come
  within ``SUPPORT`` cosine of one of the condition's examples, otherwise the word is a homonym;
- a clause that only says the condition does not happen ("snow does not occur at this altitude": a
  negation cue, and beside the condition's words only words of being, happening or place) rules it out;
- when the clause says more precisely what a *primitive* looks like (``physics.yaml`` ``looks:``, the
  registry summary and the physical ``why``) than what any condition it hit means, the condition hits
  are dropped, so ``direct.py`` plans that primitive from the user's words ("the same few pixels are
  bright in every frame" is a stuck-pixel defect, not a low resolution). Lay and expert wordings of one effect
  then meet at the same primitive instead of at whichever condition shares a word.

Lexical only (no sentence model): the support and arbitration checks cannot run and every hit stands.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping, Sequence
from typing import Any

from robustlens.expert import sentences
from robustlens.expert.cues import load_cues
from robustlens.expert.phrases import NEGATIONS, PhraseMatch, content_stems, match_phrases, semantic_available
from robustlens.expert.words import negation_scope
from robustlens.expert.words import words as phrases_words

__all__ = ["ARBITRATION_MARGIN", "SUPPORT", "best_primitives", "support", "vet"]

# cosine a one-word hit's clause needs to one of the condition's examples (calibrated on dev half A:
# homonyms mostly score 0.13-0.31, meant uses mostly 0.32 and up; "in the old town" -> ageing: 0.22)
SUPPORT = 0.32
LONG_CLAUSE = 3  # content words from which one shared word no longer says what a clause is about
# how much closer a clause must be to a primitive's description than to its best semantic condition
# (none: the closer description wins; a tie keeps the condition)
ARBITRATION_MARGIN = 0.0
PRIMITIVE_FLOOR = 0.45  # a primitive's description must match at least this well to win a clause
EXISTENCE = content_stems(
    "occur occurs happen happens exist exists appear appears reach reaches fall falls problem issue "
    "ever here there area region climate place site location country town city altitude elevation do does "
    "did will would visible seen view frame frames shot"
)
NEGATION_STEMS = content_stems(" ".join(sorted(NEGATIONS)))
THIN = 0.8  # a semantic hit on a clause with one telling word ("get light") must be this close
# words that say nothing about a condition by themselves ("get light", "the picture is being taken")
GENERIC = frozenset(
    content_stems(
        "get gets got make makes made take taken go goes come comes look looks become be have has "
        "picture pictures image images photo photos camera cameras thing things bit little slightly "
        "always sometimes often part parts one some so"
    )
)


def _key(examples: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(str(e) for e in examples))


@functools.lru_cache(maxsize=512)
def _examples_matrix(examples: tuple[str, ...]) -> Any:
    return sentences.cached_embed(list(examples))


def support(clause: str, examples: Sequence[str]) -> float:
    """The best cosine between a clause and a label's examples (1.0 when no sentence model loads)."""
    if not semantic_available() or not examples:
        return 1.0
    row = sentences.embed_clauses([clause])[0]
    return float((_examples_matrix(_key(examples)) @ row).max())


def best_primitives(clauses: Sequence[str]) -> dict[str, PhraseMatch]:
    """Per clause, the primitive whose own description matches it best (lexical, else semantic)."""
    from robustlens.expert.direct import MATCH_FLOOR, primitive_labels

    hits = match_phrases(list(clauses), primitive_labels(), threshold=MATCH_FLOOR, top_k=1)
    return {m.phrase: m for m in hits if not m.negated and m.score >= PRIMITIVE_FLOOR}


def _size(m: PhraseMatch) -> int:
    return len(content_stems(m.example))


def vet(
    hits: Sequence[PhraseMatch], labels: Mapping[str, Sequence[str]], primitive: PhraseMatch | None = None
) -> list[PhraseMatch]:
    """The hits of one clause (best first) that say what the clause is about; [] when a primitive's
    description (``primitive``, from ``best_primitives``) says it better than every condition hit."""
    if not hits:
        return []
    clause = hits[0].phrase
    lexical = [m for m in hits if m.method == "lexical"]
    kept = []
    for m in hits:
        if m.method == "lexical":
            stems = content_stems(m.example)
            if any(stems < content_stems(o.example) for o in lexical if o is not m):
                continue  # an echo inside a longer hit: "dark" in "dark corners"
            long = _size(m) == 1 and len(content_stems(clause)) >= LONG_CLAUSE
            if long and support(clause, labels.get(m.label, [])) < SUPPORT:
                continue  # one shared word with another sense: "vans flash past"
        elif _fragment(clause, m.example) or (len(content_stems(clause) - GENERIC) <= 1 and m.score < THIN):
            continue  # "small" is not "small object", "get light" not "coloured light"
        kept.append(m)
    if kept and denied(clause, kept[0]):
        kept = [dataclasses.replace(kept[0], negated=True)]
    if primitive is not None and primitive.method == "lexical" and _size(primitive) > 1:
        # the effect named by its own name ("motion blur"): a word of that name is no second condition
        # ("blur" is not also a focus problem), unless the named effect models it too
        named = content_stems(primitive.example)
        kept = [m for m in kept if _serves([m], primitive.label) or not content_stems(m.example) <= named]
    if not kept or any(m.negated for m in kept) or primitive is None or _serves(kept, primitive.label):
        return kept  # a condition that plans this primitive anyway already says it
    if any(m.method == "lexical" and _size(m) > 1 for m in kept):
        return kept  # a condition named in several words is precise enough
    if primitive.method == "lexical" and _size(primitive) > 1:
        return []  # "hot pixels", "stuck pixels": the effect itself, named
    semantic = [m.score for m in kept if m.method == "semantic"]
    margin = max(semantic, default=1.0) + ARBITRATION_MARGIN
    closer = primitive.method == "semantic" and primitive.score > margin
    return [] if closer and len(semantic) == len(kept) else kept


def denied(clause: str, m: PhraseMatch) -> bool:
    """A clause that only says the condition (or fact) does not hold ("snow does not occur in this
    climate", "rain never reaches here", "the sky is never in the picture"): a negation cue and,
    beside the condition's words, only words of being, happening, place or view. The matcher reads a
    cue only before the condition's words. A denied good state ("the picture is never sharp") says the
    fault holds, so it is no denial."""
    words = set(phrases_words(clause))
    if m.negated or not words & NEGATIONS or denies_good_state(clause):
        return False
    return content_stems(clause) - content_stems(m.example) - EXISTENCE - NEGATION_STEMS <= GENERIC


def denies_good_state(clause: str) -> bool:
    """Whether the clause's negation denies a good state ("often don't get it quite sharp", "the window
    is never clean"): that states the fault, so the condition it names holds (``chain.yaml``:
    ``good_states``)."""
    scope = negation_scope(clause)
    if scope is None:
        return False
    denied = f" {' '.join(phrases_words(clause)[scope[0] : scope[1]])} "
    return any(f" {state} " in denied for state in _good_states())


@functools.cache
def _good_states() -> tuple[str, ...]:
    return tuple(load_cues().get("good_states") or ())


def _fragment(clause: str, example: str) -> bool:
    """A clause that says only part of what the example says (its telling words all among the
    example's): a semantic score for it measures the shared word, not the meaning."""
    telling = content_stems(clause) - GENERIC
    return telling <= content_stems(example)


def _serves(hits: Sequence[PhraseMatch], primitive: str) -> bool:
    from robustlens.expert.physics import load_physics

    producer = load_physics().primitives.get(primitive)
    return producer is not None and any(m.label in producer.serves for m in hits)
