"""A damaged embedding cache is moved aside and rebuilt with a warning, never fatal to a run."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from robustlens.evaluation.cache import EmbeddingCache


def _filled(directory: Path, n: int = 400) -> Path:
    cache = EmbeddingCache(directory)
    vectors = np.random.default_rng(0).normal(size=(n, 64)).astype(np.float32)
    cache.put_many("m", "p", [f"item{i}" for i in range(n)], vectors)
    cache.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    cache.close()
    return directory / "embeddings.sqlite"


def _still_works(directory: Path) -> None:
    cache = EmbeddingCache(directory)
    assert cache.get_many("m", "p", ["item1"]) == {}
    cache.put_many("m", "p", ["new"], np.ones((1, 4), np.float32))
    assert cache.get_many("m", "p", ["new"])["new"].tolist() == [1.0] * 4
    cache.close()


def test_garbage_cache_file_is_moved_aside_and_rebuilt(tmp_path: Path) -> None:
    (tmp_path / "embeddings.sqlite").write_bytes(b"this is not a database at all" * 100)
    with pytest.warns(RuntimeWarning, match="damaged"):
        cache = EmbeddingCache(tmp_path)
    assert cache.get_many("m", "p", ["x"]) == {}
    cache.close()
    assert (tmp_path / "embeddings.sqlite.corrupt-1").read_bytes().startswith(b"this is not")
    _still_works(tmp_path)


def test_truncated_cache_is_rebuilt_when_first_read(tmp_path: Path) -> None:
    path = _filled(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.warns(RuntimeWarning, match="damaged"):
        cache = EmbeddingCache(tmp_path)
        found = cache.get_many("m", "p", [f"item{i}" for i in range(400)])
    assert found == {}
    cache.close()
    assert (tmp_path / "embeddings.sqlite.corrupt-1").exists()
    with sqlite3.connect(path) as db:  # a valid, fresh database again
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    _still_works(tmp_path)
