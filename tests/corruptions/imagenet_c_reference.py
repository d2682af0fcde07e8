"""ImageNet-C's reference corruptions (``imagecorruptions`` 1.1.2), runnable on today's stack.

Tests only: the package never imports ``imagecorruptions``. The reference code (Hendrycks &
Dietterich, ICLR 2019; packaged by Michaelis et al. 2019) was written for scikit-image < 0.19,
NumPy < 2 and setuptools' ``pkg_resources``; this shim bridges exactly those gaps and nothing else:

- ``pkg_resources.resource_filename`` (gone from current setuptools) is supplied, so ``frost``
  finds its bundled frost photographs;
- ``skimage.filters.gaussian(..., multichannel=True)`` becomes ``channel_axis=-1``;
- ``np.float_`` (removed in NumPy 2) is aliased to ``np.float64`` for the plasma fractal of ``fog``.

Its motion blur (``motion_blur``, ``snow``) is the package's own shift-and-add kernel, so Wand /
ImageMagick is not needed. The reference draws from NumPy's global RNG; ``reference`` seeds it per
call so every result is reproducible.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import types
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

# Names of our primitives -> names of the reference functions.
REFERENCE_NAME = {"elastic": "elastic_transform", "jpeg": "jpeg_compression"}


def _load() -> Any:
    spec = importlib.util.find_spec("imagecorruptions")
    if spec is None or not spec.submodule_search_locations:
        why = "imagecorruptions is not installed (`make test` does: pip install --no-deps imagecorruptions)"
        if os.environ.get("CI"):
            pytest.fail(why)  # in CI the reference must be there: a skipped fidelity test proves nothing
        pytest.skip(why)
    root = Path(next(iter(spec.submodule_search_locations)))
    if "pkg_resources" not in sys.modules:
        shim = types.ModuleType("pkg_resources")
        shim.resource_filename = lambda package, name: str(root / name)  # type: ignore[attr-defined]
        sys.modules["pkg_resources"] = shim
    if not hasattr(np, "float_"):
        np.float_ = np.float64  # type: ignore[attr-defined]
    with warnings.catch_warnings():  # it imports from the deprecated scipy.ndimage.interpolation
        warnings.simplefilter("ignore", DeprecationWarning)
        import imagecorruptions
        import imagecorruptions.corruptions as corruptions
    from skimage.filters import gaussian as sk_gaussian

    def gaussian(image: np.ndarray, sigma: Any = 1, multichannel: bool | None = None, **kw: Any) -> Any:
        if multichannel:
            kw["channel_axis"] = -1
        return sk_gaussian(image, sigma=sigma, **kw)

    corruptions.gaussian = gaussian
    return imagecorruptions


def module() -> Any:
    """The shimmed ``imagecorruptions`` package (skips the test when it is not installed)."""
    return _load()


def reference(name: str, image: np.ndarray, severity: int, seed: int) -> np.ndarray:
    """ImageNet-C's ``name`` at integer ``severity`` (1..5) on a uint8 RGB image, seeded.

    Glass blur runs as ``glass_blur_replay``, the reference's own loop without its NumPy overhead;
    tests/corruptions/test_fidelity.py checks that both give the same bytes at every severity."""
    module = _load()
    np.random.seed(seed)
    if name == "glass_blur":
        module.corruption_dict["glass_blur_replay"] = glass_blur_replay  # corrupt()'s checks and casts
        return module.corrupt(image, severity=severity, corruption_name="glass_blur_replay")
    return module.corrupt(image, severity=severity, corruption_name=REFERENCE_NAME.get(name, name))


def glass_blur_replay(x: Any, severity: int = 1) -> np.ndarray:
    """``imagecorruptions.corruptions.glass_blur``, step for step, ~50x faster.

    The reference's per-pixel loop (about 1 s per image and severity) draws ``randint(-d, d,
    size=(2,))`` per pixel and "swaps" with ``x[h, w], x[h', w'] = x[h', w'], x[h, w]``; both sides
    are views, so that copies pixel (h', w') into (h, w) and leaves (h', w') as it was. This draws
    the same numbers from the same global RNG in one call per pass (the same stream) and replays the
    copies on pixel indices in a Python list, then gathers the pixels once."""
    corruptions = _load().corruptions
    sigma, delta, iterations = [(0.7, 1, 2), (0.9, 2, 1), (1, 2, 3), (1.1, 3, 2), (1.5, 4, 2)][severity - 1]
    x = np.uint8(corruptions.gaussian(np.array(x) / 255.0, sigma=sigma, multichannel=True) * 255)
    height, width = x.shape[:2]
    rows, cols = range(height - delta, delta, -1), range(width - delta, delta, -1)
    source = list(range(height * width))  # source[p]: the original pixel now at p
    for _ in range(iterations):
        draws = iter(np.random.randint(-delta, delta, size=(len(rows) * len(cols), 2)).tolist())
        for h in rows:
            for w in cols:
                dx, dy = next(draws)
                source[h * width + w] = source[(h + dy) * width + w + dx]
    x = x.reshape(height * width, -1)[source].reshape(x.shape)
    return np.clip(corruptions.gaussian(x / 255.0, sigma=sigma, multichannel=True), 0, 1) * 255
