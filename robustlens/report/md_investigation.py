"""The investigation's Markdown sections: operating envelope, failure slices, compound conditions,
per-class vulnerability and the investigation log (same data and texts as the HTML).

Questions, reasons and results in the log can come from an LLM planner, and slice descriptions and
class names from the user's data: all of it goes through ``md_text.text`` (or a table cell, which
escapes by default), never straight into the Markdown.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from robustlens.report.md_text import Data, Md, _mv, _table, code, text


def investigation_sections(inv: Data | None, model: Callable[[str], Md]) -> list[str]:
    """All investigation sections; nothing for a run without an investigation."""
    if inv is None:
        return []
    sections = (envelope, slices, compounds, classes)
    return [line for section in sections for line in section(inv, model)] + log(inv)


def envelope(inv: Data, model: Callable[[str], Md]) -> list[str]:
    out = ["## Operating envelope", ""]
    if not inv["envelope"]:
        return [*out, "The investigation bisected no condition.", ""]
    out += [
        f"Tolerance used: {text(inv['envelope_tolerance'])}. The tolerated level is the largest severity "
        "whose value stays within it (bisection), in the condition's physical units, with the bootstrap "
        "95% interval at that level. Earliest failures first.",
        "",
    ]
    head = ["Model", "Condition", "Envelope", "Tolerated severity", "Fails from", "Severities tested"]
    rows = [
        [
            model(r["model"]),
            r["corruption"],
            r["text"],
            r["tolerated_severity_text"],
            r["failing_severity_text"],
            r["evaluated_text"],
        ]
        for r in inv["envelope"]
    ]
    return out + _table(head, rows, 3)


def slices(inv: Data, model: Callable[[str], Md]) -> list[str]:
    out = ["## Failure slices", ""]
    if not inv["slices"]:
        return [*out, "No slice of images failed more often than the rest.", ""]
    out += [
        "Groups of images that fail more often than the rest of the cell; the difference of rates with "
        "its bootstrap 95% interval, *significant* when that interval excludes 0. Thumbnails of the "
        "representative images (clean and corrupted) are in `report.html`.",
        "",
    ]
    head = ["Model", "Condition", "Severity", "Slice", "n", "Slice rate", "Rest rate", "Difference", ""]
    rows = [
        [
            model(s["model_id"]),
            s["corruption"],
            s["severity_text"],
            Md(f"{text(s['description'])} ({text(s['kind'])}, {text(s['outcome_label'])})"),
            s["n_images"],
            _mv(s["failure_rate"]),
            _mv(s["rest_rate"]),
            _mv(s["difference"]),
            Md("**significant**") if s["significant"] else "not significant",
        ]
        for s in inv["slices"]
    ]
    out += _table(head, rows, 4)
    for s in inv["slices"]:
        if s["shown_ids"]:
            ids = ", ".join(code(i) for i in s["shown_ids"])
            out.append(f"- {text(s['description'])} ({text(s['corruption'])} s{s['severity_text']}): {ids}")
    return [*out, ""]


def _parts(c: dict[str, Any]) -> Md:
    return Md("; ".join(f"{text(p['name'])} {_mv(p['drop'])}" for p in c["part_drops"]) or "–")


def compounds(inv: Data, model: Callable[[str], Md]) -> list[str]:
    out = ["## Compound conditions", ""]
    if not inv["compounds"]:
        return [*out, "No chain of conditions was evaluated.", ""]
    out += [
        "A chain of conditions evaluated as one against its parts at the same severity (drops with "
        "bootstrap 95% intervals). A chain is called worse only when its interval clears the parts'.",
        "",
    ]
    head = ["Model", "Chain", "Severity", "Chain drop", "Parts", "Finding", "Why"]
    rows = [
        [
            model(c["model_id"]),
            Md(f"{text(c['corruption'])} ({text(' + '.join(c['parts']))})"),
            c["severity_text"],
            Md(text(c["metric_label"]) + " " + _mv(c["drop"])),
            _parts(c),
            c["finding_text"],
            c["why"] or "–",
        ]
        for c in inv["compounds"]
    ]
    return out + _table(head, rows, 2)


def classes(inv: Data, model: Callable[[str], Md]) -> list[str]:
    if not inv["vulnerability"]:
        return []
    head = ["Model", "Condition", "Class", "Severity", "Clean acc.", "Corrupted acc.", "Drop", "Absorbs", "n"]
    rows = [
        [
            model(v["model_id"]),
            v["corruption"],
            v["class_name"],
            v["severity_text"],
            v["clean_accuracy"]["text"],
            v["corrupted_accuracy"]["text"],
            _mv(v["drop"]),
            v["absorbed_share"]["text"],
            v["n_images"],
        ]
        for v in inv["vulnerability"]
    ]
    note = "*Absorbs*: share of all the cell's errors predicted as this class."
    return ["## Per-class vulnerability", "", *_table(head, rows, 3), note, ""]


def log(inv: Data) -> list[str]:
    out = ["## Investigation log", ""]
    if not inv["steps"]:
        return [*out, "No follow-up was run.", ""]
    head = ["#", "Question", "Tool", "Result", "Why", "Chosen by"]
    rows = [
        [s["iteration"], s["question"], code(s["tool"]), s["result"] or "–", s["why"] or "–", s["planner"]]
        for s in inv["steps"]
    ]
    return out + _table(head, rows, 6)
