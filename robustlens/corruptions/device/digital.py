"""Device kernels of the digital family: JPEG, resampling and quantisation (``primitives/digital.py``).

JPEG uses torchvision's libjpeg (CPU) or nvJPEG (CUDA) codec in batches at the primitive's IJG
quality, as ImageNet-C's JPEG (Hendrycks & Dietterich, ICLR 2019). WebP has no torch codec, so it
has no device kernel (an audit using it corrupts on CPU). Resampling uses OpenCV's area rule
exactly (``_resample.resize``) and bicubic/bilinear with OpenCV's grid; the uint8 intermediate of
the numpy path is rounded here too.
"""

from __future__ import annotations

import numpy as np
import torch
from torchvision.io import decode_jpeg, encode_jpeg

from robustlens.corruptions.device import Batch, device_kernel
from robustlens.corruptions.device._layers import u8
from robustlens.corruptions.device._resample import resize
from robustlens.corruptions.primitives.digital import (
    _BAYER8,
    BitDepth,
    ColorQuantization,
    Downscale,
    Jpeg,
    Pixelate,
)


@device_kernel("jpeg")
def jpeg(prim: Jpeg, batch: Batch) -> torch.Tensor:
    """Encode and decode every image as a baseline JPEG (4:2:0) at ``quality``, in one batch."""
    levels = torch.round(batch.images * 255.0).to(torch.uint8)
    encoded = encode_jpeg(list(levels), quality=int(prim.quality))  # nvJPEG on CUDA, libjpeg on CPU
    # decode_jpeg reads the compressed bytes from host memory whatever device it decodes on
    decoded = decode_jpeg([e.cpu() for e in encoded], device=batch.device)
    return torch.stack(list(decoded)).to(batch.images.dtype) / 255.0


def _factor(factor: float, batch: Batch) -> float:
    return factor / max(1.0, batch.scale)  # as digital._effective_factor


def _small(prim: Pixelate | Downscale, batch: Batch) -> torch.Tensor:
    h, w = int(batch.images.shape[-2]), int(batch.images.shape[-1])
    f = _factor(prim.factor, batch)
    return u8(resize(batch.images, round(h * f), round(w * f), "area"))


@device_kernel("pixelate")
def pixelate(prim: Pixelate, batch: Batch) -> torch.Tensor:
    """Area downsampling by ``factor`` and OpenCV's area upsampling (blocks, blended seams)."""
    h, w = int(batch.images.shape[-2]), int(batch.images.shape[-1])
    return resize(_small(prim, batch), h, w, "area")


@device_kernel("downscale")
def downscale(prim: Downscale, batch: Batch) -> torch.Tensor:
    """Area downsampling by ``factor``, bicubic (or bilinear) upsampling back."""
    h, w = int(batch.images.shape[-2]), int(batch.images.shape[-1])
    mode = "cubic" if prim.interpolation == "bicubic" else "linear"
    return resize(_small(prim, batch), h, w, mode)


@device_kernel("bit_depth")
def bit_depth(prim: BitDepth, batch: Batch) -> torch.Tensor:
    """Each channel rounded to the nearest of ``round(2 ** bits)`` levels (``_posterise_lut``)."""
    steps = max(1, round(2.0**prim.bits) - 1)
    level = torch.round(batch.images * 255.0)
    return torch.round(torch.round(level * steps / 255.0) * 255.0 / steps) / 255.0


@device_kernel("color_quantization")
def color_quantization(prim: ColorQuantization, batch: Batch) -> torch.Tensor:
    """Uniform ``levels ** 3`` palette with 8x8 Bayer ordered dithering."""
    x = batch.images
    h, w = int(x.shape[-2]), int(x.shape[-1])
    steps = float(int(prim.levels) - 1)
    reps = (-(-h // 8), -(-w // 8))
    thresh = torch.as_tensor(np.tile(_BAYER8, reps)[:h, :w], device=x.device)
    thresh = 0.5 + prim.dither * (thresh - 0.5)
    q = torch.floor(torch.round(x * 255.0) * (steps / 255.0) + thresh).clamp(0, steps)
    return torch.floor(q * (255.0 / steps) + 0.5) / 255.0
