"""Shared fixtures: sample images from scikit-image's bundled data (no downloads)."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
if "ROBUSTLENS_CACHE" not in os.environ:  # never read or pollute the user's embedding cache
    import tempfile

    os.environ["ROBUSTLENS_CACHE"] = tempfile.mkdtemp(prefix="robustlens-test-cache-")

import cv2
import numpy as np
import pytest
import skimage.data


def _square(image: np.ndarray, side: int) -> np.ndarray:
    h, w = image.shape[:2]
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    crop = image[top : top + s, left : left + s]
    return cv2.resize(crop, (side, side), interpolation=cv2.INTER_AREA)


def sample_images(side: int = 224) -> list[np.ndarray]:
    """Natural RGB sample images (astronaut, coffee, chelsea, rocket, camera as RGB)."""
    rgb = [skimage.data.astronaut(), skimage.data.coffee(), skimage.data.chelsea(), skimage.data.rocket()]
    gray = np.repeat(skimage.data.camera()[:, :, None], 3, axis=2)
    return [_square(im, side) for im in [*rgb, gray]]


@pytest.fixture(scope="session")
def samples() -> list[np.ndarray]:
    return sample_images()


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    return _square(skimage.data.astronaut(), 224)
