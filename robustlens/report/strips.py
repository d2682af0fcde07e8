"""What each corruption looks like on the user's own images, and how many images each class has.

A *severity strip* shows one of the run's images clean and at every planned severity of a spec. As in
the failure gallery, nothing is stored: each corrupted image is regenerated with ``compile_spec`` and
the stored seed rule ``corruption_seed(plan.seed, image_id, spec, severity)``, so the strip shows the
exact pixels the model saw (at native resolution) and rebuilds byte-identically. The image is the
first readable one of ``RUN/images.json`` (sorted ids), so the choice is deterministic.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from robustlens.corruptions.compiler import compile_spec
from robustlens.corruptions.seeding import corruption_seed
from robustlens.data.images import BadImage, load_image
from robustlens.evaluation.store import RunStore
from robustlens.report.formatting import sev
from robustlens.report.gallery import corrupted_png, source_path, thumbnail_png
from robustlens.report.thumb_cache import ThumbCache
from robustlens.schemas import CorruptionPlan

STRIP_THUMB = 96
MAX_TRIES = 20


def _image_ids(run_dir: Path) -> list[dict[str, Any]]:
    images = RunStore(run_dir).read_images() or {}
    return sorted(images.get("images", []), key=lambda r: str(r.get("id")))


def class_counts(run_dir: Path, class_names: list[str] | None) -> list[dict[str, Any]]:
    """Images per class (from ``RUN/images.json``), in class order; empty for label-free runs."""
    if not class_names:
        return []
    counts = Counter(r.get("label") for r in _image_ids(run_dir))
    return [{"class": name, "n_images": counts.get(i, 0)} for i, name in enumerate(class_names)]


def severity_strips(
    plan: CorruptionPlan, manifest: dict[str, Any], run_dir: Path
) -> tuple[list[dict[str, Any]], list[list[bytes | None]]]:
    """Per spec: the strip's data (image id, severity texts, note) and its PNG thumbnails
    (clean first, then each severity; None where the source image cannot be read). Thumbnails an
    earlier build made are read back from ``RUN/.thumbs`` (see thumb_cache.py)."""
    image = None
    image_id = ""
    source = Path()
    for record in _image_ids(run_dir)[:MAX_TRIES]:
        path = source_path(manifest, str(record.get("id")))
        if path is None or not path.is_file():
            continue
        try:
            image = load_image(path)
        except BadImage:
            continue
        image_id, source = str(record["id"]), path
        break
    cache = ThumbCache(run_dir)
    data: list[dict[str, Any]] = []
    pngs: list[list[bytes | None]] = []
    labels = ["clean", *(f"s{sev(s)}" for s in plan.severities)]
    side = {"side": STRIP_THUMB}
    clean = cache.png(source, side, thumbnail_png, image, STRIP_THUMB) if image is not None else None
    for spec in plan.specs:
        entry = {"corruption": spec.name, "image_id": image_id, "labels": labels, "note": ""}
        if image is None:
            entry["note"] = "no source image of this run could be read"
            pngs.append([None] * len(labels))
        else:
            fn = compile_spec(spec)
            row: list[bytes | None] = [clean]
            for s in plan.severities:
                seed = corruption_seed(plan.seed, image_id, spec.name, float(s))
                key = {**side, "spec": spec.model_dump(mode="json"), "sev": float(s), "seed": seed}
                row.append(cache.png(source, key, corrupted_png, fn, image, float(s), seed, STRIP_THUMB))
            pngs.append(row)
        data.append(entry)
    return data, pngs
