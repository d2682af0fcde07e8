"""Device kernels of the blur family (ImageNet-C blur set, Hendrycks & Dietterich, ICLR 2019).

The kernels are the numpy primitives' own (``ops.disk_kernel``, ``ops.motion_kernel``, the
Gaussian of ``ops.gaussian``), built on the host and applied to the batch by FFT or ``conv2d``
with OpenCV's border rules; uint8 intermediates of the numpy path are rounded here too.
"""

from __future__ import annotations

import numpy as np
import torch

from robustlens.corruptions.device import Batch, device_kernel
from robustlens.corruptions.device._filters import centre_kernels, filter2d, gaussian
from robustlens.corruptions.device._layers import u8
from robustlens.corruptions.device._resample import grid, remap
from robustlens.corruptions.ops import disk_kernel, motion_kernel
from robustlens.corruptions.primitives.blur import (
    DefocusBlur,
    GaussianBlur,
    GlassBlur,
    MotionBlur,
    ZoomBlur,
    _zoom_window,
)


@device_kernel("defocus_blur")
def defocus_blur(prim: DefocusBlur, batch: Batch) -> torch.Tensor:
    """Correlation with the anti-aliased disk of radius ``radius`` px at 224 px (reflected border)."""
    r = prim.radius * batch.scale
    if r < 0.5:
        return batch.images
    kernel = centre_kernels([disk_kernel(r)], [None], batch.device)
    return filter2d(batch.images, kernel)


@device_kernel("gaussian_blur")
def gaussian_blur_kernel(prim: GaussianBlur, batch: Batch) -> torch.Tensor:
    """Gaussian of ``sigma`` px at 224 px, cut at 3 sigma (``ops.gaussian``)."""
    return gaussian(batch.images, prim.sigma * batch.scale)


@device_kernel("glass_blur")
def glass_blur(prim: GlassBlur, batch: Batch) -> torch.Tensor:
    """Gaussian blur, one uniform random displacement of every pixel (bilinear, reflected border,
    as ``cv2.remap``), Gaussian blur again; uint8 between the steps as on CPU."""
    sigma = prim.sigma * batch.scale
    x = u8(gaussian(batch.images, sigma))
    d = prim.displacement * batch.scale
    if d > 0:
        h, w = int(x.shape[-2]), int(x.shape[-1])
        offsets = (batch.uniform((2, h, w)) * 2.0 - 1.0) * d  # (B, 2, H, W): dx, dy in px
        xs, ys = grid(h, w, x.device)
        x = u8(remap(x, xs + offsets[:, 0], ys + offsets[:, 1]))
    return gaussian(x, sigma)


@device_kernel("motion_blur")
def motion_blur(prim: MotionBlur, batch: Batch) -> torch.Tensor:
    """ImageNet-C's one-sided streak kernel at a per-image random angle (drawn from the image's own
    generator, as on CPU), replicated border."""
    angles = [float(rng.uniform(-prim.max_angle, prim.max_angle)) for rng in batch.rngs]
    length = int(round(prim.length * batch.scale))
    if length < 2:
        return batch.images
    decay = max(0.1, prim.decay * batch.scale)
    built = [motion_kernel(length, decay, a) for a in angles]
    # one padding for every image (the streak reaches at most ``length`` px from its anchor)
    kernels = centre_kernels([k for k, _ in built], [a for _, a in built], batch.device, (length, length))
    return filter2d(batch.images, kernels, border="replicate")


@device_kernel("zoom_blur")
def zoom_blur(prim: ZoomBlur, batch: Batch) -> torch.Tensor:
    """Mean of the image (counted twice) and ``copies`` bilinear enlargements about the centre by
    ``1 + zoom * k / copies``, sampled on the numpy path's grid (``_zoom_window``: crop, resize by
    exactly s, offset) as two interpolation matrices (batched matmuls: faster than gathers on CPU
    and GPU); each copy rounded to uint8 as OpenCV's is."""
    x = batch.images
    h, w = int(x.shape[-2]), int(x.shape[-1])
    acc = x * 2.0
    for k in range(1, prim.copies + 1):
        s = 1.0 + prim.zoom * k / prim.copies
        my, mx = _zoom_matrix(h, s, x), _zoom_matrix(w, s, x)
        acc = acc + u8(torch.matmul(torch.matmul(my, x), mx.T))
    return acc / (prim.copies + 2)


def _zoom_matrix(n: int, s: float, x: torch.Tensor) -> torch.Tensor:
    """(n, n) bilinear weights of ``cv2.resize(crop, fx=s)[offset : offset + n]`` along one axis:
    output d samples crop position ``(d + offset + 0.5) / s - 0.5``, replicated at the crop edges."""
    lo, hi, offset = _zoom_window(n, s)
    src = np.clip((np.arange(n) + offset + 0.5) / s - 0.5, 0.0, hi - lo - 1) + lo
    i0 = np.floor(src).astype(int)
    frac = src - i0
    i1 = np.minimum(i0 + 1, hi - 1)
    m = np.zeros((n, n), np.float64)
    np.add.at(m, (np.arange(n), i0), 1.0 - frac)
    np.add.at(m, (np.arange(n), i1), frac)
    return torch.as_tensor(m, dtype=x.dtype, device=x.device)
