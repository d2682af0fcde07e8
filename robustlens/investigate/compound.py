"""Compound conditions: realistic chains of the brief's conditions, evaluated as one spec.

In the field, conditions come together in the order the imaging chain applies them: the scene and its
light, then motion and optics, then the sensor's noise, then the codec (the ordering of physically
based simulators such as Hendrycks & Dietterich 2019's ImageNet-C discussion of compounding, and the
camera pipeline of Brooks et al. 2019, "Unprocessing images for learned raw denoising"). A chain is
built only from specs the plan already holds (so each part was named or implied by the brief), as one
``CorruptionSpec`` whose recipe runs the parts' primitives in chain order on one severity knob.

``compare_compound`` asks two questions with paired per-image bootstrap intervals: is the chain's drop
worse than its worst part's, and worse than the parts' drops added (super-additive)? Each answer is
None when the interval of the difference contains 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from robustlens.corruptions.base import REGISTRY
from robustlens.investigate.cells import mean_interval
from robustlens.investigate.records import CompoundResult
from robustlens.schemas import CorruptionPlan, CorruptionSpec, DomainBrief, MetricValue

ROLE_OF: dict[str, str] = {
    **dict.fromkeys(["fog", "haze", "cloud_cover", "snow", "rain", "frost", "spatter", "dust"], "scene"),
    **dict.fromkeys(
        [
            "brightness",
            "contrast",
            "overexposure",
            "underexposure",
            "low_light",
            "vignetting",
            "glare",
            "uneven_illumination",
            "white_balance",
            "shadow",
            "sun_flare",
        ],
        "light",
    ),
    **dict.fromkeys(["motion_blur", "vibration_blur", "zoom_blur", "rolling_shutter"], "motion"),
    **dict.fromkeys(
        ["defocus_blur", "gaussian_blur", "glass_blur", "dirty_lens", "water_droplets"], "optics"
    ),
    **dict.fromkeys(
        ["gaussian_noise", "shot_noise", "speckle_noise", "impulse_noise", "iso_noise"], "sensor"
    ),
    **dict.fromkeys(["jpeg", "webp", "downscale", "pixelate", "bit_depth"], "digital"),
}
ORDER = ("scene", "light", "motion", "optics", "sensor", "digital")
# (roles in chain order, what the chain stands for)
TEMPLATES: tuple[tuple[tuple[str, ...], str], ...] = (
    (
        ("light", "sensor", "digital"),
        "low light raises sensor gain and noise, which the codec then compresses",
    ),
    (
        ("motion", "digital"),
        "motion blur from a moving camera or part, then compression of the blurred frame",
    ),
    (("scene", "light"), "the scene's haze or dust and poor light at the same time"),
    (("optics", "digital"), "an out-of-focus frame compressed before the model sees it"),
    (("light", "optics"), "poor light and focus drift together"),
    (("motion", "sensor"), "motion blur and sensor noise from the same short, high-gain exposure"),
)


def role(spec: CorruptionSpec) -> str | None:
    """The imaging-chain stage of a single-primitive spec (None for chains and unknown primitives)."""
    if len(spec.recipe) != 1 or spec.recipe[0].name not in REGISTRY:
        return None
    return ROLE_OF.get(spec.recipe[0].name)


def compound_specs(
    plan: CorruptionPlan, brief: DomainBrief | None = None, limit: int = 2
) -> list[CorruptionSpec]:
    """Chains implied by conditions co-occurring in the plan (and so in the brief), at most ``limit``."""
    by_role: dict[str, CorruptionSpec] = {}
    for spec in plan.specs:
        r = role(spec)
        if r is not None and r not in by_role:
            by_role[r] = spec
    named = ", ".join(f"'{c}'" for c in (brief.deployment_conditions if brief else [])[:6])
    out: list[CorruptionSpec] = []
    for roles, meaning in TEMPLATES:
        if len(out) >= limit or not all(r in by_role for r in roles):
            continue
        parts = [by_role[r] for r in sorted(roles, key=ORDER.index)]
        name = ("chain-" + "-".join(p.name for p in parts))[:64].rstrip("-_")
        if name in {s.name for s in plan.specs} | {s.name for s in out}:
            continue
        why = (
            f"Tested {' + '.join(p.name for p in parts)} together because the deployment has all of them"
            + (f" (brief: {named})" if named else "")
            + f": {meaning}."
        )
        recipe = [call for p in parts for call in p.recipe]
        out.append(CorruptionSpec(name=name, rationale=why, recipe=recipe, source="agent"))
    return out


def parts_of(chain: CorruptionSpec, plan: CorruptionPlan) -> list[str]:
    """The plan specs a chain was built from, in chain order."""
    parts = [s for s in plan.specs if len(s.recipe) == 1 and s.recipe[0] in chain.recipe]
    return [s.name for s in sorted(parts, key=lambda s: chain.recipe.index(s.recipe[0]))]


def _call(values: np.ndarray, n_boot: int, seed: int) -> tuple[MetricValue, bool | None]:
    mv = mean_interval(values, n_boot=n_boot, seed=seed)
    if mv.ci_low is None or mv.ci_high is None:
        return mv, None
    return mv, (True if mv.ci_low > 0 else False if mv.ci_high < 0 else None)


def compare_compound(
    model_id: str,
    chain: CorruptionSpec,
    severity: float,
    metric: str,
    chain_values: np.ndarray,
    part_values: Mapping[str, np.ndarray],
    n_boot: int = 1000,
    seed: int = 0,
) -> CompoundResult:
    """The chain vs its parts at one severity, from per-image metric values on the same images."""
    drop = mean_interval(chain_values, n_boot=n_boot, seed=seed)
    drops = {p: mean_interval(v, n_boot=n_boot, seed=seed) for p, v in part_values.items()}
    worst = max(drops, key=lambda p: drops[p].value) if drops else None
    vs_worst = _call(chain_values - part_values[worst], n_boot, seed)[1] if worst else None
    vs_sum = _call(chain_values - sum(part_values.values()), n_boot, seed)[1] if drops else None
    return CompoundResult(
        model_id=model_id,
        corruption=chain.name,
        parts=list(part_values),
        severity=severity,
        metric=metric,
        drop=drop,
        part_drops=drops,
        worse_than_worst_part=vs_worst,
        worse_than_sum=vs_sum,
        why=chain.rationale,
    )


def describe(c: CompoundResult) -> str:
    """One sentence for the log."""
    worst = {True: "worse than", False: "milder than", None: "not distinguishable from"}[
        c.worse_than_worst_part
    ]
    added = {True: "more than", False: "less than", None: "about"}[c.worse_than_sum]
    return (
        f"{c.model_id}: {c.corruption} at severity {c.severity:g} drops {c.metric} by {c.drop.value:.3f}, "
        f"{worst} its worst part and {added} the parts' drops added."
    )


def chain_of(plan: CorruptionPlan, parts: Sequence[str], why: str) -> CorruptionSpec:
    """A chain of named plan specs (an LLM's choice), its recipe in imaging-chain order.

    ``ValueError`` when a part is not a single-primitive spec of the plan."""
    specs = []
    for name in dict.fromkeys(parts):
        spec = next((s for s in plan.specs if s.name == name), None)
        if spec is None or len(spec.recipe) != 1:
            known = ", ".join(s.name for s in plan.specs if len(s.recipe) == 1)
            raise ValueError(f"{name!r} is not a single-primitive spec of the plan; use one of: {known}")
        specs.append(spec)
    if len(specs) < 2:
        raise ValueError("a chain needs at least two different specs")
    specs.sort(key=lambda s: ORDER.index(role(s)) if role(s) else len(ORDER))
    name = ("chain-" + "-".join(s.name for s in specs))[:64].rstrip("-_")
    recipe = [c for s in specs for c in s.recipe]
    return CorruptionSpec(name=name, rationale=why, recipe=recipe, source="agent")
