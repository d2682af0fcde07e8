"""The hardening objective (arXiv 2604.14973, robust fine-tuning against a perturbation).

The paper measures robustness as the Divergence Radius (DR): the radius of the minimum enclosing
ball of an image's unit-normalised embeddings under a perturbation, and fine-tunes the image encoder
so that this radius shrinks while a utility term keeps the encoder useful. We use its DR-style
surrogate: for clean images x, corrupted views c(x) and the frozen original encoder f0,

    loss = mean ||f(c(x)) - f0(x)||^2  +  lambda * mean ||f(x) - f0(x)||^2

(all embeddings L2-normalised). The first term pulls every corrupted view towards the ORIGINAL
model's clean embedding: any ball centred there that encloses the views bounds the DR from above,
so shrinking it shrinks the DR. The second (anchor / utility) term keeps clean embeddings where the
frozen copy puts them, so the frozen text tower and the zero-shot classifier built on it still fit.
Pulling towards f0(x) rather than towards f(x) stops the trivial solution (all embeddings collapsing
to one point), which a pure radius term would reward.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class LossParts:
    """One step's loss: total = radius + lam * anchor (floats, for logs and the card)."""

    total: float
    radius: float
    anchor: float


def hardening_loss(
    corrupted: torch.Tensor, clean: torch.Tensor, frozen_clean: torch.Tensor, lam: float
) -> tuple[torch.Tensor, LossParts]:
    """The objective above on (B, D) embeddings (normalised here); returns (loss tensor, its parts)."""
    if corrupted.shape != clean.shape or clean.shape != frozen_clean.shape:
        raise ValueError(
            f"embeddings must share a shape, got {corrupted.shape}, {clean.shape}, {frozen_clean.shape}"
        )
    target = F.normalize(frozen_clean.detach().float(), dim=-1)
    radius = (F.normalize(corrupted.float(), dim=-1) - target).pow(2).sum(-1).mean()
    anchor = (F.normalize(clean.float(), dim=-1) - target).pow(2).sum(-1).mean()
    loss = radius + lam * anchor
    return loss, LossParts(float(loss.detach()), float(radius.detach()), float(anchor.detach()))
