"""Argument checks of the public API (``robustlens.api``): the same ``UserInputError`` the CLI prints.

A notebook passes Python values, not flags: each check names the argument, says what is allowed and
how to fix it, before anything is loaded or written.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from robustlens.errors import UserInputError

if TYPE_CHECKING:
    import numpy as np


def _path(value: Any, field: str, must_exist: bool = True) -> Path:
    if not isinstance(value, str | Path) or not str(value).strip():
        raise UserInputError(
            f"{field} must be a path (str or pathlib.Path), got {type(value).__name__}.", field=field
        )
    path = Path(value).expanduser()
    if must_exist and not path.exists():
        raise UserInputError(
            f"{field}: {path} does not exist.",
            fix="Check the path (relative paths are taken from the current directory).",
            field=field,
        )
    return path


def _models(models: str | Sequence[str]) -> list[str]:
    ids = [models] if isinstance(models, str) else list(models)
    if not ids or not all(isinstance(m, str) and m.strip() for m in ids):
        raise UserInputError(
            f"models must be one model id or a list of them, got {models!r}.",
            fix="e.g. models=['openclip:ViT-B-32/laion2b_s34b_b79k'] (see `robustlens models list`).",
            field="models",
        )
    return ids


def _coerce(value: Any, kind: type, load: Any, field: str) -> Any:
    """An object of ``kind`` from itself, a file path or a dict (validated like the CLI's files)."""
    from robustlens.userfiles import validate_as

    if isinstance(value, kind):
        return value
    if isinstance(value, str | Path):
        return load(value)
    if isinstance(value, Mapping):
        return validate_as(kind, dict(value), field)
    raise UserInputError(
        f"{field} must be a {kind.__name__}, a dict or a file path, got {type(value).__name__}.", field=field
    )


def _image(image: Any) -> np.ndarray:
    import numpy as np

    if isinstance(image, str | Path):
        from robustlens.data.images import BadImage, load_image

        try:
            return load_image(_path(image, "image"))
        except BadImage as exc:
            raise UserInputError(f"Cannot read image {image}: {exc}", field="image") from None
    if hasattr(image, "mode") and hasattr(image, "size") and not isinstance(image, np.ndarray):  # PIL
        image = np.asarray(image.convert("RGBA" if "A" in image.mode else "RGB"))
    if not isinstance(image, np.ndarray):
        raise UserInputError(
            f"image must be a numpy array, a PIL image or a file path, got {type(image).__name__}.",
            field="image",
        )
    shape_ok = image.ndim == 2 or (image.ndim == 3 and image.shape[2] in (1, 3, 4))
    if image.dtype != np.uint8 or not shape_ok or min(image.shape[:2]) < 1:
        raise UserInputError(
            f"image must be uint8 HxW, HxWx3 or HxWx4; got {image.dtype} {image.shape}.",
            fix="Convert first, e.g. (np.clip(x, 0, 1) * 255).astype(np.uint8) for floats in 0..1.",
            field="image",
        )
    return np.ascontiguousarray(image)


def _severity(value: Any) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or not 0 <= value <= 5:
        raise UserInputError(
            f"severity must be a number in 0..5, got {value!r}.",
            why="0 is the clean image and 5 the strongest rung of the ladder; fractions interpolate.",
            field="severity",
        )
    return float(value)


def _positive(value: Any, field: str) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise UserInputError(f"{field} must be a positive integer, got {value!r}.", field=field)


def _execution(
    corrupt_on: str | None, target_ci_width: float | None, executor: str | None, ray_address: str | None
) -> dict[str, Any]:
    """The execution arguments, checked like ``corrupt_at`` (None: not given)."""
    if corrupt_on is not None:
        _choice(corrupt_on, ("auto", "cpu", "device"), "corrupt_on")
    if executor is not None:
        _choice(executor, ("local", "ray"), "executor")
    if target_ci_width is not None and (
        isinstance(target_ci_width, bool)
        or not isinstance(target_ci_width, (int, float))
        or not 0 < target_ci_width <= 1
    ):
        raise UserInputError(
            f"target_ci_width must be a number in (0, 1], got {target_ci_width!r}.",
            fix="e.g. target_ci_width=0.1, or None to use every image in every cell.",
            field="target_ci_width",
        )
    return {
        "corrupt_on": corrupt_on,
        "target_ci_width": target_ci_width,
        "executor": executor,
        "ray_address": ray_address,
    }


def _choice(value: Any, allowed: Sequence[str], field: str) -> None:
    if value not in allowed:
        raise UserInputError(
            f"{field}={value!r} is not allowed.", fix=f"Use one of: {', '.join(allowed)}.", field=field
        )
