"""Which metrics apply to which model: the report's answer when a run mixes image-only encoders
(DINOv2, timm ViTs) with image-text models (CLIP, SigLIP, ALIGN).

Zero-shot metrics need a text tower; an image-only encoder is judged by its embeddings (drift,
Divergence Radius, kNN flip: arXiv 2604.14973) and, with labels, by a kNN / linear probe fitted on
clean images (``robustlens.evaluation.probe``). Each "yes" below is read from the model's own cells
in the result, never assumed, so the table cannot claim a metric the run did not compute.
"""

from __future__ import annotations

from typing import Any

import jinja2
from markupsafe import Markup

from robustlens.evaluation.store import CLEAN
from robustlens.report.formatting import metric
from robustlens.schemas import AuditResult

# (group shown, a metric that marks it in a model's cells, when it applies)
GROUPS: tuple[tuple[str, str, str], ...] = (
    ("Zero-shot accuracy, accuracy drop, CE/mCE", "accuracy", "text tower + labels"),
    ("LFP, confidence drop", "lfp", "text tower (no labels needed)"),
    ("Calibration (ECE, NLL)", "ece", "text tower + labels"),
    ("Retrieval R@k", "i2t_r1", "text tower + captions"),
    ("Embedding drift (cosine, L2)", "cosine", "every model"),
    ("Divergence Radius", "divergence_radius", "every model"),
    ("kNN flip (nearest clean support image changes)", "knn_flip", "every model (no labels needed)"),
    ("kNN / linear-probe accuracy and drop, kNN LFP", "knn_accuracy", "image-only models + labels"),
)
PROBE_METRICS = ("knn_accuracy", "probe_accuracy")


def metric_scope(result: AuditResult, manifest: dict[str, Any]) -> dict[str, Any] | None:
    """The "which metrics apply" table and the probe summary; None when no model is image-only."""
    models = list(
        dict.fromkeys([*result.models, *([result.reference_model] if result.reference_model else [])])
    )
    image_only = set(manifest.get("image_only_models", []))
    have: dict[str, set[str]] = {m: set() for m in models}
    for cell in result.cells:
        if cell.model_id in have:
            have[cell.model_id] |= set(cell.metrics)
    for m in models:
        entry = result.summary.get("models", {}).get(m, {})
        if entry.get("divergence_radius"):
            have[m].add("divergence_radius")
        if "knn_accuracy" in have[m]:
            image_only.add(m)
    if not image_only & set(models):
        return None
    rows = [
        {"group": group, "rule": rule, "applies": ["yes" if marker in have[m] else "no" for m in models]}
        for group, marker, rule in GROUPS
        if marker != "i2t_r1" or any(marker in have[m] for m in models)
    ]
    kinds = [{"id": m, "kind": "image-only" if m in image_only else "image-text"} for m in models]
    return {"models": kinds, "rows": rows, "probes": _probes(result, [m for m in models if m in image_only])}


def _probes(result: AuditResult, models: list[str]) -> list[dict[str, Any]]:
    """Per image-only model: the split, and clean vs mean-corrupted kNN / linear-probe accuracy."""
    out = []
    for m in models:
        entry = result.summary.get("models", {}).get(m, {})
        info = entry.get("probe")
        clean = result.cell(m, CLEAN, 0.0)
        if not info or clean is None or "knn_accuracy" not in clean.metrics:
            continue
        mean = entry.get("mean_corrupted", {})
        out.append(
            {
                "model": m,
                "split": f"{info['n_support']} support / {info['n_query']} query images "
                f"(stratified, seeded), kNN k = {info['knn']['k']}, fitted on clean support images only",
                "metrics": [
                    {
                        "name": name,
                        "clean": metric(clean.metrics.get(name)),
                        "mean_corrupted": metric(mean.get(name)),
                        "mean_drop": metric(mean.get(f"{name}_drop")),
                    }
                    for name in PROBE_METRICS
                ],
                "knn_flip": metric(mean.get("knn_flip")),
                "tracking": _tracking(info.get("tracking", {}).get("probe_accuracy_drop", {})),
            }
        )
    return out


SIGNAL_NAMES = {"divergence_radius": "Divergence Radius", "l2_drift": "L2 drift", "knn_flip": "kNN flip"}


def _tracking(entry: dict[str, Any]) -> list[str]:
    """One line per label-free signal: its Pearson r with the linear-probe accuracy drop, or why the
    comparison is not ranked (see ``probe.probe_summary``)."""
    lines = []
    for name, label in SIGNAL_NAMES.items():
        s = entry.get("signals", {}).get(name)
        if s is None:
            continue
        r = metric({k: s.get(k) for k in ("value", "ci_low", "ci_high")})
        where = f"over {s.get('n_points')} {s.get('over')}"
        if s.get("ranked"):
            lines.append(
                f"{label}: r = {r['text']}" + (f" ({r['ci_text']})" if r["ci_text"] else "") + f" {where}"
            )
        else:
            lines.append(f"{label}: not ranked ({s.get('reason')})")
    return lines


_HTML = r"""
{%- macro mv(x) %}{{ x.text }}
{%- if x.ci_text %}<span class="ci">{{ x.ci_text }}</span>{% endif %}{% endmacro %}
{%- macro model(id) %}<code>{{ id }}</code>
{%- if id in random %}<span class="badge random">random weights</span>{% endif %}{% endmacro %}
<h2 id="metric-scope">Which metrics apply to which model</h2>
<p class="muted">Image-only encoders have no text tower: no zero-shot classifier, so they are judged by
their embeddings and, with labels, by probes fitted on clean images (yes = computed here).</p>
<div class="scroll"><table>
<tr><th>Metrics</th><th>Applies to</th>{% for m in s.models %}<th>{{ model(m.id) }} ({{ m.kind }})</th>
{%- endfor %}</tr>
{% for r in s.rows %}<tr><td>{{ r.group }}</td><td>{{ r.rule }}</td>
{%- for a in r.applies %}<td>{{ a }}</td>{% endfor %}</tr>
{% endfor %}</table></div>
{% for p in s.probes %}<h3>Downstream probes of {{ model(p.model) }}</h3>
<p class="muted">{{ p.split }}.</p>
<div class="scroll"><table>
<tr><th>Probe</th><th class="num">Clean</th><th class="num">Mean corrupted</th>
<th class="num">Mean drop</th></tr>
{% for m in p.metrics %}<tr><td>{{ labels.get(m.name, m.name) }}</td><td class="num">{{ mv(m.clean) }}</td>
<td class="num">{{ mv(m.mean_corrupted) }}</td><td class="num">{{ mv(m.mean_drop) }}</td></tr>
{% endfor %}<tr><td>kNN flip</td><td class="num">–</td><td class="num">{{ mv(p.knn_flip) }}</td>
<td class="num">–</td></tr></table></div>
{% if p.tracking %}<p class="muted">How the label-free signals track the linear-probe accuracy drop
(Pearson r, bootstrap 95% interval):</p><ul>{% for t in p.tracking %}<li>{{ t }}</li>{% endfor %}</ul>
{% endif %}{% endfor %}"""


def render_scope_html(data: dict[str, Any], random: set[str]) -> Markup:
    """The HTML section (empty when no model is image-only); autoescaped like the rest of the page."""
    scope = data.get("metric_scope")
    if not scope:
        return Markup("")
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    return Markup(env.from_string(_HTML).render(s=scope, random=random, labels=data["metric_labels"]))
