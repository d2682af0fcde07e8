"""timm image encoders (ViTs, DINOv2 ports, ...) as image-only models.

Ids:
- ``timm:NAME/random``: the architecture with seeded random weights (tests, benchmarks; never for
  conclusions).
- ``timm:NAME`` + ``--checkpoint FILE``: local weights (.safetensors / .pth / .bin) for that
  architecture; a classifier head in the file is dropped.
- ``timm:/path/dir``: a folder written by ``timm.models.save_for_hf`` (config.json with the
  architecture, model args and preprocessing, plus the weights).
- ``timm:NAME`` or ``timm:hf-hub:ORG/NAME``: published weights from the Hugging Face cache (or the hub
  when it answers); otherwise a clear error within seconds.

The embedding is the model's own pooled pre-logits feature (``num_classes=0``): for timm ViTs and
timm's DINOv2 ports that is the final-normed CLS token (``global_pool='token'``), the feature DINO's
kNN and DINOv2's linear probe are evaluated on (Caron et al. 2021; Oquab et al. 2023). The
preprocessing is timm's evaluation transform for the model (resize, center crop, ToTensor,
Normalize), so it splits for ``--corrupt-at model`` and the device path.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from robustlens.errors import UserInputError, did_you_mean
from robustlens.models.base import PilTransform, VisionLanguageModel, file_fingerprint, pick_device
from robustlens.models.vision_only import text_tower_error

EXAMPLE = "timm:vit_small_patch14_dinov2.lvd142m, timm:NAME --checkpoint FILE, timm:/dir, timm:NAME/random"


def list_timm_ids() -> list[str]:
    """A few image encoders worth auditing (timm knows ~1,000 architectures: `timm.list_models()`)."""
    return [
        "timm:vit_small_patch14_dinov2.lvd142m",
        "timm:vit_base_patch14_dinov2.lvd142m",
        "timm:vit_small_patch16_224.augreg_in21k",
        "timm:vit_tiny_patch16_224/random",
    ]


def _create(spec: str, checkpoint: Path | None, seed: int) -> tuple[Any, str, str]:
    """(timm model with no classifier, its canonical name, weights identity); clear errors."""
    import timm

    folder = Path(spec).expanduser()
    if folder.is_dir():
        if checkpoint is not None:
            raise UserInputError(
                f"--checkpoint cannot be combined with timm:{spec}: the folder holds its own weights.",
                field="checkpoint",
            )
        files = sorted(folder.glob("*.safetensors")) or sorted(folder.glob("*.bin"))
        if not (folder / "config.json").is_file() or not files:
            raise UserInputError(
                f"timm:{spec} is not a saved timm model folder.",
                why="a timm folder holds config.json (architecture, args, preprocessing) and the weights.",
                fix="Write it with timm.models.save_for_hf(model, folder), "
                "or pass timm:NAME --checkpoint FILE.",
                field="model",
            )
        model = timm.create_model(f"local-dir:{folder.resolve()}", pretrained=True, num_classes=0)
        return model, str(folder), f"local:{file_fingerprint(files[0])}"
    if spec.startswith(("/", "./", "../", "~")):
        raise UserInputError(
            f"Model folder not found: {spec}",
            why="timm:/path loads a folder written by timm.models.save_for_hf.",
            fix="Check the path, or use timm:NAME with --checkpoint FILE.",
            field="model",
        )
    name, _, tag = spec.partition("/") if not spec.startswith("hf-hub:") else (spec, "", "")
    if not name.startswith("hf-hub:") and not timm.is_model(name):
        raise UserInputError(
            f"Unknown timm architecture {name!r}.",
            why="timm:NAME names one of timm's architectures (timm.list_models()).",
            fix=did_you_mean(name, timm.list_models()) or f"For example {EXAMPLE}.",
            field="model",
        )
    if tag == "random":
        torch.manual_seed(seed)
        return timm.create_model(name, pretrained=False, num_classes=0), name, f"random:{seed}"
    if tag:
        raise UserInputError(
            f"timm:{spec}: unknown suffix {tag!r}.",
            fix="Use timm:NAME.TAG (timm's own pretrained tags), timm:NAME/random or --checkpoint FILE.",
            field="model",
        )
    if checkpoint is not None:
        path = Path(checkpoint).expanduser()
        if not path.is_file():
            raise UserInputError(f"--checkpoint file not found: {checkpoint}", field="checkpoint")
        try:
            model = timm.create_model(
                name, pretrained=True, num_classes=0, pretrained_cfg_overlay={"file": str(path)}
            )
        except (RuntimeError, OSError, ValueError, KeyError) as exc:
            raise UserInputError(
                f"Cannot load {path} into timm:{name}: {str(exc).splitlines()[0][:200]}",
                why="the file is not a weights file of this architecture.",
                fix="Check that the checkpoint was saved from this timm architecture.",
                field="checkpoint",
            ) from None
        return model, name, f"checkpoint:{file_fingerprint(path)}"
    return _pretrained(timm, name), name, f"pretrained:{name}"


def _pretrained(timm: Any, name: str) -> Any:
    from robustlens.models.hub import hub_offline, hub_reachable, offline_mode

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.CRITICAL)  # timm logs download failures; we raise a clear error instead
    try:
        with hub_offline(offline_mode() or not hub_reachable()):
            return timm.create_model(name, pretrained=True, num_classes=0)
    except Exception as exc:  # any hub/cache failure: the fix is the same
        raise UserInputError(
            f"The weights of timm:{name} are not cached here and could not be downloaded "
            f"({type(exc).__name__}).",
            fix="Run once with network access so they are cached, pass local weights with "
            f"timm:{name.split('.')[0]} --checkpoint FILE, or use timm:{name.split('.')[0]}/random "
            "for a smoke test.",
            field="model",
        ) from None
    finally:
        root.setLevel(level)


class TimmModel(VisionLanguageModel):
    """A timm image encoder: pooled pre-logits features, timm's evaluation preprocessing."""

    image_only = True

    def __init__(
        self,
        spec: str,
        checkpoint: Path | None = None,
        device: str = "auto",
        amp: bool = True,
        seed: int = 0,
    ) -> None:
        import timm

        self.id = f"timm:{spec}"
        self.device = pick_device(device)
        self.amp = amp
        model, self.architecture, self.weights = _create(spec, checkpoint, seed)
        self.model = model.float().eval().to(self.device)
        config = timm.data.resolve_data_config({}, model=model)
        self._transform = PilTransform(timm.data.create_transform(**config, is_training=False))
        self.image_size = int(config["input_size"][-1])
        self.embed_dim = int(model.num_features)
        self.logit_scale = 1.0
        self.global_pool = str(getattr(model, "global_pool", ""))

    @property
    def image_transform(self) -> Callable[[np.ndarray], torch.Tensor]:
        return self._transform

    def _encode_images(self, pixels: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.model(pixels)
        return out.flatten(1)

    def _encode_texts(self, texts: Sequence[str]) -> torch.Tensor:
        raise text_tower_error(self.id)

    def encode_texts(self, texts: Sequence[str], batch_size: int = 256) -> np.ndarray:
        raise text_tower_error(self.id)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "image_only": True, "embedding": f"pooled:{self.global_pool}"}
