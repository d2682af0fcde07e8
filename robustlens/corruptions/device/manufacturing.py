"""Device kernels of the manufacturing family: uneven illumination, vibration blur and dust (issue 14).

They reproduce ``primitives/manufacturing.py``. The light position, the vibration path (its PSF is
built by the primitive's own ``_vibration_kernel`` from the image's generator) and the particle
draws come from each image's own generator in the primitive's order; the gain maps, per-image
correlations and blends run batched on the device. Dust particles are rendered as antialiased
discs (OpenCV's ``LINE_AA`` fill: coverage ramps over one pixel at the rim), batched over images.
"""

from __future__ import annotations

import numpy as np
import torch

from robustlens.corruptions.base import Primitive
from robustlens.corruptions.device import Batch, device_kernel
from robustlens.corruptions.device._filters import filter2d, gaussian
from robustlens.corruptions.device._layers import px
from robustlens.corruptions.device._resample import grid
from robustlens.corruptions.primitives.manufacturing import (
    Dust,
    UnevenIllumination,
    VibrationBlur,
    _vibration_kernel,
)


@device_kernel("uneven_illumination")
def _uneven_illumination(prim: Primitive, batch: Batch) -> torch.Tensor:
    assert isinstance(prim, UnevenIllumination)
    h, w = batch.images.shape[-2:]
    rows = []
    for r in batch.rngs:
        theta = r.uniform(0.0, 2 * np.pi)
        offset = r.uniform(1.0, 1.6)
        centre = r.uniform(-0.3, 0.3, 2)
        rows.append((np.sin(theta), np.cos(theta), offset, centre[0], centre[1]))
    p = torch.tensor(rows, dtype=torch.float32, device=batch.device).view(-1, 5, 1, 1)
    half = min(h, w) / 2.0
    xs, ys = grid(h, w, batch.device)
    xs, ys = (xs - (w - 1) / 2.0) / half, (ys - (h - 1) / 2.0) / half
    d = ys * p[:, 0] + xs * p[:, 1] - p[:, 2]
    light = 1.0 / (1.0 + (d / prim.height) ** 2)
    r2 = (ys - p[:, 4]) ** 2 + (xs - p[:, 3]) ** 2
    cos4 = 1.0 / (1.0 + r2 * 0.25) ** 2
    light = light * ((1.0 - prim.vignette) + prim.vignette * cos4)
    peak = light.amax(dim=(1, 2), keepdim=True)
    gain = 1.0 - prim.strength * (1.0 - light / peak)
    return batch.images * gain[:, None]


@device_kernel("vibration_blur")
def _vibration_blur(prim: Primitive, batch: Batch) -> torch.Tensor:
    assert isinstance(prim, VibrationBlur)
    amp = px(prim.amplitude, batch.scale)
    kernels = [_vibration_kernel(amp, r, prim.jitter) for r in batch.rngs]
    if amp < 0.05:
        return batch.images
    return filter2d(batch.images, torch.from_numpy(np.stack(kernels)), "reflect")


def _discs(
    shape: tuple[int, int, int],
    cx: torch.Tensor,
    cy: torch.Tensor,
    radius: torch.Tensor,
    value: torch.Tensor,
    plane: torch.Tensor,
) -> torch.Tensor:
    """(B, 3, H, W): filled antialiased discs (B, n) of ``value`` on planes ``plane`` (0..2).

    As ``cv2.circle(..., -1, LINE_AA)``: full inside, a one-pixel ramp outside the radius (OpenCV's
    antialiased rim lies outside the nominal radius). Each disc is rendered on its own small patch
    and the patches are combined with a scatter-max, so cost grows with the dust, not the image.
    """
    b, h, w = shape
    dev = cx.device
    half = int(np.ceil(float(radius.max()))) + 2 if radius.numel() else 1
    offs = torch.arange(-half, half + 1, device=dev, dtype=torch.float32)
    pxs = torch.floor(cx)[..., None, None] + offs.view(1, 1, 1, -1)
    pys = torch.floor(cy)[..., None, None] + offs.view(1, 1, -1, 1)
    dist = torch.sqrt((pxs - cx[..., None, None]) ** 2 + (pys - cy[..., None, None]) ** 2)
    cover = (radius[..., None, None] + 1.0 - dist).clamp(0.0, 1.0) * value[..., None, None]
    keep = (cover > 0) & (pxs >= 0) & (pxs < w) & (pys >= 0) & (pys < h)
    img = torch.arange(b, device=dev).view(-1, 1, 1, 1)
    flat = ((img * 3 + plane[..., None, None]) * h + pys.long()) * w + pxs.long()
    out = torch.zeros(b * 3 * h * w, device=dev)
    out.scatter_reduce_(0, flat.expand(cover.shape)[keep], cover[keep], reduce="amax")
    return out.view(b, 3, h, w)


@device_kernel("dust")
def _dust(prim: Primitive, batch: Batch) -> torch.Tensor:
    assert isinstance(prim, Dust)
    h, w = batch.images.shape[-2:]
    dev = batch.device
    area = (h * w) / px(224.0, batch.scale, 1.0) ** 2
    n = min(50000, round(prim.density * area))
    draws = torch.from_numpy(np.stack([r.random((n, 6)) for r in batch.rngs])).float().to(dev)
    b = batch.size
    u, v, size, kind, tone, shade = draws.unbind(2)  # (B, n) each
    # cv2.circle draws in 1/16 px: centre and radius are truncated to that grid
    cx, cy = torch.floor(u * w * 16) / 16, torch.floor(v * h * 16) / 16
    is_blob = kind < prim.blob
    r_blob = (prim.speck_px * (3.0 + 5.0 * size) * batch.scale).clamp(min=1.0)
    r_speck = (prim.speck_px * torch.exp(size - 0.5) * batch.scale).clamp(min=0.5)
    radius = torch.floor(torch.where(is_blob, r_blob, r_speck) * 16) / 16
    level = torch.where(is_blob, torch.floor(60 + 80 * tone), torch.floor(170 + 85 * tone)) / 255.0
    plane = torch.where(is_blob, 2, torch.where(shade < prim.bright, 1, 0))  # dark, light, soft
    planes = _discs((b, h, w), cx, cy, radius, level, plane)
    dark, light, soft = planes.unbind(1)
    a_dark = torch.maximum(dark, gaussian(soft[:, None], px(2.0, batch.scale, 0.5))[:, 0])
    x = batch.images * (1.0 - a_dark * 0.85)[:, None]
    a_light = light[:, None]
    return x + (0.92 - x) * a_light
