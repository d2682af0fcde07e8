"""`robustlens demo`: the most complete offline path, on bundled data."""

from __future__ import annotations

import time
from importlib.resources import files
from pathlib import Path

import typer

from robustlens.cli.app import app, console


@app.command("demo")
def demo_cmd(
    out: Path | None = typer.Option(None, "--out", "-o", help="Run directory (default runs/demo-<time>)."),
    images: int = typer.Option(30, "--images", "-n", min=1, help="Test images to corrupt."),
) -> None:
    """Offline demo on the bundled textile images: preview grid and corrupted copies."""
    import shutil

    from robustlens.corruptions import compile_spec
    from robustlens.corruptions.preview import severity_grid
    from robustlens.data.corrupted_copies import write_copies
    from robustlens.data.demo import textile_split
    from robustlens.data.images import load_image, save_image
    from robustlens.userfiles import load_specs

    run = out or Path("runs") / time.strftime("demo-%Y%m%d-%H%M%S")
    plan_file = Path(str(files("robustlens") / "plans" / "textile_line.yaml"))
    specs, plan = load_specs(plan_file)
    assert plan is not None
    staging = run / "input"
    for path, cls in textile_split("test")[:: max(1, 400 // images)][:images]:
        (staging / cls).mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, staging / cls / path.name)
    first = next(iter(sorted(staging.rglob("*.jpg"))))
    grid = severity_grid(load_image(first), [compile_spec(s) for s in specs], seed=plan.seed)
    save_image(grid, run / "preview.png")
    report = write_copies(plan, staging, run / "corrupted", plan.severities)
    console.print(f"Corrupted {report.images} textile images x {len(specs)} corruptions x 5 severities.")
    console.print(f"Preview grid: {run / 'preview.png'}")
    console.print(f"Results: {run}")
