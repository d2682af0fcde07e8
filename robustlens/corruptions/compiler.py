"""Compile a ``CorruptionSpec`` (data) into a callable ``apply(image, severity, seed)``.

Compilation checks every primitive name, parameter name and value against the registry and
evaluates the parameters at severities 0..5, so a spec that compiles cannot fail later on a
parameter. Mistakes raise ``UserInputError`` naming the field path and the allowed values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import ValidationError

from robustlens.corruptions.base import LADDER_STEPS, REGISTRY, Primitive, PrimitiveInfo, allowed_text
from robustlens.corruptions.base import run_primitive as _run
from robustlens.corruptions.seeding import derive_seed
from robustlens.errors import UserInputError, did_you_mean
from robustlens.schemas import CorruptionPlan, CorruptionSpec, PrimitiveCall


@dataclass(frozen=True)
class Step:
    info: PrimitiveInfo
    params: Mapping[str, Any]
    ladders: Mapping[str, Sequence[float]]

    def at(self, severity: float) -> Primitive:
        return self.info.params_at(severity, self.params, self.ladders)


class CompiledCorruption:
    """A validated spec, ready to apply: ``corruption(image, severity, seed)``."""

    def __init__(self, spec: CorruptionSpec, steps: list[Step]) -> None:
        self.spec = spec
        self.steps = steps
        self._cache: dict[float, list[Primitive]] = {}

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def stochastic(self) -> bool:
        return any(s.info.stochastic for s in self.steps)

    def params_at(self, severity: float) -> list[Primitive]:
        severity = float(severity)
        if severity not in self._cache:
            self._cache[severity] = [s.at(severity) for s in self.steps]
        return self._cache[severity]

    def __call__(self, image: np.ndarray, severity: float, seed: int) -> np.ndarray:
        """Corrupt a uint8 image (HxW, HxWx1, HxWx3 or HxWx4) at ``severity`` with ``seed``."""
        if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
            raise TypeError("image must be a uint8 numpy array")
        if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 3, 4)):
            raise ValueError(f"unsupported image shape {image.shape}")
        if severity == 0:
            return image.copy()
        out = image
        for i, prim in enumerate(self.params_at(severity)):
            out = _run(prim, out, derive_seed(seed, i, prim.info.name))
        return out

    apply = __call__


def compile_spec(spec: CorruptionSpec | Mapping[str, Any], where: str = "spec") -> CompiledCorruption:
    """Validate a spec against the registry and return its compiled form."""
    if not isinstance(spec, CorruptionSpec):
        try:
            spec = CorruptionSpec.model_validate(spec)
        except ValidationError as exc:
            raise _from_validation(exc, where) from None
    steps = [_compile_call(call, f"{where}.recipe[{i}]") for i, call in enumerate(spec.recipe)]
    return CompiledCorruption(spec, steps)


def compile_plan(plan: CorruptionPlan) -> dict[str, CompiledCorruption]:
    return {s.name: compile_spec(s, f"specs[{i}] ({s.name})") for i, s in enumerate(plan.specs)}


def single(name: str, **params: Any) -> CompiledCorruption:
    """A one-primitive corruption, e.g. ``single('fog')`` (used by the CLI preview and tests)."""
    get_info(name)
    spec = CorruptionSpec(name=_slug(name), recipe=[PrimitiveCall(name=name, params=params)])
    return compile_spec(spec, where=name)


def get_info(name: str, where: str = "name") -> PrimitiveInfo:
    import robustlens.corruptions  # noqa: F401  (registers all families)

    if name not in REGISTRY:
        raise UserInputError(
            f"Unknown corruption primitive {name!r} (at {where}).",
            why=f"{len(REGISTRY)} primitives are registered and this is not one of them.",
            fix=(did_you_mean(name, REGISTRY) + " Run `robustlens corruptions list`.").strip(),
            field=where,
        )
    return REGISTRY[name]


def _compile_call(call: PrimitiveCall, where: str) -> Step:
    info = get_info(call.name, f"{where}.name")
    fields = info.cls.model_fields
    for param in call.params:
        if param in info.ladder:
            raise UserInputError(
                f"Parameter {param!r} of {info.name} is driven by the severity knob ({where}.params).",
                why="ladder parameters take their value from the severity, not a fixed setting.",
                fix=f"Override its 1..5 values under `ladder: {{{param}: [v1, v2, v3, v4, v5]}}`.",
                field=f"{where}.params.{param}",
            )
        if param not in fields:
            raise _unknown_param(info, param, f"{where}.params.{param}")
    for param, values in call.ladder.items():
        if param not in info.ladder:
            if param in fields:
                raise UserInputError(
                    f"Parameter {param!r} of {info.name} is not on the severity ladder.",
                    why=f"only {', '.join(info.ladder) or 'no parameters'} follow the severity.",
                    fix=f"Set it as a fixed value under `params: {{{param}: ...}}`.",
                    field=f"{where}.ladder.{param}",
                )
            raise _unknown_param(info, param, f"{where}.ladder.{param}")
        if len(values) != LADDER_STEPS:
            raise UserInputError(
                f"Ladder {param!r} of {info.name} has {len(values)} values ({where}.ladder).",
                why="the ladder gives one value per severity 1..5.",
                fix=f"Give exactly {LADDER_STEPS} values, mildest first.",
                field=f"{where}.ladder.{param}",
            )
    step = Step(info=info, params=dict(call.params), ladders=dict(call.ladder))
    for severity in range(LADDER_STEPS + 1):
        try:
            step.at(float(severity))
        except ValidationError as exc:
            raise _from_validation(exc, f"{where} (severity {severity})", info) from None
    return step


def _unknown_param(info: PrimitiveInfo, param: str, where: str) -> UserInputError:
    allowed = ", ".join(info.cls.model_fields) or "none"
    return UserInputError(
        f"Unknown parameter {param!r} for primitive {info.name} ({where}).",
        why=f"{info.name} takes: {allowed}.",
        fix=(
            did_you_mean(param, info.cls.model_fields) + f" See `robustlens corruptions show {info.name}`."
        ).strip(),
        field=where,
    )


def _from_validation(exc: ValidationError, where: str, info: PrimitiveInfo | None = None) -> UserInputError:
    lines = []
    first_field = where
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        if first_field == where and loc:
            first_field = f"{where}.{loc}"
        allowed = ""
        if info is not None and err["loc"] and err["loc"][0] in info.cls.model_fields:
            allowed = " " + describe_range(info, str(err["loc"][0]))
        lines.append(f"{loc or '(root)'}: {err['msg']}{allowed}")
    return UserInputError(
        f"Invalid {where}: " + "; ".join(lines),
        why="the value is outside what the schema or the primitive's physical range allows.",
        fix="Correct the field(s) named above; `robustlens corruptions show NAME` lists the ranges.",
        field=first_field,
    )


def describe_range(info: PrimitiveInfo, param: str) -> str:
    """Human-readable allowed range of a parameter, e.g. '(allowed 0.0 <= x <= 1.0)'."""
    return allowed_text(info.cls, param)


def param_bounds(info: PrimitiveInfo, param: str) -> tuple[float | None, float | None]:
    lo = hi = None
    for m in info.cls.model_fields[param].metadata:
        lo = getattr(m, "ge", getattr(m, "gt", lo)) if lo is None else lo
        hi = getattr(m, "le", getattr(m, "lt", hi)) if hi is None else hi
    return lo, hi


def _slug(name: str) -> str:
    return name.lower().replace(" ", "_")[:64]
