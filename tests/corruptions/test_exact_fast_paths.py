"""Speed-ups of the slowest CPU primitives that keep their output (issue 14: >= 500 img/s per core).

frost, spatter and rain blend on float32 levels, water drops warp only the pixels under them,
pixelate area-downsamples on float32, webp decodes with OpenCV, dirty lens writes its float
planes in place and flare and drops floor their exponents: each is held here to the call it
replaced, bit for bit (motion and rain streaks' shifted adds to filter2D up to float rounding,
as the DFT paths were). Speed itself is measured by benchmarks/corruption_speed.py.
"""

from __future__ import annotations

import io
import tracemalloc

import cv2
import numpy as np
import pytest
from PIL import Image

from robustlens.corruptions import single
from robustlens.corruptions.mixing import mix, mix_levels
from robustlens.corruptions.ops import line_kernel, motion_kernel
from robustlens.corruptions.primitives import digital
from robustlens.corruptions.primitives.blur import streak_filter
from robustlens.corruptions.primitives.digital import area_down
from robustlens.corruptions.primitives.optics import _remap_points
from robustlens.corruptions.primitives.weather import _streaks
from tests.conftest import sample_images


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    """A natural photo, cropped to a non-square 200 x 224 so rows and columns are not confused."""
    return np.ascontiguousarray(sample_images()[0][:200])


def test_float_level_mixes_are_the_uint8_blends(photo: np.ndarray) -> None:
    """One mix, and two chained with rounding between them, give cv2.blendLinear's uint8 bytes."""
    rng = np.random.default_rng(0)
    other = np.ascontiguousarray(sample_images()[1][:200])
    a = rng.random(photo.shape[:2], dtype=np.float32)
    a[:40] = 0.0
    a[40:60] = 1.0
    b = np.ascontiguousarray(a[::-1])
    tint = (0.86, 0.92, 0.97)
    plane = np.empty_like(photo)
    plane[:] = np.rint(np.asarray(tint, np.float32) * 255.0).astype(np.uint8)
    once = cv2.blendLinear(photo, other, 1.0 - a, a)
    twice = cv2.blendLinear(once, plane, 1.0 - b, b)
    assert np.array_equal(mix(photo, other, a), once)
    assert np.array_equal(mix(photo, tint, a), cv2.blendLinear(photo, plane, 1.0 - a, a))
    x = mix_levels(photo.astype(np.float32), other, a)
    assert np.array_equal(cv2.convertScaleAbs(mix_levels(np.rint(x, out=x), tint, b)), twice)


def test_points_remap_to_the_full_frame_remap(photo: np.ndarray) -> None:
    """Sampling N points (several rows of 4096, the last one partial) is the full-map remap there."""
    rng = np.random.default_rng(1)
    h, w = photo.shape[:2]
    map_x = (rng.random((h, w), dtype=np.float32) * (w + 20) - 10).astype(np.float32)
    map_y = (rng.random((h, w), dtype=np.float32) * (h + 20) - 10).astype(np.float32)
    full = cv2.remap(photo, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    assert np.array_equal(_remap_points(photo, map_x.ravel(), map_y.ravel()), full.reshape(-1, 3))
    assert _remap_points(photo, map_x.ravel()[:0], map_y.ravel()[:0]).shape == (0, 3)


@pytest.mark.parametrize(
    ("length", "decay", "angle"), [(21, 3.0, 12.0), (31, 8.0, -40.0), (41, 15.0, 44.0), (90, 30.0, 20.0)]
)
def test_streak_filter_is_filter2d(photo: np.ndarray, length: int, decay: float, angle: float) -> None:
    """Shifted adds (and the DFT for a streak of more than 64 taps) give filter2D to one level."""
    kernel, anchor = motion_kernel(length, decay, angle)
    got = streak_filter(photo, kernel, anchor)
    want = cv2.filter2D(photo, -1, kernel, anchor=anchor, borderType=cv2.BORDER_REPLICATE)
    diff = np.abs(got.astype(np.int16) - want.astype(np.int16))
    assert got.shape == want.shape and diff.max() <= 1 and (diff > 0).mean() < 1e-3


@pytest.mark.parametrize("angle", [70.0, 90.0, 112.0])
def test_rain_streaks_are_filter2d_of_the_line(angle: float) -> None:
    """A float32 seed plane smeared along a line (zero border): filter2D's values to float rounding."""
    rng = np.random.default_rng(2)
    u = rng.random((224, 180), dtype=np.float32)
    seeds = (np.float32(0.6) + np.float32(0.4) * u) * (u < np.float32(0.01))
    kernel = line_kernel(13.0, angle)
    kernel = kernel / kernel.max()
    got = _streaks(seeds, 13.0, angle)
    want = cv2.filter2D(seeds, -1, kernel, borderType=cv2.BORDER_CONSTANT)
    assert got.dtype == np.float32 and np.abs(got - want).max() < 1e-5


def test_flare_and_drops_never_underflow_exp() -> None:
    """Exponents are floored where the result vanishes anyway: float32 exp's underflow path costs 4x."""
    photos = sample_images()[:3]
    with np.errstate(under="raise"):
        for name in ("sun_flare", "water_droplets"):
            corruption = single(name)
            for sev in (1, 3, 5):
                for seed, image in enumerate(photos):
                    corruption(image, sev, seed=seed)


def test_float_area_downsampling_is_opencvs_uint8_area_resize(photo: np.ndarray) -> None:
    """Bit for bit at non-integer ratios (the float path) and integer ones (OpenCV's fast path)."""
    wide = np.ascontiguousarray(sample_images(300)[2][:171])
    for image in (photo, wide):
        h, w = image.shape[:2]
        for f in (0.6, 0.5, 0.4, 0.3, 0.25, 0.77, 1.0):
            size = (max(1, round(w * f)), max(1, round(h * f)))
            want = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
            assert np.array_equal(area_down(image, *size), want), (image.shape, f)


def test_webp_decodes_with_opencv_to_pillows_pixels(
    photo: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pixels of Pillow's decoder, without it (and with it again when OpenCV cannot decode)."""
    buf = io.BytesIO()
    Image.fromarray(photo).save(buf, format="WEBP", quality=8, method=0)
    with Image.open(io.BytesIO(buf.getvalue())) as decoded:
        want = np.array(decoded.convert("RGB"))
    webp = single("webp")
    real_open = Image.open

    def no_pillow_decoder(*args: object, **kwargs: object) -> Image.Image:
        raise AssertionError("decoded by Pillow")

    monkeypatch.setattr(digital.Image, "open", no_pillow_decoder)
    assert np.array_equal(webp(photo, 3, seed=0), want)  # ladder: quality 8 at severity 3
    monkeypatch.setattr(digital.Image, "open", real_open)
    monkeypatch.setattr(digital.cv2, "imdecode", lambda *args: None)
    assert np.array_equal(webp(photo, 3, seed=0), want)


def test_dirty_lens_writes_its_float_planes_in_place() -> None:
    """At most ~4 full-size float32 images live at once (the old code peaked at 4.6 MB at 224 px:
    each fresh 0.6 MB plane cost more in page faults than its arithmetic)."""
    image = sample_images()[0]
    dirty = single("dirty_lens")
    dirty(image, 3, seed=1)  # warm caches
    tracemalloc.start()
    try:
        dirty(image, 3, seed=1)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 3.2e6
