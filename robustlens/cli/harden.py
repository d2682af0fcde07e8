"""`robustlens harden`: fine-tune an image tower against the plan's corruptions, then (``--compare``)
a paired before/after evaluation on the held-out images.

Why ``--compare`` is a flag of this command and not a separate ``harden-report``: the held-out
split, the base model and the hardened weights all live in OUT, so the same command (which resumes
a finished training in seconds) continues to the comparison, and the engine resumes finished cells.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from robustlens.cli.app import app, console, err_console, on_interrupt
from robustlens.errors import UserInputError

if TYPE_CHECKING:
    from robustlens.data.sources import ImageSet
    from robustlens.harden.train import HardenConfig, HardenRun
    from robustlens.schemas import CorruptionPlan


@app.command("harden")
def harden_cmd(
    model: str = typer.Option(
        ...,
        "--model",
        "-m",
        help="openclip:ARCH (with --checkpoint), demo:textile, timm:NAME|/dir or an image-only hf:ID|/dir.",
    ),
    checkpoint: Path | None = typer.Option(None, "--checkpoint", help="Weights file of the base model."),
    data: str = typer.Option(
        ..., "--data", "-d", help="Image folder/manifest or demo:textile (labels unused)."
    ),
    plan_path: Path = typer.Option(..., "--plan", "-p", help="Plan YAML: the specs to train on."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder (checkpoints, hardened.pt, card)."),
    steps: int = typer.Option(200, "--steps", help="Optimiser steps (a finished run can be extended)."),
    batch_size: int = typer.Option(8, "--batch-size", help="Clean images per step (+1 corrupted view each)."),
    lr: float = typer.Option(1e-4, "--lr", help="AdamW learning rate."),
    lam: float = typer.Option(1.0, "--lambda", help="Weight of the clean-embedding anchor (utility) term."),
    seed: int = typer.Option(0, "--seed", help="Seed of the split, batches, views and severities."),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:N, mps."),
    holdout_fraction: float = typer.Option(0.3, "--holdout-fraction", help="Share of images held out."),
    checkpoint_every: int = typer.Option(50, "--checkpoint-every", help="Steps between checkpoints."),
    compare_plan: Path | None = typer.Option(
        None,
        "--compare",
        help="Plan YAML for the paired before/after evaluation on the held-out images "
        "(add corruptions NOT trained on; the trained specs are added if missing).",
    ),
    fresh: bool = typer.Option(False, "--fresh", help="Ignore OUT/checkpoint-last.pt and start again."),
) -> None:
    """Harden an image tower: corrupted embeddings pulled to the original's clean ones (arXiv 2604.14973).

    Resumes from OUT/checkpoint-last.pt when run again (Ctrl-C keeps the last step). Writes
    OUT/hardened.pt (use with --model MODEL --checkpoint OUT/hardened.pt; a timm folder or an hf:
    image-only model gives the folder OUT/hardened: card.md says how to load it), OUT/card.json and card.md,
    and with --compare OUT/comparison.json and comparison.md.
    """
    from robustlens.api import load_plan
    from robustlens.data.sources import open_images
    from robustlens.harden.card import card, write_card
    from robustlens.harden.train import CHECKPOINT, HardenConfig, check_config, harden
    from robustlens.models import load_model

    config = HardenConfig(
        model=model,
        checkpoint=str(checkpoint) if checkpoint else None,
        steps=steps,
        batch_size=batch_size,
        lr=lr,
        lam=lam,
        seed=seed,
        holdout_fraction=holdout_fraction,
        checkpoint_every=checkpoint_every,
        device=device,
    )
    check_config(config)
    plan = load_plan(plan_path)
    extra = load_plan(compare_plan) if compare_plan else None
    if extra is not None:  # an unknown primitive in --compare fails now, not after the training
        from robustlens.corruptions.compiler import compile_plan
        from robustlens.harden.compare import comparison_plan

        compile_plan(comparison_plan(plan, extra))
    if out.exists() and not out.is_dir():
        raise UserInputError(f"--out {out} is a file.", fix="Give a folder path.", field="out")
    images = open_images(data, seed=seed)
    vlm = load_model(model, checkpoint, device)
    on_interrupt(lambda: f"training up to the last step in {out / CHECKPOINT}")
    with console.status("hardening") as status:

        def show(step: int, parts: object) -> None:
            status.update(f"hardening: step {step}/{steps}  {parts}")

        run = harden(config, vlm, images, plan, out, fresh=fresh, on_step=show)
    _, md_path = write_card(card(run, images, plan, str(vlm.device)), out)
    console.print(f"Hardened weights: {run.weights}  (card: {md_path})", highlight=False, soft_wrap=True)
    if run.history:
        last = run.history[-1]
        console.print(
            f"steps {len(run.history)} (resumed from {run.resumed_from}); last loss {last['total']:.4f}"
            f" (radius {last['radius']:.4f}, anchor {last['anchor']:.4f}); {run.seconds:.0f} s",
            highlight=False,
        )
    if compare_plan is None:
        err_console.print("Add --compare PLAN.yaml for the paired before/after table.", highlight=False)
        return
    _compare(config, vlm.id, images, run, plan, extra, out, device)


def _compare(
    config: HardenConfig,
    model_id: str,
    images: ImageSet,
    run: HardenRun,
    plan: CorruptionPlan,
    extra: CorruptionPlan | None,
    out: Path,
    device: str,
) -> None:
    from robustlens.evaluation.engine_options import EngineOptions
    from robustlens.harden.compare import HEADER, compare, comparison_plan, fmt_row

    assert run.weights is not None
    table = compare(
        config.model,
        config.checkpoint,
        run.weights,
        images,
        run.held_out,
        comparison_plan(plan, extra),
        [s.name for s in plan.specs],
        out,
        options=EngineOptions(device=device),
    )
    view = Table(title=f"{model_id}: hardened - original, {table['n_images']} held-out images (paired)")
    for h in HEADER:
        view.add_column(h)
    for row in table["rows"]:
        view.add_row(*fmt_row(row))
    console.print(view)
    console.print(f"Written: {out / 'comparison.md'}, {out / 'comparison.json'}", highlight=False)
