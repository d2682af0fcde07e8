"""Hints printed before long work: what a flag would change, measured on the user's own images."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from pathlib import Path

PROBE = 20  # images whose header is read (no pixels decoded)
LARGE = 1_000_000  # pixels: above this, native-resolution corruption dominates an audit's time
MODEL_SIDE = 224  # the usual model input side; the cost ratio is only a rough guide


def native_cost_hint(paths: Sequence[Path | str], corrupt_at: str) -> str | None:
    """A one-line hint when corrupting at native resolution will be slow, else None.

    Corruption cost grows with pixel count: a 12-megapixel photo costs ~240x a 224 px model input, so
    with the default ``--corrupt-at native`` an audit of phone photos runs for half an hour where
    ``--corrupt-at model`` takes minutes. Its results mean something else (the corruption acts after
    resizing, as in ImageNet-C), so the default stays and the user is told the choice and its price.
    """
    if corrupt_at != "native" or not paths:
        return None
    from PIL import Image

    sizes = []
    for path in list(paths)[:PROBE]:
        try:
            with Image.open(path) as im:  # reads the header only
                sizes.append(im.width * im.height)
        except Exception:  # unreadable files are reported by the loader, not here
            continue
    if not sizes or (median := statistics.median(sizes)) < LARGE:
        return None
    ratio = median / (MODEL_SIDE * MODEL_SIDE)
    return (
        f"Hint: these images are about {median / 1e6:.1f} MP (median of {len(sizes)}); corrupting them at "
        f"native resolution costs roughly {ratio:.0f}x more per image than at a {MODEL_SIDE} px model input. "
        "--corrupt-at model corrupts the resized model input instead: much faster, but the corruption then "
        "acts after resizing (as in ImageNet-C)."
    )
