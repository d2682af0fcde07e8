"""Read user-supplied YAML/JSON files into schema models, with errors that name the field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypeVar, get_args

import yaml
from pydantic import BaseModel, ValidationError

from robustlens.errors import UserInputError, closest, validation_items
from robustlens.schemas import CorruptionPlan, CorruptionSpec
from robustlens.yamlload import load_yaml

M = TypeVar("M", bound=BaseModel)


def read_data(path: str | Path) -> object:
    """Parse a YAML or JSON file (by suffix; YAML is tried for anything else)."""
    path = Path(path)
    if not path.is_file():
        raise UserInputError(
            f"File not found: {path}",
            why="the path does not name a readable file.",
            fix="Check the path (relative paths are taken from the current directory).",
        )
    kind = "JSON" if path.suffix == ".json" else "YAML"
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise UserInputError(
            f"{path} is not UTF-8 text.",
            why=f"byte {exc.start} cannot be decoded as UTF-8 (a binary file, or another encoding).",
            fix=f"Save the {kind} file as UTF-8.",
        ) from None
    except OSError as exc:
        raise UserInputError(
            f"Cannot read {path}.", why=exc.strerror or str(exc), fix="Check the file's permissions."
        ) from None
    try:
        return json.loads(text) if path.suffix == ".json" else load_yaml(text)
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise UserInputError(
            f"{path} is not valid {kind}.",
            why=str(exc).splitlines()[0],
            fix="Fix the syntax at the position shown (indentation and colons in YAML).",
        ) from None
    except RecursionError:
        raise UserInputError(
            f"{path} is nested too deeply to read.",
            why=f"its {kind} nests lists or mappings hundreds of levels deep; no robustlens file does.",
            fix="Check that this is the intended file; plans and briefs are a few levels deep.",
        ) from None


def validate_as(cls: type[M], data: object, source: str) -> M:
    """Validate parsed data as ``cls``; a failure names each bad field and why."""
    if data is not None and not isinstance(data, dict):
        raise UserInputError(
            f"Invalid {source} ({cls.__name__}): the file holds a {_kind(data)}, not a mapping of fields.",
            why=f"a {cls.__name__} file is a mapping (name: value lines in YAML, an object in JSON).",
            fix="See examples/ for complete, commented files.",
            field="(top level)",
        )
    try:
        return cls.model_validate(data if data is not None else {})
    except ValidationError as exc:
        raise validation_error(exc, f"{source} ({cls.__name__})", cls) from None
    except RecursionError:
        raise UserInputError(
            f"Invalid {source}: nested too deeply.", fix="Check that this is the intended file."
        ) from None


def _kind(data: object) -> str:
    return {list: "list", str: "text string", int: "number", float: "number", bool: "boolean"}.get(
        type(data), type(data).__name__
    )


def validation_error(exc: ValidationError, source: str, cls: type[BaseModel] | None = None) -> UserInputError:
    """The errors one per line; an unknown field (a typo such as ``deployment_condition``) names the
    closest known field of ``cls`` there, since "Extra inputs are not permitted" alone hides the fix."""
    items = validation_items(exc, root="(top level)")
    hints = [_known_field(cls, e["loc"]) if e["type"] == "extra_forbidden" else "" for e in exc.errors()]
    problems = "\n  - ".join(
        f"{item}. {hint}" if hint else item for item, hint in zip(items, hints, strict=True)
    )
    first = ".".join(str(p) for p in exc.errors()[0]["loc"]) if exc.errors() else None
    return UserInputError(
        f"Invalid {source}:\n  - " + problems,
        why="the file does not match the expected schema.",
        fix="Correct the fields listed above; see examples/ for complete, commented files.",
        field=first,
    )


def _known_field(cls: type[BaseModel] | None, loc: tuple[int | str, ...]) -> str:
    """'Did you mean: ...?' for the unknown key at ``loc``, from the fields of the model that holds it
    (followed from ``cls`` through nested models, lists and optionals); '' when nothing is close."""
    model: Any = cls
    for part in loc[:-1]:
        if isinstance(part, str):
            field = getattr(model, "model_fields", {}).get(part)
            model = _model_in(field.annotation) if field is not None else None
    fields = getattr(model, "model_fields", None)
    best = closest(str(loc[-1]), fields, n=1) if fields and loc else []  # one: the field meant
    return f"Did you mean: {best[0]}?" if best else ""


def _model_in(annotation: Any) -> Any:
    """The pydantic model inside ``X``, ``X | None``, ``list[X]`` or ``dict[str, X]``, else None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        if (found := _model_in(arg)) is not None:
            return found
    return None


def load_model(cls: type[M], path: str | Path) -> M:
    return validate_as(cls, read_data(path), str(path))


def load_specs(path: str | Path) -> tuple[list[CorruptionSpec], CorruptionPlan | None]:
    """A plan file (with ``specs``) or a single-spec file; returns the specs and the plan if any."""
    data = read_data(path)
    if isinstance(data, dict) and "specs" in data:
        plan = validate_as(CorruptionPlan, data, str(path))
        return plan.specs, plan
    return [validate_as(CorruptionSpec, data, str(path))], None
