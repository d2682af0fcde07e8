"""Seeded, stratified subsampling of an image set (``--max-images``, ``budget.max_images``).

The files a subsample leaves out are still screened (size and header, no pixels decoded): were they
not, a broken or empty file would be reported only when the draw happens to pick it, and a run on 9
of 47 files would say "Skipped files (0)" of a folder that holds two unusable ones. The draw is made
from the files that pass, so it holds the number of images asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from robustlens.data.images import screen_image

if TYPE_CHECKING:
    from robustlens.data.sources import ImageItem, ImageSet


def subsample_images(images: ImageSet, n: int, seed: int) -> None:
    """Screen every file, record the unusable ones as skipped, then keep a seeded subsample of
    ``n``; ``images.n_found`` keeps how many usable images there were to draw from."""
    reasons = {item.id: why for item in images.items if (why := screen_image(item.path)) is not None}
    if reasons:
        images.drop(set(reasons), reasons)
    if len(images.items) > n:
        images.n_found = len(images.items)
        images.items = subsample(images.items, n, seed)


def subsample(items: list[ImageItem], n: int, seed: int) -> list[ImageItem]:
    """A seeded subsample, stratified by label so class balance is kept; original order kept."""
    rng = np.random.default_rng(seed)
    by_label: dict[int | None, list[int]] = {}
    for idx, item in enumerate(items):
        by_label.setdefault(item.label, []).append(idx)
    chosen: list[int] = []
    for idxs in by_label.values():
        k = max(1, round(n * len(idxs) / len(items)))
        chosen.extend(rng.choice(idxs, size=min(k, len(idxs)), replace=False).tolist())
    chosen = sorted(chosen)[:n] if len(chosen) > n else sorted(chosen)
    return [items[i] for i in chosen]
