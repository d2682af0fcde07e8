"""Validate a corruption plan before spending compute on it.

Each spec must (1) compile against the registry (names, parameters, ranges); on sample images from
the user's own data its mean SSIM (Wang et al. 2004) must (2) fall monotonically over severities
1..5, (3) already differ from the clean image at severity 1 (not an identity) and (4) not destroy
the image at severity 5; and, when a model is at hand, (5) a mild corruption must preserve the
label: predictions at the lowest severity agree with the clean predictions on most samples.
Thresholds are configurable because what counts as "destroyed" differs between domains.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from robustlens.corruptions.compiler import compile_spec
from robustlens.corruptions.quality import ssim
from robustlens.corruptions.seeding import corruption_seed
from robustlens.data.images import BadImage, load_image
from robustlens.data.sources import ImageSet
from robustlens.errors import UserInputError
from robustlens.schemas import Check, CorruptionPlan, CorruptionSpec, ValidationReport

# (clean images, corrupted images) -> share of images whose prediction is unchanged
LabelCheck = Callable[[Sequence[np.ndarray], Sequence[np.ndarray]], float]


@dataclass(frozen=True)
class Thresholds:
    identity_ssim: float = 0.995  # severity 1 must score below this (else it changes nothing)
    destroyed_ssim: float = 0.05  # severity 5 must score above this (else nothing is left)
    monotone_tolerance: float = 0.01  # allowed SSIM rise between consecutive severities
    label_agreement: float = 0.7  # share of predictions kept at the mildest severity
    label_severity: float = 1.0


def sample_images(images: ImageSet, n: int = 6, seed: int = 0, max_side: int = 512) -> list[np.ndarray]:
    """A seeded handful of readable images, downsized for speed (validation is about the effect)."""
    import cv2

    rng = np.random.default_rng(seed)
    order = rng.permutation(len(images.items))
    out: list[np.ndarray] = []
    for i in order:
        try:
            image = load_image(images.items[int(i)].path, mode="rgb")
        except BadImage:
            continue
        scale = max_side / max(image.shape[:2])
        if scale < 1:
            image = cv2.resize(
                image,
                (round(image.shape[1] * scale), round(image.shape[0] * scale)),
                interpolation=cv2.INTER_AREA,
            )
        out.append(image)
        if len(out) == n:
            break
    return out


def ssim_ladder(
    spec: CorruptionSpec, samples: Sequence[np.ndarray], severities: Sequence[float], seed: int = 0
) -> dict[str, float]:
    corruption = compile_spec(spec)
    return {
        f"{s:g}": round(
            float(
                np.mean(
                    [
                        ssim(im, corruption(im, s, corruption_seed(seed, f"sample{i}", spec.name, s)))
                        for i, im in enumerate(samples)
                    ]
                )
            ),
            4,
        )
        for s in severities
    }


def validate_spec(
    spec: CorruptionSpec,
    samples: Sequence[np.ndarray],
    thresholds: Thresholds = Thresholds(),
    seed: int = 0,
    label_check: LabelCheck | None = None,
) -> ValidationReport:
    checks: list[Check] = []
    try:
        corruption = compile_spec(spec, where=spec.name)
    except UserInputError as exc:
        return ValidationReport(
            spec_name=spec.name, ok=False, checks=[Check(name="schema", passed=False, detail=exc.message())]
        )
    checks.append(Check(name="schema", passed=True, detail="compiles: names, parameters and ranges valid"))
    ladder = ssim_ladder(spec, samples, [1, 2, 3, 4, 5], seed) if samples else {}
    if ladder:
        values = list(ladder.values())
        rises = [round(b - a, 4) for a, b in pairwise(values) if b - a > thresholds.monotone_tolerance]
        checks.append(
            Check(
                name="monotone",
                passed=not rises,
                detail=f"mean SSIM over severities 1..5: {values}" + (f"; rises {rises}" if rises else ""),
            )
        )
        checks.append(
            Check(
                name="not_identity",
                passed=values[0] < thresholds.identity_ssim,
                detail=f"SSIM at severity 1 = {values[0]} (must be < {thresholds.identity_ssim})",
            )
        )
        checks.append(
            Check(
                name="not_destroyed",
                passed=values[-1] > thresholds.destroyed_ssim,
                detail=f"SSIM at severity 5 = {values[-1]} (must be > {thresholds.destroyed_ssim})",
            )
        )
    if label_check is not None and samples:
        sev = thresholds.label_severity
        corrupted = [
            corruption(im, sev, corruption_seed(seed, f"sample{i}", spec.name, sev))
            for i, im in enumerate(samples)
        ]
        agreement = float(label_check(samples, corrupted))
        # Advisory: a fragile model also flips labels under a mild corruption, and that fragility is what
        # the audit is for; the check flags corruptions that may change what the image shows.
        checks.append(
            Check(
                name="label_preserved",
                passed=agreement >= thresholds.label_agreement,
                advisory=True,
                detail=f"{agreement:.0%} of predictions unchanged at severity {sev:g} "
                f"(advisory: expected >= {thresholds.label_agreement:.0%})",
            )
        )
    ok = all(c.passed for c in checks if not c.advisory)
    return ValidationReport(spec_name=spec.name, ok=ok, ssim_by_severity=ladder, checks=checks)


def validate_plan(
    plan: CorruptionPlan,
    samples: Sequence[np.ndarray],
    thresholds: Thresholds = Thresholds(),
    label_check: LabelCheck | None = None,
) -> list[ValidationReport]:
    return [validate_spec(s, samples, thresholds, plan.seed, label_check) for s in plan.specs]


def model_label_check(model_id: str, class_names: Sequence[str], checkpoint: str | None = None) -> LabelCheck:
    """Prediction agreement with a real model (zero-shot over the class names)."""
    import torch

    from robustlens.evaluation.zeroshot import DEFAULT_TEMPLATES, class_embeddings, prompts
    from robustlens.models import load_model

    model = load_model(model_id, checkpoint=checkpoint)

    def embed(images: Sequence[np.ndarray]) -> np.ndarray:
        pixels = torch.stack([model.image_transform(np.ascontiguousarray(im)) for im in images])
        return model.encode_images(pixels)

    if model.image_only:  # no text tower: agreement = each corrupted image's nearest clean sample is itself

        def same_image(clean: Sequence[np.ndarray], corrupted: Sequence[np.ndarray]) -> float:
            return float(np.mean((embed(corrupted) @ embed(clean).T).argmax(axis=1) == np.arange(len(clean))))

        return same_image
    text = class_embeddings(model.encode_texts(prompts(class_names, DEFAULT_TEMPLATES)), len(class_names))

    def predict(images: Sequence[np.ndarray]) -> np.ndarray:
        return (embed(images) @ text.T).argmax(axis=1)

    def check(clean: Sequence[np.ndarray], corrupted: Sequence[np.ndarray]) -> float:
        return float(np.mean(predict(clean) == predict(corrupted)))

    return check
