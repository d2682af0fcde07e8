"""The HTML report's Jinja2 template and inline stylesheet (data only; ``html.py`` renders them).

No external resource anywhere: system fonts, no scripts, and a Content-Security-Policy that only
allows inline styles and ``data:`` images.
"""

from __future__ import annotations

CSS = """
:root{--fg:#1d2433;--muted:#5b6475;--line:#dfe3ea;--soft:#f4f6f9;--accent:#0072B2;--warn:#fff4df;
--warnline:#E69F00;--danger:#D55E00}
*{box-sizing:border-box}
body{margin:0;color:var(--fg);background:#fff;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,
"Helvetica Neue",Arial,sans-serif}
main{max-width:1100px;margin:0 auto;padding:28px 32px 64px}
header.top{border-bottom:3px solid var(--accent);padding-bottom:10px;margin-bottom:14px}
h1{font-size:1.7rem;margin:0 0 2px;line-height:1.25}
h2{font-size:1.22rem;margin:34px 0 8px;padding-top:10px;border-top:1px solid var(--line)}
h3{font-size:1rem;margin:18px 0 6px}
.sub,.muted{color:var(--muted)}.sub{font-size:.9rem}
.small{font-size:.8rem}
.models{margin:6px 0 0;padding:0;list-style:none;display:flex;flex-wrap:wrap;gap:6px 14px;font-size:.9rem}
nav.toc{background:var(--soft);border-radius:6px;padding:8px 16px;font-size:.86rem;columns:4 170px}
nav.toc a{color:var(--accent);text-decoration:none;display:block;padding:1px 0}
.warn{background:var(--warn);border-left:5px solid var(--warnline);padding:9px 14px;margin:12px 0;
border-radius:4px}
.warn p{margin:3px 0}
.exec{background:var(--soft);border-radius:8px;padding:6px 18px 10px;margin:10px 0}
.exec ul{margin:4px 0 6px;padding-left:20px}
.label{display:inline-block;text-transform:uppercase;letter-spacing:.06em;font-size:.7rem;font-weight:700;
color:var(--muted);margin-top:8px}
.badge{display:inline-block;font-size:.7rem;padding:0 7px;border-radius:9px;background:#e8ebf0;
color:#333;margin-left:5px;vertical-align:1px}
.badge.random{background:var(--danger);color:#fff}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;margin:6px 0 12px;font-size:.86rem}
.scroll{max-width:100%}.scroll table{width:max-content;min-width:100%}
th,td{padding:5px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{background:var(--soft);font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.ci{display:block;color:var(--muted);font-size:.78em}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.84em}
code{background:var(--soft);padding:0 4px;border-radius:3px}
pre{white-space:pre-wrap;word-break:break-all;background:var(--soft);padding:8px 10px;border-radius:4px;
margin:0}
figure{margin:8px 0 16px}
figure img{max-width:100%;height:auto;border:1px solid var(--line);border-radius:4px}
figcaption{color:var(--muted);font-size:.84rem}
details{margin:6px 0}details>summary{cursor:pointer;color:var(--accent);font-weight:600}
dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:3px 16px;margin:6px 0}
dl.kv dt{font-weight:600}dl.kv dd{margin:0;min-width:0}
.gallery{display:grid;grid-template-columns:repeat(auto-fill,minmax(320px,1fr));gap:12px}
.card{border:1px solid var(--line);border-radius:6px;padding:8px 10px;break-inside:avoid}
.card h4{margin:0 0 4px;font-size:.86rem;font-weight:600}
.pair{display:flex;gap:8px}.pair figure{flex:1;margin:0;text-align:center;font-size:.8rem}
.pair img{width:100%;max-width:144px;border-radius:3px}
.ph{display:flex;align-items:center;justify-content:center;height:120px;color:var(--muted);
font-size:.78rem;border-radius:3px;padding:6px;
background:repeating-linear-gradient(45deg,#eee,#eee 8px,#f8f8f8 8px,#f8f8f8 16px)}
.wrong{color:var(--danger);font-weight:600}
.ckpt{font-size:.78rem;color:var(--muted);font-family:ui-monospace,Menlo,Consolas,monospace}
.verdict{border:2px solid var(--accent);border-radius:8px;padding:6px 18px 10px;margin:10px 0}
.verdict ul{margin:4px 0 6px;padding-left:20px}.verdict li{margin:3px 0}
.verdict li.v-fails .vt{color:var(--danger)}.verdict li.v-holds .vt{color:#007a55}
.verdict .fact{background:var(--warn);border-left:5px solid var(--warnline);padding:6px 10px;margin:8px 0 4px}
.strips{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,340px),1fr));gap:10px}
.strip{border:1px solid var(--line);border-radius:6px;padding:6px 8px;min-width:0}
.strip h4{margin:0 0 4px;font-size:.86rem}
.strip .row{display:flex;flex-wrap:wrap;gap:4px}
.strip figure{margin:0;flex:0 0 auto;text-align:center;font-size:.74rem;color:var(--muted)}
.strip img{width:72px;height:auto;border:0;border-radius:3px;display:block}
code{overflow-wrap:anywhere}
@media (max-width:600px){main{padding:16px 12px 48px}nav.toc{columns:2 120px}
.gallery{grid-template-columns:1fr}dl.kv{grid-template-columns:1fr}}
ol.recs li{margin:4px 0}
@media print{nav.toc{display:none}main{padding:0}h2{break-after:avoid}figure,.card,tr{break-inside:avoid}}
"""

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"

TEMPLATE = r"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{{ csp }}">
<title>{{ run.title }} · {{ run.run_id }}</title>
<style>{{ css|safe }}</style>
</head>
<body>
{%- macro mv(x) %}{{ x.text }}
{%- if x.ci_text %}<span class="ci">{{ x.ci_text }}</span>{% endif %}{% endmacro %}
{%- macro model(id) %}<code>{{ id }}</code>
{%- if ckpt.get(id) %} <span class="ckpt" title="{{ ckpt[id].checkpoint }}">
{{- ckpt[id].checkpoint_name }}</span>{% endif %}
{%- if id in random %}<span class="badge random">random weights</span>{% endif %}{% endmacro %}
{%- macro num(x) %}<td class="num">{{ mv(x) }}</td>{% endmacro %}
<main>
<header class="top">
<h1>{{ run.title }}</h1>
<div class="sub">Run <code>{{ run.run_id }}</code> · {{ run.n_images }} images
{%- if run.labelled %}, {{ run.class_names|length }} classes{% else %}, label-free{% endif %}
 · {{ run.corruptions|length }} corruptions × {{ run.severities|length }} severities · {{ d.generator }}</div>
<ul class="models">{% for m in run.models %}
<li>{{ model(m.id) }} <span class="badge">{{ m.role }}</span></li>{% endfor %}</ul>
</header>
{% if d.warnings %}<div class="warn" role="alert">{% for w in d.warnings %}
<p><strong>Warning:</strong> {{ w }}</p>{% endfor %}</div>{% endif %}
<nav class="toc">{% for id, title in toc %}<a href="#{{ id }}">{{ title }}</a>{% endfor %}</nav>

<h2 id="summary">Executive summary</h2>
{% set vd = d.verdict %}<div class="verdict" id="verdict">
<span class="label">verdict</span>
<p class="tol">{{ vd.tolerance_text }}</p>
<ul>{% for m in vd.models %}<li class="v-{{ m.status }}">{{ model(m.model) }}:
 <span class="vt">{{ m.text }}</span></li>{% endfor %}</ul>{% for e in vd.get("envelope") or [] %}
<p class="ship">{{ model(e.model) }}: {{ e.text }}</p>{% endfor %}
{% if vd.safety_fact %}<p class="fact"><strong>Most important safety fact:</strong> {{ vd.safety_fact }}</p>
{% endif %}</div>
<div class="exec">
{% if d.summary.narrative is not none %}<span class="label">{{ d.summary.label }}</span>
{% for p in paragraphs %}<p>{{ p }}</p>{% endfor %}{% endif %}
<span class="label">generated from the numbers</span>
<ul>{% for line in d.summary.generated %}<li>{{ line }}</li>{% endfor %}</ul>
</div>

{% if d.brief %}{% set b = d.brief %}<h2 id="brief">Domain brief</h2>
<dl class="kv">
<dt>Domain</dt><dd>{{ b.domain }}</dd>
{% if b.description %}<dt>Description</dt><dd>{{ b.description }}</dd>{% endif %}
{% if b.imaging_setup %}<dt>Imaging setup</dt><dd>{{ b.imaging_setup }}</dd>{% endif %}
{% if b.deployment_conditions %}<dt>Deployment conditions</dt>
<dd>{{ b.deployment_conditions|join("; ") }}</dd>{% endif %}
<dt>Labels</dt><dd>{{ b.labels|join(", ") if b.labels else "none (label-free audit)" }}</dd>
{% if b.image_source %}<dt>Images</dt>
<dd>{{ b.image_source.kind }}: <code>{{ b.image_source.path }}</code></dd>{% endif %}
{% if b.models %}<dt>Models</dt><dd>{{ b.models|join(", ") }}</dd>{% endif %}
</dl>{% endif %}

<h2 id="plan">Corruption plan</h2>
<p class="muted">Severities {{ d.plan.severities|join(", ") }} (0 = clean) · seed {{ d.plan.seed }}
 · planner {{ d.plan.planner }}{% if d.plan.notes %} · {{ d.plan.notes }}{% endif %}</p>
<div class="scroll"><table>
<tr><th>Corruption</th><th>Why it happens here</th><th>Recipe</th><th>Validation</th></tr>
{% for c in d.plan.corruptions %}{% set v = c.validation %}<tr>
<td><strong>{{ c.name }}</strong><br><span class="muted small">{{ c.source }}</span></td>
<td>{{ c.rationale or "–" }}</td><td><code>{{ c.recipe_text }}</code></td>
<td>{% if v %}{{ "passed" if v.ok else "FAILED" }}
 ({{ v.checks|selectattr("passed")|list|length }}/{{ v.checks|length }} checks)
{%- set bad = v.checks|rejectattr("passed")|list %}{% if bad %}<br><span class="wrong small">failed:
{% for c in bad %} {{ c.name }}{% if c.advisory %} (advisory){% endif %}
{%- if c.detail %}: {{ c.detail }}{% endif %}
{{- ";" if not loop.last }}{% endfor %}</span>{% endif %}
{%- if v.critic %}<br>critic {{ v.critic.critic }}:
 {{ "realistic" if v.critic.realistic else "NOT realistic" }},
 score {{ v.critic.score.text }}
{%- if v.critic.reasons %}<br><span class="muted small">{{ v.critic.reasons|join("; ") }}</span>{% endif %}
{%- endif %}{% else %}<span class="muted">not validated</span>{% endif %}</td></tr>
{% endfor %}</table></div>

<h2 id="strips">Your images under each corruption</h2>
{% if d.class_counts %}<p>Images per class:
{% for c in d.class_counts %}<strong>{{ c["class"] }}</strong> {{ c.n_images }}{{ " · " if not loop.last }}
{%- endfor %}.</p>{% endif %}
{% if strips %}<p class="muted">One image of this run
(<code>{{ strips[0].s.image_id or "none" }}</code>), clean and at each severity,
regenerated from the stored plan and seed: exactly what the model saw.</p>
<div class="strips">{% for g in strips %}<div class="strip"><h4>{{ g.s.corruption }}</h4><div class="row">
{%- for img in g.images %}<figure>{% if img %}<img src="{{ img }}"
 alt="{{ g.s.corruption }} {{ g.s.labels[loop.index0] }}">
{%- else %}<div class="ph">{{ g.s.note }}</div>{% endif %}
<figcaption>{{ g.s.labels[loop.index0] }}</figcaption></figure>{% endfor %}</div></div>
{% endfor %}</div>{% endif %}

<h2 id="clean">Clean performance</h2>
<div class="scroll"><table>
<tr><th>Model</th><th class="num">Images</th>
{%- for m in clean_metrics %}<th class="num">{{ d.metric_labels[m] }}</th>{% endfor %}</tr>
{% for c in d.clean %}<tr><td>{{ model(c.model) }}</td><td class="num">{{ c.n_images }}</td>
{%- for m in clean_metrics %}<td class="num">{{ mv(c.metrics[m]) if m in c.metrics else "–" }}</td>
{%- endfor %}</tr>
{% endfor %}</table></div>
<p class="muted">Each value with its bootstrap 95% interval (resampling images) below it.</p>

{% if fig.heatmap %}{% set hm = d.heatmap %}<h2 id="heatmap">Where it hurts: model × corruption</h2>
<figure><img src="{{ fig.heatmap }}" alt="Heatmap: {{ hm.label }} per model and corruption">
<figcaption>{{ hm.label|upfirst }}. cividis colour map (lighter = worse), readable in greyscale.
</figcaption></figure>
<details><summary>Heatmap values</summary><div class="scroll"><table>
<tr><th>Model</th>{% for c in hm.corruptions %}<th class="num">{{ c }}</th>{% endfor %}</tr>
{% for row in hm["values"] %}<tr><td>{{ model(hm.models[loop.index0]) }}</td>
{%- for v in row %}<td class="num">{{ v.text }}</td>{% endfor %}</tr>
{% endfor %}</table></div></details>{% endif %}

<h2 id="curves">Severity curves</h2>
<figure><img src="{{ fig.severity_curves }}"
 alt="{{ run.ranking.label }} against severity per corruption and model, with 95% bands">
<figcaption>{{ run.ranking.label|upfirst }} against severity; shaded: bootstrap 95% interval.
Each model has its own colour, marker and line style.</figcaption></figure>

<h2 id="vulnerabilities">Ranked vulnerabilities</h2>
{% if d.vulnerabilities %}<div class="scroll"><table>
<tr><th class="num">#</th><th>Model</th><th>Corruption</th><th class="num">Severity</th>
<th class="num">{{ run.ranking.label|upfirst }}</th>
{%- if run.ranking.drop_metric %}<th class="num">{{ run.ranking.damage_label|upfirst }}</th>{% endif %}</tr>
{% for v in d.vulnerabilities %}<tr><td class="num">{{ v.rank }}</td><td>{{ model(v.model) }}</td>
<td>{{ v.corruption }}</td><td class="num">{{ v.severity_text }}</td>{{ num(v.value) }}
{%- if run.ranking.drop_metric %}{{ num(v.drop) }}{% endif %}</tr>
{% endfor %}</table></div>
{% else %}<p>No corrupted cell lost {{ run.ranking.label }}: nothing to rank.</p>{% endif %}
<h3>Collapse points</h3>
<p class="muted">First severity at which a model collapses ({{ run.collapse_rule }});
“none” = holds up to severity {{ run.severities|last }}.</p>
<div class="scroll"><table>
<tr><th>Model</th>{% for c in run.corruptions %}<th class="num">{{ c }}</th>{% endfor %}</tr>
{% for m in audited %}<tr><td>{{ model(m) }}</td>{% for c in run.corruptions %}{% set p = collapse[(m, c)] %}
<td class="num">{{ p.severity_text if p.severity is not none else "none" }}</td>{% endfor %}</tr>
{% endfor %}</table></div>
{{ investigation }}
<h2 id="ce">Corruption error (CE, mCE)</h2>
{% set ce = d.corruption_error %}{% if ce %}
<p class="muted">CE<sub>c</sub> = Σ<sub>s</sub> E<sub>s,c</sub>(model) /
 Σ<sub>s</sub> E<sub>s,c</sub>(reference),
top-1 error (Hendrycks &amp; Dietterich 2019); relative CE subtracts each model's clean error.
Reference: {{ model(ce.reference) }}. Below 1 = more robust than the reference;
“–” = undefined (the reference's error did not change).</p>
<div class="scroll"><table>
<tr><th>Model</th>{% for c in run.corruptions %}<th class="num">CE {{ c }}</th>{% endfor %}
<th class="num">mCE</th><th class="num">Relative mCE</th></tr>
{% for m in ce.models %}<tr><td>{{ model(m.model) }}</td>
{%- for c in m.per_corruption %}{{ num(c.ce) }}{% endfor %}
<td class="num"><strong>{{ mv(m.mce) }}</strong></td>{{ num(m.relative_mce) }}</tr>
{% endfor %}</table></div>
<details><summary>Relative CE per corruption</summary><div class="scroll"><table>
<tr><th>Model</th>{% for c in run.corruptions %}<th class="num">{{ c }}</th>{% endfor %}</tr>
{% for m in ce.models %}<tr><td>{{ model(m.model) }}</td>
{%- for c in m.per_corruption %}{{ num(c.relative_ce) }}{% endfor %}</tr>
{% endfor %}</table></div></details>
{% else %}<p>Not available: {% if run.labelled %}no reference model in this run. Set one in the brief
(<code>reference_model: MODEL_ID</code>, for <code>robustlens chat</code> and <code>robustlens run</code>)
or add <code>--reference MODEL_ID</code> to <code>robustlens eval</code>
{%- else %}CE needs labels{% endif %}.</p>
{% endif %}

<h2 id="label-free">Label-free metrics</h2>
<p class="muted">LFP: share of images whose prediction changes (DeepBench). Cosine / L2 drift: clean vs
corrupted embedding. Divergence Radius: radius of the minimum enclosing ball of an image's normalised
embeddings over clean and all severities (arXiv 2604.14973), mean over images. None needs labels.</p>
<div class="scroll"><table>
<tr><th>Model</th>
{%- for s in lf_metrics %}<th class="num">Mean {{ d.metric_labels.get(s, s) }}</th>{% endfor %}</tr>
{% for e in d.label_free %}<tr><td>{{ model(e.model) }}</td>
{%- for s in lf_metrics %}<td class="num">{{ mv(e.mean_corrupted[s]) if s in e.mean_corrupted else "–" }}</td>
{%- endfor %}</tr>
{% endfor %}</table></div>
{% if radius_corruptions %}<h3>Divergence Radius per corruption</h3>
<div class="scroll"><table>
<tr><th>Model</th>{% for c in radius_corruptions %}<th class="num">{{ c }}</th>{% endfor %}</tr>
{% for e in d.label_free %}<tr><td>{{ model(e.model) }}</td>
{%- for r in e.divergence_radius %}{{ num(r.radius) }}{% endfor %}</tr>
{% endfor %}</table></div>{% endif %}
<h3>How well they track accuracy on this run</h3>
{% if tracking_signals %}<div class="scroll"><table>
<tr><th>Model</th><th class="num">Cells</th>
{%- for s in tracking_signals %}<th class="num">{{ s }}</th>{% endfor %}</tr>
{% for e in d.label_free %}<tr><td>{{ model(e.model) }}</td><td class="num">{{ e.tracking.n_cells }}</td>
{%- for s in e.tracking.signals %}<td class="num">{{ s.display }}</td>{% endfor %}</tr>
{% endfor %}</table></div>
<p class="muted">Pearson r between each signal and the accuracy drop, across cells (Divergence Radius:
across corruptions), with its bootstrap 95% interval over images; “–” = not computable.
A comparison is not ranked when it is degenerate (the signal equals the accuracy drop by
construction), constant, or rests on too few points. A signal that tracks well can stand in for
accuracy where deployment has no labels.</p>
{% for e in d.label_free %}{% if e.tracking.notes %}<ul class="tracking-notes">
{% for n in e.tracking.notes %}<li>{{ model(e.model) }}: {{ n }}</li>{% endfor %}</ul>{% endif %}{% endfor %}
{% else %}<p>Needs labels: without them accuracy cannot be compared with the label-free signals.</p>
{% endif %}
{% if fig.label_free_vs_accuracy %}<figure><img src="{{ fig.label_free_vs_accuracy }}"
 alt="Label-free signals against accuracy drop, one point per cell">
<figcaption>One point per cell; legend: Pearson r from the run summary.</figcaption></figure>{% endif %}
{{ metric_scope }}
{{ ood }}

<h2 id="calibration">Calibration</h2>
{% if d.calibration %}<div class="scroll"><table>
<tr><th>Model</th><th class="num">ECE clean</th><th class="num">ECE mean corrupted</th>
<th class="num">Worst ECE</th><th>Worst cell</th><th class="num">Debiased cal. error clean</th>
<th class="num">NLL clean</th>
<th class="num">NLL mean corrupted</th></tr>
{% for c in d.calibration %}{% set w = c.worst_ece %}<tr><td>{{ model(c.model) }}</td>
{{ num(c.clean.ece) }}{{ num(c.mean_corrupted.ece) }}
<td class="num">{{ mv(w.ece) if w else "–" }}</td>
<td>{{ w.corruption ~ " s" ~ w.severity_text if w else "–" }}</td>
{{ num(c.clean.ece_debiased) }}{{ num(c.clean.nll) }}{{ num(c.mean_corrupted.nll) }}</tr>
{% endfor %}</table></div>
<p class="muted">ECE: expected calibration error, 15 equal-width confidence bins (Guo et al. 2017).
NLL: negative log-likelihood of the true class.</p>
<p class="muted">{{ d.calibration_note }}</p>
{% else %}<p>Calibration needs labels.</p>{% endif %}

<h2 id="gallery">Failure gallery</h2>
{% if gallery %}<p class="muted">{{ gallery_rule }} Corrupted images are regenerated from the stored plan
and seed.</p>
<div class="gallery">{% for g in gallery %}{% set e = g.e %}<div class="card">
<h4>{{ model(e.model_id) }} · {{ e.corruption }} s{{ e.severity_text }}</h4>
<div class="muted small"><code>{{ e.image_id }}</code>
{%- if e.label %} · true: <strong>{{ e.label }}</strong>{% endif %}</div>
<div class="pair">{% for side in ("clean", "corrupted") %}<figure>
{%- if g[side] %}<img src="{{ g[side] }}" alt="{{ side }} image {{ e.image_id }}">
{%- else %}<div class="ph">{{ e.note }}</div>{% endif %}
<figcaption>{{ side }}{% if e[side ~ "_prediction"] %}: <span class="{{ 'wrong' if side == 'corrupted' }}">
{{- e[side ~ "_prediction"] }}</span>{% endif %}</figcaption></figure>{% endfor %}</div>
{% if e.note and g.clean %}<div class="muted small">{{ e.note }}</div>{% endif %}</div>
{% endfor %}</div>
{% else %}<p>No failing examples to show.</p>{% endif %}

<h2 id="shifts">Class-level confusion shifts</h2>
{% if d.class_shifts %}<div class="scroll"><table>
<tr><th>Model</th><th>Corruption</th><th class="num">Severity</th><th>True → predicted</th>
<th class="num">Clean rate</th><th class="num">Corrupted rate</th><th class="num">Rise</th></tr>
{% for s in d.class_shifts %}<tr><td>{{ model(s.model_id) }}</td><td>{{ s.corruption }}</td>
<td class="num">{{ s.severity_text }}</td><td>{{ s.true_class }} → {{ s.predicted_class }}</td>
<td class="num">{{ s.clean_rate.text }}</td><td class="num">{{ s.corrupted_rate.text }}</td>
<td class="num">{{ s.rise.text }}</td></tr>
{% endfor %}</table></div>
<p class="muted">Rate: share of the true class's images predicted as the other class; rise = corrupted −
clean, so confusions already present on clean images do not count.</p>
{% else %}<p>{{ "No confusion rose under corruption." if run.labelled else "Needs labels." }}</p>{% endif %}

<h2 id="recommendations">Recommendations</h2>
<ol class="recs">{% for r in d.recommendations %}<li>{{ r }}</li>{% endfor %}</ol>

{% if d.paired %}<h2 id="comparisons">Paired model comparisons</h2>
<details><summary>{{ d.paired|length }} paired differences in {{ run.ranking.label }}
(same images, paired bootstrap)</summary><div class="scroll"><table>
<tr><th>A</th><th>B</th><th>Corruption</th><th class="num">Severity</th><th class="num">A − B</th>
<th class="num">p</th></tr>
{% for p in d.paired %}<tr><td>{{ model(p.a) }}</td><td>{{ model(p.b) }}</td><td>{{ p.corruption }}</td>
<td class="num">{{ p.severity_text }}</td>{{ num(p.diff) }}<td class="num">{{ p.p_value.text }}</td></tr>
{% endfor %}</table></div></details>{% endif %}

<h2 id="cells">All results</h2>
{% for m in run.models %}<details><summary>{{ m.id }}</summary><div class="scroll"><table>
<tr><th>Corruption</th><th class="num">Sev</th><th class="num">n</th>
{%- for k in d.metrics %}<th class="num">{{ d.metric_labels[k] }}</th>{% endfor %}</tr>
{% for c in d.cells if c.model == m.id %}<tr><td>{{ c.corruption }}</td>
<td class="num">{{ c.severity_text }}</td>
<td class="num">{{ c.n_images }}</td>
{%- for k in d.metrics %}<td class="num">{{ mv(c.metrics[k]) if k in c.metrics else "" }}</td>
{%- endfor %}</tr>
{% endfor %}</table></div></details>
{% endfor %}
<p class="muted">Also in <code>cells.csv</code> and <code>report.json</code> next to this file.</p>

<h2 id="reproducibility">Reproducibility</h2>
{% set r = d.reproducibility %}<dl class="kv">
<dt>Command</dt><dd><pre>{{ r.command or "(not recorded)" }}</pre></dd>
<dt>Rebuild this report</dt><dd><code>{{ r.rebuild_command }}</code></dd>
<dt>Seed</dt><dd>{{ r.seed }}</dd>
<dt>Dataset fingerprint</dt><dd><code>{{ r.dataset_fingerprint }}</code></dd>
{% if r.dataset %}<dt>Dataset</dt><dd>{{ r.dataset.kind }} · <code>{{ r.dataset.root }}</code>
 · {{ r.dataset_counts }}</dd>{% endif %}
<dt>Corrupted at</dt><dd>{{ r.corrupt_at }} resolution</dd>
<dt>Corrupted on</dt><dd>{{ r.corrupted_on }}</dd>
{% if r.sampling %}<dt>Sampling</dt><dd>{{ r.sampling }} (n per cell in the cell table)</dd>{% endif %}
{% if r.checkpoints %}<dt>Checkpoints</dt><dd>{% for k, v in r.checkpoints.items() %}
<code>{{ k }}</code> = <code>{{ v }}</code><br>{% endfor %}</dd>{% endif %}
{% if r.templates %}<dt>Prompt templates</dt><dd>{{ r.templates|join(" · ") }}</dd>{% endif %}
<dt>Versions</dt><dd>{% for k, v in r.versions.items() %}{{ k }} {{ v }}{{ " · " if not loop.last }}
{%- endfor %}</dd>
</dl>
<h3>Skipped files ({{ r.skipped|length }})</h3>
{% if r.skipped %}<div class="scroll"><table><tr><th>File</th><th>Reason</th></tr>
{% for s in r.skipped %}<tr><td><code>{{ s.path }}</code></td><td>{{ s.reason }}</td></tr>
{% endfor %}</table></div>{% else %}<p>None.</p>{% endif %}
</main>
</body>
</html>
"""
