"""The run directory: manifest, per-cell per-image records, embeddings, summary — all written atomically.

Layout::

    RUN/manifest.json                 what was asked (plan, models, data fingerprint, seed, versions)
    RUN/images.json                   the images evaluated (ids, labels, content hashes) and skipped files
    RUN/cells/<model>/<corruption>/s<severity>.jsonl   one record per image (written last = cell done)
    RUN/cells/<model>/<corruption>/s<severity>.npy     float16 image embeddings, same order
    RUN/text/<model>.npy              class text embeddings
    RUN/result.json                   AuditResult (summary with intervals); rebuilt from the cells
    RUN/timings.jsonl                 wall-clock per cell (kept apart so result files are reproducible)

A cell is finished when its ``.jsonl`` exists: the embeddings are written first and every file is
replaced atomically, so a kill at any point leaves either a whole cell or none.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from robustlens.errors import UserInputError

CLEAN = "clean"


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(path)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def model_slug(model_id: str) -> str:
    """A filesystem-safe folder name for a model id."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", model_id).strip("_")[:120]


def severity_name(severity: float) -> str:
    return f"s{severity:g}"


class RunStore:
    """Reads and writes one run directory."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    # ------------------------------------------------------------------ manifest

    @property
    def manifest_path(self) -> Path:
        return self.root / "manifest.json"

    def read_manifest(self) -> dict[str, Any] | None:
        if not self.manifest_path.exists():
            return None
        return json.loads(self.manifest_path.read_text(encoding="utf-8"))

    def open(self, identity: dict[str, Any], manifest: dict[str, Any], fresh: bool) -> bool:
        """Create or reopen the run; returns True when resuming. ``identity`` must match to resume."""
        existing = self.read_manifest()
        if existing is not None and not fresh:
            old = existing.get("identity", {})
            changed = sorted(k for k in identity if k != "specs" and old.get(k) != identity[k])
            old_specs, new_specs = old.get("specs", {}), identity.get("specs", {})
            changed += [
                f"spec {n}" for n in sorted(set(old_specs) & set(new_specs)) if old_specs[n] != new_specs[n]
            ]
            if changed:
                raise UserInputError(
                    f"{self.root} holds a different audit (changed: {', '.join(changed)}).",
                    why="resuming would mix results of different specs, data, models or seeds.",
                    fix="Use another --out directory, or add --fresh to discard the old results.",
                    field="out",
                )
            # Extending an audit (new corruptions or severities) keeps every finished cell.
            self.update_manifest(identity={**identity, "specs": {**old_specs, **new_specs}}, **manifest)
            return True
        if fresh and self.root.exists():
            for child in ("cells", "text", "inputs", "result.json", "images.json", "timings.jsonl", "report"):
                target = self.root / child
                if target.is_dir():
                    shutil.rmtree(target)
                elif target.exists():
                    target.unlink()
        write_json(self.manifest_path, {"identity": identity, **manifest})
        return False

    def update_manifest(self, **fields: Any) -> None:
        data = self.read_manifest() or {}
        data.update(fields)
        write_json(self.manifest_path, data)

    # ------------------------------------------------------------------ images

    def write_images(self, images: list[dict[str, Any]], skipped: list[dict[str, str]]) -> None:
        write_json(self.root / "images.json", {"images": images, "skipped": skipped})

    def read_images(self) -> dict[str, Any] | None:
        path = self.root / "images.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None

    # ------------------------------------------------------------------ cells

    def cell_dir(self, model_id: str, corruption: str) -> Path:
        return self.root / "cells" / model_slug(model_id) / corruption

    def records_path(self, model_id: str, corruption: str, severity: float) -> Path:
        return self.cell_dir(model_id, corruption) / f"{severity_name(severity)}.jsonl"

    def embeddings_path(self, model_id: str, corruption: str, severity: float) -> Path:
        return self.cell_dir(model_id, corruption) / f"{severity_name(severity)}.npy"

    def is_done(self, model_id: str, corruption: str, severity: float) -> bool:
        return self.records_path(model_id, corruption, severity).exists()

    def write_cell(
        self,
        model_id: str,
        corruption: str,
        severity: float,
        records: Iterable[dict[str, Any]],
        embeddings: np.ndarray,
    ) -> Path:
        emb_path = self.embeddings_path(model_id, corruption, severity)
        buf = _npy_bytes(embeddings.astype(np.float16))
        atomic_write_bytes(emb_path, buf)
        lines = "".join(json.dumps(r, sort_keys=True, separators=(",", ":")) + "\n" for r in records)
        path = self.records_path(model_id, corruption, severity)
        atomic_write_text(path, lines)
        return path

    def read_records(self, model_id: str, corruption: str, severity: float) -> list[dict[str, Any]]:
        path = self.records_path(model_id, corruption, severity)
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]

    def read_embeddings(self, model_id: str, corruption: str, severity: float) -> np.ndarray:
        return np.load(self.embeddings_path(model_id, corruption, severity)).astype(np.float32)

    # ------------------------------------------------------------------ text, timings

    def text_path(self, model_id: str) -> Path:
        return self.root / "text" / f"{model_slug(model_id)}.npy"

    def write_text_embeddings(self, model_id: str, emb: np.ndarray) -> None:
        atomic_write_bytes(self.text_path(model_id), _npy_bytes(emb.astype(np.float32)))

    def log_timing(self, entry: dict[str, Any]) -> None:
        with open(self.root / "timings.jsonl", "a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry, sort_keys=True) + "\n")

    def timings(self) -> list[dict[str, Any]]:
        path = self.root / "timings.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _npy_bytes(array: np.ndarray) -> bytes:
    import io

    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()
