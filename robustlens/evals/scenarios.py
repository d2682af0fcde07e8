"""Eval scenarios: a domain brief plus the rules a sceptical domain expert would check a plan against.

A scenario file (YAML) looks like::

    name: mri_brain
    brief: {domain: brain MRI, imaging_setup: ..., budget: {max_corruptions: 8}, ...}
    rules:
      must_include_any:          # every group needs at least one member in the plan
        - [mri_bias_field]
        - [gaussian_noise, shot_noise]
      must_not:                  # primitive or family name -> why it cannot occur here
        weather: no weather inside a scanner bore
      severity_bounds:           # primitive -> strongest plausible default-ladder severity (0..5]
        rotation: 3

Names are checked against the primitive registry and its families when a file loads, so a typo is a
``UserInputError`` naming the file and the field rather than a rule that silently never fires.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from robustlens.corruptions import FAMILIES, REGISTRY
from robustlens.errors import UserInputError, describe_validation, did_you_mean
from robustlens.expert.facts import ExpectedFacts
from robustlens.schemas import SLUG, DomainBrief, Model
from robustlens.yamlload import load_yaml


def _unknown(name: str) -> str:
    hint = did_you_mean(name, [*REGISTRY, *FAMILIES])
    return f"unknown primitive or family {name!r}. {hint}".strip()


def members(name: str) -> list[str]:
    """The primitives a rule name stands for: itself, or every primitive of a family (sorted)."""
    if name in REGISTRY:
        return [name]
    return sorted(p for p, info in REGISTRY.items() if info.family == name)


class Rules(Model):
    """Expert rules for one scenario (names are primitives or families of ``REGISTRY``)."""

    must_include_any: list[list[str]] = Field(
        default_factory=list, description="groups; at least one member of each must be in the plan"
    )
    must_not: dict[str, str] = Field(
        default_factory=dict, description="primitive or family -> one-line reason it cannot occur"
    )
    severity_bounds: dict[str, float] = Field(
        default_factory=dict, description="primitive -> max plausible severity on its default ladder"
    )

    @field_validator("must_include_any")
    @classmethod
    def _groups(cls, groups: list[list[str]]) -> list[list[str]]:
        errors = [f"group {i + 1} is empty" for i, g in enumerate(groups) if not g]
        errors += [_unknown(n) for g in groups for n in g if n not in REGISTRY and n not in FAMILIES]
        if errors:
            raise ValueError("; ".join(errors))
        return groups

    @field_validator("must_not")
    @classmethod
    def _forbidden(cls, rules: dict[str, str]) -> dict[str, str]:
        errors = [_unknown(n) for n in rules if n not in REGISTRY and n not in FAMILIES]
        errors += [f"{n}: give a one-line reason" for n, why in rules.items() if not str(why).strip()]
        if errors:
            raise ValueError("; ".join(errors))
        return rules

    @field_validator("severity_bounds")
    @classmethod
    def _bounds(cls, bounds: dict[str, float]) -> dict[str, float]:
        errors = []
        for name, bound in bounds.items():
            if name not in REGISTRY:
                hint = did_you_mean(name, REGISTRY)
                errors.append(f"severity bound for unknown primitive {name!r}. {hint}".strip())
            elif not 0 < bound <= 5:
                errors.append(f"severity bound of {name} must lie in (0, 5]; got {bound}")
        if errors:
            raise ValueError("; ".join(errors))
        return bounds

    @model_validator(mode="after")
    def _consistent(self) -> Rules:
        errors = []
        for i, group in enumerate(self.must_include_any):
            allowed = [n for n in group if not set(members(n)) <= set(self.forbidden())]
            if not allowed:
                errors.append(f"group {i + 1} {group} can never be satisfied: all of it is in must_not")
            errors += [
                f"group {i + 1}: {n} is also in must_not" for n in group if n in REGISTRY and self.rule_for(n)
            ]
        errors += [
            f"severity bound for {n}, which is in must_not" for n in self.severity_bounds if self.rule_for(n)
        ]
        if errors:
            raise ValueError("; ".join(errors))
        return self

    def forbidden(self) -> list[str]:
        """Every primitive ruled out, directly or through its family (sorted)."""
        return sorted({p for name in self.must_not for p in members(name)})

    def rule_for(self, primitive: str) -> tuple[str, str] | None:
        """The must_not entry ``(name, why)`` that rules ``primitive`` out, or None (name beats family)."""
        if primitive in self.must_not:
            return primitive, self.must_not[primitive]
        family = REGISTRY[primitive].family if primitive in REGISTRY else None
        if family is not None and family in self.must_not:
            return family, self.must_not[family]
        return None


class Paraphrase(Model):
    """The same deployment told in other words: replaces the brief's free-text fields that are given.

    A good planner gives (nearly) the same plan for every paraphrase of one deployment; the eval
    scores that as the Jaccard similarity of the chosen primitives.
    """

    domain: str | None = None
    description: str | None = None
    imaging_setup: str | None = None
    deployment_conditions: list[str] | None = None

    def apply(self, brief: DomainBrief) -> DomainBrief:
        """The brief with this paraphrase's fields swapped in (models, labels, budget, seed kept)."""
        return brief.model_copy(update=self.model_dump(exclude_none=True))


class Scenario(Model):
    """One eval case: a domain brief and the expert rules its plans are scored against."""

    name: str
    brief: DomainBrief
    rules: Rules = Field(default_factory=Rules)
    expect_facts: ExpectedFacts | None = Field(
        None, description="imaging-chain facts a correct reading of the brief must find (routing metric)"
    )
    paraphrases: list[Paraphrase] = Field(
        default_factory=list, description="the same deployment in other words (consistency metric)"
    )
    split: str = Field("", description="set on loading: the name of the folder the file is in (dev, heldout)")

    def briefs(self) -> list[DomainBrief]:
        """The brief and each paraphrase of it, in file order."""
        return [self.brief, *(p.apply(self.brief) for p in self.paraphrases)]

    @field_validator("name")
    @classmethod
    def _slug(cls, v: str) -> str:
        if not SLUG.match(v):
            raise ValueError("use lowercase letters, digits, '_' or '-' (max 64), e.g. 'mri_brain'")
        return v


def load_scenario(path: str | Path) -> Scenario:
    """One scenario file; any problem is a ``UserInputError`` naming the file and the field."""
    path = Path(path)
    try:
        data = load_yaml(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise UserInputError(f"Cannot read scenario file {path}: {exc}", field="scenarios") from None
    except yaml.YAMLError as exc:
        raise UserInputError(
            f"Scenario file {path} is not valid YAML: {exc}",
            fix="Check the indentation and quoting near the line named above.",
            field="scenarios",
        ) from None
    if not isinstance(data, dict):
        raise UserInputError(
            f"Scenario file {path} must hold a mapping with name, brief and rules.",
            fix="See evals/scenarios/dev/mri_brain.yaml for the layout.",
            field="scenarios",
        )
    try:
        return Scenario.model_validate({**data, "split": path.parent.name})
    except ValidationError as exc:
        problems = describe_validation(exc)
        raise UserInputError(
            f"Invalid scenario file {path}: {problems}",
            why="a scenario needs a valid DomainBrief and rules that name registered primitives or families.",
            fix="Correct the fields named above; `robustlens corruptions list` shows names and families.",
            field="scenarios",
        ) from None


def load_scenarios(directory: str | Path) -> list[Scenario]:
    """All ``*.yaml``/``*.yml`` scenarios under a directory, subfolders included (or one file), sorted
    by path; a scenario's ``split`` is its folder's name (``evals/scenarios/heldout/x.yaml``: heldout)."""
    directory = Path(directory)
    if directory.is_file():
        files = [directory]
    elif directory.is_dir():
        files = sorted(p for p in directory.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
    else:
        raise UserInputError(
            f"Scenario folder {directory} does not exist.",
            fix="Pass --scenarios DIR (the repository keeps them in evals/scenarios).",
            field="scenarios",
        )
    if not files:
        raise UserInputError(
            f"No scenario files (*.yaml) in {directory}.",
            fix="Point --scenarios at a folder of scenario YAML files, e.g. evals/scenarios.",
            field="scenarios",
        )
    scenarios = [load_scenario(f) for f in files]
    names = [s.name for s in scenarios]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise UserInputError(
            f"Scenario names must be unique in {directory}; repeated: {', '.join(dupes)}.",
            fix="Rename one of each pair.",
            field="scenarios",
        )
    return scenarios


def select_scenarios(scenarios: list[Scenario], names: Iterable[str]) -> list[Scenario]:
    """The scenarios named (in the order given); all of them when ``names`` is empty."""
    names = list(dict.fromkeys(names))
    if not names:
        return scenarios
    by_name = {s.name: s for s in scenarios}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise UserInputError(
            f"Unknown scenario(s): {', '.join(unknown)}.",
            why=f"{len(scenarios)} scenarios are loaded.",
            fix=(did_you_mean(unknown[0], by_name) + f" Available: {', '.join(by_name)}.").strip(),
            field="only",
        )
    return [by_name[n] for n in names]
