"""Device kernels (issue 14) are equivalent to the numpy primitives they replace, run on CPU torch.

Equivalence, not identity: for every registered kernel, at every severity, the mean SSIM to the
clean image (Wang et al., IEEE TIP 2004; ``quality.ssim``) of the device path is within 0.02 of
the numpy path's on six natural 224 px images. Determinism is per seed and per image (an
image's output does not depend on its batch neighbours), and the parameters are the primitive's
own where they are observable: deterministic primitives reproduce the numpy pixels to within one
level (also on a larger image, where the reference-grid scaling applies), noise strengths match.
"""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np
import pytest
import torch

from robustlens.corruptions import REGISTRY, single
from robustlens.corruptions.device import KERNELS, _load_kernels, corrupt_batch
from robustlens.corruptions.quality import ssim
from robustlens.corruptions.seeding import corruption_seed
from tests.corruptions.test_fidelity import natural as _natural

_load_kernels()
NAMES = sorted(KERNELS)
DETERMINISTIC = [n for n in NAMES if not REGISTRY[n].stochastic]
SEVERITIES = (1, 2, 3, 4, 5)
TOLERANCE = 0.02
PICK = (0, 1, 2, 3, 5, 6)  # astronaut, coffee, chelsea, rocket, street scene, coins (grey)
_SEVERITY_3: dict[str, np.ndarray] = {}  # device outputs at severity 3, reused once (saves a run)


@pytest.fixture(scope="module", autouse=True)
def _one_thread() -> Iterator[None]:
    # Two OpenMP threads spin against each other on a loaded 2-core CI machine (10x slower).
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def images() -> list[np.ndarray]:
    every = _natural.__wrapped__()
    return [every[i] for i in PICK]


def _seeds(name: str, severity: float, ids: list[int]) -> list[int]:
    return [corruption_seed(0, f"img{i}", name, float(severity)) for i in ids]


def _on_device(name: str, images: list[np.ndarray], severity: float, ids: list[int]) -> np.ndarray:
    batch = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()
    out = corrupt_batch(single(name), batch, severity, _seeds(name, severity, ids))
    return out.permute(0, 2, 3, 1).numpy()


def _on_cpu(name: str, images: list[np.ndarray], severity: float, ids: list[int]) -> np.ndarray:
    corrupt = single(name)
    return np.stack(
        [corrupt(im, severity, s) for im, s in zip(images, _seeds(name, severity, ids), strict=True)]
    )


def _blur(z: np.ndarray) -> np.ndarray:
    return cv2.GaussianBlur(z, (11, 11), 1.5, borderType=cv2.BORDER_REFLECT)


class _Ssim:
    """``quality.ssim`` (Wang et al. 2004: 11x11 Gaussian window, sigma 1.5, per RGB channel, 5 px
    crop) to fixed clean images, in float32 with the clean images' statistics computed once; equal
    to ``quality.ssim`` to 1e-5 (``test_the_fast_ssim_is_quality_ssim``). Why: ~2,500 float64
    calls would cost ~30 s of this file's time."""

    def __init__(self, clean: list[np.ndarray]) -> None:
        self.x = [im.astype(np.float32) for im in clean]
        self.mx = [_blur(x) for x in self.x]
        self.sxx = [_blur(x * x) - m * m for x, m in zip(self.x, self.mx, strict=True)]

    def __call__(self, out: np.ndarray) -> np.ndarray:
        c1, c2 = (0.01 * 255.0) ** 2, (0.03 * 255.0) ** 2
        scores = []
        for x, mx, sxx, im in zip(self.x, self.mx, self.sxx, out, strict=True):
            y = im.astype(np.float32)
            my = _blur(y)
            syy = _blur(y * y) - my * my
            sxy = _blur(x * y) - mx * my
            smap = (2 * mx * my + c1) * (2 * sxy + c2) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
            scores.append(float(smap[5:-5, 5:-5].astype(np.float64).mean()))
        return np.asarray(scores)


@pytest.fixture(scope="module")
def fast_ssim(images: list[np.ndarray]) -> _Ssim:
    return _Ssim(images)


def test_the_fast_ssim_is_quality_ssim(images: list[np.ndarray], fast_ssim: _Ssim) -> None:
    out = _on_cpu("glass_blur", images, 3, list(range(len(images))))
    expect = [ssim(a, b) for a, b in zip(images, out, strict=True)]
    np.testing.assert_allclose(fast_ssim(out), expect, rtol=0, atol=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_mean_ssim_matches_the_numpy_path(name: str, images: list[np.ndarray], fast_ssim: _Ssim) -> None:
    ids = list(range(len(images)))
    for sev in SEVERITIES:
        out = _on_device(name, images, sev, ids)
        if sev == 3:
            _SEVERITY_3[name] = out  # the determinism test's first run
        ours = float(fast_ssim(out).mean())
        ref = float(fast_ssim(_on_cpu(name, images, sev, ids)).mean())
        assert abs(ours - ref) <= TOLERANCE, f"{name} s{sev}: device {ours:.3f}, numpy {ref:.3f}"


@pytest.mark.parametrize("name", NAMES)
def test_same_seeds_same_bytes_and_no_batch_neighbour_effect(name: str, images: list[np.ndarray]) -> None:
    ids = list(range(len(images)))
    first = _SEVERITY_3.pop(name, None)
    if first is None:
        first = _on_device(name, images, 3, ids)
    assert np.array_equal(first, _on_device(name, images, 3, ids))
    alone = _on_device(name, images[4:5], 3, [4])[0]
    assert np.array_equal(alone, first[4]), f"{name}: image 4 changes with its batch neighbours"
    if REGISTRY[name].stochastic:
        other = corrupt_batch(
            single(name),
            torch.from_numpy(np.stack(images[4:5])).permute(0, 3, 1, 2).contiguous(),
            3,
            _seeds(name, 3, [5]),
        )
        assert not np.array_equal(other[0].permute(1, 2, 0).numpy(), alone), f"{name}: seed ignored"


@pytest.mark.parametrize("side", [224, 320])
@pytest.mark.parametrize("name", DETERMINISTIC)
def test_deterministic_kernels_reproduce_the_numpy_pixels(
    name: str, side: int, images: list[np.ndarray]
) -> None:
    """Same kernel sizes, sigmas, radii, qualities and factors, also where the 224 px reference
    scaling applies (320 px): 99 % of samples within one level of the numpy output."""
    picked = [cv2.resize(im, (side, side), interpolation=cv2.INTER_AREA) for im in images[:2]]
    for sev in (1, 5):
        diff = np.abs(_on_device(name, picked, sev, [0, 1]).astype(int) - _on_cpu(name, picked, sev, [0, 1]))
        assert np.percentile(diff, 99) <= 1, f"{name} s{sev} at {side} px: max diff {diff.max()}"
        assert diff.mean() <= 0.15, f"{name} s{sev} at {side} px: mean diff {diff.mean():.3f}"


def _flat(side: int, level: int = 128, n: int = 2) -> list[np.ndarray]:
    return [np.full((side, side, 3), level, np.uint8)] * n


@pytest.mark.parametrize("sev", [1, 2])
def test_noise_strengths_are_the_primitives(sev: int) -> None:
    x = 128 / 255
    params = {n: single(n).params_at(sev)[0] for n in ("gaussian_noise", "speckle_noise", "shot_noise")}
    expect = {
        "gaussian_noise": params["gaussian_noise"].sigma,
        "speckle_noise": x * params["speckle_noise"].sigma,
        "shot_noise": float(np.sqrt(x * params["shot_noise"].strength)),
    }
    for name, std in expect.items():
        out = _on_device(name, _flat(224), sev, [0, 1]).astype(np.float64) / 255.0
        assert abs(out.std() / std - 1.0) < 0.05, f"{name} s{sev}: std {out.std():.4f}, expected {std:.4f}"
        assert abs(out.mean() - x) < 0.01, name
    amount = single("impulse_noise").params_at(sev)[0].amount
    out = _on_device("impulse_noise", _flat(224), sev, [0, 1])
    for level in (0, 255):
        assert abs(np.mean(out == level) / (amount / 2) - 1.0) < 0.1


def test_noise_is_drawn_on_the_reference_grid_as_on_cpu() -> None:
    """At 448 px the noise grain is the 224 px reference grid's (2x2 equal samples), as numpy draws it."""
    out = _on_device("gaussian_noise", _flat(448, n=1), 3, [0])[0]
    assert np.array_equal(out[0::2, 0::2], out[1::2, 1::2])
    cpu = _on_cpu("gaussian_noise", _flat(448, n=1), 3, [0])[0]
    assert np.array_equal(cpu[0::2, 0::2], cpu[1::2, 1::2])
    assert abs(out.astype(float).std() - cpu.astype(float).std()) < 1.5
