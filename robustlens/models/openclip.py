"""open_clip adapter: ``openclip:ARCH/TAG``, ``openclip:hf-hub:ORG/NAME``, ``openclip:ARCH`` + checkpoint.

``openclip:ARCH/random`` builds the architecture with seeded random weights: useful for
benchmarks and tests, never for conclusions (reports flag it). Pretrained weights are looked up in
the local caches first (``robustlens.models.hub``): weights neither cached nor downloadable raise a
``UserInputError`` within seconds instead of minutes of download retries. A ``--checkpoint`` that
is missing, not a weights file, or of another architecture says which, with the fix.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Mapping, Sequence
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
import torch

from robustlens.errors import UserInputError, did_you_mean
from robustlens.models.base import PilTransform, VisionLanguageModel, file_fingerprint, pick_device
from robustlens.models.hub import (
    hf_cache_dir,
    hf_cached_file,
    hub_offline,
    hub_reachable,
    not_available,
    offline_mode,
)

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
    model: Any  # an open_clip CLIP or CustomTextCLIP (the library is untyped)

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
        cache_only = False
        if arch.startswith(("hf-hub:", "local-dir:")):
            if checkpoint is not None:
                raise UserInputError(
                    f"--checkpoint cannot be combined with {self.id}: that id names its own weights.",
                    fix="Use openclip:ARCH --checkpoint PATH, or the hf-hub:/local-dir: id alone.",
                    field="checkpoint",
                )
            model_name, pretrained, self.weights = arch, None, arch
            cache_only = _require_hub_model(self.id, arch)
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
                _check_checkpoint_file(self.id, checkpoint)
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
                cache_only = _require_pretrained(self.id, oc, arch, tag)
        torch.manual_seed(seed)
        root = logging.getLogger()
        level = root.level
        root.setLevel(logging.CRITICAL)  # open_clip logs download failures; we raise a clear error instead
        try:
            with hub_offline(cache_only):
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
        self.logit_scale = float(self.model.logit_scale.exp().item())
        bias = getattr(self.model, "logit_bias", None)
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


def _check_checkpoint_file(model_id: str, checkpoint: Path) -> None:
    """The --checkpoint path is a readable, non-empty file (before anything is built)."""
    problem = ""
    if not checkpoint.exists():
        problem = "no such file"
    elif checkpoint.is_dir():
        problem = "it is a folder"
    elif not os.access(checkpoint, os.R_OK):
        problem = "it is not readable (permissions)"
    elif checkpoint.stat().st_size == 0:
        problem = "the file is empty"
    if problem:
        raise UserInputError(
            f"Checkpoint for {model_id} cannot be used: {checkpoint} ({problem}).",
            why="--checkpoint names a weights file: a .pt/.bin/.safetensors state dict.",
            fix="Check the path; for a transformers folder use hf:/path/to/dir instead of openclip:.",
            field="checkpoint",
        )


def _require_pretrained(model_id: str, oc, arch: str, tag: str) -> bool:
    """Are the weights of ARCH/TAG cached? Return 'load from cache only'; raise if not obtainable."""
    cfg = oc.get_pretrained_cfg(arch, tag) or {}
    hub = cfg.get("hf_hub", "")
    if cfg.get("file"):
        return False
    if hub:
        repo, names = hub_weight_files(hub)
        cached = any(hf_cached_file(repo, name) for name in names)
        where = str(hf_cache_dir())
    else:
        url = cfg.get("url", "")
        target = Path(os.path.expanduser("~/.cache/clip")) / os.path.basename(url)
        cached, where = target.is_file(), str(target.parent)
    return _policy(model_id, cached, where)


def hub_weight_files(hf_hub: str) -> tuple[str, list[str]]:
    """open_clip's ``hf_hub`` entry -> (repo, file names it may download, safetensors first).

    Mirrors ``open_clip.pretrained.download_pretrained_from_hf``: 'org/name/' means the default
    weights file, and a .bin/.pth file has a .safetensors alternative that is preferred.
    """
    repo, filename = os.path.split(hf_hub)
    filename = filename or "open_clip_pytorch_model.bin"
    names = [filename]
    if filename == "open_clip_pytorch_model.bin":
        names.insert(0, "open_clip_model.safetensors")
    elif filename.endswith((".bin", ".pth")):
        names.insert(0, filename[:-4] + ".safetensors")
    return repo, names


def _require_hub_model(model_id: str, name: str) -> bool:
    """openclip:hf-hub:ORG/NAME (cached open_clip_config.json) or openclip:local-dir:PATH (exists)."""
    if name.startswith("local-dir:"):
        folder = Path(name.removeprefix("local-dir:")).expanduser()
        if not (folder / "open_clip_config.json").is_file():
            raise UserInputError(
                f"{model_id}: {folder} is not an open_clip model folder (no open_clip_config.json).",
                fix="Point local-dir: at a folder saved by open_clip (config + weights).",
                field="model",
            )
        return True
    repo = name.removeprefix("hf-hub:")
    return _policy(model_id, hf_cached_file(repo, "open_clip_config.json") is not None, str(hf_cache_dir()))


def _policy(model_id: str, cached: bool, where: str) -> bool:
    """Cached: load (cache only when the hub is unreachable). Not cached: download or fail now."""
    if offline_mode():
        if not cached:
            raise not_available(model_id, where)
        return True
    reachable = hub_reachable()
    if not cached and not reachable:
        raise not_available(model_id, where)
    return not reachable


def _weights_error(model_id: str, checkpoint: Path | None, exc: Exception) -> UserInputError:
    logging.getLogger(__name__).debug("weights failed", exc_info=exc)
    detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
    if checkpoint is not None:
        why = _checkpoint_problem(checkpoint, exc)
        return UserInputError(
            f"Cannot load checkpoint {checkpoint} into {model_id}.",
            why=why,
            fix=(
                "Name the architecture the checkpoint was trained with (openclip:ARCH --checkpoint PATH; "
                "`robustlens models list --all` lists them), or pass the right file."
            ),
            field="checkpoint",
        )
    return UserInputError(
        f"The weights of {model_id} are not available here ({type(exc).__name__}: {detail}).",
        why="they are not in the local cache and could not be downloaded (offline, unreachable, or missing).",
        fix=(
            "Run once with network access so they are cached (~/.cache/huggingface), point HF_HOME at a "
            "cache that has them, or pass local weights with openclip:ARCH --checkpoint PATH."
        ),
        field="model",
    )


def _checkpoint_problem(checkpoint: Path, exc: Exception) -> str:
    """Why open_clip refused the file: not a weights file at all, or weights of another model."""
    try:
        if checkpoint.suffix == ".safetensors":
            from safetensors.torch import load_file

            state: Any = load_file(str(checkpoint), device="cpu")
        else:
            state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    except Exception as load_exc:
        return (
            f"{checkpoint.name} is not a readable weights file ({type(load_exc).__name__}): "
            "not a torch/safetensors state dict, or truncated."
        )
    if isinstance(state, Mapping):
        state = state.get("state_dict", state.get("model", state))
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        return f"{checkpoint.name} holds a {type(state).__name__}, not a state dict of tensors."
    return "it is a state dict, but of another architecture (" + _mismatch_summary(str(exc)) + ")."


def _mismatch_summary(message: str) -> str:
    """torch's load_state_dict error as counts: '3 missing keys, e.g. a, b; 1 shape mismatch ...'."""
    parts = []
    for label, pattern in (
        ("missing keys", r"Missing key\(s\) in state_dict: (.*)"),
        ("unexpected keys", r"Unexpected key\(s\) in state_dict: (.*)"),
    ):
        found = re.search(pattern, message)
        if found:
            names = re.findall(r'"([^"]+)"', found.group(1))
            parts.append(f"{len(names)} {label}, e.g. {', '.join(names[:2])}")
    sizes = re.findall(r"size mismatch for ([^:]+):", message)
    if sizes:
        parts.append(f"{len(sizes)} shape mismatches, e.g. {', '.join(sizes[:2])}")
    return "; ".join(parts) or "keys or shapes differ"
