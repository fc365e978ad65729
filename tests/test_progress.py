"""Progress: finished checks against their total, an ETA from the recent rate, a timed log line."""

from __future__ import annotations

import io
import re
import time

from linkcheck.report.document import Summary
from linkcheck.report.progress import LineProgress, Tally, duration


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _summary(seeds: int, checks: int, failed: int = 0) -> Summary:
    return Summary(seeds=seeds, checks=checks, failed=failed)


def test_the_line_counts_checks_with_seeds_as_a_second_figure() -> None:
    clock = FakeClock()
    stream = io.StringIO()
    progress = LineProgress(100, stream, clock=clock)
    for _ in range(10):
        progress.planned(5)
    clock.now += 10
    progress.checked(20)
    progress.update(_summary(seeds=3, checks=15, failed=2))

    progress.tick()

    line = stream.getvalue()
    assert line.startswith("linkcheck: 20/500 checks (3/100 seeds), 2 failed, 2 checks/s, ")
    assert "about 4 min 00 s left" in line
    assert line.endswith("\n") and line.count("\n") == 1


def test_no_time_left_is_guessed_in_the_first_seconds() -> None:
    clock = FakeClock()
    tally = Tally(1500, clock)
    tally.planned(4)
    clock.now += 1
    tally.checked(1)

    assert tally.seconds_left() is None
    assert "time left not known yet" in tally.line()


def test_the_time_left_follows_the_recent_rate_not_a_slow_start() -> None:
    """A start that stalls (3 checks in 60 s) and then runs fast gives the fast run's ETA."""
    clock = FakeClock()
    tally = Tally(1, clock)
    tally.planned(100_000)
    clock.now += 60
    tally.checked(3)
    for _ in range(30):  # then 100 checks a second for 30 s
        clock.now += 1
        tally.checked(100)

    left = tally.seconds_left()

    assert left is not None
    remaining = 100_000 - 3003
    assert remaining / 100 <= left <= remaining / 90, "the window's rate, not the run's average"


def test_a_stall_shows_as_a_stall_not_as_hours_left() -> None:
    clock = FakeClock()
    tally = Tally(10, clock)
    for _ in range(10):
        tally.planned(10)
    clock.now += 5
    tally.checked(50)
    clock.now += 40  # nothing finishes for 40 s

    assert tally.seconds_left() is None
    assert "nothing finished in the last 30 s" in tally.line()


def test_the_total_of_checks_is_estimated_from_the_seeds_read_so_far() -> None:
    tally = Tally(100, FakeClock())
    assert tally.total() is None
    for _ in range(10):
        tally.planned(3)

    assert tally.total() == 300


def test_released_seeds_alone_still_give_progress() -> None:
    """A runner that only reports released seeds: checks come from the summary."""
    clock = FakeClock()
    tally = Tally(10, clock)
    clock.now += 6
    tally.update(_summary(seeds=2, checks=8))

    assert tally.done == 8
    assert tally.total() == 40
    assert tally.rate() == 8 / 6


def test_the_log_line_is_written_on_a_timer_even_when_nothing_finishes() -> None:
    stream = io.StringIO()
    with LineProgress(10, stream, interval=0.05) as progress:
        progress.planned(2)
        deadline = time.monotonic() + 5
        while stream.getvalue().count("\n") < 2 and time.monotonic() < deadline:
            time.sleep(0.01)

    lines = stream.getvalue().splitlines()
    assert len(lines) >= 2
    assert all(
        re.match(r"linkcheck: 0/20 checks \(0/10 seeds\), 0 failed, ", line) for line in lines
    )


def test_a_quiet_run_writes_no_progress_lines() -> None:
    stream = io.StringIO()
    with LineProgress(10, stream, interval=float("inf")) as progress:
        progress.planned(2)
        progress.update(_summary(seeds=1, checks=2))
        time.sleep(0.05)

    assert stream.getvalue() == ""


def test_durations_read_as_people_say_them() -> None:
    assert [duration(s) for s in (4.4, 59.6, 200, 7500)] == [
        "4 s",
        "1 min 00 s",
        "3 min 20 s",
        "2 h 05 min",
    ]
