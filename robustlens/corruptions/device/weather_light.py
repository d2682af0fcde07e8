"""Device kernels of the weather family, part 2: sun flare and cast shadows (issue 14).

Both reproduce ``primitives/weather_light.py``: the positions, angles and ghost parameters are
drawn on the host from the image's own generator in the primitive's order; the flare's glow, rays
and ghost discs are then rendered for the whole batch at once on the device (every ghost on the
whole half-resolution grid: outside its bounding box its soft disc is exactly zero, as on CPU).
"""

from __future__ import annotations

import numpy as np
import torch

from robustlens.corruptions.base import Primitive
from robustlens.corruptions.device import Batch, device_kernel
from robustlens.corruptions.device._filters import gaussian
from robustlens.corruptions.device._layers import colour, host, quantile_k, ref_shape
from robustlens.corruptions.device._resample import grid, resize
from robustlens.corruptions.primitives.weather_light import _GHOST_TINTS, Shadow, SunFlare


def _flare_draws(prim: SunFlare, gh: int, gw: int, rng: np.random.Generator) -> np.ndarray:
    """One image's flare parameters, drawn as ``SunFlare.apply`` draws them.

    Returns one row: sx, sy, phase, ray angles (``rays``), then per ghost (cx, cy, size, r, g, b, ring).
    """
    r = prim.radius / 2.0
    sx, sy = float(rng.uniform(0.05, 0.95)) * gw, float(rng.uniform(-0.1, 0.35)) * gh
    phase = float(rng.uniform(0, np.pi))
    rays = [phase + np.pi * k / max(1, prim.rays) + float(rng.normal(0, 0.05)) for k in range(prim.rays)]
    ax, ay = gw / 2.0 - sx, gh / 2.0 - sy
    ts = rng.uniform(0.3, 2.0, prim.ghosts)
    sizes = r * rng.uniform(0.25, 1.4, prim.ghosts)
    alphas = rng.uniform(0.15, 0.4, prim.ghosts)
    tints = _GHOST_TINTS[rng.integers(0, len(_GHOST_TINTS), prim.ghosts)] * alphas[:, None].astype(np.float32)
    rings = (rng.random(prim.ghosts) < 0.25).astype(np.float64)
    ghosts = np.column_stack([sx + ts * ax, sy + ts * ay, sizes, tints, rings])
    return np.concatenate([[sx, sy, phase], rays, ghosts.ravel()])


@device_kernel("sun_flare")
def _sun_flare(prim: Primitive, batch: Batch) -> torch.Tensor:
    assert isinstance(prim, SunFlare)
    h, w = batch.images.shape[-2:]
    rh, rw = ref_shape(h, w)
    gh, gw = max(1, (rh + 1) // 2), max(1, (rw + 1) // 2)
    dev = batch.device
    p = torch.from_numpy(np.stack([_flare_draws(prim, gh, gw, r) for r in batch.rngs])).float().to(dev)
    xs, ys = grid(gh, gw, dev)  # (1, 1, gw), (1, gh, 1)
    dx = xs - p[:, 0].view(-1, 1, 1)
    dy = ys - p[:, 1].view(-1, 1, 1)
    d = torch.sqrt(dx * dx + dy * dy)
    r = prim.radius / 2.0
    glow = (
        torch.exp(-(d * d) / (2 * r * r))
        + 0.45 * torch.exp(-d / (2.5 * r))
        + 0.1 * torch.exp(-d / (12.0 * r))
    )
    fade = -d / (5.0 * r)
    for k in range(prim.rays):
        ang = p[:, 3 + k].view(-1, 1, 1)
        perp = dx * torch.sin(ang) - dy * torch.cos(ang)
        glow = glow + 0.35 * torch.exp(fade - perp * perp)
    layer = glow[:, None] * colour(prim.color, dev)
    if prim.ghosts:
        g = p[:, 3 + prim.rays :].view(-1, prim.ghosts, 7)
        gx = xs[None] - g[:, :, 0].view(-1, prim.ghosts, 1, 1)
        gy = ys[None] - g[:, :, 1].view(-1, prim.ghosts, 1, 1)
        dd = torch.sqrt(gx * gx + gy * gy) / g[:, :, 2].view(-1, prim.ghosts, 1, 1)
        a = ((1.0 - dd) / 0.12).clamp(0.0, 1.0)
        ring = g[:, :, 6].view(-1, prim.ghosts, 1, 1) > 0.5
        a = a * torch.where(ring, ((dd - 0.8) / 0.1).clamp(0.0, 1.0), 0.55 + 0.45 * dd * dd)
        layer = layer + torch.einsum("bgyx,bgc->bcyx", a, g[:, :, 3:6])
    layer = (layer + prim.veil * 0.5).clamp(0.0, 1.0) * prim.strength
    return 1.0 - (1.0 - batch.images) * (1.0 - resize(layer, h, w))


@device_kernel("shadow")
def _shadow(prim: Primitive, batch: Batch) -> torch.Tensor:
    assert isinstance(prim, Shadow)
    h, w = batch.images.shape[-2:]
    rh, rw = ref_shape(h, w)
    value = host([prim.field(rh, rw, r) for r in batch.rngs], batch.device)
    masks = (value < quantile_k(value, prim.coverage).view(-1, 1, 1, 1)).float()
    shade = resize(gaussian(masks, prim.penumbra), h, w) * prim.darkness
    return batch.images * (1.0 - shade * colour((1.0, 0.95, 0.85), batch.device))
