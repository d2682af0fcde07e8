"""What an investigation finds, as typed records (``investigation.json`` in the run folder).

The investigation answers a deployment owner's next questions after the first evaluation:
up to what level of each condition the model still meets the tolerance (operating envelope),
which images fail first and what they share (failure slices), what happens when conditions come
together (compound chains), and which class absorbs the errors (per-class vulnerability).
Every follow-up is also logged as a step (question, tool, result, why) for the report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from robustlens.schemas import MetricValue, Model, Persisted

INVESTIGATION_FILE = "investigation.json"


class PhysicalLevel(Model):
    """A severity expressed in a primitive's own units (e.g. blur sigma 2.1 px at 224 px)."""

    primitive: str
    param: str
    value: float
    unit: str = ""
    text: str = Field("", description="ready-to-print, e.g. 'Gaussian blur sigma 2.1 px'")


class ToleranceResult(Model):
    """The largest severity at which ``metric`` stays within the brief's tolerance (bisection)."""

    model_id: str
    corruption: str
    metric: str = Field(description="accuracy_drop, balanced_accuracy_drop, lfp or drift")
    tolerance: float = Field(description="the brief's max for the metric")
    status: Literal["within_all", "fails_mildest", "bracketed"]
    tolerated_severity: float | None = Field(None, description="None when it fails at the mildest level")
    failing_severity: float | None = Field(None, description="smallest severity seen to exceed the tolerance")
    value: MetricValue | None = Field(None, description="metric at the tolerated severity, with its interval")
    physical: list[PhysicalLevel] = Field(default_factory=list, description="tolerated level in units")
    evaluated: list[float] = Field(default_factory=list, description="severities used (reused or new)")
    resolution: float = Field(0.25, description="bisection stops when the bracket is this narrow")


class Slice(Model):
    """A coherent group of images that fails more often than the rest under one cell."""

    model_id: str
    corruption: str
    severity: float
    kind: Literal["cluster", "brightness", "contrast", "sharpness", "size", "class", "folder"]
    description: str = Field(description="e.g. 'darkest quarter (mean brightness < 0.31)'")
    n_images: int
    failure_rate: MetricValue
    rest_rate: MetricValue
    difference: MetricValue = Field(description="slice minus rest failure rate, bootstrap interval")
    significant: bool = Field(description="the difference's interval excludes 0")
    outcome: Literal["error", "flip"] = Field("error", description="'flip' in label-free runs")
    image_ids: list[str] = Field(default_factory=list, description="representative images")


class CompoundResult(Model):
    """A chain of conditions evaluated as one spec and compared with its parts at one severity."""

    model_id: str
    corruption: str = Field(description="the compound spec's name")
    parts: list[str] = Field(description="the single-condition specs it chains")
    severity: float
    metric: str
    drop: MetricValue
    part_drops: dict[str, MetricValue] = Field(default_factory=dict)
    worse_than_worst_part: bool | None = Field(None, description="None when the intervals overlap")
    worse_than_sum: bool | None = Field(None, description="chain drop vs the parts' drops added")
    why: str = Field("", description="why this chain was built, from the brief")


class ClassVulnerability(Model):
    """Which class loses most under a cell, and which class absorbs the errors."""

    model_id: str
    corruption: str
    severity: float
    class_name: str
    clean_accuracy: float
    corrupted_accuracy: float
    drop: MetricValue
    absorbed_share: float = Field(description="share of all errors in the cell predicted as this class")
    n_images: int


class InvestigationStep(Model):
    """One follow-up of the loop, as the report's investigation log shows it."""

    iteration: int
    question: str = Field(description="the deployment owner's question this step answers")
    tool: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    result: str = Field("", description="one-sentence finding")
    why: str = Field("", description="why this follow-up, in one sentence (goes into the report)")
    cells_added: int = 0
    planner: str = Field("offline-expert", description="who chose the step")


class Investigation(Persisted):
    steps: list[InvestigationStep] = Field(default_factory=list)
    envelope: list[ToleranceResult] = Field(default_factory=list)
    slices: list[Slice] = Field(default_factory=list)
    compounds: list[CompoundResult] = Field(default_factory=list)
    vulnerability: list[ClassVulnerability] = Field(default_factory=list)


def load_investigation(run_dir: str | Path) -> Investigation | None:
    """The run's investigation, or None when the run has none (older runs, `eval` alone)."""
    path = Path(run_dir) / INVESTIGATION_FILE
    return Investigation.load(path) if path.exists() else None
