"""Builders for real test inputs: image folders from bundled data, tiny open_clip checkpoints."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from PIL import Image

PLAN_YAML = """
seed: 5
severities: [1, 3]
specs:
  - name: noise
    rationale: sensor noise at line speed
    recipe: [{name: gaussian_noise}]
  - name: blur
    rationale: defocus
    recipe: [{name: defocus_blur}]
"""


def textile_folder(root: Path, per_class: int = 6, broken: bool = True) -> Path:
    """Class-per-subfolder copy of a few textile test images (+ one broken file)."""
    from robustlens.data.demo import TEXTILE_CLASSES, textile_split

    counts = dict.fromkeys(TEXTILE_CLASSES, 0)
    for path, cls in textile_split("test"):
        if counts[cls] < per_class:
            (root / cls).mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, root / cls / path.name)
            counts[cls] += 1
    if broken:
        (root / "global" / "zz_broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated nonsense")
    return root


def flat_folder(root: Path, n: int = 6) -> Path:
    """Unlabeled folder of scikit-image sample images in various layouts (gray, RGB)."""
    import skimage.data

    root.mkdir(parents=True, exist_ok=True)
    for name in ["astronaut", "camera", "coffee", "chelsea", "coins", "rocket"][:n]:
        Image.fromarray(getattr(skimage.data, name)()).save(root / f"{name}.png")
    return root


def tiny_checkpoint(arch: str, path: Path, seed: int = 0) -> Path:
    """Random weights of a bundled tiny open_clip architecture saved as a real state dict."""
    import torch

    from robustlens.models.openclip import _open_clip

    torch.manual_seed(seed)
    model = _open_clip().create_model(arch)
    torch.save(model.state_dict(), path)
    return path


def random_image(seed: int, size: tuple[int, int] = (64, 80)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 255, (*size, 3), dtype=np.uint8)
