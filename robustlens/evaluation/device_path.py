"""Corruptions on the model's device (issue 14): being built this session by helper D."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from robustlens.errors import UserInputError
from robustlens.evaluation.loader import CellImages, CellJob


def use_device_path(runner: Any, model: Any, dataset: CellImages) -> bool:
    """Whether this dataset's jobs run on the model's device (``corrupt_on``)."""
    if runner.options.corrupt_on == "device":
        raise UserInputError("--corrupt-on device is not available yet.", field="corrupt_on")
    return False


def encode_on_device(
    runner: Any, model: Any, dataset: CellImages, batch: int
) -> Iterator[tuple[CellJob, np.ndarray, dict[int, str], float]]:
    raise UserInputError("--corrupt-on device is not available yet.", field="corrupt_on")
    yield  # pragma: no cover
