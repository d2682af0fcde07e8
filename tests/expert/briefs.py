"""A brief built from the parts a test is about (the imaging setup and the deployment conditions),
with neutral defaults for the rest, so each expert test states only the words it checks."""

from __future__ import annotations

from robustlens.schemas import DomainBrief


def make_brief(
    setup: str,
    conditions: list[str],
    *,
    domain: str = "inspection",
    description: str = "Classify what the camera sees.",
    labels: list[str] | None = None,
    **extra: object,
) -> DomainBrief:
    return DomainBrief(
        domain=domain,
        description=description,
        imaging_setup=setup,
        deployment_conditions=conditions,
        labels=labels or ["ok", "defect"],
        models=["demo:textile"],
        **extra,  # type: ignore[arg-type]
    )
