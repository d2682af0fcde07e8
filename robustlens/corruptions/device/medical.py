"""Device kernels of the medical family: MRI bias field and ghosting, speckle, low-dose X-ray, stains.

They reproduce ``primitives/medical.py`` (issue 14). Small random parameters (polynomial
coefficients, motion period and phase, stain factors) are drawn on the host from each image's own
generator in the primitive's order. Full-resolution noise planes (speckle, quantum noise), which
the CPU draws with OpenCV's seeded generator, are drawn on the device from the image's torch
generator: the same distribution, not the same values, so equivalence is statistical there.
MRI ghosting is the same k-space phase model as on CPU, with batched 1-D FFTs on the device.
"""

from __future__ import annotations

import numpy as np
import torch

from robustlens.corruptions.base import Primitive
from robustlens.corruptions.device import Batch, device_kernel
from robustlens.corruptions.device._filters import gaussian
from robustlens.corruptions.device._layers import host, px, u8
from robustlens.corruptions.device._resample import resize
from robustlens.corruptions.primitives.medical import (
    _HED_FROM_RGB,
    _RGB_FROM_HED,
    MriBiasField,
    MriGhosting,
    StainVariation,
    UltrasoundSpeckle,
    XrayLowDose,
    _unit_coords,
)


@device_kernel("mri_bias_field")
def _mri_bias_field(prim: Primitive, batch: Batch) -> torch.Tensor:
    assert isinstance(prim, MriBiasField)
    h, w = batch.images.shape[-2:]
    n = prim.order + 1
    gh, gw = min(h, 64), min(w, 64)
    vy = np.vander(_unit_coords(gh), n, increasing=True)
    vx = np.vander(_unit_coords(gw), n, increasing=True)
    fields = []
    for r in batch.rngs:
        coef = r.uniform(-1.0, 1.0, (n, n))
        coef[np.add.outer(np.arange(n), np.arange(n)) > prim.order] = 0.0
        coef[0, 0] = 0.0
        poly = vy @ coef @ vx.T
        poly /= max(float(np.abs(poly).max()), 1e-6)
        fields.append(np.exp(poly * prim.strength))
    field = resize(host(fields, batch.device), h, w, "linear")
    return batch.images * field


@device_kernel("mri_ghosting")
def _mri_ghosting(prim: Primitive, batch: Batch) -> torch.Tensor:
    assert isinstance(prim, MriGhosting)
    x = batch.images
    axis = -2 if prim.direction == "vertical" else -1
    n = int(x.shape[axis])
    lo, hi = sorted((prim.period_min, prim.period_max))
    k = np.fft.fftfreq(n) * n
    t = np.arange(n) - n // 2
    phases = []
    for r in batch.rngs:
        period = r.uniform(lo, hi)
        phase0 = r.uniform(0.0, 2 * np.pi)
        disp = px(prim.amplitude, batch.scale) * np.sin(2 * np.pi * t / period + phase0)
        phases.append(np.exp(-2j * np.pi * k * np.fft.ifftshift(disp) / n))
    line = torch.from_numpy(np.stack(phases).astype(np.complex64)).to(x.device)
    line = line.view(-1, 1, n, 1) if axis == -2 else line.view(-1, 1, 1, n)
    spec = torch.fft.fft(x * 255.0, dim=axis) * line
    return torch.fft.ifft(spec, dim=axis).abs() / 255.0


@device_kernel("ultrasound_speckle")
def _ultrasound_speckle(prim: Primitive, batch: Batch) -> torch.Tensor:
    assert isinstance(prim, UltrasoundSpeckle)
    h, w = batch.images.shape[-2:]
    z = batch.normal((2, h, w))
    sx = px(prim.cell_px, batch.scale, 0.3)
    sy = px(prim.cell_px * prim.axial_ratio, batch.scale, 0.3)
    z = gaussian(z, sx, sy)
    amp = torch.sqrt(z[:, 0:1] ** 2 + z[:, 1:2] ** 2)
    amp = amp / amp.mean(dim=(1, 2, 3), keepdim=True).clamp(min=1e-6)
    return batch.images * ((1.0 - prim.strength) + prim.strength * amp)


def _grain(batch: Batch) -> torch.Tensor:
    """``ops.grain_noise`` (normal, reference grain): per reference pixel, enlarged by nearest neighbour."""
    h, w = batch.images.shape[-2:]
    if batch.scale <= 1.25:
        return batch.normal((1, h, w))
    small = batch.normal((1, max(1, round(h / batch.scale)), max(1, round(w / batch.scale))))
    return torch.nn.functional.interpolate(small, size=(h, w), mode="nearest")


@device_kernel("xray_low_dose")
def _xray_low_dose(prim: Primitive, batch: Batch) -> torch.Tensor:
    assert isinstance(prim, XrayLowDose)
    mu = float(prim.mu)
    v = torch.round(batch.images * 255.0)
    t = torch.exp(-mu * v.double() / 255.0).float()  # the CPU's float64 LUT, stored as float32
    s = prim.scatter * t.mean(dim=(1, 2, 3), keepdim=True)
    counts = t + s
    if prim.quantum > 0:
        q = float(prim.quantum)
        counts = counts + torch.sqrt(counts * q + (prim.read_noise * q) ** 2) * _grain(batch)
    counts = torch.log(counts.clamp(min=1e-4))
    return counts * (-1.0 / mu) + torch.log1p(s) / mu


@device_kernel("stain_variation")
def _stain_variation(prim: Primitive, batch: Batch) -> torch.Tensor:
    assert isinstance(prim, StainVariation)
    mats, offs = [], []
    for r in batch.rngs:
        u = r.uniform(0.5, 1.0, (2, 3)) * r.choice((-1.0, 1.0), (2, 3))
        if not prim.residual:
            u[:, 2] = 0.0
        alpha = 1.0 + prim.scale * u[0]
        beta = prim.shift * u[1]
        mats.append((_HED_FROM_RGB * alpha[None, :]) @ _RGB_FROM_HED)
        offs.append(beta @ _RGB_FROM_HED)
    dev = batch.device
    mat = torch.from_numpy(np.stack(mats)).float().to(dev)  # (B, 3 in, 3 out)
    off = torch.from_numpy(np.stack(offs)).float().to(dev).view(-1, 3, 1, 1)
    v = torch.round(batch.images * 255.0).clamp(min=1.0)
    od = -torch.log(v / 255.0)
    od = torch.einsum("bihw,bio->bohw", od, mat) + off
    return u8(torch.exp(-od.clamp(min=0.0)))
