"""CI gates: ``--fail-on accuracy_drop>0.2`` turns an audit into a pass/fail check.

A gate is ``[CORRUPTION:]METRIC OP NUMBER`` with OP one of ``> >= < <=``. Cell metrics (accuracy,
accuracy_drop, lfp, ...) are checked on every model x corruption x severity cell that has them (or
only the named corruption's cells); ``ce``/``relative_ce`` on every model x corruption, ``mce``/
``relative_mce`` once per model. A gate trips when the condition holds; ``check_gates`` returns one
message per tripped cell, so the CLI can list them and exit 1. ``eval`` and ``run`` share this.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

from robustlens.errors import UserInputError, did_you_mean
from robustlens.schemas import AuditResult

OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
}
MODEL_METRICS = ("mce", "relative_mce")  # one value per model (needs --reference)
CORRUPTION_METRICS = ("ce", "relative_ce")  # one value per model x corruption (needs --reference)
_GATE = re.compile(
    r"^\s*(?:(?P<corruption>[A-Za-z0-9_\-]+)\s*:\s*)?(?P<metric>[a-z0-9_]+)\s*"
    r"(?P<op>>=|<=|>|<)\s*(?P<value>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$"
)


@dataclass(frozen=True)
class Gate:
    """``metric op threshold`` on the cells of ``corruption`` (all corruptions when None)."""

    metric: str
    op: str
    threshold: float
    corruption: str | None = None
    text: str = ""

    def trips(self, value: float) -> bool:
        return OPS[self.op](value, self.threshold)


def cell_metric_names() -> list[str]:
    from robustlens.evaluation.summary import CELL_METRICS

    return [*CELL_METRICS, "accuracy_drop"]


def allowed_metrics() -> list[str]:
    return [*cell_metric_names(), *CORRUPTION_METRICS, *MODEL_METRICS]


def parse_gates(exprs: list[str]) -> list[Gate]:
    """Parse ``--fail-on`` expressions; ``UserInputError`` naming the allowed metrics when invalid."""
    gates = []
    allowed = allowed_metrics()
    for expr in exprs:
        m = _GATE.match(expr)
        if not m:
            raise UserInputError(
                f"Invalid --fail-on {expr!r}.",
                why="a gate is [CORRUPTION:]METRIC OP NUMBER with OP one of > >= < <=.",
                fix="For example --fail-on 'accuracy_drop>0.2' or --fail-on 'fog:lfp>=0.3'. "
                f"Metrics: {', '.join(allowed)}.",
                field="fail_on",
            )
        metric = m["metric"]
        if metric not in allowed:
            raise UserInputError(
                f"Unknown metric {metric!r} in --fail-on {expr!r}.",
                why=f"allowed metrics: {', '.join(allowed)}.",
                fix=did_you_mean(metric, allowed) or "Use one of the allowed metrics.",
                field="fail_on",
            )
        if metric in MODEL_METRICS and m["corruption"]:
            raise UserInputError(
                f"--fail-on {expr!r}: {metric} is one value per model, not per corruption.",
                fix=f"Drop the '{m['corruption']}:' prefix, or use ce / relative_ce per corruption.",
                field="fail_on",
            )
        gates.append(Gate(metric, m["op"], float(m["value"]), m["corruption"], expr.strip()))
    return gates


def check_gates(result: AuditResult, gates: list[Gate]) -> list[str]:
    """One message per model x cell where a gate trips; empty when every gate passes.

    A gate that names a corruption the run does not have is an error (a typo would pass silently).
    """
    corruptions = {sp.name for sp in result.plan.specs} | {"clean"}
    messages: list[str] = []
    for gate in gates:
        if gate.corruption is not None and gate.corruption not in corruptions:
            raise UserInputError(
                f"--fail-on {gate.text!r} names corruption {gate.corruption!r}, which is not in the plan.",
                fix=did_you_mean(gate.corruption, corruptions)
                or f"Corruptions: {', '.join(sorted(corruptions))}.",
                field="fail_on",
            )
        for where, value in _values(result, gate):
            if value == value and gate.trips(value):  # NaN never trips
                messages.append(f"{where}: {gate.metric} = {value:.4g} {gate.op} {gate.threshold:g}")
    return messages


def _values(result: AuditResult, gate: Gate) -> list[tuple[str, float]]:
    """(where, value) pairs the gate applies to."""
    out: list[tuple[str, float]] = []
    models = result.summary.get("models", {})
    if gate.metric in MODEL_METRICS or gate.metric in CORRUPTION_METRICS:
        for model_id in result.models:
            entry = models.get(model_id, {}).get(gate.metric)
            if gate.metric in MODEL_METRICS:
                if entry and entry.get("value") is not None:
                    out.append((model_id, float(entry["value"])))
                continue
            for corruption, mv in (entry or {}).items():
                if gate.corruption in (None, corruption) and mv and mv.get("value") is not None:
                    out.append((f"{model_id} {corruption}", float(mv["value"])))
        return out
    for cell in result.cells:
        if gate.corruption not in (None, cell.corruption):
            continue
        mv = cell.metrics.get(gate.metric)
        if mv is not None:
            out.append((f"{cell.model_id} {cell.corruption} s{cell.severity:g}", float(mv.value)))
    return out
