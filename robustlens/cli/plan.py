"""`robustlens plan BRIEF`: review a corruption plan before spending GPU time on it."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from robustlens.cli.app import app, console
from robustlens.cli.options import CRITIC_BASE_URL, CRITIC_MODEL, LLM_BASE_URL, PLANNER_MODEL

EPILOG = (
    "Example: robustlens plan examples/windshield_camera.yaml --out plan.yaml, then "
    "robustlens eval --plan plan.yaml --data demo:textile --model demo:textile --out runs/x"
)


def _facts_lines(facts: Any) -> list[str]:
    """One line per inferred fact with the brief's words, then the conditions matched."""
    if facts is None:
        return ["(this build infers no imaging-chain facts)"]
    lines = []
    for ev in facts.evidence:
        words = ", ".join(f'"{p}"' for p in ev.phrases)
        lines.append(f"{ev.fact}" + (f"  <- {words}" if words else "") + f"  [{ev.method}]")
    for c in facts.conditions:
        lines.append(f'condition {c.condition}  <- "{c.phrase}"  [{c.method} {c.score:.2f}]')
    return lines or ["(nothing stated: the expert stays conservative)"]


def _caps(review: Any, spec: str) -> str:
    caps = [c for c in review.caps if c.spec == spec]
    capped = [
        f"{c.primitive}.{c.param} capped at {c.planned:g} (default {c.default:g})" for c in caps if c.capped
    ]
    return "\n".join(capped) or ("registry default" if caps else "-")


def _verdict(v: Any) -> str:
    if v is None:
        return "-"
    head = f"[green]realistic {v.score:.2f}[/green]" if v.realistic else f"[red]rejected {v.score:.2f}[/red]"
    reasons = "; ".join(v.reasons[:2])
    return f"{head} ({escape(v.critic)})" + (f"\n{escape(reasons)}" if reasons else "")


def _indented(text: str) -> str:
    """``text`` wrapped to the terminal width under a 4-space indent (no padding to the right edge)."""
    width = max(40, console.width)
    return textwrap.fill(text, width=width, initial_indent="    ", subsequent_indent="    ")


def show_review(review: Any) -> None:
    """Print the review for a person: facts, then one block per corruption, then the notes.

    A block per corruption, not a table: a rationale is a paragraph, and in a five-column table on an
    80-column terminal (or a log file) it wrapped two words to a line beside the other columns.
    """
    console.print(f"Planner: {escape(review.planner)}")
    for note in review.notes:
        console.print(f"[yellow]note[/yellow] {escape(note)}")
    console.print("[bold]What I understood of the deployment[/bold] (fact <- the brief's words):")
    for line in _facts_lines(review.chain_facts):
        console.print("  " + escape(line), soft_wrap=True)
    specs = review.plan.specs
    console.print(f"\n[bold]Plan: {len(specs)} corruptions[/bold], severities {review.plan.severities}")
    for k, spec in enumerate(specs, 1):
        recipe = " + ".join(c.name for c in spec.recipe)
        head = f"[bold]{k}. {escape(spec.name)}[/bold]" + (
            f" ({escape(recipe)})" if recipe != spec.name else ""
        )
        console.print(head)
        verdict = _verdict(review.verdicts.get(spec.name)).replace("\n", ": ")
        for line in (
            "why: " + escape(spec.rationale),
            "severity 5: " + _caps(review, spec.name).replace("\n", "; "),
        ):
            console.print(_indented(line), soft_wrap=True)
        console.print(_indented("critic: " + verdict), soft_wrap=True)
    if review.plan.notes:
        console.print(escape(review.plan.notes), soft_wrap=True)


@app.command("plan", epilog=EPILOG)
def plan_cmd(
    brief_path: Path = typer.Argument(..., help="Domain brief (YAML/JSON); see examples/."),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Write the plan here (YAML or JSON by suffix) for `robustlens eval --plan`."
    ),
    as_json: bool = typer.Option(
        False, "--json", help="Print one JSON object {chain_facts, plan, verdicts, ...} on stdout."
    ),
    llm_base_url: str | None = LLM_BASE_URL,
    llm_model: str | None = PLANNER_MODEL,
    critic_base_url: str | None = CRITIC_BASE_URL,
    critic_model: str | None = CRITIC_MODEL,
    timeout: float = typer.Option(60.0, "--llm-timeout", min=1, help="Seconds per LLM request."),
) -> None:
    """Plan the corruptions for a brief WITHOUT evaluating anything, so you can review them first.

    Shows the imaging-chain facts the planner inferred (with the brief's words), each corruption's
    rationale, how far each severity ladder goes against the registry default, and the critic's
    verdict per corruption. The offline expert plans unless an LLM is configured; an LLM that fails
    degrades to the offline expert with a note.

    Exit codes: 0 planned; 2 an input error (message, no traceback); 130 interrupted.
    """
    from robustlens.llm.client import LLMClient, LLMConfig
    from robustlens.plan_review import review_plan
    from robustlens.schemas import DomainBrief
    from robustlens.userfiles import load_model

    brief = load_model(DomainBrief, brief_path)
    planner_cfg = LLMConfig.resolve(base_url=llm_base_url, model=llm_model, timeout=timeout)
    critic_cfg = LLMConfig.for_critic(planner_cfg, critic_base_url, critic_model, timeout)
    llm = LLMClient(planner_cfg) if planner_cfg else None
    critic = (llm if critic_cfg is planner_cfg else LLMClient(critic_cfg)) if critic_cfg else None
    review = review_plan(brief, llm, critic)
    if out is not None:
        review.plan.save(out)
    if as_json:
        sys.stdout.write(json.dumps(review.as_json(), indent=1) + "\n")
        sys.stdout.flush()
        return
    show_review(review)
    if out is not None:
        console.print(
            f"Plan written to {out}; evaluate it with: robustlens eval --plan {out} --data ... --model ..."
        )
