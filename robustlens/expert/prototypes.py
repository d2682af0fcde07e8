"""Classify a brief's clauses into imaging-chain facts by their nearest written prototype description.

Cue lists (``chain.yaml``) only know the words someone thought of; users describe an endoscope as "the
long flexible tube with a tiny camera" or a scanner as "the machine the pages go through". Each value
of a fact field is described instead by a few short general sentences (``prototypes.yaml``), embedded
once with the MiniLM sentence model (all-MiniLM-L6-v2; Reimers & Gurevych 2019, "Sentence-BERT",
EMNLP), and every clause of the brief is compared with them -- a nearest-prototype classifier in the
spirit of prototypical networks (Snell et al. 2017, NeurIPS), with one prototype per sentence rather
than a mean, since a value has several unlike faces (a fixed camera sees moving *objects* on a belt
or *people* walking past).

Decision rule, per field: a clause votes for the field's value whose nearest prototype is most similar,
when that similarity clears the field's ``threshold`` and beats every other value of the field by
``margin`` (a clause that is equally near "indoor" and "outdoor" says neither). A field may also
describe ``other``: what clauses that only *sound* like the field say ("the photos are sent over a
mobile network" is about transmission, not about a phone taking them); a clause nearest to those
casts no vote (a background class, as in open-set recognition). The brief's strongest
vote per field wins, so paraphrases of one deployment settle on the same value. Negated clauses ("never
outdoors") and clauses whose place words oppose the prototype's ("over the water" vs "underwater") do
not vote. Only the parts of the brief named in a field's ``sources`` vote (a deployment condition such
as "glare from the monitor" names no sensor), and a clause of one content word ("a lens") does not
vote: it carries too little context. The caller (``chain.py``) uses a vote for a field its
high-precision lexical cues left silent, or, when the vote is strong, as one more value of the field.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from robustlens.expert import phrases, sentences
from robustlens.expert.cues import _allowed, _clean, aside_clauses, class_name, load_cues
from robustlens.expert.datafile import entry_error, read_yaml
from robustlens.expert.names import heads_key, without_names
from robustlens.expert.phrases import content_stems, opposed
from robustlens.expert.words import leading_negation, negation_at, split_phrases, worded, words
from robustlens.schemas import DomainBrief

PROTOTYPES_PATH = Path(__file__).with_name("prototypes.yaml")
SOURCES = ("domain", "description", "setup", "conditions")
DEVICE_FIELDS = ("sensor", "modality")  # what a neighbour's name ("the MRI suite") must not set
OTHER = ""  # the background value: clauses about something else (open-set rejection); never a fact


@dataclass(frozen=True)
class FieldRule:
    """One fact field's prototypes and decision rule."""

    name: str
    threshold: float
    margin: float
    sources: tuple[str, ...]
    values: tuple[tuple[str, tuple[str, ...]], ...]  # (value, prototype descriptions)


@dataclass(frozen=True)
class Vote:
    """The brief's strongest clause for one field's value."""

    field: str
    value: str
    phrase: str  # the user's clause, verbatim
    score: float  # cosine similarity to the nearest prototype
    lead: float  # how far it beats the field's next value in that clause
    prototype: str  # the description it was nearest to

    @property
    def label(self) -> str:
        return f"{self.field}={self.value}"


@functools.cache
def load_prototypes(path: str | None = None) -> tuple[FieldRule, ...]:
    """The validated prototype file; a malformed one raises UserInputError naming the entry."""
    file = Path(path) if path else PROTOTYPES_PATH
    data = read_yaml(file, _bad, "fields")
    fields = data.get("fields")
    if not isinstance(fields, dict) or not fields:
        raise _bad(file, "'fields' must map ChainFacts fields to prototypes", "fields")
    rules = []
    for name, spec in fields.items():
        allowed = _allowed(str(name))
        if allowed is None or not isinstance(spec, dict):
            raise _bad(file, f"unknown fact field {name!r}", f"fields.{name}")
        try:
            threshold, margin = float(spec["threshold"]), float(spec["margin"])
        except (KeyError, TypeError, ValueError):
            raise _bad(file, f"{name}: give a numeric threshold and margin", f"fields.{name}") from None
        sources = tuple(spec.get("sources") or SOURCES)
        if not set(sources) <= set(SOURCES):
            raise _bad(file, f"{name}: sources must be among {', '.join(SOURCES)}", f"fields.{name}.sources")
        values = []
        for value, descriptions in (spec.get("values") or {}).items():
            if str(value) not in allowed:
                raise _bad(file, f"{name}: unknown value {value!r}", f"fields.{name}.values.{value}")
            if not descriptions or not all(isinstance(d, str) and d.strip() for d in descriptions):
                raise _bad(
                    file, f"{name}.{value}: give a list of descriptions", f"fields.{name}.values.{value}"
                )
            values.append((str(value), tuple(descriptions)))
        if len(values) < 2:
            raise _bad(file, f"{name}: a margin needs at least two values", f"fields.{name}.values")
        other = spec.get("other") or []
        if not all(isinstance(d, str) and d.strip() for d in other):
            raise _bad(file, f"{name}.other: give a list of descriptions", f"fields.{name}.other")
        if other:
            values.append((OTHER, tuple(other)))
        rules.append(FieldRule(str(name), threshold, margin, sources, tuple(values)))
    return tuple(rules)


_bad = entry_error(
    "imaging-chain prototype", "prototypes describe the values of robustlens.expert.facts.ChainFacts fields."
)


def source_clauses(brief: DomainBrief) -> list[tuple[str, str]]:
    """(source, clause) for every clause of the brief's free text, decoy compounds replaced."""
    texts = [("domain", brief.domain), ("description", brief.description), ("setup", brief.imaging_setup)]
    texts += [("conditions", c) for c in brief.deployment_conditions]
    out = []
    for source, text in texts:
        asides = aside_clauses(text)  # about a neighbour, not this deployment: no vote
        clauses = [c for c in _clean(split_phrases(text)) if c not in asides]
        clauses = [c for c in clauses if not class_name(c, brief.labels)]
        out += [(source, clause) for clause in clauses]
        sentences_ = _clean(s.strip() for s in _SENTENCE.split(text or "") if s.strip())
        sentences_ = [s for s in sentences_ if not any(c in asides for c in _clean(split_phrases(s)))]
        # a whole sentence gives its clauses context ("a thin tube ... with a camera at its end"); one
        # that negates anything is left to its clauses, whose negation is read one by one
        out += [(source, s) for s in sentences_ if s not in clauses and not _negates(s)]
    return out


_SENTENCE = re.compile(r"\.(?:\s+|$)|[;\n]+")


def _negates(text: str) -> bool:
    return negation_at(words(text)) is not None


def _matrix(rules: tuple[FieldRule, ...]) -> tuple[Any, tuple[tuple[int, int], ...], tuple[str, ...]]:
    """Every prototype embedded once (disk-cached): (matrix, (rule index, value index) per row, text)."""
    texts, owners = [], []
    for r, rule in enumerate(rules):
        for v, (_value, descriptions) in enumerate(rule.values):
            for text in descriptions:
                texts.append(text)
                owners.append((r, v))
    return _embedded(tuple(texts)), tuple(owners), tuple(texts)


@functools.cache
def _embedded(texts: tuple[str, ...]) -> Any:
    return sentences.cached_embed(list(texts))


def classify(brief: DomainBrief, rules: tuple[FieldRule, ...] | None = None) -> list[Vote]:
    """The brief's winning vote per field (at most one per field), strongest clause first.

    Empty when the sentence model is unavailable: the chain then rests on the lexical cues alone.
    """
    import numpy as np

    rules = rules if rules is not None else load_prototypes()
    if not phrases.semantic_available():  # the lexical fallback: cue words only
        return []
    voters = [
        (source, clause)
        for source, clause in source_clauses(brief)
        # one content word ("a lens", "JPEG") is too little context for a sentence model: cue words only
        if not leading_negation(clause) and worded(clause) and len(content_stems(clause)) > 1
    ]
    if not voters:
        return []
    matrix, owners, texts = _matrix(rules)
    # a name's words ('Purple Haze', an "X-ray counter" beside the camera) describe no chain fact
    heads = heads_key(load_cues().get("neighbour_heads") or [])
    plain = [without_names(c) for _, c in voters]
    sims = sentences.embed_clauses(plain) @ matrix.T
    device = sims.copy()
    named = [(i, text) for i, (_, c) in enumerate(voters) if (text := without_names(c, heads)) != plain[i]]
    if named:
        device[[i for i, _ in named]] = sentences.embed_clauses([t for _, t in named]) @ matrix.T
    best: dict[int, Vote] = {}
    for r, rule in enumerate(rules):
        cols = [k for k, (owner, _) in enumerate(owners) if owner == r]  # contiguous, grouped by value
        sub = (device if rule.name in DEVICE_FIELDS else sims)[:, cols[0] : cols[-1] + 1]
        starts = [0] + [k for k in range(1, len(cols)) if owners[cols[k]][1] != owners[cols[k - 1]][1]]
        per_value = np.maximum.reduceat(sub, starts, axis=1)  # clause x value: nearest prototype
        ranked = np.sort(per_value, axis=1)
        lead = ranked[:, -1] - ranked[:, -2]
        for i in np.flatnonzero((ranked[:, -1] >= rule.threshold) & (lead >= rule.margin)):
            source, clause = voters[i]
            top = int(np.argmax(per_value[i]))
            if source not in rule.sources or rule.values[top][0] == OTHER:
                continue
            end = starts[top + 1] if top + 1 < len(starts) else sub.shape[1]
            col = cols[0] + starts[top] + int(np.argmax(sub[i, starts[top] : end]))
            if opposed(clause, texts[col]):
                continue
            score = round(float(per_value[i, top]), 4)
            vote = Vote(rule.name, rule.values[top][0], clause, score, round(float(lead[i]), 4), texts[col])
            if r not in best or (vote.score, vote.lead) > (best[r].score, best[r].lead):
                best[r] = vote
    return sorted(best.values(), key=lambda v: (-v.score, v.field))
