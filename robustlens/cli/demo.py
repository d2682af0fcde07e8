"""`robustlens demo`: a complete offline audit of the two bundled demo models on the textile test split,
planned by the offline expert from the bundled brief, written to runs/demo-<time>/.

The brief audits ``demo:textile`` (accurate, fragile) and ``demo:textile-robust`` (trained with blur,
lighting and noise augmentations; it errs under every corruption, so it is the CE reference), so every
section of the report (paired differences, CE/mCE, label-free trackers) shows real numbers. Its
``budget.max_images`` keeps the audit of both models within about two minutes on 2 CPU cores;
``--max-images`` overrides it."""

from __future__ import annotations

import time
from importlib.resources import files
from pathlib import Path

import typer

from robustlens.cli.app import app, console
from robustlens.cli.options import CORRUPT_AT


@app.command("demo")
def demo_cmd(
    out: Path | None = typer.Option(None, "--out", "-o", help="Run directory (default runs/demo-<time>)."),
    max_images: int | None = typer.Option(
        None, "--max-images", "-n", min=3, help="Subsample the 400 test images (default: the brief's budget)."
    ),
    corrupt_at: str = CORRUPT_AT,
) -> None:
    """Offline demo: the offline expert audits demo:textile and demo:textile-robust on textile images."""
    from robustlens.agent.session import make_services, run_brief
    from robustlens.evaluation.engine import EngineOptions
    from robustlens.schemas import DomainBrief
    from robustlens.userfiles import load_model

    brief = load_model(DomainBrief, Path(str(files("robustlens") / "plans" / "textile_brief.yaml")))
    if max_images is not None:
        brief = brief.model_copy(
            update={"budget": brief.budget.model_copy(update={"max_images": max_images})}
        )
    run_dir = out or Path("runs") / time.strftime("demo-%Y%m%d-%H%M%S")
    reference = f" (reference for CE: {brief.reference_model})" if brief.reference_model else ""
    console.print(
        "[bold]robustlens demo[/bold]: offline expert (no LLM) audits the bundled models "
        f"{', '.join(brief.models)}{reference} on {brief.budget.max_images or 400} textile test images. "
        f"Run directory: {run_dir}"
    )
    start = time.perf_counter()
    from robustlens.cli.progress import LiveProgress

    services = make_services(
        run_dir,
        options=EngineOptions(corrupt_at=corrupt_at),
        command="robustlens demo",
        progress=LiveProgress(),
    )
    from robustlens.cli.agent import plan_table, show_event

    state = run_brief(brief, services, show_event, plan_table)
    from robustlens.cli.evaluate import print_summary
    from robustlens.schemas import AuditResult

    print_summary(AuditResult.load(run_dir / "result.json"))
    report = (state.get("report") or {}).get("html")
    console.print(f"Finished in {time.perf_counter() - start:.0f} s.")
    if report:
        console.print(f"[bold]Report:[/bold] {report}")
    console.print(f"Results: {run_dir}")
