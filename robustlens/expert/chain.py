"""Infer the imaging chain of a deployment from a brief's free text (the offline expert's first step).

The chain -- scene, what moves, light source, sensor and modality, processing, whether the sky is in
view -- decides which corruptions are physically possible, much more than the application's name
does (Hendrycks & Dietterich 2019, "Benchmarking Neural Network Robustness to Common Corruptions",
ICLR, group corruptions by the physical process that makes them: noise, blur, weather, digital).
Cue phrases are data (``chain.yaml``) matched clause by clause with ``match_phrases`` (lexical,
then the MiniLM sentence model): precise where they hit. Wordings no cue list foresaw ("a thin tube
with a camera passed down the throat") are read by the prototype classifier (``prototypes.py``:
each value described in general sentences, nearest prototype with a threshold and a margin), which
fills the fields the cues left silent and adds a value when its vote is strong. Every fact keeps
the user's words as evidence. Negated clauses ("no sky", "never outdoors") remove a fact;
``brief.chain`` (the user's corrections) overrides everything; when the brief is silent, a field
stays empty (conservative).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from robustlens.errors import UserInputError, did_you_mean
from robustlens.expert.clauses import denied as denied_in
from robustlens.expert.colours import monochrome
from robustlens.expert.conditions import LEXICAL_ONLY, condition_clauses, match_conditions
from robustlens.expert.cues import (
    CHAIN_PATH,
    _allowed,
    _clean,
    _fields,
    aside_clauses,
    brief_clauses,
    load_cues,
)
from robustlens.expert.facts import ChainFacts, Evidence
from robustlens.expert.movers import movers, setup_carriers
from robustlens.expert.phrases import match_phrases, split_phrases
from robustlens.expert.prototypes import classify
from robustlens.expert.senses import described_elsewhere, destination, homonym_words
from robustlens.schemas import DomainBrief

__all__ = ["CHAIN_PATH", "brief_clauses", "condition_clauses", "infer_chain", "load_cues", "match_conditions"]

FACT_THRESHOLD = 0.72  # semantic similarity a clause needs to set a chain fact (facts are strict)
FACT_TOP_K = 12
LIST_FIELDS = ("scene", "moving", "light", "sensor", "processing", "specimen", "colour")
# fields whose values are rival identities of one device (an X-ray scanner is no MRI magnet), unlike
# light, where a strong vote refines the cue words ("lamps that flicker": artificial, and fluorescent)
RIVAL_FIELDS = ("sensor", "modality")
PAGE_FACTS = ("scene=page", "sensor=scanner")  # a scanned page: said in words where a camera is named
STRONG_VOTE = 0.65  # a prototype vote this similar adds a value even to a field the cue words set


def infer_chain(brief: DomainBrief, *, conditions: dict[str, list[str]] | None = None) -> ChainFacts:
    """The imaging chain of ``brief``: every fact with the brief's words that support it.

    ``conditions`` maps knowledge-base deployment conditions to example phrases (default: the bundled
    knowledge base); each of the brief's ``deployment_conditions`` is matched against them.
    """
    cues = load_cues()
    labels = {
        f"{name}={value}": phrases
        for name, values in cues["facts"].items()
        for value, phrases in values.items()
    }
    setup_labels = {
        f"{name}={value}": phrases
        for name, values in (cues.get("setup_facts") or {}).items()
        for value, phrases in values.items()
    }
    found: dict[str, list[str]] = {}
    methods: dict[str, str] = {}
    denied: dict[str, int] = {}
    clauses = brief_clauses(brief)
    # a class name ("horizon only") says what is in view, never what carries the camera
    shown = [c for c in brief_clauses(brief, class_names=True) if c not in clauses]
    matches = match_phrases(shown, sky_labels(labels), threshold=LEXICAL_ONLY, top_k=FACT_TOP_K)
    # the device's own words: "the X-ray clinic" or "an X-ray counter" names a neighbour, no sensor
    device = {k: v for k, v in labels.items() if k.startswith("sensor=") or k == "light=transmission"}
    heads = cues.get("neighbour_heads") or []
    matches += match_phrases(
        clauses,
        {k: v for k, v in labels.items() if k not in device},
        threshold=FACT_THRESHOLD,
        top_k=FACT_TOP_K,
    )
    matches += match_phrases(clauses, device, threshold=FACT_THRESHOLD, top_k=FACT_TOP_K, heads=heads)
    asides = aside_clauses(brief.imaging_setup)
    setup = [c for c in _clean(split_phrases(brief.imaging_setup)) if c not in asides]
    matches += match_phrases(setup, setup_labels, threshold=LEXICAL_ONLY, top_k=FACT_TOP_K)
    carriers = setup_carriers(f"{brief.imaging_setup}. {brief.description}")
    for value, clause in movers(clauses, carriers=carriers):  # who moves: read from the clause
        found.setdefault(f"moving={value}", []).append(clause)
        methods.setdefault(f"moving={value}", "lexical")
    for clause in monochrome(clauses):  # read in place: "black-and-white cows" are no mono camera
        found.setdefault("colour=mono", []).append(clause)
        methods.setdefault("colour=mono", "lexical")
    homonyms = homonym_words(brief, cues)
    camera = any(
        not m.negated
        for m in match_phrases(clauses, {"camera": cues.get("camera_words") or []}, threshold=LEXICAL_ONLY)
    )
    # a clause that names its device in so many words has named it: no rival from a likeness
    said_in = {(m.phrase, m.label.partition("=")[0]) for m in matches if m.method == "lexical"}
    for m in matches:
        if homonyms.void(m.label, m.example, m.method):
            continue  # "dry powder slides": no microscope slide without a microscope's world
        if m.method == "semantic" and _overruled(m.label, m.phrase, said_in, camera):
            continue
        if m.label == "scene=indoor" and destination(m.phrase, m.example):
            continue  # "video to the control room": where it is watched, not where the camera is
        if m.negated or (m.method == "lexical" and denied_in(m.phrase, m)):  # "the sky is never in view"
            denied[m.label] = denied.get(m.label, 0) + 1
            continue
        found.setdefault(m.label, []).append(m.phrase)
        methods.setdefault(m.label, m.method)
    described_elsewhere(found, brief, setup, cues)
    # a negation rules a fact out unless the brief asserts it more often than it denies it
    # (a stray "none" in a list of class names must not delete the modality named twice elsewhere)
    ruled_out = {label for label, n in denied.items() if n >= len(found.get(label, []))}
    void = set(homonyms.likeness)  # no vote without its world
    _add_votes(
        brief,
        found,
        methods,
        ruled_out | void,
        lambda label, phrase: _overruled(label, phrase, said_in, camera),
    )
    values: dict[str, Any] = {f: [] for f in LIST_FIELDS}
    values["modality"] = None
    values["sky_in_view"] = None
    evidence: list[Evidence] = []
    for label, phrases in found.items():
        if label in ruled_out:
            continue
        name, _, value = label.partition("=")
        if name == "sky_in_view":
            if values["sky_in_view"] is None or value == "false":  # "looks down" beats a stray "sky"
                values["sky_in_view"] = value == "true"
        elif name == "modality":  # named outright ("optical coherence tomography"): the first one said
            if values["modality"] is not None:
                continue
            values["modality"] = value
        else:
            values[name].append(value)
        evidence.append(Evidence(fact=label, phrases=phrases, method=methods[label]))
    if values["sky_in_view"] is not None:
        evidence = [
            e for e in evidence if not e.fact.startswith("sky_in_view=") or _sky(e) == values["sky_in_view"]
        ]
    _no_sky_indoors(values, evidence, cues)
    _apply_implications(values, evidence, cues, ruled_out, clauses)
    _apply_recapture(values, evidence, clauses, cues)
    _apply_modality_words(values, evidence, clauses, cues)
    _apply_user(values, evidence, brief.chain)
    named, negated = match_conditions(brief, conditions)
    unseen = _unseen(values)
    return ChainFacts(
        **{f: sorted(set(values[f])) for f in LIST_FIELDS},
        modality=values["modality"],
        sky_in_view=values["sky_in_view"],
        conditions=[c for c in named if c.condition not in negated and c.condition not in unseen],
        evidence=sorted(evidence, key=lambda e: e.fact),
        ruled_out=negated,
    )


def _unseen(values: dict[str, Any]) -> set[str]:
    """Conditions the chain cannot record (chain.yaml ``unseen``): room light in an ultrasound picture."""
    out: set[str] = set()
    for fact, conditions in (load_cues().get("unseen") or {}).items():
        name, _, value = fact.partition("=")
        have = values.get(name)
        if have == value or (isinstance(have, list) and value in have):
            out.update(conditions)
    return out


def _add_votes(
    brief: DomainBrief,
    found: dict[str, list[str]],
    methods: dict[str, str],
    ruled_out: set[str],
    overruled: Callable[[str, str], bool],
) -> None:
    """Fields the cue words left silent take the prototype classifier's vote (``prototypes.py``): the
    cues are precise where they hit, the prototypes read the wordings no cue list foresaw. A vote of at
    least STRONG_VOTE also adds its value beside the cues' ("lamps" that "flicker" are fluorescent);
    a value the brief negates, or one a named fact vetoes (chain.yaml ``vetoes``), is never added."""
    said = {label.partition("=")[0] for label in found if label not in ruled_out}
    vetoes = load_cues().get("vetoes") or {}
    vetoed = {v for label in found if label not in ruled_out for v in vetoes.get(label, ())}
    for vote in classify(brief):
        if (vote.field in said and vote.score < STRONG_VOTE) or vote.label in ruled_out | vetoed:
            continue
        if vote.label not in found and overruled(vote.label, vote.phrase):
            continue
        found[vote.label] = [vote.phrase]
        methods[vote.label] = "semantic"


def _overruled(label: str, phrase: str, said_in: set[tuple[str, str]], camera: bool) -> bool:
    """Whether the brief's own words overrule a semantic reading (a likeness or a prototype vote) of
    ``label`` from ``phrase``: a clause that names its device in words has no rival device ("a small
    x-ray scanner that spins around the head" only reads like an MRI magnet), and where a camera is
    named a scanned page needs words (its video "digitised in the control room" is no page scan)."""
    field = label.partition("=")[0]
    return (field in RIVAL_FIELDS and (phrase, field) in said_in) or (camera and label in PAGE_FACTS)


def sky_labels(labels: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in labels.items() if k.startswith("sky_in_view=")}


def _sky(e: Evidence) -> bool:
    return e.fact == "sky_in_view=true"


def _no_sky_indoors(values: dict[str, Any], evidence: list[Evidence], cues: dict[str, Any]) -> None:
    """Indoors, a camera that "looks up" sees a ceiling: sky cues that only give a direction set no sky
    there (a skylight or a glass roof, named, still does)."""
    if not values["sky_in_view"] or not _indoors(values):
        return
    phrases = [p for e in evidence if e.fact == "sky_in_view=true" for p in e.phrases]
    directions = {"direction": cues.get("sky_directions") or []}
    hits = {m.phrase for m in match_phrases(phrases, directions, threshold=LEXICAL_ONLY)}
    if phrases and all(p in hits for p in phrases):
        values["sky_in_view"] = False
        evidence[:] = [e for e in evidence if e.fact != "sky_in_view=true"]
        phrases = _phrases_for(evidence, "scene=indoor")
        evidence.append(Evidence(fact="sky_in_view=false", phrases=phrases, method="default"))


def _apply_implications(
    values: dict[str, Any],
    evidence: list[Evidence],
    cues: dict[str, Any],
    ruled_out: set[str],
    clauses: list[str],
) -> None:
    """Defaults implied by what was found (an endoscope images in the body), only for silent fields."""
    said = {f for f in (*LIST_FIELDS, "modality", "sky_in_view") if values[f] not in (None, [])}
    night = match_phrases(clauses, {"night": cues.get("night_only") or []}, threshold=LEXICAL_ONLY)
    night_only = any(not m.negated for m in night)
    for key, implied in (cues.get("implies") or {}).items():
        name, _, value = key.partition("=")
        if not _holds(values, name, value):
            continue
        for field, want in implied.items():
            # where the scene is, or the modality, is what the brief says when it says one -- but a
            # scanner's page or a microscope's slide lies indoors: "indoor" is no contradiction
            indoor_only = field == "scene" and set(values["scene"]) <= {"indoor"}
            if field in said and field in ("scene", "modality", "sky_in_view") and not indoor_only:
                continue
            if field == "light" and "sun" in want and (_indoors(values) or night_only):
                continue  # a drone flying inside a warehouse, a camera that records only at night: no sun
            items = want if isinstance(want, list) else [want]
            for item in items:
                label = f"{field}={str(item).lower()}"
                if label in ruled_out or _holds(values, field, str(item).lower()):
                    continue
                if isinstance(want, list):
                    values[field].append(item)
                else:
                    values[field] = item
                evidence.append(Evidence(fact=label, phrases=_phrases_for(evidence, key), method="default"))
    if (
        "platform" in values["moving"]
        and "camera" not in values["moving"]
        and "moving=camera" not in ruled_out
    ):
        values["moving"].append("camera")  # a camera on a moving platform moves with it
        evidence.append(
            Evidence(
                fact="moving=camera", phrases=_phrases_for(evidence, "moving=platform"), method="default"
            )
        )
    if values["modality"] is None:
        for sensor, modality in (cues.get("modality") or {}).items():
            if sensor in values["sensor"]:
                values["modality"] = modality
                evidence.append(
                    Evidence(
                        fact=f"modality={modality}",
                        phrases=_phrases_for(evidence, f"sensor={sensor}"),
                        method="default",
                    )
                )
                break
    if (
        values["sky_in_view"] is None
        and values["scene"]
        and (_indoors(values) or not {"outdoor", "aerial"} & set(values["scene"]))
    ):
        values["sky_in_view"] = False
        evidence.append(
            Evidence(fact="sky_in_view=false", phrases=_phrases_for(evidence, "scene="), method="default")
        )


def _apply_recapture(
    values: dict[str, Any], evidence: list[Evidence], clauses: list[str], cues: dict[str, Any]
) -> None:
    """A camera beside a non-camera modality (a phone and an X-ray) that photographs its output (a film
    on a lightbox, a monitor): a phone cannot be an X-ray detector, so the pixels are a photograph."""
    cameras = {"phone", "consumer_camera"} & set(values["sensor"])
    if not cameras or values["modality"] not in ("transmission", "tomographic", "acoustic"):
        return
    hits = match_phrases(clauses, {"recapture": cues.get("recapture") or []}, threshold=LEXICAL_ONLY)
    if not hits:
        return
    values["modality"] = "photograph"
    evidence[:] = [e for e in evidence if not e.fact.startswith("modality=")]
    phrases = list(dict.fromkeys(m.phrase for m in hits))[:3]
    evidence.append(Evidence(fact="modality=photograph", phrases=phrases, method="lexical"))


def _apply_modality_words(
    values: dict[str, Any], evidence: list[Evidence], clauses: list[str], cues: dict[str, Any]
) -> None:
    """No sensor named: "scanned invoices" are scans of a page, "trail cameras" or "photos" photographs."""
    if values["modality"] is not None or values["sensor"]:
        return
    kinds = [("scan", "scan_words")] if "page" in values["scene"] else []
    for modality, key in [*kinds, ("photograph", "camera_words")]:
        hits = match_phrases(clauses, {modality: cues.get(key) or []}, threshold=LEXICAL_ONLY)
        if hits:
            values["modality"] = modality
            phrases = list(dict.fromkeys(m.phrase for m in hits))[:3]
            evidence.append(Evidence(fact=f"modality={modality}", phrases=phrases, method="default"))
            return


def _indoors(values: dict[str, Any]) -> bool:
    """The brief places the camera indoors and never outdoors (an aerial platform may fly inside)."""
    return "indoor" in values["scene"] and "outdoor" not in values["scene"]


def _holds(values: dict[str, Any], name: str, value: str) -> bool:
    current = values.get(name)
    if isinstance(current, list):
        return value in current
    if name == "sky_in_view":
        return current is not None and str(current).lower() == value
    return current == value


def _phrases_for(evidence: list[Evidence], prefix: str) -> list[str]:
    return list(dict.fromkeys(p for e in evidence if e.fact.startswith(prefix) for p in e.phrases))[:3]


def _apply_user(values: dict[str, Any], evidence: list[Evidence], chain: dict[str, Any]) -> None:
    """The user's corrections (``brief.chain``) win over inference; bad keys/values are UserInputErrors."""
    for name, given in (chain or {}).items():
        if name not in _fields():
            hint = did_you_mean(name, _fields())
            raise UserInputError(
                f"Unknown imaging-chain fact {name!r} in the brief's 'chain'. {hint}".strip(),
                why="chain overrides use the fields of robustlens.expert.facts.ChainFacts.",
                fix=f"Use one of: {', '.join(_fields())}.",
                field=f"chain.{name}",
            )
        allowed = _allowed(name) or ()
        if name == "sky_in_view":
            if not isinstance(given, bool):
                raise _user_value(name, given, "true or false")
            values[name] = given
            shown = [str(given).lower()]
        elif name == "modality":
            if given is not None and given not in allowed:
                raise _user_value(name, given, ", ".join(allowed))
            values[name] = given
            shown = [str(given)]
        else:
            items = [given] if isinstance(given, str) else given
            if not isinstance(items, list) or any(i not in allowed for i in items):
                raise _user_value(name, given, ", ".join(allowed))
            values[name] = list(items)
            shown = [str(i) for i in items]
        evidence[:] = [e for e in evidence if not e.fact.startswith(f"{name}=")]
        evidence.extend(
            Evidence(fact=f"{name}={v}", phrases=[f"chain: {name}"], method="user") for v in shown
        )


def _user_value(name: str, given: Any, allowed: str) -> UserInputError:
    return UserInputError(
        f"Invalid value {given!r} for imaging-chain fact {name!r} in the brief's 'chain'.",
        why=f"{name} accepts: {allowed}.",
        fix=f"Correct chain.{name} in the brief.",
        field=f"chain.{name}",
    )
