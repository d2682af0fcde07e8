"""Write a run's report: ``RUN/report/report.html``, ``report.md`` (+ ``figures/``), ``report.json``,
``cells.csv`` (and ``envelope.csv`` when the run has an investigation).

Everything is rebuilt from the files of the run (``result.json``, ``manifest.json``, the per-image
records and, for the gallery, the dataset's images), with no clock and no randomness: building the
report twice gives byte-identical files.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from robustlens.errors import UserInputError
from robustlens.evaluation.store import atomic_write_bytes, atomic_write_text
from robustlens.report.context import ReportContext, build_context

FORMATS = ("html", "md", "json", "csv")
FILE_NAMES = {"html": "report.html", "md": "report.md", "json": "report.json", "csv": "cells.csv"}
ENVELOPE_CSV = "envelope.csv"


def parse_formats(formats: str | Iterable[str]) -> tuple[str, ...]:
    """'html,md' or an iterable -> a validated tuple in canonical order."""
    items = [f.strip().lower() for f in (formats.split(",") if isinstance(formats, str) else formats)]
    items = ["md" if f in ("markdown", "md") else f for f in items if f]
    bad = [f for f in items if f not in FORMATS]
    if bad or not items:
        raise UserInputError(
            f"Unknown report format(s): {', '.join(bad) or '(none given)'}.",
            why=f"robustlens writes {', '.join(FORMATS)}.",
            fix="Use e.g. --format html,md,json,csv (any subset).",
            field="format",
        )
    return tuple(f for f in FORMATS if f in items)


def write_report(
    run_dir: Path,
    formats: Iterable[str] = FORMATS,
    narrative: str | None = None,
    narrative_source: str = "template",
) -> dict[str, Path]:
    """Build the report of a finished run and write the requested formats under ``RUN/report``.

    ``narrative`` is an executive summary written elsewhere (e.g. by the agent's LLM); it is shown
    labelled by ``narrative_source`` ("llm" -> "LLM narrative"), next to the summary generated from
    the numbers. Returns the written files by format.
    """
    chosen = parse_formats(formats)
    ctx = build_context(Path(run_dir), narrative=narrative, narrative_source=narrative_source)
    return write_context(ctx, chosen)


def write_context(ctx: ReportContext, formats: Iterable[str] = FORMATS) -> dict[str, Path]:
    """Render an already built context (see ``write_report``)."""
    out_dir = ctx.run_dir / "report"
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for fmt in parse_formats(formats):
        path = out_dir / FILE_NAMES[fmt]
        if fmt == "html":
            from robustlens.report.html import render_html

            atomic_write_text(path, render_html(ctx))
        elif fmt == "md":
            from robustlens.report.markdown import FIGURE_FILES, render_markdown

            for name, png in ctx.figures.items():
                atomic_write_bytes(out_dir / FIGURE_FILES[name], png)
            atomic_write_text(path, render_markdown(ctx))
        elif fmt == "json":
            from robustlens.report.tables import report_json

            atomic_write_text(path, report_json(ctx))
        else:
            from robustlens.report.tables import cells_csv, envelope_csv

            atomic_write_text(path, cells_csv(ctx))
            if "investigation" in ctx.data:  # the operating envelope, one row per model x condition
                written["envelope_csv"] = out_dir / ENVELOPE_CSV
                atomic_write_text(written["envelope_csv"], envelope_csv(ctx))
        written[fmt] = path
    return written
