"""Image sources: class-per-subfolder trees, flat unlabeled folders, CSV/JSONL manifests, demo sets.

``open_images`` turns what the user points at into an ``ImageSet``: a stable, ordered list of
items (id, path, label, caption) with class names, a content fingerprint and the files it had to
skip (with reasons). Image ids are paths relative to the dataset root, so seeds and caches derived
from them do not depend on where the dataset lives.
"""

from __future__ import annotations

import csv
import errno
import hashlib
import io
import json
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from robustlens.data.images import is_image_path
from robustlens.data.sampling import subsample_images
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
    n_found: int | None = None  # usable images before a subsample (None: not subsampled)

    @property
    def labelled(self) -> bool:
        return self.class_names is not None and all(i.label is not None for i in self.items)

    @property
    def has_captions(self) -> bool:
        return bool(self.items) and all(i.caption for i in self.items)

    def provenance(self) -> dict[str, object]:
        """The manifest's dataset entry; ``n_found`` (the usable images a subsample drew from) lets
        the report say "45 found, 9 used" rather than pass the sample off as the dataset."""
        n_images = len(self.items)
        return {"kind": self.kind, "root": str(self.root), "n_images": n_images, "n_found": self.n_found}

    def content_hashes(self) -> list[str]:
        """Content hash per item; a file that cannot be read is dropped and recorded as skipped."""
        hashes: dict[str, str] = {}
        failed: dict[str, str] = {}
        for item in self.items:
            try:
                hashes[item.id] = file_hash(item.path)
            except OSError as exc:
                failed[item.id] = f"file cannot be read: {exc.strerror or exc}"
        if failed:
            self.drop(set(failed), failed)
        return [hashes[i.id] for i in self.items]

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
        subsample_images(images, max_images, seed)
    return images


def _from_folder(root: Path) -> ImageSet:
    walk = _Walk(root)
    top_files, top_dirs = walk.entries(root)
    class_dirs = []
    for d in top_dirs:
        files = walk.images(d)
        if files:
            class_dirs.append((d, files))
    skipped = walk.skipped
    if not class_dirs:
        items = [ImageItem(safe_text(p.relative_to(root).as_posix()), p) for p in top_files]
        return ImageSet(items, None, root, "flat", skipped)
    items = []
    for label, (_, files) in enumerate(class_dirs):
        items += [ImageItem(safe_text(p.relative_to(root).as_posix()), p, label) for p in files]
    for p in top_files:
        skipped.append(SkippedFile(path=safe_text(p.name), reason="image outside any class folder"))
    names = [safe_text(d.name).replace("_", " ") for d, _ in class_dirs]
    return ImageSet(items, names, root, "class_folders", skipped)


def safe_text(name: str) -> str:
    """A file name as printable UTF-8 text: bytes that are not UTF-8 (a Latin-1 ``café.jpg`` on
    Linux) are written as ``\\xe9``, so ids, seeds, JSON files and prompts all work."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


class _Walk:
    """Lists image files under a dataset root, recording instead of hiding what it cannot use:
    unreadable folders, broken symbolic links, link loops, and non-regular files (FIFOs, sockets,
    devices: opening them could block). Hidden names are ignored. Linked folders are followed once."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.skipped: list[SkippedFile] = []
        self.seen: set[tuple[int, int]] = set()
        self._visit(root)

    def _rel(self, path: Path) -> str:
        return safe_text(path.relative_to(self.root).as_posix())

    def _skip(self, path: Path, reason: str) -> None:
        self.skipped.append(SkippedFile(path=self._rel(path), reason=reason))

    def _visit(self, folder: Path) -> bool:
        try:
            st = folder.stat()
        except OSError as exc:
            self._skip(folder, f"folder cannot be read: {exc.strerror or exc}")
            return False
        key = (st.st_dev, st.st_ino)
        if key in self.seen:
            self._skip(folder, "symbolic link loop (folder already listed)")
            return False
        self.seen.add(key)
        return True

    def entries(self, folder: Path) -> tuple[list[Path], list[Path]]:
        """(image files, subfolders) directly in ``folder``, sorted; problems recorded."""
        try:
            names = sorted(os.listdir(folder))
        except OSError as exc:
            if folder != self.root:
                self._skip(folder, f"folder cannot be read: {exc.strerror or exc}")
                return [], []
            raise UserInputError(
                f"Cannot read the dataset folder {folder}: {exc.strerror or exc}",
                fix="Check the folder's permissions.",
                field="data",
            ) from None
        files, dirs = [], []
        for name in names:
            if name.startswith("."):
                continue
            path = folder / name
            try:
                st = path.stat()
            except FileNotFoundError:
                self._skip(path, "broken symbolic link (its target does not exist)")
                continue
            except OSError as exc:
                loop = exc.errno == errno.ELOOP
                self._skip(path, "symbolic link loop" if loop else f"cannot be read: {exc.strerror or exc}")
                continue
            if stat.S_ISDIR(st.st_mode):
                dirs.append(path)
            elif is_image_path(path):
                if stat.S_ISREG(st.st_mode):
                    files.append(path)
                else:
                    self._skip(path, "not a regular file (FIFO, socket or device)")
        return files, dirs

    def images(self, folder: Path) -> list[Path]:
        """Image files under ``folder`` (recursively), sorted by relative path."""
        if not self._visit(folder):
            return []
        files, dirs = self.entries(folder)
        for d in dirs:
            files += self.images(d)
        return sorted(files, key=lambda p: p.relative_to(folder).parts)


def _from_manifest(path: Path) -> ImageSet:
    """CSV (header with ``path`` and optional ``label``, ``caption``), JSONL (one object per line)
    or JSON (a list of such objects). Paths are relative to the manifest's folder; they may point
    outside it (ids are then relative paths such as ``../other/x.png``)."""
    root = path.parent.resolve()
    rows = _read_rows(path)
    if not rows:
        raise UserInputError(
            f"Manifest {path} has no rows.",
            fix="List one image per row: a 'path' column, optional 'label' and 'caption'.",
            field="data",
        )
    if "path" not in rows[0][1]:
        raise UserInputError(
            f"Manifest {path} has no 'path' column.",
            why=f"its columns are: {', '.join(map(str, rows[0][1]))}.",
            fix="Name the image column 'path' (relative to the manifest's folder); "
            "'label' and 'caption' are optional.",
            field="data",
        )
    for n, row in rows:
        given = row.get("path")
        if not isinstance(given, str) or not given.strip():
            raise UserInputError(
                f"{path} line {n} has no 'path'.",
                fix="Give every row the image's path (relative to the manifest's folder).",
                field="data",
            )
    labels = _row_labels(path, rows)
    names = sorted(set(labels.values()), key=_natural) if labels else None
    index = {name: i for i, name in enumerate(names or [])}
    items: list[ImageItem] = []
    skipped: list[SkippedFile] = []
    first_line: dict[Path, int] = {}
    for n, row in rows:
        rel = str(row["path"]).strip()
        full = Path(os.path.normpath(root / rel))
        if full in first_line:
            skipped.append(SkippedFile(path=rel, reason=f"line {n}: duplicate of line {first_line[full]}"))
            continue
        first_line[full] = n
        try:
            regular = stat.S_ISREG(full.stat().st_mode)
        except FileNotFoundError:
            skipped.append(SkippedFile(path=rel, reason=f"line {n}: file not found"))
            continue
        except OSError as exc:
            skipped.append(SkippedFile(path=rel, reason=f"line {n}: cannot be read: {exc.strerror or exc}"))
            continue
        if not regular:
            skipped.append(SkippedFile(path=rel, reason=f"line {n}: not a regular file"))
            continue
        label = index[labels[n]] if labels else None
        caption = row.get("caption")
        image_id = Path(os.path.relpath(full, root)).as_posix()
        items.append(ImageItem(image_id, full, label, str(caption) if caption else None))
    return ImageSet(items, names, root, "manifest", skipped)


def _row_labels(path: Path, rows: list[tuple[int, dict[str, object]]]) -> dict[int, str]:
    """Label per line, or {} for a label-free manifest. Some rows without a label, or one path
    listed with two labels, are errors: guessing would silently change what is measured."""
    given = {n: str(r["label"]).strip() for n, r in rows if str(r.get("label") or "").strip()}
    if not given:
        return {}
    missing = [n for n, _ in rows if n not in given]
    if missing:
        lines = ", ".join(map(str, missing[:5])) + (" ..." if len(missing) > 5 else "")
        raise UserInputError(
            f"{path}: {len(missing)} row(s) have no label (line {lines}) while {len(given)} do.",
            why="a manifest is either labelled (accuracy) or label-free (prediction drift), not both.",
            fix="Give those rows a label, or drop the 'label' column for a label-free audit.",
            field="data",
        )
    seen: dict[str, tuple[int, str]] = {}
    for n, row in rows:
        key = os.path.normpath(str(row["path"]).strip())
        if key in seen and seen[key][1] != given[n]:
            first, label = seen[key]
            raise UserInputError(
                f"{path}: {row['path']} is listed twice with different labels: "
                f"'{label}' (line {first}) and '{given[n]}' (line {n}).",
                fix="Keep one row per image.",
                field="data",
            )
        seen.setdefault(key, (n, given[n]))
    return given


def _read_rows(path: Path) -> list[tuple[int, dict[str, object]]]:
    """(line number, row) pairs; a CSV's first data row is line 2 (after the header)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UserInputError(
            f"Manifest {path} is not UTF-8 text (byte {exc.start}).",
            fix="Save it as UTF-8 (in a spreadsheet: 'CSV UTF-8').",
            field="data",
        ) from None
    except OSError as exc:
        raise UserInputError(f"Cannot read manifest {path}: {exc.strerror or exc}", field="data") from None
    if path.suffix.lower() == ".csv":
        try:
            return [(n, dict(r)) for n, r in enumerate(csv.DictReader(io.StringIO(text)), start=2)]
        except csv.Error as exc:
            raise UserInputError(f"Manifest {path} is not valid CSV: {exc}", field="data") from None
    if path.suffix.lower() == ".json" and text.lstrip().startswith("["):
        data = _json(path, text, "the file")
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise UserInputError(
                f"{path} is not a list of objects.",
                fix='Use [{"path": ..., "label": ...}, ...].',
                field="data",
            )
        return list(enumerate(data, start=1))
    rows = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        row = _json(path, line, f"line {n}")
        if not isinstance(row, dict):
            raise UserInputError(
                f"{path} line {n} is not a JSON object.", fix='Use {"path": ..., "label": ...}.', field="data"
            )
        rows.append((n, row))
    return rows


def _json(path: Path, text: str, where: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserInputError(
            f"{path} {where} is not JSON: {exc.msg}", fix="One JSON object per line.", field="data"
        ) from None
    except RecursionError:
        raise UserInputError(f"{path} {where} is nested too deeply.", field="data") from None


def _natural(name: str) -> tuple[int, int | str]:
    return (0, int(name)) if name.isdigit() else (1, name)
