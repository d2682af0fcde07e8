"""Train a bundled demo model: ``python -m robustlens.models.train_demo [--model textile-robust]``.

Contrastive image-text training on the textile *train* split (1,600 images; the fixed split of
``robustlens.data.demo``) with varied captions per class. The MiniLM text tower stays frozen (its
mean-pooled sentence features are computed once); the image CNN, the text projection and the
temperature are trained with a CLIP-style cross-entropy of each image against one freshly sampled
caption per class (Radford et al. 2021), so paraphrased prompts map to the same region. Class
imbalance (800/400/400) is handled by a balanced sampler; a one-cycle schedule keeps it stable.

``--model textile-robust`` trains the same architecture with the same recipe plus seeded
photometric augmentations on about half of each batch (``photometric_augment``: Gaussian blur,
a one-sided lighting ramp with a global gain, Gaussian sensor noise). Training on corruptions of the
kind a test later applies is the classic way to buy robustness (Hendrycks & Dietterich, ICLR 2019,
warn that it makes ImageNet-C numbers incomparable; AugMix, Hendrycks et al., ICLR 2020): the demo
wants exactly that contrast, a fragile and a hardened model, not a benchmark claim.

Writes ``robustlens/models/weights/demo_<name>.safetensors`` (everything but the MiniLM weights)
and ``demo_<name>.json`` (held-out zero-shot accuracy, training time, seed, settings).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F

from robustlens.data.demo import TEXTILE_CLASSES, TEXTILE_PROMPT_NAMES, textile_split
from robustlens.data.images import load_image, to_rgb

CAPTIONS: dict[str, list[str]] = {
    "nominal": [
        "a photo of defect-free fabric",
        "defect-free fabric",
        "flawless woven textile",
        "a clean fabric sample with no defects",
        "an even, regular weave without flaws",
        "good quality cloth that passes inspection",
        "a uniform textile surface",
        "normal fabric from the production line",
        "a close-up photo of intact fabric",
        "woven material in perfect condition",
    ],
    "local": [
        "fabric with a small local defect",
        "a photo of fabric with a small local defect",
        "a textile sample with a tiny hole",
        "a small flaw in one spot of the fabric",
        "woven fabric with a knot in one place",
        "a local weaving fault on otherwise normal cloth",
        "fabric with a single spot defect",
        "a small tear or stain on the textile",
        "a close-up photo of fabric with one small defect",
        "cloth with an isolated broken thread",
    ],
    "global": [
        "fabric with a global defect across the weave",
        "a photo of fabric with a global defect across the weave",
        "textile with an uneven weave everywhere",
        "a fabric sample with widespread distortion",
        "cloth whose whole pattern is irregular",
        "a defect spread over the entire fabric",
        "woven material with distorted threads throughout",
        "fabric that is faulty across the whole surface",
        "a close-up photo of fabric with a global defect",
        "a textile with a large-scale weaving fault",
    ],
}


def load_split(
    split: Literal["train", "test", "all"], preprocess_geometry: Callable[[np.ndarray], np.ndarray]
) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 (N, 3, 224, 224) images through the model's own resize/crop, and labels."""
    items = textile_split(split)
    images = [preprocess_geometry(to_rgb(load_image(p))) for p, _ in items]
    x = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()
    y = torch.tensor([TEXTILE_CLASSES.index(c) for _, c in items])
    return x, y


def normalise(
    x: torch.Tensor, mean_std: tuple[Sequence[float], Sequence[float]], scaled: bool = False
) -> torch.Tensor:
    """uint8 (or, with ``scaled``, [0, 1] float) images -> the model's normalised input."""
    mean = torch.tensor(mean_std[0]).view(1, 3, 1, 1)
    std = torch.tensor(mean_std[1]).view(1, 3, 1, 1)
    return ((x if scaled else x.float() / 255.0) - mean) / std


def augment(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Orientation augmentations only (fabric has no up): flips and 90-degree turns, per batch."""
    if torch.rand(1, generator=g).item() < 0.5:
        x = x.flip(3)
    if torch.rand(1, generator=g).item() < 0.5:
        x = x.flip(2)
    k = int(torch.randint(0, 4, (1,), generator=g).item())
    return torch.rot90(x, k, dims=(2, 3)) if k else x


def _gaussian_blur(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Separable Gaussian blur of each image (B, C, H, W) with its own sigma (B,), reflect-padded."""
    b, c, h, w = x.shape
    radius = int(torch.ceil(3 * sigma.max()).item())
    if radius < 1:
        return x
    t = torch.arange(-radius, radius + 1, dtype=x.dtype)
    k = torch.exp(-0.5 * (t[None] / sigma[:, None].clamp(min=1e-3)) ** 2)
    k = (k / k.sum(1, keepdim=True)).repeat_interleave(c, 0)  # (B*C, 2r+1)
    y = F.pad(x.reshape(1, b * c, h, w), (radius, radius, radius, radius), mode="reflect")
    y = F.conv2d(y, k[:, None, None, :], groups=b * c)
    y = F.conv2d(y, k[:, None, :, None], groups=b * c)
    return y.reshape(b, c, h, w)


ROBUST_AUGMENTATIONS = ", photometric_augment (blur, lighting ramp, noise) on about half of each batch"


def photometric_augment(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Blur, lighting and noise on about half of a batch of [0, 1] images (seeded by ``g``).

    Each image is picked with p = 0.5; a picked image gets, independently: with p = 0.5 a Gaussian
    blur (sigma 0.3-1.5 px at 224 px), with p = 0.5 a linear lighting ramp from a random side (up to
    70 % darker) times a global gain (0.7-1.2), with p = 0.3 Gaussian noise (sigma up to 0.04). The
    other half stays clean so clean accuracy is still learned. Blur sigma is capped at 1.5 px: wider
    blur erases the few-pixel local defects, and training on blurred "local" images whose defect is
    gone only teaches label noise.
    """
    b = x.shape[0]

    def coin(p: float) -> torch.Tensor:
        return torch.rand(b, generator=g) < p

    def uniform(lo: float, hi: float) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(b, generator=g)

    active = coin(0.5)
    blur, light, noise = coin(0.5) & active, coin(0.5) & active, coin(0.3) & active
    sigma, theta = uniform(0.3, 1.5), uniform(0.0, 2 * np.pi)
    strength, gain, noise_sd = uniform(0.0, 0.7), uniform(0.7, 1.2), uniform(0.0, 0.04)
    eps = torch.randn(x.shape, generator=g)
    x = x.clone()
    if blur.any():
        x[blur] = _gaussian_blur(x[blur], sigma[blur])
    if light.any():
        h, w = x.shape[2:]
        ys = torch.linspace(-1, 1, h)[:, None]
        xs = torch.linspace(-1, 1, w)[None, :]
        i = light.nonzero().flatten()
        ramp = torch.cos(theta[i])[:, None, None] * xs + torch.sin(theta[i])[:, None, None] * ys
        ramp = (ramp + 1.5) / 3.0  # 0 (far from the light) .. 1 (next to it)
        field = 1 - strength[i, None, None] * (1 - ramp)
        x[i] = x[i] * (gain[i, None, None] * field)[:, None]
    if noise.any():
        x[noise] = x[noise] + noise_sd[noise, None, None, None] * eps[noise]
    return x.clamp(0.0, 1.0)


@torch.no_grad()
def pooled_text(model: Any, tokenizer: Callable[[list[str]], torch.Tensor], texts: list[str]) -> torch.Tensor:
    """Frozen MiniLM mean-pooled features (before the trainable projection)."""
    tokens = tokenizer(texts)
    attn = (tokens != model.text.config.pad_token_id).long()
    out = model.text.transformer(input_ids=tokens, attention_mask=attn)
    return model.text.pooler(out, attn)


def zero_shot_accuracy(model_id: str = "demo:textile") -> dict[str, float]:
    """Held-out accuracy of the *saved* weights through the regular adapter and prompt ensemble."""
    from robustlens.evaluation.zeroshot import DEFAULT_TEMPLATES, class_embeddings, prompts
    from robustlens.models import load_model

    model = load_model(model_id, device="cpu")
    names = [TEXTILE_PROMPT_NAMES[c] for c in TEXTILE_CLASSES]
    text = class_embeddings(model.encode_texts(prompts(names, DEFAULT_TEMPLATES)), len(names))
    items = textile_split("test")
    correct: list[float] = []
    per_class: dict[str, list[float]] = {c: [] for c in TEXTILE_CLASSES}
    for start in range(0, len(items), 64):
        chunk = items[start : start + 64]
        pixels = torch.stack([model.image_transform(to_rgb(load_image(p))) for p, _ in chunk])
        pred = (model.encode_images(pixels) @ text.T).argmax(1)
        for (_, c), p in zip(chunk, pred, strict=True):
            ok = float(TEXTILE_CLASSES[int(p)] == c)
            correct.append(ok)
            per_class[c].append(ok)
    return {
        "accuracy": round(float(np.mean(correct)), 4),
        "balanced_accuracy": round(float(np.mean([np.mean(v) for v in per_class.values()])), 4),
        **{f"recall_{c}": round(float(np.mean(v)), 4) for c, v in per_class.items()},
        "n_test": len(correct),
    }


def train(
    epochs: int, batch_size: int, lr: float, seed: int, out: Path, name: str = "textile", robust: bool = False
) -> dict[str, object]:
    from safetensors.torch import save_file

    from robustlens.models.demo import build

    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    start = time.perf_counter()
    model, preprocess, tokenizer = build(name=name)
    model.train()
    model.text.transformer.eval()
    for p in model.text.transformer.parameters():
        p.requires_grad_(False)
    from robustlens.models.base import PilTransform

    transform = PilTransform(preprocess)
    if transform.mean_std is None:
        raise ValueError("the demo model's preprocess must end in ToTensor + Normalize")
    mean_std = transform.mean_std
    x_train, y_train = load_split("train", transform.geometry)
    caption_lists = [CAPTIONS[c] for c in TEXTILE_CLASSES]
    flat = [c for caps in caption_lists for c in caps]
    pooled = pooled_text(model, tokenizer, flat).view(len(caption_lists), -1, pooled_dim(model))
    params = [p for n, p in model.named_parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=1e-4)
    counts = torch.bincount(y_train).float()
    weights = (1.0 / counts)[y_train]
    steps_per_epoch = len(y_train) // batch_size
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=lr, total_steps=epochs * steps_per_epoch, pct_start=0.2
    )
    prep_s = time.perf_counter() - start
    history = []
    for epoch in range(epochs):
        order = torch.multinomial(weights, steps_per_epoch * batch_size, replacement=True, generator=g)
        losses = []
        for step in range(steps_per_epoch):
            idx = order[step * batch_size : (step + 1) * batch_size]
            batch = augment(x_train[idx], g)
            if robust:
                images = normalise(photometric_augment(batch.float() / 255.0, g), mean_std, True)
            else:
                images = normalise(batch, mean_std)
            pick = torch.randint(0, pooled.shape[1], (pooled.shape[0],), generator=g)
            text = F.normalize(model.text.proj(pooled[torch.arange(pooled.shape[0]), pick]), dim=-1)
            img = F.normalize(model.encode_image(images), dim=-1)
            logits = model.logit_scale.exp().clamp(max=100) * img @ text.T
            loss = F.cross_entropy(logits, y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
        history.append(round(float(np.mean(losses)), 4))
        print(
            f"epoch {epoch + 1}/{epochs}: loss {history[-1]:.4f}  ({time.perf_counter() - start:.0f} s)",
            flush=True,
        )
    train_s = time.perf_counter() - start
    state = {
        k: v.detach().contiguous()
        for k, v in model.state_dict().items()
        if not k.startswith("text.transformer.")
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    # One metadata key: safetensors writes its metadata map in hash order, so two keys would make
    # otherwise identical files differ byte for byte between runs (the model name is in the .json).
    save_file(state, str(out), metadata={"format": "pt"})
    return {
        "train_seconds": round(train_s, 1),
        "data_prep_seconds": round(prep_s, 1),
        "loss_per_epoch": history,
    }


def pooled_dim(model: Any) -> int:  # an open_clip CustomTextCLIP (untyped library)
    return int(model.text.config.hidden_size)


def main() -> None:
    from robustlens.models.demo import DEMO_MODELS, metadata_path, weights_path

    parser = argparse.ArgumentParser(
        description="Train a bundled demo model (demo:textile, demo:textile-robust)."
    )
    parser.add_argument("--model", choices=sorted(DEMO_MODELS), default="textile")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    robust = args.model == "textile-robust"
    out = weights_path(args.model)
    info = train(args.epochs, args.batch_size, args.lr, args.seed, out, args.model, robust)
    info.update(zero_shot_accuracy(f"demo:{args.model}"))
    info.update(
        model=f"demo:{args.model}",
        image_tower=DEMO_MODELS[args.model],
        augmentations="flips, 90-degree turns" + (ROBUST_AUGMENTATIONS if robust else ""),
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        seed=args.seed,
        threads=args.threads,
        machine=f"{platform.machine()} x{os.cpu_count()} cores",
        torch=torch.__version__,
        split="textile: per class, files sorted by name, index % 5 == 4 -> test (400), rest train (1600)",
        templates="robustlens.evaluation.zeroshot.DEFAULT_TEMPLATES",
        size_bytes=out.stat().st_size,
    )
    metadata_path(args.model).write_text(json.dumps(info, indent=2) + "\n")
    print(json.dumps(info, indent=2))


if __name__ == "__main__":
    main()
