"""Training data for hardening: a seeded train/held-out split of the user's images (labels unused)
and, per step, a seeded batch of clean images with one corrupted view each.

Every draw is a function of (seed, step) only, so a resumed run draws exactly the batches an
uninterrupted run would have drawn, without saving generator state.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from robustlens.corruptions.compiler import CompiledCorruption
from robustlens.corruptions.seeding import derive_seed
from robustlens.data.images import BadImage, load_image, to_rgb
from robustlens.data.sources import ImageItem
from robustlens.errors import UserInputError


def readable(items: Sequence[ImageItem]) -> tuple[list[ImageItem], dict[str, str]]:
    """The images that decode, and {id: reason} for those that do not (skipped, as eval skips them)."""
    good, bad = [], {}
    for item in items:
        try:
            load_image(item.path)
        except BadImage as exc:  # skipped and named on the card, as eval skips it
            bad[item.id] = str(exc)
        else:
            good.append(item)
    return good, bad


def split_items(
    items: Sequence[ImageItem], holdout_fraction: float, seed: int
) -> tuple[list[ImageItem], list[ImageItem]]:
    """(train, held-out): a seeded permutation of the images sorted by id; labels are never read."""
    if not 0.0 < holdout_fraction < 1.0:
        raise UserInputError(
            f"--holdout-fraction {holdout_fraction} is not in (0, 1).",
            why="hardening trains on part of the images and evaluates on the rest.",
            fix="Use e.g. --holdout-fraction 0.3.",
            field="holdout_fraction",
        )
    ordered = sorted(items, key=lambda i: i.id)
    n_held = int(round(len(ordered) * holdout_fraction))
    if len(ordered) < 4 or n_held < 2 or len(ordered) - n_held < 2:
        raise UserInputError(
            f"Too few images to harden on ({len(ordered)}).",
            why="at least 2 training and 2 held-out images are needed (the comparison needs pairs).",
            fix="Point --data at a folder with more images, or change --holdout-fraction.",
            field="data",
        )
    order = np.random.default_rng(derive_seed(seed, "harden-split")).permutation(len(ordered))
    held = sorted(order[:n_held].tolist())
    train = sorted(order[n_held:].tolist())
    return [ordered[i] for i in train], [ordered[i] for i in held]


@dataclass(frozen=True)
class Draw:
    """One step's choices: training-image positions, spec index and severity per image."""

    positions: list[int]
    specs: list[int]
    severities: list[float]


def draw(
    step: int, seed: int, n_train: int, batch_size: int, n_specs: int, severities: Sequence[float]
) -> Draw:
    """The step's batch: images without replacement, specs and severities uniformly, all seeded."""
    rng = np.random.default_rng(derive_seed(seed, "harden-step", step))
    positions = rng.choice(n_train, size=min(batch_size, n_train), replace=False).tolist()
    specs = rng.integers(0, n_specs, size=len(positions)).tolist()
    sev = [float(severities[k]) for k in rng.integers(0, len(severities), size=len(positions))]
    return Draw(positions, specs, sev)


def batch_pixels(
    items: Sequence[ImageItem],
    d: Draw,
    corruptions: Sequence[CompiledCorruption],
    transform: Callable[[np.ndarray], torch.Tensor],
    seed: int,
    step: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(clean, corrupted) model inputs for a draw; corrupted at the stored resolution, like
    ``robustlens eval`` (corrupt_at='native'), with the CPU-compiled corruptions."""
    clean, bad = [], []
    for pos, spec, sev in zip(d.positions, d.specs, d.severities, strict=True):
        item = items[pos]
        image = to_rgb(load_image(item.path))
        view = corruptions[spec](image, sev, derive_seed(seed, "harden-view", step, item.id))
        clean.append(transform(image))
        bad.append(transform(view))
    return torch.stack(clean), torch.stack(bad)
