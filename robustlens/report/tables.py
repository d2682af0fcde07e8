"""Machine-readable exports: ``report.json`` (everything the report shows, schema-versioned) and
``cells.csv`` (one row per model x corruption x severity, each metric with its 95% interval).

Both are written from the report context, so they hold exactly the numbers the HTML and Markdown
print (the JSON also carries each number's display text).
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from robustlens.report.context import ReportContext

CELL_COLUMNS = ("model", "corruption", "severity", "n_images")


def report_json(ctx: ReportContext) -> str:
    """The report data as strict JSON (``schema`` and ``schema_version`` first), stable bytes."""
    return json.dumps(ctx.data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def csv_header(metrics: list[str]) -> list[str]:
    header = list(CELL_COLUMNS)
    for m in metrics:
        header += [m, f"{m}_ci_low", f"{m}_ci_high"]
    return header


def _cell(x: Any) -> str:
    return "" if x is None else repr(x) if isinstance(x, float) else str(x)


def cells_csv(ctx: ReportContext) -> str:
    """One row per cell (the clean baseline is the ``clean`` row at severity 0); a metric a cell does
    not have (e.g. LFP on the clean row) is left empty, as is an interval that is not computable."""
    metrics = list(ctx.data["metrics"])
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(csv_header(metrics))
    for cell in ctx.data["cells"]:
        row = [cell["model"], cell["corruption"], cell["severity_text"], str(cell["n_images"])]
        for m in metrics:
            mv = cell["metrics"].get(m) or {}
            row += [_cell(mv.get("value")), _cell(mv.get("ci_low")), _cell(mv.get("ci_high"))]
        writer.writerow(row)
    return buf.getvalue()


def envelope_csv(ctx: ReportContext) -> str:
    """``envelope.csv``: the investigation's operating envelope, one row per model x condition."""
    from robustlens.report.investigation import envelope_csv_rows

    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(envelope_csv_rows(ctx.data["investigation"]))
    return buf.getvalue()
