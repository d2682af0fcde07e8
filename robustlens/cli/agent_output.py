"""What `run`, `chat` and `demo` print about the agent: its events and the corruption plan with each
spec's checks and critic verdict (a table when wide, one block per corruption below 110 columns)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.padding import Padding
from rich.text import Text

from robustlens.cli.app import console

WIDE = 110  # below this many columns the plan is printed stacked, one corruption per block


def show_event(line: str) -> None:
    console.print(Text.assemble(("• ", "cyan"), str(line)))


def plan_table(node: str, update: dict[str, Any]) -> None:
    """After validation: the plan with each spec's recipe, rationale and verdict."""
    if node != "validate" or not update.get("plan"):
        return
    print_plan(update["plan"], update.get("validation", []))


def print_plan(plan: dict[str, Any], validation: list[dict[str, Any]]) -> None:
    """A table on wide terminals; stacked blocks below ``WIDE`` columns, so no name is cut or squeezed."""
    verdicts = {v["spec_name"]: v for v in validation or []}
    rows = []
    for spec in plan["specs"]:
        v = verdicts.get(spec["name"])
        critic = (v or {}).get("critic") or {}
        verdict = (
            f"{'realistic' if critic.get('realistic') else 'unrealistic'} {float(critic.get('score', 0)):.2f}"
            if critic
            else "-"
        )
        checks = "-" if v is None else ("pass" if v.get("ok") else "fail")
        recipe = " + ".join(str(c["name"]) for c in spec["recipe"])
        rows.append((str(spec["name"]), recipe, str(spec.get("rationale", "")), checks, verdict))
    severities = ", ".join(f"{float(s):g}" for s in plan.get("severities", []))
    title = f"Corruption plan ({len(rows)} corruption{'s' * (len(rows) != 1)}; severities {severities})"
    if console.width >= WIDE:
        from rich.table import Table

        table = Table(title=title, title_justify="left")
        for col in ("corruption", "recipe", "why it happens here", "checks", "critic"):
            table.add_column(col, overflow="fold")
        for row in rows:
            table.add_row(*(Text(cell) for cell in row))
        console.print(table)
        return
    console.print(Text(title, style="bold"))
    for i, (name, recipe, why, checks, verdict) in enumerate(rows, start=1):
        console.print(Text.assemble(f"{i:>2}. ", (name, "bold"), f"  checks {checks}, critic {verdict}"))
        if recipe != name:
            console.print(Padding(Text(f"recipe: {recipe}"), (0, 0, 0, 4)))
        if why:
            console.print(Padding(Text(f"why: {why}"), (0, 0, 0, 4)))


def print_understood(brief: Any) -> None:
    """``run``: what the expert understood of the brief (chain facts, conditions, the brief's words),
    printed once and never asked about; ``chat`` asks the user to accept or correct the same panel."""
    from robustlens.agent.understood import summary_lines

    lines = summary_lines(brief)
    if lines:
        console.print(Text(lines[0], style="bold"))
        for line in lines[1:]:
            console.print(Text(line), soft_wrap=False)


@contextmanager
def stdout_to_stderr(active: bool) -> Iterator[None]:
    """With ``--json``: everything written to stdout (also by libraries, at the fd level) goes to stderr."""
    if not active:
        yield
        return
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


STOOD_IN = "offline-expert (stood in: "


def planned_by(planner: str | None, llm_model: str | None) -> str:
    """Who planned, in words: the header is printed before planning, so when the LLM planner failed
    and the offline expert stood in, the run ends by saying so instead of leaving "LLM x" standing."""
    if planner == "llm":
        return f"LLM {llm_model}"
    if planner and planner.startswith(STOOD_IN):  # "LLM planning failed: x failed after 2 attempts: ..."
        return f"offline expert ({planner.removeprefix(STOOD_IN).removesuffix(')')})"
    return "offline expert" + (" (no LLM configured)" if llm_model is None else "")
