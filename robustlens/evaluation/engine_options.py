"""The engine's options, its progress protocol, and the small helpers its callers share.

Kept apart from ``engine.py`` so that callers (CLI, agent, API, investigation) can build options
and progress sinks without reading the engine's internals.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from robustlens import __version__
from robustlens.evaluation.zeroshot import DEFAULT_TEMPLATES


@dataclass
class EngineOptions:
    batch_size: int | None = None
    workers: int | None = None
    device: str = "auto"
    amp: bool = True
    fresh: bool = False
    use_cache: bool = True
    cache_dir: Path | None = None
    templates: Sequence[str] = DEFAULT_TEMPLATES
    checkpoints: Mapping[str, str] = field(default_factory=dict)
    n_boot: int = 1000
    corrupt_at: str = "native"  # "native": the stored image; "model": the model-resolution input


class ProgressSink(Protocol):
    def start_model(self, model_id: str, cells_total: int, cells_done: int) -> None: ...
    def advance(self, images: int) -> None: ...
    def cell_done(self) -> None: ...
    def end_model(self) -> None: ...


class _Silent:
    def start_model(self, model_id: str, cells_total: int, cells_done: int) -> None: ...
    def advance(self, images: int) -> None: ...
    def cell_done(self) -> None: ...
    def end_model(self) -> None: ...


def f16(x: np.ndarray) -> np.ndarray:
    """Embeddings as stored (float16) and used everywhere, so fresh and resumed runs agree."""
    return x.astype(np.float16).astype(np.float32)


def versions() -> dict[str, str]:
    import albumentations
    import numpy
    import open_clip

    return {
        "robustlens": __version__,
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "open_clip": open_clip.__version__,
        "albumentations": albumentations.__version__,
        "numpy": numpy.__version__,
    }
