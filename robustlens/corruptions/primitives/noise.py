"""Noise family: the ImageNet-C noise corruptions (Hendrycks & Dietterich, ICLR 2019).

Ladders follow ImageNet-C's parameter lists. By default (``grain='reference'``) the noise is drawn on
the 224 px reference grid, so a severity degrades a 2000 px photo as much as a 224 px crop once the
model has resized it; ``grain='pixel'`` draws per stored pixel, as the sensor does, and then averages
away on large images (a true effect when the deployed camera has more pixels than the model uses).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from robustlens.corruptions.base import IMAGENET_C, Context, Primitive, register
from robustlens.corruptions.ops import grain_noise, to_float, to_uint8


@register(
    "gaussian_noise",
    "noise",
    ladder={"sigma": (0.08, 0.12, 0.18, 0.26, 0.38)},
    identity={"sigma": 0.0},
    tags=IMAGENET_C,
)
class GaussianNoise(Primitive):
    """Additive white Gaussian noise: sensor read noise and thermal noise in poor light."""

    sigma: float = Field(0.18, ge=0.0, le=1.0, description="noise std as a fraction of full scale")
    grain: Literal["reference", "pixel"] = Field(
        "reference", description="noise grain: the 224 px reference grid, or per stored pixel"
    )

    def apply(self, image: np.ndarray, ctx: Context) -> np.ndarray:
        x = to_float(image)
        x += grain_noise(x.shape, ctx, grain=self.grain) * np.float32(self.sigma)
        return to_uint8(x)


@register(
    "shot_noise",
    "noise",
    ladder={"strength": (1 / 60, 1 / 25, 1 / 12, 1 / 5, 1 / 3)},
    identity={"strength": 0.0},
    tags=IMAGENET_C,
)
class ShotNoise(Primitive):
    """Photon (shot) noise: few photons per pixel, as in dim scenes or short exposures.

    ``strength`` is 1 / (photons at full scale): ImageNet-C's 60..3 photons map to 1/60..1/3.
    Poisson counts are drawn with the heteroscedastic Gaussian approximation (variance = mean,
    Foi et al., IEEE TIP 2008), which is 5x faster than exact Poisson sampling and visually
    indistinguishable after 8-bit quantisation.
    """

    strength: float = Field(1 / 12, ge=0.0, le=1.0, description="1 / photon count at full scale")
    grain: Literal["reference", "pixel"] = Field(
        "reference", description="noise grain: the 224 px reference grid, or per stored pixel"
    )

    def apply(self, image: np.ndarray, ctx: Context) -> np.ndarray:
        x = to_float(image)
        std = np.sqrt(x * np.float32(self.strength))
        return to_uint8(x + std * grain_noise(x.shape, ctx, grain=self.grain))


@register(
    "impulse_noise",
    "noise",
    ladder={"amount": (0.03, 0.06, 0.09, 0.17, 0.27)},
    identity={"amount": 0.0},
    tags=IMAGENET_C,
)
class ImpulseNoise(Primitive):
    """Salt-and-pepper impulse noise: bit errors in transmission or faulty sensor read-out."""

    amount: float = Field(0.09, ge=0.0, le=1.0, description="fraction of corrupted samples")
    grain: Literal["reference", "pixel"] = Field(
        "reference", description="noise grain: the 224 px reference grid, or per stored pixel"
    )

    def apply(self, image: np.ndarray, ctx: Context) -> np.ndarray:
        out = image.copy()
        u = grain_noise(image.shape, ctx, "uniform", self.grain)
        half = np.float32(self.amount / 2)
        out[u < half] = 0
        out[(u >= half) & (u < 2 * half)] = 255
        return out


@register(
    "speckle_noise",
    "noise",
    ladder={"sigma": (0.15, 0.2, 0.35, 0.45, 0.6)},
    identity={"sigma": 0.0},
    tags=IMAGENET_C,
)
class SpeckleNoise(Primitive):
    """Multiplicative speckle noise: signal-dependent noise from coherent or analogue sensors."""

    sigma: float = Field(0.35, ge=0.0, le=1.5, description="std of the multiplicative factor")
    grain: Literal["reference", "pixel"] = Field(
        "reference", description="noise grain: the 224 px reference grid, or per stored pixel"
    )

    def apply(self, image: np.ndarray, ctx: Context) -> np.ndarray:
        x = to_float(image)
        x += x * grain_noise(x.shape, ctx, grain=self.grain) * np.float32(self.sigma)
        return to_uint8(x)
