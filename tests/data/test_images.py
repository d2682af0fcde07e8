"""Image loading handles real-world oddities and rejects broken files with a reason."""

from __future__ import annotations

import os
import subprocess
import sys
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
    [(b"this is not an image", "not a readable image"), (b"", r"empty file \(0 bytes\)")],
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


# ---------------------------------------------------------------- bounded decoding and odd files


def _big_png(path: Path, width: int, height: int) -> Path:
    """A valid, mostly-constant RGB PNG written row-chunk by row-chunk (a few MB, never in memory)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + b"\x80" * (width * 3)
    comp = zlib.compressobj(1)
    with open(path, "wb") as fh:
        fh.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)))
        for start in range(0, height, 500):
            fh.write(chunk(b"IDAT", comp.compress(row * min(500, height - start))))
        fh.write(chunk(b"IDAT", comp.flush()) + chunk(b"IEND", b""))
    return path


def test_huge_png_is_refused_from_its_header_with_bounded_memory(tmp_path: Path) -> None:
    big = _big_png(tmp_path / "huge.png", 20_000, 20_000)
    assert big.stat().st_size < 20_000_000
    script = (
        "import sys\n"
        "from robustlens.data.images import BadImage, load_image\n"
        "try:\n"
        "    out = load_image(sys.argv[1]); print('shape', out.shape)\n"
        "except BadImage as exc:\n"
        "    print('skip', exc)\n"
        # VmHWM: this process's peak (ru_maxrss would include the forking parent's peak)
        "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0]\n"
        "print('rss_mb', int(hwm.split()[1]) // 1024)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(big)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines())
    assert "20000x20000" in lines["skip"] and "50 MP" in lines["skip"]
    assert int(lines["rss_mb"]) < 600  # decoding it would take > 1200 MB


def test_large_jpeg_is_decoded_reduced_in_draft_mode(tmp_path: Path) -> None:
    pixels = np.random.default_rng(0).integers(0, 255, (300, 400, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "big.jpg", quality=90)
    assert load_image(tmp_path / "big.jpg").shape == (300, 400, 3)
    # 400x300 over a 20000-pixel limit: 1/2 scale is still 30000 pixels, 1/4 scale fits
    assert load_image(tmp_path / "big.jpg", max_pixels=20_000).shape == (75, 100, 3)
    Image.fromarray(pixels).save(tmp_path / "big.png")
    with pytest.raises(BadImage, match=r"400x300 .* above the 0.02 MP decoding limit"):
        load_image(tmp_path / "big.png", max_pixels=20_000)


def test_decompression_bomb_guard_is_a_bad_image(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Image.fromarray(np.zeros((40, 40, 3), np.uint8)).save(tmp_path / "b.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 500)  # 1600 pixels: over 2x the guard -> error
    with pytest.raises(BadImage, match="decompression-bomb"):
        load_image(tmp_path / "b.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # between 1x and 2x -> warning
    with pytest.raises(BadImage, match="decompression-bomb"):
        load_image(tmp_path / "b.png")


def test_fifo_directory_and_dangling_link_are_bad_images_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "y.png")  # opening it for reading would block forever
    (tmp_path / "x.jpg").mkdir()
    (tmp_path / "gone.png").symlink_to(tmp_path / "missing.png")
    (tmp_path / "loop.png").symlink_to(tmp_path / "loop.png")
    with pytest.raises(BadImage, match="not a regular file"):
        load_image(tmp_path / "y.png")
    with pytest.raises(BadImage, match="not a regular file"):
        load_image(tmp_path / "x.jpg")
    with pytest.raises(BadImage, match="not found"):
        load_image(tmp_path / "gone.png")
    with pytest.raises(BadImage, match="unreadable"):
        load_image(tmp_path / "loop.png")


def test_cmyk_jpeg_animated_gif_and_truncated_png(tmp_path: Path) -> None:
    Image.new("CMYK", (12, 10), (0, 255, 255, 0)).save(tmp_path / "c.jpg")  # red in CMYK
    rgb = load_image(tmp_path / "c.jpg")
    assert rgb.shape == (10, 12, 3) and rgb[..., 0].mean() > 200 and rgb[..., 1].mean() < 60
    frames = [Image.new("RGB", (8, 6), color) for color in [(255, 0, 0), (0, 0, 255)]]
    frames[0].save(tmp_path / "a.gif", save_all=True, append_images=frames[1:])
    first = load_image(tmp_path / "a.gif", mode="rgb")
    assert first.shape == (6, 8, 3) and first[..., 0].mean() > 200  # the first frame
    Image.fromarray(np.random.default_rng(2).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(
        tmp_path / "f.png"
    )
    data = (tmp_path / "f.png").read_bytes()
    (tmp_path / "t.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(BadImage, match="unreadable"):
        load_image(tmp_path / "t.png")


def test_unreadable_file_is_a_bad_image(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # chmod 000 does not stop root, so the open itself is made to fail as it does for other users.
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "p.png")
    real_open = Image.open

    def denied(fp: object, *a: object, **k: object) -> Image.Image:
        if str(fp).endswith("p.png"):
            raise PermissionError(13, "Permission denied", str(fp))
        return real_open(fp, *a, **k)

    monkeypatch.setattr(Image, "open", denied)
    with pytest.raises(BadImage, match="permission denied"):
        load_image(tmp_path / "p.png")
