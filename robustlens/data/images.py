"""Loading and saving single images robustly.

Real datasets contain EXIF-rotated phone photos, 16-bit PNG/TIFF, palette GIFs, grayscale and
RGBA files, and the occasional truncated or mislabelled file. ``load_image`` normalises the
readable ones to uint8 arrays and raises ``BadImage`` (with a reason to record) for the rest.
"""

from __future__ import annotations

import stat
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

IMAGE_SUFFIXES = frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif", ".ppm", ".pgm", ".pbm"}
)
# Decoded size bound: a 20000x20000 PNG is 5 MB on disk but 1.2 GB decoded, and the corruption
# pipeline makes float copies of it. JPEGs above the bound are decoded reduced (draft mode, 1/2 to
# 1/8 scale, nearly free); other formats cannot be, and are skipped with the size and the limit.
MAX_PIXELS = 50_000_000
# Pillow's own bomb guard (a recorded skip below) sits above what a 1/8 draft can bring in bounds.
Image.MAX_IMAGE_PIXELS = 64 * MAX_PIXELS
PNG_LEVEL = 1  # zlib level of written PNGs: fast, still lossless (see save_image)


class BadImage(Exception):
    """An image that cannot be used; ``str(exc)`` is the reason recorded in the run."""


def is_image_path(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")


def load_image(path: str | Path, mode: str = "keep", max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Read an image as uint8: HxW (gray), HxWx3 (RGB) or HxWx4 (RGBA).

    EXIF orientation is applied; 16-bit and float images are rescaled to 8 bits by their
    dtype range; palette images are expanded (to RGBA when they carry transparency).
    ``mode='rgb'`` always returns HxWx3 (alpha composited on white). Memory stays bounded: the
    size is read from the header first and images above ``max_pixels`` are decoded reduced
    (JPEG) or refused with ``BadImage``. Only regular files are opened (a FIFO would block).
    """
    path = Path(path)
    try:
        _check_file(path)
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                _bound_size(im, max_pixels)
                upright = ImageOps.exif_transpose(im)
                upright.load()
                array = _to_uint8(upright)
    except FileNotFoundError:
        raise BadImage("file not found") from None
    except PermissionError:
        raise BadImage("permission denied (the file cannot be read)") from None
    except IsADirectoryError:
        raise BadImage("not a regular file") from None
    except UnidentifiedImageError:
        raise BadImage("not a readable image (unknown or corrupt format)") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise BadImage(f"unreadable image: {exc}") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise BadImage(
            f"image too large (over {MAX_PIXELS // 1_000_000} MP, decompression-bomb guard)"
        ) from None
    except MemoryError:
        raise BadImage("image too large to decode in the available memory") from None
    if array.size == 0 or min(array.shape[:2]) < 1:
        raise BadImage("empty image")
    return to_rgb(array) if mode == "rgb" else array


def _check_file(path: Path) -> None:
    """Refuse what is not a regular file (a FIFO would block) and say so plainly of an empty file:
    "unknown or corrupt format" sends the user hunting for a codec when the file holds nothing."""
    st = path.stat()
    if not stat.S_ISREG(st.st_mode):
        raise BadImage("not a regular file")
    if st.st_size == 0:
        raise BadImage("empty file (0 bytes)")


def screen_image(path: str | Path) -> str | None:
    """Why ``path`` cannot be used, from its size and header alone (no pixels decoded), or None.

    A subsample draws from the files that pass, so the files it leaves out are still checked and a
    broken one is reported as skipped instead of vanishing with the unused images."""
    try:
        _check_file(Path(path))
        with Image.open(path):
            return None
    except BadImage as exc:
        return str(exc)
    except FileNotFoundError:
        return "file not found"
    except PermissionError:
        return "permission denied (the file cannot be read)"
    except UnidentifiedImageError:
        return "not a readable image (unknown or corrupt format)"
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return None  # decided (decoded reduced or refused) when the image is loaded
    except (OSError, SyntaxError, ValueError) as exc:
        return f"unreadable image: {exc}"


def _bound_size(im: Image.Image, max_pixels: int) -> None:
    """Before decoding: JPEGs too large are decoded at 1/2, 1/4 or 1/8 scale (the largest that
    fits); anything still above ``max_pixels`` is refused, naming its size and the limit."""
    width, height = im.size
    if width * height <= max_pixels:
        return
    if im.format == "JPEG":
        for scale in (2, 4, 8):
            if -(-width // scale) * -(-height // scale) <= max_pixels:
                im.draft(im.mode, (-(-width // scale), -(-height // scale)))
                return
    raise BadImage(
        f"image too large: {width}x{height} ({width * height / 1e6:g} MP) is above the "
        f"{max_pixels / 1e6:g} MP decoding limit"
    )


def _to_uint8(im: Image.Image) -> np.ndarray:
    if im.mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif im.mode in ("1", "L"):
        im = im.convert("L")
    elif im.mode == "LA":
        im = im.convert("RGBA")
    elif im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        return _scale_wide(np.asarray(im))
    elif im.mode == "CMYK" or im.mode == "YCbCr" or im.mode == "LAB" or im.mode == "HSV":
        im = im.convert("RGB")
    elif im.mode not in ("RGB", "RGBA", "L"):
        im = im.convert("RGBA" if "A" in im.mode else "RGB")
    array = np.asarray(im)
    if array.dtype != np.uint8:
        return _scale_wide(array)
    return np.ascontiguousarray(array)


def _scale_wide(array: np.ndarray) -> np.ndarray:
    """16-bit or float pixel data to uint8 by the dtype's range (floats by their own min/max)."""
    if np.issubdtype(array.dtype, np.floating):
        lo, hi = float(np.nanmin(array)), float(np.nanmax(array))
        scaled = (np.nan_to_num(array) - lo) / (hi - lo) if hi > lo else np.zeros_like(array)
        return np.clip(scaled * 255 + 0.5, 0, 255).astype(np.uint8)
    info_max = 65535 if array.max(initial=0) > 255 else 255
    if array.dtype.itemsize >= 2 and array.max(initial=0) <= 4095 and array.max(initial=0) > 255:
        info_max = 4095  # 12-bit sensors stored in 16-bit containers
    return np.clip(array.astype(np.float64) * (255.0 / info_max) + 0.5, 0, 255).astype(np.uint8)


def to_rgb(array: np.ndarray) -> np.ndarray:
    """Any uint8 layout to HxWx3 RGB (gray replicated, alpha composited on white)."""
    if array.ndim == 2:
        return np.repeat(array[:, :, None], 3, axis=2)
    if array.shape[2] == 1:
        return np.repeat(array, 3, axis=2)
    if array.shape[2] == 4:
        rgb = array[:, :, :3].astype(np.float32)
        a = array[:, :, 3:4].astype(np.float32) / 255.0
        return np.clip(rgb * a + 255.0 * (1 - a) + 0.5, 0, 255).astype(np.uint8)
    return array


def save_image(array: np.ndarray, path: str | Path, quality: int = 95) -> Path:
    """Write an image atomically; format from the suffix (JPEG/WebP at ``quality``).

    PNG stays lossless (a corrupted image must not gain the writer's own artefacts) but is written at
    zlib level 1 (``PNG_LEVEL``): Pillow's default level 6 spends ~4.5 s on a 12-megapixel photo, level
    1 ~1.2 s for files ~25% larger, and ``robustlens corrupt`` writes one per spec and severity."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    im = Image.fromarray(array[:, :, 0] if array.ndim == 3 and array.shape[2] == 1 else array)
    suffix = path.suffix.lower()
    if suffix in (".jpg", ".jpeg") and im.mode == "RGBA":
        im = im.convert("RGB")
    kwargs: dict[str, Any] = {"quality": quality} if suffix in (".jpg", ".jpeg", ".webp") else {}
    if suffix == ".png":
        kwargs["compress_level"] = PNG_LEVEL
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    im.save(tmp, **kwargs)
    tmp.replace(path)
    return path
