"""Which link of the imaging chain produces each corruption primitive, and which facts rule it out.

This is the core of the offline expert's physics (``physics.yaml``, data): a primitive is plausible
for a deployment only when some link of its chain can produce it (sensor noise from any sensor,
sun flare from the sun with the sky in view, MRI ghosting from an MRI scanner), and impossible when
a physical fact excludes it (no sky in view -> no sun flare; in the body -> no weather). Grouping
corruptions by the physical process that makes them follows Hendrycks & Dietterich (2019),
"Benchmarking Neural Network Robustness to Common Corruptions and Perturbations", ICLR.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator

from robustlens.errors import describe_validation, did_you_mean
from robustlens.expert.datafile import entry_error, read_yaml
from robustlens.expert.facts import FACT_FIELDS, ChainFacts
from robustlens.schemas import Model

PHYSICS_PATH = Path(__file__).with_name("physics.yaml")
LINKS = ("noise", "optics", "motion", "light", "processing", "geometry", "weather", "acquisition", "page")


class CapRule(Model):
    """A tighter severity bound where a chain fact holds (a fixed mount barely rotates)."""

    when: str
    cap: float = Field(ge=1.0, le=5.0)


class Producer(Model):
    """How one primitive arises in an imaging chain."""

    link: str
    needs: list[str] = Field(min_length=1, description="any-of conjunctions of chain-fact atoms")
    excluded_by: list[str] = Field(default_factory=list)
    serves: list[str] = Field(default_factory=list, description="deployment conditions it models")
    signature: list[str] = Field(
        default_factory=list, description="any-of conjunctions under which the chain is known by it"
    )
    implied: list[str] = Field(
        default_factory=list,
        description="any-of conjunctions under which the chain makes it unavoidable (a codec's blocks)",
    )
    why: str = Field(min_length=5)
    cap: float = Field(5.0, ge=1.0, le=5.0)
    caps: list[CapRule] = Field(default_factory=list)

    @field_validator("link")
    @classmethod
    def _link(cls, v: str) -> str:
        if v not in LINKS:
            raise ValueError(f"unknown chain link {v!r}; use one of {', '.join(LINKS)}")
        return v


class Physics(Model):
    version: int = 1
    shared: dict[str, list[str]] = Field(default_factory=dict, description="reusable lists (YAML anchors)")
    primitives: dict[str, Producer]
    looks: dict[str, list[str]] = Field(
        default_factory=dict, description="primitive -> how people describe the effect in a picture"
    )


def atom_error(atom: str, conditions: set[str]) -> str | None:
    """Why ``atom`` is not valid ChainFacts vocabulary (None when it is)."""
    from robustlens.expert.chain import _allowed

    atom = atom.strip()
    if atom == "any":
        return None
    name, op, value = _split(atom)
    if not op:
        return f"atom {atom!r} must be 'field=value', 'field!=value', 'condition=NAME' or 'any'"
    if name == "condition":
        return (
            None if value in conditions else f"unknown condition {value!r}. {did_you_mean(value, conditions)}"
        )
    if name == "sky_in_view":
        return (
            None
            if value in ("true", "false", "unknown")
            else f"sky_in_view is true, false or unknown, not {value!r}"
        )
    allowed = _allowed(name)
    if allowed is None:
        return (
            f"unknown chain fact {name!r}. {did_you_mean(name, (*FACT_FIELDS, 'sky_in_view', 'condition'))}"
        )
    return None if value in allowed else f"{name} has no value {value!r}. {did_you_mean(value, allowed)}"


def _split(atom: str) -> tuple[str, str, str]:
    if "!=" in atom:
        name, value = atom.split("!=", 1)
        return name.strip(), "!=", value.strip()
    if "=" in atom:
        name, value = atom.split("=", 1)
        return name.strip(), "=", value.strip()
    return atom, "", ""


@functools.cache
def load_physics(path: str | None = None) -> Physics:
    """The validated physics table; a malformed file raises UserInputError naming the field."""
    from robustlens.corruptions import REGISTRY
    from robustlens.expert.knowledge import load_knowledge

    file = Path(path) if path else PHYSICS_PATH
    try:
        physics = Physics.model_validate(read_yaml(file, _bad, "physics"))
    except ValidationError as exc:
        raise _bad(file, describe_validation(exc, root="physics"), "physics") from None
    conditions = set(load_knowledge().conditions)
    for name in physics.looks:
        if name not in physics.primitives:
            hint = did_you_mean(name, physics.primitives)
            raise _bad(file, f"looks: unknown primitive {name!r}. {hint}", f"looks.{name}")
    for name, p in physics.primitives.items():
        if name not in REGISTRY:
            raise _bad(
                file, f"unknown primitive {name!r}. {did_you_mean(name, REGISTRY)}", f"primitives.{name}"
            )
        for key in ("needs", "excluded_by", "caps", "signature", "implied"):
            for conj in getattr(p, key):
                conj = conj.when if isinstance(conj, CapRule) else conj
                for atom in conj.split("&"):
                    if err := atom_error(atom, conditions):
                        raise _bad(file, f"{name}.{key}: {err}", f"primitives.{name}.{key}")
        for c in p.serves:
            if c not in conditions:
                raise _bad(
                    file,
                    f"{name}.serves: unknown condition {c!r}. {did_you_mean(c, conditions)}",
                    f"primitives.{name}.serves",
                )
    return physics


_bad = entry_error(
    "expert physics",
    "every primitive and condition must exist and chain facts use the ChainFacts vocabulary.",
)


def holds(conj: str, facts: ChainFacts, named: set[str]) -> bool:
    """Whether a conjunction of atoms holds for ``facts`` (a silent modality counts as photograph)."""
    return all(_atom(a.strip(), facts, named) for a in conj.split("&"))


def _atom(atom: str, facts: ChainFacts, named: set[str]) -> bool:
    if atom == "any":
        return True
    name, op, value = _split(atom)
    if name == "condition":
        found = value in named
    elif name == "sky_in_view":
        found = {"true": True, "false": False, "unknown": None}[value] is facts.sky_in_view
    elif name == "modality":
        found = (facts.modality or "photograph") == value
    else:
        current: Any = getattr(facts, name)
        found = value in current if isinstance(current, list) else current == value
    return found if op == "=" else not found


def producing(p: Producer, facts: ChainFacts, named: set[str]) -> str | None:
    """The first need of ``p`` that holds (the chain link that produces it), or None."""
    return next((c for c in p.needs if holds(c, facts, named)), None)


def excluding(p: Producer, facts: ChainFacts, named: set[str]) -> str | None:
    """The first physical fact that rules ``p`` out, or None."""
    return next((c for c in p.excluded_by if holds(c, facts, named)), None)
