"""The engine's options, its progress protocol, and the small helpers its callers share.

Kept apart from ``engine.py`` so that callers (CLI, agent, API, investigation) can build options
and progress sinks without reading the engine's internals.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from pydantic import ValidationError

from robustlens import __version__
from robustlens.errors import UserInputError
from robustlens.evaluation.zeroshot import DEFAULT_TEMPLATES
from robustlens.schemas import Execution

CORRUPT_AT = ("native", "model")


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
    corrupt_on: str = "auto"  # "cpu": worker processes; "device": the model's device; "auto": see Execution
    target_ci_width: float | None = None  # adaptive sampling (None: every image in every cell)
    executor: str = "local"  # "local" or "ray"
    ray_address: str | None = None
    # Called as hook(store, model, options) after a model's cells, while the engine holds the model
    # (e.g. ``evaluation.ood.with_ood``: the OOD set is encoded without loading the model again).
    model_hooks: Sequence[Callable[[Any, Any, EngineOptions], None]] = ()

    def __post_init__(self) -> None:
        # A typo here used to run a whole audit at native resolution without a word.
        if self.corrupt_at not in CORRUPT_AT:
            raise UserInputError(
                f"corrupt_at must be one of {', '.join(CORRUPT_AT)}, not {self.corrupt_at!r}.",
                why="'native' corrupts the stored image, 'model' the resized model input.",
                fix="Use --corrupt-at native (the default) or --corrupt-at model.",
                field="corrupt_at",
            )


def run_model_hooks(store: Any, model: Any, options: EngineOptions) -> None:
    """Run ``options.model_hooks`` with the engine's loaded model (one load per model per run)."""
    for hook in options.model_hooks:
        hook(store, model, options)


def with_execution(
    options: EngineOptions,
    execution: Execution | None = None,
    *,
    corrupt_on: str | None = None,
    target_ci_width: float | None = None,
    executor: str | None = None,
    ray_address: str | None = None,
) -> EngineOptions:
    """``options`` with the brief's ``execution`` settings, overridden by the CLI flags given (not None).

    Values are checked here, so a typo in a flag or a brief is one clear error naming the field."""
    base = execution or Execution(
        corrupt_on=options.corrupt_on,
        target_ci_width=options.target_ci_width,
        executor=options.executor,
        ray_address=options.ray_address,
    )
    flags = {
        "corrupt_on": corrupt_on,
        "target_ci_width": target_ci_width,
        "executor": executor,
        "ray_address": ray_address,
    }
    chosen = {**base.model_dump(), **{k: v for k, v in flags.items() if v is not None}}
    try:
        merged = Execution.model_validate(chosen)
    except ValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0]) if err.get("loc") else "execution"
        raise UserInputError(
            f"--{name.replace('_', '-')} {chosen.get(name)!r} is not allowed.",
            why=str(err.get("msg", "")),
            fix="See `robustlens eval --help` for the allowed values.",
            field=name,
        ) from None
    return replace(options, **merged.model_dump())


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
    """Library versions for the manifest. open_clip's comes from its package metadata: importing it
    only to read ``__version__`` pulls in torchvision and torch._dynamo (~5 s) in processes that never
    build an open_clip model (a resumed finished run, a Ray driver)."""
    from importlib.metadata import version

    import albumentations
    import numpy

    return {
        "robustlens": __version__,
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "open_clip": version("open_clip_torch"),
        "albumentations": albumentations.__version__,
        "numpy": numpy.__version__,
    }
