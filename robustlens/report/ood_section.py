"""The report's "OOD detection under corruption" section, from ``result.summary["ood"]``.

One row per model and score (MCM, Ming et al. 2022; kNN distance, Sun et al. 2022): AUROC and
FPR@95 on clean images, the mean AUROC over corrupted cells and the cell where telling ID from OOD
is hardest, and one sentence per model. Every number is read from the stored section (computed by
``robustlens.evaluation.ood``), never recomputed here.
"""

from __future__ import annotations

from typing import Any

import jinja2
from markupsafe import Markup

from robustlens.evaluation.store import CLEAN
from robustlens.report.formatting import metric, number, sev
from robustlens.report.md_text import Md, _mv, _table, code, text
from robustlens.schemas import AuditResult

SCORE_LABELS = {"mcm": "MCM (max concept matching)", "knn": "kNN distance"}
# A drop in AUROC smaller than this, with overlapping intervals, is "about the clean level".
NOTABLE_DROP = 0.05


def _sentence(model: str, score: str, clean: dict[str, Any], worst: dict[str, Any] | None, src: str) -> str:
    head = f"{model} ({SCORE_LABELS[score]}) tells {src} from clean images with AUROC {_mv(metric(clean))}"
    if worst is None:
        return head + "."
    where = f"{worst['corruption']} s{sev(worst['severity'])}"
    w = worst["auroc"]
    if w["ci_high"] is not None and clean["value"] is not None and w["ci_high"] < clean["value"]:
        return (
            f"{head}; under {where} it falls to {_mv(metric(w))}: corrupted in-distribution images "
            "start to look OOD."
        )
    if clean["value"] is not None and w["value"] < clean["value"] - NOTABLE_DROP:
        return f"{head}; lowest under {where}, {_mv(metric(w))} (its interval still reaches the clean value)."
    return f"{head}; it stays about as high in every corrupted cell (lowest {_mv(metric(w))}, {where})."


def ood_data(result: AuditResult) -> dict[str, Any] | None:
    """Rows and sentences of the section; None when the run has no OOD set."""
    section = result.summary.get("ood")
    if not section:
        return None
    rows, sentences = [], []
    for model_id, scores in section.get("models", {}).items():
        primary = "mcm" if "mcm" in scores else "knn"
        for score in ("mcm", "knn"):
            cells = scores.get(score, {}).get("cells", [])
            clean = next((c for c in cells if c["corruption"] == CLEAN), None)
            if clean is None:
                continue
            corrupted = [c for c in cells if c["corruption"] != CLEAN]
            worst = min(corrupted, key=lambda c: c["auroc"]["value"]) if corrupted else None
            mean = sum(c["auroc"]["value"] for c in corrupted) / len(corrupted) if corrupted else None
            rows.append(
                {
                    "model": model_id,
                    "score": SCORE_LABELS[score],
                    "clean_auroc": metric(clean["auroc"]),
                    "clean_fpr95": metric(clean["fpr95"]),
                    "mean_auroc": number(mean) if mean is not None else "–",
                    "worst_cell": f"{worst['corruption']} s{sev(worst['severity'])}" if worst else "–",
                    "worst_auroc": metric(worst["auroc"]) if worst else metric(None),
                    "worst_fpr95": metric(worst["fpr95"]) if worst else metric(None),
                }
            )
            if score == primary:
                sentences.append(_sentence(model_id, score, clean["auroc"], worst, section["source"]))
    return {
        "source": section["source"],
        "n_ood": section["n_ood"],
        "tpr": section["tpr"],
        "rows": rows,
        "sentences": sentences,
    }


_INTRO = (
    "Can each model still tell the in-distribution images (clean, or corrupted) from the OOD set? "
    "AUROC (1 = perfect, 0.5 = chance) and FPR@95 (share of OOD images accepted when 95% of ID images "
    "are), ID as positive, bootstrap 95% intervals; a lower AUROC under a corruption means corrupted "
    "in-distribution images start to look OOD."
)
_HEAD = ["Model", "Score", "Clean AUROC", "Clean FPR@95", "Mean corrupted AUROC", "Hardest cell", "AUROC"]


def ood_markdown(data: dict[str, Any] | None, model: Any = code) -> list[str]:
    """The Markdown section (empty list without an OOD set); ``model`` formats a model id."""
    if not data:
        return []
    head = f"OOD set: {code(data['source'])} ({data['n_ood']} images). {_INTRO}"
    out = ["## OOD detection under corruption", "", head]
    rows = [
        [
            Md(str(model(r["model"]))),
            r["score"],
            _mv(r["clean_auroc"]),
            _mv(r["clean_fpr95"]),
            r["mean_auroc"],
            r["worst_cell"],
            _mv(r["worst_auroc"]),
        ]
        for r in data["rows"]
    ]
    out += ["", *_table(_HEAD, rows, 2)]
    return [*out, *[f"- {text(s)}" for s in data["sentences"]], ""]


_HTML = r"""
{%- macro mv(x) %}{{ x.text }}
{%- if x.ci_text %}<span class="ci">{{ x.ci_text }}</span>{% endif %}{% endmacro %}
<h2 id="ood">OOD detection under corruption</h2>
<p class="muted">OOD set: <code>{{ o.source }}</code> ({{ o.n_ood }} images). {{ intro }}</p>
<div class="scroll"><table>
<tr>{% for h in head %}<th{% if loop.index > 2 %} class="num"{% endif %}>{{ h }}</th>{% endfor %}</tr>
{% for r in o.rows %}<tr><td><code>{{ r.model }}</code></td><td>{{ r.score }}</td>
<td class="num">{{ mv(r.clean_auroc) }}</td><td class="num">{{ mv(r.clean_fpr95) }}</td>
<td class="num">{{ r.mean_auroc }}</td><td class="num">{{ r.worst_cell }}</td>
<td class="num">{{ mv(r.worst_auroc) }}</td></tr>
{% endfor %}</table></div>
<ul>{% for s in o.sentences %}<li>{{ s }}</li>{% endfor %}</ul>"""


def render_ood_html(data: dict[str, Any]) -> Markup:
    """The HTML section (empty without an OOD set); autoescaped like the rest of the page."""
    o = data.get("ood")
    if not o:
        return Markup("")
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    return Markup(env.from_string(_HTML).render(o=o, intro=_INTRO, head=_HEAD))
