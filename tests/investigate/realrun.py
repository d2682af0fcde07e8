"""The real small run the investigation tests share: the demo model on 18 textile images."""

from __future__ import annotations

from robustlens.evaluation.engine import EngineOptions
from robustlens.schemas import CorruptionPlan, CorruptionSpec, DomainBrief, PrimitiveCall

MODEL = "demo:textile"
OPTIONS = EngineOptions(workers=0, device="cpu", n_boot=200, use_cache=False)


def plan() -> CorruptionPlan:
    def spec(name: str, prim: str) -> CorruptionSpec:
        return CorruptionSpec(name=name, rationale=f"{name} on the line", recipe=[PrimitiveCall(name=prim)])

    return CorruptionPlan(
        specs=[spec("blur", "defocus_blur"), spec("jpeg", "jpeg"), spec("shake", "vibration_blur")],
        severities=[1, 3, 5],
        seed=0,
    )


BRIEF = DomainBrief(domain="textile", deployment_conditions=["vibration", "focus drift", "jpeg compression"])
