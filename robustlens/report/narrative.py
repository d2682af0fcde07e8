"""The executive summary generated from the numbers (used when no LLM narrative is given, and shown
beside one when it is, so a reader can check the prose against the figures).

It reads only the report data (``report.json`` in the making) and copies its display texts, so every
number in the summary is one the tables show.
"""

from __future__ import annotations

from typing import Any


def _ci(mv: dict[str, Any]) -> str:
    return f"{mv['text']} ({mv['ci_text']})" if mv.get("ci_text") else mv["text"]


def generated_summary(data: dict[str, Any]) -> list[str]:
    """A few sentences: scope, clean performance, the worst damage, collapses, mCE, monitoring."""
    run = data["run"]
    ranking = run["ranking"]
    audited = [m["id"] for m in run["models"] if m["role"] != "reference"]
    labels = f"labelled, {len(run['class_names'] or [])} classes" if run["labelled"] else "label-free"
    lines = [
        f"{len(audited)} model(s) audited on {run['n_images']} images ({labels}) under "
        f"{len(run['corruptions'])} corruption(s) x {len(run['severities'])} severities "
        f"({', '.join(run['severities'])}), seed {data['plan']['seed']}."
    ]
    if run["labelled"]:
        clean = [
            f"{c['model']} {_ci(c['metrics']['accuracy'])}"
            for c in data["clean"]
            if c["model"] in audited and "accuracy" in c["metrics"]
        ]
        if clean:
            lines.append("Clean accuracy: " + "; ".join(clean) + ".")
    worst = data["vulnerabilities"]
    if worst:
        w = worst[0]
        what = (
            f"{ranking['damage_label']} {_ci(w['drop'])}"
            if w["drop"]
            else f"{ranking['label']} {_ci(w['value'])}"
        )
        caveat = " — not significant: its 95% interval includes 0" if w.get("significant") is False else ""
        lines.append(
            f"Largest damage: {w['corruption']} at severity {w['severity_text']} on {w['model']} "
            f"({what}){caveat}."
        )
    else:
        lines.append(f"No corruption changed the {ranking['label']} of any audited model.")
    collapsed = [c for c in data["collapse"] if c["severity"] is not None]
    if collapsed:
        parts = [
            f"{c['corruption']} at severity {c['severity_text']} ({c['model_id']})"
            if c.get("non_monotone")
            else f"{c['corruption']} from severity {c['severity_text']} ({c['model_id']})"
            for c in collapsed
        ]
        lines.append("Collapse: " + "; ".join(parts) + ".")
    else:
        lines.append("No audited model collapsed within the tested severities.")
    ce = data["corruption_error"]
    if ce:
        parts = [f"{m['model']} {_ci(m['mce'])}" for m in ce["models"]]
        lines.append(f"mCE against the reference {ce['reference']}: " + "; ".join(parts) + ".")
    best = _best_signal(data)
    if best:
        lines.append(best)
    if any(m["random_weights"] for m in run["models"]):
        lines.append("Some models have random weights: this run checks the pipeline, not those models.")
    return lines


def _best_signal(data: dict[str, Any]) -> str | None:
    best: tuple[float, str] | None = None
    for entry in data["label_free"]:
        for s in entry["tracking"]["signals"]:
            r = s["r"]["value"]
            if r is None:
                continue
            text = (
                f"Best label-free tracker of the accuracy drop: {s['label']} "
                f"(r = {_ci(s['r'])} for {entry['model']})."
            )
            if best is None or abs(r) > best[0]:
                best = (abs(r), text)
    return best[1] if best else None
