"""The hardening loop: seeded batches, the objective of ``objective.py``, atomic checkpoints, exact resume.

Only the image tower trains (``towers.py``: open_clip's ``visual``, or a whole timm / transformers
image-only encoder); a text tower stays frozen (the zero-shot classifier keeps its text
embeddings). The tower runs in eval mode while it trains: batch-norm statistics stay fixed (mixed
clean/corrupted batches would otherwise shift them and move every clean embedding) and dropout is
off, so a step depends only on the weights and its seeded batch. The frozen original's clean
embeddings f0(x) are computed once, before the first step, for every training image.

Resume: OUT/checkpoint-last.pt holds the tower, the optimiser state, the step, the loss history and
torch's RNG state, written atomically every ``checkpoint_every`` steps and on Ctrl-C. Batches are a
function of (seed, step) (``data.draw``), so a resumed run ends with the same weights as an
uninterrupted one. A checkpoint from other settings (model, data, plan, lr, ...) is refused.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from robustlens.corruptions.compiler import compile_plan
from robustlens.data.sources import ImageItem, ImageSet
from robustlens.errors import UserInputError
from robustlens.harden.data import batch_pixels, draw, readable, split_items
from robustlens.harden.objective import LossParts, hardening_loss
from robustlens.harden.towers import HARDENED as HARDENED
from robustlens.harden.towers import Tower, save_hardened, tower
from robustlens.harden.towers import reload_id as reload_id
from robustlens.models.base import VisionLanguageModel
from robustlens.schemas import CorruptionPlan

CHECKPOINT = "checkpoint-last.pt"
FORMAT = "robustlens-harden/1"


@dataclass
class HardenConfig:
    model: str
    checkpoint: str | None = None
    steps: int = 200
    batch_size: int = 8
    lr: float = 1e-4
    lam: float = 1.0
    seed: int = 0
    holdout_fraction: float = 0.3
    checkpoint_every: int = 50
    device: str = "auto"


@dataclass
class HardenRun:
    """What a finished (or resumed-to-the-end) run produced."""

    config: HardenConfig
    train: list[ImageItem]
    held_out: list[ImageItem]
    history: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0
    resumed_from: int = 0
    weights: Path | None = None
    skipped: dict[str, str] = field(default_factory=dict)  # image id -> why it could not be decoded


def check_config(config: HardenConfig) -> None:
    """Clear errors for values the loop cannot use (before anything is loaded)."""
    for name, value, ok in [
        ("steps", config.steps, config.steps >= 1),
        ("batch_size", config.batch_size, config.batch_size >= 1),
        ("lr", config.lr, config.lr > 0),
        ("lam", config.lam, config.lam >= 0),
        ("checkpoint_every", config.checkpoint_every, config.checkpoint_every >= 1),
        ("holdout_fraction", config.holdout_fraction, 0 < config.holdout_fraction < 1),
    ]:
        if not ok:
            flag = "--lambda" if name == "lam" else f"--{name.replace('_', '-')}"
            raise UserInputError(
                f"{flag} {value} is not allowed.",
                fix=f"{flag} must be positive (lambda may be 0; the holdout fraction is in (0, 1)).",
                field=name,
            )


def identity(config: HardenConfig, images: ImageSet, plan: CorruptionPlan) -> dict[str, Any]:
    """What a checkpoint must match to be resumed (``steps`` may grow: a run can be extended)."""
    settings = {k: v for k, v in asdict(config).items() if k not in ("steps", "checkpoint_every", "device")}
    plan_hash = hashlib.blake2b(plan.model_dump_json().encode(), digest_size=12).hexdigest()
    return {"format": FORMAT, **settings, "data": images.fingerprint(), "plan": plan_hash}


def harden(
    config: HardenConfig,
    model: VisionLanguageModel,
    images: ImageSet,
    plan: CorruptionPlan,
    out: Path,
    *,
    fresh: bool = False,
    on_step: Callable[[int, LossParts], None] | None = None,
) -> HardenRun:
    """Train (or resume) into ``out``; writes checkpoint-last.pt and, at the end, hardened.pt."""
    check_config(config)
    t = tower(model)
    if not plan.specs:
        raise UserInputError("The plan has no specs to train on.", fix="Give --plan with at least one spec.")
    corruptions = list(compile_plan(plan).values())
    severities = [float(s) for s in plan.severities]
    usable, skipped = readable(images.items)
    train_items, held = split_items(usable, config.holdout_fraction, config.seed)
    out.mkdir(parents=True, exist_ok=True)
    ident = identity(config, images, plan)
    run = HardenRun(config, train_items, held, skipped=skipped)
    torch.manual_seed(config.seed)
    visual = t.trainable
    for p in t.whole.parameters():
        p.requires_grad_(False)
    for p in visual.parameters():
        p.requires_grad_(True)
    t.whole.eval()
    optimiser = torch.optim.AdamW(visual.parameters(), lr=config.lr, weight_decay=0.0)
    frozen = _frozen_clean(model, t, train_items, config.batch_size)  # the ORIGINAL weights: before resuming
    step = _resume(out / CHECKPOINT, ident, visual, optimiser, run, fresh)
    if step > config.steps:
        raise UserInputError(
            f"{out / CHECKPOINT} is already at step {step}, past --steps {config.steps}.",
            fix=f"Use --steps {step} or more, or --fresh to start again.",
            field="steps",
        )
    start = time.perf_counter()
    try:
        while step < config.steps:
            d = draw(step, config.seed, len(train_items), config.batch_size, len(corruptions), severities)
            clean_px, bad_px = batch_pixels(
                train_items, d, corruptions, model.image_transform, config.seed, step
            )
            both = torch.cat([clean_px, bad_px]).to(model.device)
            if model.device.type == "cpu":
                both = both.contiguous(memory_format=torch.channels_last)
            emb = t.encode(both)
            n = len(d.positions)
            loss, parts = hardening_loss(emb[n:], emb[:n], frozen[d.positions].to(model.device), config.lam)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            step += 1
            run.history.append({"step": step, **asdict(parts)})
            if on_step is not None:
                on_step(step, parts)
            if step % config.checkpoint_every == 0 and step < config.steps:
                _save(out / CHECKPOINT, ident, step, visual, optimiser, run)
    except KeyboardInterrupt:
        _save(out / CHECKPOINT, ident, step, visual, optimiser, run)
        raise
    run.seconds = time.perf_counter() - start
    _save(out / CHECKPOINT, ident, step, visual, optimiser, run)
    run.weights = save_hardened(model, t, out)
    return run


@torch.no_grad()
def _frozen_clean(model: VisionLanguageModel, t: Tower, items: list[ImageItem], batch: int) -> torch.Tensor:
    """f0(x) of every training image (unit-normalised, float32, on the CPU), before any step."""
    from robustlens.data.images import load_image, to_rgb

    out = []
    for a in range(0, len(items), max(batch, 16)):
        px = torch.stack(
            [model.image_transform(to_rgb(load_image(i.path))) for i in items[a : a + max(batch, 16)]]
        )
        px = px.to(model.device)
        if model.device.type == "cpu":
            px = px.contiguous(memory_format=torch.channels_last)
        out.append(torch.nn.functional.normalize(t.encode(px).float(), dim=-1).cpu())
    return torch.cat(out)


def _atomic_save(obj: Any, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _save(
    path: Path, ident: dict[str, Any], step: int, visual: torch.nn.Module, opt: Any, run: HardenRun
) -> None:
    _atomic_save(
        {
            "identity": json.dumps(ident, sort_keys=True),
            "step": step,
            "visual": visual.state_dict(),
            "optimizer": opt.state_dict(),
            "history": json.dumps(run.history),
            "torch_rng": torch.get_rng_state(),
        },
        path,
    )


def _resume(
    path: Path, ident: dict[str, Any], visual: torch.nn.Module, opt: Any, run: HardenRun, fresh: bool
) -> int:
    """Load checkpoint-last.pt if it belongs to these settings; return the step it reached (0: none)."""
    if fresh or not path.exists():
        return 0
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        stored = json.loads(state["identity"])
    except Exception as exc:  # a truncated or foreign file: never guess
        raise UserInputError(
            f"{path} is not a readable hardening checkpoint ({type(exc).__name__}).",
            fix="Remove it (or pass --fresh) to start again.",
            field="out",
        ) from None
    if stored != json.loads(json.dumps(ident, sort_keys=True)):
        changed = sorted(k for k in set(stored) | set(ident) if stored.get(k) != ident.get(k))
        raise UserInputError(
            f"{path} belongs to a run with other settings ({', '.join(changed)}).",
            why="resuming it with these settings would mix two trainings.",
            fix="Use another --out folder, the original settings, or --fresh to start again.",
            field="out",
        )
    visual.load_state_dict(state["visual"])
    opt.load_state_dict(state["optimizer"])
    torch.set_rng_state(state["torch_rng"])
    run.history = json.loads(state["history"])
    run.resumed_from = int(state["step"])
    return run.resumed_from
