"""`robustlens report RUN_DIR`: rebuild a finished run's report (HTML, Markdown, JSON, CSV)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from robustlens.cli.app import app, console, err_console
from robustlens.errors import UserInputError


@app.command("report")
def report_cmd(
    run_dir: Path = typer.Argument(
        ..., metavar="RUN_DIR", help="Run directory written by `robustlens eval --out`."
    ),
    formats: str = typer.Option(
        "html,md,json,csv", "--format", "-f", help="Comma-separated subset of html, md, json, csv."
    ),
    open_it: bool = typer.Option(False, "--open", help="Open the HTML report in a browser."),
    json_out: bool = typer.Option(
        False, "--json", help="Print one JSON document (summary, cells, report paths) on stdout."
    ),
    fail_on: list[str] = typer.Option(
        [], "--fail-on", help="CI gate, as for `eval` (e.g. 'accuracy_drop>0.2'): exit 1 when it holds."
    ),
) -> int:
    """Write RUN_DIR/report/: report.html, report.md, report.json and cells.csv (from stored results).

    Exit codes: 0 written (every gate passed); 1 a --fail-on gate tripped; 2 not a (finished) run;
    130 interrupted.
    """
    from robustlens.cli.evaluate import emit_json, report_gates, result_document
    from robustlens.gates import check_gates, parse_gates
    from robustlens.report.render import parse_formats, write_report

    gates = parse_gates(fail_on)
    chosen = parse_formats(formats)
    if open_it and "html" not in chosen:
        chosen = (*chosen, "html")
    result = load_finished_run(run_dir)
    paths = write_report(run_dir, chosen)
    failed = check_gates(result, gates)
    if json_out:
        report = {fmt: str(path) for fmt, path in paths.items()}
        emit_json(result_document(result, run_dir, [g.text for g in gates], failed, report=report))
    else:
        for fmt, path in paths.items():
            console.print(f"{fmt:>4}: {escape(str(path))}", highlight=False)
    if open_it:
        import webbrowser

        webbrowser.open(paths["html"].resolve().as_uri())
    return report_gates(gates, failed)


def load_finished_run(run_dir: Path):
    """The run's AuditResult, with clear errors for a non-run folder or a damaged manifest.

    A damaged result.json is rebuilt from the cells (it is a summary of them); None when the folder is
    missing or the run unfinished, which ``write_report`` explains.
    """
    from robustlens.evaluation.rebuild import rebuild_result
    from robustlens.evaluation.store import RunStore, is_run_folder, read_run_json
    from robustlens.schemas import AuditResult

    if not run_dir.is_dir():
        return None
    if (run_dir / "manifest.json").exists():
        RunStore(run_dir).read_manifest()  # a damaged manifest says so
    if not is_run_folder(run_dir):
        raise UserInputError(
            f"{run_dir} is not a robustlens run folder.",
            why="a report is built from the files `robustlens eval --out RUN_DIR` writes "
            "(manifest.json, cells/, result.json); this folder has none of them.",
            fix="Pass the folder given to --out of `robustlens eval` or `robustlens run`.",
            field="run_dir",
        )
    if not (run_dir / "result.json").exists():
        return None
    try:
        return AuditResult.model_validate(read_run_json(run_dir / "result.json"))
    except (UserInputError, ValueError):
        err_console.print("result.json is damaged: rebuilding it from the finished cells.")
        return rebuild_result(run_dir)
