"""Hugging Face transformers adapter for CLIP, SigLIP and ALIGN: ``hf:ORG/NAME`` or ``hf:/local/dir``.

Needs the optional extra ``pip install robustlens[hf]``. Uses the model's own image processor
(resize, crop, normalisation as published) and ``get_image_features``/``get_text_features``.

The families differ in how zero-shot logits are formed and how text is tokenised, and getting it
wrong silently changes accuracy, so each has an entry in ``FAMILIES``:

- CLIP: ``logit_scale.exp() * cos``; prompts padded to the longest, with an attention mask.
- SigLIP: ``logit_scale.exp() * cos + logit_bias`` (sigmoid loss); prompts padded to the model's
  text length (``max_length``) and fed without an attention mask, exactly as SigLIP was trained.
- ALIGN: ``cos / temperature``; BERT prompts padded to the longest.

Weights that are not local are looked up in the HF cache first (``robustlens.models.hub``): a model
that is neither cached nor downloadable fails in seconds with the fix, not after a minute of retries.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from robustlens.errors import UserInputError
from robustlens.models.base import VisionLanguageModel, file_fingerprint, pick_device
from robustlens.models.hub import hf_cached_file, hub_offline, require_hf_repo

KNOWN_HF = (
    "openai/clip-vit-base-patch32",
    "openai/clip-vit-large-patch14",
    "google/siglip-base-patch16-224",
    "google/siglip2-base-patch16-224",
    "kakaobrain/align-base",
)

_OPTIONAL = ("sentencepiece", "protobuf", "torchvision", "timm", "tiktoken")
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?$")


@dataclass(frozen=True)
class Family:
    """How one model family turns cosine similarities into logits and prompts into tokens."""

    padding: str  # "longest" or "max_length" (to the model's text length)
    attention_mask: bool  # SigLIP was trained without one: padding tokens are attended
    scale: Callable[[Any], float]
    bias: Callable[[Any], float | None]


def _exp_logit_scale(model: Any) -> float:
    return float(model.logit_scale.exp().item())


def _inverse_temperature(model: Any) -> float:
    return float(1.0 / model.temperature.item())


def _no_bias(model: Any) -> float | None:
    return None


def _logit_bias(model: Any) -> float | None:
    return float(model.logit_bias.item())


FAMILIES: dict[str, Family] = {
    "clip": Family("longest", True, _exp_logit_scale, _no_bias),
    "siglip": Family("max_length", False, _exp_logit_scale, _logit_bias),
    "align": Family("longest", True, _inverse_temperature, _no_bias),
}


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
        source, local_only = _resolve_source(self.id, spec, checkpoint)
        local = Path(source).is_dir()
        try:
            with _quiet_transformers(), hub_offline(local_only and not local):
                model = transformers.AutoModel.from_pretrained(source, local_files_only=local_only)
                self.tokenizer = transformers.AutoTokenizer.from_pretrained(
                    source, local_files_only=local_only
                )
                processor = transformers.AutoImageProcessor.from_pretrained(
                    source, local_files_only=local_only
                )
        except ImportError as exc:  # e.g. a SentencePiece tokenizer (SigLIP) without sentencepiece
            detail = " ".join(str(exc).split()).split(". ")[0][:300]
            package = next((p for p in _OPTIONAL if p.lower() in str(exc).lower()), None)
            raise UserInputError(
                f"Cannot load {self.id}: a package it needs is missing. {detail}",
                why="its tokenizer or image processor is implemented with an optional library.",
                fix=f"pip install {package}" if package else "Install the library named above.",
                field="model",
            ) from None
        except (OSError, ValueError, KeyError) as exc:
            detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
            raise UserInputError(
                f"Cannot load {self.id}: {detail}",
                why="the folder is not a saved transformers model (config, weights, tokenizer, processor)."
                if local
                else "the model is not in the local Hugging Face cache and could not be downloaded.",
                fix="Save all four with save_pretrained into one folder and pass hf:/path/to/dir."
                if local
                else "Check the id on huggingface.co, run once with network access so it is cached, set "
                "HF_HOME to a cache that has it, or pass a local folder (hf:/path/to/dir).",
                field="model",
            ) from None
        self.model_type = str(getattr(model.config, "model_type", ""))
        self.family = _family(self.id, self.model_type, model)
        # Weights in float32 whatever dtype they were saved in (transformers 5 keeps a checkpoint's
        # fp16/bf16): fp16 on CPU is slow and breaks float32 pixel input (ALIGN's convolutions);
        # on CUDA, ``autocast`` (amp) gives half precision where it is safe.
        self.model = model.float().eval().to(self.device)
        self.weights = _weights_identity(spec, source, local)
        self._transform = HFImageTransform(processor)
        self.text_length = _text_length(model.config, self.tokenizer)
        self.logit_scale = self.family.scale(self.model)
        self.logit_bias = self.family.bias(self.model)
        with torch.inference_mode():
            self.image_size = int(self._transform(np.zeros((64, 64, 3), np.uint8)).shape[-1])
            self.embed_dim = int(self._encode_texts(["x"]).shape[-1])

    @property
    def image_transform(self) -> Callable[[np.ndarray], torch.Tensor]:
        return self._transform

    def _encode_images(self, pixels: torch.Tensor) -> torch.Tensor:
        return _features(self.model.get_image_features(pixel_values=pixels))

    def _encode_texts(self, texts: Sequence[str]) -> torch.Tensor:
        tokens = self.tokenizer(
            list(texts),
            padding=self.family.padding,
            truncation=True,
            max_length=self.text_length,
            return_tensors="pt",
        )
        keep = (
            ("input_ids", "attention_mask", "token_type_ids")
            if self.family.attention_mask
            else ("input_ids",)
        )
        inputs = {k: v.to(self.device) for k, v in tokens.items() if k in keep}
        return _features(self.model.get_text_features(**inputs))


def _resolve_source(model_id: str, spec: str, checkpoint: Path | None) -> tuple[str, bool]:
    """(what to pass to from_pretrained, load from local files only?); errors for missing folders."""
    if checkpoint is not None:
        folder = Path(checkpoint).expanduser()
        if not folder.is_dir():
            raise UserInputError(
                f"--checkpoint for {model_id} must be a folder saved with save_pretrained: {checkpoint}",
                why="transformers models are folders (config.json, weights, tokenizer, image processor).",
                fix="Pass the folder, or name it directly: hf:/path/to/dir.",
                field="checkpoint",
            )
        return str(folder), True
    path = Path(spec).expanduser()
    if path.is_dir():
        return str(path), True
    if spec.startswith(("/", "./", "../", "~", ".\\")) or spec.count("/") > 1:
        raise UserInputError(
            f"Model folder not found: {spec}",
            why="hf:/path loads a model saved with save_pretrained from that folder.",
            fix="Check the path, or use a Hugging Face id like hf:openai/clip-vit-base-patch32.",
            field="model",
        )
    if not _REPO_ID.match(spec):
        raise UserInputError(
            f"{model_id} is not a Hugging Face model id.",
            why="an id is ORG/NAME (letters, digits, '-', '_', '.'), e.g. openai/clip-vit-base-patch32.",
            fix="Check the id, or pass a local folder: hf:/path/to/dir.",
            field="model",
        )
    return spec, require_hf_repo(model_id, spec)


def _family(model_id: str, model_type: str, model: Any) -> Family:
    if model_type == "siglip2":
        raise UserInputError(
            f"{model_id} is a SigLIP 2 NaFlex (variable-resolution) model, which robustlens does not run.",
            why="NaFlex models need per-image patch masks and shapes; robustlens batches fixed-size images.",
            fix="Use a fixed-resolution SigLIP 2 checkpoint, e.g. hf:google/siglip2-base-patch16-224.",
            field="model",
        )
    if model_type in FAMILIES:
        return FAMILIES[model_type]
    if not (hasattr(model, "get_image_features") and hasattr(model, "get_text_features")):
        raise UserInputError(
            f"{model_id} ({model_type or 'unknown type'}) is not a contrastive image-text model.",
            why=f"robustlens runs CLIP-like models: {', '.join(FAMILIES)}.",
            fix="Pick a CLIP, SigLIP or ALIGN model (robustlens models list --prefix hf).",
            field="model",
        )
    return Family(
        "longest", True, _exp_logit_scale if hasattr(model, "logit_scale") else lambda m: 100.0, _no_bias
    )


def _text_length(config: Any, tokenizer: Any) -> int:
    """The model's text length (position embeddings), capped by the tokenizer's own limit."""
    text_cfg = getattr(config, "text_config", None) or config
    limits = [
        getattr(text_cfg, "max_position_embeddings", None),
        getattr(tokenizer, "model_max_length", None),
    ]
    usable = [int(n) for n in limits if isinstance(n, int) and 0 < n < 100_000]
    return min(usable) if usable else 77


def _weights_identity(spec: str, source: str, local: bool) -> str:
    """local:<fingerprint of the weights file>, or hub:ORG/NAME@<cached commit> (embedding cache key)."""
    if local:
        files = sorted(Path(source).glob("*.safetensors")) or sorted(Path(source).glob("*.bin"))
        return f"local:{file_fingerprint(files[0])}" if files else f"local:{Path(source).resolve()}"
    cached = hf_cached_file(spec, "config.json")
    commit = Path(cached).parent.name if cached else "main"
    return f"hub:{spec}@{commit}"


@contextmanager
def _quiet_transformers() -> Iterator[None]:
    """No 'Loading weights' progress bars or init warnings in the user's terminal."""
    from transformers.utils import logging as tlog

    verbosity, bars = tlog.get_verbosity(), tlog.is_progress_bar_enabled()
    tlog.set_verbosity_error()
    tlog.disable_progress_bar()
    try:
        yield
    finally:
        tlog.set_verbosity(verbosity)
        if bars:
            tlog.enable_progress_bar()


def _features(out: Any) -> torch.Tensor:
    """Projected embeddings from ``get_*_features``: a tensor (transformers 4) or an output object.

    transformers 5 returns ``BaseModelOutputWithPooling`` whose ``pooler_output`` holds the
    projected embedding for CLIP, SigLIP and ALIGN.
    """
    if isinstance(out, torch.Tensor):
        return out
    for name in ("pooler_output", "image_embeds", "text_embeds"):
        value = getattr(out, name, None)
        if isinstance(value, torch.Tensor):
            return value
    raise TypeError(f"unexpected features output {type(out).__name__}")
