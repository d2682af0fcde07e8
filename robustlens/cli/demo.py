"""`robustlens demo`: a complete offline audit of the bundled demo model on the textile test split,
planned by the offline expert from the bundled brief, written to runs/demo-<time>/."""

from __future__ import annotations

import time
from importlib.resources import files
from pathlib import Path

import typer

from robustlens.cli.app import app, console


@app.command("demo")
def demo_cmd(
    out: Path | None = typer.Option(None, "--out", "-o", help="Run directory (default runs/demo-<time>)."),
    max_images: int | None = typer.Option(
        None, "--max-images", "-n", min=3, help="Subsample the 400 test images."
    ),
    corrupt_at: str = typer.Option("native", "--corrupt-at", help="native or model."),
) -> None:
    """Offline demo: the agent (offline expert) audits demo:textile on the textile inspection set."""
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
    console.print(
        "[bold]robustlens demo[/bold]: offline expert (no LLM) audits the bundled model demo:textile on "
        f"{max_images or 400} textile test images. Run directory: {run_dir}"
    )
    start = time.perf_counter()
    from robustlens.cli.evaluate import LiveProgress

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
