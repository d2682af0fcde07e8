"""Which part of a model ``robustlens harden`` trains, how it encodes, and how the result is saved.

The objective (``objective.py``, arXiv 2604.14973) needs only an image encoder f, so any model with a
trainable image tower can be hardened:

- open_clip / demo models: the image tower ``visual`` (the text tower stays frozen, so the zero-shot
  classifier keeps its class embeddings). OUT/hardened.pt is the whole model's state dict, loaded with
  ``openclip:ARCH --checkpoint`` / ``demo:NAME --checkpoint``.
- timm image encoders (``models/timm_models.py``): the whole network is the image tower, encoded as
  the engine encodes it (pooled pre-logits). OUT/hardened.pt holds its state dict (no classifier),
  loaded with ``timm:NAME --checkpoint``; a ``timm:/dir`` folder (which takes no --checkpoint) gives
  a new folder OUT/hardened (the base folder's config.json + the new weights), loaded as
  ``timm:OUT/hardened``.
- transformers image encoders (``models/vision_only.py``, e.g. DINOv2): the whole network, encoded as
  the engine encodes it (CLS token); OUT/hardened is a ``save_pretrained`` folder with the image
  processor, loaded with ``hf:ID --checkpoint OUT/hardened``.

Image-only models have no zero-shot classifier: their utility after hardening is the kNN / linear
probe accuracy on clean images that the engine reports for them (``evaluation/probe.py``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from robustlens.errors import UserInputError

HARDENED = "hardened.pt"
HARDENED_DIR = "hardened"


@dataclass
class Tower:
    """The trainable image encoder of a loaded model."""

    trainable: torch.nn.Module  # what the optimiser updates (and checkpoints hold)
    whole: torch.nn.Module  # frozen except ``trainable``, kept in eval mode
    encode: Callable[[torch.Tensor], torch.Tensor]  # pixels -> embeddings, with gradients
    kind: str  # "openclip", "timm", "timm-folder" or "hf"


def tower(model: Any) -> Tower:
    """The model's image tower; a clear error for models harden cannot train."""
    net = getattr(model, "model", None)
    model_id = str(getattr(model, "id", ""))
    if getattr(model, "image_only", False) and isinstance(net, torch.nn.Module):
        if model_id.startswith("timm:"):
            folder = Path(model_id[len("timm:") :]).expanduser().is_dir()
            return Tower(net, net, model._encode_images, "timm-folder" if folder else "timm")
        if model_id.startswith("hf:"):
            return Tower(net, net, model._encode_images, "hf")
    visual, encode = getattr(net, "visual", None), getattr(net, "encode_image", None)
    if isinstance(net, torch.nn.Module) and isinstance(visual, torch.nn.Module) and callable(encode):
        return Tower(visual, net, encode, "openclip")
    raise UserInputError(
        f"{model_id} cannot be hardened.",
        why="harden fine-tunes an image tower: open_clip and demo models, timm image encoders "
        "and transformers image-only encoders (hf: DINOv2 and the like).",
        fix="Use an openclip:, demo:, timm: or image-only hf: model id.",
        field="model",
    )


def _atomic_save(obj: Any, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _cpu_state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}


def _replace_dir(tmp: Path, final: Path) -> Path:
    """Swap a finished folder in (never a half-written OUT/hardened)."""
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    return final


def save_hardened(model: Any, t: Tower, out: Path) -> Path:
    """Write the hardened weights where the loader reads them; returns the file or folder."""
    if t.kind == "openclip":
        state = _cpu_state(t.whole)
        if str(model.id).startswith("demo:"):  # its MiniLM text transformer comes from its package
            state = {k: v for k, v in state.items() if not k.startswith("text.transformer.")}
        _atomic_save(state, out / HARDENED)
        return out / HARDENED
    if t.kind == "timm":
        _atomic_save(_cpu_state(t.whole), out / HARDENED)
        return out / HARDENED
    tmp = out / f".{HARDENED_DIR}.{os.getpid()}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    if t.kind == "timm-folder":
        from safetensors.torch import save_file

        base = Path(str(model.id)[len("timm:") :]).expanduser()
        shutil.copy2(base / "config.json", tmp / "config.json")
        save_file(_cpu_state(t.whole), str(tmp / "model.safetensors"))
    else:  # hf: the network and its image processor, as save_pretrained writes them
        import transformers

        t.whole.save_pretrained(tmp)  # type: ignore[operator]
        source = getattr(model, "source", None)
        if source is None:
            raise UserInputError(f"{model.id}: its image processor cannot be found to save it.")
        processor = transformers.AutoImageProcessor.from_pretrained(source, local_files_only=True)
        processor.save_pretrained(tmp)
    return _replace_dir(tmp, out / HARDENED_DIR)


def reload_id(model_id: str) -> str:
    """The id that loads hardened.pt with --checkpoint: ``openclip:ARCH/TAG`` -> ``openclip:ARCH`` (a
    tag and a checkpoint cannot be combined), ``timm:NAME/random`` -> ``timm:NAME``; ``demo:NAME``,
    ``openclip:ARCH``, ``timm:NAME`` and ``hf:ID`` stay as they are."""
    prefix, _, rest = model_id.partition(":")
    if prefix == "openclip" and not rest.startswith(("hf-hub:", "local-dir:")):
        return f"openclip:{rest.partition('/')[0]}"
    if prefix == "timm" and rest.endswith("/random"):
        return f"timm:{rest[: -len('/random')]}"
    return model_id


def reload_with(model_id: str, weights: Path) -> tuple[str, str | None]:
    """(model id, --checkpoint or None) that loads the hardened weights ``weights``."""
    if model_id.startswith("timm:") and weights.is_dir():
        return f"timm:{weights}", None  # a saved timm folder holds its own weights
    return reload_id(model_id), str(weights)
