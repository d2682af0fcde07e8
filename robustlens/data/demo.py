"""Bundled demo data: the textile-inspection set and scikit-image's natural images.

Textile (package ``conformal-clip-data``, MIT): 2,000 simulated 250x250 fabric images in three
classes — ``nominal`` (1,000), ``local`` defect (500), ``global`` defect (500).
The split is fixed and documented: within each class, files sorted by name, every fifth file
(index % 5 == 4) is **test** (400 images), the rest **train** (1,600). It depends on nothing but
file names, so it is identical on every machine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

TEXTILE_CLASSES = ("nominal", "local", "global")
TEXTILE_PROMPT_NAMES = {
    "nominal": "defect-free fabric",
    "local": "fabric with a small local defect",
    "global": "fabric with a global defect across the weave",
}
NATURAL_IMAGES = ("astronaut", "coffee", "chelsea", "rocket", "camera", "coins", "moon", "page",
                  "text", "retina", "immunohistochemistry", "hubble_deep_field", "brick", "grass",
                  "gravel", "colorwheel")


def textile_root() -> Path:
    from conformal_clip_data import textile_simulated_root

    return Path(textile_simulated_root())


def textile_split(split: Literal["train", "test", "all"] = "test") -> list[tuple[Path, str]]:
    """(path, class) pairs of the fixed textile split, in a stable order."""
    root = textile_root()
    items: list[tuple[Path, str]] = []
    for cls in TEXTILE_CLASSES:
        files = sorted(p for p in (root / cls).iterdir() if p.suffix.lower() in (".jpg", ".png"))
        for i, path in enumerate(files):
            is_test = i % 5 == 4
            if split == "all" or (split == "test") == is_test:
                items.append((path, cls))
    return items


def natural_image(name: str):  # noqa: ANN201 - numpy array
    """One of scikit-image's bundled sample images (shipped in the wheel, no download)."""
    import skimage.data

    return getattr(skimage.data, name)()
