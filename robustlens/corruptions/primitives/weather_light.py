"""Weather family, part 2: sunlight effects (lens flare from a low sun, cast shadows).

Like the rest of the weather family, light layers are built on a reference grid whose short side
is 224 px (so lengths are given at the reference resolution) and resized to the image.
"""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np
from pydantic import Field

from robustlens.corruptions.base import Context, Primitive, register
from robustlens.corruptions.ops import gaussian, to_float, to_uint8
from robustlens.corruptions.primitives.weather import RGB, _fractal, _quantile, _ref_shape, _to_image

_EXP_FLOOR = np.float32(-80.0)
# Ghost tints of multi-coated lens elements: amber, green, blue, warm white.
_GHOST_TINTS = np.array(
    [[1.0, 0.55, 0.25], [0.45, 1.0, 0.55], [0.45, 0.65, 1.0], [1.0, 0.9, 0.6]], np.float32
)


def _ghost(layer: np.ndarray, cx: float, cy: float, radius: float, color: np.ndarray, ring: bool) -> None:
    """Add one soft-edged disc (or ring) of ``color`` to ``layer`` in place, within its bounding box."""
    h, w = layer.shape[:2]
    x0, x1 = max(0, int(cx - radius) - 1), min(w, int(cx + radius) + 2)
    y0, y1 = max(0, int(cy - radius) - 1), min(h, int(cy + radius) + 2)
    if x0 >= x1 or y0 >= y1:
        return
    dx = np.arange(x0, x1, dtype=np.float32) - np.float32(cx)
    dy = np.arange(y0, y1, dtype=np.float32)[:, None] - np.float32(cy)
    d = np.sqrt(dx * dx + dy * dy) / np.float32(radius)
    a = np.clip((1.0 - d) / 0.12, 0.0, 1.0)  # soft edge
    if ring:
        a *= np.clip((d - 0.8) / 0.1, 0.0, 1.0)
    else:
        a *= 0.55 + 0.45 * d * d  # ghosts are brighter at the rim
    layer[y0:y1, x0:x1] += a[:, :, None] * color


@register(
    "sun_flare",
    "weather",
    ladder={"strength": (0.3, 0.45, 0.6, 0.75, 0.9)},
    identity={"strength": 0.0},
    backend="numpy",
)
class SunFlare(Primitive):
    """Lens flare from a low sun: a bright glare source, starburst rays and coloured ghost discs.

    The sun (possibly just outside the upper frame) adds a glow and rays; internal reflections
    between lens elements add ghosts along the line from the sun through the image centre, and
    stray light adds a veiling glare that lifts the blacks. Layers are screen-blended; the default
    ghost count (7) lies in albumentations' RandomSunFlare default range of 6-10 flare circles.
    """

    strength: float = Field(0.6, ge=0.0, le=1.0, description="brightness of the flare (1: glare saturates)")
    radius: float = Field(24.0, ge=2.0, le=150.0, description="radius of the sun's glow in px at 224 px")
    ghosts: int = Field(7, ge=0, le=20, description="number of ghost reflections")
    rays: int = Field(
        6, ge=0, le=16, description="number of starburst rays (diffraction at the aperture blades)"
    )
    veil: float = Field(
        0.25, ge=0.0, le=1.0, description="veiling glare (uniform light) relative to strength"
    )
    color: RGB = Field((1.0, 0.93, 0.78), description="RGB colour of the sun in [0, 1]")

    def apply(self, image: np.ndarray, ctx: Context) -> np.ndarray:
        # The flare is smooth: render it on a half-resolution reference grid (lengths halved).
        rh, rw = _ref_shape(image)
        gh, gw = max(1, (rh + 1) // 2), max(1, (rw + 1) // 2)
        rng = ctx.rng
        sx, sy = float(rng.uniform(0.05, 0.95)) * gw, float(rng.uniform(-0.1, 0.35)) * gh
        dx = np.arange(gw, dtype=np.float32)[None, :] - np.float32(sx)
        dy = np.arange(gh, dtype=np.float32)[:, None] - np.float32(sy)
        d = np.sqrt(dx * dx + dy * dy)
        r = np.float32(self.radius / 2.0)
        # Exponents are floored at -80: float32 exp takes a slow path wherever it underflows (4x
        # the time), and exp(-80) ~ 2e-35 vanishes next to the 0.1 * exp(-d / 12 r) term (> 1e-17
        # on any reference grid) just as 0 does: the same glow, bit for bit.
        core = np.exp(np.maximum(-(d * d) / (2 * r * r), _EXP_FLOOR))
        glow = core + 0.45 * np.exp(-d / (2.5 * r)) + 0.1 * np.exp(-d / (12.0 * r))
        phase = float(rng.uniform(0, np.pi))
        fade = -d / (5.0 * r)
        for k in range(self.rays):
            ang = phase + np.pi * k / max(1, self.rays) + float(rng.normal(0, 0.05))
            perp = dx * np.float32(np.sin(ang)) - dy * np.float32(np.cos(ang))
            glow += 0.35 * np.exp(np.maximum(fade - perp * perp, _EXP_FLOOR))
        # per-channel planes merged: numpy's HxWx1-by-3 broadcast takes a slow strided loop
        layer = cv2.merge([glow * np.float32(c) for c in self.color])
        # Ghosts lie on the line from the sun through the optical centre, at both sides of it.
        ax, ay = gw / 2.0 - sx, gh / 2.0 - sy
        ts = rng.uniform(0.3, 2.0, self.ghosts)
        sizes = r * rng.uniform(0.25, 1.4, self.ghosts)
        alphas = rng.uniform(0.15, 0.4, self.ghosts)
        tints = _GHOST_TINTS[rng.integers(0, len(_GHOST_TINTS), self.ghosts)]
        rings = rng.random(self.ghosts) < 0.25
        for t, size, alpha, tint, ring in zip(ts, sizes, alphas, tints, rings, strict=True):
            _ghost(layer, sx + t * ax, sy + t * ay, float(size), tint * np.float32(alpha), bool(ring))
        layer = np.clip(layer + np.float32(self.veil * 0.5), 0.0, 1.0) * np.float32(self.strength)
        x = to_float(image)
        return to_uint8(1.0 - (1.0 - x) * (1.0 - _to_image(layer, image)))


@register(
    "shadow",
    "weather",
    ladder={"darkness": (0.25, 0.35, 0.45, 0.55, 0.65), "coverage": (0.15, 0.22, 0.3, 0.37, 0.45)},
    identity={"darkness": 0.0, "coverage": 0.0},
    backend="numpy",
)
class Shadow(Primitive):
    """Cast shadows: buildings or trees block the direct sun over part of the scene.

    Building shadows are polygons with straight, stepped edges (rooflines) at a random angle;
    tree shadows are dappled foliage patterns with sun flecks. The shadow covers a fraction
    ``coverage`` of the view, has a soft penumbra, and keeps only skylight, which is bluish, so
    red is darkened most. ``darkness`` 0.25..0.65 brackets albumentations' RandomShadow default
    intensity of 0.5.
    """

    darkness: float = Field(0.45, ge=0.0, le=1.0, description="fraction of the light blocked in the shadow")
    coverage: float = Field(0.3, ge=0.0, le=1.0, description="fraction of the view in shadow")
    style: Literal["mixed", "building", "foliage"] = Field(
        "mixed", description="shadow caster; 'mixed' picks building or foliage per seed"
    )
    penumbra: float = Field(1.5, ge=0.0, le=20.0, description="softness of the shadow edge in px at 224 px")

    def field(self, rh: int, rw: int, rng: np.random.Generator) -> np.ndarray:
        """The shadow caster's field on the reference grid (shared with the device kernel, so both
        make the same draws): foliage is a fractal; a building is stepped rooflines at an angle."""
        foliage = rng.random() < 0.5 if self.style == "mixed" else self.style == "foliage"
        if foliage:
            return _fractal((rh, rw), 70.0, rng, octaves=5, roughness=0.7)
        theta = float(rng.uniform(0, 2 * np.pi))
        xs = np.arange(rw, dtype=np.float32)[None, :] / np.float32(max(rh, rw))
        ys = np.arange(rh, dtype=np.float32)[:, None] / np.float32(max(rh, rw))
        p = xs * np.float32(np.cos(theta)) + ys * np.float32(np.sin(theta))
        q = ys * np.float32(np.cos(theta)) - xs * np.float32(np.sin(theta))
        steps = int(rng.integers(2, 6))
        edges = np.sort(rng.uniform(float(q.min()), float(q.max()), steps))
        heights = rng.uniform(-0.2, 0.2, steps + 1).astype(np.float32)
        slopes = rng.uniform(-0.3, 0.3, steps + 1).astype(np.float32)
        seg = np.searchsorted(edges, q)
        return p + heights[seg] + slopes[seg] * q

    def apply(self, image: np.ndarray, ctx: Context) -> np.ndarray:
        rh, rw = _ref_shape(image)
        value = self.field(rh, rw, ctx.rng)
        thr = _quantile(value, self.coverage)
        mask = gaussian((value < thr).astype(np.float32), self.penumbra)
        shade = _to_image(mask, image) * np.float32(self.darkness)
        # per-channel planes merged: numpy's broadcast of an HxWx1 array against 3 channels takes
        # its slow strided loop (~5x the time), for the same float32 products
        factor = cv2.merge([np.float32(1.0) - shade * np.float32(c) for c in (1.0, 0.95, 0.85)])
        return to_uint8(to_float(image) * factor)
