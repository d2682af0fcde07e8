"""Progress of long commands (`eval`, `run`, `corrupt`): a live rich bar on a terminal, plain lines
elsewhere.

Rich draws no bar when its console is not a terminal (CI logs, ``| tee``, ``> log``), so a long run
would print nothing between its plan and its end and look hung. There a plain line says where the
work stands (done / total, elapsed, an estimate of what is left) at the start and end of each piece
of work and at most every ``PLAIN_EVERY`` seconds in between: a line per finished cell would flood a
log of a fast run, and a slow run still shows a line at least every cell.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from robustlens.cli.app import console

PLAIN_EVERY = 15.0  # seconds between plain progress lines


def duration(seconds: float) -> str:
    """'1 min 05 s' (whole seconds: a log line needs no more)."""
    s = max(int(seconds), 0)
    return f"{s // 60} min {s % 60:02d} s"


def eta(elapsed: float, done: int, total: int) -> str:
    """', ~3 min 10 s left' from the pace of the work done in this session ('' when unknown or over)."""
    if done <= 0 or done >= total:
        return ""
    return f", ~{duration(elapsed / done * (total - done))} left"


class PlainLines:
    """Plain progress lines for one piece of work of ``total`` units, on a console that is not a
    terminal (on a terminal every method is a no-op: the rich bar shows the same)."""

    def __init__(self, out: Console, label: str, clock: Callable[[], float]) -> None:
        self.out, self.label, self.clock = out, label, clock
        self.on = not out.is_terminal
        self.started = self.said = clock()
        self.first = self.done = self.total = 0

    def start(self, total: int, done: int = 0, note: str = "") -> None:
        """Start counting (``done`` units already finished, e.g. resumed cells: not in the pace)."""
        self.started = self.said = self.clock()
        self.first, self.done, self.total = done, done, total
        self.say(f"{done}/{total} {note}".rstrip())

    def say(self, text: str) -> None:
        if self.on:
            self.out.print(f"[{self.label}] {text}", highlight=False, markup=False, soft_wrap=True)

    def status(self, unit: str, extra: str = "") -> str:
        elapsed = self.clock() - self.started
        left = eta(elapsed, self.done - self.first, self.total - self.first)
        return f"{self.done}/{self.total} {unit}{extra}, {duration(elapsed)} elapsed{left}"

    def tick(self, n: int, unit: str, extra: Callable[[], str] = str) -> None:
        """Count ``n`` finished units; a line when ``PLAIN_EVERY`` seconds passed since the last one."""
        self.done += n
        now = self.clock()
        if self.on and now - self.said >= PLAIN_EVERY and self.done < self.total:
            self.said = now
            self.say(self.status(unit, extra()))


class RichProgress:
    """Engine progress as one rich bar per model (cells done / total and images/s), and plain lines
    (see the module docstring) when the console is not a terminal."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: TaskID | None = None
        self.images = 0
        self.lines = PlainLines(progress.console, "", progress.get_time)

    def start_model(self, model_id: str, cells_total: int, cells_done: int) -> None:
        self.task = self.progress.add_task(escape(model_id), total=cells_total, completed=cells_done, rate="")
        self.images = 0
        self.lines.label = model_id
        self.lines.start(cells_total, cells_done, "cells done at start")

    def _per_second(self) -> float:
        return self.images / max(self.progress.get_time() - self.lines.started, 1e-6)

    def _rate(self) -> str:
        return f", {self._per_second():.1f} img/s"

    def advance(self, images: int) -> None:
        self.images += images
        if self.task is not None:
            self.progress.update(self.task, rate=f"{self._per_second():6.1f} img/s")

    def cell_done(self) -> None:
        if self.task is not None:
            self.progress.advance(self.task, 1)
        self.lines.tick(1, "cells", self._rate)

    def end_model(self) -> None:
        if self.task is not None:
            self.lines.say(self.lines.status("cells", self._rate()) + " (model done)")
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
