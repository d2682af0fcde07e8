"""The investigation's HTML sections (operating envelope, failure slices with thumbnails, compound
conditions, per-class vulnerability, investigation log), rendered into the report page by ``html``.

Kept out of ``html_template`` so that page stays readable; the same autoescaping environment renders
it, so a question or reason written by an LLM planner is text, never markup.
"""

from __future__ import annotations

import base64
from typing import Any

import jinja2
from markupsafe import Markup

from robustlens.report.context import ReportContext

TOC = (
    ("envelope", "Operating envelope"),
    ("slices", "Failure slices"),
    ("compounds", "Compound conditions"),
    ("class-vulnerability", "Per-class vulnerability"),
    ("investigation-log", "Investigation log"),
)
CSS = """
.env-fails_mildest td.st{color:var(--danger);font-weight:600}.env-within_all td.st{color:#007a55}
.sig{color:var(--danger);font-weight:600}
td.wrap{min-width:14em;max-width:32em;white-space:normal}
.slices{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,320px),1fr));gap:10px}
.slices .pair img{max-width:96px}
"""

TEMPLATE = r"""
{%- macro mv(x) %}{{ x.text }}
{%- if x.ci_text %}<span class="ci">{{ x.ci_text }}</span>{% endif %}{% endmacro %}
{%- macro model(id) %}<code>{{ id }}</code>
{%- if id in random %}<span class="badge random">random weights</span>{% endif %}{% endmacro %}
<h2 id="envelope">Operating envelope</h2>
{% if inv.envelope %}<p class="muted">Tolerance used: <strong>{{ inv.envelope_tolerance }}</strong>.
The tolerated level is the largest severity whose value stays within it (found by bisection), in
the condition's physical units, with its bootstrap 95% interval at that level. Earliest failures
first.</p>
<div class="scroll"><table>
<tr><th>Model</th><th>Condition</th><th>Envelope</th><th class="num">Tolerated severity</th>
<th class="num">Fails from</th><th class="num">Severities tested</th></tr>
{% for r in inv.envelope %}<tr class="env-{{ r.status }}"><td>{{ model(r.model) }}</td>
<td>{{ r.corruption }}</td><td class="st wrap">{{ r.text }}</td>
<td class="num">{{ r.tolerated_severity_text }}</td>
<td class="num">{{ r.failing_severity_text }}</td><td class="num">{{ r.evaluated_text }}</td></tr>
{% endfor %}</table></div>
{% else %}<p>The investigation bisected no condition.</p>{% endif %}

<h2 id="slices">Failure slices</h2>
{% if inv.slices %}<p class="muted">Groups of images that fail more often than the rest of the cell;
the difference of rates with its bootstrap 95% interval, <span class="sig">significant</span> when
that interval excludes 0. Corrupted images are regenerated from the stored plan and seed.</p>
<div class="scroll"><table>
<tr><th>Model</th><th>Condition</th><th class="num">Severity</th><th>Slice</th><th class="num">n</th>
<th class="num">Slice rate</th><th class="num">Rest rate</th><th class="num">Difference</th><th></th></tr>
{% for s in inv.slices %}<tr><td>{{ model(s.model_id) }}</td><td>{{ s.corruption }}</td>
<td class="num">{{ s.severity_text }}</td><td class="wrap">{{ s.description }}
<span class="muted small">({{ s.kind }}, {{ s.outcome_label }})</span></td>
<td class="num">{{ s.n_images }}</td><td class="num">{{ mv(s.failure_rate) }}</td>
<td class="num">{{ mv(s.rest_rate) }}</td><td class="num">{{ mv(s.difference) }}</td>
<td>{% if s.significant %}<span class="sig">significant</span>{% else %}<span class="muted">not
significant</span>{% endif %}</td></tr>
{% endfor %}</table></div>
<div class="slices">{% for g in slice_cards %}{% if g.images %}<div class="card slice">
<h4>{{ model(g.s.model_id) }} · {{ g.s.corruption }} s{{ g.s.severity_text }}</h4>
<div class="muted small">{{ g.s.description }}</div>
{% for im in g.images %}<div class="muted small"><code>{{ im.id }}</code></div>
<div class="pair">{% for side in ("clean", "corrupted") %}<figure>
{%- if im[side] %}<img src="{{ im[side] }}" alt="slice {{ side }} image {{ im.id }}">
{%- else %}<div class="ph">{{ im.note }}</div>{% endif %}
<figcaption>{{ side }}</figcaption></figure>{% endfor %}</div>{% endfor %}</div>{% endif %}
{% endfor %}</div>
{% else %}<p>No slice of images failed more often than the rest.</p>{% endif %}

<h2 id="compounds">Compound conditions</h2>
{% if inv.compounds %}<p class="muted">A chain of conditions evaluated as one against its parts at the
same severity (drops with bootstrap 95% intervals). A chain is called worse only when its interval
clears the parts'.</p>
<div class="scroll"><table>
<tr><th>Model</th><th>Chain</th><th class="num">Severity</th><th class="num">Chain drop</th>
<th>Parts</th><th>Finding</th><th>Why</th></tr>
{% for c in inv.compounds %}<tr><td>{{ model(c.model_id) }}</td>
<td>{{ c.corruption }} <span class="muted small">({{ c.parts|join(" + ") }})</span></td>
<td class="num">{{ c.severity_text }}</td><td class="num">{{ c.metric_label }} {{ mv(c.drop) }}</td>
<td>{% for p in c.part_drops %}{{ p.name }} {{ mv(p.drop) }}{% endfor %}</td>
<td class="wrap finding-{{ c.finding }}">{{ c.finding_text }}</td>
<td class="wrap">{{ c.why or "–" }}</td></tr>
{% endfor %}</table></div>
{% else %}<p>No chain of conditions was evaluated.</p>{% endif %}

{% if inv.vulnerability %}<h2 id="class-vulnerability">Per-class vulnerability</h2>
<div class="scroll"><table>
<tr><th>Model</th><th>Condition</th><th class="num">Severity</th><th>Class</th>
<th class="num">Clean acc.</th><th class="num">Corrupted acc.</th><th class="num">Drop</th>
<th class="num">Absorbs</th><th class="num">n</th></tr>
{% for v in inv.vulnerability %}<tr><td>{{ model(v.model_id) }}</td><td>{{ v.corruption }}</td>
<td class="num">{{ v.severity_text }}</td><td>{{ v.class_name }}</td>
<td class="num">{{ v.clean_accuracy.text }}</td><td class="num">{{ v.corrupted_accuracy.text }}</td>
<td class="num">{{ mv(v.drop) }}</td><td class="num">{{ v.absorbed_share.text }}</td>
<td class="num">{{ v.n_images }}</td></tr>
{% endfor %}</table></div>
<p class="muted">Absorbs: share of all the cell's errors predicted as this class.</p>{% endif %}

<h2 id="investigation-log">Investigation log</h2>
{% if inv.steps %}<div class="scroll"><table>
<tr><th class="num">#</th><th>Question</th><th>Tool</th><th>Result</th><th>Why</th><th>Chosen by</th></tr>
{% for s in inv.steps %}<tr><td class="num">{{ s.iteration }}</td><td class="wrap">{{ s.question }}</td>
<td><code>{{ s.tool }}</code></td><td class="wrap">{{ s.result or "–" }}</td>
<td class="wrap">{{ s.why or "–" }}</td>
<td>{{ s.planner }}</td></tr>
{% endfor %}</table></div>
{% else %}<p>No follow-up was run.</p>{% endif %}
"""
_ENV = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
_TEMPLATE = _ENV.from_string(TEMPLATE)


def _png(data: bytes | None) -> str | None:
    return None if data is None else "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def toc(data: dict[str, Any]) -> list[tuple[str, str]]:
    """The table-of-contents entries of the sections this run has."""
    inv = data.get("investigation")
    if inv is None:
        return []
    return [(i, t) for i, t in TOC if i != "class-vulnerability" or inv["vulnerability"]]


def render_investigation(ctx: ReportContext, random: set[str]) -> Markup:
    """The sections as HTML (empty for a run without an investigation)."""
    inv = ctx.data.get("investigation")
    if inv is None:
        return Markup("")
    thumbs = iter(ctx.slice_thumbs)
    cards = []
    for s in inv["slices"]:
        images = []
        for image_id in s["shown_ids"]:
            t = next(thumbs)
            pngs = {"clean": _png(t.clean), "corrupted": _png(t.corrupted)}
            images.append({"id": image_id, "note": t.note} | pngs)
        cards.append({"s": s, "images": images})
    return Markup(_TEMPLATE.render(inv=inv, slice_cards=cards, random=random))
