"""Vision-language model adapters behind one protocol (open_clip, HF transformers, demo)."""

from robustlens.models.base import VisionLanguageModel
from robustlens.models.registry import known_models, load_model

__all__ = ["VisionLanguageModel", "known_models", "load_model"]
