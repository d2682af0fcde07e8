"""`robustlens run BRIEF.yaml` (non-interactive) and `robustlens chat` (interactive, resumable).

Both check their inputs before anything is planned or created, so a mistake leaves nothing that
blocks the corrected retry. Every piece of user, LLM or file-system text is printed literally (never
as rich markup), and the plan table stays readable on an 80-column terminal.
"""

from __future__ import annotations

import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.text import Text

from robustlens.cli.agent_output import (
    plan_table,
    planned_by,
    print_plan,
    print_understood,
    show_event,
    stdout_to_stderr,
)
from robustlens.cli.app import app, console, err_console
from robustlens.cli.hints import native_cost_hint
from robustlens.cli.options import (
    CORRUPT_AT,
    CORRUPT_ON,
    DEVICE,
    EXECUTOR,
    LLM_HELP,
    RAY_ADDRESS,
    TARGET_CI_WIDTH,
)
from robustlens.cli.progress import LiveProgress
from robustlens.errors import UserInputError

CHECKPOINT_HELP = "Local weights for a model: MODEL_ID=PATH (repeatable; overrides the brief's checkpoints)."


def _llm(base_url: str | None, model: str | None, timeout: float) -> Any:
    from robustlens.llm.client import LLMConfig

    return LLMConfig.resolve(base_url=base_url, model=model, timeout=timeout)


def _critic(main: Any, base_url: str | None, model: str | None, timeout: float) -> Any:
    from robustlens.llm.client import LLMConfig

    return LLMConfig.for_critic(main, base_url, model, timeout)


def _options(
    device: str,
    corrupt_at: str,
    workers: int | None,
    batch_size: int | None,
    checkpoints: dict[str, str] | None = None,
    execution: Any = None,
    flags: dict[str, Any] | None = None,
) -> Any:
    """Engine options from the flags; ``execution`` (the brief's) under the execution ``flags`` given."""
    from robustlens.evaluation.engine import EngineOptions
    from robustlens.evaluation.engine_options import with_execution

    options = EngineOptions(
        device=device,
        corrupt_at=corrupt_at,
        workers=workers,
        batch_size=batch_size,
        checkpoints=dict(checkpoints or {}),
    )
    return with_execution(options, execution, **(flags or {}))


@app.command("run")
def run_cmd(
    brief_path: Path = typer.Argument(..., help="Domain brief (YAML/JSON); see examples/."),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Run directory (default runs/<domain>-<time>)."
    ),
    data: str | None = typer.Option(None, "--data", "-d", help="Override the brief's image source."),
    checkpoint: list[str] = typer.Option([], "--checkpoint", help=CHECKPOINT_HELP),
    llm_base_url: str | None = typer.Option(None, "--llm-base-url", help=LLM_HELP),
    llm_model: str | None = typer.Option(
        None, "--llm-model", help="Model name (default: $ROBUSTLENS_LLM_MODEL)."
    ),
    critic_base_url: str | None = typer.Option(
        None, "--critic-base-url", help="Critic endpoint (default: main)."
    ),
    critic_model: str | None = typer.Option(None, "--critic-model", help="Critic model (default: main)."),
    timeout: float = typer.Option(60.0, "--llm-timeout", min=1, help="Seconds per LLM request."),
    device: str = DEVICE,
    corrupt_at: str = CORRUPT_AT,
    workers: int | None = typer.Option(
        None, "--workers", "-j", min=0, help="Image-loading worker processes (0: load in this process)."
    ),
    batch_size: int | None = typer.Option(None, "--batch-size", "-b", min=1, help="Images per batch."),
    corrupt_on: str | None = CORRUPT_ON,
    target_ci_width: float | None = TARGET_CI_WIDTH,
    executor: str | None = EXECUTOR,
    ray_address: str | None = RAY_ADDRESS,
    max_images: int | None = typer.Option(
        None, "--max-images", min=1, help="Override the brief's subsample size."
    ),
    as_json: bool = typer.Option(
        False, "--json", help="Print one JSON document on stdout (everything else goes to stderr)."
    ),
    fail_on: list[str] = typer.Option(
        [], "--fail-on", help="CI gate, e.g. 'accuracy_drop>0.2' (repeatable): exit 1 when it trips."
    ),
    ood: str | None = typer.Option(None, "--ood", help="Override the brief's OOD set (see `eval --help`)."),
) -> None:
    """Run a whole audit from a brief: plan, validate, evaluate, inspect, iterate, report."""
    from robustlens.agent.session import make_services, run_brief
    from robustlens.gates import parse_gates
    from robustlens.schemas import DomainBrief
    from robustlens.userfiles import load_model

    brief = load_model(DomainBrief, brief_path)
    if max_images is not None:
        brief = brief.model_copy(
            update={"budget": brief.budget.model_copy(update={"max_images": max_images})}
        )
    brief = brief.model_copy(update={"ood": ood}) if ood is not None else brief
    gates = parse_gates(fail_on)
    named = [*brief.models, *([brief.reference_model] if brief.reference_model else [])]
    checkpoints = {**brief.checkpoints, **_checkpoint_flags(checkpoint, named)}
    run_dir = out or Path("runs") / f"{_slug(brief.domain)}-{time.strftime('%Y%m%d-%H%M%S')}"
    images = _check_run(brief, data, run_dir, checkpoints, device)
    flags = _execution_flags(corrupt_on, target_ci_width, executor, ray_address)
    options = _options(device, corrupt_at, workers, batch_size, checkpoints, brief.execution, flags)
    with stdout_to_stderr(as_json):
        if hint := native_cost_hint([i.path for i in images.items], options):
            console.print(Text(hint))
        llm = _llm(llm_base_url, llm_model, timeout)
        planner = f"LLM {llm.model} (offline expert if it fails)" if llm else planned_by(None, None)
        console.print(Text(f"Planner: {planner}; run: {run_dir}"))
        print_understood(brief)
        command = "robustlens " + " ".join(shlex.quote(a) for a in sys.argv[1:])
        services = make_services(
            run_dir,
            llm,
            _critic(llm, critic_base_url, critic_model, timeout),
            options,
            data,
            command,
            LiveProgress(),
        )
        state = run_brief(brief, services, show_event, plan_table)
        console.print(Text(f"Planned by: {planned_by(state.get('planner'), llm.model if llm else None)}"))
        _finish(state, run_dir)
        tripped = _gates(run_dir, gates)
    if as_json:
        sys.stdout.write(json.dumps(_summary(state, run_dir, gates, tripped), indent=1) + "\n")
        sys.stdout.flush()
    if tripped:
        raise typer.Exit(1)


@app.command("chat")
def chat_cmd(
    out: Path | None = typer.Option(None, "--out", "-o", help="Run directory for a new chat."),
    resume: Path | None = typer.Option(
        None, "--resume", help="Continue the chat saved in this run directory."
    ),
    data: str | None = typer.Option(
        None, "--data", "-d", help="The images to audit (folder, manifest, demo:…): the images answer."
    ),
    model: list[str] = typer.Option(
        [], "--model", "-m", help="Model to audit (repeatable); the chat then does not ask for models."
    ),
    checkpoint: list[str] = typer.Option([], "--checkpoint", help=CHECKPOINT_HELP),
    llm_base_url: str | None = typer.Option(None, "--llm-base-url", help=LLM_HELP),
    llm_model: str | None = typer.Option(
        None, "--llm-model", help="Model name (default: $ROBUSTLENS_LLM_MODEL)."
    ),
    critic_base_url: str | None = typer.Option(
        None, "--critic-base-url", help="Critic endpoint (default: main)."
    ),
    critic_model: str | None = typer.Option(None, "--critic-model", help="Critic model (default: main)."),
    timeout: float = typer.Option(60.0, "--llm-timeout", min=1, help="Seconds per LLM request."),
    device: str = DEVICE,
    corrupt_at: str = CORRUPT_AT,
    workers: int | None = typer.Option(
        None, "--workers", "-j", min=0, help="Image-loading worker processes (0: load in this process)."
    ),
    batch_size: int | None = typer.Option(None, "--batch-size", "-b", min=1, help="Images per batch."),
    corrupt_on: str | None = CORRUPT_ON,
    target_ci_width: float | None = TARGET_CI_WIDTH,
    executor: str | None = EXECUTOR,
    ray_address: str | None = RAY_ADDRESS,
) -> None:
    """Interview about your deployment, then design, check and run the audit with you."""
    from robustlens.agent.session import chat, make_services
    from robustlens.preflight import check_run_inputs

    checkpoints = _checkpoint_flags(checkpoint, model, chat=True)
    run_dir = resume or out or Path("runs") / time.strftime("chat-%Y%m%d-%H%M%S")
    if resume is not None and not (resume / "agent.sqlite").is_file():
        raise UserInputError(
            f"No chat to resume in {resume}.",
            why="a chat keeps its progress in RUN/agent.sqlite, and there is none.",
            fix="Check the folder, or start a new chat with `robustlens chat --out RUN_DIR`.",
            field="resume",
        )
    check_run_inputs(data, list(model), run_dir, checkpoints, device=device)
    llm = _llm(llm_base_url, llm_model, timeout)
    who = f"LLM {llm.model}" if llm else "the offline expert (no LLM configured: a fixed questionnaire)"
    resume_cmd = _resume_command(run_dir, llm_base_url, llm_model, device, workers, batch_size)
    console.print(
        f"[bold]robustlens chat[/bold] with {escape(who)}. Run directory: {escape(str(run_dir))}. "
        f"Ctrl-C to pause; `{escape(resume_cmd)}` continues."
    )
    services = make_services(
        run_dir,
        llm,
        _critic(llm, critic_base_url, critic_model, timeout),
        _options(
            device,
            corrupt_at,
            workers,
            batch_size,
            checkpoints,
            None,
            _execution_flags(corrupt_on, target_ci_width, executor, ray_address),
        ),
        data,
        "robustlens chat",
        LiveProgress(),
        models=list(model),
    )
    try:
        state = chat(services, _ask, show_event, resume=resume is not None)
    except KeyboardInterrupt:
        _paused(run_dir, resume_cmd, "Interrupted")
        raise typer.Exit(130) from None
    except EOFError:
        _paused(run_dir, resume_cmd, "Input ended before the chat finished")
        raise typer.Exit(1) from None
    _finish(state, run_dir)


def _ask(question: dict[str, Any]) -> str:
    """Print a question (plainly: every text is literal) and read the reply; the graph applies defaults."""
    if question.get("field") == "plan_review":
        print_plan(question.get("plan") or {"specs": []}, question.get("validation") or [])
    if question.get("error"):
        console.print(Text(str(question["error"]), style="red"))
    if question.get("notice"):
        console.print(Text(str(question["notice"]), style="yellow"))
    line = Text.assemble(("robustlens: ", "bold green"), str(question.get("text", "?")))
    if question.get("help") and question.get("field") != "plan_review":
        line.append(f" ({question['help']})", style="dim")
    default = question.get("default")
    if default not in (None, ""):
        line.append(f" [{default}]", style="dim")
    console.print(line)
    return console.input("[bold]you:[/bold] ").strip()


def _finish(state: dict[str, Any], run_dir: Path) -> None:
    report = state.get("report") or {}
    if report:
        console.print(
            Text.assemble(("Report: ", "bold"), str(report.get("html") or next(iter(report.values()))))
        )
    console.print(Text(f"Results: {run_dir}"))


def _paused(run_dir: Path, resume_cmd: str, why: str) -> None:
    """Where the chat is kept and the command that continues it (never wrapped, so it pastes)."""
    kept = f"The chat so far is kept in {run_dir} (agent.sqlite)."
    err_console.print(Text(f"\n{why}. {kept} Continue it with:"))
    err_console.print(Text(f"  {resume_cmd}"), soft_wrap=True)


def _execution_flags(
    corrupt_on: str | None, target_ci_width: float | None, executor: str | None, ray_address: str | None
) -> dict[str, Any]:
    return {
        "corrupt_on": corrupt_on,
        "target_ci_width": target_ci_width,
        "executor": executor,
        "ray_address": ray_address,
    }


def _resume_command(
    run_dir: Path,
    llm_base_url: str | None,
    llm_model: str | None,
    device: str,
    workers: int | None,
    batch_size: int | None,
) -> str:
    """The exact command that continues this chat (LLM endpoint and engine flags, never keys)."""
    parts = ["robustlens", "chat", "--resume", str(run_dir)]
    for flag, value in (
        ("--llm-base-url", llm_base_url),
        ("--llm-model", llm_model),
        ("--device", None if device == "auto" else device),
        ("--workers", workers),
        ("--batch-size", batch_size),
    ):
        if value is not None:
            parts += [flag, str(value)]
    return " ".join(shlex.quote(p) for p in parts)


def _checkpoint_flags(values: list[str], models: list[str], chat: bool = False) -> dict[str, str]:
    """``--checkpoint MODEL_ID=PATH`` (or a bare PATH for the one untagged open_clip model)."""
    from robustlens.cli.evaluate import parse_checkpoints

    if not chat or models:
        return parse_checkpoints(values, models)
    out = {}
    for value in values:
        name, sep, path = value.partition("=")
        if not (sep and name and path):
            raise UserInputError(
                f"--checkpoint {value!r} is not MODEL_ID=PATH.",
                why="without --model the chat cannot tell which model the weights belong to.",
                fix="Write --checkpoint MODEL_ID=PATH, or name the model with --model.",
                field="checkpoint",
            )
        out[name] = path
    return out


def _check_run(
    brief: Any, data: str | None, run_dir: Path, checkpoints: dict[str, str], device: str = "auto"
) -> Any:
    """Everything ``run`` can check before planning: models, checkpoints, --out, and the images
    themselves (the path exists, holds images, and the class names fit the classes found)."""
    from robustlens.audit import open_brief_images
    from robustlens.preflight import check_run_inputs

    if not brief.models:
        raise UserInputError(
            "The brief names no model to audit.",
            fix="Add models: [ID, ...] to the brief (`robustlens models list`).",
            field="models",
        )
    named = [*brief.models, *([brief.reference_model] if brief.reference_model else [])]
    check_run_inputs(None, named, run_dir, checkpoints, device=device)
    return open_brief_images(brief, data)


def _gates(run_dir: Path, gates: list[Any]) -> list[str]:
    if not gates:
        return []
    from robustlens.gates import check_gates
    from robustlens.schemas import AuditResult

    tripped = check_gates(AuditResult.load(run_dir / "result.json"), gates)
    for line in tripped:
        err_console.print(Text(f"gate tripped: {line}", style="red"))
    if not tripped:
        err_console.print(Text(f"All {len(gates)} gate(s) passed."))
    return tripped


def _summary(state: dict[str, Any], run_dir: Path, gates: list[Any], tripped: list[str]) -> dict[str, Any]:
    """The one JSON document of ``run --json``."""
    from robustlens.schemas import AuditResult

    result_path = run_dir / "result.json"
    result = AuditResult.load(result_path) if result_path.is_file() else None
    plan = state.get("plan") or {}
    return {
        "run_dir": str(run_dir),
        "result": str(result_path) if result else None,
        "report": state.get("report") or {},
        "planner": state.get("planner"),
        "models": result.models if result else [],
        "corruptions": [s["name"] for s in plan.get("specs", [])],
        "severities": plan.get("severities", []),
        "summary": result.summary if result else {},
        "gates": {"checked": [g.text for g in gates], "tripped": tripped},
        "ok": not tripped,
    }


def _slug(text: str) -> str:
    import re

    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "audit"
