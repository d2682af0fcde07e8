"""Tool registry and dispatch: validate the LLM's arguments, call one function, return JSON text.

Every failure an LLM can fix — an unknown tool, arguments that are not JSON, a field out of range, a
ToolError or UserInputError raised by the stage — comes back as a readable message instead of an
exception, so the model can correct its call. The LLM's output is only ever parsed as data.

``dispatch`` never raises on what the LLM sends: arguments longer than ``MAX_ARGUMENT_CHARS``, JSON
nested deep enough to make the parser recurse out, a JSON array instead of an object, and a
``ValidationError``/``ValueError``/``TypeError`` raised inside a tool body (a plan the schema
rejects, say) all come back as ``{"error": ...}``. Argument models bound every field as well.
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
    if not isinstance(arguments, str):
        return False, _error(f"Arguments of {name} must be a JSON object in a string.")
    if len(arguments) > MAX_ARGUMENT_CHARS:
        return False, _error(
            f"Arguments of {name} are {len(arguments)} characters long; the limit is "
            f"{MAX_ARGUMENT_CHARS}. Send shorter texts and fewer items."
        )
    try:
        data = json.loads(arguments or "{}")
    except json.JSONDecodeError as exc:
        return False, _error(
            f"Arguments of {name} are not valid JSON ({exc.msg} at position {exc.pos}). "
            "Send a JSON object matching the tool's schema."
        )
    except RecursionError:
        return False, _error(f"Arguments of {name} are nested too deeply. Send a flat JSON object.")
    if not isinstance(data, dict):
        return False, _error(
            f"Arguments of {name} must be a JSON object, not a {type(data).__name__}. "
            "Send a JSON object matching the tool's schema."
        )
    try:
        args = t.args.model_validate(data)
    except ValidationError as exc:
        problems = _cap(describe_validation(exc))
        return False, _error(f"Invalid arguments for {name}: {problems}. Fix these fields and call again.")
    except RecursionError:
        return False, _error(f"Arguments of {name} are nested too deeply. Send a flat JSON object.")
    try:
        result = t.fn(ctx, args)
    except (ToolError, UserInputError) as exc:
        message = exc.message() if isinstance(exc, UserInputError) else str(exc)
        return False, _error(f"{name} failed: {_cap(message)}")
    except ValidationError as exc:  # the tool built a schema object from the arguments and it refused
        return False, _error(
            f"{name} failed: {_cap(describe_validation(exc))}. Fix the arguments and call again."
        )
    except (ValueError, TypeError, KeyError) as exc:
        return False, _error(f"{name} failed: {_cap(str(exc) or type(exc).__name__)}")
    return True, json.dumps(result, default=str)


MAX_ARGUMENT_CHARS = 100_000
MAX_ERROR_CHARS = 2_000


def _cap(text: str) -> str:
    return text if len(text) <= MAX_ERROR_CHARS else text[:MAX_ERROR_CHARS] + " …"


def _error(message: str) -> str:
    return json.dumps({"error": message})
