"""Image loading handles real-world oddities and rejects broken files with a reason."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from robustlens.data.images import BadImage, load_image, save_image, to_rgb


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    pixels = np.zeros((20, 40, 3), np.uint8)
    pixels[:, :20] = 255  # left half white
    im = Image.fromarray(pixels)
    exif = im.getexif()
    exif[0x0112] = 6  # rotate 90 CW on display
    im.save(tmp_path / "r.jpg", exif=exif, quality=95)
    out = load_image(tmp_path / "r.jpg")
    assert out.shape == (40, 20, 3)
    assert out[:20].mean() > 200 and out[20:].mean() < 50  # white half is now on top


def test_sixteen_bit_is_scaled(tmp_path: Path) -> None:
    ramp = (np.linspace(0, 65535, 64 * 64).reshape(64, 64)).astype(np.uint16)
    Image.fromarray(ramp).save(tmp_path / "d.png")
    out = load_image(tmp_path / "d.png")
    assert out.dtype == np.uint8 and out.shape == (64, 64)
    assert out.min() == 0 and out.max() == 255


def test_palette_with_transparency_becomes_rgba(tmp_path: Path) -> None:
    im = Image.new("P", (10, 10))
    im.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    im.info["transparency"] = 0
    im.save(tmp_path / "p.png", transparency=0)
    assert load_image(tmp_path / "p.png").shape == (10, 10, 4)
    assert load_image(tmp_path / "p.png", mode="rgb").shape == (10, 10, 3)


def test_grayscale_and_rgba(tmp_path: Path) -> None:
    Image.fromarray(np.full((5, 6), 7, np.uint8)).save(tmp_path / "g.png")
    Image.fromarray(np.full((5, 6, 4), 7, np.uint8)).save(tmp_path / "a.png")
    assert load_image(tmp_path / "g.png").shape == (5, 6)
    assert load_image(tmp_path / "a.png").shape == (5, 6, 4)


@pytest.mark.parametrize(
    ("content", "reason"),
    [(b"this is not an image", "not a readable image"), (b"", "not a readable image")],
)
def test_non_images_are_rejected(tmp_path: Path, content: bytes, reason: str) -> None:
    (tmp_path / "x.jpg").write_bytes(content)
    with pytest.raises(BadImage, match=reason):
        load_image(tmp_path / "x.jpg")


def test_truncated_jpeg_is_rejected(tmp_path: Path) -> None:
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(
        tmp_path / "f.jpg"
    )
    data = (tmp_path / "f.jpg").read_bytes()
    (tmp_path / "t.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(BadImage, match="unreadable"):
        load_image(tmp_path / "t.jpg")


def test_missing_file() -> None:
    with pytest.raises(BadImage, match="not found"):
        load_image("/nonexistent/x.png")


def test_save_is_atomic_and_lossless_png(tmp_path: Path) -> None:
    arr = np.random.default_rng(1).integers(0, 255, (9, 7, 3), dtype=np.uint8)
    save_image(arr, tmp_path / "sub" / "o.png")
    assert np.array_equal(load_image(tmp_path / "sub" / "o.png"), arr)
    assert not list((tmp_path / "sub").glob(".*"))


def test_to_rgb_composites_alpha_on_white() -> None:
    rgba = np.zeros((2, 2, 4), np.uint8)
    assert to_rgb(rgba).min() == 255
