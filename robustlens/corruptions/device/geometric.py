"""Device kernels of the geometric family: rotation, perspective, flip, crop-zoom, elastic, grid warp.

They reproduce ``primitives/geometric.py`` (issue 14) with one bilinear ``grid_sample`` per batch
in OpenCV's border mode (BORDER_REFLECT_101 or constant). The random geometry (angles, corner
moves, crop positions, warp grids) is drawn on the host from each image's own generator in the
primitive's order, so the device warps each image exactly where the CPU warps it; the warp
matrices come from the same OpenCV calls, inverted to destination -> source maps as
``cv2.warpAffine`` / ``cv2.warpPerspective`` do internally.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

from robustlens.corruptions.base import Primitive
from robustlens.corruptions.device import Batch, device_kernel
from robustlens.corruptions.device._layers import host, px, smooth_field
from robustlens.corruptions.device._resample import grid, remap, warp_affine
from robustlens.corruptions.primitives.geometric import (
    CropZoom,
    Elastic,
    Flip,
    GridDistortion,
    Perspective,
    Rotation,
    _hat_weights,
)

_BORDER = {"reflect": "reflect101", "constant": "constant"}


def rotation_inverse(angle_deg: float, h: int, w: int) -> np.ndarray:
    """The destination -> source map of ``cv2.getRotationMatrix2D`` about the centre (2 x 3)."""
    m = cv2.getRotationMatrix2D(((w - 1) / 2.0, (h - 1) / 2.0), angle_deg, 1.0)
    return np.asarray(cv2.invertAffineTransform(m))


def rotate(x: torch.Tensor, angles: list[float], border: str, fill: float = 0.0) -> torch.Tensor:
    """Rotate image i by ``angles[i]`` degrees about its centre (``cv2.warpAffine``, bilinear)."""
    h, w = x.shape[-2:]
    inv = torch.from_numpy(np.stack([rotation_inverse(a, h, w) for a in angles]))
    return warp_affine(x, inv, border, fill)


@device_kernel("rotation")
def _rotation(prim: Primitive, batch: Batch) -> torch.Tensor:
    assert isinstance(prim, Rotation)
    angles = []
    for r in batch.rngs:
        magnitude = prim.angle * r.uniform(0.5, 1.0)
        sign = 1.0 if r.random() < 0.5 else -1.0
        angles.append(sign * magnitude)
    return rotate(batch.images, angles, _BORDER[prim.border])


@device_kernel("perspective")
def _perspective(prim: Primitive, batch: Batch) -> torch.Tensor:
    assert isinstance(prim, Perspective)
    h, w = batch.images.shape[-2:]
    src = np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], np.float32)
    shift = np.float32(px(prim.shift, batch.scale))
    invs = []
    for r in batch.rngs:
        moves = r.uniform(-1.0, 1.0, size=(4, 2)).astype(np.float32) * shift
        invs.append(np.linalg.inv(cv2.getPerspectiveTransform(src, src + moves)))
    m = torch.from_numpy(np.stack(invs)).to(batch.device).view(-1, 9, 1, 1)
    xs, ys = grid(h, w, batch.device)
    xs, ys = xs.double(), ys.double()
    z = m[:, 6] * xs + m[:, 7] * ys + m[:, 8]
    map_x = ((m[:, 0] * xs + m[:, 1] * ys + m[:, 2]) / z).float()
    map_y = ((m[:, 3] * xs + m[:, 4] * ys + m[:, 5]) / z).float()
    return remap(batch.images, map_x, map_y, _BORDER[prim.border])


@device_kernel("flip")
def _flip(prim: Primitive, batch: Batch) -> torch.Tensor:
    assert isinstance(prim, Flip)
    flips, signs = [], []
    for r in batch.rngs:
        flips.append(r.random() < prim.p)
        signs.append(1.0 if r.random() < 0.5 else -1.0)
    x = batch.images
    mask = torch.tensor(flips, device=x.device).view(-1, 1, 1, 1)
    x = torch.where(mask, x.flip(-2 if prim.vertical else -1), x)
    if prim.tilt > 0:
        x = rotate(x, [s * prim.tilt for s in signs], "reflect101")
    return x


@device_kernel("crop_zoom")
def _crop_zoom(prim: Primitive, batch: Batch) -> torch.Tensor:
    assert isinstance(prim, CropZoom)
    h, w = batch.images.shape[-2:]
    k = float(np.sqrt(prim.area))
    invs = []
    for r in batch.rngs:
        x0 = r.uniform(0.0, 1.0) * w * (1.0 - k)
        y0 = r.uniform(0.0, 1.0) * h * (1.0 - k)
        invs.append([[k, 0.0, x0 + 0.5 * k - 0.5], [0.0, k, y0 + 0.5 * k - 0.5]])
    return warp_affine(batch.images, torch.tensor(invs, dtype=torch.float64), "reflect101")


@device_kernel("elastic")
def _elastic(prim: Primitive, batch: Batch) -> torch.Tensor:
    assert isinstance(prim, Elastic)
    h, w = batch.images.shape[-2:]
    feature = px(prim.smoothness, batch.scale, minimum=2.0)
    amp = 2.0 * px(prim.amplitude, batch.scale)
    d = (smooth_field(batch.rngs, (h, w), feature, batch.device, octaves=2, fields=2) - 0.5) * amp
    xs, ys = grid(h, w, batch.device)
    return remap(batch.images, xs + d[:, 0], ys + d[:, 1], "reflect101")


@device_kernel("grid_distortion")
def _grid_distortion(prim: Primitive, batch: Batch) -> torch.Tensor:
    assert isinstance(prim, GridDistortion)
    h, w = batch.images.shape[-2:]
    n = int(prim.cells)
    d = np.float32(prim.distort)
    nodes = []
    for r in batch.rngs:
        nx = r.uniform(-1.0, 1.0, size=(n + 1, n + 1)).astype(np.float32) * d * np.float32((w - 1) / n)
        ny = r.uniform(-1.0, 1.0, size=(n + 1, n + 1)).astype(np.float32) * d * np.float32((h - 1) / n)
        nx[:, 0] = nx[:, -1] = 0.0
        ny[0, :] = ny[-1, :] = 0.0
        nodes.append(np.stack([nx, ny]))
    nxy = host([np.moveaxis(v, 0, -1) for v in nodes], batch.device)  # (B, 2, n+1, n+1)
    wy = torch.from_numpy(_hat_weights(h, n)).to(batch.device)
    wx = torch.from_numpy(_hat_weights(w, n)).to(batch.device)
    disp = wy @ nxy @ wx.T  # (B, 2, h, w)
    xs, ys = grid(h, w, batch.device)
    return remap(batch.images, xs + disp[:, 0], ys + disp[:, 1], "reflect101")
