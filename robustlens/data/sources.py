"""Image sources: class-per-subfolder trees, flat unlabeled folders, CSV/JSONL manifests, demo sets.

``open_images`` turns what the user points at into an ``ImageSet``: a stable, ordered list of
items (id, path, label, caption) with class names, a content fingerprint and the files it had to
skip (with reasons). Image ids are paths relative to the dataset root, so seeds and caches derived
from them do not depend on where the dataset lives.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from robustlens.data.images import is_image_path
from robustlens.errors import UserInputError
from robustlens.schemas import SkippedFile

MANIFEST_SUFFIXES = (".csv", ".jsonl", ".json")


@dataclass(frozen=True)
class ImageItem:
    id: str
    path: Path
    label: int | None = None
    caption: str | None = None


@dataclass
class ImageSet:
    items: list[ImageItem]
    class_names: list[str] | None
    root: Path
    kind: str
    skipped: list[SkippedFile] = field(default_factory=list)

    @property
    def labelled(self) -> bool:
        return self.class_names is not None and all(i.label is not None for i in self.items)

    @property
    def has_captions(self) -> bool:
        return bool(self.items) and all(i.caption for i in self.items)

    def content_hashes(self) -> list[str]:
        return [file_hash(i.path) for i in self.items]

    def fingerprint(self, hashes: Sequence[str] | None = None) -> str:
        """Hash of ids, contents, labels and captions: two runs on the same data agree."""
        h = hashlib.blake2b(digest_size=12)
        for item, ch in zip(self.items, hashes or self.content_hashes(), strict=True):
            h.update(f"{item.id}\x1f{ch}\x1f{item.label}\x1f{item.caption or ''}\n".encode())
        h.update(json.dumps(self.class_names).encode())
        return h.hexdigest()

    def drop(self, ids: set[str], reasons: dict[str, str]) -> None:
        """Remove unreadable items (found while decoding) and record why."""
        for item in self.items:
            if item.id in ids:
                self.skipped.append(SkippedFile(path=item.id, reason=reasons[item.id]))
        self.items = [i for i in self.items if i.id not in ids]


def file_hash(path: Path) -> str:
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def open_images(
    source: str | Path,
    *,
    labels: bool = True,
    class_names: Sequence[str] | None = None,
    max_images: int | None = None,
    seed: int = 0,
) -> ImageSet:
    """Open a folder, manifest or ``demo:NAME`` source; ``labels=False`` forces label-free mode."""
    text = str(source)
    if text.startswith("demo:"):
        from robustlens.data.demo import open_demo

        images = open_demo(text.removeprefix("demo:"))
    else:
        path = Path(source)
        if path.is_file() and path.suffix.lower() in MANIFEST_SUFFIXES:
            images = _from_manifest(path)
        elif path.is_dir():
            images = _from_folder(path)
        else:
            raise UserInputError(
                f"Dataset not found: {source}",
                why="--data must be a folder of images, a .csv/.jsonl manifest, or demo:textile.",
                fix="Check the path; class-per-subfolder trees give labels, flat folders are label-free.",
                field="data",
            )
    if class_names is not None:
        if images.class_names is not None and len(class_names) != len(images.class_names):
            raise UserInputError(
                f"{len(class_names)} class names given for {len(images.class_names)} classes.",
                why=f"the dataset's classes are: {', '.join(images.class_names)}.",
                fix="Give one name per class, in the dataset's class order.",
                field="class_names",
            )
        images.class_names = list(class_names)
    if not labels:
        images.items = [ImageItem(i.id, i.path, None, i.caption) for i in images.items]
        images.class_names = None
    if not images.items:
        raise UserInputError(
            f"No images found in {source}.",
            why="no file with an image suffix (png, jpg, tif, bmp, webp, ...) was found.",
            fix="Point --data at the folder that holds the images (or their class subfolders).",
            field="data",
        )
    if max_images is not None and len(images.items) > max_images:
        images.items = subsample(images.items, max_images, seed)
    return images


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


def _from_folder(root: Path) -> ImageSet:
    subdirs = sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    class_dirs = [d for d in subdirs if any(is_image_path(p) for p in d.rglob("*"))]
    skipped: list[SkippedFile] = []
    if not class_dirs:
        items = [ImageItem(p.relative_to(root).as_posix(), p) for p in _images_in(root, recursive=False)]
        return ImageSet(items, None, root, "flat", skipped)
    names = [d.name for d in class_dirs]
    items = []
    for label, d in enumerate(class_dirs):
        items += [ImageItem(p.relative_to(root).as_posix(), p, label) for p in _images_in(d, recursive=True)]
    for p in _images_in(root, recursive=False):
        skipped.append(SkippedFile(path=p.name, reason="image outside any class folder"))
    return ImageSet(items, [n.replace("_", " ") for n in names], root, "class_folders", skipped)


def _images_in(folder: Path, recursive: bool) -> list[Path]:
    paths = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(
        p
        for p in paths
        if p.is_file()
        and is_image_path(p)
        and not any(s.startswith(".") for s in p.relative_to(folder).parts)
    )


def _from_manifest(path: Path) -> ImageSet:
    """CSV (header with ``path`` and optional ``label``, ``caption``) or JSONL (one object per line)."""
    root = path.parent.resolve()
    rows = _read_rows(path)
    if rows and "path" not in rows[0]:
        raise UserInputError(
            f"Manifest {path} has no 'path' column.",
            why=f"its columns are: {', '.join(rows[0])}.",
            fix="Name the image column 'path' (relative to the manifest's folder); "
            "'label' and 'caption' are optional.",
            field="data",
        )
    raw_labels = [str(r["label"]) for r in rows if r.get("label") not in (None, "")]
    labelled = bool(rows) and len(raw_labels) == len(rows)
    names = sorted(set(raw_labels), key=_natural) if labelled else None
    index = {n: i for i, n in enumerate(names or [])}
    items, skipped = [], []
    for n, row in enumerate(rows, start=2 if path.suffix == ".csv" else 1):
        rel = str(row["path"])
        full = (root / rel).resolve()
        if not full.is_relative_to(root):
            skipped.append(SkippedFile(path=rel, reason=f"line {n}: path leaves the manifest's folder"))
            continue
        if not full.is_file():
            skipped.append(SkippedFile(path=rel, reason=f"line {n}: file not found"))
            continue
        label = index[str(row["label"])] if labelled else None
        items.append(ImageItem(full.relative_to(root).as_posix(), full, label, row.get("caption") or None))
    return ImageSet(items, names, root, "manifest", skipped)


def _read_rows(path: Path) -> list[dict[str, object]]:
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".csv":
        return [dict(r) for r in csv.DictReader(text.splitlines())]
    rows = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UserInputError(
                f"{path} line {n} is not JSON: {exc.msg}", fix="One JSON object per line.", field="data"
            ) from None
        if not isinstance(row, dict):
            raise UserInputError(
                f"{path} line {n} is not a JSON object.", fix='Use {"path": ..., "label": ...}.', field="data"
            )
        rows.append(row)
    return rows


def _natural(name: str) -> tuple[int, int | str]:
    return (0, int(name)) if name.isdigit() else (1, name)
