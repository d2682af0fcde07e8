"""Batched corruptions on a torch device (issue 14): the same primitives, run where the encoder runs.

An audit encodes every corrupted image once, so on a GPU the CPU-side corruption, not the encoder,
sets the pace. A *device kernel* applies one registered primitive to a batch of images already on
the model's device. It is an **equivalent**, not an identical, implementation of the numpy
primitive: at every severity its mean SSIM to the clean image matches the numpy path's within 0.02
(``tests/corruptions/test_device_equivalence.py``), and its parameters (sigmas, kernel sizes,
quality) are the primitive's own, read from the validated ``Primitive`` instance.

Determinism: seeds are derived exactly as on CPU (``corruption_seed`` per image, then
``derive_seed(seed, step_index, primitive)`` per recipe step) and every draw of image ``i`` comes
from its own generator, so an image's corruption does not depend on its batch or its neighbours;
results are identical per seed on one device type. (A batched counter-based draw, Philox4x32-10 in
plain torch ops, was tried: unfused it was 1.4-3x slower on CPU and, by its op count, on a GPU too,
so the per-image generators stay until a fused kernel is measured on a GPU.)

Writing a kernel::

    @device_kernel("gaussian_noise")
    def _gaussian_noise(prim: GaussianNoise, batch: Batch) -> torch.Tensor:
        return batch.images + batch.normal(batch.images.shape[1:]) * prim.sigma

A kernel gets float32 images in [0, 1], shape (B, 3, H, W), and returns the same shape (clipping
and the uint8 rounding between recipe steps are done by ``corrupt_batch``, as the numpy path rounds
each primitive's output to uint8).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TypeVar, cast

import numpy as np
import torch

from robustlens.corruptions.base import REFERENCE_SIDE, REGISTRY, Primitive
from robustlens.corruptions.compiler import CompiledCorruption
from robustlens.corruptions.device._layers import u8
from robustlens.corruptions.seeding import derive_seed
from robustlens.schemas import CorruptionSpec

__all__ = ["KERNELS", "Batch", "corrupt_batch", "device_kernel", "missing_kernels", "supports"]


@dataclass
class Batch:
    """One recipe step's input: images on the device plus per-image seeds and the image scale."""

    images: torch.Tensor  # (B, 3, H, W) float32 in [0, 1]
    seeds: Sequence[int]  # per image: this step's seed, derived as on CPU
    scale: float  # short side / 224, as ``image_scale`` on CPU (noise grain, kernel sizes)
    _gens: list[torch.Generator] | None = field(default=None, repr=False)

    @property
    def device(self) -> torch.device:
        return self.images.device

    @property
    def size(self) -> int:
        return int(self.images.shape[0])

    def generators(self) -> list[torch.Generator]:
        """One torch generator per image, seeded from its step seed (on the images' device)."""
        if self._gens is None:
            self._gens = []
            for s in self.seeds:
                g = torch.Generator(device=self.device)
                g.manual_seed(int(s) % (2**63))
                self._gens.append(g)
        return self._gens

    @cached_property
    def rngs(self) -> list[np.random.Generator]:
        """Per-image numpy generators (same seed as ``np.random.default_rng`` on CPU) for small
        host-side draws: positions, angles, counts. Draw big planes with ``normal``/``uniform``."""
        return [np.random.default_rng(int(s)) for s in self.seeds]

    def normal(self, shape: Sequence[int]) -> torch.Tensor:
        """(B, *shape) standard normal draws, each image from its own generator."""
        return torch.stack(
            [torch.randn(tuple(shape), generator=g, device=self.device) for g in self.generators()]
        )

    def uniform(self, shape: Sequence[int]) -> torch.Tensor:
        """(B, *shape) uniform [0, 1) draws, each image from its own generator."""
        return torch.stack(
            [torch.rand(tuple(shape), generator=g, device=self.device) for g in self.generators()]
        )


Kernel = Callable[[Primitive, Batch], torch.Tensor]
KERNELS: dict[str, Kernel] = {}


P = TypeVar("P", bound=Primitive)


def device_kernel(
    name: str,
) -> Callable[[Callable[[P, Batch], torch.Tensor]], Callable[[P, Batch], torch.Tensor]]:
    """Register ``fn`` as the device kernel of the registered primitive ``name``.

    ``fn`` may annotate its primitive with the concrete class (``prim: GaussianNoise``): the
    registry only ever calls it with instances of the primitive registered under ``name``.
    """

    def decorate(fn: Callable[[P, Batch], torch.Tensor]) -> Callable[[P, Batch], torch.Tensor]:
        if name not in REGISTRY:
            raise ValueError(f"device kernel for unknown primitive {name!r}")
        if name in KERNELS:
            raise ValueError(f"device kernel {name!r} registered twice")
        KERNELS[name] = cast(Kernel, fn)
        return fn

    return decorate


def _load_kernels() -> None:
    """Import the kernel modules (each registers itself); a missing module is simply no kernels."""
    import importlib
    import pkgutil

    for mod in pkgutil.iter_modules(__path__):
        if not mod.name.startswith("_"):
            importlib.import_module(f"{__name__}.{mod.name}")


def missing_kernels(spec: CorruptionSpec) -> list[str]:
    """The primitives of ``spec`` that have no device kernel (empty: the spec can run on device)."""
    _load_kernels()
    return [c.name for c in spec.recipe if c.name not in KERNELS]


def supports(spec: CorruptionSpec) -> bool:
    """Whether every primitive of ``spec`` has a device kernel."""
    return not missing_kernels(spec)


def corrupt_batch(
    compiled: CompiledCorruption, images: torch.Tensor, severity: float, image_seeds: Sequence[int]
) -> torch.Tensor:
    """Corrupt a (B, 3, H, W) uint8 batch on its device; ``image_seeds[i]`` is image i's
    ``corruption_seed`` (as the CPU path uses). Returns uint8 of the same shape."""
    if images.dtype != torch.uint8 or images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"expected a (B, 3, H, W) uint8 batch, got {tuple(images.shape)} {images.dtype}")
    if severity == 0:
        return images.clone()
    _load_kernels()
    x = images.float() / 255.0
    scale = min(int(images.shape[2]), int(images.shape[3])) / REFERENCE_SIDE
    for i, prim in enumerate(compiled.params_at(severity)):
        name = prim.info.name
        if name not in KERNELS:
            raise KeyError(f"{name} has no device kernel")
        seeds = [derive_seed(s, i, name) for s in image_seeds]
        x = u8(KERNELS[name](prim, Batch(x, seeds, scale)))
    return torch.round(x * 255.0).to(torch.uint8)
