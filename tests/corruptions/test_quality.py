"""Our SSIM against scikit-image's independent implementation (Gaussian weights, sigma 1.5)."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.metrics import structural_similarity

from robustlens.corruptions import single
from robustlens.corruptions.quality import ssim


@pytest.mark.parametrize("name", ["gaussian_noise", "defocus_blur", "white_balance", "jpeg"])
def test_ssim_matches_scikit_image(name: str, astronaut: np.ndarray) -> None:
    out = single(name)(astronaut, 3, seed=0)
    ref = structural_similarity(
        astronaut,
        out,
        channel_axis=2,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        data_range=255,
    )
    assert ssim(astronaut, out) == pytest.approx(ref, abs=2e-3)


def test_ssim_identity_and_gray(astronaut: np.ndarray) -> None:
    assert ssim(astronaut, astronaut) == pytest.approx(1.0)
    gray = astronaut[:, :, 0]
    noisy = np.clip(gray.astype(int) + 40, 0, 255).astype(np.uint8)
    assert ssim(gray, noisy) < 1.0
    with pytest.raises(ValueError, match="shape"):
        ssim(gray, astronaut)
