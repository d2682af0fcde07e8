"""Properties every registered primitive must have (the whole registry, like timm's model tests)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from robustlens.corruptions import FAMILIES, REGISTRY, single
from robustlens.corruptions.compiler import param_bounds
from robustlens.corruptions.quality import ssim
from robustlens.errors import UserInputError

NAMES = sorted(REGISTRY)


def test_registry_is_large_and_covers_every_family() -> None:
    assert len(REGISTRY) >= 40
    assert {info.family for info in REGISTRY.values()} == set(FAMILIES)


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_bytes(name: str, astronaut: np.ndarray) -> None:
    c = single(name)
    a, b = c(astronaut, 3, seed=7), c(astronaut, 3, seed=7)
    assert a.tobytes() == b.tobytes()


@pytest.mark.parametrize("name", [n for n in NAMES if REGISTRY[n].stochastic])
def test_different_seeds_differ(name: str, astronaut: np.ndarray) -> None:
    c = single(name)
    outs = {c(astronaut, 4, seed=s).tobytes() for s in range(4)}
    assert len(outs) > 1, f"{name} is registered stochastic but ignores the seed"


@pytest.mark.parametrize("name", [n for n in NAMES if not REGISTRY[n].stochastic])
def test_deterministic_primitives_ignore_seed(name: str, astronaut: np.ndarray) -> None:
    c = single(name)
    assert c(astronaut, 3, seed=1).tobytes() == c(astronaut, 3, seed=2).tobytes()


def _layouts() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    base = cv2.resize(np.asarray(rng.integers(0, 256, (8, 8, 3)), np.uint8), (700, 1000))
    base = cv2.GaussianBlur(base, (0, 0), 20)
    small = np.ascontiguousarray(base[:32, :32])
    return {
        "rgb_32x32": small,
        "rgb_1000x700": base,
        "gray_2d": np.ascontiguousarray(base[:300, :200, 0]),
        "gray_hw1": np.ascontiguousarray(base[:200, :300, :1]),
        "rgba": np.dstack([base[:240, :320], np.full((240, 320), 200, np.uint8)]),
    }


LAYOUTS = _layouts()


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("name", NAMES)
def test_shape_and_dtype_preserved(name: str, layout: str) -> None:
    image = LAYOUTS[layout]
    out = single(name)(image, 5, seed=3)
    assert out.shape == image.shape
    assert out.dtype == np.uint8


@pytest.mark.parametrize("name", NAMES)
def test_severity_zero_is_identity(name: str, astronaut: np.ndarray) -> None:
    assert np.array_equal(single(name)(astronaut, 0, seed=5), astronaut)


@pytest.mark.parametrize("name", NAMES)
def test_fractional_severity_lies_between(name: str, samples: list[np.ndarray]) -> None:
    c = single(name)

    def mean_ssim(sev: float) -> float:
        return float(np.mean([ssim(im, c(im, sev, seed=i)) for i, im in enumerate(samples)]))

    lo, mid, hi = mean_ssim(2), mean_ssim(2.5), mean_ssim(3)
    assert hi - 0.02 <= mid <= lo + 0.02


@pytest.mark.parametrize("name", NAMES)
def test_ssim_decreases_over_severities(name: str, samples: list[np.ndarray]) -> None:
    c = single(name)
    means = []
    for sev in range(1, 6):
        scores = [ssim(im, c(im, sev, seed=100 * s + i)) for s in range(2) for i, im in enumerate(samples)]
        means.append(float(np.mean(scores)))
    diffs = np.diff(means)
    assert np.all(diffs <= 0.003), f"{name}: mean SSIM over severities 1..5 not monotone: {means}"
    assert means[-1] < means[0] - 0.02, f"{name}: severity 5 barely worse than 1: {means}"
    assert means[0] < 0.995, f"{name}: severity 1 is (almost) the identity: {means}"


@pytest.mark.parametrize("name", NAMES)
def test_docstring_and_ranges(name: str) -> None:
    info = REGISTRY[name]
    assert len(info.summary) > 20, "the docstring says what real-world effect it models"
    for param in info.ladder:
        lo, hi = param_bounds(info, param)
        assert lo is not None and hi is not None, f"{name}.{param} needs a physical range"


@pytest.mark.parametrize("name", NAMES)
def test_out_of_range_parameter_is_rejected(name: str) -> None:
    info = REGISTRY[name]
    param = next(iter(info.ladder))
    _, hi = param_bounds(info, param)
    with pytest.raises(UserInputError) as err:
        from robustlens.corruptions import compile_spec

        compile_spec({"name": "x", "recipe": [{"name": name, "ladder": {param: [hi + 1e3] * 5}}]})
    assert param in str(err.value)
    assert err.value.field and param in err.value.field


def _square(image: np.ndarray, side: int) -> np.ndarray:
    s = min(image.shape[:2])
    crop = np.ascontiguousarray(image[:s, :s])
    return cv2.resize(crop, (side, side), interpolation=cv2.INTER_AREA)


@pytest.fixture(scope="module")
def two_resolutions() -> list[tuple[np.ndarray, np.ndarray]]:
    import skimage.data

    return [(_square(im, 224), _square(im, 896)) for im in (skimage.data.astronaut(), skimage.data.coffee())]


@pytest.mark.parametrize("name", [n for n in NAMES if "pixel_level" not in REGISTRY[n].tags])
def test_severity_is_resolution_aware(name: str, two_resolutions: list) -> None:
    """The same severity degrades a 896 px image about as much as a 224 px one, as a model sees them
    (after resizing to 224 px). Pixel-level primitives (codecs, dithering) are exempt by design."""
    c = single(name)
    small_scores, big_scores = [], []
    for k, (small, big) in enumerate(two_resolutions):
        small_scores.append(ssim(small, c(small, 3, seed=k)))
        big_scores.append(ssim(small, _square(c(big, 3, seed=k), 224)))
    assert abs(np.mean(small_scores) - np.mean(big_scores)) < 0.06, (small_scores, big_scores)
