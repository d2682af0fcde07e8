"""`robustlens corruptions list|show|preview` and `robustlens corrupt`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from robustlens.cli.app import app, console
from robustlens.cli.options import parse_severities
from robustlens.cli.progress import PlainLines
from robustlens.corruptions import FAMILIES, REGISTRY, PrimitiveInfo, compile_spec, get_info, single
from robustlens.corruptions.base import describe_param
from robustlens.corruptions.compiler import describe_range
from robustlens.errors import UserInputError, did_you_mean

corruptions_app = typer.Typer(help="Browse and preview the corruption primitives.", no_args_is_help=True)
app.add_typer(corruptions_app, name="corruptions")


def primitive_summary(info: PrimitiveInfo) -> dict[str, Any]:
    """JSON-ready description of a primitive (also used by the LLM tools)."""
    params = {}
    for name, field in info.cls.model_fields.items():
        params[name] = {
            **describe_param(info.cls, name),
            "default": list(field.default) if isinstance(field.default, tuple) else field.default,
            "allowed": describe_range(info, name),
            "description": field.description or "",
            "severity_ladder": [round(v, 6) for v in info.ladder_values(name)]
            if name in info.ladder
            else None,
        }
    return {
        "name": info.name,
        "family": info.family,
        "summary": info.summary,
        "geometric": info.geometric,
        "stochastic": info.stochastic,
        "backend": info.backend,
        "tags": list(info.tags),
        "imagenet_c_fidelity": info.fidelity,
        "imagenet_c_fidelity_note": info.fidelity_note,
        "params": params,
    }


@corruptions_app.command("list")
def list_cmd(
    family: str | None = typer.Option(
        None, "--family", "-f", help=f"Only this family: {', '.join(FAMILIES)}."
    ),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """List the registered corruption primitives."""
    if family is not None and family not in FAMILIES:
        raise UserInputError(
            f"Unknown family {family!r}.",
            why=f"families are: {', '.join(FAMILIES)}.",
            fix=did_you_mean(family, FAMILIES),
            field="family",
        )
    infos = [
        i for i in sorted(REGISTRY.values(), key=lambda i: (i.family, i.name)) if family in (None, i.family)
    ]
    if as_json:
        print(json.dumps([primitive_summary(i) for i in infos], indent=2))
        return
    table = Table(title=f"{len(infos)} corruption primitives", padding=(0, 1))
    table.add_column("name [dim](family)[/dim]", no_wrap=True)
    table.add_column("what it models", overflow="fold")
    table.add_column("severity knob", overflow="fold", max_width=14)
    table.add_column("IN-C", no_wrap=True)
    for info in infos:
        fidelity = _FIDELITY_SHORT[info.fidelity]
        table.add_row(
            f"{info.name}\n[dim]{info.family}[/dim]", info.summary, ", ".join(info.ladder), fidelity
        )
    console.print(table)
    console.print("[dim]IN-C: fidelity to ImageNet-C at 224 px (exact, approx, diff, - = none).[/dim]")


@corruptions_app.command("show")
def show_cmd(
    name: str = typer.Argument(..., help="Primitive name, e.g. fog."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Show a primitive's parameters, ranges and severity ladder."""
    info = get_info(name)
    summary = primitive_summary(info)
    if as_json:
        print(json.dumps(summary, indent=2))
        return
    console.print(f"[bold]{info.name}[/bold]  ([cyan]{info.family}[/cyan], {info.backend})")
    console.print(_reflow(info.doc), markup=False, highlight=False)
    wide = console.width >= 110  # narrower terminals get the descriptions below the table
    table = Table(padding=(0, 1))
    table.add_column("parameter", no_wrap=True)
    table.add_column("type", overflow="fold", max_width=8)
    table.add_column("default", overflow="fold", max_width=12)
    table.add_column("allowed", overflow="fold", max_width=16)
    table.add_column("severity 0..5", overflow="fold", max_width=18)
    if wide:
        table.add_column("description", overflow="fold")
    for pname, p in summary["params"].items():
        ladder = ", ".join(f"{v:g}" for v in p["severity_ladder"]) if p["severity_ladder"] else "fixed"
        row = [pname, p["type"], _plain(p["default"]), _allowed(p), ladder]
        table.add_row(*row, *([p["description"]] if wide else []))
    console.print(table)
    if not wide:
        for pname, p in summary["params"].items():
            console.print(f"  [bold]{pname}[/bold]: {p['description']}", highlight=False)
    flags = [k for k in ("geometric", "stochastic") if summary[k]]
    console.print(f"[dim]{', '.join(flags) or 'deterministic'}; tags: {', '.join(info.tags) or '-'}[/dim]")
    note = f": {info.fidelity_note}" if info.fidelity_note else ""
    console.print(f"ImageNet-C fidelity: {info.fidelity}{note}", highlight=False)


_FIDELITY_SHORT = {"exact": "exact", "approximate": "approx", "different": "diff", "none": "-"}


def _reflow(doc: str) -> str:
    """A docstring as paragraphs that the terminal wraps (its hard line breaks are for the source)."""
    paragraphs = [" ".join(p.split()) for p in doc.strip().split("\n\n")]
    return "\n".join(p for p in paragraphs if p)


def _plain(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(_plain(v) for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def _allowed(p: dict[str, Any]) -> str:
    """The allowed values as numbers: '0 .. 1', '3 x 0 .. 1' (tuples) or the choices."""
    if p.get("choices"):
        return " | ".join(map(str, p["choices"]))
    r = p.get("range")
    if not r:
        return "any"
    lo = "-inf" if r["min"] is None else f"{r['min']:g}"
    hi = "inf" if r["max"] is None else f"{r['max']:g}"
    return (f"{p['length']} x " if p.get("length") else "") + f"{lo} .. {hi}"


@corruptions_app.command("preview")
def preview_cmd(
    target: str = typer.Argument(..., help="A primitive name, or a spec/plan YAML file."),
    image: Path = typer.Option(..., "--image", "-i", help="Image to corrupt."),
    out: Path = typer.Option(Path("preview.png"), "--out", "-o", help="Where to write the grid (PNG)."),
    severities: str = typer.Option("0-5", "--severities", "-s", help="Columns, e.g. '0-5' or '0,2.5,5'."),
    seed: int = typer.Option(0, "--seed", help="Seed for stochastic corruptions."),
    cell: int = typer.Option(224, "--cell", min=32, max=1024, help="Tile size in pixels."),
) -> None:
    """Write a severity grid (clean + severities 1..5) for a primitive, spec or plan."""
    from robustlens.corruptions.preview import severity_grid
    from robustlens.data.images import BadImage, load_image, save_image
    from robustlens.userfiles import load_specs

    path = Path(target)
    if path.suffix in (".yaml", ".yml", ".json") or path.is_file():
        specs, _ = load_specs(path)
        compiled = [compile_spec(s, where=f"{path}:{s.name}") for s in specs]
    else:
        compiled = [single(target)]
    try:
        picture = load_image(image)
    except BadImage as exc:
        raise UserInputError(
            f"Cannot read --image {image}: {exc}", fix="Pass a readable image file.", field="image"
        ) from None
    grid = severity_grid(picture, compiled, parse_severities(severities), seed=seed, cell=cell)
    save_image(grid, out.with_suffix(".png") if out.suffix.lower() != ".png" else out)
    console.print(f"Wrote {out} ({grid.shape[1]}x{grid.shape[0]} px, {len(compiled)} row(s)).")


@app.command("corrupt")
def corrupt_cmd(
    plan_path: Path = typer.Option(..., "--plan", "-p", help="Plan YAML/JSON (a list of corruption specs)."),
    input_dir: Path = typer.Option(..., "--input", "-i", help="Folder of images (subfolders mirrored)."),
    output_dir: Path = typer.Option(..., "--output", "-o", help="Where to write OUTPUT/<spec>/s<sev>/..."),
    severities: str | None = typer.Option(
        None, "--severities", "-s", help="e.g. '1-5' (default: the plan's)."
    ),
    seed: int | None = typer.Option(None, "--seed", help="Override the plan's seed."),
    workers: int = typer.Option(1, "--workers", "-j", min=1, max=64, help="Worker processes."),
    keep_format: bool = typer.Option(False, "--keep-format", help="Keep each file's format (default: PNG)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Rewrite existing outputs (default: resume)."),
) -> None:
    """Write corrupted copies of an image folder for every spec and severity in a plan."""
    from robustlens.data.corrupted_copies import iter_images, write_copies
    from robustlens.userfiles import load_specs

    specs, plan = load_specs(plan_path)
    if plan is None:
        from robustlens.schemas import CorruptionPlan

        plan = CorruptionPlan(specs=specs)
    if seed is not None:
        plan = plan.model_copy(update={"seed": seed})
    sevs = parse_severities(severities) if severities else plan.severities
    total = sum(1 for _ in iter_images(input_dir)) * len(plan.specs) * len(sevs) if input_dir.is_dir() else 0
    columns = (TextColumn("corrupting"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task("corrupt", total=total)
        lines = PlainLines(console, "corrupt", bar.get_time)  # a log or pipe gets no bar: plain lines
        lines.start(total, note="copies")

        def advance(n: int) -> None:
            bar.advance(task, n)
            lines.tick(n, "copies")

        report = write_copies(
            plan,
            input_dir,
            output_dir,
            sevs,
            workers=workers,
            keep_format=keep_format,
            overwrite=overwrite,
            progress=advance,
        )
        lines.say(lines.status("copies") + " (done)")
    console.print(
        f"{report.images} images x {len(plan.specs)} corruptions x {len(sevs)} severities: "
        f"{report.written} written, {report.existing} already there, {len(report.skipped)} skipped."
    )
    for s in report.skipped[:10]:
        console.print(f"  [yellow]skipped[/yellow] {s.path}: {s.reason}")
    if len(report.skipped) > 10:
        console.print(f"  ... and {len(report.skipped) - 10} more (see {output_dir / 'skipped.json'})")
    console.print(f"Output: {output_dir}")
