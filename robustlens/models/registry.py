"""Model ids -> adapters. Prefixes register here, not in if-chains scattered over the code."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from robustlens.errors import UserInputError, did_you_mean
from robustlens.models.base import VisionLanguageModel

Loader = Callable[..., VisionLanguageModel]
LOADERS: dict[str, Loader] = {}
LISTERS: dict[str, Callable[[], list[str]]] = {}
DESCRIPTIONS: dict[str, str] = {}


def register_prefix(
    prefix: str, description: str, lister: Callable[[], list[str]]
) -> Callable[[Loader], Loader]:
    def decorate(loader: Loader) -> Loader:
        LOADERS[prefix] = loader
        LISTERS[prefix] = lister
        DESCRIPTIONS[prefix] = description
        return loader

    return decorate


def _openclip_ids() -> list[str]:
    from robustlens.models.openclip import list_openclip_ids

    return list_openclip_ids()


@register_prefix(
    "openclip",
    "open_clip: openclip:ARCH/TAG, openclip:hf-hub:ORG/NAME, openclip:ARCH + --checkpoint",
    _openclip_ids,
)
def _load_openclip(spec: str, **kw: Any) -> VisionLanguageModel:
    from robustlens.models.openclip import OpenClipModel

    return OpenClipModel(spec, **kw)


def _hf_ids() -> list[str]:
    from robustlens.models.hf import KNOWN_HF

    return [f"hf:{m}" for m in KNOWN_HF]


@register_prefix(
    "hf",
    "Hugging Face transformers CLIP/SigLIP/ALIGN or image-only (DINOv2, ViT): hf:ORG/NAME or hf:/local/dir",
    _hf_ids,
)
def _load_hf(spec: str, **kw: Any) -> VisionLanguageModel:
    from robustlens.models.hf import HFModel
    from robustlens.models.vision_only import HFVisionModel, is_vision_only

    if is_vision_only(spec, kw.get("checkpoint")):  # a config with no text tower
        return HFVisionModel(spec, **kw)
    return HFModel(spec, **kw)


def _timm_ids() -> list[str]:
    from robustlens.models.timm_models import list_timm_ids

    return list_timm_ids()


@register_prefix(
    "timm",
    "timm image-only encoders: timm:NAME (cached weights), timm:NAME --checkpoint FILE, timm:/dir, "
    "timm:NAME/random",
    _timm_ids,
)
def _load_timm(spec: str, **kw: Any) -> VisionLanguageModel:
    from robustlens.models.timm_models import TimmModel

    return TimmModel(spec, **kw)


def _demo_ids() -> list[str]:
    from robustlens.models.demo import DEMO_MODELS

    return [f"demo:{m}" for m in DEMO_MODELS]


@register_prefix("demo", "bundled offline demo models: demo:textile, demo:textile-robust", _demo_ids)
def _load_demo(spec: str, **kw: Any) -> VisionLanguageModel:
    from robustlens.models.demo import load_demo

    return load_demo(spec, **kw)


EXAMPLES = {
    "openclip": "openclip:ViT-B-32/laion2b_s34b_b79k (or openclip:ARCH with --checkpoint PATH)",
    "hf": "hf:openai/clip-vit-base-patch32 or hf:/path/to/saved_model",
    "demo": "demo:textile",
    "timm": "timm:vit_small_patch14_dinov2.lvd142m or timm:/path/to/saved_model",
}


def parse_model_id(model_id: str) -> tuple[str, str]:
    """'PREFIX:REST' -> (prefix, rest); a clear error, with a did-you-mean, for anything else."""
    model_id = model_id.strip()
    prefix, sep, rest = model_id.partition(":")
    if sep and prefix in LOADERS and rest.strip():
        return prefix, rest.strip()
    if sep and prefix in LOADERS:
        raise UserInputError(
            f"Model id {model_id!r} names no model after '{prefix}:'.",
            why=f"{prefix}: {DESCRIPTIONS[prefix]}.",
            fix=f"For example {EXAMPLES.get(prefix, prefix + ':NAME')}. Run `robustlens models list`.",
            field="model",
        )
    raise UserInputError(
        f"Unrecognised model id {model_id!r}.",
        why="a model id starts with a known prefix: " + "; ".join(DESCRIPTIONS.values()) + ".",
        fix=(_suggest(model_id, prefix if sep else "") + " Run `robustlens models list`.").strip(),
        field="model",
    )


def _suggest(model_id: str, prefix: str) -> str:
    """'Did you mean ...' from the prefixes, then from the known ids (a bare 'ViT-B-32/openai')."""
    if prefix:
        hint = did_you_mean(prefix, LOADERS)
        if hint:
            return hint
    candidates = [f"{p}:{model_id}" for p in LOADERS]
    try:
        known = [m for ids in known_models().values() for m in ids]
    except Exception:  # a broken optional package must not hide the real error
        known = []
    exact = [c for c in candidates if c in known]
    if exact:
        return f"Did you mean: {', '.join(exact)}?"
    hint = did_you_mean(model_id, known) if known else ""
    if hint:
        return hint
    if "/" in model_id and not model_id.startswith(("/", ".")):
        return f"Did you mean: hf:{model_id}?"
    return "Examples: " + "; ".join(EXAMPLES.values()) + "."


def load_model(
    model_id: str,
    checkpoint: str | Path | None = None,
    device: str = "auto",
    amp: bool = True,
) -> VisionLanguageModel:
    """Instantiate an adapter; ``UserInputError`` if the id, weights or checkpoint are wrong."""
    prefix, rest = parse_model_id(model_id)
    kwargs: dict[str, object] = {"device": device, "amp": amp}
    if checkpoint is not None:
        kwargs["checkpoint"] = Path(checkpoint)
    return LOADERS[prefix](rest, **kwargs)


def known_models(prefix: str | None = None) -> dict[str, list[str]]:
    return {p: LISTERS[p]() for p in LISTERS if prefix in (None, p)}
