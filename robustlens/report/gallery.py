"""The failure gallery: clean and corrupted thumbnails of the analysis' example images.

No corrupted image is stored in a run, so the corrupted thumbnail is regenerated exactly as the engine
made it: the spec from the stored plan, compiled with ``compile_spec``, applied with the stored seed
rule ``corruption_seed(plan.seed, image_id, spec, severity)``. The source image is
``manifest["dataset"]["root"] / image_id`` (image ids are paths relative to the dataset root). When
the source is gone, the gallery shows a placeholder and says so instead of failing the report.

Thumbnails are PNG (lossless: a JPEG thumbnail would add its own artefacts to a corruption picture)
without metadata, so they are byte-identical across rebuilds.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from robustlens.corruptions.compiler import compile_spec
from robustlens.corruptions.seeding import corruption_seed
from robustlens.data.images import BadImage, load_image, to_rgb
from robustlens.schemas import CorruptionPlan

THUMB = 144


@dataclass(frozen=True)
class Thumbs:
    """PNG bytes of one example (None when the source image could not be read) and why not."""

    clean: bytes | None
    corrupted: bytes | None
    note: str = ""


def thumbnail_png(image: np.ndarray, side: int = THUMB) -> bytes:
    """A PNG of at most ``side`` px on the long side (grey images stay single-channel)."""
    rgb = to_rgb(image)
    gray = bool(np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 1], rgb[..., 2]))
    pil = Image.fromarray(rgb[..., 0] if gray else rgb)
    scale = side / max(pil.size)
    if scale < 1:
        size = (max(1, round(pil.width * scale)), max(1, round(pil.height * scale)))
        pil = pil.resize(size, Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    pil.save(buf, format="PNG", optimize=False, compress_level=9)
    return buf.getvalue()


def source_path(manifest: dict[str, Any], image_id: str) -> Path | None:
    """The example's source file, kept inside the dataset root (ids never leave it)."""
    root = (manifest.get("dataset") or {}).get("root")
    if not root:
        return None
    base = Path(root).resolve()
    path = (base / image_id).resolve()
    return path if path.is_relative_to(base) else None


def thumbnails(
    examples: list[dict[str, Any]], plan: CorruptionPlan, manifest: dict[str, Any]
) -> list[Thumbs]:
    """Thumbnails of each example (same order), regenerated deterministically from the stored seed."""
    corrupt_at = (manifest.get("identity") or {}).get("corrupt_at", "native")
    if any(s.get("resolution") == "model" for s in (manifest.get("corruption_sites") or {}).values()):
        corrupt_at = "model"  # the device path (--corrupt-on) always corrupts the model input
    compiled: dict[str, Any] = {}
    out = []
    for ex in examples:
        path = source_path(manifest, ex["image_id"])
        if path is None or not path.is_file():
            out.append(Thumbs(None, None, f"source image not found: {ex['image_id']}"))
            continue
        try:
            image = load_image(path)
        except BadImage as exc:
            out.append(Thumbs(None, None, f"source image unreadable: {exc}"))
            continue
        name = ex["corruption"]
        if name not in compiled:
            compiled[name] = compile_spec(plan.spec(name))
        seed = corruption_seed(plan.seed, ex["image_id"], name, ex["severity"])
        corrupted = compiled[name](image, ex["severity"], seed)
        note = (
            "this run corrupted the model-resolution input; the thumbnail shows the corruption at "
            "the stored resolution"
            if corrupt_at == "model"
            else ""
        )
        out.append(Thumbs(thumbnail_png(image), thumbnail_png(corrupted), note))
    return out
