"""robustlens: robustness audits of vision-language models for a specific deployment domain.

The public Python API (see ``robustlens.api``), re-exported here::

    import robustlens
    brief = robustlens.load_brief("examples/textile_line.yaml")
    result = robustlens.run(brief, out="runs/textile")  # the whole audit, offline expert
    noisy = robustlens.corrupt("photo.jpg", "fog", severity=3)

Names are loaded on first use (PEP 562), so ``import robustlens`` imports neither torch nor
pydantic: a notebook or a CLI ``--help`` pays only for what it touches. ``robustlens.audit`` stays
the stage module of that name (no function shadows it).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "run": "robustlens.api",
    "evaluate": "robustlens.api",
    "corrupt": "robustlens.api",
    "load_brief": "robustlens.api",
    "load_plan": "robustlens.api",
    "write_report": "robustlens.api",
    "quiet_third_party": "robustlens.quiet",
    "UserInputError": "robustlens.errors",
    "DomainBrief": "robustlens.schemas",
    "ImageSource": "robustlens.schemas",
    "Budget": "robustlens.schemas",
    "CorruptionPlan": "robustlens.schemas",
    "CorruptionSpec": "robustlens.schemas",
    "PrimitiveCall": "robustlens.schemas",
    "ValidationReport": "robustlens.schemas",
    "CriticVerdict": "robustlens.schemas",
    "AuditResult": "robustlens.schemas",
    "CellResult": "robustlens.schemas",
    "MetricValue": "robustlens.schemas",
    "SkippedFile": "robustlens.schemas",
    "FailureAnalysis": "robustlens.schemas",
}

__all__ = [
    "AuditResult",
    "Budget",
    "CellResult",
    "CorruptionPlan",
    "CorruptionSpec",
    "CriticVerdict",
    "DomainBrief",
    "FailureAnalysis",
    "ImageSource",
    "MetricValue",
    "PrimitiveCall",
    "SkippedFile",
    "UserInputError",
    "ValidationReport",
    "__version__",
    "corrupt",
    "evaluate",
    "load_brief",
    "load_plan",
    "quiet_third_party",
    "run",
    "write_report",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'robustlens' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


if TYPE_CHECKING:  # for type checkers and IDEs: the same names, imported eagerly
    from robustlens.api import corrupt, evaluate, load_brief, load_plan, run, write_report
    from robustlens.errors import UserInputError
    from robustlens.quiet import quiet_third_party
    from robustlens.schemas import (
        AuditResult,
        Budget,
        CellResult,
        CorruptionPlan,
        CorruptionSpec,
        CriticVerdict,
        DomainBrief,
        FailureAnalysis,
        ImageSource,
        MetricValue,
        PrimitiveCall,
        SkippedFile,
        ValidationReport,
    )
