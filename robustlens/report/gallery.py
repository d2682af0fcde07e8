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
from robustlens.report.thumb_cache import ThumbCache
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
        # reducing_gap: a box reduction by an integer factor first, then Lanczos over the last <3x;
        # Pillow documents the result as indistinguishable from Lanczos all the way (<=4/255 here),
        # and from a 12-megapixel photo it takes 0.02 s instead of 0.2 s per thumbnail.
        pil = pil.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    buf = io.BytesIO()
    pil.save(buf, format="PNG", optimize=False, compress_level=9)
    return buf.getvalue()


def corrupted_png(fn: Any, image: np.ndarray, severity: float, seed: int, side: int = THUMB) -> bytes:
    """The thumbnail of ``image`` corrupted by the compiled spec ``fn`` at ``severity`` with ``seed``."""
    return thumbnail_png(fn(image, severity, seed), side)


def source_path(manifest: dict[str, Any], image_id: str) -> Path | None:
    """The example's source file, kept inside the dataset root (ids never leave it)."""
    root = (manifest.get("dataset") or {}).get("root")
    if not root:
        return None
    base = Path(root).resolve()
    path = (base / image_id).resolve()
    return path if path.is_relative_to(base) else None


def thumbnails(
    examples: list[dict[str, Any]],
    plan: CorruptionPlan,
    manifest: dict[str, Any],
    cache: ThumbCache | None = None,
) -> list[Thumbs]:
    """Thumbnails of each example (same order), regenerated deterministically from the stored seed
    (or read back from ``cache``, where an earlier build of the report left them)."""
    cache = cache or ThumbCache(None)
    corrupt_at = (manifest.get("identity") or {}).get("corrupt_at", "native")
    if any(s.get("resolution") == "model" for s in (manifest.get("corruption_sites") or {}).values()):
        corrupt_at = "model"  # the device path (--corrupt-on) always corrupts the model input
    note = (
        "this run corrupted the model-resolution input; the thumbnail shows the corruption at "
        "the stored resolution"
        if corrupt_at == "model"
        else ""
    )
    compiled: dict[str, Any] = {}
    out: list[Thumbs | None] = [None] * len(examples)
    # Examples grouped by image: a photo is decoded and its clean thumbnail made once, however many
    # examples show it (a 12-megapixel JPEG takes ~0.2 s to decode), and one photo is held at a time.
    order = sorted(range(len(examples)), key=lambda n: str(examples[n]["image_id"]))
    image_id, image, clean, path = None, None, b"", Path()
    for n in order:
        ex = examples[n]
        if ex["image_id"] != image_id:
            image_id, image = ex["image_id"], None
            found = source_path(manifest, image_id)
            if found is None or not found.is_file():
                missing = f"source image not found: {image_id}"
            else:
                try:
                    path, image = found, load_image(found)
                    clean = cache.png(path, {"side": THUMB}, thumbnail_png, image)
                except BadImage as exc:
                    missing = f"source image unreadable: {exc}"
        if image is None:
            out[n] = Thumbs(None, None, missing)
            continue
        name, severity = ex["corruption"], ex["severity"]
        if name not in compiled:
            compiled[name] = compile_spec(plan.spec(name))
        fn, seed = compiled[name], corruption_seed(plan.seed, ex["image_id"], name, severity)
        key = {"side": THUMB, "spec": plan.spec(name).model_dump(mode="json"), "sev": severity, "seed": seed}
        out[n] = Thumbs(clean, cache.png(path, key, corrupted_png, fn, image, severity, seed), note)
    return [t for t in out if t is not None]
