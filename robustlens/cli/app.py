"""Typer application, shared console and the error boundary (UserInputError -> exit 2)."""

from __future__ import annotations

import os
import sys

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import click
import typer
from rich.console import Console
from rich.panel import Panel

from robustlens import __version__
from robustlens.errors import UserInputError

console = Console()
err_console = Console(stderr=True)

app = typer.Typer(
    name="robustlens",
    help=(
        "Audit vision-language models (CLIP, SigLIP, ALIGN, ...) for robustness in YOUR deployment "
        "domain: realistic corruptions, validated, evaluated with confidence intervals, reported."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
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


def report_user_error(exc: UserInputError) -> None:
    body = f"[bold]{exc.what}[/bold]"
    if exc.why:
        body += f"\n[dim]why:[/dim] {exc.why}"
    if exc.fix:
        body += f"\n[dim]fix:[/dim] {exc.fix}"
    err_console.print(Panel(body, title="robustlens: input error", border_style="red", expand=False))


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point: user mistakes exit 2 with a message, never a traceback."""
    from robustlens.cli import commands  # noqa: F401  (registers every command)

    exits, aborts, usage = _click_exceptions()
    try:
        rv = app(args=argv, standalone_mode=False)
    except UserInputError as exc:
        report_user_error(exc)
        return 2
    except exits as exc:
        return int(getattr(exc, "exit_code", 0) or 0)
    except aborts:
        err_console.print("Aborted.")
        return 130
    except usage as exc:
        exc.show()  # type: ignore[attr-defined]
        return 2
    except KeyboardInterrupt:
        err_console.print("Interrupted: finished work is kept; run the same command again to resume.")
        return 130
    return rv if isinstance(rv, int) else 0


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
