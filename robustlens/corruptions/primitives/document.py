"""Document family: scanning, printing and faxing artefacts.

Models what happens to a page between print and pixels: skew on the scanner bed, show-through of
the reverse side, faded ink, halftone screens and low-resolution scanning. Lengths (screen period,
scan pixel size, blur) are given at the 224 px reference and scaled with the image.
"""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np
from pydantic import Field

from robustlens.corruptions.base import PIXEL_LEVEL, Context, Primitive, register
from robustlens.corruptions.ops import channel_percentile, gaussian, smooth_field, to_float, to_uint8

DOCUMENT = ("document",)


def _rgb(plane: np.ndarray) -> np.ndarray:
    """A float32 plane repeated into HxWx3 (much faster than numpy's ``[:, :, None]`` broadcast)."""
    return cv2.cvtColor(np.ascontiguousarray(plane, np.float32), cv2.COLOR_GRAY2RGB)


def _wide_blur(x: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur; a wide one runs on a copy downsampled to sigma ~2 px (same look, far cheaper)."""
    f = sigma / 2.0
    if f <= 2.0:
        return gaussian(x, sigma)
    h, w = x.shape[:2]
    small = cv2.resize(x, (max(1, round(w / f)), max(1, round(h / f))), interpolation=cv2.INTER_AREA)
    return cv2.resize(gaussian(small, 2.0), (w, h), interpolation=cv2.INTER_LINEAR)


@register(
    "scan_skew",
    "document",
    ladder={"angle": (1.0, 2.0, 3.5, 5.0, 7.0)},
    identity={"angle": 0.0},
    geometric=True,
    tags=DOCUMENT,
    backend="opencv",
)
class ScanSkew(Primitive):
    """Scan skew: a page placed crooked on the scanner bed or fed askew by the document feeder.

    The page is rotated about its centre by ``angle`` degrees times a random factor in [0.75, 1],
    in a random direction; uncovered corners show the white scanner lid (``fill``). Skew of a few
    degrees is what deskewing stages of OCR pipelines are built to remove (e.g. Tesseract's
    page-layout analysis; ICDAR document image skew estimation contests, up to +-15 degrees).
    """

    angle: float = Field(3.5, ge=0.0, le=20.0, description="skew angle in degrees (before the random factor)")
    fill: int = Field(255, ge=0, le=255, description="grey level of the scanner background in the corners")

    def apply(self, image: np.ndarray, ctx: Context) -> np.ndarray:
        h, w = image.shape[:2]
        sign = 1.0 if ctx.rng.random() < 0.5 else -1.0
        deg = sign * self.angle * ctx.rng.uniform(0.75, 1.0)
        m = cv2.getRotationMatrix2D(((w - 1) / 2.0, (h - 1) / 2.0), deg, 1.0)
        return cv2.warpAffine(
            image,
            m,
            (w, h),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=(self.fill,) * 3,
        )


@register(
    "bleed_through",
    "document",
    ladder={"strength": (0.14, 0.22, 0.32, 0.44, 0.58)},
    identity={"strength": 0.0},
    stochastic=False,
    tags=DOCUMENT,
)
class BleedThrough(Primitive):
    """Bleed-through / show-through: ink on the reverse of a thin or old page shows through the scan.

    The verso is the page itself mirrored left-right (what the back of a duplex page looks like from
    the front), blurred by light diffusion in the paper (``blur_px`` at 224 px) and multiplied in
    with weight ``strength``: ``recto * (1 - strength * (1 - blur(verso)))``, the multiplicative
    show-through model of Sharma (IEEE TIP 2001) also used by Tonazzini et al. (IJDAR 2007).
    """

    strength: float = Field(0.32, ge=0.0, le=1.0, description="fraction of the verso's ink darkness seen")
    blur_px: float = Field(1.5, ge=0.0, le=10.0, description="paper diffusion blur sigma (px at 224 px)")

    def apply(self, image: np.ndarray, ctx: Context) -> np.ndarray:
        verso = _wide_blur(to_float(cv2.flip(image, 1)), ctx.px(self.blur_px))
        s = np.float32(self.strength)
        factor = verso * s + (np.float32(1.0) - s)  # 1 - s * (1 - verso)
        return to_uint8(to_float(image) * factor)


@register(
    "ink_fading",
    "document",
    ladder={"strength": (0.15, 0.3, 0.45, 0.6, 0.75)},
    identity={"strength": 0.0},
    tags=DOCUMENT,
)
class InkFading(Primitive):
    """Faded ink or print: dark strokes lighten toward the paper colour, unevenly across the page.

    Photo-oxidation and moisture fade ink and toner by different amounts over a page. Each pixel
    moves toward the paper colour (the bright percentile ``paper_pct`` of the page) by ``strength``
    times a smooth random field in [1 - ``unevenness``, 1] with patches ``patch_px`` wide (at
    224 px); the effect resembles the degradation models of Kanungo et al. (ICDAR 1993) and the
    DocCreator synthetic degradations (Journet et al., J. Imaging 2017).
    """

    strength: float = Field(
        0.45, ge=0.0, le=1.0, description="max fraction of the way from ink to paper colour"
    )
    unevenness: float = Field(0.6, ge=0.0, le=1.0, description="how much the fading varies over the page")
    patch_px: float = Field(48.0, ge=4.0, le=400.0, description="size of fading patches (px at 224 px)")
    paper_pct: float = Field(95.0, ge=50.0, le=100.0, description="percentile taken as the paper colour")

    def apply(self, image: np.ndarray, ctx: Context) -> np.ndarray:
        h, w = image.shape[:2]
        # the fading field is smooth: draw it on a grid with short side <= 112 and upsample
        f = min(1.0, 112.0 / min(h, w))
        gh, gw = max(2, round(h * f)), max(2, round(w * f))
        field = smooth_field((gh, gw), ctx.px(self.patch_px) * f, ctx.rng, octaves=3)
        if (gh, gw) != (h, w):
            field = cv2.resize(field, (w, h), interpolation=cv2.INTER_LINEAR)
        fade = np.float32(self.strength) * (
            np.float32(1.0 - self.unevenness) + np.float32(self.unevenness) * field
        )
        step = max(1, min(h, w) // 128)
        paper = channel_percentile(image[::step, ::step].reshape(-1, 3), self.paper_pct) / 255.0
        x = to_float(image)
        toward = cv2.add(-x, (*map(float, paper), 0.0))  # paper - x (per-channel scalar add)
        x += toward * _rgb(fade)
        return to_uint8(x)


def _screen(h: int, w: int, period: float, angle_deg: float, phase: np.ndarray) -> np.ndarray:
    """Clustered-dot halftone threshold screen in [0, 1] (two crossed cosines, rotated).

    ``cos(a_x + b_y)`` is expanded as ``cos a cos b - sin a sin b``, so both cosines together are
    one (h x 4) @ (4 x w) product: one pass over the image instead of a dozen.
    """
    t = np.deg2rad(angle_deg)
    k = 2 * np.pi / period
    xs, ys = np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32)
    rows, cols = [], []
    for (cx, cy), ph in zip(((np.cos(t), np.sin(t)), (-np.sin(t), np.cos(t))), phase, strict=True):
        a = np.float32(k * cx) * xs + np.float32(ph)
        b = np.float32(k * cy) * ys
        rows += [np.float32(0.25) * np.cos(b), np.float32(-0.25) * np.sin(b)]
        cols += [np.cos(a), np.sin(a)]
    out = np.stack(rows, 1) @ np.stack(cols, 0)
    out += np.float32(0.5)
    return out


# Classic CMY(K) screen angles (degrees): cyan 15, magenta 75, yellow 0, black 45.
_SCREEN_ANGLES = (15.0, 75.0, 0.0)


@register(
    "halftone",
    "document",
    ladder={"strength": (0.12, 0.25, 0.4, 0.6, 0.85), "period": (2.5, 3.0, 3.5, 4.0, 5.0)},
    identity={"strength": 0.0, "period": 2.5},
    tags=(*DOCUMENT, PIXEL_LEVEL),
)
class Halftone(Primitive):
    """Halftone printing or fax: continuous tones rendered as dots of a periodic screen.

    Clustered-dot ordered dithering (Ulichney, Digital Halftoning, 1987): each ink separation is
    thresholded against a rotated screen of period ``period`` px (at 224 px, at least 2 px) at
    the classic CMY angles 15/75/0 degrees, or, in ``mono`` mode, luma against a 45-degree screen
    as in newsprint and fax. The screen's registration on the page is random, ink spreads by
    ``spread_px`` (dot gain) and the result is blended in with weight ``strength``.
    """

    strength: float = Field(0.4, ge=0.0, le=1.0, description="blend weight of the halftoned image")
    period: float = Field(3.5, ge=1.0, le=20.0, description="screen period (px at 224 px)")
    spread_px: float = Field(0.4, ge=0.0, le=3.0, description="dot gain blur sigma (px at 224 px)")
    mode: Literal["color", "mono"] = Field("color", description="CMY colour screens or one mono screen")

    def apply(self, image: np.ndarray, ctx: Context) -> np.ndarray:
        h, w = image.shape[:2]
        period = ctx.px(self.period, 2.0)
        phases = ctx.rng.uniform(0.0, 2 * np.pi, (3, 2))
        x = to_float(image)
        if self.mode == "mono":
            y = cv2.cvtColor(x, cv2.COLOR_RGB2GRAY)
            dots = _rgb((y > _screen(h, w, period, 45.0, phases[0])).astype(np.float32))
        else:
            screens = [_screen(h, w, period, a, p) for a, p in zip(_SCREEN_ANGLES, phases, strict=True)]
            dots = (x > cv2.merge(screens)).astype(np.float32)
        dots = gaussian(dots, ctx.px(self.spread_px))
        x += (dots - x) * np.float32(self.strength)
        return to_uint8(x)


@register(
    "low_dpi",
    "document",
    ladder={"pixel": (1.6, 2.0, 2.5, 3.2, 4.0), "sharpen": (0.0, 0.0, 0.2, 0.45, 0.7)},
    identity={"pixel": 1.0, "sharpen": 0.0},
    stochastic=False,
    tags=DOCUMENT,
    backend="opencv",
)
class LowDpi(Primitive):
    """Low-resolution scanning: a page scanned at a fraction of the DPI and shown upsampled.

    The scanner integrates light over pixels ``pixel`` times larger (at 224 px; 2 = 300 to 150
    DPI), modelled by area downsampling, and the viewer upsamples bilinearly. Low-DPI scanners and
    fax drivers then apply "text enhancement", a local-contrast boost toward a binarised page
    (akin to Niblack/Sauvola local thresholding), blended in with weight ``sharpen``.
    """

    pixel: float = Field(2.5, ge=1.0, le=16.0, description="scan pixel size (px at 224 px)")
    sharpen: float = Field(0.2, ge=0.0, le=1.0, description="blend weight of the local-contrast boost")
    gain: float = Field(4.0, ge=1.0, le=20.0, description="local-contrast gain of the boost")
    window_px: float = Field(6.0, ge=1.0, le=50.0, description="local-mean window sigma (px at 224 px)")

    def apply(self, image: np.ndarray, ctx: Context) -> np.ndarray:
        h, w = image.shape[:2]
        pix = ctx.px(self.pixel, 1.0)
        sw, sh = max(1, round(w / pix)), max(1, round(h / pix))
        out = image
        if (sw, sh) != (w, h):
            small = cv2.resize(image, (sw, sh), interpolation=cv2.INTER_AREA)
            out = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
        if self.sharpen <= 0:
            return out.copy() if out is image else out
        x = to_float(out)
        mean = _wide_blur(x, ctx.px(self.window_px, 0.5))
        boosted = np.clip(mean + (x - mean) * np.float32(self.gain), 0.0, 1.0)
        x += (boosted - x) * np.float32(self.sharpen)
        return to_uint8(x)
