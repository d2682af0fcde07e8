"""Fidelity to ImageNet-C (Hendrycks & Dietterich, ICLR 2019) and of the codecs' colours.

Every primitive that claims ImageNet-C equivalence (fidelity ``exact`` or ``approximate``) must
degrade natural 224 px images as much as the reference code (``imagecorruptions``, through the
shim in ``imagenet_c_reference``): mean SSIM to the clean image within 0.03 at each severity.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import skimage.data
from PIL import Image

from robustlens.corruptions import REGISTRY, single
from robustlens.corruptions.base import FIDELITY_LEVELS
from robustlens.corruptions.quality import ssim
from tests.conftest import _square, sample_images
from tests.corruptions.imagenet_c_reference import module, reference

CLAIMS = sorted(n for n, i in REGISTRY.items() if i.claims_imagenet_c)
TOLERANCE = 0.03
# Known, documented gaps (see the primitive's docstring): ImageNet-C's snow is harsher at
# severity 2 than at 3; a monotone ladder can match one of them, and matches 3.
KNOWN_GAPS = {("snow", 2): 0.06}


@pytest.fixture(scope="module")
def natural() -> list[np.ndarray]:
    """Eight natural 224 px images: the shared samples plus a street scene, coins and bricks."""
    gray = [skimage.data.coins(), skimage.data.brick()]
    extra = [skimage.data.stereo_motorcycle()[0], *(np.repeat(g[:, :, None], 3, axis=2) for g in gray)]
    return sample_images() + [_square(im, 224) for im in extra]


def test_every_primitive_declares_its_fidelity() -> None:
    for name, info in REGISTRY.items():
        assert info.fidelity in FIDELITY_LEVELS, name
        tagged = "imagenet_c" in info.tags
        assert tagged == (info.fidelity != "none"), f"{name}: ImageNet-C tag and fidelity disagree"
        if info.fidelity != "none":
            assert info.fidelity_note, name
            assert f"ImageNet-C fidelity: {info.fidelity}" in " ".join(info.doc.split()), name


def test_the_fidelity_test_covers_the_imagenet_c_set() -> None:
    assert {"gaussian_noise", "shot_noise", "motion_blur", "frost", "fog", "snow", "jpeg"} <= set(CLAIMS)


@pytest.mark.parametrize("name", CLAIMS)
def test_mean_ssim_matches_imagenet_c(name: str, natural: list[np.ndarray]) -> None:
    corrupt = single(name)
    for sev in range(1, 6):
        ours = np.mean([ssim(im, corrupt(im, sev, seed=i)) for i, im in enumerate(natural)])
        ref = np.mean([ssim(im, reference(name, im, sev, seed=i)) for i, im in enumerate(natural)])
        tol = KNOWN_GAPS.get((name, sev), TOLERANCE)
        assert abs(ours - ref) <= tol, f"{name} s{sev}: ours {ours:.3f}, ImageNet-C {ref:.3f}"


def test_the_glass_blur_reference_replays_imagenet_c_byte_for_byte(natural: list[np.ndarray]) -> None:
    """``reference("glass_blur")`` (a faster replay of ImageNet-C's per-pixel loop, ~1 s per image
    and severity) gives the package's own bytes at every severity, on a non-square crop (the
    package's loop is as slow per pixel on it, so a crop keeps this cheap)."""
    glass_blur = module().corruptions.glass_blur
    for sev in range(1, 6):
        for seed, crop in enumerate([natural[0][30:90, 20:100], natural[5][100:148, 60:200]]):
            np.random.seed(seed)
            expected = np.uint8(glass_blur(Image.fromarray(crop), sev))
            assert np.array_equal(reference("glass_blur", crop, sev, seed=seed), expected), (sev, seed)


@pytest.mark.parametrize(("name", "level"), [("gaussian_noise", 128), ("speckle_noise", 100)])
def test_noise_sigma_from_the_residual(name: str, level: int) -> None:
    """On a flat grey image (clipping negligible at severities 1-3) the residual's std is
    ImageNet-C's sigma (times the level for multiplicative speckle)."""
    sigmas = {"gaussian_noise": (0.08, 0.12, 0.18), "speckle_noise": (0.15, 0.2, 0.35)}[name]
    grey = np.full((224, 224, 3), level, np.uint8)
    for sev, sigma in enumerate(sigmas, start=1):
        out = single(name)(grey, sev, seed=1).astype(np.float64)
        expected = sigma * (255 if name == "gaussian_noise" else level)
        assert abs((out - level).std() / expected - 1) < 0.02, (name, sev, sigma)


def test_shot_noise_is_poisson_in_the_dark() -> None:
    """At 3 photons full scale a pixel of value 26 expects 0.3 photons: Poisson gives 0 about 74 % of
    the time (exp(-0.3)); the Gaussian shortcut gave 0 only 29 % of the time (draws below -0.55 sigma)."""
    dark = np.full((224, 224, 3), 26, np.uint8)
    out = single("shot_noise")(dark, 5, seed=3)
    assert abs(float(np.mean(out == 0)) - np.exp(-26 / 255 * 3)) < 0.01
    assert set(np.unique(out)) <= {0, 85, 170, 255}  # whole photons: multiples of 255 / 3


@pytest.mark.parametrize(("sev", "radius", "sigma"), [(1, 10, 3), (5, 20, 15)])
def test_motion_blur_streak_from_an_impulse(sev: int, radius: int, sigma: float) -> None:
    """An impulse spreads into ImageNet-C's one-sided streak: its centre of mass lies at the mean
    of the weights exp(-i^2 / 2 sigma^2), i = 0..2 radius, from the impulse."""
    image = np.zeros((224, 224, 3), np.uint8)
    image[112, 112] = 255
    out = single("motion_blur")(image, sev, seed=0)[:, :, 0].astype(np.float64)
    ys, xs = np.mgrid[:224, :224]
    cy, cx = (out * ys).sum() / out.sum(), (out * xs).sum() / out.sum()
    i = np.arange(2 * radius + 1)
    w = np.exp(-(i**2) / (2 * sigma**2))
    assert abs(np.hypot(cy - 112, cx - 112) - (i * w).sum() / w.sum()) < 0.6


@pytest.mark.parametrize(
    ("name", "sev", "variance"),
    [("gaussian_blur", 2, 2.0**2), ("gaussian_blur", 5, 6.0**2), ("defocus_blur", 3, 6.0**2 / 4)],
)
def test_blur_width_from_an_edge(name: str, sev: int, variance: float) -> None:
    """The line spread of a blurred step edge has ImageNet-C's width: variance sigma^2 for a
    Gaussian, r^2 / 4 for a disk of radius r (its projection is a semicircle)."""
    edge = np.zeros((224, 224, 3), np.uint8)
    edge[:, 112:] = 255
    profile = single(name)(edge, sev, seed=0)[112, :, 0].astype(np.float64)
    lsf = np.diff(profile)
    x = np.arange(lsf.size)
    mean = (lsf * x).sum() / lsf.sum()
    assert abs((lsf * (x - mean) ** 2).sum() / lsf.sum() / variance - 1) < 0.1


@pytest.mark.parametrize("angle", [-37.0, 0.0, 30.0])
def test_motion_kernel_equals_imagenet_c_shift_and_add(angle: float, natural: list[np.ndarray]) -> None:
    """The one-pass kernel reproduces ImageNet-C's shift-and-add loop to rounding, at any angle."""
    import cv2

    from robustlens.corruptions.ops import motion_kernel

    image = natural[0]
    kernel, anchor = motion_kernel(31, 8.0, angle)
    ours = cv2.filter2D(image.astype(np.float32), -1, kernel, anchor=anchor, borderType=cv2.BORDER_REPLICATE)
    ref = module().corruptions._motion_blur(image, radius=15, sigma=8, angle=angle)
    assert np.abs(ours - ref).max() < 1e-3


@pytest.mark.parametrize("quality", [25, 7])
def test_jpeg_quality_matches_pillow_bit_for_bit(quality: int, natural: list[np.ndarray]) -> None:
    sev = {25: 1, 7: 5}[quality]
    for im in natural[:3]:
        assert np.array_equal(single("jpeg")(im, sev, seed=0), _pillow(im, "JPEG", quality))


def _pillow(image: np.ndarray, fmt: str, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format=fmt, quality=quality)
    buf.seek(0)
    with Image.open(buf) as decoded:
        return np.array(decoded.convert("RGB"))


def _channel_psnr(clean: np.ndarray, out: np.ndarray) -> np.ndarray:
    mse = ((clean.astype(np.float64) - out) ** 2).mean(axis=(0, 1))
    return 10 * np.log10(255.0**2 / mse)


CODECS = {"jpeg": ("JPEG", {1: 25, 5: 7}), "webp": ("WEBP", {1: 30, 3: 8})}


@pytest.mark.parametrize("name", sorted(CODECS))
def test_codec_colour_fidelity(name: str, natural: list[np.ndarray]) -> None:
    """Per-channel PSNR matches an independent encoder (Pillow) at the same quality: a swapped
    red/blue order moves red and blue by ~1 dB in opposite directions."""
    fmt, levels = CODECS[name]
    colour = natural[:4] + natural[5:6]
    for sev, quality in levels.items():
        ours = np.mean([_channel_psnr(im, single(name)(im, sev, seed=0)) for im in colour], axis=0)
        ref = np.mean([_channel_psnr(im, _pillow(im, fmt, quality)) for im in colour], axis=0)
        assert np.all(np.abs(ours - ref) < 0.2), (name, sev, ours, ref)


def test_every_lossy_codec_has_a_colour_test() -> None:
    codecs = {n for n, i in REGISTRY.items() if i.family == "digital" and "pixel_level" in i.tags}
    lossy = codecs - {"bit_depth", "color_quantization"}
    assert lossy == set(CODECS)


def _cli(*args: str) -> str:
    env = {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1", "COLUMNS": "80", "TERM": "dumb"}
    done = subprocess.run(
        [sys.executable, "-m", "robustlens", *args], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_cli_shows_the_fidelity() -> None:
    """`corruptions list` has an IN-C column within 80 columns; `show` and `--json` carry the level."""
    listing = _cli("corruptions", "list", "--family", "blur")
    assert all(len(line) <= 80 for line in listing.splitlines())
    assert "IN-C" in listing
    rows = {line.split()[1]: line.split()[-2] for line in listing.splitlines() if line.count("│") == 5}
    assert rows["motion_blur"] == "exact" and rows["zoom_blur"] == "approx", rows
    as_json = json.loads(_cli("corruptions", "list", "--json"))
    assert {d["name"]: d["imagenet_c_fidelity"] for d in as_json} == {
        n: REGISTRY[n].fidelity for n in REGISTRY
    }
    shown = json.loads(_cli("corruptions", "show", "saturate", "--json"))
    assert shown["imagenet_c_fidelity"] == "different" and "monotone" in shown["imagenet_c_fidelity_note"]
    assert "ImageNet-C fidelity: exact" in " ".join(_cli("corruptions", "show", "jpeg").split())
