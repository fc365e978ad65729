"""Progress while a run goes on: a live bar on a terminal, a sparse line in CI logs.

On a terminal, rich draws seeds done / total, checks, failures so far, the
rate and the time left. Elsewhere one line goes to stderr at most every
``interval`` seconds, so a long CI log shows life without drowning in it.
"""

from __future__ import annotations

import time
from typing import IO, Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)

from linkcheck.report.document import Summary


class ProgressSink(Protocol):
    """What the runner tells about progress: the summary after each finished seed."""

    def update(self, summary: Summary) -> None: ...


class LiveProgress:
    """A rich progress bar over the seed files (their count is known up front)."""

    def __init__(self, total_seeds: int, stream: IO[str]) -> None:
        self._started = time.monotonic()
        self._progress = Progress(
            TextColumn("[bold]checking"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("seeds, {task.fields[checks]} checks, {task.fields[failed]} failed,"),
            TextColumn("{task.fields[rate]}/s"),
            TimeRemainingColumn(),
            console=Console(file=stream),
            transient=True,
        )
        self._task = self._progress.add_task("", total=total_seeds, checks=0, failed=0, rate="0")

    def __enter__(self) -> LiveProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def update(self, summary: Summary) -> None:
        elapsed = max(time.monotonic() - self._started, 1e-6)
        self._progress.update(
            self._task,
            completed=summary.seeds,
            checks=summary.checks,
            failed=summary.failed,
            rate=f"{summary.checks / elapsed:.0f} checks",
        )


class LineProgress:
    """One plain line to ``stream`` at most every ``interval`` seconds."""

    def __init__(self, total_seeds: int, stream: IO[str], interval: float = 10.0) -> None:
        self.total = total_seeds
        self.stream = stream
        self.interval = interval
        self._started = time.monotonic()
        self._last = self._started

    def __enter__(self) -> LineProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def update(self, summary: Summary) -> None:
        now = time.monotonic()
        if now - self._last < self.interval:
            return
        self._last = now
        elapsed = now - self._started
        rate = summary.seeds / elapsed if elapsed else 0.0
        left = (self.total - summary.seeds) / rate if rate else 0.0
        self.stream.write(
            f"linkcheck: {summary.seeds}/{self.total} seeds, {summary.checks} checks, "
            f"{summary.failed} failed, {summary.checks / elapsed:.0f} checks/s, "
            f"about {left:.0f} s left\n"
        )
        self.stream.flush()
