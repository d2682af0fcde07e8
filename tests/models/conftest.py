"""Session-scoped tiny transformers models (built once, on first use, in a session temp folder)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.models.tiny_hf import BUILDERS


@pytest.fixture(scope="session")
def tiny_hf(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """``tiny_hf("siglip")`` -> folder of a saved tiny model of that family (clip, siglip, align)."""
    built: dict[str, Path] = {}

    def get(family: str) -> Path:
        if family not in built:
            built[family] = BUILDERS[family](tmp_path_factory.mktemp(f"tiny-{family}"))
        return built[family]

    return get
