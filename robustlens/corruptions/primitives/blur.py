"""Blur family: the ImageNet-C blur corruptions (Hendrycks & Dietterich, ICLR 2019) plus Gaussian blur.

ImageNet-C applies its corruptions to 224 px crops, so its pixel parameters are used as they are at
the 224 px reference and scaled with the image (``Context.px``). Glass blur replaces ImageNet-C's
per-pixel Python swap loop by one vectorised random displacement (``cv2.remap``); zoom blur enlarges
each copy with ``cv2.resize``, defocus blur correlates by DFT (``ops.fft_filter``) and motion blur
by one shifted add per streak tap (``streak_filter``).
"""

from __future__ import annotations

import cv2
import numpy as np
from pydantic import Field

from robustlens.corruptions.base import IMAGENET_C, Context, Primitive, register
from robustlens.corruptions.ops import disk_kernel, fft_filter, gaussian, motion_kernel, remap


@register(
    "defocus_blur",
    "blur",
    ladder={"radius": (3.0, 4.0, 6.0, 8.0, 10.0)},
    identity={"radius": 0.0},
    stochastic=False,
    tags=IMAGENET_C,
    backend="opencv",
    fidelity=(
        "approximate",
        "ImageNet-C's disk radii; the disk is anti-aliased with 0.5 px at every severity.",
    ),
)
class DefocusBlur(Primitive):
    """Defocus blur: the subject lies outside the depth of field, so points spread into discs.

    Convolution with an anti-aliased disk (the lens aperture's circle of confusion); radii 3..10 px
    at 224 px are ImageNet-C's defocus ladder.

    ImageNet-C fidelity: approximate (same radii; ImageNet-C anti-aliases its severity-1 disk with
    a 0.1 px instead of a 0.5 px Gaussian).
    """

    radius: float = Field(6.0, ge=0.0, le=40.0, description="circle-of-confusion radius in px at 224 px")

    def apply(self, image: np.ndarray, ctx: Context) -> np.ndarray:
        r = ctx.px(self.radius)
        if r < 0.5:
            return image.copy()
        return fft_filter(image, disk_kernel(r), cache=True)  # = cv2.filter2D, ~2.5x faster


@register(
    "glass_blur",
    "blur",
    ladder={"sigma": (0.7, 0.9, 1.0, 1.1, 1.5), "displacement": (2.2, 2.5, 5.0, 5.3, 6.5)},
    identity={"sigma": 0.0, "displacement": 0.0},
    tags=IMAGENET_C,
    backend="opencv",
    fidelity=("approximate", "ImageNet-C's sigmas; its sequential pixel swaps become one random remap."),
)
class GlassBlur(Primitive):
    """Frosted-glass blur: viewing the scene through textured or frosted glass.

    Gaussian blur, a local random displacement of every pixel, and a second Gaussian blur, as in
    ImageNet-C. ImageNet-C's sigmas (0.7..1.5) are kept; its (max_delta, iterations) pairs of
    sequential pixel swaps (a slow Python loop) are folded into one uniform displacement applied
    at once with ``cv2.remap``. Sequential swaps carry a pixel further than one swap's range, so
    the displacements 2.2..6.5 px are set so mean SSIM to the clean image matches ImageNet-C's.

    ImageNet-C fidelity: approximate (one vectorised displacement instead of the swap loop;
    ImageNet-C's severity 4 is slightly milder than its 3, here it is slightly harsher).
    """

    sigma: float = Field(
        1.0, ge=0.0, le=10.0, description="Gaussian blur sigma in px at 224 px (applied twice)"
    )
    displacement: float = Field(
        3.0, ge=0.0, le=20.0, description="maximum random pixel displacement in px at 224 px"
    )

    def apply(self, image: np.ndarray, ctx: Context) -> np.ndarray:
        h, w = image.shape[:2]
        sigma = ctx.px(self.sigma)
        x = gaussian(image, sigma)
        d = ctx.px(self.displacement)
        if d > 0:
            offsets = ctx.rng.random((2, h, w), dtype=np.float32)
            offsets = (offsets * np.float32(2.0) - np.float32(1.0)) * np.float32(d)
            gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
            x = remap(x, gx + offsets[0], gy + offsets[1])
        out = gaussian(x, sigma)
        return out.copy() if out is image else out


@register(
    "motion_blur",
    "blur",
    ladder={"length": (21.0, 31.0, 31.0, 31.0, 41.0), "decay": (3.0, 5.0, 8.0, 12.0, 15.0)},
    identity={"length": 0.0, "decay": 1.0},
    tags=IMAGENET_C,
    backend="opencv",
    fidelity=("exact", "ImageNet-C's one-sided Gaussian-weighted streak kernel and (radius, sigma) ladder."),
)
class MotionBlur(Primitive):
    """Motion blur from camera shake: the camera moves along a line during the exposure.

    ImageNet-C's kernel (Hendrycks & Dietterich 2019): the image is shifted by 0..``length``-1 px
    along a random direction and the copies are averaged with weights ``exp(-i^2 / 2 decay^2)``,
    so the exposure starts sharp and fades (the streak is one-sided; edges are replicated).
    ImageNet-C's (radius, sigma) pairs (10, 3) .. (20, 15) give ``length = 2 radius + 1`` and
    ``decay = sigma``; both are px at 224 px. Applied as one correlation with that kernel (by shifted
    adds, ``streak_filter``: the same result as ``cv2.filter2D`` up to float rounding, faster).

    ImageNet-C fidelity: exact at 224 px (same kernel, ladder and angle range +-45 degrees).
    """

    length: float = Field(31.0, ge=0.0, le=120.0, description="length of the blur streak in px at 224 px")
    decay: float = Field(
        8.0, ge=0.5, le=60.0, description="Gaussian fall-off of the streak weights, px at 224 px"
    )
    max_angle: float = Field(
        45.0, ge=0.0, le=90.0, description="angle drawn uniformly in +-max_angle degrees from horizontal"
    )

    def apply(self, image: np.ndarray, ctx: Context) -> np.ndarray:
        angle = float(ctx.rng.uniform(-self.max_angle, self.max_angle))
        length = int(round(ctx.px(self.length)))
        if length < 2:
            return image.copy()
        kernel, anchor = motion_kernel(length, ctx.px(self.decay, minimum=0.1), angle)
        return streak_filter(image, kernel, anchor)  # = cv2.filter2D, faster


_STREAK_MAX_TAPS = 64  # up to this many taps, shifted adds beat three DFT pairs (at any image size)


def streak_filter(
    image: np.ndarray, kernel: np.ndarray, anchor: tuple[int, int], border: int = cv2.BORDER_REPLICATE
) -> np.ndarray:
    """``cv2.filter2D(image, -1, kernel, anchor=anchor, borderType=border)`` for a sparse kernel
    with taps >= 0 (a motion streak or a rain line: ``length`` taps in a box of ``length**2 / 2``
    or more); uint8 images come back rounded, float32 ones as float32.

    Why: such a kernel is a sum of shifted copies, so one scaled add of a shifted view of the
    border-padded float image per tap (29 at motion blur's severity 3) costs half of
    ``ops.fft_filter``'s DFTs of the whole box, and a fifth of filter2D's own DFT. Same result as
    filter2D up to float32 rounding (|diff| <= 1 level on uint8, as the DFT paths).
    """
    ys, xs = np.nonzero(kernel)
    if ys.size > _STREAK_MAX_TAPS or ys.size == 0:
        return fft_filter(image, kernel, anchor, border)
    h, w = image.shape[:2]
    (kh, kw), (ax, ay) = kernel.shape, anchor
    padded = cv2.copyMakeBorder(image, ay, kh - 1 - ay, ax, kw - 1 - ax, border)
    padded = padded.astype(np.float32, copy=False)
    taps = kernel[ys, xs].tolist()
    acc = np.multiply(padded[ys[0] : ys[0] + h, xs[0] : xs[0] + w], np.float32(taps[0]))
    for y, x, tap in zip(ys[1:].tolist(), xs[1:].tolist(), taps[1:], strict=True):
        cv2.scaleAdd(padded[y : y + h, x : x + w], tap, acc, dst=acc)
    return cv2.convertScaleAbs(acc) if image.dtype == np.uint8 else acc  # taps >= 0: no abs needed


@register(
    "zoom_blur",
    "blur",
    ladder={"zoom": (0.11, 0.15, 0.20, 0.24, 0.30), "copies": (11, 15, 10, 12, 10)},
    identity={"zoom": 0.0, "copies": 1},
    stochastic=False,
    tags=IMAGENET_C,
    backend="opencv",
    fidelity=("approximate", "ImageNet-C's zoom steps, enlarged about the centre by OpenCV."),
)
class ZoomBlur(Primitive):
    """Zoom blur: the lens zooms (or the camera moves toward the subject) during the exposure.

    The average of the image (counted twice, as ImageNet-C's zoom list starts at 1.0) and
    ``copies`` copies magnified about the centre by factors up to ``1 + zoom``; ImageNet-C's
    largest zoom factors are 1.11, 1.15, 1.20, 1.24, 1.30.

    ``copies`` follows ImageNet-C's number of zoom steps (11, 15, 10, 12, 10).

    ImageNet-C fidelity: approximate (same zoom steps; each copy is a bilinear enlargement about
    the centre, to within half a pixel, where ImageNet-C crops, zooms with SciPy and trims at the
    top-left).
    """

    zoom: float = Field(0.2, ge=0.0, le=1.0, description="largest relative magnification during the exposure")
    copies: int = Field(10, ge=1, le=16, description="number of zoomed copies averaged (smoothness)")

    def apply(self, image: np.ndarray, ctx: Context) -> np.ndarray:
        h, w = image.shape[:2]
        acc = image.astype(np.float32) * np.float32(2.0)
        for k in range(1, self.copies + 1):
            s = 1.0 + self.zoom * k / self.copies
            (y0, y1, oy), (x0, x1, ox) = _zoom_window(h, s), _zoom_window(w, s)
            big = cv2.resize(image[y0:y1, x0:x1], None, fx=s, fy=s, interpolation=cv2.INTER_LINEAR)
            cv2.accumulate(big[oy : oy + h, ox : ox + w], acc)  # in place
        return cv2.convertScaleAbs(acc, alpha=1.0 / (self.copies + 2))


def _zoom_window(n: int, s: float) -> tuple[int, int, int]:
    """Crop [lo, hi) of an axis of ``n`` px and offset into its ``s``-times enlargement.

    Why: ``cv2.resize`` of the crop by exactly ``s`` (bilinear, ~4x faster than the equivalent
    ``cv2.warpAffine``) maps output ``d`` to crop ``(d + 0.5) / s - 0.5``; taking ``n`` outputs
    from ``offset`` makes that ``(X - c) / s + c`` about the centre ``c = (n - 1) / 2``, the warp
    about the exact centre, to within half a pixel of shift (the scale is exact).
    """
    c = (n - 1) / 2.0
    lo = max(0, int(np.floor(c * (1.0 - 1.0 / s))) - 1)
    hi = min(n, int(np.ceil(c + c / s)) + 2)
    size = int(round((hi - lo) * s))  # what cv2.resize produces with fx = s
    offset = int(round(s * (c + 0.5 - lo) - c - 0.5))
    return lo, hi, max(0, min(offset, size - n))


@register(
    "gaussian_blur",
    "blur",
    ladder={"sigma": (1.0, 2.0, 3.0, 4.0, 6.0)},
    identity={"sigma": 0.0},
    stochastic=False,
    tags=IMAGENET_C,
    backend="opencv",
    fidelity=("approximate", "ImageNet-C's sigmas; the kernel is cut at 3 sigma instead of 4."),
)
class GaussianBlur(Primitive):
    """Gaussian blur: soft, slightly out-of-focus optics or a cheap lens with a smooth point spread.

    Sigmas 1..6 px at 224 px follow ImageNet-C's Gaussian blur (an extra corruption of that set).

    ImageNet-C fidelity: approximate (same sigmas; OpenCV's kernel is truncated at 3 sigma where
    scikit-image's reaches 4 sigma, a difference below 0.3 % of the weight).
    """

    sigma: float = Field(3.0, ge=0.0, le=30.0, description="blur sigma in px at 224 px")

    def apply(self, image: np.ndarray, ctx: Context) -> np.ndarray:
        out = gaussian(image, ctx.px(self.sigma))
        return out.copy() if out is image else out
