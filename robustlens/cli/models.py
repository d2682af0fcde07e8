"""`robustlens models list`: the model ids robustlens can load, which are cached here, as text or JSON."""

from __future__ import annotations

import json
import textwrap

import typer
from rich.markup import escape

from robustlens.cli.app import app, console
from robustlens.errors import UserInputError, did_you_mean

models_app = typer.Typer(help="Model ids robustlens can load.", no_args_is_help=True)
app.add_typer(models_app, name="models")


@models_app.command("list")
def models_list(
    prefix: str | None = typer.Option(None, "--prefix", help="Only openclip, hf or demo."),
    show_all: bool = typer.Option(
        False, "--all", help="Also list open_clip architectures (for --checkpoint)."
    ),
    cached: bool = typer.Option(
        False, "--cached", help="Only models whose weights are on this machine (no download needed)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output on stdout."),
) -> None:
    """List model ids (open_clip pretrained pairs, Hugging Face models, demo models)."""
    from robustlens.models.catalog import cache_locations, model_catalog
    from robustlens.models.registry import DESCRIPTIONS

    if prefix is not None and prefix not in DESCRIPTIONS:
        raise UserInputError(
            f"--prefix {prefix!r} is not a model prefix.",
            fix=(did_you_mean(prefix, DESCRIPTIONS) + f" Use one of: {', '.join(DESCRIPTIONS)}.").strip(),
            field="prefix",
        )
    entries = model_catalog(prefix, cached_only=cached)
    architectures: list[str] = []
    if show_all and prefix in (None, "openclip"):
        from robustlens.models.openclip import list_architectures

        architectures = list_architectures()
    if as_json:
        payload: dict[str, object] = {"models": [e.as_dict() for e in entries]}
        if cached:
            payload["cache_locations"] = cache_locations()
        if show_all:
            payload["architectures"] = architectures
        typer.echo(json.dumps(payload, indent=2))
        return
    for pfx, description in DESCRIPTIONS.items():
        if prefix not in (None, pfx):
            continue
        ids = [e for e in entries if e.prefix == pfx]
        console.print(f"[bold]{pfx}[/bold] ({len(ids)} {'cached here' if cached else 'known'})")
        _indented(description, 4, dim=True)
        for entry in ids:
            mark = "  [green]cached[/green]" if entry.cached and not cached else ""
            console.print(f"  {escape(entry.id)}{mark}")
    if cached:
        console.print("[dim]Looked in:[/dim]")
        for name, where in cache_locations().items():
            _indented(f"{name}: {where}", 4, dim=True)
    if architectures:
        console.print("[bold]open_clip architectures[/bold] (openclip:ARCH with --checkpoint PATH):")
        _indented(", ".join(architectures), 2)


def _indented(text: str, indent: int, dim: bool = False) -> None:
    """Wrap to the terminal with a hanging indent and no trailing spaces (readable at 80 columns)."""
    pad = " " * indent
    body = textwrap.fill(text, width=max(console.width, 40), initial_indent=pad, subsequent_indent=pad)
    console.print(escape(body), style="dim" if dim else None, soft_wrap=True)
