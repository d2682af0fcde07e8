"""Hugging Face transformers adapter for CLIP, SigLIP and ALIGN: ``hf:ORG/NAME`` or ``hf:/local/dir``.

Needs the optional extra ``pip install robustlens[hf]``. Uses the model's own image processor
(resize, crop, normalisation as published) and ``get_image_features``/``get_text_features``.
Loads with ``local_files_only`` when ``HF_HUB_OFFLINE`` is set so a missing model fails at once.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from robustlens.errors import UserInputError
from robustlens.models.base import VisionLanguageModel, file_fingerprint, pick_device

KNOWN_HF = (
    "openai/clip-vit-base-patch32",
    "openai/clip-vit-large-patch14",
    "google/siglip-base-patch16-224",
    "google/siglip2-base-patch16-224",
    "kakaobrain/align-base",
)


class HFImageTransform:
    """Picklable wrapper of an HF image processor: uint8 RGB array -> CxHxW tensor."""

    def __init__(self, processor: Any) -> None:
        self.processor = processor

    def __call__(self, image: np.ndarray) -> torch.Tensor:
        return self.processor(images=image, return_tensors="pt")["pixel_values"][0]

    def __repr__(self) -> str:
        return f"HFImageTransform({self.processor.to_json_string()})"


class HFModel(VisionLanguageModel):
    def __init__(
        self, spec: str, checkpoint: Path | None = None, device: str = "auto", amp: bool = True
    ) -> None:
        try:
            import transformers
        except ImportError:
            raise UserInputError(
                f"hf:{spec} needs the Hugging Face transformers package.",
                fix="pip install 'robustlens[hf]' (or pip install transformers).",
                field="model",
            ) from None
        self.id = f"hf:{spec}"
        self.device = pick_device(device)
        self.amp = amp
        source = str(checkpoint) if checkpoint is not None else spec
        local = Path(source).is_dir()
        offline = local or os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false")
        try:
            self.model = transformers.AutoModel.from_pretrained(source, local_files_only=offline)
            self.tokenizer = transformers.AutoTokenizer.from_pretrained(source, local_files_only=offline)
            processor = transformers.AutoImageProcessor.from_pretrained(source, local_files_only=offline)
        except (OSError, ValueError) as exc:
            raise UserInputError(
                f"Cannot load {self.id}: {str(exc).splitlines()[0][:300]}",
                why="the model is not in the local Hugging Face cache and cannot be downloaded here"
                if not local
                else "the folder is not a saved transformers model (config, weights, tokenizer, processor).",
                fix="Run once with network access so it is cached, set HF_HOME to a cache that has it, "
                "or pass a local folder saved with save_pretrained (hf:/path/to/dir).",
                field="model",
            ) from None
        self.model = self.model.eval().to(self.device)
        weights_file = next(iter(sorted(Path(source).glob("*.safetensors"))), None) if local else None
        self.weights = f"local:{file_fingerprint(weights_file)}" if weights_file else f"hub:{spec}"
        self._transform = HFImageTransform(processor)
        cfg = self.model.config
        self.model_type = getattr(cfg, "model_type", "")
        self.embed_dim = int(getattr(cfg, "projection_dim", 0) or self._probe_dim())
        size = getattr(processor, "crop_size", None) or getattr(processor, "size", {}) or {}
        self.image_size = int(size.get("height") or size.get("shortest_edge") or 224)
        self.logit_scale = (
            float(self.model.logit_scale.exp().item()) if hasattr(self.model, "logit_scale") else 100.0
        )
        if hasattr(self.model, "temperature"):  # ALIGN
            self.logit_scale = float(1.0 / self.model.temperature.item())
        bias = getattr(self.model, "logit_bias", None)
        self.logit_bias = float(bias.item()) if bias is not None else None
        # SigLIP was trained with max-length padding; CLIP/ALIGN pad to the longest prompt.
        self.padding = "max_length" if "siglip" in self.model_type else True

    def _probe_dim(self) -> int:
        return int(self._encode_texts(["x"]).shape[-1])

    @property
    def image_transform(self) -> Callable[[np.ndarray], torch.Tensor]:
        return self._transform

    def _encode_images(self, pixels: torch.Tensor) -> torch.Tensor:
        return _features(self.model.get_image_features(pixel_values=pixels))

    def _encode_texts(self, texts: Sequence[str]) -> torch.Tensor:
        tokens = self.tokenizer(list(texts), padding=self.padding, truncation=True, return_tensors="pt")
        tokens = {k: v.to(self.device) for k, v in tokens.items()}
        return _features(self.model.get_text_features(**tokens))


def _features(out: Any) -> torch.Tensor:
    """transformers 5 may return a model output object instead of a tensor."""
    if isinstance(out, torch.Tensor):
        return out
    for name in ("pooler_output", "image_embeds", "text_embeds"):
        value = getattr(out, name, None)
        if isinstance(value, torch.Tensor):
            return value
    raise TypeError(f"unexpected features output {type(out).__name__}")
