"""The per-process memory of clause embeddings is bounded, and a full memory never loses a row a call is
reading (found on a dev run of 383 scenarios: once the memory held MEMORY_SIZE clauses, a clause that was
remembered when the call began could be evicted by the call's own new clauses, a KeyError)."""

from __future__ import annotations

import numpy as np
import pytest

from robustlens.expert import sentences


@pytest.fixture
def small_memory(monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    memory: dict[str, object] = {}
    monkeypatch.setattr(sentences, "_MEMORY", memory)
    monkeypatch.setattr(sentences, "MEMORY_SIZE", 3)
    return memory


def test_a_remembered_clause_survives_an_eviction_by_its_own_call(small_memory: dict[str, object]) -> None:
    sentences.embed_clauses(["the lens fogs up", "the belt shakes", "dust on the window"])
    texts = ["the lens fogs up", "rain on the glass", "the lamp flickers", "the lens fogs up"]
    rows = sentences.embed_clauses(texts)  # the first is the oldest in a full memory
    assert rows.shape == (4, 384)
    np.testing.assert_allclose(rows, sentences.embed(texts), atol=1e-6)
    assert len(small_memory) == 3
    assert list(small_memory) == ["dust on the window", "rain on the glass", "the lamp flickers"]


def test_rows_follow_the_order_asked_with_repeats_and_nothing(small_memory: dict[str, object]) -> None:
    rows = sentences.embed_clauses(["b c", "a b", "b c"])
    np.testing.assert_array_equal(rows[0], rows[2])
    assert not np.allclose(rows[0], rows[1])
    assert sentences.embed_clauses([]).shape == (0, 384)
