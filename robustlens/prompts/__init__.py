"""Prompt texts (markdown files beside this module), loaded by name. Prompts are data, not code."""

from __future__ import annotations

from functools import cache
from importlib.resources import files


@cache
def load(name: str) -> str:
    return (files("robustlens.prompts") / f"{name}.md").read_text(encoding="utf-8")
