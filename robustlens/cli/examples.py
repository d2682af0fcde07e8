"""`robustlens examples [--out DIR]`: list the shipped example briefs and plans, or write copies.

Why: the README's commands name ``examples/...``, which a pip install does not have; this command
writes those files where the user can run and edit them.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from robustlens.cli.app import app, console


@app.command("examples")
def examples_cmd(
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Write copies of every example into this folder (created)."
    ),
    force: bool = typer.Option(False, "--force", help="Replace files in --out that differ (your edits)."),
) -> None:
    """List the example domain briefs and corruption plans; with --out, write copies to edit and run."""
    from robustlens.examples import describe, example_files, kind_of, write_examples

    examples = example_files()
    if out is None:
        table = Table(title="Examples shipped with robustlens", padding=(0, 1))
        table.add_column("name", no_wrap=True)
        table.add_column("kind", no_wrap=True)
        table.add_column("what it is", overflow="fold")
        for name, resource in examples.items():
            table.add_row(name, kind_of(name), escape(describe(resource)))
        console.print(table)
        console.print(
            "Write copies with [bold]robustlens examples --out examples[/bold], then e.g. "
            "[bold]robustlens run examples/textile_line.yaml[/bold]."
        )
        return
    written = write_examples(out, force=force)
    for name, path in written.items():
        console.print(f"  {kind_of(name):>5}: {escape(str(path))}")
    brief = written.get("textile_line.yaml")
    console.print(f"Wrote {len(written)} example(s) to {escape(str(out))}.")
    if brief is not None:
        console.print(f"Next: robustlens run {escape(str(brief))}", highlight=False)
