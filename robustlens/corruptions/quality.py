"""Image-quality statistics used to validate corruptions.

SSIM follows Wang, Bovik, Sheikh & Simoncelli, "Image quality assessment: from error visibility
to structural similarity", IEEE TIP 2004: Gaussian window (sigma 1.5), K1=0.01, K2=0.03, averaged
over the image. Colour images are scored per R, G, B channel and averaged (as scikit-image does with
``channel_axis``), so a pure colour cast or a stain shift counts as a change; luma alone would miss it.
"""

from __future__ import annotations

import cv2
import numpy as np


def luma(image: np.ndarray) -> np.ndarray:
    """Float32 luma (BT.601) of a gray, RGB or RGBA uint8 image."""
    if image.ndim == 2:
        return image.astype(np.float32)
    if image.shape[2] == 1:
        return image[:, :, 0].astype(np.float32)
    rgb = image[:, :, :3].astype(np.float32)
    return rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)


def ssim(a: np.ndarray, b: np.ndarray, data_range: float = 255.0) -> float:
    """Mean structural similarity between two uint8 images of the same shape (Wang et al. 2004)."""
    if a.shape != b.shape:
        raise ValueError(f"shape mismatch {a.shape} vs {b.shape}")
    if a.ndim == 3 and a.shape[2] >= 3:
        return float(np.mean([_ssim_plane(a[:, :, c], b[:, :, c], data_range) for c in range(3)]))
    return _ssim_plane(luma(a), luma(b), data_range)


def _ssim_plane(a: np.ndarray, b: np.ndarray, data_range: float) -> float:
    x, y = a.astype(np.float64), b.astype(np.float64)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2

    def blur(z: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(z, (11, 11), 1.5, borderType=cv2.BORDER_REFLECT)

    mx, my = blur(x), blur(y)
    sxx = blur(x * x) - mx * mx
    syy = blur(y * y) - my * my
    sxy = blur(x * y) - mx * my
    num = (2 * mx * my + c1) * (2 * sxy + c2)
    den = (mx * mx + my * my + c1) * (sxx + syy + c2)
    smap = num / den
    pad = 5  # like scikit-image, average only where the 11x11 window lies inside the image
    if min(smap.shape) > 2 * pad:
        smap = smap[pad:-pad, pad:-pad]
    return float(np.mean(smap))
