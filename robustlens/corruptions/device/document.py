"""Device kernels of the document family: skew, bleed-through, ink fading, halftone, low DPI (issue 14).

They reproduce ``primitives/document.py``. Skew angles, screen phases and the fading field's small
random grids are drawn on the host from each image's own generator in the primitive's order; the
rotation, blurs, percentiles, halftone screens and resampling run batched on the device.
"""

from __future__ import annotations

import numpy as np
import torch

from robustlens.corruptions.base import Primitive
from robustlens.corruptions.device import Batch, device_kernel
from robustlens.corruptions.device._filters import gaussian
from robustlens.corruptions.device._layers import gray, px, quantile_linear, smooth_field, u8
from robustlens.corruptions.device._resample import grid, resize, resize_linear_u8
from robustlens.corruptions.device.geometric import rotate
from robustlens.corruptions.primitives.document import (
    _SCREEN_ANGLES,
    BleedThrough,
    Halftone,
    InkFading,
    LowDpi,
    ScanSkew,
)


def wide_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """``document._wide_blur``: a Gaussian; a wide one on a copy shrunk to sigma ~2 and enlarged."""
    f = sigma / 2.0
    if f <= 2.0:
        return gaussian(x, sigma)
    h, w = x.shape[-2:]
    small = resize(x, max(1, round(h / f)), max(1, round(w / f)), "area")
    return resize(gaussian(small, 2.0), h, w, "linear")


@device_kernel("scan_skew")
def _scan_skew(prim: Primitive, batch: Batch) -> torch.Tensor:
    assert isinstance(prim, ScanSkew)
    angles = []
    for r in batch.rngs:
        sign = 1.0 if r.random() < 0.5 else -1.0
        angles.append(sign * prim.angle * r.uniform(0.75, 1.0))
    return rotate(batch.images, angles, "constant", prim.fill / 255.0)


@device_kernel("bleed_through")
def _bleed_through(prim: Primitive, batch: Batch) -> torch.Tensor:
    assert isinstance(prim, BleedThrough)
    verso = wide_blur(batch.images.flip(-1), px(prim.blur_px, batch.scale))
    return batch.images * (verso * prim.strength + (1.0 - prim.strength))


@device_kernel("ink_fading")
def _ink_fading(prim: Primitive, batch: Batch) -> torch.Tensor:
    assert isinstance(prim, InkFading)
    x = batch.images
    h, w = x.shape[-2:]
    f = min(1.0, 112.0 / min(h, w))
    gh, gw = max(2, round(h * f)), max(2, round(w * f))
    field = smooth_field(batch.rngs, (gh, gw), px(prim.patch_px, batch.scale) * f, x.device, 3)
    field = resize(field, h, w, "linear")
    fade = prim.strength * ((1.0 - prim.unevenness) + prim.unevenness * field)
    step = max(1, min(h, w) // 128)
    sample = x[:, :, ::step, ::step].flatten(2)
    paper = quantile_linear(sample.flatten(0, 1), prim.paper_pct / 100.0).view(-1, 3)  # as np.percentile
    return x + (paper[:, :, None, None] - x) * fade


def _screens(
    h: int, w: int, period: float, angles: list[float], phases: torch.Tensor, device: torch.device
) -> torch.Tensor:
    """``document._screen`` for each angle (one channel each) and image: (B, len(angles), H, W).

    ``0.5 + 0.25 cos(k (cx x + cy y) + phase)`` summed over the two crossed directions: the same
    function the CPU evaluates as a sum of cosine products.
    """
    xs, ys = grid(h, w, device)
    k = 2 * np.pi / period
    out = []
    for c, angle in enumerate(angles):
        t = np.deg2rad(angle)
        plane = torch.full((1, h, w), 0.5, device=device)
        for j, (cx, cy) in enumerate(((np.cos(t), np.sin(t)), (-np.sin(t), np.cos(t)))):
            ph = phases[:, c, j].view(-1, 1, 1)
            plane = plane + 0.25 * torch.cos(float(k * cx) * xs + float(k * cy) * ys + ph)
        out.append(plane)
    return torch.stack(out, 1)


@device_kernel("halftone")
def _halftone(prim: Primitive, batch: Batch) -> torch.Tensor:
    assert isinstance(prim, Halftone)
    x = batch.images
    h, w = x.shape[-2:]
    period = px(prim.period, batch.scale, 2.0)
    phases = torch.from_numpy(np.stack([r.uniform(0.0, 2 * np.pi, (3, 2)) for r in batch.rngs]))
    phases = phases.float().to(x.device)
    if prim.mode == "mono":
        dots = (gray(x) > _screens(h, w, period, [45.0], phases, x.device)).float().expand_as(x)
    else:
        dots = (x > _screens(h, w, period, list(_SCREEN_ANGLES), phases, x.device)).float()
    dots = gaussian(dots, px(prim.spread_px, batch.scale))
    return x + (dots - x) * prim.strength


@device_kernel("low_dpi")
def _low_dpi(prim: Primitive, batch: Batch) -> torch.Tensor:
    assert isinstance(prim, LowDpi)
    x = batch.images
    h, w = x.shape[-2:]
    pix = px(prim.pixel, batch.scale, 1.0)
    sw, sh = max(1, round(w / pix)), max(1, round(h / pix))
    if (sw, sh) != (w, h):
        x = resize_linear_u8(u8(resize(x, sh, sw, "area")), h, w)
    if prim.sharpen <= 0:
        return x
    mean = wide_blur(x, px(prim.window_px, batch.scale, 0.5))
    boosted = (mean + (x - mean) * prim.gain).clamp(0.0, 1.0)
    return x + (boosted - x) * prim.sharpen
