"""The run's table of fetches: beyond its limit, finished outcomes leave memory for a
temporary database and come back intact; a run that moves them asks each URL once and
reports what a run that keeps them all reports."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from linkcheck.engine import outcomes
from linkcheck.engine.outcomes import Outcomes
from linkcheck.engine.runner import check
from linkcheck.model.reasons import Reason
from linkcheck.model.records import Hop, ImageFacts, Outcome
from tests.conftest import local_config, picture, write_seed
from tests.server import LoopbackServer


def _outcome(index: int) -> Outcome:
    return Outcome(
        f"https://news.test/{index}",
        status=200,
        final_url=f"https://news.test/{index}/",
        redirects=(Hop(f"https://news.test/{index}", 301),),
        content_type="image/png",
        requests=2,
        bytes_read=1234,
        elapsed_ms=12.25 + index,
        queued_ms=0.5,
        image=ImageFacts(format="PNG", width=640, height=480),
    )


def test_outcomes_past_the_limit_move_out_and_come_back_equal() -> None:
    table = Outcomes(kept=3, moved_at_once=2)
    for index in range(10):
        table[(True, f"https://news.test/{index}")] = _outcome(index)
    table[(False, "https://news.test/down")] = Outcome("https://news.test/down", status=503)
    assert len(table) == 11
    assert len(table._tables[True]) <= 3, "the oldest left memory"
    for index in range(10):
        assert table.get((True, f"https://news.test/{index}")) == _outcome(index)
    assert table.get((False, "https://news.test/0")) is None, "pages and images apart"
    assert [key for key, _ in table.transient()] == [(False, "https://news.test/down")]
    assert len(table) == 11, "read back, each is counted once"
    table.close()


def test_the_outcomes_used_most_recently_stay_in_memory() -> None:
    table = Outcomes(kept=3, moved_at_once=1)
    popular = (True, "https://news.test/0")
    table[popular] = _outcome(0)
    for index in range(1, 10):
        table.get(popular)  # a seed names it again
        table[(True, f"https://news.test/{index}")] = _outcome(index)
    assert "https://news.test/0" in table._tables[True]
    moved_back = (True, "https://news.test/1")
    assert table.get(moved_back) == _outcome(1)
    assert "https://news.test/1" in table._tables[True], "read back, it is recent again"
    assert len(table) == 10
    table.close()


def test_transient_failures_and_fetches_under_way_never_leave_memory() -> None:
    async def scenario() -> None:
        table = Outcomes(kept=1, moved_at_once=1)
        task = asyncio.get_running_loop().create_task(asyncio.sleep(0, _outcome(0)))
        table[(True, "https://news.test/later")] = task
        for index in range(4):
            table[(False, f"https://news.test/t{index}")] = Outcome(
                f"https://news.test/t{index}", error=Reason.TIMEOUT
            )
        for index in range(4):
            table[(True, f"https://news.test/{index}")] = _outcome(index)
        assert list(table.under_way()) == [task]
        assert len(list(table.transient())) == 4
        assert len(table) == 9
        await task
        table.close()

    asyncio.run(scenario())


def test_a_run_that_moves_outcomes_out_asks_each_url_once_and_reports_the_same(
    tmp_path: Path, server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    images = [server.image(f"/i{index}.png", picture(40, 30, "PNG")) for index in range(12)]
    pages = [server.page(f"/p{index}") for index in range(12)]
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    for index in range(24):  # every seed names URLs that earlier seeds named
        page, image = pages[index % 12], images[(index * 5) % 12]
        write_seed(
            seeds,
            f"s{index:02}.txt",
            f'webUrl: "{page}"\nimages:\n  - url: "{image}"\n    width: 40\n    height: 30',
        )

    def run() -> list[dict[str, Any]]:
        server.reset_log()
        report = check(local_config(tmp_path, seeds))
        try:
            assert all(server.count(f"/i{index}.png") == 1 for index in range(12))
            assert all(server.count(f"/p{index}") == 1 for index in range(12))
            assert report.summary.urls == 24
            return list(report.seeds())
        finally:
            report.discard()

    kept = run()
    moved: list[tuple[int, int]] = []
    move_out = Outcomes._move_out

    def counted(self: Outcomes) -> None:
        move_out(self)
        moved.append((len(self._tables[False]), len(self._tables[True])))

    monkeypatch.setattr(outcomes, "KEPT", 2)
    monkeypatch.setattr(outcomes, "MOVED_AT_ONCE", 2)
    monkeypatch.setattr(Outcomes, "_move_out", counted)
    again = run()
    assert len(moved) >= 10, "most outcomes left memory during the run"
    assert _without_times(again) == _without_times(kept)
    times: dict[str, set[float]] = {}
    for seed in again:
        for shown in seed["checks"]:
            times.setdefault(shown["url"], set()).add(shown["elapsed_ms"])
    assert all(len(seen) == 1 for seen in times.values()), "one outcome per URL, read back"


def _without_times(seeds: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The seeds' results without what differs from run to run: time taken and queued."""
    return [
        {**seed, "checks": [
            {k: v for k, v in shown.items() if k not in ("elapsed_ms", "queued_ms")}
            for shown in seed["checks"]
        ]}
        for seed in seeds
    ]  # fmt: skip
