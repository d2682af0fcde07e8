"""Which of a brief's words name this imaging chain and which mean something else.

A cue word can have a second, common sense ("dry powder slides" are no microscope slides; a 3D printer's
"print" is no printed page): ``chain.yaml`` ``homonyms`` gives each such word the words of its own world,
and without them (or beside an ``unless`` word) it sets no fact. A device the description names beside
the camera of the imaging setup belongs to another stage of the work (a factory's X-ray stone detector
after a harvester's camera), so the setup's camera decides the chain. And the room the pictures are
sent to ("H.264 video to the waterways office", "over the radio link to the control room") is where
someone watches them, not where the camera stands.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from robustlens.expert.conditions import LEXICAL_ONLY
from robustlens.expert.cues import _clean, load_cues
from robustlens.expert.phrases import match_phrases, split_phrases
from robustlens.expert.words import stem, words
from robustlens.schemas import DomainBrief

OTHER_MODALITIES = ("tomographic", "transmission", "acoustic")  # no camera makes these pictures


@dataclass(frozen=True)
class Homonyms:
    """The cue words of each fact label that mean something else in this brief (``words``), and the labels
    whose readings by likeness (the sentence model, a prototype vote) mean something else too."""

    words: dict[str, frozenset[str]] = field(default_factory=dict)
    likeness: frozenset[str] = frozenset()

    def void(self, label: str, example: str, method: str) -> bool:
        """Whether a match of ``label`` on ``example`` by ``method`` reads a word in its other sense."""
        return example.lower() in self.words.get(label, ()) or (
            method == "semantic" and label in self.likeness
        )


def described_elsewhere(
    found: dict[str, list[str]], brief: DomainBrief, setup: list[str], cues: dict[str, Any]
) -> None:
    """A scanner of another modality (X-ray, CT, MRI, ultrasound) that only the description names, where
    the imaging setup names a camera, belongs to another stage ("so that fewer tops reach the sugar
    factory and its X-ray stone detector"): the setup says what makes this chain's pictures."""
    words = {"camera": cues.get("camera_words") or []}
    if not any(not m.negated for m in match_phrases(setup, words, threshold=LEXICAL_ONLY)):
        return
    described = set(_clean(split_phrases(brief.description)))
    modality = cues.get("modality") or {}
    devices = [
        k
        for k in found
        if k == "light=transmission"
        or (k.startswith("sensor=") and modality.get(k.partition("=")[2]) in OTHER_MODALITIES)
    ]
    for label in devices:
        if set(found[label]) <= described:
            del found[label]


def homonym_words(brief: DomainBrief, cues: dict[str, Any]) -> Homonyms:
    """The fact labels' cue words that mean something else in this brief (``chain.yaml`` ``homonyms``: the
    brief has none of the fact's ``context`` words, or one of its ``unless`` words); an entry with
    ``likeness`` also voids that label's readings by likeness."""
    text = [brief.domain, brief.description, brief.imaging_setup, *brief.deployment_conditions]
    out: dict[str, frozenset[str]] = {}
    likeness: set[str] = set()
    for label, entry in (cues.get("homonyms") or {}).items():
        context = [str(w) for w in entry.get("context") or []]
        unless = [str(w) for w in entry.get("unless") or []]
        missing = bool(context) and not match_phrases(text, {"context": context}, threshold=LEXICAL_ONLY)
        if missing or (unless and match_phrases(text, {"unless": unless}, threshold=LEXICAL_ONLY)):
            out[str(label)] = frozenset(str(w).lower() for w in entry.get("words") or [])
            if entry.get("likeness"):
                likeness.add(str(label))
    return Homonyms(out, frozenset(likeness))


def destination(clause: str, example: str) -> bool:
    """Whether ``example`` (a place word) comes after a verb of sending in ``clause`` ("streams video to the
    waterways office"): the place the pictures go to (``chain.yaml`` ``sent_verbs``)."""
    sent = _sent_stems()
    ws = [stem(w) for w in words(clause)]
    place = [stem(w) for w in words(example)]
    verb = next((i for i, w in enumerate(ws) if w in sent), None)
    if verb is None or not place:
        return False
    return any(ws[i : i + len(place)] == place for i in range(verb + 1, len(ws) - len(place) + 1))


@functools.cache
def _sent_stems() -> frozenset[str]:
    return frozenset(stem(w) for w in load_cues().get("sent_verbs") or [])
