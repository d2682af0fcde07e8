"""Geometric family: rotation, perspective, flips, crops and warps that move pixels.

Every random draw depends only on the image shape and ``ctx.rng`` (never on pixel values), so the
alpha plane of an RGBA image, warped by a second call with the same seed, stays registered.
Displacements are given in pixels at the 224 px reference (scaled with ``ctx.px``) or as
fractions of the image, so a severity looks the same at any resolution.
"""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np
from pydantic import Field

from robustlens.corruptions.base import IMAGENET_C, Context, Primitive, register
from robustlens.corruptions.ops import remap, smooth_field

Border = Literal["reflect", "constant"]
_BORDER = {"reflect": cv2.BORDER_REFLECT_101, "constant": cv2.BORDER_CONSTANT}


def _rotate(image: np.ndarray, angle_deg: float, border: int) -> np.ndarray:
    h, w = image.shape[:2]
    m = cv2.getRotationMatrix2D(((w - 1) / 2.0, (h - 1) / 2.0), angle_deg, 1.0)
    return cv2.warpAffine(image, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=border)


def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel coordinate maps (x, y) as float32 arrays of shape ``(h, w)``."""
    xs = np.broadcast_to(np.arange(w, dtype=np.float32)[None, :], (h, w))
    ys = np.broadcast_to(np.arange(h, dtype=np.float32)[:, None], (h, w))
    return xs, ys


@register(
    "elastic",
    "geometric",
    ladder={"amplitude": (1.0, 2.0, 3.5, 5.0, 7.0)},
    identity={"amplitude": 0.0},
    geometric=True,
    tags=IMAGENET_C,
    fidelity=("different", "a monotone displacement ladder; ImageNet-C's (alpha, sigma) schedule is not."),
)
class Elastic(Primitive):
    """Elastic deformation: wobbly, locally stretched content (soft material, rolling shutter, jitter).

    A smooth random displacement field (two-octave value noise, an efficient stand-in for
    ImageNet-C's Gaussian-filtered white noise; Hendrycks & Dietterich 2019, after Simard et al.
    2003) moves each pixel by at most ``amplitude`` reference pixels. ImageNet-C's own ladder mixes
    an affine jitter with a non-monotone (alpha, sigma) schedule, so the ladder here is a
    monotone amplitude at a fixed ``smoothness`` instead.

    ImageNet-C fidelity: different, deliberately (milder at severities 1-3 at 224 px).
    """

    amplitude: float = Field(
        3.5, ge=0.0, le=40.0, description="largest displacement, in pixels at 224 px reference"
    )
    smoothness: float = Field(
        24.0, ge=2.0, le=224.0, description="size of the deformation features, in pixels at 224 px reference"
    )

    def apply(self, image: np.ndarray, ctx: Context) -> np.ndarray:
        h, w = image.shape[:2]
        feature = ctx.px(self.smoothness, minimum=2.0)
        amp = np.float32(2.0 * ctx.px(self.amplitude))
        dx = (smooth_field((h, w), feature, ctx.rng, octaves=2) - np.float32(0.5)) * amp
        dy = (smooth_field((h, w), feature, ctx.rng, octaves=2) - np.float32(0.5)) * amp
        xs, ys = _grid(h, w)
        return remap(image, xs + dx, ys + dy, cv2.BORDER_REFLECT_101)


@register(
    "rotation",
    "geometric",
    ladder={"angle": (2.0, 4.0, 7.0, 11.0, 16.0)},
    identity={"angle": 0.0},
    geometric=True,
    backend="opencv",
)
class Rotation(Primitive):
    """Camera roll or a misaligned part: the image rotated by a random signed angle.

    The magnitude is drawn uniformly in ``[0.5, 1] * angle`` with a random sign, so ``angle`` is
    the worst-case roll; uncovered corners are filled by reflection (or black, ``border='constant'``).
    """

    angle: float = Field(7.0, ge=0.0, le=180.0, description="largest roll angle in degrees")
    border: Border = Field("reflect", description="fill of the uncovered corners")

    def apply(self, image: np.ndarray, ctx: Context) -> np.ndarray:
        magnitude = self.angle * ctx.rng.uniform(0.5, 1.0)
        sign = 1.0 if ctx.rng.random() < 0.5 else -1.0
        return _rotate(image, sign * magnitude, _BORDER[self.border])


@register(
    "perspective",
    "geometric",
    ladder={"shift": (3.0, 6.0, 10.0, 15.0, 22.0)},
    identity={"shift": 0.0},
    geometric=True,
    backend="opencv",
)
class Perspective(Primitive):
    """Oblique viewing angle: keystone / perspective distortion from a tilted camera.

    Each image corner moves independently by up to ``shift`` reference pixels in x and y and the
    image is warped with the homography that maps the frame onto the moved corners.
    """

    shift: float = Field(
        10.0, ge=0.0, le=80.0, description="largest corner displacement, in pixels at 224 px reference"
    )
    border: Border = Field("reflect", description="fill of regions uncovered by the warp")

    def apply(self, image: np.ndarray, ctx: Context) -> np.ndarray:
        h, w = image.shape[:2]
        src = np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], np.float32)
        moves = ctx.rng.uniform(-1.0, 1.0, size=(4, 2)).astype(np.float32) * np.float32(ctx.px(self.shift))
        m = cv2.getPerspectiveTransform(src, src + moves)
        return cv2.warpPerspective(image, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=_BORDER[self.border])


@register(
    "flip",
    "geometric",
    ladder={"p": (0.1, 0.3, 0.5, 0.75, 1.0), "tilt": (1.0, 1.5, 2.0, 2.5, 3.0)},
    identity={"p": 0.0, "tilt": 0.0},
    geometric=True,
    backend="opencv",
)
class Flip(Primitive):
    """Mirrored capture: a left-right flipped image (selfie camera, scanner, mirror), slightly rolled.

    The image is mirrored with probability ``p``, decided by the first draw from ``ctx.rng``;
    since that draw does not depend on the severity, an image flipped at one severity stays
    flipped at every higher one. A flip alone is all-or-nothing, so severity 1 would be the exact
    identity for most seeds; a small roll of ``tilt`` degrees (random sign, as a hand-held or
    re-mounted capture has) is applied too, which makes every severity a real, monotone change.
    Set the ``tilt`` ladder to zeros for a pure random flip.
    """

    p: float = Field(0.5, ge=0.0, le=1.0, description="probability that the image is mirrored")
    tilt: float = Field(2.0, ge=0.0, le=45.0, description="roll angle in degrees (random sign)")
    vertical: bool = Field(False, description="mirror top-bottom instead of left-right")

    def apply(self, image: np.ndarray, ctx: Context) -> np.ndarray:
        flipped = ctx.rng.random() < self.p
        sign = 1.0 if ctx.rng.random() < 0.5 else -1.0
        out = cv2.flip(image, 0 if self.vertical else 1) if flipped else image.copy()
        if self.tilt > 0:
            out = _rotate(out, sign * self.tilt, cv2.BORDER_REFLECT_101)
        return out


@register(
    "crop_zoom",
    "geometric",
    ladder={"area": (0.9, 0.8, 0.65, 0.5, 0.35)},
    identity={"area": 1.0},
    geometric=True,
    backend="opencv",
)
class CropZoom(Primitive):
    """Framing change or digital zoom: a random crop of the scene enlarged back to full size.

    The crop keeps the aspect ratio, covers ``area`` of the frame and sits at a uniformly random
    position; it is resampled bilinearly with sub-pixel accuracy (one affine warp).
    """

    area: float = Field(0.65, ge=0.05, le=1.0, description="fraction of the frame area kept by the crop")

    def apply(self, image: np.ndarray, ctx: Context) -> np.ndarray:
        h, w = image.shape[:2]
        k = float(np.sqrt(self.area))
        x0 = ctx.rng.uniform(0.0, 1.0) * w * (1.0 - k)
        y0 = ctx.rng.uniform(0.0, 1.0) * h * (1.0 - k)
        # destination pixel centre u maps to source x0 + (u + 0.5) * k - 0.5
        m = np.array([[k, 0.0, x0 + 0.5 * k - 0.5], [0.0, k, y0 + 0.5 * k - 0.5]], np.float64)
        return cv2.warpAffine(
            image, m, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REFLECT_101
        )


def _hat_weights(n_px: int, cells: int) -> np.ndarray:
    """``(n_px, cells + 1)`` linear-interpolation weights from grid nodes to pixel positions."""
    pos = np.linspace(0.0, cells, n_px, dtype=np.float32)[:, None]
    return np.maximum(0.0, 1.0 - np.abs(pos - np.arange(cells + 1, dtype=np.float32)[None, :]))


@register(
    "grid_distortion",
    "geometric",
    ladder={"distort": (0.06, 0.12, 0.2, 0.3, 0.4)},
    identity={"distort": 0.0},
    geometric=True,
)
class GridDistortion(Primitive):
    """Non-uniform warping: a wavy sheet, cheap lens or scanner transport stretching parts unevenly.

    The frame is divided into ``cells`` x ``cells`` cells and each inner grid node moves randomly
    by up to ``distort`` of a cell size (nodes on the border slide only along it, so the frame
    stays filled); displacements are interpolated bilinearly inside each cell, in the manner of
    albumentations' GridDistortion. ``distort`` stays below 0.5 so cells never fold over.
    """

    distort: float = Field(
        0.2, ge=0.0, le=0.49, description="largest node displacement as a fraction of a cell"
    )
    cells: int = Field(5, ge=2, le=32, description="grid cells per side")

    def apply(self, image: np.ndarray, ctx: Context) -> np.ndarray:
        h, w = image.shape[:2]
        n = int(self.cells)
        d = np.float32(self.distort)
        nx = ctx.rng.uniform(-1.0, 1.0, size=(n + 1, n + 1)).astype(np.float32) * d * np.float32((w - 1) / n)
        ny = ctx.rng.uniform(-1.0, 1.0, size=(n + 1, n + 1)).astype(np.float32) * d * np.float32((h - 1) / n)
        nx[:, 0] = nx[:, -1] = 0.0
        ny[0, :] = ny[-1, :] = 0.0
        wy, wx = _hat_weights(h, n), _hat_weights(w, n)
        xs, ys = _grid(h, w)
        return remap(image, xs + wy @ nx @ wx.T, ys + wy @ ny @ wx.T, cv2.BORDER_REFLECT_101)
