"""The summary tables `eval`, `run` and `demo` print: one row per cell with 95% intervals, the
metric columns grouped to fit the terminal (80 columns included), and the model-level aggregates."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from robustlens.cli.app import console
from robustlens.schemas import MetricValue


def fmt(mv: MetricValue | dict[str, Any] | None, digits: int = 3) -> str:
    """'0.812 (0.771-0.850)': value with its 95% interval."""
    if mv is None:
        return "-"
    d = mv if isinstance(mv, dict) else mv.model_dump()
    if d.get("value") is None or d["value"] != d["value"]:
        return "-"
    if d.get("ci_low") is None:
        return f"{d['value']:.{digits}f}"
    return f"{d['value']:.{digits}f} ({d['ci_low']:.{digits}f}–{d['ci_high']:.{digits}f})"


SUMMARY_METRICS = (
    "accuracy",
    "accuracy_drop",
    "balanced_accuracy",
    "lfp",
    "probe_accuracy",  # image-only models: linear probe on clean support images (evaluation/probe.py)
    "cosine",
    "ece",
    "i2t_r1",
)
HEADERS = {
    "balanced_accuracy": "bal. acc",
    "accuracy_drop": "acc. drop",
    "accuracy": "accuracy",
    "probe_accuracy": "probe acc",
}
NAME_WIDTH = 22  # longer corruption names fold onto a second line (never cut)


def print_summary(result, to: Console | None = None) -> None:
    """Per model: one row per cell with the headline metrics and 95% intervals; aggregates below.

    Every metric (NLL, confidence drop, L2 drift, retrieval R@5/10, ...) is in result.json. The
    metrics are split over as many tables as the terminal width needs, so nothing is cut to "…"
    on an 80-column terminal.
    """
    out = to or console
    present = [m for m in SUMMARY_METRICS if any(m in c.metrics for c in result.cells)]
    for model_id in result.models:
        cells = [c for c in result.cells if c.model_id == model_id]
        rows = {m: [fmt(c.metrics.get(m), 2) for c in cells] for m in present}
        name_w = min(max([len("corruption"), *(len(c.corruption) for c in cells)]), NAME_WIDTH)
        sev_w = max([3, *(len(f"{c.severity:g}") for c in cells)])
        widths = {m: max([len(HEADERS.get(m, m)), *(len(v) for v in rows[m])]) for m in present}
        groups = _column_groups(present, widths, out.width - (name_w + 3) - (sev_w + 3) - 1)
        for i, group in enumerate(groups):
            part = f" ({i + 1}/{len(groups)})" if len(groups) > 1 else ""
            table = Table(
                title=f"{escape(model_id)} — value (95% CI){part}",
                title_justify="left",
                show_lines=False,
                padding=(0, 1),
            )
            table.add_column("corruption", overflow="fold", max_width=name_w, min_width=name_w)
            table.add_column("sev", justify="right", overflow="fold", min_width=sev_w)
            for m in group:
                table.add_column(HEADERS.get(m, m), justify="right", overflow="fold", min_width=widths[m])
            for j, cell in enumerate(cells):
                table.add_row(escape(cell.corruption), f"{cell.severity:g}", *[rows[m][j] for m in group])
            out.print(table)
        for line in _aggregate_lines(result, model_id):
            out.print(f"  {escape(line)}", highlight=False)
    if result.skipped:
        out.print(f"[yellow]{len(result.skipped)} file(s) skipped[/yellow] (listed in images.json):")
        for s in result.skipped[:5]:
            out.print(f"  {escape(s.path)}: {escape(s.reason)}", highlight=False)


def _column_groups(metrics: list[str], widths: dict[str, int], room: int) -> list[list[str]]:
    """Split metric columns into groups that each fit ``room`` characters (3 = padding + border)."""
    groups: list[list[str]] = [[]]
    used = 0
    for m in metrics:
        need = widths[m] + 3
        if groups[-1] and used + need > room:
            groups.append([])
            used = 0
        groups[-1].append(m)
        used += need
    return [g for g in groups if g] or [[]]


def _aggregate_lines(result, model_id: str) -> list[str]:
    """Model-level aggregates: mean corrupted metric, mCE, Divergence Radius, label-free tracking."""
    entry = result.summary.get("models", {}).get(model_id, {})
    extras = []
    mean = entry.get("mean_corrupted", {})
    if mean:
        key = "accuracy" if "accuracy" in mean else "cosine"
        extras.append(f"mean corrupted {key}: {fmt(mean[key])}")
    if "mce" in entry:
        extras.append(
            f"mCE {fmt(entry['mce'])}; relative mCE {fmt(entry['relative_mce'])} "
            f"(reference {entry['reference']})"
        )
    radius = entry.get("divergence_radius", {})
    if radius:
        extras.append("Divergence Radius: " + ", ".join(f"{c} {fmt(v)}" for c, v in radius.items()))
    tracking = entry.get("label_free_tracking", {})
    pairs = [
        f"{k} r={v['value']:+.2f} [{v['ci_low']:+.2f}, {v['ci_high']:+.2f}]"
        if v.get("ranked") and v.get("ci_low") is not None
        else f"{k} not ranked ({v.get('status')})"
        for k, v in tracking.get("signals", {}).items()
    ]
    if pairs:
        extras.append(
            f"label-free signals vs accuracy drop ({tracking['n_cells']} cells): " + ", ".join(pairs)
        )
    return extras
