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
from robustlens.expert.phrases import split_phrases
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
    for key in ("recapture", "camera_words", "scan_words"):
        if not all(isinstance(p, str) for p in data.get(key) or []):
            raise _bad(file, f"'{key}' must be a list of phrases", key)
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


def brief_clauses(brief: DomainBrief) -> list[str]:
    """All clauses of the brief's free text, unique, in reading order, with decoy compounds removed."""
    texts = [brief.domain, brief.description, brief.imaging_setup, *brief.deployment_conditions]
    return _clean(c for t in texts for c in split_phrases(t))


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
