"""Severity grids: one row per corruption, one column per severity (0 = clean)."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from robustlens.corruptions.compiler import CompiledCorruption
from robustlens.corruptions.seeding import derive_seed


def fit(image: np.ndarray, size: int) -> np.ndarray:
    """Resize (keeping aspect) so the longer side is ``size``; returns RGB uint8."""
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    elif image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    elif image.shape[2] == 4:
        image = np.ascontiguousarray(image[:, :, :3])
    h, w = image.shape[:2]
    s = size / max(h, w)
    if s != 1:
        interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
        image = cv2.resize(image, (max(1, round(w * s)), max(1, round(h * s))), interpolation=interp)
    return image


def severity_grid(
    image: np.ndarray,
    corruptions: Sequence[CompiledCorruption],
    severities: Sequence[float] = (0, 1, 2, 3, 4, 5),
    seed: int = 0,
    cell: int = 224,
) -> np.ndarray:
    """A labelled RGB grid; the image is corrupted at its own resolution, then shown at ``cell``.

    The seed for each cell is derived from (seed, corruption, severity), as in an audit.
    """
    pad, label_h, name_w = 4, 22, 0
    rows = []
    for corruption in corruptions:
        tiles = []
        for sev in severities:
            out = corruption(image, sev, derive_seed(seed, "preview", corruption.name, float(sev)))
            tile = _pad_to(fit(out, cell), cell)
            tiles.append(_label(tile, f"{corruption.name} s={sev:g}", label_h))
        rows.append(np.hstack([_sep(t, pad) for t in tiles]))
    grid = np.vstack(rows)
    return np.pad(grid, ((pad, pad), (pad + name_w, pad), (0, 0)), constant_values=255)


def _pad_to(tile: np.ndarray, size: int) -> np.ndarray:
    h, w = tile.shape[:2]
    out = np.full((size, size, 3), 255, np.uint8)
    top, left = (size - h) // 2, (size - w) // 2
    out[top : top + h, left : left + w] = tile
    return out


def _label(tile: np.ndarray, text: str, height: int) -> np.ndarray:
    bar = np.full((height, tile.shape[1], 3), 255, np.uint8)
    scale = 0.45
    cv2.putText(
        bar, text[:32], (4, height - 7), cv2.FONT_HERSHEY_SIMPLEX, scale, (20, 20, 20), 1, cv2.LINE_AA
    )
    return np.vstack([bar, tile])


def _sep(tile: np.ndarray, pad: int) -> np.ndarray:
    return np.pad(tile, ((pad, pad), (pad, pad), (0, 0)), constant_values=255)
