"""Who moves during the exposure: the camera (or what holds it) or the thing it images.

A cue list cannot say who moves: "sways" is camera motion when the pole sways in the wind and
subject motion when patients sway while they stand; "horses shift their weight", "the animals
toss their heads" and "a part swings on its hook" name no camera at all. Motion blur follows from
relative motion (Potmesil & Chakravarty 1983, "Modeling motion blur in computer-generated images",
SIGGRAPH), but which side moves decides the rest of the chain: a shaking camera blurs the whole
frame (camera shake, vibration), a moving subject blurs the subject against a sharp background.

So this module reads the clause, not a list of compounds: a clause with a motion verb (or a stated
speed) moves the *camera* when the camera or what carries it (a pole, a mast, a gantry, a tripod,
the hand that holds it) comes before the verb ("the pole sways"), and the *subject* otherwise
("packs move under the camera"); a clause that denies rest ("can't stand still", "never stops") says the
same. What the imaging setup says carries this brief's camera ("a camera bolted to the shearer", "held
by a diver") is a carrier too, before the verb ("the shearer shakes") or pushed about after it ("surge
pushes the diver back"). Clauses about light, colour, weather
or data ("the light shifts through the day", "clouds of steam drift past") move nothing: their
motion verbs describe something that does not blur the picture. A vehicle that carries the camera
is the platform, read from the imaging setup by the cue lists; a clause naming one is left to them.
Negated clauses ("the patient never moves") move nothing. The word lists are data (``chain.yaml``:
``motion``); this module only applies them.
"""

from __future__ import annotations

import functools
from typing import Any

from robustlens.expert.cues import load_cues
from robustlens.expert.quantities import speed
from robustlens.expert.words import (
    NOUN_NEGATIONS,
    compound_positions,
    light_compound,
    negation_at,
    negation_scope,
    split_phrases,
    stem,
    words,
)


@functools.cache
def _lists() -> dict[str, frozenset[str]]:
    motion: dict[str, Any] = load_cues().get("motion") or {}
    keys = ["verbs", "carriers", "still", "vehicles", "rest"]
    keys += ["mounting", "linking", "attach", "holding", "phrase_end", "not_things", "transitive"]  # carriers
    lists = {
        key: frozenset(" ".join(stem(w) for w in p.split()) for p in motion.get(key) or []) for key in keys
    }
    # the one-word platform cues (vehicle, truck, drone, robot...): a clause naming one is the platform's
    platform = [
        *load_cues()["facts"]["moving"]["platform"],
        *load_cues()["setup_facts"]["moving"]["platform"],
    ]
    single = {stem(ws[0]) for p in platform if len(ws := words(p)) == 1}
    # what names the camera itself (a carrier or a camera word), and what may stand between it and its
    # preposition ("a camera is bolted to"): derived once, read for every brief's setup
    cameras = lists["carriers"] | {stem(w) for w in load_cues().get("camera_words") or []}
    between = lists["mounting"] | lists["linking"]
    return {**lists, "vehicles": lists["vehicles"] | single, "cameras": cameras, "between": between}


def movers(
    clauses: list[str], vehicles: bool = True, carriers: frozenset[str] = frozenset()
) -> list[tuple[str, str]]:
    """``(value, clause)`` for every clause that says something moves: value ``camera`` when the
    clause names the camera or its carrier (the fixed list, or ``carriers``, what this brief's setup
    says carries its camera: ``setup_carriers``), ``subject`` otherwise (see the module docstring)."""
    lists = _lists()
    carriers = lists["carriers"] | carriers
    out: list[tuple[str, str]] = []
    for clause in clauses:
        ws = words(clause)
        stems = [stem(w) for w in ws]
        # light and its compounds ("spotlights", "headlights") move nothing; a vehicle is the platform's
        idle = _idle(ws, stems, vehicles)
        negation = negation_at(ws, compound_positions(clause))
        denied = range(0)
        if negation is not None:
            # a denied rest is motion: "can't stand still", "cars don't stop properly", "never stops"
            if _rest_after(stems, negation) and not idle:
                out.append(("camera" if set(stems[:negation]) & carriers else "subject", clause))
                continue
            if ws[negation] not in NOUN_NEGATIONS:
                continue
            # "without" and "no" deny only their noun phrase: "the sow gets up without warning" moves
            denied = range(negation, (negation_scope(clause) or (0, len(ws)))[1])
        pushed = any(i not in denied and _object(stems, i) & carriers for i in range(len(stems)))
        if pushed and not idle:  # "surge pushes the diver back": what carries the camera moves
            out.append(("camera", clause))
            continue
        verb = next(
            (
                i
                for i, s in enumerate(stems)
                if i not in denied and (s in lists["verbs"] or " ".join(stems[i : i + 2]) in lists["verbs"])
            ),
            None,
        )
        if verb is None and denied:
            continue
        if verb is None and speed(clause) is None:
            continue
        if idle:
            continue
        agent = stems[:verb] if verb is not None else stems  # who does the moving comes first
        out.append(("camera" if set(agent) & carriers else "subject", clause))
    return out


def _object(stems: list[str], verb: int) -> set[str]:
    """The words right after a verb that moves its object ("pushes the diver", "shakes the housing")."""
    lists = _lists()
    if stems[verb] not in lists["transitive"]:
        return set()
    return {s for s in stems[verb + 1 : verb + 4] if s not in lists["not_things"]}


def setup_carriers(text: str) -> frozenset[str]:
    """The stems of what ``text`` (the imaging setup) says carries the camera: the words after a
    mounting verb or a preposition right after a camera word ("a camera bolted to the shearer body",
    "a small camera in the fridge door", "held by a diver"), and the holder before "holds" or "carries"
    ("a snorkeller holds an action camera"). When that thing moves, the camera moves with it."""
    lists = _lists()
    found: set[str] = set()
    for clause in split_phrases(text):
        stems = [stem(w) for w in words(clause)]
        for i, s in enumerate(stems):
            if s in lists["holding"] and i > 0 and stems[i - 1] not in lists["not_things"]:
                found.add(stems[i - 1])  # "a snorkeller holds", "each diver carries"
            if s not in lists["cameras"] and s not in lists["mounting"]:
                continue
            j = i + 1
            while j < len(stems) and stems[j] in lists["between"]:
                j += 1  # "a camera is bolted to", "a camera sits in"
            if j < len(stems) and stems[j] in lists["attach"]:
                found |= _phrase(stems[j + 1 :])
    return frozenset(found)


def _phrase(stems: list[str]) -> set[str]:
    """The thing words (four at most) of the noun phrase opening ``stems`` ("the inside of the bin lid")."""
    lists = _lists()
    out: set[str] = set()
    for s in stems[:8]:
        if s in lists["phrase_end"] or len(out) == 4:
            break
        if s not in lists["not_things"] and not s.isdigit() and len(s) > 2:
            out.add(s)
    return out


def _idle(ws: list[str], stems: list[str], vehicles: bool = True) -> bool:
    """A clause about light, colour, weather or data (``still``), a lamp, or (with ``vehicles``) a
    vehicle, whose motion verbs say nothing about blur."""
    lists = _lists()
    idle = lists["still"] | lists["vehicles"] if vehicles else lists["still"]
    return bool(set(stems) & idle) or any(light_compound(w) for w in ws)


def denies_rest(clause: str) -> bool:
    """Whether the clause's negation denies rest ("patients who cannot hold their breath", "won't keep
    still"): that states a movement, so the conditions it names are not ruled out."""
    ws = words(clause)
    negation = negation_at(ws, compound_positions(clause))
    return negation is not None and _rest_after([stem(w) for w in ws], negation)


def _rest_after(stems: list[str], negation: int) -> bool:
    """A rest word ("still", "stop", "breath") after the negation cue: the clause denies rest."""
    return bool(set(stems[negation + 1 :]) & _lists()["rest"])


def says_it_moves(clause: str) -> bool:
    """Whether ``clause`` states that something moves ("people jump around", "the cow shifts her weight",
    "the whole harvester shakes", "a shaky printer", "the diver floats about"), not a noun phrase that
    opens with a verb form ("flying saucers", "sliding doors", "swing gates"). A vehicle in the clause
    counts here (the platform's cue lists decide who carries the camera; that it moves is stated)."""
    ws = words(clause)
    if not ws:
        return False
    first = ws[0]
    # an adjective of motion ("shaky", "jerky", "wobbly") or "fast" says its noun moves
    opener = (
        stem(first) in _lists()["verbs"] and not (first.endswith("y") and len(first) > 4) and first != "fast"
    )
    return not opener and (bool(movers([clause], vehicles=False)) or _drifts_about(ws))


def _drifts_about(ws: list[str]) -> bool:
    """A clause that ends in a particle of aimless movement ("floats about", "gets pushed around",
    "the current pushes the diver along"): the particle says the verb moves something."""
    if len(ws) < 3 or ws[-1] not in PARTICLES or ws[-2].isdigit() or negation_at(ws) is not None:
        return False
    return not _idle(ws, [stem(w) for w in ws], vehicles=False)


PARTICLES = frozenset({"about", "around", "along"})
