"""`robustlens eval` and `robustlens models list`."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from robustlens.cli.app import app, console
from robustlens.errors import UserInputError

models_app = typer.Typer(help="Model ids robustlens can load.", no_args_is_help=True)
app.add_typer(models_app, name="models")


@models_app.command("list")
def models_list(
    prefix: str | None = typer.Option(None, "--prefix", help="Only openclip, hf or demo."),
    show_all: bool = typer.Option(
        False, "--all", help="Also list open_clip architectures (for --checkpoint)."
    ),
) -> None:
    """List known model ids (open_clip pretrained pairs, Hugging Face models, demo models)."""
    from robustlens.models.registry import DESCRIPTIONS, known_models

    for pfx, ids in known_models(prefix).items():
        console.print(f"[bold]{pfx}[/bold]: {DESCRIPTIONS[pfx]} ({len(ids)} known)")
        for mid in ids:
            console.print(f"  {mid}")
    if show_all:
        from robustlens.models.openclip import list_architectures

        console.print("[bold]open_clip architectures[/bold] (use openclip:ARCH with --checkpoint PATH):")
        console.print("  " + ", ".join(list_architectures()))


class RichProgress:
    """Engine progress as one rich bar per model: cells done / total and images/s."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: TaskID | None = None
        self.images = 0

    def start_model(self, model_id: str, cells_total: int, cells_done: int) -> None:
        self.task = self.progress.add_task(model_id, total=cells_total, completed=cells_done, rate="")
        self.images = 0
        self.started = self.progress.get_time()

    def advance(self, images: int) -> None:
        self.images += images
        elapsed = max(self.progress.get_time() - self.started, 1e-6)
        if self.task is not None:
            self.progress.update(self.task, rate=f"{self.images / elapsed:6.1f} img/s")

    def cell_done(self) -> None:
        if self.task is not None:
            self.progress.advance(self.task, 1)

    def end_model(self) -> None:
        self.task = None


PROGRESS_COLUMNS = (
    TextColumn("{task.description}"),
    BarColumn(),
    MofNCompleteColumn(),
    TextColumn("cells"),
    TextColumn("{task.fields[rate]}"),
    TimeElapsedColumn(),
)


class LiveProgress(RichProgress):
    """A RichProgress that opens its own live bar per model (for the agent, which evaluates between
    other output) and closes it when the model is done."""

    def __init__(self) -> None:
        super().__init__(Progress(*PROGRESS_COLUMNS, console=console, transient=False))

    def start_model(self, model_id: str, cells_total: int, cells_done: int) -> None:
        for task in list(self.progress.task_ids):  # already printed when its model finished
            self.progress.remove_task(task)
        self.progress.start()
        super().start_model(model_id, cells_total, cells_done)

    def end_model(self) -> None:
        super().end_model()
        self.progress.stop()


def parse_checkpoints(values: list[str], models: list[str]) -> dict[str, str]:
    """``--checkpoint PATH`` (one model without a tag) or ``--checkpoint MODEL_ID=PATH``."""
    out: dict[str, str] = {}
    for value in values:
        model, sep, path = value.rpartition("=")
        if sep and model:
            if model not in models:
                raise UserInputError(
                    f"--checkpoint names {model!r}, which is not a --model/--reference.",
                    fix="Use MODEL_ID=PATH with a model id given to --model.",
                    field="checkpoint",
                )
            out[model] = path
            continue
        untagged = [m for m in models if m.startswith("openclip:") and "/" not in m.removeprefix("openclip:")]
        if len(untagged) != 1:
            raise UserInputError(
                "A bare --checkpoint PATH needs exactly one openclip:ARCH model without a tag.",
                why=f"models without a tag: {', '.join(untagged) or 'none'}.",
                fix="Write --checkpoint openclip:ARCH=PATH for each model.",
                field="checkpoint",
            )
        out[untagged[0]] = value
    return out


@app.command("eval")
def eval_cmd(
    plan_path: Path = typer.Option(..., "--plan", "-p", help="Corruption plan (YAML/JSON)."),
    data: str = typer.Option(..., "--data", "-d", help="Image folder, CSV/JSONL manifest, or demo:textile."),
    model: list[str] = typer.Option(..., "--model", "-m", help="Model id (repeat for several)."),
    out: Path = typer.Option(..., "--out", "-o", help="Run directory (re-running resumes)."),
    reference: str | None = typer.Option(None, "--reference", help="Reference model for CE / mCE."),
    checkpoint: list[str] = typer.Option([], "--checkpoint", help="Local weights: PATH or MODEL_ID=PATH."),
    labels: str = typer.Option(
        "auto", "--labels", help="'auto' (from folders/manifest) or 'none' (label-free)."
    ),
    class_names: str | None = typer.Option(
        None, "--class-names", help="Comma-separated prompt names per class."
    ),
    templates: Path | None = typer.Option(
        None, "--templates", help="Prompt templates, one per line, with {}."
    ),
    max_images: int | None = typer.Option(None, "--max-images", min=1, help="Seeded, stratified subsample."),
    batch_size: int | None = typer.Option(
        None, "--batch-size", "-b", min=1, help="Default 128 GPU / 32 CPU."
    ),
    workers: int | None = typer.Option(None, "--workers", "-j", min=0, help="DataLoader workers."),
    device: str = typer.Option("auto", "--device", help="auto, cuda, cuda:1, mps or cpu."),
    no_amp: bool = typer.Option(False, "--no-amp", help="Disable mixed precision on CUDA."),
    bootstrap: int = typer.Option(1000, "--bootstrap", min=0, help="Bootstrap resamples for intervals."),
    fresh: bool = typer.Option(False, "--fresh", help="Discard finished cells and recompute."),
    corrupt_at: str = typer.Option(
        "native",
        "--corrupt-at",
        help="'native': corrupt the stored image; 'model': corrupt the resized "
        "model input (as ImageNet-C does; much faster for large images).",
    ),
) -> None:
    """Evaluate models on a plan: every corruption x severity, with bootstrap 95% intervals."""
    from robustlens.data.sources import open_images
    from robustlens.evaluation.engine import EngineOptions, evaluate
    from robustlens.evaluation.zeroshot import DEFAULT_TEMPLATES
    from robustlens.schemas import CorruptionPlan
    from robustlens.userfiles import load_specs

    if corrupt_at not in ("native", "model"):
        raise UserInputError(
            f"--corrupt-at {corrupt_at!r} is not allowed.", fix="Use native or model.", field="corrupt_at"
        )
    if labels not in ("auto", "none"):
        raise UserInputError(
            f"--labels {labels!r} is not allowed.", fix="Use --labels auto or --labels none.", field="labels"
        )
    specs, plan = load_specs(plan_path)
    plan = plan or CorruptionPlan(specs=specs)
    names = [n.strip() for n in class_names.split(",")] if class_names else None
    images = open_images(
        data, labels=labels == "auto", class_names=names, max_images=max_images, seed=plan.seed
    )
    if labels == "none" and names:
        images.class_names = names  # label-free, but with a label set: LFP needs predictions
    tmpl = _templates(templates) if templates else list(DEFAULT_TEMPLATES)
    all_models = list(dict.fromkeys([*model, *([reference] if reference else [])]))
    options = EngineOptions(
        batch_size=batch_size,
        workers=workers,
        device=device,
        amp=not no_amp,
        fresh=fresh,
        templates=tmpl,
        checkpoints=parse_checkpoints(checkpoint, all_models),
        n_boot=bootstrap,
        corrupt_at=corrupt_at,
    )
    console.print(
        f"{len(images.items)} images ({images.kind}, {'labelled' if images.labelled else 'label-free'}), "
        f"{len(plan.specs)} corruptions x {len(plan.severities)} severities, {len(all_models)} model(s)."
    )
    columns = PROGRESS_COLUMNS
    command = "robustlens " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    with Progress(*columns, console=console) as bar:
        result = evaluate(
            plan,
            images,
            list(model),
            out,
            reference=reference,
            options=options,
            progress=RichProgress(bar),
            command=command,
        )
    print_summary(result)
    console.print(f"Results: {out / 'result.json'} (per-image records under {out / 'cells'})")


def _templates(path: Path) -> list[str]:
    lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    bad = [ln for ln in lines if "{}" not in ln]
    if not lines or bad:
        raise UserInputError(
            f"Invalid templates file {path}.",
            why="every template needs a {} for the class name.",
            fix="One template per line, e.g. 'a photo of a {}.'",
            field="templates",
        )
    return lines


def fmt(mv: dict | object | None, digits: int = 3) -> str:
    """'0.812 (0.771-0.850)': value with its 95% interval."""
    if mv is None:
        return "-"
    d = mv if isinstance(mv, dict) else mv.model_dump()  # type: ignore[attr-defined]
    if d.get("value") is None or d["value"] != d["value"]:
        return "-"
    if d.get("ci_low") is None:
        return f"{d['value']:.{digits}f}"
    return f"{d['value']:.{digits}f} ({d['ci_low']:.{digits}f}–{d['ci_high']:.{digits}f})"


SUMMARY_METRICS = ("accuracy", "accuracy_drop", "balanced_accuracy", "lfp", "cosine", "ece", "i2t_r1")


def print_summary(result) -> None:
    """Per model: one row per cell with the headline metrics and 95% intervals; aggregates below.

    Every metric (NLL, confidence drop, L2 drift, retrieval R@5/10, ...) is in result.json.
    """
    present = [m for m in SUMMARY_METRICS if any(m in c.metrics for c in result.cells)]
    for model_id in result.models:
        table = Table(
            title=f"{model_id} — value (95% CI)", title_justify="left", show_lines=False, padding=(0, 1)
        )
        table.add_column("corruption")
        table.add_column("sev", justify="right")
        for m in present:
            table.add_column(m.replace("_", " "), justify="right")
        for cell in (c for c in result.cells if c.model_id == model_id):
            table.add_row(
                cell.corruption, f"{cell.severity:g}", *[fmt(cell.metrics.get(m), 2) for m in present]
            )
        console.print(table)
        entry = result.summary.get("models", {}).get(model_id, {})
        extras = []
        mean = entry.get("mean_corrupted", {})
        if mean:
            key = "accuracy" if "accuracy" in mean else "cosine"
            extras.append(f"mean corrupted {key}: {fmt(mean[key])}")
        if "mce" in entry:
            extras.append(
                f"mCE {fmt(entry['mce'])}; relative mCE {fmt(entry['relative_mce'])} "
                f"(reference {entry['reference']})"
            )
        radius = entry.get("divergence_radius", {})
        if radius:
            extras.append("Divergence Radius: " + ", ".join(f"{c} {fmt(v)}" for c, v in radius.items()))
        tracking = entry.get("label_free_tracking", {})
        pairs = [
            f"{k.removesuffix('_vs_accuracy_drop')} r={v:+.2f}"
            for k, v in tracking.items()
            if k != "n_cells" and v is not None
        ]
        if pairs:
            extras.append(
                f"label-free signals vs accuracy drop ({tracking['n_cells']} cells): " + ", ".join(pairs)
            )
        for line in extras:
            console.print(f"  {line}")
    if result.skipped:
        console.print(f"[yellow]{len(result.skipped)} file(s) skipped[/yellow] (listed in images.json):")
        for s in result.skipped[:5]:
            console.print(f"  {s.path}: {s.reason}")
