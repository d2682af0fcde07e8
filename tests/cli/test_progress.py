"""Plain progress lines where rich draws no bar (a CI log, `| tee`, `> log`).

The real commands are run with a piped stdout in tests/cli/test_eval_safety.py (`eval`) and
tests/cli/test_corruptions_cli.py (`corrupt`); here the engine's progress sink is driven with a
stepped clock, so the lines between a model's start and end (every 15 s, with the time left) are
checked without a run that lasts minutes.
"""

from __future__ import annotations

import io

from rich.console import Console
from rich.progress import Progress

from robustlens.cli.progress import PLAIN_EVERY, PROGRESS_COLUMNS, RichProgress


def test_a_long_model_prints_a_line_every_15_s_with_the_time_left() -> None:
    now = [100.0]
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=200)
    with Progress(*PROGRESS_COLUMNS, console=console, get_time=lambda: now[0]) as bar:
        sink = RichProgress(bar)
        sink.start_model("demo:textile", cells_total=40, cells_done=10)  # 10 resumed: not in the pace
        for _ in range(30):
            now[0] += 3.0
            sink.advance(8)
            sink.cell_done()
        sink.end_model()
    lines = [ln for ln in out.getvalue().splitlines() if ln.startswith("[demo:textile]")]
    assert lines[0] == "[demo:textile] 10/40 cells done at start"
    assert lines[1] == "[demo:textile] 15/40 cells, 2.7 img/s, 0 min 15 s elapsed, ~1 min 15 s left"
    assert len(lines) == 2 + 90 // PLAIN_EVERY - 1  # at 15, 30 .. 75 s; at 90 s the end line says it
    assert lines[-1] == "[demo:textile] 40/40 cells, 2.7 img/s, 1 min 30 s elapsed (model done)"


def test_a_terminal_gets_the_bar_and_no_plain_lines() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=200)
    with Progress(*PROGRESS_COLUMNS, console=console) as bar:
        sink = RichProgress(bar)
        sink.start_model("demo:textile", cells_total=2, cells_done=0)
        sink.cell_done()
        sink.cell_done()
        sink.end_model()
    assert "[demo:textile]" not in out.getvalue()
