"""The results sections of the Markdown report (ranked vulnerabilities, CE / mCE, label-free
metrics, calibration), as a mixin of the document class in ``robustlens.report.markdown``: it reads
``self.d`` (the report data), ``self.run`` and ``self.model`` from there."""

from __future__ import annotations

from robustlens.report.formatting import upfirst
from robustlens.report.md_text import Data, Md, _mv, _table, text


class ResultSections:
    d: Data
    run: Data
    audited: list[str]  # model ids other than the reference (set by the document class)
    figs: dict[str, str]  # figure name -> file name

    def model(self, m: str) -> Md:  # pragma: no cover - provided by the document class
        raise NotImplementedError

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

    def metric_scope(self) -> list[str]:
        """Which metrics apply to which model (only when a model is image-only), and its probes."""
        scope = self.d.get("metric_scope")
        if not scope:
            return []
        kinds = scope["models"]
        out = ["## Which metrics apply to which model", ""]
        out += ["Image-only encoders have no text tower: no zero-shot classifier, so they are judged by "]
        out[-1] += (
            "their embeddings and, with labels, by probes fitted on clean images (yes = computed here)."
        )
        head = ["Metrics", "Applies to", *[Md(f"{self.model(m['id'])} ({text(m['kind'])})") for m in kinds]]
        rows = [[r["group"], r["rule"], *r["applies"]] for r in scope["rows"]]
        out += ["", *_table(head, rows, 2)]
        for p in scope["probes"]:
            out += [f"Downstream probes of {self.model(p['model'])}: {text(p['split'])}.", ""]
            rows = [
                [
                    self.d["metric_labels"].get(m["name"], m["name"]),
                    _mv(m["clean"]),
                    _mv(m["mean_corrupted"]),
                    _mv(m["mean_drop"]),
                ]
                for m in p["metrics"]
            ]
            rows.append(["kNN flip", "–", _mv(p["knn_flip"]), "–"])
            out += _table(["Probe", "Clean", "Mean corrupted", "Mean drop"], rows)
            if p["tracking"]:
                out += ["How the label-free signals track the linear-probe accuracy drop (Pearson r):", ""]
                out += [*[f"- {text(t)}" for t in p["tracking"]], ""]
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
