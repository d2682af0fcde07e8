"""Loading and saving single images robustly.

Real datasets contain EXIF-rotated phone photos, 16-bit PNG/TIFF, palette GIFs, grayscale and
RGBA files, and the occasional truncated or mislabelled file. ``load_image`` normalises the
readable ones to uint8 arrays and raises ``BadImage`` (with a reason to record) for the rest.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

IMAGE_SUFFIXES = frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif", ".ppm", ".pgm", ".pbm"}
)
Image.MAX_IMAGE_PIXELS = 20_000 * 20_000


class BadImage(Exception):
    """An image that cannot be used; ``str(exc)`` is the reason recorded in the run."""


def is_image_path(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")


def load_image(path: str | Path, mode: str = "keep") -> np.ndarray:
    """Read an image as uint8: HxW (gray), HxWx3 (RGB) or HxWx4 (RGBA).

    EXIF orientation is applied; 16-bit and float images are rescaled to 8 bits by their
    dtype range; palette images are expanded (to RGBA when they carry transparency).
    ``mode='rgb'`` always returns HxWx3 (alpha composited on white).
    """
    path = Path(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                im = ImageOps.exif_transpose(im)
                im.load()
                array = _to_uint8(im)
    except FileNotFoundError:
        raise BadImage("file not found") from None
    except UnidentifiedImageError:
        raise BadImage("not a readable image (unknown or corrupt format)") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise BadImage(f"unreadable image: {exc}") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise BadImage("image too large (decompression-bomb guard)") from None
    if array.size == 0 or min(array.shape[:2]) < 1:
        raise BadImage("empty image")
    return to_rgb(array) if mode == "rgb" else array


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
    """Write an image atomically; format from the suffix (JPEG/WebP at ``quality``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    im = Image.fromarray(array[:, :, 0] if array.ndim == 3 and array.shape[2] == 1 else array)
    suffix = path.suffix.lower()
    if suffix in (".jpg", ".jpeg") and im.mode == "RGBA":
        im = im.convert("RGB")
    kwargs = {"quality": quality} if suffix in (".jpg", ".jpeg", ".webp") else {}
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    im.save(tmp, **kwargs)
    tmp.replace(path)
    return path
