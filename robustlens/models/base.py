"""The ``VisionLanguageModel`` protocol every adapter implements.

The engine only sees this interface: a picklable ``image_transform`` (run in DataLoader worker
processes on uint8 RGB arrays), batched ``encode_images``/``encode_texts`` returning L2-normalised
float32 numpy embeddings, and what zero-shot logits need (``logit_scale``, optional ``logit_bias``).
"""

from __future__ import annotations

import hashlib
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import torch

from robustlens.errors import UserInputError

# Fail fast instead of retrying for minutes when the hub is unreachable.
os.environ.setdefault("HF_HUB_ETAG_TIMEOUT", "5")
os.environ.setdefault("HF_HUB_DOWNLOAD_TIMEOUT", "15")


def available_devices() -> list[str]:
    """Device names torch can use on this machine: cpu, each cuda:N, mps (for error messages)."""
    names = ["cpu"]
    if torch.cuda.is_available():
        names += ["cuda"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        names.append("mps")
    return names


def pick_device(requested: str = "auto") -> torch.device:
    """cuda if available, then Apple mps, else cpu; or exactly what was asked for, if it exists here.

    A device that this machine lacks (``cuda:7`` with one GPU, ``cuda`` without CUDA, ``mps`` off
    macOS, ``banana``) is a user mistake: it raises ``UserInputError`` naming what is available,
    instead of a torch traceback deep inside the first ``.to(device)``.
    """
    text = (requested or "auto").strip().lower()
    if text == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    available = available_devices()
    fix = f"Use --device auto (picks the best available), or one of: {', '.join(available)}."
    try:
        device = torch.device(text)
    except (RuntimeError, ValueError):
        raise UserInputError(
            f"Unknown device {requested!r}.",
            why="a device is auto, cpu, cuda, cuda:N or mps.",
            fix=fix,
            field="device",
        ) from None
    if device.type == "cpu":
        return torch.device("cpu")
    if device.type == "cuda" and torch.cuda.is_available():
        if device.index is None or device.index < torch.cuda.device_count():
            return device
        raise UserInputError(
            f"Device {requested!r} does not exist here: this machine has "
            f"{torch.cuda.device_count()} CUDA GPU(s), numbered from 0.",
            fix=fix,
            field="device",
        )
    if device.type == "mps" and "mps" in available:
        return device
    why = {
        "cuda": "torch sees no CUDA GPU (no NVIDIA driver/GPU, or a CPU-only torch build).",
        "mps": "Apple's Metal backend (mps) exists only on macOS with Apple silicon or AMD GPUs.",
    }.get(device.type, f"robustlens runs on cpu, cuda or mps, and {device.type!r} is not available here.")
    raise UserInputError(f"Device {requested!r} is not available.", why=why, fix=fix, field="device")


def file_fingerprint(path: Path) -> str:
    """Cheap identity of a weights file: size + first and last 4 MiB (hashing GBs costs seconds)."""
    h = hashlib.blake2b(digest_size=8)
    size = path.stat().st_size
    h.update(str(size).encode())
    with open(path, "rb") as fh:
        h.update(fh.read(4 << 20))
        if size > 8 << 20:
            fh.seek(-(4 << 20), os.SEEK_END)
            h.update(fh.read())
    return h.hexdigest()


class VisionLanguageModel(ABC):
    """A contrastive image-text model as the engine uses it."""

    id: str
    embed_dim: int
    image_size: int
    logit_scale: float = 100.0
    logit_bias: float | None = None
    weights: str = ""  # 'pretrained:TAG', 'checkpoint:<fingerprint>', 'random', ...
    device: torch.device = torch.device("cpu")
    amp: bool = True
    # An image encoder with no text tower (DINOv2, timm ViTs): no zero-shot logits; the engine skips
    # prompts and captions and the audit uses label-free metrics and probes (evaluation/probe.py).
    image_only: bool = False

    @property
    def cache_key(self) -> str:
        """Identity of (architecture, weights): embeddings cached under it stay valid."""
        return hashlib.blake2b(f"{self.id}|{self.weights}".encode(), digest_size=8).hexdigest()

    @property
    def preprocess_fingerprint(self) -> str:
        return hashlib.blake2b(repr(self.image_transform).encode(), digest_size=8).hexdigest()

    @property
    @abstractmethod
    def image_transform(self) -> Callable[[np.ndarray], torch.Tensor]:
        """Picklable: uint8 HxWx3 RGB array -> CxHxW float tensor, the model's own preprocessing."""

    @abstractmethod
    def _encode_images(self, pixels: torch.Tensor) -> torch.Tensor: ...

    @abstractmethod
    def _encode_texts(self, texts: Sequence[str]) -> torch.Tensor: ...

    def autocast(self) -> Any:
        if self.amp and self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.float16)
        return nullcontext()

    def encode_images(self, pixels: torch.Tensor) -> np.ndarray:
        """(N, C, H, W) preprocessed batch -> (N, D) L2-normalised float32.

        A uint8 batch is geometry-only output of a split transform: it is converted and normalised
        here, on the device, exactly as ToTensor + Normalize would have done in the worker.
        """
        with torch.inference_mode():
            x = pixels.to(self.device, non_blocking=True)
            if x.dtype == torch.uint8:
                x = self._normalise_on_device(x)
            with self.autocast():
                feats = self._encode_images(x)
            if self._half() and not bool(torch.isfinite(feats).all()):
                feats = self._encode_images(x.float())  # fp16 overflowed: this batch in fp32
        return self._unit(feats, "image")

    def _normalise_on_device(self, x: torch.Tensor) -> torch.Tensor:
        mean_std = getattr(self.image_transform, "mean_std", None)
        if mean_std is None:
            raise TypeError(f"{self.id}: uint8 pixels need a splittable transform")
        mean = torch.tensor(mean_std[0], device=x.device).view(1, -1, 1, 1)
        std = torch.tensor(mean_std[1], device=x.device).view(1, -1, 1, 1)
        return (x.float().div(255.0) - mean) / std

    def encode_texts(self, texts: Sequence[str], batch_size: int = 256) -> np.ndarray:
        """Texts -> (N, D) L2-normalised float32."""
        out = []
        with torch.inference_mode():
            for i in range(0, len(texts), batch_size):
                batch = list(texts[i : i + batch_size])
                with self.autocast():
                    feats = self._encode_texts(batch)
                if self._half() and not bool(torch.isfinite(feats).all()):
                    feats = self._encode_texts(batch)  # outside autocast: fp32
                out.append(self._unit(feats, "text"))
        return np.concatenate(out) if out else np.zeros((0, self.embed_dim), np.float32)

    def _half(self) -> bool:
        return self.amp and self.device.type == "cuda"

    def _unit(self, feats: torch.Tensor, what: str) -> np.ndarray:
        """L2-normalise; a zero or non-finite embedding means unusable weights, said plainly.

        Without this check the run finishes its cells and then fails deep in the metrics (or,
        worse, reports numbers computed from NaN); the cause is the model, so the error names it.
        """
        norms = feats.float().norm(dim=-1)
        bad = ~torch.isfinite(norms) | (norms < 1e-12)
        if bool(bad.any()):
            raise UserInputError(
                f"{self.id} produced {int(bad.sum())} zero or non-finite {what} embedding(s) "
                f"out of {len(norms)}.",
                why="its weights are degenerate (untrained, corrupted, or a mismatched checkpoint), "
                "so no similarity can be computed.",
                fix="Check the weights/checkpoint for this model; on CUDA also try --no-amp.",
                field="model",
            )
        return _normalise(feats)

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "weights": self.weights,
            "embed_dim": self.embed_dim,
            "image_size": self.image_size,
            "logit_scale": self.logit_scale,
            "logit_bias": self.logit_bias,
            "device": str(self.device),
        }


def _normalise(feats: torch.Tensor) -> np.ndarray:
    feats = feats.float()
    feats = feats / feats.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    return feats.cpu().numpy().astype(np.float32, copy=False)


class PilTransform:
    """Adapts a PIL-based torchvision transform (open_clip's) to uint8 numpy input.

    When the transform ends in ToTensor + Normalize (open_clip's always do), it can be split:
    ``geometry`` (resize, crop, mode) runs in the worker and yields uint8 pixels, and the float
    conversion and normalisation run on the model's device (``VisionLanguageModel.encode_images``):
    the same arithmetic, a quarter of the bytes between processes.
    """

    def __init__(self, transform: Callable[[Any], torch.Tensor]) -> None:
        self.transform = transform
        steps = list(getattr(transform, "transforms", []))
        names = [type(t).__name__ for t in steps]
        self.mean_std: tuple[tuple[float, ...], tuple[float, ...]] | None = None
        self._geometry: list[Any] = []
        if len(steps) >= 2 and names[-1] == "Normalize" and names[-2] in ("ToTensor", "MaybeToTensor"):
            self.mean_std = (tuple(steps[-1].mean), tuple(steps[-1].std))
            self._geometry = steps[:-2]

    def __call__(self, image: np.ndarray) -> torch.Tensor:
        from PIL import Image

        return self.transform(Image.fromarray(image))

    @property
    def splittable(self) -> bool:
        return self.mean_std is not None

    def geometry(self, image: np.ndarray) -> np.ndarray:
        """Resize/crop (the transform's PIL steps): uint8 RGB in, uint8 RGB at model resolution out."""
        from PIL import Image

        pil = Image.fromarray(image)
        for step in self._geometry:
            pil = step(pil)
        return np.asarray(pil.convert("RGB"))

    def __repr__(self) -> str:
        return f"PilTransform({self.transform!r})"


def uint8_chw(image: np.ndarray) -> torch.Tensor:
    """HxWx3 uint8 -> 3xHxW uint8 tensor (contiguous, ready to batch)."""
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))
