"""The imaging-chain cue file (``chain.yaml``): loading and validating it, and the brief's clauses as the
chain matcher reads them (decoy compounds such as "web page" or "phone signal" replaced by the plain
words they mean, so their words cannot set a fact they do not describe)."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, get_args

from pydantic import ValidationError

from robustlens.errors import did_you_mean
from robustlens.expert.datafile import entry_error, read_yaml
from robustlens.expert.facts import FACT_FIELDS, ChainFacts
from robustlens.expert.phrases import content_stems, match_phrases, split_phrases
from robustlens.schemas import DomainBrief

CHAIN_PATH = Path(__file__).with_name("chain.yaml")


@functools.cache
def load_cues(path: str | None = None) -> dict[str, Any]:
    """The validated cue phrases (``chain.yaml``); a malformed file raises UserInputError naming the field."""
    file = Path(path) if path else CHAIN_PATH
    data = read_yaml(file, _bad, "chain")
    facts = data.get("facts")
    if not isinstance(facts, dict):
        raise _bad(file, "'facts' must map ChainFacts fields to values and phrases", "facts")
    setup = data.get("setup_facts") or {}
    if not isinstance(setup, dict):
        raise _bad(file, "'setup_facts' must map ChainFacts fields to values and phrases", "setup_facts")
    lists = (
        "recapture",
        "camera_words",
        "scan_words",
        "asides",
        "neighbour_heads",
        "night_only",
        "sky_directions",
        "sent_verbs",
    )
    for key in lists:
        if not all(isinstance(p, str) for p in data.get(key) or []):
            raise _bad(file, f"'{key}' must be a list of phrases", key)
    motion = data.get("motion") or {}
    if not isinstance(motion, dict) or not all(
        isinstance(v, list) and all(isinstance(p, str) for p in v) for v in motion.values()
    ):
        raise _bad(file, "'motion' must map verbs/carriers/still/vehicles to lists of words", "motion")
    for key in ("colour", "reread"):
        table = data.get(key) or {}
        if not isinstance(table, dict) or not all(
            isinstance(v, list) and all(isinstance(p, str) for p in v) for v in table.values()
        ):
            raise _bad(file, f"'{key}' must map each word list to phrases", key)
    decoys = data.get("decoys") or {}
    if not isinstance(decoys, dict) or not all(isinstance(v, str) for v in decoys.values()):
        raise _bad(file, "'decoys' must map a compound to the plain words it means", "decoys")
    for name, values in [*facts.items(), *setup.items()]:
        allowed = _allowed(name)
        if allowed is None:
            raise _bad(file, f"unknown fact field {name!r}. {did_you_mean(name, _fields())}", f"facts.{name}")
        for value, phrases in (values or {}).items():
            if str(value) not in allowed:
                raise _bad(file, f"{name}: unknown value {value!r}", f"facts.{name}.{value}")
            if not phrases or not all(isinstance(p, str) for p in phrases):
                raise _bad(file, f"{name}.{value}: give a list of example phrases", f"facts.{name}.{value}")
    for key, implied in (data.get("implies") or {}).items():
        name, _, value = str(key).partition("=")
        if value not in (_allowed(name) or ()):
            raise _bad(file, f"implies: unknown fact {key!r}", f"implies.{key}")
        try:
            ChainFacts.model_validate(implied)
        except ValidationError as exc:
            raise _bad(file, f"implies.{key}: {exc.errors()[0]['msg']}", f"implies.{key}") from None
    for key, entry in (data.get("homonyms") or {}).items():
        name, _, value = str(key).partition("=")
        if value not in (_allowed(name) or ()):
            raise _bad(file, f"homonyms: unknown fact {key!r}", f"homonyms.{key}")
        if (
            not isinstance(entry, dict)
            or not (entry.get("words") or entry.get("likeness") is True)
            or not (entry.get("context") or entry.get("unless"))
        ):
            raise _bad(
                file,
                f"homonyms.{key}: give 'words' (or 'likeness: true') and 'context' or 'unless' lists",
                f"homonyms.{key}",
            )
    for key, vetoed in (data.get("vetoes") or {}).items():
        for fact in (key, *(vetoed if isinstance(vetoed, list) else [None])):
            name, _, value = str(fact).partition("=")
            if value not in (_allowed(name) or ()):
                raise _bad(file, f"vetoes: unknown fact {fact!r}", f"vetoes.{key}")
    for key, unseen in (data.get("unseen") or {}).items():
        name, _, value = str(key).partition("=")
        if value not in (_allowed(name) or ()) or not all(isinstance(c, str) for c in unseen or []):
            raise _bad(
                file, f"unseen: give a known fact and a list of conditions, not {key!r}", f"unseen.{key}"
            )
    for sensor, modality in (data.get("modality") or {}).items():
        if sensor not in (_allowed("sensor") or ()) or modality not in (_allowed("modality") or ()):
            raise _bad(file, f"modality: unknown {sensor!r} -> {modality!r}", f"modality.{sensor}")
    return data


def _fields() -> tuple[str, ...]:
    return (*FACT_FIELDS, "sky_in_view")


def _allowed(name: str) -> tuple[str, ...] | None:
    """The values a ChainFacts field accepts, as strings (None: not a fact field)."""
    if name == "sky_in_view":
        return ("true", "false")
    if name not in FACT_FIELDS:
        return None
    annotation = ChainFacts.model_fields[name].annotation
    inner = get_args(annotation)[0]  # list[Literal[...]] or Literal[...] | None
    return tuple(str(v) for v in get_args(inner))


_bad = entry_error(
    "imaging-chain cue", "chain facts must use the ChainFacts vocabulary (robustlens/expert/facts.py)."
)


def brief_clauses(brief: DomainBrief, *, class_names: bool = False) -> list[str]:
    """All clauses of the brief's free text about this deployment, unique, in reading order, with
    decoy compounds removed; asides (``aside_clauses``) and (unless ``class_names``) bare class
    names left out."""
    texts = [brief.domain, brief.description, brief.imaging_setup, *brief.deployment_conditions]
    asides = {c for t in texts for c in aside_clauses(t)}
    return [
        c
        for c in _clean(c for t in texts for c in split_phrases(t))
        if c not in asides and (class_names or not class_name(c, brief.labels))
    ]


def class_name(clause: str, labels: list[str] | None) -> bool:
    """Whether ``clause`` only names one of the brief's classes ("meteor, aircraft, satellite or
    bird"): what the pictures show, not what images them -- an aircraft in the sky is no camera on one."""
    words = content_stems(clause) - {"or", "either", "just", "only"}  # "drone or helicopter"
    names = frozenset().union(*(content_stems(label) for label in labels or ()))
    return bool(words) and words <= names


SENTENCE = re.compile(r"\.(?:\s+|$)|[;\n]+")


@functools.cache
def aside_clauses(text: str) -> frozenset[str]:
    """The (cleaned) clauses of ``text``'s asides: sentences about another device or place than this
    deployment's ("the X-ray room next door has its own system", "an X-ray counter that takes no
    pictures"). Their words describe a neighbour, not this imaging chain, so they set no fact."""
    markers = {"aside": [str(p) for p in load_cues().get("asides") or []]}
    sentences = [s.strip() for s in SENTENCE.split(text or "") if s and s.strip()]
    if not markers["aside"] or not sentences:
        return frozenset()
    hits = {m.phrase for m in match_phrases(sentences, markers, threshold=2.0)}  # lexical only
    return frozenset(c for s in sentences if s in hits for c in _clean(split_phrases(s)))


def _clean(clauses: Iterable[str]) -> list[str]:
    """Clauses with their decoy compounds ("web page", "phone signal": words that mean something else
    together) replaced by the plain words they mean, unique, in order."""
    found = _decoys()
    if found is None:
        return list(dict.fromkeys(clauses))
    pattern, plain = found
    return list(dict.fromkeys(pattern.sub(lambda m: plain[m.group(0).lower()], c) for c in clauses))


@functools.cache
def _decoys() -> tuple[re.Pattern[str], dict[str, str]] | None:
    decoys = {str(k).lower(): str(v) for k, v in (load_cues().get("decoys") or {}).items()}
    if not decoys:
        return None
    alternatives = "|".join(re.escape(w) for w in sorted(decoys, key=len, reverse=True))
    return re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-])", re.IGNORECASE), decoys
