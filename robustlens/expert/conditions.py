"""Match the deployment conditions a user names to the knowledge base's conditions.

Conditions the user names are always considered by the planner (never thrown away for being outside
a matched domain), so the matcher's bar is lower than the one for chain facts: lexical first, then
the MiniLM sentence model (``phrases.match_phrases``). Kept apart from ``chain.py`` (which infers
the physical facts of the imaging chain) because the two are tuned and tested separately.
"""

from __future__ import annotations

import dataclasses

from robustlens.expert.clauses import best_primitives, denies_good_state, vet
from robustlens.expert.cues import _clean
from robustlens.expert.facts import ConditionMatch
from robustlens.expert.lights import light_reading
from robustlens.expert.movers import denies_rest, says_it_moves
from robustlens.expert.phrases import PhraseMatch, content_stems, match_phrases, split_phrases
from robustlens.expert.physics import load_physics
from robustlens.expert.rereading import reread
from robustlens.schemas import DomainBrief

__all__ = ["condition_clauses", "match_conditions"]

CONDITION_THRESHOLD = 0.55  # a named condition is always considered, so its bar is lower
CONDITION_TOP_K = 2
CANDIDATES = 4  # hits per clause the vetting (``clauses.vet``) chooses from
SECOND_MARGIN = 0.03  # a second semantic condition must score this close to the first
LEXICAL_ONLY = 1.01  # a threshold no cosine reaches: lexical matching only
MOTION = "motion"  # the condition of a deployment-condition clause that says something moves


def condition_clauses(brief: DomainBrief) -> list[str]:
    """The clauses of the brief's deployment conditions as the condition matcher sees them."""
    return _clean(c for text in brief.deployment_conditions for c in split_phrases(text))


def match_conditions(
    brief: DomainBrief, conditions: dict[str, list[str]] | None = None
) -> tuple[list[ConditionMatch], list[str]]:
    """The knowledge-base conditions the user named, in the order named, and those ruled out ("no rain").

    Each deployment condition is matched (lexical, then semantic); the imaging setup's clauses are
    matched lexically only (it describes the optics: "fisheye lens", "infrared night vision"), and its
    hits pass the same homonym check as a condition's (``clauses.vet``: one shared word in a long clause
    needs the clause's meaning to agree, so "stills saved to flash memory" names no glare). A
    one-word condition name is not an example by itself ("over the water" is not turbid ``water``);
    a clause names one condition, plus a second only when that is as direct (see ``_second``); a
    negated clause rules out only its best match ("no rain" does not rule out clouds). A deployment
    condition's hits are vetted first (``clauses.vet``: echoes, homonyms, fragments, denials, and clauses
    a primitive's own description says better, which ``direct.py`` then plans). Each item is then
    re-read as a whole (``rereading.py``): dust or mist in the air versus on the window, and darkness
    beside light (uneven illumination, clipped highlights) rather than night.
    """
    vocab = conditions if conditions is not None else _kb_conditions()
    labels = {c: [*([c.replace("_", " ")] if "_" in c else []), *phrases] for c, phrases in vocab.items()}
    clauses = condition_clauses(brief)
    setup = [c for c in _clean(split_phrases(brief.imaging_setup)) if c not in clauses]
    matches = match_phrases(clauses, labels, threshold=CONDITION_THRESHOLD, top_k=CANDIDATES)
    # knowledge.yaml `words_only`: e.g. faded print, which a likeness finds in "shaky printer"
    words_only = _kb_words_only()
    matches = [m for m in matches if m.method == "lexical" or m.label not in words_only]
    # a denied rest is a movement ("patients who cannot hold their breath"), a denied good state a fault
    # ("never quite sharp"): neither rules its condition out
    matches = [
        dataclasses.replace(m, negated=False)
        if m.negated and (denies_rest(m.phrase) or denies_good_state(m.phrase))
        else m
        for m in matches
    ]
    by_clause: dict[str, list[PhraseMatch]] = {}
    for m in matches:
        by_clause.setdefault(m.phrase, []).append(m)
    primitives = best_primitives(list(by_clause)) if by_clause else {}
    by_clause = {c: kept for c, hits in by_clause.items() if (kept := vet(hits, labels, primitives.get(c)))}
    setup_hits: dict[str, list[PhraseMatch]] = {}
    for m in match_phrases(setup, labels, threshold=LEXICAL_ONLY, top_k=CANDIDATES):
        setup_hits.setdefault(m.phrase, []).append(m)
    for clause, hits in setup_hits.items():  # the same homonym checks: "a flash memory card" is no lamp
        if kept := vet(hits, labels)[:CONDITION_TOP_K]:
            by_clause.setdefault(clause, []).extend(kept)
    readings: dict[str, list[PhraseMatch]] = {}
    for clause, hits in by_clause.items():
        first, *others = hits
        readings[clause] = [first, *(m for m in others[:1] if _second(first, m))]
    items = {item: _clean(split_phrases(item)) for item in brief.deployment_conditions}
    readings = reread(items, readings, known=labels)  # where particles and water are; light beside dark
    if MOTION in labels:  # "people jump around", "the cow shifts her weight": a mover, in no example's words
        # a clause that states a movement in words beats a likeness to other conditions' examples
        # ("the liquid is still swirling" only reads like water on the lens)
        likeness = {c for c, hits in readings.items() if all(m.method == "semantic" for m in hits)}
        moving = [c for c in clauses if (c not in readings or c in likeness) and says_it_moves(c)]
        better = best_primitives(moving) if moving else {}
        for clause in moving:  # unless a primitive's own words say it better ("flying grit pits the window")
            best = better.get(clause)
            if (
                best is not None
                and load_physics().primitives[best.label].link != "motion"
                and (clause not in likeness or best.method == "lexical")  # a likeness yields to words
            ):
                continue
            readings[clause] = [PhraseMatch(clause, MOTION, 1.0, "lexical", example=clause)]
    # a coloured lamp, a lamp aimed at the lens: what a light does, in no example's words (``lights.py``)
    for clause in clauses:
        label = light_reading(clause)
        have = readings.get(clause, [])
        if label in labels and all(m.label != label for m in have):
            readings[clause] = [PhraseMatch(clause, label, 1.0, "lexical", example=clause), *have[:1]]
    named: list[ConditionMatch] = []
    negated: list[str] = []
    for clause in [*clauses, *setup]:
        for m in readings.get(clause, []):
            if m.negated:
                negated.append(m.label)
            else:
                score = min(1.0, max(0.0, m.score))
                named.append(ConditionMatch(phrase=m.phrase, condition=m.label, score=score, method=m.method))
    # "without flash, the lamp casts orange" beside "the flash bounces off the pieces": a denial in one
    # clause describes the other case, so a condition another listed condition names in words stays
    stated = {m.condition for m in named if m.method == "lexical" and m.phrase in clauses}
    return named, [n for n in dict.fromkeys(negated) if n not in stated]


def _second(first: PhraseMatch, m: PhraseMatch) -> bool:
    """Whether a clause's second match names a second condition rather than echoing the first.

    Kept only when neither is negated and it is as direct as the first: a lexical hit on words the
    first hit does not already use ("noisy images on older tubes": low SNR and ageing; but "dark
    corners" is not also "dark" night), or a semantic score within SECOND_MARGIN of a semantic first.
    """
    if first.negated or m.negated or first.method != m.method:
        return False
    if m.method == "lexical":
        return not content_stems(m.example) <= content_stems(first.example)
    return m.score >= first.score - SECOND_MARGIN


def _kb_conditions() -> dict[str, list[str]]:
    from robustlens.expert.knowledge import load_knowledge

    return load_knowledge().conditions


def _kb_words_only() -> frozenset[str]:
    from robustlens.expert.knowledge import load_knowledge

    return frozenset(load_knowledge().words_only)
