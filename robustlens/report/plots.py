"""Report figures with matplotlib's Agg backend, as deterministic PNG bytes.

Readability rules: colours from the Okabe-Ito palette (distinguishable with the common colour-vision
deficiencies) and the cividis colour map (perceptually uniform, monotonic in lightness, so it survives
greyscale printing); every model also gets its own marker and line style, so lines stay apart when
printed in grey. PNGs carry no timestamp or software tag, so the same run gives the same bytes.

Figures are built on ``matplotlib.figure.Figure`` directly (no pyplot global state). Values come from
the report data; annotations print its ``text`` fields.
"""

from __future__ import annotations

import base64
import io
from typing import Any

from matplotlib.figure import Figure

OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1)), (0, (1, 1)), (0, (8, 2)))
RC: dict[Any, Any] = {  # matplotlib's stub keys rcParams by a Literal of every name
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.6,
    "legend.fontsize": 8,
    "legend.frameon": False,
}
DPI = 110
# Smallest top of the heatmap colour scale per metric, so that tiny differences are not stretched
# over the whole colour map.
MIN_SCALE = {"accuracy_drop": 0.1, "lfp": 0.1, "1-cosine": 0.02}


def style(index: int) -> dict[str, Any]:
    """Colour, marker and line style of the ``index``-th model (all three differ per model)."""
    return {
        "color": OKABE_ITO[index % len(OKABE_ITO)],
        "marker": MARKERS[index % len(MARKERS)],
        "linestyle": LINESTYLES[index % len(LINESTYLES)],
    }


def png_bytes(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None}, bbox_inches="tight")
    return buf.getvalue()


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def figures(data: dict[str, Any]) -> dict[str, bytes]:
    """All figures the report data supports, by name (PNG bytes)."""
    import matplotlib as mpl

    out: dict[str, bytes] = {}
    with mpl.rc_context(RC):
        if data["heatmap"]["models"] and data["heatmap"]["corruptions"]:
            out["heatmap"] = png_bytes(heatmap(data))
        out["severity_curves"] = png_bytes(severity_curves(data))
        scatter = tracking_scatter(data)
        if scatter is not None:
            out["label_free_vs_accuracy"] = png_bytes(scatter)
    return out


def heatmap(data: dict[str, Any]) -> Figure:
    """Model x corruption: the mean damage over severities, annotated with the report's numbers."""
    hm = data["heatmap"]
    values = [[v["value"] if v["value"] is not None else float("nan") for v in row] for row in hm["values"]]
    n_rows, n_cols = len(hm["models"]), len(hm["corruptions"])
    width = min(2.6 + 1.1 * n_cols + 0.06 * max(len(m) for m in hm["models"]), 11)
    fig = Figure(figsize=(width, 1.1 + 0.5 * n_rows), layout="constrained")
    ax = fig.add_subplot()
    finite = [v for row in values for v in row if v == v]
    top = max([*finite, MIN_SCALE.get(hm["metric"], 0.05)])  # a near-zero run must not look alarming
    low = min([*finite, 0.0])
    image = ax.imshow(values, cmap="cividis", vmin=low, vmax=top, aspect="auto")
    ax.set_xticks(
        range(n_cols),
        hm["corruptions"],
        rotation=30 if n_cols > 4 else 0,
        ha="right" if n_cols > 4 else "center",
    )
    ax.set_yticks(range(n_rows), hm["models"])
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)
    for i, row in enumerate(hm["values"]):
        for j, v in enumerate(row):
            value = float(v["value"] if v["value"] is not None else low)
            # Norm maps a scalar to a scalar at runtime; its stub only declares arrays
            r, g, b, _ = image.cmap(image.norm(value))  # type: ignore[arg-type]
            dark = 0.2126 * r + 0.7152 * g + 0.0722 * b < 0.45  # relative luminance of the cell
            ax.text(
                j, i, v["text"], ha="center", va="center", fontsize=8.5, color="white" if dark else "black"
            )
    bar = fig.colorbar(image, ax=ax, fraction=0.05, pad=0.02, aspect=10)
    bar.set_label(hm["short_label"], fontsize=8)
    return fig


def _model_styles(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["id"]: style(i) for i, m in enumerate(data["run"]["models"])}


def severity_curves(data: dict[str, Any]) -> Figure:
    """One panel per corruption: the ranking metric against severity (0 = clean) for every model,
    with its bootstrap 95% interval as a shaded band."""
    run = data["run"]
    metric = run["ranking"]["metric"]
    corruptions = run["corruptions"]
    styles = _model_styles(data)
    n = len(corruptions)
    cols = min(3, max(n, 1))
    rows = -(-n // cols) if n else 1
    fig = Figure(figsize=(3.4 * cols, 2.6 * rows + 0.5), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False, sharey=True)
    by_key = {(c["model"], c["corruption"], c["severity"]): c for c in data["cells"]}
    clean = {c["model"]: c for c in data["cells"] if c["corruption"] == "clean"}
    for k, corruption in enumerate(corruptions):
        ax = axes[k // cols][k % cols]
        for i, (model_id, st) in enumerate(styles.items()):
            # models side by side (a small dodge), so identical curves do not hide each other
            dodge = (i - (len(styles) - 1) / 2) * 0.03 * max(float(s) for s in run["severities"])
            points = [clean.get(model_id)] + [
                by_key.get((model_id, corruption, float(s))) for s in run["severities"]
            ]
            xs, ys, lo, hi = [], [], [], []
            for x, cell in zip([0.0, *[float(s) for s in run["severities"]]], points, strict=True):
                mv = cell["metrics"].get(metric) if cell else None
                if mv is None or mv["value"] is None:
                    continue
                xs.append(x + dodge)
                ys.append(mv["value"])
                lo.append(mv["ci_low"] if mv["ci_low"] is not None else mv["value"])
                hi.append(mv["ci_high"] if mv["ci_high"] is not None else mv["value"])
            if not xs:
                continue
            ax.fill_between(xs, lo, hi, color=st["color"], alpha=0.16, linewidth=0)
            ax.plot(xs, ys, label=model_id, markersize=5, linewidth=1.6, **st)
        ax.set_title(corruption)
        ax.set_xticks([0.0, *[float(s) for s in run["severities"]]], ["clean", *run["severities"]])
        ax.set_xlabel("severity")
        if k % cols == 0:
            ax.set_ylabel(run["ranking"]["label"])
    for k in range(n, rows * cols):
        axes[k // cols][k % cols].set_visible(False)
    handles, labels = axes[0][0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 3))
    return fig


def tracking_scatter(data: dict[str, Any]) -> Figure | None:
    """Label-free signals (LFP, L2 drift) against the accuracy drop, one point per cell and model;
    the legend carries each model's Pearson r from the run summary. Labelled runs only."""
    if not data["run"]["labelled"]:
        return None
    signals = [s for s in ("lfp", "l2_drift") if any(s in c["metrics"] for c in data["cells"])]
    if not signals:
        return None
    styles = _model_styles(data)
    audited = [m["id"] for m in data["run"]["models"] if m["role"] != "reference"]
    tracking = {
        e["model"]: {s["signal"]: s["r"] for s in e["tracking"]["signals"]} for e in data["label_free"]
    }
    fig = Figure(figsize=(3.6 * len(signals), 3.0 + 0.25 * len(audited)), layout="constrained")
    axes = fig.subplots(1, len(signals), squeeze=False)[0]
    for ax, signal in zip(axes, signals, strict=True):
        for model_id in audited:
            st = styles[model_id]
            pts = [
                (c["metrics"][signal]["value"], c["metrics"]["accuracy_drop"]["value"])
                for c in data["cells"]
                if c["model"] == model_id
                and signal in c["metrics"]
                and "accuracy_drop" in c["metrics"]
                and c["metrics"][signal]["value"] is not None
                and c["metrics"]["accuracy_drop"]["value"] is not None
            ]
            if not pts:
                continue
            r = tracking.get(model_id, {}).get(signal)
            label = f"{model_id} (r = {r['text']})" if r else model_id
            ax.plot(
                [p[0] for p in pts],
                [p[1] for p in pts],
                linestyle="none",
                marker=st["marker"],
                color=st["color"],
                markersize=6,
                alpha=0.85,
                label=label,
            )
        ax.axhline(0, color="#999999", linewidth=0.8)
        ax.set_xlabel({"lfp": "LFP (label flip probability)", "l2_drift": "embedding L2 drift"}[signal])
        ax.set_ylabel("accuracy drop")
        # below the axes, never over the points (each panel's r differs, so one legend per panel)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncols=1)
    return fig
