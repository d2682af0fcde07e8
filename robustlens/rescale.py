"""Rescale a spec's severity ladder to the user's images before replacing the spec.

A spec can fail validation only because its ladder is out of scale for the user's images: on smooth
photo-sized JPEGs a mild ``dirty_lens`` scores SSIM (Wang et al. 2004) 0.996 at severity 1 (no
change), a heavy fog leaves nothing at severity 5, or a ladder's parameters are out of order. The
condition the user named is still the right one; only its scale is wrong. Replacing it by another
primitive would silently drop that condition, so this stage first tries the *same* spec with its
ladder rescaled, on the same sample images and with exactly the same checks (``validate_spec``):

* too mild at severity 1: severities 1..4 move toward severity 5 (each ladder parameter is
  interpolated between its s1 and s5 values); s5 is kept, so the critic's severity-5 bound holds;
* destroyed at severity 5: the whole ladder is pulled toward the identity until SSIM at 5 is above
  the threshold with a margin;
* not monotone: each ladder parameter is sorted by its distance from the identity (a reversed
  ladder); when the sorted ladder then fails at one end, the matching step above follows.

The steps are a fixed, short list (no random search, at most 5 SSIM ladders on the few sample images
validation already uses, fewer when a step passes); a step that leaves the ladder unchanged (a flat
ladder cannot be stretched, a sorted one cannot be sorted) is skipped without evaluating it. A spec
the critic rejected is not rescaled: its problem is realism, not scale.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from robustlens.corruptions.compiler import get_info
from robustlens.errors import UserInputError
from robustlens.schemas import CorruptionSpec, PrimitiveCall, ValidationReport
from robustlens.validation import LabelCheck, Thresholds, validate_spec

#: how far severities 1..4 move toward severity 5 (share of the s1..s5 gap), tried in order
TOWARD_S5 = (0.5, 0.75, 0.9)
#: how much of the ladder (distance from the identity) is kept when severity 5 destroys the image
KEEP_SHARE = (0.7, 0.5, 0.35, 0.2)
#: SSIM at severity 5 must clear ``destroyed_ssim`` by this much after a pull-back
DESTROYED_MARGIN = 0.03
RESCALABLE = frozenset({"monotone", "not_identity", "not_destroyed"})


def _ladders(call: PrimitiveCall) -> tuple[dict[str, float], dict[str, list[float]]]:
    """The identity value and the full 1..5 ladder (override or registry default) of each parameter."""
    info = get_info(call.name, call.name)
    identity = {p: float(info.identity[p]) for p in info.ladder}
    return identity, {p: info.ladder_values(p, call.ladder.get(p))[1:] for p in info.ladder}


def _map_ladders(spec: CorruptionSpec, how: str, t: float) -> CorruptionSpec | None:
    """The spec with every ladder mapped by step ``how``; None when that changes nothing."""
    recipe, changed = [], False
    for call in spec.recipe:
        identity, ladders = _ladders(call)
        new: dict[str, list[float]] = {}
        for p, v in ladders.items():
            if how == "toward_s5":
                new[p] = [a + t * (v[-1] - a) for a in v[:-1]] + [v[-1]]
            elif how == "toward_identity":
                new[p] = [identity[p] + t * (a - identity[p]) for a in v]
            else:  # sort by distance from the identity
                origin = identity[p]
                new[p] = sorted(v, key=lambda a: abs(a - origin))
            new[p] = [round(a, 6) for a in new[p]]
            changed = changed or any(abs(a - b) > 1e-9 for a, b in zip(new[p], v, strict=True))
        recipe.append(call.model_copy(update={"ladder": new}))
    return spec.model_copy(update={"recipe": recipe}) if changed else None


def _failed(report: ValidationReport) -> set[str]:
    return {c.name for c in report.checks if not c.passed and not c.advisory}


def _scale_steps(failed: set[str]) -> list[tuple[str, float]]:
    if failed == {"not_identity"}:
        return [("toward_s5", t) for t in TOWARD_S5]
    if failed == {"not_destroyed"}:
        return [("toward_identity", t) for t in KEEP_SHARE]
    return []  # both ends out of scale, or still not monotone: no single stretch fixes it


def _what_changed(how: str, t: float, report: ValidationReport, thresholds: Thresholds) -> str:
    values = list(report.ssim_by_severity.values())
    if how == "toward_s5":
        return (
            f"severity 1 was indistinguishable from clean on your images "
            f"(SSIM {values[0]:.3f} >= {thresholds.identity_ssim}); severities 1-4 moved {t:.0%} toward 5"
        )
    if how == "toward_identity":
        return (
            f"severity 5 destroyed your images (SSIM {values[-1]:.3f} <= "
            f"{thresholds.destroyed_ssim}); the ladder was pulled back to {t:.0%} of its strength"
        )
    return (
        "its SSIM did not fall over severities 1-5 (" + ", ".join(map(str, values)) + "); parameters sorted"
    )


def rescale_spec(
    spec: CorruptionSpec,
    report: ValidationReport,
    samples: Sequence[np.ndarray],
    thresholds: Thresholds = Thresholds(),
    seed: int = 0,
    label_check: LabelCheck | None = None,
) -> tuple[CorruptionSpec, ValidationReport, str] | None:
    """The same spec with a rescaled ladder that passes ``validate_spec``, its report and a note saying
    what changed; None when the failure is not about scale (schema, critic) or no step passes.

    A non-monotone ladder is sorted first; if the sorted ladder is then too mild at 1 or destroys at 5
    (a reversed ladder whose strongest value was hidden at severity 1), the scale steps follow."""
    if not samples or not _failed(report) or not _failed(report) <= RESCALABLE:
        return None
    if report.critic is not None and not report.critic.realistic:
        return None
    base, base_report, changes = spec, report, []
    try:
        if "monotone" in _failed(report):
            ordered = _map_ladders(spec, "sort", 0.0)
            if ordered is None:
                return None
            base_report = validate_spec(ordered, samples, thresholds, seed, label_check)
            base, changes = ordered, [_what_changed("sort", 0.0, report, thresholds)]
        if changes and base_report.ok:
            return _kept(spec, base, base_report, changes)
        for how, t in _scale_steps(_failed(base_report)):
            candidate = _map_ladders(base, how, t)
            if candidate is None:
                break
            result = validate_spec(candidate, samples, thresholds, seed, label_check)
            values = list(result.ssim_by_severity.values())
            if how == "toward_identity" and (
                not values or values[-1] <= thresholds.destroyed_ssim + DESTROYED_MARGIN
            ):
                continue
            if result.ok:
                return _kept(
                    spec, candidate, result, [*changes, _what_changed(how, t, base_report, thresholds)]
                )
    except (UserInputError, KeyError, ValueError):
        return None
    return None


def _kept(
    spec: CorruptionSpec, candidate: CorruptionSpec, result: ValidationReport, changes: list[str]
) -> tuple[CorruptionSpec, ValidationReport, str]:
    note = "ladder rescaled: " + "; then ".join(changes)
    candidate = candidate.model_copy(update={"rationale": f"{spec.rationale} ({note})".strip()})
    return candidate, result.model_copy(update={"spec_name": candidate.name}), note


__all__ = ["rescale_spec"]
