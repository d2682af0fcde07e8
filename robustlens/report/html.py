"""The HTML report: one self-contained file (inline CSS, figures and thumbnails as base64 data URIs).

It makes no network request: no web fonts (system font stack), no CDN, no script at all, and a
Content-Security-Policy that forbids loading anything but ``data:`` images, so the file can be mailed,
archived or opened offline and always looks the same. Every number is a ``text`` field of the report
data (see ``context``); this module only lays them out.
"""

from __future__ import annotations

import base64

import jinja2

from robustlens.report import html_investigation
from robustlens.report.context import ReportContext
from robustlens.report.formatting import upfirst
from robustlens.report.html_template import CSP, CSS, TEMPLATE
from robustlens.report.ood_section import render_ood_html
from robustlens.report.plots import data_uri
from robustlens.report.scope import render_scope_html

FIGURES = ("heatmap", "severity_curves", "label_free_vs_accuracy")
TOC = (
    ("summary", "Executive summary"),
    ("brief", "Domain brief"),
    ("plan", "Corruption plan"),
    ("strips", "Your images"),
    ("clean", "Clean performance"),
    ("heatmap", "Model × corruption"),
    ("curves", "Severity curves"),
    ("vulnerabilities", "Ranked vulnerabilities"),
    ("ce", "CE / mCE"),
    ("label-free", "Label-free metrics"),
    ("calibration", "Calibration"),
    ("gallery", "Failure gallery"),
    ("shifts", "Confusion shifts"),
    ("recommendations", "Recommendations"),
    ("comparisons", "Model comparisons"),
    ("cells", "All results"),
    ("reproducibility", "Reproducibility"),
)
GALLERY_RULES = {
    "accuracy": "Images right when clean and wrong when corrupted, most confident errors first.",
    "lfp": "Images whose prediction flipped under corruption, most confident flips first.",
    "cosine": "Images whose embedding drifted most under corruption.",
}
_ENV = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=False)
_ENV.filters["upfirst"] = upfirst
_TEMPLATE = _ENV.from_string(TEMPLATE)


def _png(data: bytes | None) -> str | None:
    return None if data is None else "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def render_html(ctx: ReportContext) -> str:
    """The report as one self-contained HTML page."""
    d = ctx.data
    run = d["run"]
    audited = [m["id"] for m in run["models"] if m["role"] != "reference"]
    toc = [
        (i, t)
        for i, t in TOC
        if not (i == "brief" and not d["brief"])
        and not (i == "comparisons" and not d["paired"])
        and not (i == "heatmap" and "heatmap" not in ctx.figures)
    ]
    at = next(n for n, (i, _) in enumerate(toc) if i == "vulnerabilities") + 1
    toc[at:at] = html_investigation.toc(d)
    if d.get("metric_scope"):  # a run with an image-only model
        after = next(n for n, (i, _) in enumerate(toc) if i == "label-free") + 1
        toc.insert(after, ("metric-scope", "Metric scope"))
    if d.get("ood"):  # a run with an OOD set (--ood)
        ids = [i for i, _ in toc]
        toc.insert(ids.index("metric-scope" if "metric-scope" in ids else "label-free") + 1, ("ood", "OOD"))
    random = {m["id"] for m in run["models"] if m["random_weights"]}
    lf_metrics = [
        m
        for m in ("lfp", "cosine", "l2_drift", "confidence_drop")
        if any(m in e["mean_corrupted"] for e in d["label_free"])
    ]
    radius = [r["corruption"] for r in d["label_free"][0]["divergence_radius"]] if d["label_free"] else []
    signals = [s["label"] for s in d["label_free"][0]["tracking"]["signals"]] if d["label_free"] else []
    clean_metrics = [m for m in d["metrics"] if any(m in c["metrics"] for c in d["clean"])]
    return _TEMPLATE.render(
        css=CSS + (html_investigation.CSS if "investigation" in d else ""),
        csp=CSP,
        d=d,
        run=run,
        toc=toc,
        random=random,
        investigation=html_investigation.render_investigation(ctx, random),
        metric_scope=render_scope_html(d, random),
        ood=render_ood_html(d),
        ckpt={m["id"]: m for m in run["models"] if m.get("checkpoint")},
        strips=[
            {"s": s, "images": [_png(b) for b in row]}
            for s, row in zip(d["strips"], ctx.strip_images, strict=True)
        ],
        paragraphs=[p.strip() for p in (d["summary"]["narrative"] or "").split("\n\n") if p.strip()],
        fig=dict.fromkeys(FIGURES) | {k: data_uri(v) for k, v in ctx.figures.items()},
        audited=audited,
        collapse={(p["model_id"], p["corruption"]): p for p in d["collapse"]},
        gallery_rule=GALLERY_RULES[run["ranking"]["metric"]],
        gallery=[
            {"e": e, "clean": _png(t.clean), "corrupted": _png(t.corrupted)}
            for e, t in zip(d["gallery"], ctx.thumbs, strict=True)
        ],
        lf_metrics=lf_metrics,
        radius_corruptions=radius,
        tracking_signals=signals,
        clean_metrics=clean_metrics,
    )
