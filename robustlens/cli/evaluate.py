"""`robustlens eval` (`robustlens models list` lives in cli/models.py)."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import typer
from rich.markup import escape
from rich.progress import Progress

from robustlens.cli.app import app, console, err_console, on_interrupt
from robustlens.cli.hints import native_cost_hint
from robustlens.cli.options import CORRUPT_AT, CORRUPT_ON, DEVICE, EXECUTOR, RAY_ADDRESS, TARGET_CI_WIDTH
from robustlens.cli.progress import PROGRESS_COLUMNS, RichProgress
from robustlens.cli.summary import _aggregate_lines, fmt, print_summary  # noqa: F401 (re-exported)
from robustlens.errors import UserInputError


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
    device: str = DEVICE,
    no_amp: bool = typer.Option(False, "--no-amp", help="Disable mixed precision on CUDA."),
    bootstrap: int = typer.Option(1000, "--bootstrap", min=0, help="Bootstrap resamples for intervals."),
    fresh: bool = typer.Option(
        False, "--fresh", help="Discard finished cells and recompute (only in a robustlens run folder)."
    ),
    corrupt_at: str = CORRUPT_AT,
    corrupt_on: str | None = CORRUPT_ON,
    target_ci_width: float | None = TARGET_CI_WIDTH,
    executor: str | None = EXECUTOR,
    ray_address: str | None = RAY_ADDRESS,
    ood: str | None = typer.Option(
        None,
        "--ood",
        help="OOD image set (folder, manifest or demo:natural): AUROC / FPR@95 of telling it from "
        "the clean and corrupted images (MCM, kNN).",
    ),
    json_out: bool = typer.Option(
        False, "--json", help="Print one JSON document (summary, cells, paths) on stdout; progress on stderr."
    ),
    fail_on: list[str] = typer.Option(
        [],
        "--fail-on",
        help="CI gate [CORRUPTION:]METRIC OP NUMBER, e.g. 'accuracy_drop>0.2', 'mce>1.1', "
        "'fog:lfp>=0.3' (repeatable): exit 1 listing the cells where it holds.",
    ),
) -> int:
    """Evaluate models on a plan: every corruption x severity, with bootstrap 95% intervals.

    Exit codes: 0 done (every gate passed); 1 a --fail-on gate tripped; 2 an input error; 130
    interrupted (finished cells are kept; the same command resumes).
    """
    from robustlens.data.sources import open_images
    from robustlens.evaluation.engine import EngineOptions, evaluate
    from robustlens.evaluation.engine_options import with_execution
    from robustlens.evaluation.ood import attach_ood, with_ood
    from robustlens.evaluation.zeroshot import DEFAULT_TEMPLATES
    from robustlens.gates import check_gates, parse_gates
    from robustlens.preflight import check_run_inputs
    from robustlens.report.ood_section import ood_data
    from robustlens.schemas import CorruptionPlan
    from robustlens.userfiles import load_specs

    gates = parse_gates(fail_on)
    if labels not in ("auto", "none"):
        raise UserInputError(
            f"--labels {labels!r} is not allowed.", fix="Use --labels auto or --labels none.", field="labels"
        )
    all_models = list(dict.fromkeys([*model, *([reference] if reference else [])]))
    checkpoints = parse_checkpoints(checkpoint, all_models)
    specs, plan = load_specs(plan_path)
    plan = plan or CorruptionPlan(specs=specs)
    # Everything checkable is checked before the run folder exists: a mistake leaves no debris.
    check_run_inputs(data, all_models, out, checkpoints, labelled=labels == "auto", device=device)
    names = [n.strip() for n in class_names.split(",")] if class_names else None
    images = open_images(
        data, labels=labels == "auto", class_names=names, max_images=max_images, seed=plan.seed
    )
    if labels == "none" and names:
        images.class_names = names  # label-free, but with a label set: LFP needs predictions
    check_class_total(images)
    tmpl = _templates(templates) if templates else list(DEFAULT_TEMPLATES)
    options = EngineOptions(
        batch_size=batch_size,
        workers=workers,
        device=device,
        amp=not no_amp,
        fresh=fresh,
        templates=tmpl,
        checkpoints=checkpoints,
        n_boot=bootstrap,
        corrupt_at=corrupt_at,
    )
    options = with_execution(
        options,
        corrupt_on=corrupt_on,
        target_ci_width=target_ci_width,
        executor=executor,
        ray_address=ray_address,
    )
    options = with_ood(options, ood, plan.seed)  # checked before the run folder exists; encoded by the engine
    human = err_console if json_out else console  # --json: stdout holds the document alone
    if hint := native_cost_hint([i.path for i in images.items], options):
        human.print(hint, highlight=False, markup=False, soft_wrap=True)
    human.print(
        f"{len(images.items)} images ({images.kind}, {'labelled' if images.labelled else 'label-free'}"
        f"{f', seeded subsample of {images.n_found}' if images.n_found else ''}), "
        f"{len(plan.specs)} corruptions x {len(plan.severities)} severities, {len(all_models)} model(s).",
        highlight=False,
    )
    on_interrupt(lambda: finished_cells_note(out))
    command = "robustlens " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    with Progress(*PROGRESS_COLUMNS, console=human) as bar:
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
    result = attach_ood(result, out, ood, options)
    failed = check_gates(result, gates)
    if json_out:
        emit_json(result_document(result, out, gates=[g.text for g in gates], failed=failed))
    else:
        print_summary(result)
        for line in (ood_data(result) or {}).get("sentences", []):  # --ood: one sentence per model
            console.print(f"OOD: {line}", highlight=False, soft_wrap=True)
        console.print(
            f"Results: {escape(str(out / 'result.json'))} "
            f"(per-image records under {escape(str(out / 'cells'))})",
            highlight=False,
        )
    return report_gates(gates, failed)


def check_class_total(images) -> None:
    """A labelled image set with one class cannot be classified: say so before anything is written."""
    if images.labelled and images.class_names is not None and len(images.class_names) < 2:
        raise UserInputError(
            f"The data has one class ({', '.join(images.class_names)}); a labelled audit needs at least two.",
            why="zero-shot classification picks among the class names; with one class every answer is right.",
            fix="Add images of another class, or use --labels none for a label-free audit.",
            field="data",
        )


def finished_cells_note(out: Path) -> str:
    """What an interrupted eval keeps: the finished cells (each is resumed, not recomputed)."""
    cells = out / "cells"
    n = sum(1 for _ in cells.rglob("*.jsonl")) if cells.is_dir() else 0
    return f"{n} finished cell(s) in {out} (a re-run resumes and skips them)"


def report_gates(gates: list, failed: list[str]) -> int:
    """List tripped gates on stderr; the exit code CI reads (1 when any gate tripped)."""
    from robustlens.cli.app import EXIT_GATE

    if not gates:
        return 0
    if not failed:
        err_console.print(f"[green]All {len(gates)} gate(s) passed.[/green]")
        return 0
    err_console.print(f"[red]{len(failed)} cell(s) failed the --fail-on gates:[/red]")
    for line in failed:
        err_console.print(f"  {escape(line)}", highlight=False, soft_wrap=True)
    return EXIT_GATE


def result_document(
    result, run_dir: Path, gates: list[str] | None = None, failed: list[str] | None = None, **paths: object
) -> dict:
    """The machine-readable summary ``--json`` prints: per-model summary, every cell, paths, gates."""
    doc = {
        "run_dir": str(run_dir),
        "result": str(run_dir / "result.json"),
        "cells_dir": str(run_dir / "cells"),
        **{k: v for k, v in paths.items()},
        "run_id": result.run_id,
        "labelled": result.labelled,
        "models": result.models,
        "reference_model": result.reference_model,
        "summary": result.summary.get("models", {}),
        "cells": [
            {
                "model_id": c.model_id,
                "corruption": c.corruption,
                "severity": c.severity,
                "n_images": c.n_images,
                "metrics": {k: v.model_dump() for k, v in c.metrics.items()},
                "records": c.records_path,
            }
            for c in result.cells
        ],
        "skipped": [s.model_dump() for s in result.skipped],
    }
    if "ood" in result.summary:  # --ood: OOD detection per cell
        doc["ood"] = result.summary["ood"]
    if gates:
        doc["gates"] = {"checked": gates, "failed": failed or [], "passed": not failed}
    return doc


def _finite(obj: object) -> object:
    """NaN / inf (e.g. a metric undefined on one image) as null: strict JSON parsers reject NaN."""
    if isinstance(obj, float):
        return obj if obj == obj and obj not in (float("inf"), float("-inf")) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj


def emit_json(doc: dict) -> None:
    """Write one JSON document to stdout (never through rich: no wrapping, no markup)."""
    import json

    sys.stdout.write(json.dumps(_finite(doc), indent=2, default=str, allow_nan=False) + "\n")
    sys.stdout.flush()


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
