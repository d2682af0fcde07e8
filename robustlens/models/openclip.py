"""open_clip adapter: ``openclip:ARCH/TAG``, ``openclip:hf-hub:ORG/NAME``, ``openclip:ARCH`` + checkpoint.

``openclip:ARCH/random`` builds the architecture with seeded random weights: useful for
benchmarks and tests, never for conclusions (reports flag it). Missing weights raise a
``UserInputError`` within seconds instead of retrying downloads.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from importlib.resources import files
from pathlib import Path

import numpy as np
import torch

from robustlens.errors import UserInputError, did_you_mean
from robustlens.models.base import PilTransform, VisionLanguageModel, file_fingerprint, pick_device

_CONFIGS_ADDED = False


def _open_clip():
    global _CONFIGS_ADDED
    import open_clip

    if not _CONFIGS_ADDED:
        open_clip.add_model_config(Path(str(files("robustlens.models") / "configs")))
        _CONFIGS_ADDED = True
    return open_clip


def list_openclip_ids() -> list[str]:
    oc = _open_clip()
    return [f"openclip:{arch}/{tag}" for arch, tag in oc.list_pretrained()]


def list_architectures() -> list[str]:
    return list(_open_clip().list_models())


class OpenClipModel(VisionLanguageModel):
    def __init__(
        self,
        spec: str,
        checkpoint: Path | None = None,
        device: str = "auto",
        amp: bool = True,
        seed: int = 0,
    ) -> None:
        oc = _open_clip()
        self.id = f"openclip:{spec}"
        self.device = pick_device(device)
        self.amp = amp
        arch, tag = _split(spec)
        if arch.startswith(("hf-hub:", "local-dir:")):
            model_name, pretrained, self.weights = arch, None, arch
        else:
            _check_arch(arch, oc.list_models())
            model_name = arch
            if checkpoint is not None:
                if tag is not None:
                    raise UserInputError(
                        f"Both a pretrained tag ({tag}) and --checkpoint were given for {arch}.",
                        fix=f"Use openclip:{arch} with --checkpoint, or openclip:{arch}/{tag} alone.",
                        field="checkpoint",
                    )
                if not checkpoint.is_file():
                    raise UserInputError(
                        f"Checkpoint not found: {checkpoint}",
                        field="checkpoint",
                        fix="Pass the path of a .pt/.bin/.safetensors state dict.",
                    )
                pretrained, self.weights = str(checkpoint), f"checkpoint:{file_fingerprint(checkpoint)}"
            elif tag == "random":
                pretrained, self.weights = None, f"random:{seed}"
            elif tag is None:
                raise UserInputError(
                    f"No weights named for {self.id}.",
                    why="an architecture alone has no trained weights.",
                    fix=(
                        f"Use openclip:{arch}/TAG (tags: {', '.join(_tags(oc, arch)[:6]) or 'none known'}), "
                        f"or --checkpoint PATH for local weights, or openclip:{arch}/random for a smoke test."
                    ),
                    field="model",
                )
            else:
                tags = _tags(oc, arch)
                if tag not in tags:
                    raise UserInputError(
                        f"Unknown pretrained tag {tag!r} for {arch}.",
                        why=f"open_clip knows these tags for {arch}: {', '.join(tags) or 'none'}.",
                        fix=did_you_mean(tag, tags) or "Run `robustlens models list`.",
                        field="model",
                    )
                pretrained, self.weights = tag, f"pretrained:{tag}"
        torch.manual_seed(seed)
        root = logging.getLogger()
        level = root.level
        root.setLevel(logging.CRITICAL)  # open_clip logs download failures; we raise a clear error instead
        try:
            model, _, preprocess = oc.create_model_and_transforms(model_name, pretrained=pretrained)
        except Exception as exc:  # download and checkpoint errors come in many types
            raise _weights_error(self.id, checkpoint, exc) from None
        finally:
            root.setLevel(level)
        self._setup(model, preprocess, oc.get_tokenizer(model_name))

    @classmethod
    def wrap(
        cls,
        model: torch.nn.Module,
        preprocess: Callable[..., torch.Tensor],
        tokenizer: Callable[..., torch.Tensor],
        model_id: str,
        weights: str,
        device: str = "auto",
        amp: bool = True,
    ) -> OpenClipModel:
        """Adapt an open_clip model built elsewhere (the bundled demo model) to the protocol."""
        self = cls.__new__(cls)
        self.id, self.weights, self.device, self.amp = model_id, weights, pick_device(device), amp
        self._setup(model, preprocess, tokenizer)
        return self

    def _setup(
        self, model: torch.nn.Module, preprocess: Callable[..., torch.Tensor], tokenizer: Callable
    ) -> None:
        self.model = model.eval().to(self.device)
        if self.device.type == "cpu":  # oneDNN convolutions run ~2x faster in NHWC on CPU
            self.model.visual.to(memory_format=torch.channels_last)
        self._transform = PilTransform(preprocess)
        self.tokenizer = tokenizer
        vision = getattr(model, "visual", None)
        size = getattr(vision, "image_size", 224)
        self.image_size = int(size[0] if isinstance(size, tuple | list) else size)
        with torch.inference_mode():
            self.embed_dim = int(self.model.encode_text(self.tokenizer(["x"]).to(self.device)).shape[-1])
        self.logit_scale = float(model.logit_scale.exp().item())
        bias = getattr(model, "logit_bias", None)
        self.logit_bias = float(bias.item()) if bias is not None else None

    @property
    def image_transform(self) -> Callable[[np.ndarray], torch.Tensor]:
        return self._transform

    def _encode_images(self, pixels: torch.Tensor) -> torch.Tensor:
        if self.device.type == "cpu":
            pixels = pixels.contiguous(memory_format=torch.channels_last)
        return self.model.encode_image(pixels)

    def _encode_texts(self, texts: Sequence[str]) -> torch.Tensor:
        return self.model.encode_text(self.tokenizer(list(texts)).to(self.device))


def _split(spec: str) -> tuple[str, str | None]:
    if spec.startswith(("hf-hub:", "local-dir:")):
        return spec, None
    arch, _, tag = spec.partition("/")
    return arch, tag or None


def _tags(oc, arch: str) -> list[str]:
    return [t for a, t in oc.list_pretrained() if a == arch]


def _check_arch(arch: str, known: Sequence[str]) -> None:
    if arch not in known:
        raise UserInputError(
            f"Unknown open_clip architecture {arch!r}.",
            why=f"open_clip {len(known)} architectures are registered and this is not one.",
            fix=(did_you_mean(arch, known) + " Run `robustlens models list --all`.").strip(),
            field="model",
        )


def _weights_error(model_id: str, checkpoint: Path | None, exc: Exception) -> UserInputError:
    logging.getLogger(__name__).debug("weights failed", exc_info=exc)
    if checkpoint is not None:
        return UserInputError(
            f"Cannot load checkpoint {checkpoint} into {model_id}: {str(exc).splitlines()[0][:300]}",
            why="the file is not a state dict of this architecture.",
            fix="Check that the checkpoint matches the architecture named in the model id.",
            field="checkpoint",
        )
    return UserInputError(
        f"The weights of {model_id} are not available here ({type(exc).__name__}).",
        why="they are not in the local Hugging Face cache and cannot be downloaded (offline or unreachable).",
        fix=(
            "Run once with network access so they are cached (~/.cache/huggingface), point HF_HOME at a "
            "cache that has them, or pass local weights with --checkpoint PATH."
        ),
        field="model",
    )
