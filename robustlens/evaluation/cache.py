"""On-disk cache of clean image and text embeddings, shared by all runs.

Keyed by (model cache key = architecture + weights, preprocessing fingerprint, image content hash),
so a renamed or moved dataset still hits, and a changed checkpoint or preprocessing never does.
SQLite gives atomic, concurrent-safe writes with no server. Location: ``$ROBUSTLENS_CACHE`` or
``~/.cache/robustlens``.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import numpy as np


def default_cache_dir() -> Path:
    return Path(os.environ.get("ROBUSTLENS_CACHE") or Path.home() / ".cache" / "robustlens")


class EmbeddingCache:
    def __init__(self, directory: Path | None = None) -> None:
        self.directory = Path(directory) if directory else default_cache_dir()
        self.directory.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.directory / "embeddings.sqlite", timeout=60)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS emb (model TEXT, preprocess TEXT, item TEXT, dim INTEGER, vec BLOB,"
            " PRIMARY KEY (model, preprocess, item))"
        )
        self.db.commit()

    def get_many(self, model: str, preprocess: str, items: Sequence[str]) -> dict[str, np.ndarray]:
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
        self.db.executemany("INSERT OR REPLACE INTO emb VALUES (?, ?, ?, ?, ?)", rows)
        self.db.commit()

    def close(self) -> None:
        self.db.close()
