"""Errors that carry enough context to be acted on.

A ``UserInputError`` is a mistake the user can fix (a wrong name, an out-of-range parameter, a
missing file). The CLI prints it without a traceback and exits with code 2. A ``ToolError`` is a
recoverable failure inside an LLM tool call: it goes back to the LLM as a message it can act on.
Everything else is a bug and fails loudly.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class UserInputError(Exception):
    """A user mistake: says what was wrong, why, and how to fix it."""

    def __init__(self, what: str, why: str = "", fix: str = "", field: str | None = None) -> None:
        self.what = what
        self.why = why
        self.fix = fix
        self.field = field
        super().__init__(self.message())

    def message(self) -> str:
        parts = [self.what]
        if self.why:
            parts.append(f"Why: {self.why}")
        if self.fix:
            parts.append(f"Fix: {self.fix}")
        return "\n".join(parts)


class ToolError(Exception):
    """A recoverable error in an LLM tool call, phrased for the LLM to correct its call."""


def closest(name: str, choices: Iterable[str], n: int = 3) -> list[str]:
    """Closest matches for a misspelt name (for 'did you mean ...' hints)."""
    choices = list(choices)
    found = difflib.get_close_matches(name, choices, n=n, cutoff=0.5)
    if not found:
        found = [c for c in choices if name.lower() in c.lower()][:n]
    return found


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """A 'did you mean' sentence, or an empty string when nothing is close."""
    found = closest(name, choices)
    return f"Did you mean: {', '.join(found)}?" if found else ""


def describe_validation(exc: Exception, root: str = "(root)", sep: str = "; ") -> str:
    """A pydantic ValidationError as 'field.path: message' items (pydantic's prefixes removed)."""
    return sep.join(validation_items(exc, root))


def validation_items(exc: Exception, root: str = "(root)") -> list[str]:
    """One 'field.path: message' per error of a pydantic ValidationError, in its order."""
    from pydantic import ValidationError

    errors = exc.errors() if isinstance(exc, ValidationError) else []
    return [
        f"{'.'.join(str(p) for p in e['loc']) or root}: {str(e['msg']).removeprefix('Value error, ')}"
        for e in errors
    ]
