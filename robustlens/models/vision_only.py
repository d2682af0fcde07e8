"""Image-only Hugging Face encoders (DINOv2, ViT, ...): ``hf:ORG/NAME`` or ``hf:/local/dir``.

A model without a text tower gives an image embedding and nothing else, so it gets the label-free
metrics (cosine/L2 drift, Divergence Radius, kNN flip) and, when the images are labelled, the
downstream accuracy of a kNN classifier and a linear probe fitted on clean images
(``robustlens.evaluation.probe``); arXiv 2604.14973 audits such encoders (CLIP image towers and
DINOv2) the same way. ``hf:`` ids dispatch here when the saved config is a vision-only model
(``is_vision_only``); contrastive image-text models stay with ``robustlens.models.hf``.

The embedding is the final-layer CLS token for ViT-style models (DINOv2's ``pooler_output`` is that
token after the last layer norm): the representation DINO evaluates with its kNN classifier
(Caron et al. 2021, sec. 4.1) and the core of DINOv2's frozen-feature linear probe (Oquab et al.
2023, sec. 7, which also concatenates the mean patch token for its best numbers; robustlens keeps
one token so drift and Divergence Radius compare like with like across models). Models without a CLS
token use their pooled output.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from robustlens.errors import UserInputError
from robustlens.models.base import PilTransform, VisionLanguageModel, pick_device

# model_type values whose last_hidden_state starts with a CLS token (after the final layer norm).
CLS_TOKEN_TYPES = frozenset(
    {"dinov2", "dinov2_with_registers", "vit", "deit", "beit", "vit_msn", "data2vec-vision", "vit_mae"}
)
# Image processors whose resize / center crop / rescale / normalise steps hf_pil_transform reproduces.
SPLITTABLE_PROCESSORS = frozenset(
    {
        "BitImageProcessor",
        "ViTImageProcessor",
        "DeiTImageProcessor",
        "BeitImageProcessor",
        "CLIPImageProcessor",
    }
)
# Contrastive families (robustlens.models.hf): never image-only, whatever their config looks like.
_CONTRASTIVE = frozenset({"clip", "siglip", "siglip2", "align", "blip", "chinese_clip", "altclip"})


def _config_dict(spec: str, checkpoint: Path | None) -> dict[str, Any] | None:
    """The saved config.json of an ``hf:`` id (local folder or cached/downloadable hub id), or None."""
    from robustlens.models.hf import _resolve_source
    from robustlens.models.hub import hf_cached_file

    source, local_only = _resolve_source(f"hf:{spec}", spec, checkpoint)  # clear errors for missing folders
    folder = Path(source)
    path = folder / "config.json" if folder.is_dir() else hf_cached_file(source, "config.json")
    if path is None and not local_only:  # not cached, the hub answers: fetch the config alone
        try:
            from huggingface_hub import hf_hub_download

            path = hf_hub_download(source, "config.json")
        except Exception:  # any hub failure: the HFModel load that follows reports it clearly
            return None
    if path is None or not Path(path).is_file():
        return None
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def is_vision_only(spec: str, checkpoint: Path | None = None) -> bool:
    """True when the ``hf:`` model's config describes an image encoder with no text tower.

    Decided from config.json alone (no weights loaded): no ``text_config``, no vocabulary, an image
    input (``num_channels``/``image_size``), and not a contrastive family.
    """
    config = _config_dict(spec, checkpoint)
    if config is None:
        return False
    model_type = str(config.get("model_type", ""))
    if model_type in _CONTRASTIVE or "text_config" in config or "vocab_size" in config:
        return False
    return "num_channels" in config or "image_size" in config


def hf_pil_transform(processor: Any) -> PilTransform | None:
    """The processor as resize -> center crop -> ToTensor -> Normalize, so it can be split.

    Splittable (``PilTransform``) means ``--corrupt-at model`` and the device path work. Only the
    common settings are translated (shortest-edge or fixed-size resize, optional center crop,
    1/255 rescale, mean/std normalisation); anything else (padding, other rescale factors) returns
    None and the processor itself is used.
    """
    from PIL import Image
    from torchvision import transforms as T

    cfg = processor.to_dict()
    kind = str(cfg.get("image_processor_type", type(processor).__name__)).removesuffix("Fast")
    if kind not in SPLITTABLE_PROCESSORS or "crop_pct" in cfg:  # e.g. ConvNeXt's crop_pct resize rule
        return None
    size, crop = cfg.get("size") or {}, cfg.get("crop_size") or {}
    if cfg.get("do_pad") or not cfg.get("do_resize", True) or not cfg.get("do_normalize", True):
        return None
    if abs(float(cfg.get("rescale_factor", 1 / 255)) - 1 / 255) > 1e-9 or not cfg.get("do_rescale", True):
        return None
    resample = Image.Resampling(int(cfg.get("resample", Image.Resampling.BICUBIC)))
    mode = {
        Image.Resampling.BICUBIC: T.InterpolationMode.BICUBIC,
        Image.Resampling.BILINEAR: T.InterpolationMode.BILINEAR,
        Image.Resampling.NEAREST: T.InterpolationMode.NEAREST,
        Image.Resampling.LANCZOS: T.InterpolationMode.LANCZOS,
    }.get(resample)
    if mode is None:
        return None
    steps: list[Any] = []
    if "shortest_edge" in size:
        steps.append(T.Resize(int(size["shortest_edge"]), interpolation=mode))
    elif "height" in size and "width" in size:
        steps.append(T.Resize((int(size["height"]), int(size["width"])), interpolation=mode))
    else:
        return None
    if cfg.get("do_center_crop") and "height" in crop:
        steps.append(T.CenterCrop((int(crop["height"]), int(crop["width"]))))
    mean, std = cfg.get("image_mean"), cfg.get("image_std")
    if mean is None or std is None:
        return None
    steps += [T.ToTensor(), T.Normalize(list(mean), list(std))]
    return PilTransform(T.Compose(steps))


def image_features(out: Any, model_type: str) -> torch.Tensor:
    """One embedding per image from a vision model's output: CLS token, else pooled output.

    Why CLS: see the module docstring (DINO kNN / DINOv2 linear-probe protocol). ``pooler_output``
    of a ViTModel is a tanh layer that self-supervised checkpoints never trained, hence the token.
    """
    hidden = getattr(out, "last_hidden_state", None)
    if model_type in CLS_TOKEN_TYPES and isinstance(hidden, torch.Tensor) and hidden.dim() == 3:
        return hidden[:, 0]
    for name in ("image_embeds", "pooler_output"):
        value = getattr(out, name, None)
        if isinstance(value, torch.Tensor):
            return value.flatten(1)
    if isinstance(hidden, torch.Tensor):
        return hidden.mean(dim=1) if hidden.dim() == 3 else hidden.flatten(2).mean(dim=2)
    raise TypeError(f"no image features in {type(out).__name__}")


def text_tower_error(model_id: str) -> UserInputError:
    """What to say when something asks an image-only model for text embeddings."""
    return UserInputError(
        f"{model_id} is an image-only encoder: it has no text tower.",
        why="zero-shot classification, prompts and caption retrieval need text embeddings.",
        fix="Its audit uses label-free metrics and a kNN / linear probe on clean labelled images; "
        "for zero-shot metrics add a CLIP-style model.",
        field="model",
    )


class HFVisionModel(VisionLanguageModel):
    """A transformers image encoder (``AutoModel`` + ``AutoImageProcessor``), no text tower."""

    image_only = True

    def __init__(
        self, spec: str, checkpoint: Path | None = None, device: str = "auto", amp: bool = True
    ) -> None:
        import transformers

        from robustlens.models.hf import (
            HFImageTransform,
            _quiet_transformers,
            _resolve_source,
            _weights_identity,
        )
        from robustlens.models.hub import hub_offline

        self.id = f"hf:{spec}"
        self.device = pick_device(device)
        self.amp = amp
        source, local_only = _resolve_source(self.id, spec, checkpoint)
        local = Path(source).is_dir()
        try:
            with _quiet_transformers(), hub_offline(local_only and not local):
                model = transformers.AutoModel.from_pretrained(source, local_files_only=local_only)
                processor = transformers.AutoImageProcessor.from_pretrained(
                    source, local_files_only=local_only
                )
        except (OSError, ValueError, KeyError, ImportError) as exc:
            detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
            raise UserInputError(
                f"Cannot load {self.id}: {detail}",
                why="an image-only model folder needs config.json, the weights and the image processor "
                "config (preprocessor_config.json).",
                fix="Save the model and its image processor with save_pretrained into one folder.",
                field="model",
            ) from None
        self.model_type = str(getattr(model.config, "model_type", ""))
        self.source = source  # where its weights and image processor were read (harden saves both)
        self.model = model.float().eval().to(self.device)
        self.weights = _weights_identity(spec, source, local)
        self._transform: Callable[[np.ndarray], torch.Tensor] = hf_pil_transform(
            processor
        ) or HFImageTransform(processor)
        self.logit_scale = 1.0
        with torch.inference_mode():
            sample = self._transform(np.zeros((64, 64, 3), np.uint8))
            self.image_size = int(sample.shape[-1])
            self.embed_dim = int(self._encode_images(sample[None].to(self.device)).shape[-1])

    @property
    def image_transform(self) -> Callable[[np.ndarray], torch.Tensor]:
        return self._transform

    def _encode_images(self, pixels: torch.Tensor) -> torch.Tensor:
        return image_features(self.model(pixel_values=pixels), self.model_type)

    def _encode_texts(self, texts: Sequence[str]) -> torch.Tensor:
        raise text_tower_error(self.id)

    def encode_texts(self, texts: Sequence[str], batch_size: int = 256) -> np.ndarray:
        raise text_tower_error(self.id)

    def describe(self) -> dict[str, Any]:
        embedding = "cls_token" if self.model_type in CLS_TOKEN_TYPES else "pooled"
        return {**super().describe(), "image_only": True, "embedding": embedding}
