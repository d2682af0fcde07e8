"""The hardening card: OUT/card.json and OUT/card.md say what was trained, on what, and how.

A hardened checkpoint without its recipe cannot be audited or reproduced, so the card records the
base model, the data (fingerprint and the exact image ids used for training vs held out), the specs
and severities trained on, the optimisation settings, the seed, the losses and the versions.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from robustlens.data.sources import ImageSet
from robustlens.evaluation.engine_options import versions
from robustlens.evaluation.store import write_json
from robustlens.harden.towers import reload_with
from robustlens.harden.train import HardenRun
from robustlens.schemas import CorruptionPlan


def _losses(history: list[dict[str, float]], first: bool) -> dict[str, float] | None:
    """Mean of the first (or last) up-to-10 steps' losses (single steps are noisy: random views)."""
    if not history:
        return None
    part = history[:10] if first else history[-10:]
    return {k: float(np.mean([h[k] for h in part])) for k in ("total", "radius", "anchor")}


def _load_with(model_id: str, weights: Path) -> str:
    reload, checkpoint = reload_with(model_id, weights)
    return f"--model {reload}" + (f" --checkpoint {checkpoint}" if checkpoint else "")


def card(run: HardenRun, images: ImageSet, plan: CorruptionPlan, device: str) -> dict[str, Any]:
    cfg = run.config
    return {
        "kind": "robustlens hardening card",
        "objective": "mean ||f(c(x)) - f0(x)||^2 + lambda * mean ||f(x) - f0(x)||^2 (arXiv 2604.14973)",
        "base_model": cfg.model,
        "base_checkpoint": cfg.checkpoint,
        "hardened_checkpoint": str(run.weights) if run.weights else None,
        "load_with": _load_with(cfg.model, run.weights) if run.weights else None,
        "data": {
            "source": str(images.root),
            "kind": images.kind,
            "fingerprint": images.fingerprint(),
            "labels_used_for_training": False,
            "train_ids": [i.id for i in run.train],
            "held_out_ids": [i.id for i in run.held_out],
            "skipped_unreadable": run.skipped,
        },
        "specs": [s.model_dump(mode="json") for s in plan.specs],
        "severities": [float(s) for s in plan.severities],
        "settings": {k: v for k, v in asdict(cfg).items() if k not in ("model", "checkpoint")},
        "device": device,
        "steps_done": len(run.history),
        "resumed_from_step": run.resumed_from,
        "seconds_this_session": round(run.seconds, 1),
        "losses_first_10_steps": _losses(run.history, True),
        "losses_last_10_steps": _losses(run.history, False),
        "versions": versions(),
    }


def write_card(data: dict[str, Any], out: Path) -> tuple[Path, Path]:
    """card.json (everything) and card.md (the summary a person reads)."""
    write_json(out / "card.json", data)
    s = data["settings"]
    first, last = data["losses_first_10_steps"] or {}, data["losses_last_10_steps"] or {}

    def loss(d: dict[str, float]) -> str:
        return ", ".join(f"{k} {v:.4f}" for k, v in d.items()) or "-"

    lines = [
        f"# Hardened {data['base_model']}",
        "",
        f"- Objective: {data['objective']}; lambda = {s['lam']}.",
        f"- Base weights: {data['base_checkpoint'] or data['base_model']}.",
        f"- Hardened weights: `{data['hardened_checkpoint']}` (load with `{data['load_with']}`).",
        f"- Data: {data['data']['source']} ({data['data']['fingerprint'][:12]}), "
        f"{len(data['data']['train_ids'])} training / {len(data['data']['held_out_ids'])} held-out images "
        f"(seeded split, holdout fraction {s['holdout_fraction']}; labels not used for training).",
        f"- Trained on: {', '.join(sp['name'] for sp in data['specs'])} at severities "
        f"{', '.join(f'{v:g}' for v in data['severities'])}.",
        f"- {data['steps_done']} steps, batch {s['batch_size']}, AdamW lr {s['lr']}, seed {s['seed']}, "
        f"device {data['device']}.",
        f"- Loss, first 10 steps: {loss(first)}; last 10 steps: {loss(last)}.",
        f"- Versions: {', '.join(f'{k} {v}' for k, v in data['versions'].items())}.",
        "",
    ]
    (out / "card.md").write_text("\n".join(lines))
    return out / "card.json", out / "card.md"
