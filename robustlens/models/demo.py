"""The bundled offline demo model (``demo:textile``), trained by ``robustlens.models.train_demo``."""

from __future__ import annotations

from robustlens.errors import UserInputError
from robustlens.models.base import VisionLanguageModel

DEMO_MODELS: dict[str, str] = {}


def load_demo(spec: str, **kwargs: object) -> VisionLanguageModel:
    raise UserInputError(
        f"Demo model demo:{spec} is not bundled yet.",
        why="the offline demo model arrives with the demo issue ([3 of 6]).",
        fix="Use an openclip: model with --checkpoint for now.",
        field="model",
    )
