"""The fast paths of the CPU primitives compute what the slow ones did (issue 14, CPU primitives).

Each speed-up replaced an OpenCV/NumPy call by a faster equivalent; these tests hold the new path
to the old one on real images (the speed itself is measured by benchmarks/corruption_speed.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from robustlens.corruptions import single
from robustlens.corruptions.base import Context
from robustlens.corruptions.ops import (
    channel_percentile,
    disk_kernel,
    fft_filter,
    motion_kernel,
    standard_normal,
)
from robustlens.corruptions.primitives.blur import _zoom_window
from robustlens.corruptions.primitives.light import fast_uint8, power
from robustlens.corruptions.primitives.noise import _poisson_table, _poisson_uint8
from robustlens.corruptions.primitives.weather import _fraction
from robustlens.corruptions.quality import ssim
from tests.conftest import sample_images
from tests.corruptions.imagenet_c_reference import module

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    """A natural photo, cropped to a non-square 200 x 224 so rows and columns are not confused."""
    return np.ascontiguousarray(sample_images()[0][:200])


def _agree(a: np.ndarray, b: np.ndarray) -> None:
    """Equal up to float rounding: no pixel off by more than one level, almost all identical."""
    assert a.shape == b.shape and a.dtype == b.dtype
    diff = np.abs(a.astype(np.int16) - b.astype(np.int16))
    assert diff.max() <= 1 and (diff > 0).mean() < 1e-3


@pytest.mark.parametrize("radius", [2.0, 3.0, 6.0, 10.0])
def test_fft_filter_is_filter2d_for_the_defocus_disk(photo: np.ndarray, radius: float) -> None:
    kernel = disk_kernel(radius)
    _agree(fft_filter(photo, kernel), cv2.filter2D(photo, -1, kernel, borderType=cv2.BORDER_REFLECT))


@pytest.mark.parametrize(("length", "decay", "angle"), [(21, 3.0, 12.0), (31, 8.0, -40.0), (41, 15.0, 44.0)])
def test_fft_filter_is_filter2d_for_the_one_sided_motion_streak(
    photo: np.ndarray, length: int, decay: float, angle: float
) -> None:
    kernel, anchor = motion_kernel(length, decay, angle)
    want = cv2.filter2D(photo, -1, kernel, anchor=anchor, borderType=cv2.BORDER_REPLICATE)
    _agree(fft_filter(photo, kernel, anchor, cv2.BORDER_REPLICATE), want)


def test_zoom_window_is_the_warp_about_the_centre_to_half_a_pixel(photo: np.ndarray) -> None:
    """Resizing the window by exactly s is the warp about the centre (the old code) shifted by
    the window's rounding, which is at most half a pixel; the scale is exact."""
    h, w = photo.shape[:2]
    for s in (1.01, 1.07, 1.15, 1.3):
        inverse = np.zeros((2, 3), np.float32)  # output pixel -> source pixel, per axis
        windows = []
        for axis, n in enumerate((w, h)):
            lo, hi, offset = _zoom_window(n, s)
            c = (n - 1) / 2
            exact = s * (c + 0.5 - lo) - c - 0.5
            assert abs(offset - exact) <= 0.5 + 1e-9, (s, axis)
            inverse[axis, axis], inverse[axis, 2] = 1 / s, c * (1 - 1 / s) + (offset - exact) / s
            windows.append((lo, hi, offset))
        (x0, x1, ox), (y0, y1, oy) = windows
        big = cv2.resize(photo[y0:y1, x0:x1], None, fx=s, fy=s, interpolation=cv2.INTER_LINEAR)
        fast = big[oy : oy + h, ox : ox + w]
        flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
        warp = cv2.warpAffine(photo, inverse, (w, h), flags=flags, borderMode=cv2.BORDER_REFLECT)
        assert fast.shape == photo.shape
        assert np.abs(fast.astype(int) - warp).mean() < 1.0 and ssim(warp, fast) > 0.99, s


def test_standard_normal_is_seeded_and_unit_on_every_channel() -> None:
    """OpenCV's randn reads a scalar std as (std, 0, 0) on three channels: the helper must not."""
    a = standard_normal((224, 224, 3), Context(np.random.default_rng(5), 1.0))
    b = standard_normal((224, 224, 3), Context(np.random.default_rng(5), 1.0))
    c = standard_normal((224, 224, 3), Context(np.random.default_rng(6), 1.0))
    assert a.dtype == np.float32 and a.tobytes() == b.tobytes() and not np.array_equal(a, c)
    for ch in range(3):
        assert abs(float(a[:, :, ch].std()) - 1.0) < 0.02 and abs(float(a[:, :, ch].mean())) < 0.02
    assert abs(float(np.corrcoef(a.ravel()[:-1], a.ravel()[1:])[0, 1])) < 0.01


def test_standard_normal_is_the_same_across_threads() -> None:
    """OpenCV's generator is per thread: concurrent draws with equal seeds still agree."""
    want = standard_normal((256, 256, 3), Context(np.random.default_rng(3), 1.0)).tobytes()
    got: list[bytes] = []

    def draw() -> None:
        for _ in range(4):
            got.append(standard_normal((256, 256, 3), Context(np.random.default_rng(3), 1.0)).tobytes())

    threads = [threading.Thread(target=draw) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 12 and set(got) == {want}


def test_shot_noise_table_is_the_float_path_rounded() -> None:
    for strength in (1 / 12, 1 / 5, 1 / 3):
        old = fast_uint8(_poisson_table(strength) * np.float32(strength))
        assert np.array_equal(_poisson_uint8(strength).reshape(256, -1), old)


def test_power_floor_keeps_black_black() -> None:
    """The 1e-30 floor (cv2.pow's fast path) gives the same uint8 image as clipping at zero."""
    x = np.linspace(-0.2, 1.2, 224 * 224 * 3, dtype=np.float32).reshape(224, 224, 3)
    for e in (1 / 2.2, 0.68, 1.0, 2.2):
        exact = np.clip(np.clip(x, 0, 1).astype(np.float64) ** e * 255.0 + 0.5, 0, 255).astype(np.uint8)
        got = fast_uint8(power(x, e))
        assert np.abs(got.astype(int) - exact).max() <= 1 and got[x <= 0].max() == 0


def test_channel_percentile_is_numpys(photo: np.ndarray) -> None:
    values = photo[::2, ::2].reshape(-1, 3)
    for q in (0.0, 37.5, 95.0, 99.9, 100.0):
        assert np.allclose(channel_percentile(values, q), np.percentile(values, q, axis=0), rtol=0, atol=1e-9)


def test_fraction_is_the_float_modulo() -> None:
    u = np.random.default_rng(0).random(10_000, dtype=np.float32)
    assert np.array_equal(_fraction(u), (u * np.float32(7919.0)) % np.float32(1.0))


def test_frost_without_crystals_and_on_a_large_photo() -> None:
    im = sample_images(96)[1]
    assert single("frost", crystals=0)(im, 3, seed=1).shape == im.shape
    big = sample_images(400)[2]
    out = single("frost")(big, 3, seed=1)
    assert out.shape == big.shape and 0.2 < ssim(big, out) < 0.8


def test_benchmark_prints_imagecorruptions_side_by_side(tmp_path: Path) -> None:
    module()  # skips (fails in CI) when imagecorruptions is not installed
    out = tmp_path / "speed.json"
    cmd = [sys.executable, str(ROOT / "benchmarks" / "corruption_speed.py"), "--seconds", "0.02"]
    cmd += ["--only", "pixelate", "rotation", "--json", str(out), "--baseline", str(ROOT)]
    env = {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1"}
    run = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=120, check=True)
    assert "1 OpenCV thread(s)" in run.stdout and "slower than imagecorruptions:" in run.stdout
    rows = {r["name"]: r for r in json.loads(out.read_text())}
    assert rows["pixelate"]["reference_img_per_s"] > 0 and rows["pixelate"]["counts"] is True
    assert rows["pixelate"]["ratio"] == pytest.approx(
        rows["pixelate"]["img_per_s"] / rows["pixelate"]["reference_img_per_s"], rel=0.02
    )
    assert "ratio" not in rows["rotation"]  # no ImageNet-C counterpart
    # the baseline (here this checkout itself, imported a second time) is timed in the same rounds
    assert "speedup" in run.stdout and rows["rotation"]["baseline_img_per_s"] > 0
    assert rows["rotation"]["speedup"] == pytest.approx(
        rows["rotation"]["img_per_s"] / rows["rotation"]["baseline_img_per_s"], rel=0.02
    )


def _motion_kernel_by_scatter(length: int, decay: float, angle: float) -> tuple[np.ndarray, tuple[int, int]]:
    """The streak kernel as first written: taps scattered with np.add.at, cropped to its non-zeros."""
    weights = np.exp(-(np.arange(length, dtype=np.float64) ** 2) / (2.0 * decay * decay))
    weights /= weights.sum()
    sin, cos = np.sin(np.deg2rad(angle)), np.cos(np.deg2rad(angle))
    i = np.arange(length)
    dy, dx = -np.ceil(i * sin - 0.5).astype(int), -np.ceil(i * cos - 0.5).astype(int)
    k = np.zeros((2 * length + 1, 2 * length + 1), np.float64)
    np.add.at(k, (length - dy, length - dx), weights)
    ys, xs = np.nonzero(k)
    y0, x0 = int(ys.min()), int(xs.min())
    return k[y0 : ys.max() + 1, x0 : xs.max() + 1].astype(np.float32), (length - x0, length - y0)


@pytest.mark.parametrize(
    ("length", "decay", "angle"), [(21, 3.0, 12.0), (31, 8.0, -40.0), (41, 15.0, 44.0), (46, 0.89, 5.1)]
)
def test_motion_kernel_by_bincount_is_the_scattered_kernel(length: int, decay: float, angle: float) -> None:
    """Same taps, crop and anchor, also when a short decay underflows the far taps to zero."""
    kernel, anchor = motion_kernel(length, decay, angle)
    want, want_anchor = _motion_kernel_by_scatter(length, decay, angle)
    assert anchor == want_anchor and np.array_equal(kernel, want)


def test_frost_crystal_blur_from_the_uint8_canvas_is_the_float_gaussian() -> None:
    from robustlens.corruptions.crystals import blurred_crystals, dendrite_canvas
    from robustlens.corruptions.ops import gaussian, to_float

    canvas = dendrite_canvas((224, 200), 160, 22.0, np.random.default_rng(3))
    assert canvas.dtype == np.uint8 and canvas.max() == 255
    assert np.abs(blurred_crystals(canvas) - gaussian(to_float(canvas), 0.5)).max() < 1e-6
