"""Tool registry and dispatch: validate the LLM's arguments, call one function, return JSON text.

Every failure an LLM can fix — an unknown tool, arguments that are not JSON, a field out of range, a
ToolError or UserInputError raised by the stage — comes back as a readable message instead of an
exception, so the model can correct its call. The LLM's output is only ever parsed as data.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from robustlens.errors import ToolError, UserInputError, describe_validation, did_you_mean
from robustlens.llm.client import ToolSpec


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    args: type[BaseModel]
    fn: Callable[[Any, Any], Any]  # (context, validated args) -> JSON-able result

    @property
    def spec(self) -> ToolSpec:
        return ToolSpec(self.name, self.description, self.args)


TOOLS: dict[str, Tool] = {}


def tool(name: str, description: str, args: type[BaseModel]) -> Callable[[Callable[[Any, Any], Any]], Tool]:
    def decorate(fn: Callable[[Any, Any], Any]) -> Tool:
        TOOLS[name] = Tool(name, description, args, fn)
        return TOOLS[name]

    return decorate


def specs(names: Sequence[str]) -> list[ToolSpec]:
    return [TOOLS[n].spec for n in names]


def dispatch(name: str, arguments: str, ctx: Any, allowed: Sequence[str] | None = None) -> tuple[bool, str]:
    """Run a tool call; returns (ok, JSON text for the tool message)."""
    available = list(allowed) if allowed is not None else list(TOOLS)
    if name not in available:
        hint = did_you_mean(name, available)
        return False, _error(f"Unknown tool {name!r}. {hint} Available tools: {', '.join(available)}.")
    t = TOOLS[name]
    try:
        data = json.loads(arguments or "{}")
    except json.JSONDecodeError as exc:
        return False, _error(
            f"Arguments of {name} are not valid JSON ({exc.msg} at position {exc.pos}). "
            "Send a JSON object matching the tool's schema."
        )
    try:
        args = t.args.model_validate(data)
    except ValidationError as exc:
        problems = describe_validation(exc)
        return False, _error(f"Invalid arguments for {name}: {problems}. Fix these fields and call again.")
    try:
        result = t.fn(ctx, args)
    except (ToolError, UserInputError) as exc:
        message = exc.message() if isinstance(exc, UserInputError) else str(exc)
        return False, _error(f"{name} failed: {message}")
    return True, json.dumps(result, default=str)


def _error(message: str) -> str:
    return json.dumps({"error": message})
