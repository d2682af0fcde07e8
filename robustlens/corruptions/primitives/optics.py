"""Optics family, part 1: defects of the lens and of what sits in front of it.

Lateral chromatic aberration, radial (barrel / pincushion) distortion, a dirty lens and water
droplets on the lens or windshield. Every length is given at the 224 px reference and scaled
with ``ctx.px``; distortion strengths are in units of the half-diagonal, so they are
resolution independent. Sensor defects (dead pixels, ISO noise, rolling shutter) live in
``sensor.py``.
"""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np
from pydantic import Field

from robustlens.corruptions.base import Context, Primitive, register
from robustlens.corruptions.ops import gaussian, remap, smooth_field, to_float


def _centred_grid(h: int, w: int, cx: float, cy: float) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre offsets from (cx, cy): a column (H x 1) and a row (1 x W), float32."""
    ys = (np.arange(h, dtype=np.float32) - np.float32(cy))[:, None]
    xs = (np.arange(w, dtype=np.float32) - np.float32(cx))[None, :]
    return ys, xs


def _quantile(values: np.ndarray, q: float) -> float:
    """``np.quantile(values, q)`` (linear interpolation) by partial sort: ~10x less overhead."""
    flat = values.ravel()
    pos = (flat.size - 1) * q
    lo = int(np.floor(pos))
    hi, t = min(lo + 1, flat.size - 1), pos - lo
    part = np.partition(flat, [lo, hi])
    a, b = float(part[lo]), float(part[hi])
    return b - (b - a) * (1.0 - t) if t >= 0.5 else a + (b - a) * t


def _soft_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur for smooth effects; large sigmas run on a downsampled copy (same look, far faster)."""
    if sigma <= 3.0:
        return gaussian(image, sigma)
    h, w = image.shape[:2]
    f = sigma / 2.0
    small = cv2.resize(image, (max(1, round(w / f)), max(1, round(h / f))), interpolation=cv2.INTER_AREA)
    return cv2.resize(gaussian(small, 2.0), (w, h), interpolation=cv2.INTER_LINEAR)


def _scale_about_centre(channel: np.ndarray, factor: float) -> np.ndarray:
    """Magnify one uint8 channel by ``factor`` about the image centre (bilinear, reflected border)."""
    h, w = channel.shape
    cx, cy = (w - 1) / 2, (h - 1) / 2
    m = np.array([[factor, 0, cx * (1 - factor)], [0, factor, cy * (1 - factor)]], np.float32)
    return cv2.warpAffine(channel, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


@register(
    "chromatic_aberration",
    "optics",
    ladder={"shift": (1.0, 2.0, 3.0, 4.5, 6.5)},
    identity={"shift": 0.0},
    stochastic=False,
    backend="opencv",
)
class ChromaticAberration(Primitive):
    """Lateral chromatic aberration: red and blue fringes at edges, growing toward the frame corners.

    A lens's magnification depends on wavelength, so the red and blue images are scaled
    slightly differently from the green one about the optical centre. ``shift`` is how far red
    lands outward (and blue inward) at the corners, in px at 224 px; cheap and wide-angle lenses
    show 1-3 px at 224, uncorrected zooms more.
    """

    shift: float = Field(3.0, ge=0.0, le=30.0, description="red displacement at the corners, px at 224")
    blue_ratio: float = Field(0.7, ge=0.0, le=2.0, description="blue shift (inward) / red shift (outward)")

    def apply(self, image: np.ndarray, ctx: Context) -> np.ndarray:
        h, w = image.shape[:2]
        half_diag = 0.5 * float(np.hypot(h, w))
        a = ctx.px(self.shift) / half_diag
        out = image.copy()
        out[:, :, 0] = _scale_about_centre(np.ascontiguousarray(image[:, :, 0]), 1.0 + a)
        out[:, :, 2] = _scale_about_centre(np.ascontiguousarray(image[:, :, 2]), 1.0 - a * self.blue_ratio)
        return out


@register(
    "lens_distortion",
    "optics",
    ladder={"k": (0.04, 0.08, 0.13, 0.19, 0.26)},
    identity={"k": 0.0},
    geometric=True,
    backend="opencv",
)
class LensDistortion(Primitive):
    """Radial lens distortion: barrel (wide-angle, action cams) or pincushion (tele zooms) bending of lines.

    Brown's radial model ``r_src = r (1 + k' r^2)`` with r in half-diagonals about an optical
    centre decentred by up to ``decentre`` px at 224; barrel uses k' = k, pincushion k' = -k
    (capped so the mapping stays monotone). The result is rescaled so the frame stays filled,
    as a camera's crop of the image circle does. k = 0.26 is a strong action-camera barrel.
    """

    k: float = Field(0.13, ge=0.0, le=1.0, description="radial distortion coefficient (magnitude)")
    mode: Literal["barrel", "pincushion", "random"] = Field("random", description="sign of the distortion")
    decentre: float = Field(4.0, ge=0.0, le=40.0, description="max random optical-centre offset, px at 224")

    def apply(self, image: np.ndarray, ctx: Context) -> np.ndarray:
        h, w = image.shape[:2]
        rng = ctx.rng
        mode = self.mode if self.mode != "random" else ("barrel", "pincushion")[int(rng.integers(0, 2))]
        off = rng.uniform(-1.0, 1.0, 2) * ctx.px(self.decentre)
        cx, cy = (w - 1) / 2 + off[0], (h - 1) / 2 + off[1]
        half_diag = 0.5 * float(np.hypot(h, w))
        r_max = float(np.hypot(max(cx, w - 1 - cx), max(cy, h - 1 - cy))) / half_diag
        k = self.k if mode == "barrel" else -min(self.k, 0.3 / r_max**2)
        ys, xs = _centred_grid(h, w, cx, cy)
        r2 = (ys * ys + xs * xs) * np.float32(1.0 / half_diag**2)
        factor = (1.0 + np.float32(k) * r2) * np.float32(1.0 / max(1.0, 1.0 + k * r_max**2))
        out = remap(image, cx + xs * factor, cy + ys * factor)
        return np.ascontiguousarray(out)


@register(
    "dirty_lens",
    "optics",
    ladder={"strength": (0.15, 0.3, 0.45, 0.62, 0.8)},
    identity={"strength": 0.0},
    backend="opencv",
)
class DirtyLens(Primitive):
    """Smudged, dusty lens: greasy blotches that blur and haze the image, plus soft dark dust spots.

    A fingerprint or grease film scatters light: inside smooth random blotches (``coverage`` of
    the frame, features ``blotch_size`` px at 224) the image is blurred and veiled by light
    scattered from its surroundings. Out-of-focus dust on the front element shows as soft
    darker discs. ``strength`` scales the blotch opacity, the overall veil and the dust.
    """

    strength: float = Field(0.45, ge=0.0, le=1.0, description="opacity of smudges and dust")
    coverage: float = Field(0.5, ge=0.05, le=1.0, description="fraction of the frame under smudges")
    blotch_size: float = Field(60.0, ge=5.0, le=500.0, description="smudge feature size, px at 224")
    dust: int = Field(10, ge=0, le=200, description="number of dust specks per frame")

    def apply(self, image: np.ndarray, ctx: Context) -> np.ndarray:
        h, w = image.shape[:2]
        rng = ctx.rng
        x = to_float(image)
        # The smudge field is smooth, so it is drawn at quarter resolution and upsampled.
        sh, sw = max(2, h // 4), max(2, w // 4)
        field = smooth_field((sh, sw), ctx.px(self.blotch_size, 4.0) * sh / h, rng, octaves=3)
        t = np.float32(_quantile(field, 1.0 - self.coverage))
        blotch = np.clip((field - t) * np.float32(1.0 / 0.15), 0.0, 1.0)
        blotch = cv2.resize(blotch, (w, h), interpolation=cv2.INTER_LINEAR)
        blurred = _soft_blur(x, ctx.px(2.5, 0.5))
        glow = gaussian(cv2.resize(x, (max(1, w // 8), max(1, h // 8)), interpolation=cv2.INTER_AREA), 3.0)
        glow = cv2.resize(glow, (w, h), interpolation=cv2.INTER_LINEAR)
        # Inside a blotch: half the blurred image, half light scattered from around it (a haze).
        # Full-size float temporaries are written in place (dst=): each fresh 0.6 MB array costs
        # more in page faults than the arithmetic, since the allocator hands freed ones back to the OS.
        hazy = cv2.addWeighted(blurred, 0.45, glow, 0.66, 0.055, dst=blurred)
        s = float(self.strength)
        alpha = blotch * np.float32(s)
        out = cv2.blendLinear(x, hazy, 1.0 - alpha, alpha, dst=x)
        out = cv2.addWeighted(out, 1.0 - 0.15 * s, glow, 0.15 * s, 0.0, dst=out)
        if self.dust:
            specks = np.zeros((h, w), np.float32)
            params = rng.random((self.dust, 3))
            for px, py, pr in params:
                radius = max(1, round(ctx.px(3.0 + 6.0 * pr)))
                cv2.circle(specks, (int(px * w), int(py * h)), radius, 1.0, -1, cv2.LINE_AA)
            specks = _soft_blur(specks, ctx.px(2.0, 0.5))
            light = cv2.addWeighted(specks, -0.5 * s, specks, 0.0, 1.0, dst=specks)
            out *= cv2.cvtColor(light, cv2.COLOR_GRAY2RGB, dst=hazy)  # a blend toward black
        return cv2.convertScaleAbs(np.maximum(out, np.float32(0.0), out=out), alpha=255.0)


_MAX_DROPS = 256
_POINT_ROW = 4096  # cv2.remap takes maps under 32767 columns: point lists go in rows of this length


def _remap_points(image: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Bilinear samples (reflected border) of an HxWxC image at N float32 points: (N, C).

    Each sample is the pixel ``cv2.remap`` would give at that point of a full-size map.
    """
    n = xs.size
    if n == 0:
        return np.empty((0, image.shape[2]), image.dtype)
    width = min(n, _POINT_ROW)
    maps = np.zeros((2, -(-n // width) * width), np.float32)
    maps[0, :n], maps[1, :n] = xs, ys
    out = cv2.remap(
        image, maps[0].reshape(-1, width), maps[1].reshape(-1, width), cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REFLECT,
    )  # fmt: skip
    return out.reshape(-1, image.shape[2])[:n]


@register(
    "water_droplets",
    "optics",
    ladder={"count": (5, 10, 18, 28, 42), "radius": (6.0, 7.0, 8.0, 9.0, 10.0)},
    identity={"count": 0, "radius": 6.0},
    backend="opencv",
)
class WaterDroplets(Primitive):
    """Raindrops on the lens or windshield: round drops that show a flipped, blurred view of the scene.

    Each drop is a small ball lens: it shows an inverted, minified image of the scene around it
    (``zoom`` times wider), defocused because the camera focuses beyond the glass, with a dark
    rim where light is totally reflected and a small specular highlight. ``count`` drops per
    frame (nested: more severe levels add drops), radii around ``radius`` px at 224.
    """

    count: int = Field(18, ge=0, le=_MAX_DROPS, description="number of drops per frame")
    radius: float = Field(8.0, ge=1.0, le=60.0, description="mean drop radius, px at 224")
    zoom: float = Field(2.5, ge=1.0, le=6.0, description="how much wider a view each drop shows")
    blur: float = Field(1.5, ge=0.0, le=10.0, description="defocus of the drops, px at 224")

    def apply(self, image: np.ndarray, ctx: Context) -> np.ndarray:
        pool = ctx.rng.random((_MAX_DROPS, 4))[: self.count]
        if not self.count:
            return image.copy()
        h, w = image.shape[:2]
        # All drops at once, each on its own small square grid: (N, S, S) arrays.
        r = np.maximum(ctx.px(self.radius) * (0.6 + 0.8 * pool[:, 2]), 1.5).astype(np.float32)
        rx, ry = r[:, None, None], (r * (0.85 + 0.3 * pool[:, 3]).astype(np.float32))[:, None, None]
        half = int(np.ceil(float(ry.max()))) + 1
        offs = np.arange(-half, half + 1, dtype=np.float32)
        cx, cy = (pool[:, 0] * w).astype(np.float32), (pool[:, 1] * h).astype(np.float32)
        px = np.floor(cx)[:, None, None] + offs[None, None, :]
        py = np.floor(cy)[:, None, None] + offs[None, :, None]
        dx, dy = px - cx[:, None, None], py - cy[:, None, None]
        rho2 = (dx / rx) ** 2 + (dy / ry) ** 2
        keep = (rho2 < 1.0) & (px >= 0) & (px < w) & (py >= 0) & (py < h)
        keep = np.broadcast_to(keep, rho2.shape)
        # Ball lens: inverted view, magnified toward the rim where refraction is strongest.
        gain = np.float32(self.zoom) * (1.0 + 0.6 * rho2)
        src_x = cx[:, None, None] - dx * gain
        src_y = cy[:, None, None] - dy * gain
        rim = np.clip((rho2 - 0.6) * np.float32(2.5), 0.0, 1.0)
        spot = (dx + 0.35 * rx) ** 2 + (dy + 0.4 * ry) ** 2
        # exponent capped at -80 (exp = 1.8e-35, lost next to 1 - 0.45 * rim >= 0.55 just as 0 is):
        # float32 exp (and * 0.5) take slow paths on underflow and subnormals, 4x the whole array
        spread = np.minimum(spot / (2 * (0.12 * rx) ** 2 + 1e-3), np.float32(80.0))
        shade = 1.0 - 0.45 * rim + 0.5 * np.exp(-spread)
        soft = np.clip((1.0 - rho2) * np.float32(6.0), 0.0, 1.0)
        rows, cols = np.broadcast_to(py, rho2.shape)[keep], np.broadcast_to(px, rho2.shape)[keep]
        flat = (rows * w + cols).astype(np.intp)
        shading = np.ones((h, w), np.float32)
        mask = np.zeros((h, w), np.float32)
        # Only the pixels under drops are warped (a 1 x N remap; the rest of the map would be the
        # identity, which bilinear remapping reproduces exactly), then scattered into a copy of
        # the image: the same bytes as remapping the whole frame, in a tenth of the time.
        warped = image.copy()
        # later drops overwrite earlier ones where they overlap
        warped.reshape(-1, 3)[flat] = _remap_points(image, src_x[keep], src_y[keep])
        shading.ravel()[flat] = shade[keep]
        np.maximum.at(mask.ravel(), flat, soft[keep])
        x = to_float(image)
        # defocus in uint8 (OpenCV's fixed-point path, ~2x faster than float32; within half a
        # level before shading), then shade in float
        seen = to_float(_soft_blur(warped, ctx.px(self.blur)))
        seen *= cv2.cvtColor(shading, cv2.COLOR_GRAY2RGB)  # faster than numpy's [:, :, None]
        mask = _soft_blur(mask, ctx.px(0.7))
        out = cv2.blendLinear(x, seen, 1.0 - mask, mask, dst=x)  # in place: see DirtyLens
        return cv2.convertScaleAbs(np.maximum(out, np.float32(0.0), out=out), alpha=255.0)
