"""Device kernels of the optics family: chromatic aberration, lens distortion, dirty lens, droplets.

They reproduce ``primitives/optics.py`` (issue 14). Random parameters (optical centre, smudge
grids, dust and drop positions) are drawn on the host from each image's own generator in the
primitive's order; the warps, blurs and blends run batched on the device. Water drops are
rendered on small per-drop grids as on CPU; where drops overlap the later one wins, resolved
deterministically with a scatter-max of the drop index (no write races on a GPU).
"""

from __future__ import annotations

import numpy as np
import torch

from robustlens.corruptions.base import Primitive
from robustlens.corruptions.device import Batch, device_kernel
from robustlens.corruptions.device._filters import gaussian
from robustlens.corruptions.device._layers import mix, px, quantile_linear, smooth_field, u8
from robustlens.corruptions.device._resample import grid, remap, resize
from robustlens.corruptions.primitives.optics import (
    _MAX_DROPS,
    ChromaticAberration,
    DirtyLens,
    LensDistortion,
    WaterDroplets,
)


def soft_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """``optics._soft_blur``: a Gaussian; large sigmas on a copy shrunk to sigma 2 (area) and enlarged."""
    if sigma <= 3.0:
        return gaussian(x, sigma)
    h, w = x.shape[-2:]
    f = sigma / 2.0
    small = resize(x, max(1, round(h / f)), max(1, round(w / f)), "area")
    return resize(gaussian(small, 2.0), h, w, "linear")


@device_kernel("chromatic_aberration")
def _chromatic_aberration(prim: Primitive, batch: Batch) -> torch.Tensor:
    assert isinstance(prim, ChromaticAberration)
    x = batch.images
    h, w = x.shape[-2:]
    a = px(prim.shift, batch.scale) / (0.5 * float(np.hypot(h, w)))
    xs, ys = grid(h, w, x.device)
    cx, cy = (w - 1) / 2, (h - 1) / 2
    out = x.clone()
    for ch, factor in ((0, 1.0 + a), (2, 1.0 - a * prim.blue_ratio)):
        # magnification about the centre; cv2.warpAffine samples the inverse map
        map_x, map_y = cx + (xs - cx) / factor, cy + (ys - cy) / factor
        out[:, ch : ch + 1] = remap(x[:, ch : ch + 1], map_x, map_y, "reflect")
    return out


@device_kernel("lens_distortion")
def _lens_distortion(prim: Primitive, batch: Batch) -> torch.Tensor:
    assert isinstance(prim, LensDistortion)
    h, w = batch.images.shape[-2:]
    half_diag = 0.5 * float(np.hypot(h, w))
    rows = []
    for rng in batch.rngs:
        mode = prim.mode if prim.mode != "random" else ("barrel", "pincushion")[int(rng.integers(0, 2))]
        off = rng.uniform(-1.0, 1.0, 2) * px(prim.decentre, batch.scale)
        cx, cy = (w - 1) / 2 + off[0], (h - 1) / 2 + off[1]
        r_max = float(np.hypot(max(cx, w - 1 - cx), max(cy, h - 1 - cy))) / half_diag
        k = prim.k if mode == "barrel" else -min(prim.k, 0.3 / r_max**2)
        rows.append((cx, cy, k, 1.0 / max(1.0, 1.0 + k * r_max**2)))
    p = torch.tensor(rows, dtype=torch.float32, device=batch.device).view(-1, 4, 1, 1)
    xs, ys = grid(h, w, batch.device)
    dx, dy = xs - p[:, 0], ys - p[:, 1]
    factor = (1.0 + p[:, 2] * (dx * dx + dy * dy) / half_diag**2) * p[:, 3]
    return remap(batch.images, p[:, 0] + dx * factor, p[:, 1] + dy * factor, "reflect")


@device_kernel("dirty_lens")
def _dirty_lens(prim: Primitive, batch: Batch) -> torch.Tensor:
    assert isinstance(prim, DirtyLens)
    x = batch.images
    h, w = x.shape[-2:]
    dev = x.device
    sh, sw = max(2, h // 4), max(2, w // 4)
    field = smooth_field(batch.rngs, (sh, sw), px(prim.blotch_size, batch.scale, 4.0) * sh / h, dev, 3)
    t = quantile_linear(field.flatten(1), 1.0 - prim.coverage).view(-1, 1, 1, 1)
    blotch = resize(((field - t) / 0.15).clamp(0.0, 1.0), h, w, "linear")
    blurred = soft_blur(x, px(2.5, batch.scale, 0.5))
    glow = resize(gaussian(resize(x, max(1, h // 8), max(1, w // 8), "area"), 3.0), h, w, "linear")
    hazy = blurred * 0.45 + glow * 0.66 + 0.055
    s = float(prim.strength)
    out = mix(x, hazy, blotch * s)
    out = out * (1.0 - 0.15 * s) + glow * (0.15 * s)
    if prim.dust:
        params = torch.from_numpy(np.stack([r.random((prim.dust, 3)) for r in batch.rngs])).to(dev)
        xs, ys = grid(h, w, dev)
        specks = torch.zeros((len(batch.rngs), h, w), dtype=torch.float32, device=dev)
        for i in range(prim.dust):  # an antialiased filled disc, as cv2.circle(..., LINE_AA)
            cx = torch.floor(params[:, i, 0] * w).float().view(-1, 1, 1)
            cy = torch.floor(params[:, i, 1] * h).float().view(-1, 1, 1)
            radius = (3.0 + 6.0 * params[:, i, 2]) * batch.scale
            radius = torch.round(radius).clamp(min=1.0).float().view(-1, 1, 1)
            dist = torch.sqrt((xs - cx) ** 2 + (ys - cy) ** 2)
            specks = torch.maximum(specks, (radius + 0.5 - dist).clamp(0.0, 1.0))
        specks = soft_blur(specks[:, None], px(2.0, batch.scale, 0.5))
        out = out * (1.0 - specks * (0.5 * s))
    return out


def _drop_maps(
    prim: WaterDroplets, batch: Batch
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Source maps, shading and drop mask (each (B, H, W)) of ``WaterDroplets.apply``, batched."""
    b = batch.size
    h, w = batch.images.shape[-2:]
    dev = batch.device
    pool = torch.from_numpy(np.stack([r.random((_MAX_DROPS, 4))[: prim.count] for r in batch.rngs]))
    pool = pool.to(dev)
    r = torch.clamp(px(prim.radius, batch.scale) * (0.6 + 0.8 * pool[..., 2]), min=1.5).float()
    rx = r[..., None, None]
    ry = (r * (0.85 + 0.3 * pool[..., 3]).float())[..., None, None]
    half = int(np.ceil(float(ry.max()))) + 1
    offs = torch.arange(-half, half + 1, dtype=torch.float32, device=dev)
    cx, cy = (pool[..., 0] * w).float(), (pool[..., 1] * h).float()
    pxs = torch.floor(cx)[..., None, None] + offs.view(1, 1, 1, -1)
    pys = torch.floor(cy)[..., None, None] + offs.view(1, 1, -1, 1)
    dx, dy = pxs - cx[..., None, None], pys - cy[..., None, None]
    rho2 = (dx / rx) ** 2 + (dy / ry) ** 2
    keep = (rho2 < 1.0) & (pxs >= 0) & (pxs < w) & (pys >= 0) & (pys < h)
    gain = prim.zoom * (1.0 + 0.6 * rho2)
    src_x = cx[..., None, None] - dx * gain
    src_y = cy[..., None, None] - dy * gain
    rim = ((rho2 - 0.6) * 2.5).clamp(0.0, 1.0)
    spot = (dx + 0.35 * rx) ** 2 + (dy + 0.4 * ry) ** 2
    shade = 1.0 - 0.45 * rim + 0.5 * torch.exp(-spot / (2 * (0.12 * rx) ** 2 + 1e-3))
    soft = ((1.0 - rho2) * 6.0).clamp(0.0, 1.0)
    shape = rho2.shape
    image = torch.arange(b, device=dev).view(-1, 1, 1, 1).expand(shape)
    drop = torch.arange(prim.count, device=dev).view(1, -1, 1, 1).expand(shape)
    flat = (image * (h * w) + pys.expand(shape).long() * w + pxs.expand(shape).long())[keep]
    drop = drop[keep]
    # later drops overwrite earlier ones: the last drop covering a pixel wins (a scatter-max)
    winner = torch.full((b * h * w,), -1, dtype=torch.long, device=dev)
    winner.scatter_reduce_(0, flat, drop, reduce="amax")
    last = drop == winner[flat]
    xs, ys = grid(h, w, dev)
    map_x = xs.expand(b, h, w).reshape(-1).clone()
    map_y = ys.expand(b, h, w).reshape(-1).clone()
    shading = torch.ones(b * h * w, dtype=torch.float32, device=dev)
    mask = torch.zeros(b * h * w, dtype=torch.float32, device=dev)
    map_x[flat[last]] = src_x.expand(shape)[keep][last]
    map_y[flat[last]] = src_y.expand(shape)[keep][last]
    shading[flat[last]] = shade.expand(shape)[keep][last]
    mask.scatter_reduce_(0, flat, soft.expand(shape)[keep], reduce="amax")
    return map_x.view(b, h, w), map_y.view(b, h, w), shading.view(b, h, w), mask.view(b, h, w)


@device_kernel("water_droplets")
def _water_droplets(prim: Primitive, batch: Batch) -> torch.Tensor:
    assert isinstance(prim, WaterDroplets)
    if not prim.count:
        return batch.images
    map_x, map_y, shading, mask = _drop_maps(prim, batch)
    seen = u8(soft_blur(u8(remap(batch.images, map_x, map_y, "reflect")), px(prim.blur, batch.scale)))
    seen = seen * shading[:, None]
    mask = soft_blur(mask[:, None], px(0.7, batch.scale))
    return mix(batch.images, seen, mask)
