"""Progress while a run goes on: a live bar on a terminal, a line on a timer in CI logs.

Progress counts finished checks, with seeds as a second figure: results leave in
seed order, so seeds alone move in jumps. The total of checks is known only for
the seeds read so far; the rest is estimated from the checks per seed read. The
time left comes from the rate over a recent window and is not guessed at all
until that window holds a few seconds with progress in it, so a slow start never
shows hours left. Off a terminal one line goes to stderr every ``interval``
seconds, whether or not anything finished since, so a CI log shows life (or a
stall) at a steady pace.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import IO, Protocol

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn

from linkcheck.report.document import Summary

Clock = Callable[[], float]

#: Seconds of recent progress the rate is measured over.
RATE_WINDOW = 30.0
#: The least span of that window before any rate or time left is shown.
MIN_RATE_SPAN = 5.0


class ProgressSink(Protocol):
    """What the runner tells about progress.

    ``planned(n)`` when a seed is read (its n checks), ``checked(n)`` when n checks
    finish, ``update(summary)`` after each seed's result is released.
    """

    def planned(self, checks: int) -> None: ...

    def checked(self, count: int = 1) -> None: ...

    def update(self, summary: Summary) -> None: ...


class Tally:
    """Checks and seeds done against their (estimated) totals, with a windowed rate."""

    def __init__(self, total_seeds: int, clock: Clock = time.monotonic) -> None:
        self.total_seeds = total_seeds
        self.clock = clock
        self.seeds_read = 0
        self.checks_planned = 0
        self.checks_finished = 0
        self.seeds_done = 0
        self.checks_released = 0
        self.failed = 0
        self.started = clock()
        self._samples: deque[tuple[float, int]] = deque([(self.started, 0)])
        self._lock = threading.Lock()

    def planned(self, checks: int) -> None:
        with self._lock:
            self.seeds_read += 1
            self.checks_planned += checks

    def checked(self, count: int = 1) -> None:
        with self._lock:
            self.checks_finished += count
            self._sample()

    def update(self, summary: Summary) -> None:
        with self._lock:
            self.seeds_done = summary.seeds
            self.checks_released = summary.checks
            self.failed = summary.failed
            self._sample()

    @property
    def done(self) -> int:
        """Checks finished: those reported one by one, or at least those of released seeds."""
        return max(self.checks_finished, self.checks_released)

    def total(self) -> int | None:
        """All checks of the run: those of the seeds read, plus an estimate for the rest."""
        seeds, checks = self.seeds_read, self.checks_planned
        if not seeds:
            seeds, checks = self.seeds_done, self.checks_released
        if not seeds:
            return None
        unread = max(self.total_seeds - seeds, 0)
        return max(checks + round(unread * checks / seeds), self.done)

    def _sample(self) -> None:
        now = self.clock()
        self._samples.append((now, self.done))
        while len(self._samples) > 2 and self._samples[1][0] <= now - RATE_WINDOW:
            self._samples.popleft()

    def rate(self) -> float | None:
        """Checks per second over the recent window; None while that window is too short.

        The window runs up to now, so a stall lowers the rate as it goes on.
        """
        with self._lock:
            now = self.clock()
            while len(self._samples) > 1 and self._samples[1][0] <= now - RATE_WINDOW:
                self._samples.popleft()
            since, then = self._samples[0]
            span = now - since
            if span < MIN_RATE_SPAN:
                return None
            return (self.done - then) / span

    def seconds_left(self) -> float | None:
        """Time left at the recent rate; None until a rate is known or when nothing moves."""
        total = self.total()
        rate = self.rate()
        if total is None or rate is None or rate <= 0:
            return None
        return max(total - self.done, 0) / rate

    def line(self) -> str:
        """The log line: checks done/total, seeds done/total, failures, rate, time left."""
        total = self.total()
        checks = f"{self.done}/{total if total is not None else '?'} checks"
        seeds = f"{self.seeds_done}/{self.total_seeds} seeds"
        rate = self.rate()
        speed = "rate not known yet" if rate is None else f"{rate:.0f} checks/s"
        left = self.seconds_left()
        if left is not None:
            eta = f"about {duration(left)} left"
        elif rate is not None and rate <= 0:
            eta = f"nothing finished in the last {duration(min(self.elapsed(), RATE_WINDOW))}"
        else:
            eta = "time left not known yet"
        return f"linkcheck: {checks} ({seeds}), {self.failed} failed, {speed}, {eta}"

    def elapsed(self) -> float:
        return self.clock() - self.started


def duration(seconds: float) -> str:
    """A short human duration: ``45 s``, ``3 min 20 s``, ``2 h 05 min``."""
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02} min"


class LiveProgress:
    """A rich progress bar over the checks, with seeds, failures, rate and time left."""

    def __init__(self, total_seeds: int, stream: IO[str], clock: Clock = time.monotonic) -> None:
        self.tally = Tally(total_seeds, clock)
        self._progress = Progress(
            TextColumn("[bold]checking"),
            BarColumn(),
            TextColumn("{task.fields[text]}"),
            console=Console(file=stream),
            transient=True,
        )
        self._task = self._progress.add_task("", total=None, text="")

    def __enter__(self) -> LiveProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def planned(self, checks: int) -> None:
        self.tally.planned(checks)

    def checked(self, count: int = 1) -> None:
        self.tally.checked(count)
        self._redraw()

    def update(self, summary: Summary) -> None:
        self.tally.update(summary)
        self._redraw()

    def _redraw(self) -> None:
        tally = self.tally
        text = tally.line().removeprefix("linkcheck: ")
        self._progress.update(self._task, completed=tally.done, total=tally.total(), text=text)


class LineProgress:
    """One plain line to ``stream`` every ``interval`` seconds, on a timer.

    The timer runs in a daemon thread between ``__enter__`` and ``__exit__``;
    :meth:`tick` is what it calls (tests call it with a fake clock instead).
    """

    def __init__(
        self,
        total_seeds: int,
        stream: IO[str],
        interval: float = 10.0,
        clock: Clock = time.monotonic,
    ) -> None:
        self.tally = Tally(total_seeds, clock)
        self.stream = stream
        self.interval = interval
        self._stop = threading.Event()
        self._timer: threading.Thread | None = None

    def __enter__(self) -> LineProgress:
        if 0 < self.interval < float("inf"):
            self._timer = threading.Thread(target=self._run, name="linkcheck-progress", daemon=True)
            self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._timer is not None:
            self._timer.join()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.tick()

    def tick(self) -> None:
        """Write the line now."""
        self.stream.write(self.tally.line() + "\n")
        self.stream.flush()

    def planned(self, checks: int) -> None:
        self.tally.planned(checks)

    def checked(self, count: int = 1) -> None:
        self.tally.checked(count)

    def update(self, summary: Summary) -> None:
        self.tally.update(summary)
