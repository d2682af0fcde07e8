"""`robustlens run BRIEF.yaml` (non-interactive) and `robustlens chat` (interactive, resumable)."""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path
from typing import Any

import typer

from robustlens.cli.app import app, console
from robustlens.cli.evaluate import LiveProgress

LLM_HELP = "OpenAI-compatible endpoint (default: $ROBUSTLENS_LLM_BASE_URL; none = offline expert)."


def _llm(base_url: str | None, model: str | None, timeout: float) -> Any:
    from robustlens.llm.client import LLMConfig

    return LLMConfig.resolve(base_url=base_url, model=model, timeout=timeout)


def _critic(main: Any, base_url: str | None, model: str | None, timeout: float) -> Any:
    from robustlens.llm.client import LLMConfig

    return LLMConfig.for_critic(main, base_url, model, timeout)


def _options(device: str, corrupt_at: str, workers: int | None, batch_size: int | None) -> Any:
    from robustlens.evaluation.engine import EngineOptions

    return EngineOptions(device=device, corrupt_at=corrupt_at, workers=workers, batch_size=batch_size)


def show_event(line: str) -> None:
    console.print(f"[cyan]•[/cyan] {line}")


def plan_table(node: str, update: dict[str, Any]) -> None:
    """After validation: the plan as a table with each spec's rationale and verdict."""
    if node != "validate" or not update.get("plan"):
        return
    from rich.table import Table

    verdicts = {v["spec_name"]: v for v in update.get("validation", [])}
    table = Table(title="Corruption plan", title_justify="left")
    for col in ("corruption", "recipe", "why it happens here", "checks", "critic"):
        table.add_column(col, overflow="fold")
    for spec in update["plan"]["specs"]:
        v = verdicts.get(spec["name"], {})
        critic = v.get("critic") or {}
        verdict = f"{'realistic' if critic.get('realistic') else 'unrealistic'} {critic.get('score', 0):.2f}"
        table.add_row(
            spec["name"],
            " + ".join(c["name"] for c in spec["recipe"]),
            spec.get("rationale", ""),
            "pass" if v.get("ok") else "fail",
            verdict if critic else "-",
        )
    console.print(table)


@app.command("run")
def run_cmd(
    brief_path: Path = typer.Argument(..., help="Domain brief (YAML/JSON); see examples/."),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Run directory (default runs/<domain>-<time>)."
    ),
    data: str | None = typer.Option(None, "--data", "-d", help="Override the brief's image source."),
    llm_base_url: str | None = typer.Option(None, "--llm-base-url", help=LLM_HELP),
    llm_model: str | None = typer.Option(
        None, "--llm-model", help="Model name (default: $ROBUSTLENS_LLM_MODEL)."
    ),
    critic_base_url: str | None = typer.Option(
        None, "--critic-base-url", help="Critic endpoint (default: main)."
    ),
    critic_model: str | None = typer.Option(None, "--critic-model", help="Critic model (default: main)."),
    timeout: float = typer.Option(60.0, "--llm-timeout", min=1, help="Seconds per LLM request."),
    device: str = typer.Option("auto", "--device"),
    corrupt_at: str = typer.Option("native", "--corrupt-at", help="native or model (see `eval --help`)."),
    workers: int | None = typer.Option(None, "--workers", "-j", min=0),
    batch_size: int | None = typer.Option(None, "--batch-size", "-b", min=1),
    max_images: int | None = typer.Option(
        None, "--max-images", min=1, help="Override the brief's subsample size."
    ),
) -> None:
    """Run a whole audit from a brief: plan, validate, evaluate, inspect, iterate, report."""
    from robustlens.agent.session import make_services, run_brief
    from robustlens.schemas import DomainBrief
    from robustlens.userfiles import load_model

    brief = load_model(DomainBrief, brief_path)
    if max_images is not None:
        brief = brief.model_copy(
            update={"budget": brief.budget.model_copy(update={"max_images": max_images})}
        )
    llm = _llm(llm_base_url, llm_model, timeout)
    run_dir = out or Path("runs") / f"{_slug(brief.domain)}-{time.strftime('%Y%m%d-%H%M%S')}"
    console.print(
        f"Planner: {'LLM ' + llm.model if llm else 'offline expert (no LLM configured)'}; run: {run_dir}"
    )
    command = "robustlens " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    services = make_services(
        run_dir,
        llm,
        _critic(llm, critic_base_url, critic_model, timeout),
        _options(device, corrupt_at, workers, batch_size),
        data,
        command,
        LiveProgress(),
    )
    state = run_brief(brief, services, show_event, plan_table)
    _finish(state, run_dir)


@app.command("chat")
def chat_cmd(
    out: Path | None = typer.Option(None, "--out", "-o", help="Run directory for a new chat."),
    resume: Path | None = typer.Option(
        None, "--resume", help="Continue the chat saved in this run directory."
    ),
    data: str | None = typer.Option(
        None, "--data", "-d", help="The images to audit (folder, manifest, demo:…)."
    ),
    llm_base_url: str | None = typer.Option(None, "--llm-base-url", help=LLM_HELP),
    llm_model: str | None = typer.Option(
        None, "--llm-model", help="Model name (default: $ROBUSTLENS_LLM_MODEL)."
    ),
    critic_base_url: str | None = typer.Option(
        None, "--critic-base-url", help="Critic endpoint (default: main)."
    ),
    critic_model: str | None = typer.Option(None, "--critic-model", help="Critic model (default: main)."),
    timeout: float = typer.Option(60.0, "--llm-timeout", min=1, help="Seconds per LLM request."),
    device: str = typer.Option("auto", "--device"),
    corrupt_at: str = typer.Option("native", "--corrupt-at"),
) -> None:
    """Interview about your deployment, then design, check and run the audit with you."""
    from robustlens.agent.session import chat, make_services

    llm = _llm(llm_base_url, llm_model, timeout)
    run_dir = resume or out or Path("runs") / time.strftime("chat-%Y%m%d-%H%M%S")
    who = f"LLM {llm.model}" if llm else "the offline expert (no LLM configured: a fixed questionnaire)"
    console.print(
        f"[bold]robustlens chat[/bold] with {who}. Run directory: {run_dir}. Ctrl-C to pause; "
        f"`robustlens chat --resume {run_dir}` continues."
    )
    services = make_services(
        run_dir,
        llm,
        _critic(llm, critic_base_url, critic_model, timeout),
        _options(device, corrupt_at, None, None),
        data,
        "robustlens chat",
        LiveProgress(),
    )
    state = chat(services, _ask, show_event, resume=resume is not None, on_update=plan_table)
    _finish(state, run_dir)


def _ask(question: dict[str, Any]) -> str:
    if question.get("error"):
        console.print(f"[red]{question['error']}[/red]")
    text = str(question.get("text", "?"))
    hint = f" [dim]({question['help']})[/dim]" if question.get("help") else ""
    default = question.get("default")
    suffix = f" [dim][{default}][/dim]" if default not in (None, "") else ""
    console.print(f"[bold green]robustlens:[/bold green] {text}{hint}{suffix}")
    answer = console.input("[bold]you:[/bold] ").strip()
    return answer if answer or default in (None, "") else str(default)


def _finish(state: dict[str, Any], run_dir: Path) -> None:
    report = state.get("report") or {}
    if report:
        console.print(f"[bold]Report:[/bold] {report.get('html') or next(iter(report.values()))}")
    console.print(f"Results: {run_dir}")


def _slug(text: str) -> str:
    import re

    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "audit"
