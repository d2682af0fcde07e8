"""The offline expert's domain knowledge: typed models, the validated loader, and the domain matcher.

The knowledge itself is data (``knowledge.yaml``), so an expert can correct a rationale or a bound
without touching code. Loading validates it against the primitive registry, so a misspelt primitive,
family or condition fails at load time with a "did you mean" hint instead of silently never matching.

Domain matching is deliberately simple and deterministic (keyword scoring), because its output is
shown to the user and must be explainable: which words of the brief selected which domain.
An objection may hold only in a context (``when``/``unless`` phrases anywhere in the brief, e.g. no
sun flare for a camera that looks down at the track); ``domain_for`` applies those to one brief.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from robustlens.errors import UserInputError, describe_validation, did_you_mean
from robustlens.expert.facts import Modality
from robustlens.schemas import SLUG, DomainBrief, Model
from robustlens.yamlload import load_yaml

KNOWLEDGE_PATH = Path(__file__).with_name("knowledge.yaml")
GENERIC = "generic"
# Where a keyword is found matters: the domain name the user typed is the strongest evidence.
FIELD_WEIGHTS = {"domain": 3.0, "imaging_setup": 2.0, "description": 1.0, "deployment_conditions": 0.5}
HINT_WEIGHT = 0.3


class Suitable(Model):
    """A primitive that occurs in a domain, why, and how strong it can physically get there."""

    primitive: str
    rationale: str = Field(min_length=10)
    max_severity: float = Field(5.0, ge=1.0, le=5.0, description="default-ladder severity at the limit")
    conditions: list[str] = Field(default_factory=list)
    priority: int = Field(2, ge=1, le=3, description="1 = always test, 3 = when the budget allows")
    params: dict[str, Any] = Field(default_factory=dict, description="fixed parameter overrides")


class Unsuitable(Model):
    """A primitive, or a whole family, that cannot occur in a domain (in some contexts only, if given)."""

    primitive: str | None = None
    family: str | None = None
    why: str = Field(min_length=10)
    when: list[str] = Field(default_factory=list, description="holds only if the brief names one of these")
    unless: list[str] = Field(default_factory=list, description="does not hold if the brief names one")

    @model_validator(mode="after")
    def _one_target(self) -> Unsuitable:
        if (self.primitive is None) == (self.family is None):
            raise ValueError("give exactly one of 'primitive' or 'family'")
        return self

    @field_validator("when", "unless")
    @classmethod
    def _lower(cls, v: list[str]) -> list[str]:
        return [k.strip().lower() for k in v]

    @property
    def contextual(self) -> bool:
        return bool(self.when or self.unless)

    def holds(self, text: str) -> bool:
        """Whether the objection applies to a brief whose normalised text is ``text``."""
        named = any(_phrase(p).search(text) for p in self.when) if self.when else True
        return named and not any(_phrase(p).search(text) for p in self.unless)


class Domain(Model):
    name: str
    title: str
    keywords: list[str] = Field(default_factory=list)
    hints: list[str] = Field(default_factory=list)
    # the imaging modalities this prior is about (empty: any): a microscopy prior says nothing about a
    # photograph, however many of its words ("fluorescent") a garage camera's brief shares
    modalities: list[Modality] = Field(default_factory=list)
    conditions: list[str] = Field(default_factory=list)
    suitable: list[Suitable] = Field(min_length=1)
    unsuitable: list[Unsuitable] = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _slug(cls, v: str) -> str:
        if not SLUG.match(v):
            raise ValueError("domain names are slugs: lowercase letters, digits, '_' or '-'")
        return v

    @field_validator("keywords", "hints")
    @classmethod
    def _lower(cls, v: list[str]) -> list[str]:
        return [k.strip().lower() for k in v]

    def entry(self, primitive: str) -> Suitable | None:
        return next((s for s in self.suitable if s.primitive == primitive), None)

    def objection(self, primitive: str) -> Unsuitable | None:
        """Why ``primitive`` cannot occur here; a suitable entry overrides a family-wide objection."""
        from robustlens.corruptions import REGISTRY

        for u in self.unsuitable:
            if u.primitive == primitive:
                return u
        if self.entry(primitive) is not None or primitive not in REGISTRY:
            return None
        family = REGISTRY[primitive].family
        return next((u for u in self.unsuitable if u.family == family), None)

    def families(self) -> set[str]:
        from robustlens.corruptions import REGISTRY

        return {REGISTRY[s.primitive].family for s in self.suitable}

    def for_brief(self, text: str) -> Domain:
        """The domain as it applies to one brief (normalised ``text``): contextual objections that
        hold are kept and override suitable entries; those that do not hold are dropped."""
        from robustlens.corruptions import REGISTRY

        active = [u for u in self.unsuitable if not u.contextual or u.holds(text)]
        ruled = [u for u in active if u.contextual]

        def overridden(p: str) -> bool:
            return any(u.primitive == p or u.family == REGISTRY[p].family for u in ruled)

        suitable = [s for s in self.suitable if not overridden(s.primitive)]
        return self.model_copy(update={"suitable": suitable, "unsuitable": active})


class Question(Model):
    """One fixed interview question of the offline expert; ``kind`` says how the answer is parsed."""

    field: str
    prompt: str
    help: str = ""
    kind: Literal["text", "list", "labels", "int", "float", "models"] = "text"
    default: Any = None
    required: bool = False
    multiple: bool = Field(False, description="numbers/models: a comma-separated list")
    minimum: float | None = None
    maximum: float | None = None


# the questionnaire must cover exactly the brief fields the interview assembles
QUESTION_FIELDS = (
    *("domain", "description", "imaging_setup", "deployment_conditions", "image_source", "labels"),
    *("models", "reference_model", "max_corruptions", "severities", "max_images", "seed"),
)


class Knowledge(Model):
    version: int = 1
    conditions: dict[str, list[str]] = Field(description="canonical condition -> recognising phrases")
    words_only: list[str] = Field(
        default_factory=list,
        description="conditions read only from their own words, never by a likeness to them",
    )
    domains: list[Domain] = Field(min_length=1)
    questions: list[Question] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Knowledge:
        """Every name must resolve: a typo would otherwise make an entry silently never apply."""
        errors: list[str] = []
        names = [d.name for d in self.domains]
        if GENERIC not in names:
            errors.append(f"a '{GENERIC}' fallback domain is required")
        errors += [f"domain {n!r} is defined twice" for n in sorted({n for n in names if names.count(n) > 1})]
        owner: dict[str, str] = {}
        for d in self.domains:
            for kw in d.keywords:
                if owner.setdefault(kw, d.name) != d.name:
                    errors.append(
                        f"domain {d.name!r}: keyword {kw!r} also belongs to {owner[kw]!r}; make it a hint"
                    )
            errors += [f"domain {d.name!r}: {e}" for e in _domain_errors(d, self.conditions)]
        errors += [
            f"words_only: unknown condition {c!r}" for c in self.words_only if c not in self.conditions
        ]
        fields = [q.field for q in self.questions]
        if sorted(fields) != sorted(QUESTION_FIELDS):
            errors.append(
                f"questions must cover exactly {', '.join(QUESTION_FIELDS)} once each; got {fields}"
            )
        if errors:
            raise ValueError("; ".join(errors))
        return self

    def domain(self, name: str) -> Domain:
        for d in self.domains:
            if d.name == name:
                return d
        raise KeyError(name)

    def recognise_conditions(self, texts: list[str]) -> list[str]:
        """Canonical conditions named in free-text conditions, in the order they were mentioned."""
        found: list[str] = []
        for text in texts:
            norm = _normalise(text)
            for cond, phrases in self.conditions.items():
                if cond not in found and any(
                    _phrase(p).search(norm) for p in [cond.replace("_", " "), *phrases]
                ):
                    found.append(cond)
        return found


@dataclass(frozen=True)
class DomainScore:
    """How well a brief matches one domain, with the evidence (for the plan's notes)."""

    domain: Domain
    score: float
    hits: list[str] = field(default_factory=list)


def load_knowledge(path: str | Path | None = None) -> Knowledge:
    """The validated knowledge base (the bundled one is cached); a malformed file raises UserInputError."""
    return _load(str(Path(path).resolve()) if path else str(KNOWLEDGE_PATH))


@functools.cache
def _load(path: str) -> Knowledge:
    try:
        data = load_yaml(Path(path).read_text(encoding="utf-8"))
        return Knowledge.model_validate(data or {})
    except yaml.YAMLError as exc:
        problems = str(exc)
    except ValidationError as exc:
        problems = describe_validation(exc, root="knowledge")
    raise UserInputError(
        f"Invalid offline-expert knowledge base {path}: {problems}",
        why="every primitive, family and condition it names must exist (`robustlens corruptions list`).",
        fix="Correct the entries named above.",
        field="knowledge",
    )


def score_domains(brief: DomainBrief, knowledge: Knowledge | None = None) -> list[DomainScore]:
    """Keyword scores of every non-generic domain, best first (ties: earlier in the YAML wins)."""
    kb = knowledge or load_knowledge()
    texts = {
        "domain": brief.domain,
        "imaging_setup": brief.imaging_setup,
        "description": brief.description,
        "deployment_conditions": " ; ".join(brief.deployment_conditions),
    }
    texts = {k: _normalise(v) for k, v in texts.items()}
    scores = []
    for d in kb.domains:
        if d.name == GENERIC:
            continue
        total, hits = 0.0, []
        for weight, words in ((1.0, d.keywords), (HINT_WEIGHT, d.hints)):
            for kw in words:
                # a multi-word phrase is more specific evidence than a single word
                w = weight * (1.0 + 0.5 * (len(kw.split()) - 1))
                # the pattern holds the phrase literally: a substring test rules most texts out first
                low = kw.lower()
                found = [f for f, text in texts.items() if low in text and _phrase(kw).search(text)]
                if found:
                    total += w * sum(FIELD_WEIGHTS[f] for f in found)
                    hits.append(kw)
        scores.append(DomainScore(d, round(total, 6), hits))
    order = {d.name: i for i, d in enumerate(kb.domains)}
    return sorted(scores, key=lambda s: (-s.score, order[s.domain.name]))


def match_domain(brief: DomainBrief, knowledge: Knowledge | None = None) -> tuple[Domain, float]:
    """The best-matching domain and a confidence in [0, 1] (``generic`` with 0.0 when nothing matches).

    Confidence = min(1, best / 3) * best / (best + runner-up): it saturates when the domain name
    itself carries a keyword and falls when two domains score alike.
    """
    kb = knowledge or load_knowledge()
    ranked = score_domains(brief, kb)
    if not ranked or ranked[0].score <= 0:
        return kb.domain(GENERIC), 0.0
    best = ranked[0].score
    second = ranked[1].score if len(ranked) > 1 else 0.0
    return ranked[0].domain, round(min(1.0, best / 3.0) * best / (best + second), 3)


def domain_for(brief: DomainBrief, knowledge: Knowledge | None = None) -> tuple[Domain, float]:
    """``match_domain``, then the contextual objections that hold for this brief applied to the domain."""
    kb = knowledge or load_knowledge()
    domain, confidence = match_domain(brief, kb)
    return domain.for_brief(brief_text(brief)), confidence


def brief_text(brief: DomainBrief) -> str:
    """All free text of a brief, normalised, for contextual phrases."""
    parts = [brief.domain, brief.description, brief.imaging_setup, *brief.deployment_conditions]
    return _normalise(" ; ".join(parts))


def _objection_errors(objections: list[Unsuitable]) -> list[str]:
    from robustlens.corruptions import FAMILIES, REGISTRY

    errors = []
    for u in objections:
        if u.primitive is not None and u.primitive not in REGISTRY:
            errors.append(f"unknown primitive {u.primitive!r}. {did_you_mean(u.primitive, REGISTRY)}".strip())
        if u.family is not None and u.family not in FAMILIES:
            errors.append(f"unknown family {u.family!r}. {did_you_mean(u.family, FAMILIES)}".strip())
    return errors


def _domain_errors(d: Domain, vocabulary: dict[str, list[str]]) -> list[str]:
    from robustlens.corruptions import REGISTRY
    from robustlens.corruptions.compiler import compile_spec
    from robustlens.schemas import CorruptionSpec, PrimitiveCall

    def unknown(kind: str, name: str, choices: Any) -> str:
        return f"unknown {kind} {name!r}. {did_you_mean(name, choices)}".strip()

    errors = [unknown("condition", c, vocabulary) for c in d.conditions if c not in vocabulary]
    seen: set[str] = set()
    for s in d.suitable:
        if s.primitive not in REGISTRY:
            errors.append(unknown("primitive", s.primitive, REGISTRY))
            continue
        if s.primitive in seen:
            errors.append(f"{s.primitive!r} is listed as suitable twice")
        seen.add(s.primitive)
        errors += [
            f"{s.primitive}: condition {c!r} is not among the domain's conditions"
            for c in s.conditions
            if c not in d.conditions
        ]
        try:
            call = PrimitiveCall(name=s.primitive, params=s.params)
            compile_spec(CorruptionSpec(name="kb_check", recipe=[call]), where=f"{d.name}.{s.primitive}")
        except UserInputError as exc:
            errors.append(exc.what)
    errors += _objection_errors(d.unsuitable)
    # a contextual objection may override a suitable entry; an unconditional one contradicts it
    errors += [
        f"{u.primitive!r} is listed as both suitable and unsuitable"
        for u in d.unsuitable
        if u.primitive in seen and not u.contextual
    ]
    return errors


def _normalise(text: str) -> str:
    return " ".join(text.lower().replace("_", " ").split())


@functools.cache
def _phrase(phrase: str) -> re.Pattern[str]:
    """Whole-word (or whole-phrase) match, allowing a plural 's'/'es'."""
    return re.compile(r"(?<!\w)" + re.escape(phrase.lower()) + r"(?:s|es)?(?!\w)")
