"""Light family, part 2: scene and lens illumination that varies over the frame or with light level.

Night and dusk capture (darkening plus photon-limited sensor noise), lens vignetting and glare
from bright sources. Work is done in linear light (2.2 power law, as in ``light.py``); glare
radii are given at the 224 px reference and scaled with ``ctx.px``.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np
from pydantic import Field

from robustlens.corruptions.base import Context, Primitive, register
from robustlens.corruptions.ops import grain_noise
from robustlens.corruptions.primitives.light import GAMMA, fast_uint8, from_linear, power, to_linear

_LINEAR = to_linear(np.arange(256, dtype=np.uint8).reshape(1, 256)).astype(np.float64)


@register(
    "low_light",
    "light",
    ladder={"light": (0.5, 0.25, 0.12, 0.06, 0.03)},
    identity={"light": 1.0},
    backend="opencv",
)
class LowLight(Primitive):
    """Dusk or night capture: a darker scene whose photon-starved pixels grow noisier as light falls.

    Scene light is scaled by ``light``; the sensor collects ``light * full_well`` electrons at
    white, so shot noise (Poisson, Gaussian approximation) and ``read_noise`` grow relative to
    the signal as light falls. The camera's auto gain restores ``gain_compensation`` of the lost
    exposure (on a log scale), amplifying that noise, and the tone curve deepens the shadows by
    an extra gamma of ``1 + shadow_gamma * (1 - light)``.
    """

    light: float = Field(0.12, ge=0.001, le=1.0, description="fraction of normal scene illumination")
    full_well: float = Field(1500.0, ge=50.0, le=1e5, description="electrons at white in normal light")
    read_noise: float = Field(3.0, ge=0.0, le=50.0, description="read noise std in electrons")
    gain_compensation: float = Field(0.5, ge=0.0, le=1.0, description="fraction of lost stops restored")
    shadow_gamma: float = Field(0.5, ge=0.0, le=3.0, description="extra tone-curve gamma at zero light")

    def apply(self, image: np.ndarray, ctx: Context) -> np.ndarray:
        # Per-value lookup tables (camera gain folded in): mean signal and its noise std.
        electrons = _LINEAR[0] * (self.light * self.full_well)
        gain = self.light ** (1.0 - self.gain_compensation) / (self.light * self.full_well)
        mean_lut = (electrons * gain).astype(np.float32).reshape(1, 256)
        std_lut = (np.sqrt(electrons + self.read_noise**2) * gain).astype(np.float32).reshape(1, 256)
        noisy = grain_noise(image.shape, ctx)
        noisy *= cv2.LUT(image, std_lut)
        noisy += cv2.LUT(image, mean_lut)
        exponent = (1.0 + self.shadow_gamma * (1.0 - self.light)) / GAMMA
        return fast_uint8(power(noisy, exponent))


def _radius(h: int, w: int, cx: float, cy: float) -> np.ndarray:
    """Distance of every pixel centre from (cx, cy), in pixels, as float32."""
    ys = (np.arange(h, dtype=np.float32) - np.float32(cy))[:, None]
    xs = (np.arange(w, dtype=np.float32) - np.float32(cx))[None, :]
    return np.sqrt(ys * ys + xs * xs)


@register(
    "vignetting",
    "light",
    ladder={"strength": (0.4, 0.55, 0.68, 0.78, 0.86)},
    identity={"strength": 0.0},
    stochastic=False,
    backend="opencv",
)
class Vignetting(Primitive):
    """Lens vignetting: the radial light falloff toward the corners of cheap or wide-angle lenses.

    Natural vignetting follows the cos^4 law, ``1 / (1 + (r / f)^2)^2``; the focal scale f is
    solved so the corners lose ``strength`` of their light (r in half-diagonals, so the look is
    resolution independent). Applied in linear light.
    """

    strength: float = Field(0.55, ge=0.0, le=0.98, description="fraction of light lost in the corners")

    def apply(self, image: np.ndarray, ctx: Context) -> np.ndarray:
        h, w = image.shape[:2]
        r = _radius(h, w, (w - 1) / 2, (h - 1) / 2) * np.float32(2.0 / np.hypot(h, w))
        k = np.float32((1.0 - self.strength) ** -0.5 - 1.0)
        falloff = 1.0 / np.square(1.0 + k * r * r)
        return from_linear(to_linear(image) * falloff[:, :, None])


@register(
    "glare",
    "light",
    ladder={"strength": (0.15, 0.3, 0.45, 0.65, 0.9)},
    identity={"strength": 0.0},
    backend="opencv",
)
class Glare(Primitive):
    """Headlight or specular glare: a bright bloom with streaks around a light source plus veiling glare.

    A source at a random position adds a glare spread function (Gaussian core of ``radius`` px
    plus a heavy ``1 / (1 + (d / 2r)^2)`` tail, modulated by a few diffraction streaks) and a
    uniform veil of scattered light that lowers contrast everywhere (Vos & van den Berg's
    glare model in spirit). ``strength`` sets the peak bloom; the veil is ``veil * strength``.
    """

    strength: float = Field(0.45, ge=0.0, le=3.0, description="bloom intensity, fraction of full scale")
    radius: float = Field(18.0, ge=1.0, le=200.0, description="bloom core radius in px at 224 px")
    veil: float = Field(0.25, ge=0.0, le=1.0, description="veiling glare per unit strength")
    streaks: int = Field(6, ge=0, le=16, multiple_of=2, description="number of diffraction streaks (even)")

    def apply(self, image: np.ndarray, ctx: Context) -> np.ndarray:
        h, w = image.shape[:2]
        rng = ctx.rng
        cx, cy = rng.uniform(0.15, 0.85) * w, rng.uniform(0.15, 0.7) * h
        colour = np.array([1.0, rng.uniform(0.88, 1.0), rng.uniform(0.7, 0.95)], np.float32)
        phase = rng.uniform(0, 2 * np.pi)
        r0 = ctx.px(self.radius, minimum=1.0)
        d = _radius(h, w, cx, cy) * np.float32(1.0 / r0)
        tail = 0.6 / (1.0 + 0.25 * d * d)
        if self.streaks:
            theta = np.arctan2(
                (np.arange(h, dtype=np.float32) - np.float32(cy))[:, None],
                (np.arange(w, dtype=np.float32) - np.float32(cx))[None, :],
            )
            streak = np.cos(np.float32(self.streaks / 2) * theta + np.float32(phase))
            for _ in range(4):  # |cos| ** 16 by squaring: ~5x faster than np.power
                streak *= streak
            tail *= 0.6 + 1.2 * streak
        bloom = (np.exp(-d * d) + tail) * np.float32(self.strength)
        veil = min(0.95, self.veil * self.strength)
        # the veil folded into the sRGB -> linear table; the bloom's colour spread over the channels
        # by a diagonal colour transform (fast passes, where numpy's broadcasting over 3 is slow)
        lin = cv2.LUT(image, _veiled_linear(round(veil, 6)))
        lin += cv2.transform(cv2.cvtColor(bloom, cv2.COLOR_GRAY2RGB), np.diag(colour))
        return from_linear(lin)


@lru_cache(maxsize=64)
def _veiled_linear(veil: float) -> np.ndarray:
    """``to_linear`` table times ``1 - veil`` plus ``0.8 veil`` of veiling glare."""
    table = _LINEAR.astype(np.float32) * np.float32(1.0 - veil) + np.float32(veil) * np.float32(0.8)
    table.flags.writeable = False
    return table
