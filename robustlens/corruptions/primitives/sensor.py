"""Optics family, part 2: defects of the image sensor and its read-out.

Dead, hot and stuck pixels, high-ISO colour noise and rolling-shutter skew. Defect and grain
sizes and shear offsets are given at the 224 px reference and scaled with ``ctx.px``; noise
strengths are fractions of full scale and are not scaled. Lens defects live in ``optics.py``.
"""

from __future__ import annotations

import cv2
import numpy as np
from pydantic import Field

from robustlens.corruptions.base import Context, Primitive, register
from robustlens.corruptions.ops import grain_noise, remap, standard_normal, to_float
from robustlens.corruptions.primitives.light import fast_uint8

# x - mean(x) over the three channels, as a colour transform (removes the luminance part)
_NO_LUMA = (np.eye(3) - 1.0 / 3.0).astype(np.float32)


@register(
    "dead_pixels",
    "optics",
    ladder={"density": (0.0006, 0.0015, 0.003, 0.006, 0.012)},
    identity={"density": 0.0},
    backend="numpy",
)
class DeadPixels(Primitive):
    """Defective sensor pixels: dead (black), hot (white) and stuck (one colour) photosites.

    Each sensor site is defective with probability ``density``; a defect is dead, hot or stuck
    on one colour channel, and ``cluster_fraction`` of them spread to a neighbour (the small
    clusters worn or cosmic-ray-damaged sensors show). Positions are fixed by the seed and
    nested across severities, as a given camera's defects are. Sites are ``size`` px at 224,
    so the defective fraction of the frame does not depend on resolution.
    """

    density: float = Field(0.003, ge=0.0, le=0.2, description="fraction of defective sensor sites")
    hot_fraction: float = Field(0.4, ge=0.0, le=1.0, description="fraction of defects that are hot (white)")
    stuck_fraction: float = Field(0.3, ge=0.0, le=1.0, description="fraction stuck on one colour channel")
    cluster_fraction: float = Field(0.25, ge=0.0, le=1.0, description="fraction in 2-site clusters")
    size: float = Field(1.0, ge=0.5, le=10.0, description="sensor site size, px at 224")

    def apply(self, image: np.ndarray, ctx: Context) -> np.ndarray:
        h, w = image.shape[:2]
        block = max(1, round(ctx.px(self.size)))
        gh, gw = -(-h // block), -(-w // block)
        u = ctx.rng.random((4, gh, gw), dtype=np.float32)
        defect = u[0] < np.float32(self.density)
        # Clusters: a defect spreads right or down to its neighbour (by the sign of a draw).
        grow = defect & (u[1] < np.float32(self.cluster_fraction))
        right = grow & (u[2] < 0.5)
        down = grow & ~(u[2] < 0.5)
        kind = u[3]  # reused for both the defect type and, when stuck, the channel
        spread = defect.copy()
        spread[:, 1:] |= right[:, :-1]
        spread[1:, :] |= down[:-1, :]
        kind_spread = kind.copy()
        kind_spread[:, 1:] = np.where(right[:, :-1], kind[:, :-1], kind_spread[:, 1:])
        kind_spread[1:, :] = np.where(down[:-1, :], kind[:-1, :], kind_spread[1:, :])
        if block > 1:
            spread = np.repeat(np.repeat(spread, block, 0), block, 1)[:h, :w]
            kind_spread = np.repeat(np.repeat(kind_spread, block, 0), block, 1)[:h, :w]
        hot_t = np.float32(self.hot_fraction)
        stuck_t = np.float32(min(1.0, self.hot_fraction + self.stuck_fraction))
        out = image.copy()
        out[spread & (kind_spread < hot_t)] = 255
        stuck = spread & (kind_spread >= hot_t) & (kind_spread < stuck_t)
        out[spread & (kind_spread >= stuck_t)] = 0
        if stuck.any():
            # The position of the draw inside the stuck band picks the channel.
            frac = (kind_spread[stuck] - hot_t) / max(float(stuck_t - hot_t), 1e-6)
            channel = np.minimum((frac * 3).astype(np.intp), 2)
            ys, xs = np.nonzero(stuck)
            out[ys, xs, channel] = 255
        return out


@register(
    "iso_noise",
    "optics",
    ladder={"intensity": (0.025, 0.04, 0.06, 0.09, 0.13)},
    identity={"intensity": 0.0},
    backend="opencv",
)
class ISONoise(Primitive):
    """High-ISO sensor noise: grainy luminance noise plus blotchy colour (chroma) noise in dim light.

    Luminance noise is signal dependent (shot noise, std ``intensity * sqrt(x + floor)``).
    Chroma noise is zero-mean per-channel noise ``chroma`` times as strong, correlated over
    ``grain`` px at 224 because demosaicing and in-camera denoising smear it into blotches.
    Own implementation: albumentations' ISONoise adds only positive luminance noise and a hue
    jitter of a fraction of a degree, which does not look like a high-ISO photo.
    """

    intensity: float = Field(0.06, ge=0.0, le=1.0, description="luminance noise std at full scale")
    chroma: float = Field(0.7, ge=0.0, le=3.0, description="chroma noise std relative to luminance")
    grain: float = Field(2.0, ge=1.0, le=16.0, description="chroma blotch size, px at 224")
    floor: float = Field(0.05, ge=0.0, le=1.0, description="signal-independent (read) noise variance term")

    def apply(self, image: np.ndarray, ctx: Context) -> np.ndarray:
        h, w = image.shape[:2]
        x = to_float(image)
        g = ctx.px(self.grain, 1.0)
        ch, cw = max(2, round(h / g)), max(2, round(w / g))
        chroma = cv2.transform(standard_normal((ch, cw, 3), ctx), _NO_LUMA)  # pure colour
        chroma = cv2.resize(chroma, (w, h), interpolation=cv2.INTER_LINEAR)
        # Renormalise: channel-mean removal and bilinear upsampling both lower the std.
        spread = float(cv2.meanStdDev(chroma.reshape(h, -1))[1][0, 0])  # over all channels
        noise = chroma * np.float32(self.chroma / (spread + 1e-6))
        # 3-channel copies of the planes (cvtColor): faster than numpy's [:, :, None] broadcast
        noise += cv2.cvtColor(grain_noise((h, w), ctx), cv2.COLOR_GRAY2RGB)
        luma = cv2.cvtColor(x, cv2.COLOR_RGB2GRAY)
        std = cv2.sqrt(luma + np.float32(self.floor)) * np.float32(self.intensity)
        noise *= cv2.cvtColor(std, cv2.COLOR_GRAY2RGB)
        noise += x
        return fast_uint8(noise)


@register(
    "rolling_shutter",
    "optics",
    ladder={"skew": (3.0, 6.0, 10.0, 16.0, 24.0)},
    identity={"skew": 0.0},
    geometric=True,
    backend="opencv",
)
class RollingShutter(Primitive):
    """Rolling-shutter skew: rows read out one after another slant and wobble under camera or object motion.

    A CMOS sensor exposes row by row, so horizontal motion during read-out shifts each row by
    an amount growing down the frame: the bottom row moves ``skew`` px (at 224) relative to the
    top, in a random direction. Vibration adds ``wobble`` (a fraction of the skew) as a
    sinusoidal "jello" shift with 0.5-2 random cycles per frame.
    """

    skew: float = Field(10.0, ge=0.0, le=200.0, description="bottom-vs-top row shift, px at 224")
    wobble: float = Field(0.15, ge=0.0, le=1.0, description="jello amplitude as a fraction of the skew")

    def apply(self, image: np.ndarray, ctx: Context) -> np.ndarray:
        h, w = image.shape[:2]
        rng = ctx.rng
        sign = 1.0 if rng.random() < 0.5 else -1.0
        cycles, phase = rng.uniform(0.5, 2.0), rng.uniform(0.0, 2 * np.pi)
        t = np.linspace(-0.5, 0.5, h, dtype=np.float32)
        amp = ctx.px(self.skew)
        shift = sign * amp * t + self.wobble * amp * np.sin(2 * np.pi * cycles * t + phase)
        map_x = np.arange(w, dtype=np.float32)[None, :] + shift.astype(np.float32)[:, None]
        map_y = np.broadcast_to(np.arange(h, dtype=np.float32)[:, None], (h, w))
        return remap(image, map_x, map_y)
