"""On-disk cache of clean image and text embeddings, shared by all runs.

Keyed by (model cache key = architecture + weights, preprocessing fingerprint, image content hash),
so a renamed or moved dataset still hits, and a changed checkpoint or preprocessing never does.
SQLite gives atomic, concurrent-safe writes with no server. Location: ``$ROBUSTLENS_CACHE`` or
``~/.cache/robustlens``.
"""

from __future__ import annotations

import os
import sqlite3
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np


def default_cache_dir() -> Path:
    return Path(os.environ.get("ROBUSTLENS_CACHE") or Path.home() / ".cache" / "robustlens")


class EmbeddingCache:
    """A damaged cache file (not a database, truncated, malformed) is only a cache: it is moved
    aside as ``embeddings.sqlite.corrupt-N`` with a warning and rebuilt, never fatal to a run."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = Path(directory) if directory else default_cache_dir()
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / "embeddings.sqlite"
        try:
            self.db = self._connect()
        except sqlite3.DatabaseError as exc:
            self._rebuild(exc)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=60)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS emb (model TEXT, preprocess TEXT, item TEXT, dim INTEGER,"
                " vec BLOB, PRIMARY KEY (model, preprocess, item))"
            )
            db.commit()
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    def _rebuild(self, exc: Exception) -> None:
        if getattr(self, "db", None) is not None:
            self.db.close()
        n = 1
        while self.path.with_name(f"{self.path.name}.corrupt-{n}").exists():
            n += 1
        aside = self.path.with_name(f"{self.path.name}.corrupt-{n}")
        self.path.replace(aside)
        for suffix in ("-wal", "-shm"):
            extra = self.path.with_name(self.path.name + suffix)
            if extra.exists():
                extra.replace(aside.with_name(aside.name + suffix))
        warnings.warn(
            f"The embedding cache {self.path} was damaged ({exc}); moved it to {aside.name} and "
            "started a new one (embeddings are recomputed once).",
            RuntimeWarning,
            stacklevel=3,
        )
        self.db = self._connect()

    def get_many(self, model: str, preprocess: str, items: Sequence[str]) -> dict[str, np.ndarray]:
        try:
            return self._get_many(model, preprocess, items)
        except sqlite3.DatabaseError as exc:
            self._rebuild(exc)
            return {}

    def _get_many(self, model: str, preprocess: str, items: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(items), 500):
            chunk = list(items[start : start + 500])
            marks = ",".join("?" * len(chunk))
            rows = self.db.execute(
                f"SELECT item, vec FROM emb WHERE model=? AND preprocess=? AND item IN ({marks})",
                [model, preprocess, *chunk],
            )
            for item, vec in rows:
                found[item] = np.frombuffer(vec, dtype=np.float32).copy()
        return found

    def put_many(self, model: str, preprocess: str, items: Sequence[str], vectors: np.ndarray) -> None:
        rows = [
            (model, preprocess, item, int(v.shape[0]), np.ascontiguousarray(v, np.float32).tobytes())
            for item, v in zip(items, vectors, strict=True)
        ]
        try:
            self.db.executemany("INSERT OR REPLACE INTO emb VALUES (?, ?, ?, ?, ?)", rows)
            self.db.commit()
        except sqlite3.DatabaseError as exc:
            self._rebuild(exc)
            self.db.executemany("INSERT OR REPLACE INTO emb VALUES (?, ?, ?, ?, ?)", rows)
            self.db.commit()

    def close(self) -> None:
        self.db.close()
