"""Hints printed before long work: what a flag would change, measured on the user's own images."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

PROBE = 20  # images whose header is read (no pixels decoded)
LARGE = 1_000_000  # pixels: above this, native-resolution corruption dominates an audit's time
MODEL_SIDE = 224  # the usual model input side; the cost ratio is only a rough guide


def native_cost_hint(paths: Sequence[Path | str], options: Any) -> str | None:
    """A one-line hint when corrupting at native resolution will be slow, else None.

    Corruption cost grows with pixel count: a 12-megapixel photo costs ~240x a 224 px model input, so
    with the default ``--corrupt-at native`` an audit of phone photos runs for half an hour where
    ``--corrupt-at model`` takes minutes. Its results mean something else (the corruption acts after
    resizing, as in ImageNet-C), so the default stays and the user is told the choice and its price.
    ``options`` are the run's EngineOptions: a run whose corruptions go to the model's accelerator
    corrupts the model input anyway, and gets no hint.
    """
    if options.corrupt_at != "native" or not paths or _on_device(options):
        return None
    from PIL import Image

    sizes = []
    for path in list(paths)[:PROBE]:
        try:
            with Image.open(path) as im:  # reads the header only
                sizes.append((im.width * im.height, im.width, im.height))
        except Exception:  # unreadable files are reported by the loader, not here
            continue
    if not sizes:
        return None
    pixels, width, height = sorted(sizes)[(len(sizes) - 1) // 2]  # the (lower) median image
    if pixels < LARGE:
        return None
    ratio = pixels / (MODEL_SIDE * MODEL_SIDE)
    return (
        f"Hint: these images are about {pixels / 1e6:.1f} MP ({width}x{height}, median of {len(sizes)}); "
        f"corrupting them at native resolution costs roughly {ratio:.0f}x more per image than at a "
        f"{MODEL_SIDE} px model input. --corrupt-at model corrupts the resized model input instead: much "
        "faster, but the corruption then acts after resizing (as in ImageNet-C)."
    )


def _on_device(options: Any) -> bool:
    """Whether corruptions will run on the model's accelerator, at model resolution (as decided per
    model by ``device_path.model_on_device``, for the models whose preprocessing can be split)."""
    if options.corrupt_on == "device":
        return True
    if options.corrupt_on == "cpu" or options.executor == "ray":
        return False
    from robustlens.evaluation.device_path import ACCELERATORS
    from robustlens.models.base import pick_device

    try:
        return pick_device(options.device).type in ACCELERATORS
    except Exception:  # a bad --device is reported where the model is loaded
        return False
