"""Light family, part 1: global exposure, contrast and colour changes of the whole frame.

``brightness``, ``contrast`` and ``saturate`` follow ImageNet-C (Hendrycks & Dietterich, ICLR 2019);
``overexposure``, ``underexposure`` and ``white_balance`` model camera exposure and white-balance
errors in linear light (sRGB approximated by a 2.2 power law). None of these moves or sizes
anything, so nothing here is rescaled with resolution. Spatially varying illumination (night,
vignetting, glare) lives in ``illumination.py``.
"""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np
from pydantic import Field

from robustlens.corruptions.base import IMAGENET_C, Context, Primitive, register
from robustlens.corruptions.ops import to_float

GAMMA = 2.2
_ZERO, _ONE = np.float32(0.0), np.float32(1.0)
_TINY = np.float32(1e-30)  # a normal float32: log() of it is finite
_LINEAR_LUT = ((np.arange(256, dtype=np.float64) / 255.0) ** GAMMA).astype(np.float32).reshape(1, 256)
# CIE XYZ -> linear sRGB (D65), IEC 61966-2-1.
_XYZ_TO_RGB = np.array(
    [[3.2406, -1.5372, -0.4986], [-0.9689, 1.8758, 0.0415], [0.0557, -0.2040, 1.0570]], dtype=np.float64
)


def to_linear(image: np.ndarray) -> np.ndarray:
    """uint8 sRGB -> float32 linear light in [0, 1] (2.2 power law, via a lookup table)."""
    return cv2.LUT(image, _LINEAR_LUT)


def fast_uint8(x: np.ndarray) -> np.ndarray:
    """float32 in [0, 1] -> uint8, rounded and saturated (OpenCV; several times faster than numpy)."""
    return cv2.convertScaleAbs(np.maximum(x, _ZERO), alpha=255.0)


def power(x: np.ndarray, exponent: float) -> np.ndarray:
    """clip(x, 0, 1) ** exponent for float32 x (cv2.pow is ~6x faster than np.power).

    The floor is ``_TINY`` instead of 0: ``cv2.pow`` takes a slow path for every exact zero
    (5x slower on an image with 10 % black pixels), and ``1e-30 ** e`` is 0 at 8 bits for any
    exponent above 0.1.
    """
    return cv2.pow(np.clip(x, _TINY, _ONE), float(exponent))


def from_linear(linear: np.ndarray) -> np.ndarray:
    """float32 linear light -> uint8 sRGB (clipped)."""
    return fast_uint8(power(linear, 1.0 / GAMMA))


def _hsv_channel(image: np.ndarray, channel: int, scale: float, offset: float) -> np.ndarray:
    """Scale and shift one HSV channel (1 = saturation, 2 = value) of a uint8 RGB image."""
    hsv = cv2.cvtColor(to_float(image), cv2.COLOR_RGB2HSV)
    hsv[:, :, channel] = np.clip(hsv[:, :, channel] * np.float32(scale) + np.float32(offset), 0.0, 1.0)
    return fast_uint8(cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB))


@register(
    "brightness",
    "light",
    ladder={"shift": (0.1, 0.2, 0.3, 0.4, 0.5)},
    identity={"shift": 0.0},
    stochastic=False,
    tags=IMAGENET_C,
    backend="opencv",
    fidelity=("exact", "ImageNet-C's HSV value shifts .1 .. .5."),
)
class Brightness(Primitive):
    """Brighter scene: strong ambient light lifts every pixel's HSV value (ImageNet-C brightness).

    ``shift`` is added to the HSV value channel, as in ImageNet-C (levels .1, .2, .3, .4, .5).

    ImageNet-C fidelity: exact (float32 OpenCV HSV instead of scikit-image's float64).
    """

    shift: float = Field(0.3, ge=0.0, le=1.0, description="increase of HSV value, fraction of full scale")

    def apply(self, image: np.ndarray, ctx: Context) -> np.ndarray:
        return _hsv_channel(image, 2, 1.0, self.shift)


@register(
    "contrast",
    "light",
    ladder={"reduction": (0.6, 0.7, 0.8, 0.9, 0.95)},
    identity={"reduction": 0.0},
    stochastic=False,
    tags=IMAGENET_C,
    backend="opencv",
    fidelity=("exact", "ImageNet-C's contrast factors .4 .. .05 about the per-channel mean."),
)
class Contrast(Primitive):
    """Reduced contrast: haze, dull light or a flat camera profile pull colours toward the mean.

    Each channel is compressed toward its image mean by ``1 - reduction``; ImageNet-C's contrast
    factors .4, .3, .2, .1, .05 are reductions .6, .7, .8, .9, .95.

    ImageNet-C fidelity: exact.
    """

    reduction: float = Field(0.8, ge=0.0, le=1.0, description="fraction of contrast removed (1 = flat image)")

    def apply(self, image: np.ndarray, ctx: Context) -> np.ndarray:
        f = 1.0 - self.reduction
        mean = cv2.mean(image)[:3]
        # One affine colour transform per pixel: f * x + (1 - f) * mean, rounded and saturated.
        m = np.array([[f if i == j else 0.0 for j in range(3)] + [(1.0 - f) * mean[i]] for i in range(3)])
        return cv2.transform(image, m)


@register(
    "saturate",
    "light",
    ladder={"gain": (1.5, 2.0, 3.5, 5.0, 10.0), "offset": (0.0, 0.0, 0.05, 0.1, 0.2)},
    identity={"gain": 1.0, "offset": 0.0},
    stochastic=False,
    tags=IMAGENET_C,
    backend="opencv",
    fidelity=(
        "different",
        "a monotone ladder in one direction; ImageNet-C desaturates at 1-2, then saturates.",
    ),
)
class Saturate(Primitive):
    """Wrong colour saturation: over-vivid camera or display profile, or washed-out faded colour.

    ImageNet-C multiplies HSV saturation by .3, .1 (desaturation) then 2, 5, 20 with offsets 0, .1,
    .2 (over-saturation). Its ladder is not monotone, so here one ``mode`` is chosen and ``gain``
    grows with severity: ``over`` multiplies saturation by ``gain`` and adds ``offset`` (ImageNet-C's
    upper levels), ``under`` divides it by ``gain`` (gain 10 is ImageNet-C's .1).

    ImageNet-C fidelity: different, deliberately (a severity must mean one direction of error).
    """

    gain: float = Field(3.5, ge=1.0, le=30.0, description="saturation multiplier (over) or divisor (under)")
    offset: float = Field(0.05, ge=0.0, le=0.5, description="saturation added in 'over' mode (tints greys)")
    mode: Literal["over", "under"] = Field("over", description="over-saturation or desaturation")

    def apply(self, image: np.ndarray, ctx: Context) -> np.ndarray:
        if self.mode == "under":
            return _hsv_channel(image, 1, 1.0 / self.gain, 0.0)
        return _hsv_channel(image, 1, self.gain, self.offset)


@register(
    "overexposure",
    "light",
    ladder={"stops": (0.5, 1.0, 1.5, 2.0, 2.75)},
    identity={"stops": 0.0},
    stochastic=False,
    backend="opencv",
)
class Overexposure(Primitive):
    """Overexposed photo: too long an exposure clips the highlights and washes out the colours.

    Linear light is multiplied by ``2 ** stops`` and clipped at the sensor's full well; once one
    channel clips, the others keep rising toward white, so bright areas lose hue and detail.
    Optional ``flare`` adds stray light that lifts the blacks (a washed-out look).
    """

    stops: float = Field(1.5, ge=0.0, le=6.0, description="exposure error in EV stops (brighter)")
    flare: float = Field(0.005, ge=0.0, le=0.2, description="stray light per stop, fraction of full scale")

    def apply(self, image: np.ndarray, ctx: Context) -> np.ndarray:
        lin = to_linear(image) * np.float32(2.0**self.stops)
        lin += np.float32(self.flare * self.stops)
        return from_linear(lin)


@register(
    "underexposure",
    "light",
    ladder={"stops": (0.5, 1.0, 1.5, 2.0, 2.5), "crush": (0.02, 0.04, 0.06, 0.08, 0.1)},
    identity={"stops": 0.0, "crush": 0.0},
    stochastic=False,
    backend="opencv",
)
class Underexposure(Primitive):
    """Underexposed photo: too short an exposure darkens the frame and crushes the shadows to black.

    Linear light is divided by ``2 ** stops``; then the tone curve's black point ``crush`` (in
    sRGB) maps every darker value to pure black, which erases shadow detail.
    """

    stops: float = Field(1.5, ge=0.0, le=6.0, description="exposure error in EV stops (darker)")
    crush: float = Field(0.06, ge=0.0, le=0.5, description="black point in sRGB: darker values become black")

    def apply(self, image: np.ndarray, ctx: Context) -> np.ndarray:
        lin = to_linear(image) * np.float32(2.0**-self.stops)
        y = power(lin, 1.0 / GAMMA)
        y = (y - np.float32(self.crush)) * np.float32(1.0 / (1.0 - self.crush))
        return fast_uint8(y)


def planckian_xy(kelvin: float) -> tuple[float, float]:
    """CIE 1931 chromaticity of a black body (Kim et al. cubic-spline fit, 1667..25000 K)."""
    t = float(np.clip(kelvin, 1667.0, 25000.0))
    if t <= 4000:
        x = -0.2661239e9 / t**3 - 0.2343589e6 / t**2 + 0.8776956e3 / t + 0.179910
    else:
        x = -3.0258469e9 / t**3 + 2.1070379e6 / t**2 + 0.2226347e3 / t + 0.240390
    if t <= 2222:
        y = -1.1063814 * x**3 - 1.34811020 * x**2 + 2.18555832 * x - 0.20219683
    elif t <= 4000:
        y = -0.9549476 * x**3 - 1.37418593 * x**2 + 2.09137015 * x - 0.16748867
    else:
        y = 3.0817580 * x**3 - 5.87338670 * x**2 + 3.75112997 * x - 0.37001483
    return x, y


def planckian_rgb(kelvin: float) -> np.ndarray:
    """Linear sRGB of a black body of unit luminance."""
    x, y = planckian_xy(kelvin)
    xyz = np.array([x / y, 1.0, (1.0 - x - y) / y])
    return _XYZ_TO_RGB @ xyz


@register(
    "white_balance",
    "light",
    ladder={"mired_shift": (60.0, 90.0, 130.0, 180.0, 250.0)},
    identity={"mired_shift": 0.0},
    backend="opencv",
)
class WhiteBalance(Primitive):
    """Wrong colour temperature: a warm (tungsten) or cool (shade, blue hour) cast on the whole frame.

    The scene illuminant and the white-balance setting differ by ``mired_shift`` mired
    (1e6 / kelvin) along the Planckian locus (Kim et al. 2002 fit): a warm cast lights a scene
    balanced for ``reference_k`` with a black body that much warmer; a cool cast is the reverse
    (a tungsten setting in daylight). The channel gains act in linear light. ``compensation``
    says how much exposure is re-metered: 0 keeps every gain <= 1, as a colour-conversion filter
    or tinted glass in front of a locked exposure does (Wratten 85B, +131 mired, costs 2/3 stop;
    80A, -131 mired, 2 stops), 1 fixes green like in-camera white-balance multipliers. 250 mired
    is a daylight setting under ~2500 K incandescent light. ``tint`` adds a random green-magenta
    error (fluorescent and LED light lie off the locus).
    """

    mired_shift: float = Field(130.0, ge=0.0, le=400.0, description="colour-temperature error in mired")
    cast: Literal["warm", "cool", "random"] = Field("random", description="direction of the error")
    reference_k: float = Field(6500.0, ge=2500.0, le=10000.0, description="white-balance setting in kelvin")
    compensation: float = Field(0.0, ge=0.0, le=1.0, description="0: filter (gains <= 1), 1: green fixed")
    tint: float = Field(0.05, ge=0.0, le=0.5, description="max random green gain error per 100 mired")

    def apply(self, image: np.ndarray, ctx: Context) -> np.ndarray:
        cast = self.cast if self.cast != "random" else ("warm", "cool")[int(ctx.rng.integers(0, 2))]
        tint = float(ctx.rng.uniform(-1.0, 1.0)) * self.tint * self.mired_shift / 100.0
        ref_mired = 1e6 / self.reference_k
        ref = planckian_rgb(self.reference_k)
        shifted = planckian_rgb(1e6 / (ref_mired + self.mired_shift))
        gains = shifted / ref if cast == "warm" else ref / shifted
        gains = np.maximum(gains, 1e-3) * np.array([1.0, 1.0 + tint, 1.0])
        gains /= gains.max() ** (1.0 - self.compensation) * gains[1] ** self.compensation
        return from_linear(to_linear(image) * gains.astype(np.float32))
