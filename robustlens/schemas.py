"""The shared, typed vocabulary of robustlens (pydantic v2).

Data flows ``DomainBrief -> CorruptionPlan -> ValidatedPlan -> AuditResult -> FailureAnalysis``.
Persisted types carry ``schema_version`` and round-trip through JSON and YAML (``save``/``load``).
Specs are data, never code: they are checked against the primitive registry when compiled
(``robustlens.corruptions.compiler``), which this module does not import.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from robustlens.yamlload import load_yaml

SCHEMA_VERSION = 1
SLUG = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,63}$")
RESERVED_SPEC_NAMES = frozenset({"clean"})  # the uncorrupted baseline's cell name
SEVERITY_DECIMALS = 3  # severities are canonicalised to this many decimals (one file per severity)


class Model(BaseModel):
    """Strict base: unknown fields are errors, so a typo in a YAML file is caught."""

    model_config = ConfigDict(extra="forbid")

    def to_json(self, indent: int | None = 2) -> str:
        return self.model_dump_json(indent=indent)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False, allow_unicode=True)

    @classmethod
    def from_json(cls, text: str) -> Self:
        return cls.model_validate_json(text)

    @classmethod
    def from_yaml(cls, text: str) -> Self:
        return cls.model_validate(load_yaml(text) or {})

    def save(self, path: str | Path) -> Path:
        """Write as YAML (``.yaml``/``.yml``) or JSON (anything else), atomically."""
        path = Path(path)
        text = self.to_yaml() if path.suffix in (".yaml", ".yml") else self.to_json()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> Self:
        """Read a saved model; a truncated, non-UTF-8 or foreign file is a ``UserInputError``."""
        from robustlens.errors import UserInputError, describe_validation

        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
            return cls.from_yaml(text) if path.suffix in (".yaml", ".yml") else cls.from_json(text)
        except (ValidationError, yaml.YAMLError, UnicodeDecodeError, RecursionError) as exc:
            why = describe_validation(exc) if isinstance(exc, ValidationError) else str(exc).splitlines()[0]
            raise UserInputError(
                f"{path} cannot be read as a {cls.__name__}: the file is damaged or not a robustlens file.",
                why=why[:300],
                fix="Restore or regenerate the file; a run's result.json is rebuilt by "
                "`robustlens report RUN_DIR` or by re-running the same `robustlens eval`.",
                field=path.name,
            ) from None


class Persisted(Model):
    schema_version: int = SCHEMA_VERSION


# --------------------------------------------------------------------------- the brief


class ImageSource(Model):
    """Where the images come from."""

    kind: Literal["class_folders", "flat", "manifest", "demo"] = "class_folders"
    path: str = Field(description="folder or manifest path; for kind=demo the demo set's name")
    class_names: list[str] | None = Field(
        default=None, description="names to prompt with, in label order (default: folder names)"
    )


class Budget(Model):
    max_corruptions: int = Field(8, ge=1, le=64)
    severities: list[float] = Field(default_factory=lambda: [1.0, 2.0, 3.0, 4.0, 5.0])
    max_images: int | None = Field(None, ge=1, description="subsample the dataset to this many")
    max_iterations: int = Field(1, ge=0, le=5, description="agent refinement rounds after eval")

    @field_validator("severities")
    @classmethod
    def _severities(cls, v: list[float]) -> list[float]:
        return _check_severities(v)


class Tolerance(Model):
    """The largest degradation the deployment accepts; the report's verdict compares each cell's 95%
    interval against it (holds / fails / inconclusive)."""

    metric: Literal["accuracy_drop", "balanced_accuracy_drop", "lfp"] = Field(
        "accuracy_drop", description="accuracy_drop / balanced_accuracy_drop (labelled) or lfp (label-free)"
    )
    max: float = Field(0.05, gt=0.0, le=1.0, description="largest acceptable value, e.g. 0.05")


class Execution(Model):
    """Where and how the audit runs (issues 14 and 15); the CLI flags of the same names override it."""

    corrupt_on: Literal["auto", "cpu", "device"] = Field(
        "auto",
        description="auto: on the model's device when it is a GPU and every primitive of a spec has a "
        "device kernel; cpu: in worker processes; device: on the model's device (slow on CPU)",
    )
    target_ci_width: float | None = Field(
        None,
        gt=0.0,
        le=1.0,
        description="adaptive sampling: stop adding images to a cell once its 95% interval is narrower",
    )
    executor: Literal["local", "ray"] = Field("local", description="local, or a Ray cluster")
    ray_address: str | None = Field(None, description="Ray address, or 'auto' (with executor: ray)")


class DomainBrief(Persisted):
    """What the interview establishes about the deployment domain."""

    domain: str = Field(description="short name of the deployment domain, e.g. 'textile line'")
    description: str = ""
    imaging_setup: str = Field("", description="sensor, optics, lighting, resolution")
    deployment_conditions: list[str] = Field(default_factory=list)
    labels: list[str] | None = Field(None, description="class names; None = label-free audit")
    image_source: ImageSource | None = None
    models: list[str] = Field(default_factory=list)
    reference_model: str | None = None
    checkpoints: dict[str, str] = Field(
        default_factory=dict, description="local weights per model id: {MODEL_ID: PATH}"
    )
    budget: Budget = Field(default_factory=Budget)
    tolerance: Tolerance | None = Field(
        None, description="acceptable degradation for the verdict (default: accuracy drop 0.05, or LFP 0.1)"
    )
    chain: dict[str, Any] = Field(
        default_factory=dict,
        description="imaging-chain facts the user confirmed or corrected (override what the expert infers), "
        "e.g. {scene: [indoor], sky_in_view: false}; fields as in robustlens.expert.facts.ChainFacts",
    )
    execution: Execution = Field(default_factory=Execution)
    ood: str | None = Field(
        None,
        description="OOD image set (folder, manifest or demo:natural): OOD detection under corruption "
        "(AUROC / FPR@95, robustlens.evaluation.ood)",
    )
    seed: int = 0


# --------------------------------------------------------------------------- corruption plans


class PrimitiveCall(Model):
    """One registered primitive in a recipe, with fixed parameter overrides and ladder overrides."""

    name: str
    params: dict[str, Any] = Field(default_factory=dict)
    ladder: dict[str, list[float]] = Field(
        default_factory=dict, description="override of severity 1..5 values for ladder params"
    )


class CorruptionSpec(Model):
    """A named corruption: a recipe of 1..N primitives driven by one severity knob (0..5)."""

    name: str
    rationale: str = ""
    recipe: list[PrimitiveCall] = Field(min_length=1)
    source: Literal["llm", "offline", "user", "agent"] = "user"
    extra_severities: list[float] = Field(
        default_factory=list,
        description="rungs evaluated for this spec only, besides the plan's severities (the "
        "investigation's refinements); summaries and mCE keep the plan-wide ladder",
    )

    @field_validator("extra_severities")
    @classmethod
    def _extra(cls, v: list[float]) -> list[float]:
        return _check_severities(v) if v else []

    @field_validator("name")
    @classmethod
    def _slug(cls, v: str) -> str:
        if not SLUG.match(v):
            raise ValueError("use lowercase letters, digits, '_' or '-' (max 64), e.g. 'fog_heavy'")
        if v in RESERVED_SPEC_NAMES:
            raise ValueError(f"{v!r} is reserved for the uncorrupted baseline; choose another name")
        return v


class CorruptionPlan(Persisted):
    specs: list[CorruptionSpec] = Field(min_length=1)
    severities: list[float] = Field(default_factory=lambda: [1.0, 2.0, 3.0, 4.0, 5.0])
    seed: int = 0
    planner: str = "user"
    notes: str = ""

    @field_validator("severities")
    @classmethod
    def _severities(cls, v: list[float]) -> list[float]:
        return _check_severities(v)

    @model_validator(mode="after")
    def _unique(self) -> CorruptionPlan:
        names = [s.name for s in self.specs]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"spec names must be unique; repeated: {', '.join(dupes)}")
        return self

    def spec(self, name: str) -> CorruptionSpec:
        for s in self.specs:
            if s.name == name:
                return s
        raise KeyError(name)


class Check(Model):
    name: str
    passed: bool
    detail: str = ""
    advisory: bool = Field(False, description="reported, but does not reject the spec")


class CriticVerdict(Model):
    realistic: bool
    score: float = Field(ge=0.0, le=1.0, description="confidence the corruption is realistic")
    reasons: list[str] = Field(default_factory=list)
    critic: str = Field("", description="who judged: model id or 'offline-rules'")


class ValidationReport(Model):
    spec_name: str
    ok: bool
    ssim_by_severity: dict[str, float] = Field(default_factory=dict)
    checks: list[Check] = Field(default_factory=list)
    critic: CriticVerdict | None = None


class ValidatedPlan(Persisted):
    plan: CorruptionPlan
    reports: list[ValidationReport] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.reports)


# --------------------------------------------------------------------------- results


class MetricValue(Model):
    """A metric with its bootstrap 95% interval (None when not computable, e.g. n=1)."""

    value: float
    ci_low: float | None = None
    ci_high: float | None = None


class CellResult(Model):
    """One model x corruption x severity; per-image records live in ``records_path``."""

    model_id: str
    corruption: str = Field(description="spec name; 'clean' for the uncorrupted baseline")
    severity: float
    n_images: int
    metrics: dict[str, MetricValue] = Field(default_factory=dict)
    records_path: str | None = None
    elapsed_s: float = 0.0


class SkippedFile(Model):
    path: str
    reason: str


class AuditResult(Persisted):
    """Everything needed to rebuild the report without recomputing."""

    run_id: str
    brief: DomainBrief | None = None
    plan: CorruptionPlan
    validation: list[ValidationReport] = Field(default_factory=list)
    models: list[str]
    reference_model: str | None = None
    labelled: bool = True
    class_names: list[str] | None = None
    cells: list[CellResult] = Field(default_factory=list)
    summary: dict[str, Any] = Field(default_factory=dict, description="model-level aggregates")
    skipped: list[SkippedFile] = Field(default_factory=list)
    dataset_fingerprint: str = ""
    seed: int = 0
    versions: dict[str, str] = Field(default_factory=dict)
    command: str = ""

    def cell(self, model_id: str, corruption: str, severity: float) -> CellResult | None:
        for c in self.cells:
            if (c.model_id, c.corruption, c.severity) == (model_id, corruption, severity):
                return c
        return None


class WorstCell(Model):
    model_id: str
    corruption: str
    severity: float
    metric: str
    value: float
    drop: float


class ClassShift(Model):
    model_id: str
    corruption: str
    severity: float
    true_class: str
    predicted_class: str
    clean_rate: float
    corrupted_rate: float


class CollapsePoint(Model):
    model_id: str
    corruption: str
    severity: float | None = Field(description="first severity where the metric collapses")
    metric: str
    collapsed_at: list[float] = Field(default_factory=list, description="every severity that collapses")
    non_monotone: bool = Field(default=False, description="collapsed at a severity, not at a higher one")


class ExamplePick(Model):
    model_id: str
    corruption: str
    severity: float
    image_id: str
    clean_prediction: str | None = None
    corrupted_prediction: str | None = None
    label: str | None = None


class FailureAnalysis(Persisted):
    worst_cells: list[WorstCell] = Field(default_factory=list)
    class_shifts: list[ClassShift] = Field(default_factory=list)
    collapse_points: list[CollapsePoint] = Field(default_factory=list)
    examples: list[ExamplePick] = Field(default_factory=list)
    recommendations: list[str] = Field(default_factory=list)


def canonical_severity(value: float) -> float:
    """One severity, one cell file: 2 and 2.0000001 are the same rung (rounded to 3 decimals)."""
    return round(float(value), SEVERITY_DECIMALS) + 0.0


def _check_severities(values: list[float]) -> list[float]:
    if not values:
        raise ValueError("give at least one severity")
    bad = [v for v in values if not (isinstance(v, int | float) and 0 <= v <= 5)]
    if bad:
        raise ValueError(f"severities must lie in 0..5 (0 = identity); got {bad}")
    return sorted({canonical_severity(v) for v in values})


def json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """JSON schema of a model, as given to LLM tools and written to docs."""
    return json.loads(json.dumps(model.model_json_schema()))
