"""Digital family: compression, resampling and quantisation artefacts.

JPEG and pixelation follow ImageNet-C (Hendrycks & Dietterich, ICLR 2019). Codec artefacts (the
8x8 JPEG block, the WebP macroblock, one-pixel dither cells) are properties of the pixel grid, so
they are deliberately not rescaled with resolution; resampling factors are relative to the image
size and are resolution-aware by construction.
"""

from __future__ import annotations

import io
from functools import lru_cache
from typing import Literal

import cv2
import numpy as np
from PIL import Image
from pydantic import Field

from robustlens.corruptions.base import IMAGENET_C, PIXEL_LEVEL, Context, Primitive, register
from robustlens.corruptions.ops import resize

_INTERPOLATION = {"bilinear": cv2.INTER_LINEAR, "bicubic": cv2.INTER_CUBIC}


def _effective_factor(factor: float, ctx: Context) -> float:
    """Resolution-aware resampling factor: ``factor`` is relative to the 224 px reference, so the
    effective capture resolution is ``224 * factor`` px on the short side for images larger than the
    reference (a 2000 px photo is pixelated to the same detail as a 224 px crop); smaller images
    are resampled by ``factor`` itself."""
    return factor / max(1.0, ctx.scale)


def jpeg_roundtrip(image: np.ndarray, quality: int) -> np.ndarray:
    """Encode an RGB uint8 image as JPEG at ``quality`` and decode it, colours in the right order.

    OpenCV's codec expects BGR: handed RGB (as albumentations' ImageCompression does), it weights
    red as blue in luma and swaps the roles of the chroma planes, so red loses ~1 dB and blue gains
    ~1 dB against a correct encoder. The explicit conversions make the result bit-identical to
    Pillow's encoder at the same quality.
    """
    bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:  # pragma: no cover - OpenCV always encodes a valid uint8 image
        raise RuntimeError("JPEG encoding failed")
    return cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


@register(
    "jpeg",
    "digital",
    ladder={"quality": (25, 18, 15, 10, 7)},
    identity={"quality": 100},
    stochastic=False,
    tags=(*IMAGENET_C, PIXEL_LEVEL),
    backend="opencv",
    fidelity=("exact", "ImageNet-C's qualities; output bit-identical to its Pillow encoder."),
)
class Jpeg(Primitive):
    """JPEG compression artefacts: blocking, ringing and colour bleeding from lossy re-encoding.

    Quality ladder 25, 18, 15, 10, 7 from ImageNet-C (Hendrycks & Dietterich 2019); OpenCV's
    libjpeg uses the same IJG quality scale as Pillow, with 4:2:0 chroma subsampling. The image is
    handed to OpenCV as BGR (see ``jpeg_roundtrip``), so the colours are compressed as a real camera
    or browser would; the output equals Pillow's byte for byte and is faster than albumentations.

    ImageNet-C fidelity: exact (same qualities and output at any size; a codec is pixel-level).
    """

    quality: int = Field(15, ge=1, le=100, description="JPEG quality factor (IJG scale, 100 = best)")

    def apply(self, image: np.ndarray, ctx: Context) -> np.ndarray:
        return jpeg_roundtrip(image, int(self.quality))


@register(
    "webp",
    "digital",
    ladder={"quality": (30, 15, 8, 3, 0)},
    identity={"quality": 100},
    stochastic=False,
    tags=(PIXEL_LEVEL,),
    backend="pillow",
)
class WebP(Primitive):
    """WebP compression artefacts: smeared detail and blotchy colour from lossy web delivery.

    libwebp's lossy mode predicts 4x4 and 16x16 blocks and quantises the residuals, so low
    qualities wash out texture and smear edges rather than producing JPEG's hard 8x8 grid.
    Encoded through Pillow, which exposes libwebp's effort setting (OpenCV's encoder is fixed at
    a slow effort and runs at ~200 img/s); artefacts at a given quality barely depend on it.

    ImageNet-C fidelity: none (WebP is not an ImageNet-C corruption).
    """

    quality: int = Field(8, ge=0, le=100, description="libwebp lossy quality factor (100 = best)")
    method: int = Field(0, ge=0, le=6, description="libwebp encoder effort (0 = fastest, 6 = best)")

    def apply(self, image: np.ndarray, ctx: Context) -> np.ndarray:
        buf = io.BytesIO()
        Image.fromarray(image).save(buf, format="WEBP", quality=int(self.quality), method=int(self.method))
        # Decoded by OpenCV's libwebp straight to RGB: the same pixels as Pillow's decoder (WebP
        # decoding is normative) in two thirds of the time; Pillow stays as the fallback.
        decoded = cv2.imdecode(np.frombuffer(buf.getbuffer(), np.uint8), cv2.IMREAD_COLOR_RGB)
        if decoded is not None and decoded.shape == image.shape:
            return decoded
        buf.seek(0)
        with Image.open(buf) as fallback:
            return np.array(fallback.convert("RGB"))


@register(
    "pixelate",
    "digital",
    ladder={"factor": (0.6, 0.5, 0.4, 0.3, 0.25)},
    identity={"factor": 1.0},
    stochastic=False,
    tags=IMAGENET_C,
    backend="opencv",
    fidelity=("approximate", "ImageNet-C's factors; area (not nearest) upsampling smooths block seams."),
)
class Pixelate(Primitive):
    """Pixelation: a low-resolution image enlarged into square blocks (cheap upscalers, mosaics).

    Area (box) downsampling by ``factor`` and area upsampling (OpenCV ``INTER_AREA`` both ways).
    ImageNet-C (Hendrycks & Dietterich 2019), whose factors 0.6, 0.5, 0.4, 0.3, 0.25 form the
    ladder, downsamples with PIL ``BOX`` and upsamples with PIL ``NEAREST``. Area upsampling is
    nearest-neighbour at integer ratios and blends only the block seams at fractional ones;
    pure nearest-neighbour makes uneven 1-2 px blocks at factor 0.6 that look (and score) worse
    than factor 0.5.

    ImageNet-C fidelity: approximate (same factors, seams blended instead of nearest-neighbour).
    """

    factor: float = Field(0.4, ge=0.02, le=1.0, description="linear size of the low-resolution copy")

    def apply(self, image: np.ndarray, ctx: Context) -> np.ndarray:
        h, w = image.shape[:2]
        f = _effective_factor(self.factor, ctx)
        small = area_down(image, round(w * f), round(h * f))
        return resize(small, w, h, cv2.INTER_AREA)


def area_down(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """``cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)`` of a uint8 image, bit for bit.

    Why: at a non-integer ratio OpenCV's uint8 area path is scalar code; its float32 path is
    vectorised, sums the same float products and rounds the same way (1.6x faster with the
    conversions). Integer ratios keep OpenCV's fast uint8 path, which rounds halves up.
    """
    h, w = image.shape[:2]
    width, height = max(1, width), max(1, height)
    if width > w or height > h or (w % width == 0 and h % height == 0):
        return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
    small = cv2.resize(image.astype(np.float32), (width, height), interpolation=cv2.INTER_AREA)
    return cv2.convertScaleAbs(small)


@register(
    "downscale",
    "digital",
    ladder={"factor": (0.6, 0.45, 0.33, 0.25, 0.18)},
    identity={"factor": 1.0},
    stochastic=False,
    backend="opencv",
)
class Downscale(Primitive):
    """Low-resolution capture upscaled back: a soft, detail-less image from a small sensor or thumbnail.

    The image is area-averaged down by ``factor`` (what a coarser sensor integrates) and
    interpolated back up, so it looks blurry rather than blocky (compare ``pixelate``).
    """

    factor: float = Field(0.33, ge=0.02, le=1.0, description="linear size of the low-resolution copy")
    interpolation: Literal["bilinear", "bicubic"] = Field(
        "bicubic", description="upsampling filter of the display or upscaler"
    )

    def apply(self, image: np.ndarray, ctx: Context) -> np.ndarray:
        h, w = image.shape[:2]
        f = _effective_factor(self.factor, ctx)
        small = resize(image, round(w * f), round(h * f), cv2.INTER_AREA)
        return resize(small, w, h, _INTERPOLATION[self.interpolation])


@lru_cache(maxsize=64)
def _posterise_lut(levels: int) -> np.ndarray:
    steps = max(1, levels - 1)
    x = np.arange(256, dtype=np.float64)
    return np.clip(np.rint(np.rint(x * steps / 255.0) * 255.0 / steps), 0, 255).astype(np.uint8)


@register(
    "bit_depth",
    "digital",
    ladder={"bits": (5.5, 4.5, 3.5, 2.5, 2.0)},
    identity={"bits": 8.0},
    stochastic=False,
    tags=(PIXEL_LEVEL,),
    backend="opencv",
)
class BitDepth(Primitive):
    """Reduced bit depth: banding and posterised gradients from a low-bit sensor, codec or display.

    Each channel is rounded to the nearest of ``round(2**bits)`` levels spread over the full range
    (black and white are kept and mean brightness is preserved, unlike bit masking). ``bits`` is
    an effective number of bits (as quoted for ADCs), so fractional values are allowed and the
    ladder interpolates smoothly: 5.5 (45 levels, faint banding in skies) to 2 (4 levels, strong
    posterisation). Whole 6 or 7 bits are near-invisible on natural images (SSIM >= 0.995).
    """

    bits: float = Field(3.5, ge=1.0, le=8.0, description="effective bits per channel (2**bits levels)")

    def apply(self, image: np.ndarray, ctx: Context) -> np.ndarray:
        return cv2.LUT(image, _posterise_lut(round(2.0**self.bits)))


def _bayer(n: int) -> np.ndarray:
    """Ordered-dither thresholds of an ``n``x``n`` Bayer matrix (n a power of two), in (0, 1)."""
    m = np.zeros((1, 1), np.float32)
    while m.shape[0] < n:
        m = np.block([[4 * m, 4 * m + 2], [4 * m + 3, 4 * m + 1]])
    return ((m + 0.5) / m.size).astype(np.float32)


_BAYER8 = _bayer(8)


@register(
    "color_quantization",
    "digital",
    ladder={"levels": (16, 8, 6, 4, 3)},
    identity={"levels": 256},
    stochastic=False,
    tags=(PIXEL_LEVEL,),
)
class ColorQuantization(Primitive):
    """Palette reduction: GIF-style few-colour images with ordered dithering and false contours.

    A fixed uniform palette of ``levels**3`` colours (``levels=6`` is the 216-colour web-safe GIF
    palette) with 8x8 Bayer ordered dithering, applied per pixel as a real encoder would. The
    ladder runs from 16 levels (4096 colours, faint dither texture) to 3 (27 colours, coarse
    dither and false contours). A fixed palette is used instead of median-cut so the cost stays
    well under 1 ms at 224 px.
    """

    levels: int = Field(6, ge=2, le=256, description="palette levels per channel (levels**3 colours)")
    dither: float = Field(1.0, ge=0.0, le=1.0, description="ordered-dither strength (0 = plain rounding)")

    def apply(self, image: np.ndarray, ctx: Context) -> np.ndarray:
        h, w = image.shape[:2]
        steps = np.float32(int(self.levels) - 1)
        reps = (-(-h // 8), -(-w // 8))
        thresh = np.tile(_BAYER8, reps)[:h, :w, None]
        thresh = np.float32(0.5) + np.float32(self.dither) * (thresh - np.float32(0.5))
        q = np.floor(image.astype(np.float32) * (steps / np.float32(255.0)) + thresh)
        q = np.clip(q, 0, steps)
        return (q * (np.float32(255.0) / steps) + np.float32(0.5)).astype(np.uint8)
