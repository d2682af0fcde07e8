"""Typer application, shared console and the error boundary (UserInputError -> exit 2)."""

from __future__ import annotations

import os
import shlex
import signal
import sys
import threading
from collections.abc import Callable

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import click
import typer
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel

from robustlens import __version__
from robustlens.errors import UserInputError

console = Console()
err_console = Console(stderr=True)

app = typer.Typer(
    name="robustlens",
    help=(
        "Audit vision-language models (CLIP, SigLIP, ALIGN, ...) for robustness in YOUR deployment "
        "domain: realistic corruptions, validated, evaluated with confidence intervals, reported.\n\n"
        "Exit codes: 0 success; 1 a --fail-on gate tripped; 2 an input error (message, no traceback); "
        "130 interrupted (finished work is kept; the same command resumes)."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        console.print(f"robustlens {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version."
    ),
) -> None:
    """robustlens command line."""


EXIT_GATE = 1  # a --fail-on gate tripped
EXIT_INPUT = 2  # a user mistake (UserInputError, usage error)
EXIT_INTERRUPTED = 130  # Ctrl-C

# What a command keeps when interrupted, e.g. "3 finished cells in run/"; set by the running command.
_interrupt_notes: list[Callable[[], str]] = []


def on_interrupt(note: Callable[[], str]) -> None:
    """Register a line saying what an interrupted command keeps (printed with the resume command)."""
    _interrupt_notes.append(note)


SHELLS = ("bash", "zsh", "fish", "powershell", "pwsh")


@app.command("completion")
def completion_cmd(
    shell: str = typer.Argument(..., metavar="SHELL", help="bash, zsh, fish or powershell."),
) -> None:
    """Print the shell completion script, e.g. `eval "$(robustlens completion bash)"` in ~/.bashrc.

    (`robustlens --install-completion` does the same for the shell it detects.)
    """
    from typer._completion_shared import get_completion_script

    if shell not in SHELLS:
        raise UserInputError(
            f"Unknown shell {shell!r}.", fix=f"Use one of: {', '.join(SHELLS)}.", field="shell"
        )
    script = get_completion_script(prog_name="robustlens", complete_var="_ROBUSTLENS_COMPLETE", shell=shell)
    sys.stdout.write(script.rstrip("\n") + "\n")


def report_user_error(exc: UserInputError) -> None:
    """The error panel; every text is escaped (a path with ``[/x]`` is text, not rich markup)."""
    body = f"[bold]{escape(exc.what)}[/bold]"
    if exc.why:
        body += f"\n[dim]why:[/dim] {escape(exc.why)}"
    if exc.fix:
        body += f"\n[dim]fix:[/dim] {escape(exc.fix)}"
    err_console.print(Panel(body, title="robustlens: input error", border_style="red", expand=False))


def report_interrupt(argv: list[str]) -> None:
    """Ctrl-C: say what is kept and the exact command that resumes."""
    kept = []
    for note in _interrupt_notes:
        try:
            kept.append(note())
        except Exception:  # a failing note must not hide the resume command
            continue
    command = "robustlens " + shlex.join(argv)
    err_console.print("\n[yellow]Interrupted.[/yellow]", highlight=False)
    for line in filter(None, kept):
        err_console.print(f"Kept: {escape(line)}", highlight=False, soft_wrap=True)
    err_console.print(f"Resume with: {escape(command)}", highlight=False, soft_wrap=True)


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point: user mistakes exit 2 with a message, never a traceback."""
    from robustlens.cli import commands  # noqa: F401  (registers every command)
    from robustlens.quiet import quiet_third_party

    quiet_third_party()  # before any command imports torch/transformers: no third-party bars/warnings

    args = list(sys.argv[1:] if argv is None else argv)
    interrupted: list[bool] = []
    installed = _watch_sigint(interrupted)
    try:
        return _run(args, interrupted)
    finally:
        if installed:
            signal.signal(signal.SIGINT, signal.default_int_handler)


def _run(args: list[str], interrupted: list[bool]) -> int:
    exits, aborts, usage = _click_exceptions()
    try:
        rv = app(args=args, standalone_mode=False)
        if interrupted and rv == EXIT_INTERRUPTED:  # typer turned Ctrl-C into a silent return of 130
            report_interrupt(args)
    except UserInputError as exc:
        report_user_error(exc)
        return EXIT_INPUT
    except exits as exc:
        if interrupted and isinstance(exc.__context__, KeyboardInterrupt):
            report_interrupt(args)
            return EXIT_INTERRUPTED
        return int(getattr(exc, "exit_code", 0) or 0)
    except aborts as exc:
        if isinstance(exc.__context__, KeyboardInterrupt):  # click turns Ctrl-C into Abort
            report_interrupt(args)
        else:
            err_console.print("Aborted.")
        return EXIT_INTERRUPTED
    except usage as exc:
        exc.show()  # type: ignore[attr-defined]  # click's and typer's vendored UsageError: both have show()
        return EXIT_INPUT
    except KeyboardInterrupt:
        report_interrupt(args)
        return EXIT_INTERRUPTED
    return rv if isinstance(rv, int) else 0


def _watch_sigint(seen: list[bool]) -> bool:
    """Record Ctrl-C in ``seen`` (then raise KeyboardInterrupt as Python does): typer swallows the
    exception and returns 130, so the record is how ``main`` knows to say what is kept and how to
    resume. Returns whether the handler was installed (only over Python's default one).
    """
    if threading.current_thread() is not threading.main_thread():
        return False
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        return False  # someone else (an embedding app) handles Ctrl-C

    def handler(signum: int, frame: object) -> None:
        seen.append(True)
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handler)
    return True


def _click_exceptions() -> tuple[tuple[type[BaseException], ...], ...]:
    """Exit / Abort / usage-error classes of click and of the click copy newer typer versions vendor."""
    exits: list[type[BaseException]] = [click.exceptions.Exit, typer.Exit]
    aborts: list[type[BaseException]] = [click.exceptions.Abort, typer.Abort]
    usage: list[type[BaseException]] = [click.ClickException]
    try:
        from typer._click import exceptions as vendored

        usage.append(vendored.ClickException)
        exits += [getattr(vendored, "Exit", typer.Exit)]
        aborts += [getattr(vendored, "Abort", typer.Abort)]
    except ImportError:
        pass
    return tuple(exits), tuple(aborts), tuple(usage)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())


def entry() -> None:
    """Console script: ``robustlens``."""
    sys.exit(main())
