"""`robustlens report RUN_DIR`: rebuild a finished run's report (HTML, Markdown, JSON, CSV)."""

from __future__ import annotations

from pathlib import Path

import typer

from robustlens.cli.app import app, console


@app.command("report")
def report_cmd(
    run_dir: Path = typer.Argument(
        ..., metavar="RUN_DIR", help="Run directory written by `robustlens eval --out`."
    ),
    formats: str = typer.Option(
        "html,md,json,csv", "--format", "-f", help="Comma-separated subset of html, md, json, csv."
    ),
    open_it: bool = typer.Option(False, "--open", help="Open the HTML report in a browser."),
) -> None:
    """Write RUN_DIR/report/: report.html, report.md, report.json and cells.csv (from stored results)."""
    from robustlens.report.render import parse_formats, write_report

    chosen = parse_formats(formats)
    if open_it and "html" not in chosen:
        chosen = (*chosen, "html")
    paths = write_report(run_dir, chosen)
    for fmt, path in paths.items():
        console.print(f"{fmt:>4}: {path}")
    if open_it:
        import webbrowser

        webbrowser.open(paths["html"].resolve().as_uri())
