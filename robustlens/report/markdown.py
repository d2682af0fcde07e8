"""The Markdown report: the same sections as the HTML, as GitHub-flavoured Markdown.

Figures are referenced as files in ``figures/`` next to ``report.md`` (written by ``render``), so
the Markdown stays small and diff-able; the gallery is a table (the thumbnails are in the HTML).
Every number is a ``text`` field of the report data.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from robustlens.report.context import ReportContext
from robustlens.report.formatting import upfirst

FIGURE_FILES = {
    "heatmap": "figures/heatmap.png",
    "severity_curves": "figures/severity_curves.png",
    "label_free_vs_accuracy": "figures/label_free_vs_accuracy.png",
}
Data = dict[str, Any]


class Md(str):
    """Markdown this renderer wrote itself (escaped text plus its own ``**``/backtick markup).

    Everything else that reaches a table is treated as untrusted text and escaped: the brief, the
    plan and every LLM text are user- or model-controlled, and ``report.md`` is opened in viewers
    (GitHub, IDEs) that render links, images and some raw HTML. Escaping by default, as Jinja's
    autoescape does for ``report.html``, means a forgotten call cannot leak markup.
    """


_SPECIAL = re.compile(r"([\\`*\[\]|~])")
_LONE_UNDERSCORE = re.compile(r"(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")  # intraword _ is plain text in GFM
_LINK_PAREN = re.compile(r"(?<=\])\(")  # '](' would start a link or image destination
_SCHEME = re.compile(r"(?i)\b(javascript|vbscript|data|file)(\s*):")
_BLOCK_START = re.compile(r"^(#|=|-|\+|\d+[.)])")
_UNESCAPED_PIPE = re.compile(r"(?<!\\)((?:\\\\)*)\|")


def text(value: Any) -> Md:
    """Untrusted text as inert, one-line Markdown that still reads as the original.

    HTML is entity-escaped (no tags, no entities smuggled in), Markdown punctuation that could open
    emphasis, code, links or images is backslash-escaped, ``javascript:``-like schemes lose their
    colon, and newlines become spaces so text cannot start a heading, list or table row.
    """
    s = " ".join(str(value).split())
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    s = _SPECIAL.sub(r"\\\1", s)
    s = _LONE_UNDERSCORE.sub(r"\\_", s)
    s = _LINK_PAREN.sub(r"\\(", s)
    return Md(_SCHEME.sub(r"\1\2\\:", s))


def block(value: Any) -> Md:
    """Untrusted multi-paragraph text (an LLM narrative): paragraphs kept, each one made inert."""
    paragraphs = [text(p) for p in re.split(r"\n\s*\n", str(value)) if p.strip()]
    return Md("\n\n".join(_BLOCK_START.sub(r"\\\1", p) for p in paragraphs))


def code(value: Any) -> Md:
    """Untrusted text as an inline code span (ids, paths, commands): literal whatever it holds."""
    s = " ".join(str(value).split())
    longest = max((len(run) for run in re.findall(r"`+", s)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if s.startswith("`") or s.endswith("`") or not s.strip() else ""
    return Md(f"{fence}{pad}{s}{pad}{fence}")


def _cell(value: Any) -> str:
    """A table cell: untrusted values escaped; a '|' that is not escaped yet cannot split the row."""
    s = value if isinstance(value, Md) else text(value)
    return _UNESCAPED_PIPE.sub(r"\1\\|", s.replace("\n", " "))


def _mv(x: Data) -> str:
    return f"{x['text']} ({x['ci_text']})" if x.get("ci_text") else x["text"]


def _table(header: list[Any], rows: list[list[Any]], right_from: int = 1) -> list[str]:
    """A GFM table; columns from ``right_from`` on are right-aligned (numbers)."""
    align = ["---" if i < right_from else "---:" for i in range(len(header))]
    out = ["| " + " | ".join(_cell(h) for h in header) + " |", "| " + " | ".join(align) + " |"]
    out += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return [*out, ""]


class _Doc:
    def __init__(self, data: Data, figs: dict[str, str]) -> None:
        self.d = data
        self.run = data["run"]
        self.figs = figs
        self.random = {m["id"] for m in self.run["models"] if m["random_weights"]}
        self.audited = [m["id"] for m in self.run["models"] if m["role"] != "reference"]
        self.ckpt = {m["id"]: m["checkpoint_name"] for m in self.run["models"] if m.get("checkpoint_name")}

    def model(self, m: str) -> Md:
        ckpt = self.ckpt.get(m)
        return Md(
            code(m) + (f" ({code(ckpt)})" if ckpt else "") + (" ⚠ random weights" if m in self.random else "")
        )

    def header(self) -> list[str]:
        d, run = self.d, self.run
        classes = f"{len(run['class_names'] or [])} classes" if run["labelled"] else "label-free"
        out = [
            f"# {text(run['title'])}",
            "",
            f"Run {code(run['run_id'])} · {run['n_images']} images, {classes} · {len(run['corruptions'])} "
            f"corruptions × {len(run['severities'])} severities · {text(d['generator'])}",
            "",
            "Models: " + ", ".join(f"{self.model(m['id'])} ({text(m['role'])})" for m in run["models"]),
            "",
        ]
        out += [line for w in d["warnings"] for line in (f"> **Warning:** {text(w)}", "")]
        out += ["## Executive summary", "", *self.verdict()]
        summary = d["summary"]
        if summary["narrative"] is not None:
            out += [f"*{text(summary['label'])}*", "", block(summary["narrative"]), ""]
        generated = [f"- {text(s)}" for s in summary["generated"]]
        return [*out, "*generated from the numbers*", "", *generated, ""]

    def verdict(self) -> list[str]:
        v = self.d["verdict"]
        out = ["**Verdict.** " + text(v["tolerance_text"]), ""]
        out += [f"- {self.model(m['model'])}: **{text(m['text'])}**" for m in v["models"]]
        if v["safety_fact"]:
            out += ["", f"> **Most important safety fact:** {text(v['safety_fact'])}"]
        return [*out, ""]

    def strips(self) -> list[str]:
        out = ["## Your images under each corruption", ""]
        counts = self.d["class_counts"]
        if counts:
            out += [
                "Images per class: " + " · ".join(f"**{text(c['class'])}** {c['n_images']}" for c in counts),
                "",
            ]
        out += [
            "Each corruption at every severity on one image of this run (thumbnails in `report.html`, "
            "regenerated from the stored plan and seed).",
            "",
        ]
        return out

    def brief(self) -> list[str]:
        b = self.d["brief"]
        if not b:
            return []
        out = ["## Domain brief", "", f"- **Domain:** {text(b['domain'])}"]
        for key, label in (("description", "Description"), ("imaging_setup", "Imaging setup")):
            if b.get(key):
                out.append(f"- **{label}:** {text(b[key])}")
        if b.get("deployment_conditions"):
            out.append("- **Deployment conditions:** " + "; ".join(map(text, b["deployment_conditions"])))
        labels = ", ".join(map(text, b["labels"])) if b.get("labels") else "none (label-free audit)"
        return [*out, f"- **Labels:** {labels}", ""]

    def plan(self) -> list[str]:
        plan = self.d["plan"]
        out = [
            "## Corruption plan",
            "",
            f"Severities {text(', '.join(plan['severities']))} (0 = clean) · seed {text(plan['seed'])} · "
            f"planner {text(plan['planner'])}",
            "",
        ]
        rows = []
        for c in plan["corruptions"]:
            v, verdict = c["validation"], "not validated"
            if v:
                passed = sum(1 for ch in v["checks"] if ch["passed"])
                verdict = f"{'passed' if v['ok'] else 'FAILED'} ({passed}/{len(v['checks'])} checks)"
                bad = [
                    ch["name"]
                    + (" (advisory)" if ch.get("advisory") else "")
                    + (f": {ch['detail']}" if ch["detail"] else "")
                    for ch in v["checks"]
                    if not ch["passed"]
                ]
                verdict += f"; failed: {'; '.join(bad)}" if bad else ""
                if v["critic"]:
                    cr = v["critic"]
                    real = "realistic" if cr["realistic"] else "NOT realistic"
                    verdict += f"; critic {cr['critic']}: {real}, score {cr['score']['text']}"
                    verdict += f" — {'; '.join(cr['reasons'])}" if cr["reasons"] else ""
            name, recipe = Md(f"**{text(c['name'])}**"), code(c["recipe_text"])
            rows.append([name, c["rationale"] or "–", recipe, verdict])
        return out + _table(["Corruption", "Why it happens here", "Recipe", "Validation"], rows, 4)

    def clean(self) -> list[str]:
        d = self.d
        metrics = [m for m in d["metrics"] if any(m in c["metrics"] for c in d["clean"])]
        rows = [
            [self.model(c["model"]), c["n_images"], *[_mv(c["metrics"][m]) for m in metrics]]
            for c in d["clean"]
        ]
        head = ["Model", "Images", *[d["metric_labels"][m] for m in metrics]]
        return [
            "## Clean performance",
            "",
            *_table(head, rows),
            "Bootstrap 95% intervals in parentheses.",
            "",
        ]

    def figures(self) -> list[str]:
        hm, out = self.d["heatmap"], []
        if "heatmap" in self.figs:
            out += [
                "## Where it hurts: model × corruption",
                "",
                f"![{text(hm['label'])}]({self.figs['heatmap']})",
                "",
            ]
            rows = [
                [self.model(m), *[v["text"] for v in r]]
                for m, r in zip(hm["models"], hm["values"], strict=True)
            ]
            out += [*_table(["Model", *hm["corruptions"]], rows), f"{text(upfirst(hm['label']))}.", ""]
        if "severity_curves" in self.figs:
            label = upfirst(self.run["ranking"]["label"])
            out += ["## Severity curves", "", f"![severity curves]({self.figs['severity_curves']})", ""]
            out += [f"{text(label)} against severity; shaded: bootstrap 95% interval.", ""]
        return out

    def vulnerabilities(self) -> list[str]:
        run, ranking = self.run, self.run["ranking"]
        out = ["## Ranked vulnerabilities", ""]
        if self.d["vulnerabilities"]:
            two = ranking["drop_metric"] is not None  # otherwise the damage is the value itself
            head = ["#", "Model", "Corruption", "Severity", upfirst(ranking["label"])]
            head += [upfirst(ranking["damage_label"])] if two else []
            rows = [
                [v["rank"], self.model(v["model"]), v["corruption"], v["severity_text"], _mv(v["value"])]
                + ([_mv(v["drop"])] if two else [])
                for v in self.d["vulnerabilities"]
            ]
            out += _table(head, rows, 3)
        else:
            out += [f"No corrupted cell lost {text(ranking['label'])}: nothing to rank.", ""]
        at = {(p["model_id"], p["corruption"]): p for p in self.d["collapse"]}
        rows = [
            [
                self.model(m),
                *[
                    at[(m, c)]["severity_text"] if at[(m, c)]["severity"] is not None else "none"
                    for c in run["corruptions"]
                ],
            ]
            for m in self.audited
        ]
        out += [
            "### Collapse points",
            "",
            f"First severity at which a model collapses ({text(run['collapse_rule'])}); ",
        ]
        out[-1] += f"none = holds up to severity {text(run['severities'][-1])}."
        return [*out, "", *_table(["Model", *run["corruptions"]], rows)]

    def corruption_error(self) -> list[str]:
        ce, run = self.d["corruption_error"], self.run
        out = ["## Corruption error (CE, mCE)", ""]
        if not ce:
            why = (
                "no reference model in this run. Set one in the brief (`reference_model: MODEL_ID`, for "
                "`robustlens chat` and `robustlens run`) or add `--reference MODEL_ID` to `robustlens eval`."
                if run["labelled"]
                else "CE needs labels."
            )
            return [*out, f"Not available: {why}", ""]
        out += [
            "CE_c = Σ_s E_s,c(model) / Σ_s E_s,c(reference), top-1 error (Hendrycks & Dietterich 2019); "
            f"reference {self.model(ce['reference'])}. – = undefined.",
            "",
        ]
        head = ["Model", *[f"CE {c}" for c in run["corruptions"]], "mCE", "Relative mCE"]
        rows = [
            [
                self.model(m["model"]),
                *[_mv(c["ce"]) for c in m["per_corruption"]],
                _mv(m["mce"]),
                _mv(m["relative_mce"]),
            ]
            for m in ce["models"]
        ]
        out += [*_table(head, rows), "Relative CE per corruption:", ""]
        rows = [
            [self.model(m["model"]), *[_mv(c["relative_ce"]) for c in m["per_corruption"]]]
            for m in ce["models"]
        ]
        return out + _table(["Model", *run["corruptions"]], rows)

    def label_free(self) -> list[str]:
        lf, labels = self.d["label_free"], self.d["metric_labels"]
        shown = [
            m
            for m in ("lfp", "cosine", "l2_drift", "confidence_drop")
            if any(m in e["mean_corrupted"] for e in lf)
        ]
        radius = [r["corruption"] for r in lf[0]["divergence_radius"]] if lf else []
        head = ["Model", *[f"Mean {labels.get(m, m)}" for m in shown]]
        means = [
            [self.model(e["model"]), *[_mv(e["mean_corrupted"].get(m, {"text": "–"})) for m in shown]]
            for e in lf
        ]
        out = ["## Label-free metrics", "", *_table(head, means)]
        if radius:
            rows = [[self.model(e["model"]), *[_mv(r["radius"]) for r in e["divergence_radius"]]] for e in lf]
            out += ["Divergence Radius per corruption:", "", *_table(["Model", *radius], rows)]
        signals = [s["label"] for s in lf[0]["tracking"]["signals"]] if lf else []
        if signals:
            out += ["How well they track accuracy on this run (Pearson r with the accuracy drop):", ""]
            rows = [
                [
                    self.model(e["model"]),
                    e["tracking"]["n_cells"],
                    *[s["display"] for s in e["tracking"]["signals"]],
                ]
                for e in lf
            ]
            out += _table(["Model", "Cells", *signals], rows)
            notes = [f"- {text(e['model'])}: {text(n)}" for e in lf for n in e["tracking"].get("notes", [])]
            out += [*notes, ""] if notes else []
        if "label_free_vs_accuracy" in self.figs:
            out += [f"![label-free signals vs accuracy drop]({self.figs['label_free_vs_accuracy']})", ""]
        return out

    def calibration(self) -> list[str]:
        out = ["## Calibration", ""]
        if not self.d["calibration"]:
            return [*out, "Calibration needs labels.", ""]
        head = [
            "Model",
            "ECE clean",
            "ECE mean corrupted",
            "Worst ECE",
            "Worst cell",
            "Debiased cal. error clean",
            "NLL clean",
            "NLL mean corrupted",
        ]
        rows = []
        for c in self.d["calibration"]:
            w = c["worst_ece"]
            rows.append(
                [
                    self.model(c["model"]),
                    _mv(c["clean"]["ece"]),
                    _mv(c["mean_corrupted"]["ece"]),
                    _mv(w["ece"]) if w else "–",
                    f"{w['corruption']} s{w['severity_text']}" if w else "–",
                    _mv(c["clean"]["ece_debiased"]),
                    _mv(c["clean"]["nll"]),
                    _mv(c["mean_corrupted"]["nll"]),
                ]
            )
        return out + _table(head, rows) + [text(self.d["calibration_note"]), ""]

    def failures(self) -> list[str]:
        d, out = self.d, ["## Failure gallery", ""]
        if d["gallery"]:
            head = [
                "Model",
                "Corruption",
                "Severity",
                "Image",
                "True",
                "Clean prediction",
                "Corrupted prediction",
                "Note",
            ]
            keys = (
                "corruption",
                "severity_text",
                "image_id",
                "label",
                "clean_prediction",
                "corrupted_prediction",
            )
            rows = [
                [self.model(g["model_id"]), *[g[k] or "–" for k in keys], g["note"]] for g in d["gallery"]
            ]
            out += ["Thumbnails (clean vs corrupted) are in `report.html`.", "", *_table(head, rows, 8)]
        else:
            out += ["No failing examples to show.", ""]
        out += ["## Class-level confusion shifts", ""]
        if d["class_shifts"]:
            head = [
                "Model",
                "Corruption",
                "Severity",
                "True → predicted",
                "Clean rate",
                "Corrupted rate",
                "Rise",
            ]
            rows = [
                [self.model(s["model_id"]), s["corruption"], s["severity_text"]]
                + [f"{s['true_class']} → {s['predicted_class']}"]
                + [s[k]["text"] for k in ("clean_rate", "corrupted_rate", "rise")]
                for s in d["class_shifts"]
            ]
            out += _table(head, rows, 4)
        else:
            out += ["No confusion rose under corruption." if self.run["labelled"] else "Needs labels.", ""]
        return (
            out
            + ["## Recommendations", ""]
            + [f"{i}. {text(r)}" for i, r in enumerate(d["recommendations"], 1)]
            + [""]
        )

    def appendix(self) -> list[str]:
        d, out = self.d, []
        if d["paired"]:
            out += [
                "## Paired model comparisons",
                "",
                f"Differences in {text(self.run['ranking']['label'])} ",
            ]
            out[-1] += "on the same images (paired bootstrap)."
            rows = [
                [
                    self.model(p["a"]),
                    self.model(p["b"]),
                    p["corruption"],
                    p["severity_text"],
                    _mv(p["diff"]),
                    p["p_value"]["text"],
                ]
                for p in d["paired"]
            ]
            out += ["", *_table(["A", "B", "Corruption", "Severity", "A − B", "p"], rows, 3)]
        out += ["## All results", ""]
        for m in self.run["models"]:
            head = ["Corruption", "Sev", "n", *[d["metric_labels"][k] for k in d["metrics"]]]
            rows = [
                [
                    c["corruption"],
                    c["severity_text"],
                    c["n_images"],
                    *[_mv(c["metrics"][k]) if k in c["metrics"] else "" for k in d["metrics"]],
                ]
                for c in d["cells"]
                if c["model"] == m["id"]
            ]
            out += [f"### {code(m['id'])}", "", *_table(head, rows)]
        r = d["reproducibility"]
        out += [
            "## Reproducibility",
            "",
            f"- **Command:** {code(r['command'] or '(not recorded)')}",
            f"- **Rebuild this report:** {code(r['rebuild_command'])}",
            f"- **Seed:** {text(r['seed'])}",
            f"- **Dataset fingerprint:** {code(r['dataset_fingerprint'])}",
        ]
        if r["dataset"]:
            ds = r["dataset"]
            found = f"{text(ds.get('n_images'))} images found"
            out.append(f"- **Dataset:** {text(ds.get('kind'))} · {code(ds.get('root'))} · {found}")
        out.append(f"- **Corrupted at:** {text(r['corrupt_at'])} resolution")
        out.append("- **Versions:** " + " · ".join(text(f"{k} {v}") for k, v in r["versions"].items()))
        out += ["", f"### Skipped files ({len(r['skipped'])})", ""]
        if not r["skipped"]:
            return [*out, "None.", ""]
        return out + _table(["File", "Reason"], [[code(s["path"]), s["reason"]] for s in r["skipped"]], 2)


SECTIONS: tuple[Callable[[_Doc], list[str]], ...] = (
    _Doc.header,
    _Doc.brief,
    _Doc.plan,
    _Doc.strips,
    _Doc.clean,
    _Doc.figures,
    _Doc.vulnerabilities,
    _Doc.corruption_error,
    _Doc.label_free,
    _Doc.calibration,
    _Doc.failures,
    _Doc.appendix,
)


def render_markdown(ctx: ReportContext, figures: dict[str, str] | None = None) -> str:
    """The report as Markdown; ``figures`` maps figure names to relative paths (default FIGURE_FILES)."""
    figs = {k: v for k, v in (figures or FIGURE_FILES).items() if k in ctx.figures}
    doc = _Doc(ctx.data, figs)
    lines = [line for section in SECTIONS for line in section(doc)]
    return "\n".join(lines).rstrip() + "\n"
