"""Noise family: the ImageNet-C noise corruptions (Hendrycks & Dietterich, ICLR 2019).

Ladders follow ImageNet-C's parameter lists; noise is per pixel (it is a per-photosite
phenomenon), so it is not rescaled with resolution.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from robustlens.corruptions.base import Context, Primitive, register
from robustlens.corruptions.ops import to_float, to_uint8

IMAGENET_C = ("imagenet_c",)


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

    def apply(self, image: np.ndarray, ctx: Context) -> np.ndarray:
        x = to_float(image)
        x += ctx.rng.standard_normal(x.shape, dtype=np.float32) * np.float32(self.sigma)
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

    def apply(self, image: np.ndarray, ctx: Context) -> np.ndarray:
        x = to_float(image)
        std = np.sqrt(x * np.float32(self.strength))
        return to_uint8(x + std * ctx.rng.standard_normal(x.shape, dtype=np.float32))


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

    def apply(self, image: np.ndarray, ctx: Context) -> np.ndarray:
        out = image.copy()
        u = ctx.rng.random(image.shape, dtype=np.float32)
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

    def apply(self, image: np.ndarray, ctx: Context) -> np.ndarray:
        x = to_float(image)
        x += x * ctx.rng.standard_normal(x.shape, dtype=np.float32) * np.float32(self.sigma)
        return to_uint8(x)
