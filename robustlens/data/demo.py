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
# File stems of scikit-image's bundled sample images used as the unlabeled natural set.
NATURAL_IMAGES = (
    "astronaut",
    "brick",
    "camera",
    "cell",
    "chelsea",
    "coffee",
    "coins",
    "color",
    "grass",
    "gravel",
    "hubble_deep_field",
    "ihc",
    "moon",
    "motorcycle_left",
    "page",
    "retina",
    "rocket",
    "text",
)


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


def natural_image(name: str):
    """One of scikit-image's bundled sample images (shipped in the wheel, no download)."""
    import skimage.data

    return getattr(skimage.data, name)()


def open_demo(name: str):
    """``demo:textile`` (test split), ``demo:textile-train``, ``demo:natural`` (unlabeled)."""
    from robustlens.data.sources import ImageItem, ImageSet
    from robustlens.errors import UserInputError

    if name in ("textile", "textile-test", "textile-train"):
        split: Literal["train", "test"] = "train" if name.endswith("train") else "test"
        root = textile_root()
        items = [
            ImageItem(p.relative_to(root).as_posix(), p, TEXTILE_CLASSES.index(c))
            for p, c in textile_split(split)
        ]
        return ImageSet(items, [TEXTILE_PROMPT_NAMES[c] for c in TEXTILE_CLASSES], root, "demo")
    if name == "natural":
        root = natural_root()
        items = [ImageItem(p.name, p) for p in sorted(root.iterdir()) if p.stem in NATURAL_IMAGES]
        return ImageSet(items, None, root, "demo")
    raise UserInputError(
        f"Unknown demo dataset {name!r}.",
        why="bundled demo sets are: textile (test split), textile-train, natural (unlabeled).",
        fix="Use --data demo:textile or --data demo:natural.",
        field="data",
    )


def natural_root() -> Path:
    """Folder of scikit-image's bundled sample images (shipped in the wheel)."""
    import skimage.data

    return Path(skimage.data.__file__).parent
