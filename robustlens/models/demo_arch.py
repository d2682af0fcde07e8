"""The demo models' image tower: a 4-layer CNN registered with timm, so open_clip builds it from a
plain model config (``vision_cfg.timm_model_name``) like any other tower. Both demo models
(``demo:textile``, ``demo:textile-robust``) use it; they differ only in their training recipe.

Why this shape: textile defects are a few pixels wide (design notes), so the tower works at full
224 px resolution with small 3x3 convolutions and ends in global *max* pooling next to average
pooling, letting one strong local response (a knot, a hole) dominate the embedding.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

ARCH_NAME = "robustlens_textile_cnn"


def _block(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
    )


class TextileCNN(nn.Module):
    """conv(16, stride 2)-conv(32)-conv(64)-conv(128), each BN + ReLU + 2x max-pool; [avg, max] -> 256.

    The stem convolution has stride 2: its 3x3 kernels still see every pixel, so a defect one or two
    pixels wide still excites it (unlike resizing the image first), at a quarter of the cost.
    """

    def __init__(self, widths: tuple[int, ...] = (16, 32, 64, 128), stem_stride: int = 2, **_: Any) -> None:
        super().__init__()
        layers, cin = [], 3
        for i, w in enumerate(widths):
            layers.append(_block(cin, w, stem_stride if i == 0 else 1))
            cin = w
        self.features = nn.Sequential(*layers)
        self.num_features = 2 * cin
        self.default_cfg: dict[str, Any] = {}
        self.pretrained_cfg: dict[str, Any] = {}

    def reset_classifier(self, num_classes: int = 0, global_pool: str | None = None) -> None:
        """timm API: this trunk has no classifier; open_clip's head adds the projection."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.features(x)
        return torch.cat([f.mean(dim=(2, 3)), f.amax(dim=(2, 3))], dim=1)


def register() -> None:
    """Register the architecture with timm (idempotent)."""
    import timm
    from timm.models import register_model

    if ARCH_NAME in timm.list_models(ARCH_NAME):
        return

    def robustlens_textile_cnn(pretrained: bool = False, **kwargs: Any) -> TextileCNN:
        if pretrained:
            raise ValueError("robustlens_textile_cnn has no pretrained timm weights")
        kwargs.pop("num_classes", None)
        kwargs.pop("global_pool", None)
        return TextileCNN(**kwargs)

    robustlens_textile_cnn.__module__ = __name__
    register_model(robustlens_textile_cnn)
