"""The Markdown report: the same sections as the HTML, as GitHub-flavoured Markdown.

Figures are referenced as files in ``figures/`` next to ``report.md`` (written by ``render``), so
the Markdown stays small and diff-able; the gallery is a table (the thumbnails are in the HTML).
Every number is a ``text`` field of the report data.
"""

from __future__ import annotations

from collections.abc import Callable

from robustlens.report.context import ReportContext
from robustlens.report.formatting import upfirst
from robustlens.report.md_investigation import investigation_sections
from robustlens.report.md_results import ResultSections
from robustlens.report.md_text import Data, Md, _mv, _table, block, code, text
from robustlens.report.ood_section import ood_markdown

FIGURE_FILES = {
    "heatmap": "figures/heatmap.png",
    "severity_curves": "figures/severity_curves.png",
    "label_free_vs_accuracy": "figures/label_free_vs_accuracy.png",
}


class _Doc(ResultSections):
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
        out += [f"- {self.model(e['model'])}: {text(e['text'])}" for e in v.get("envelope") or []]
        if v["safety_fact"]:
            out += ["", f"> **Most important safety fact:** {text(v['safety_fact'])}"]
        return [*out, ""]

    def investigation(self) -> list[str]:
        return investigation_sections(self.d.get("investigation"), self.model)

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
            [
                self.model(c["model"]),
                c["n_images"],
                *[_mv(c["metrics"][m]) if m in c["metrics"] else "–" for m in metrics],
            ]
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
            found = text(r["dataset_counts"])
            out.append(f"- **Dataset:** {text(ds.get('kind'))} · {code(ds.get('root'))} · {found}")
        out.append(f"- **Corrupted at:** {text(r['corrupt_at'])} resolution")
        out.append(f"- **Corrupted on:** {text(r['corrupted_on'])}")
        if r.get("sampling"):
            out.append(f"- **Sampling:** {text(r['sampling'])} (n per cell in the cell table)")
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
    _Doc.investigation,
    _Doc.corruption_error,
    _Doc.label_free,
    _Doc.metric_scope,
    lambda doc: ood_markdown(doc.d.get("ood"), doc.model),  # --ood runs only
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
