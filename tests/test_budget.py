"""The cost of one URL is bounded: all its tries end within --url-budget."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from linkcheck.engine.runner import check
from linkcheck.model.reasons import Reason
from linkcheck.net.fetch import Fetched, Fetcher, read_prefix
from tests import hostile
from tests.conftest import local_config, write_seed
from tests.server import LoopbackServer

pytestmark = pytest.mark.integration


def _fetch_twice(tmp_path: Path, url: str, **changes: Any) -> tuple[list[Fetched[bytes]], float]:
    """Fetch ``url``, then once more as the recheck pass would (no retries); time it all."""
    config = local_config(tmp_path, **changes)

    async def main() -> list[Fetched[bytes]]:
        fetcher = Fetcher(config)
        try:
            first = await fetcher.fetch(url, read_prefix, 1000)
            fetcher.retries = 0
            again = await fetcher.fetch(url, read_prefix, 1000)
            return [first, again]
        finally:
            await fetcher.aclose()

    started = time.monotonic()
    fetched = asyncio.run(main())
    return fetched, time.monotonic() - started


def test_a_trickling_url_ends_within_its_budget(tmp_path: Path, server: LoopbackServer) -> None:
    url = server.route("/trickle", hostile.trickle(rate_bytes_per_s=2, total=100_000))
    changes = {"url_budget": 2.0, "request_timeout": 20.0, "read_timeout": 10.0, "retries": 2}

    (first, again), took = _fetch_twice(tmp_path, url, **changes)

    assert first.error is Reason.TIMEOUT
    assert "budget of 2 s" in first.message
    assert took < 2.0 + 1.0
    assert again.error is Reason.TIMEOUT and again.requests == 0, "no budget left for a recheck"
    assert server.hits("/trickle") == 1


def test_a_hanging_url_costs_about_one_budget_not_four_deadlines(
    tmp_path: Path, server: LoopbackServer
) -> None:
    url = server.route("/hang", hostile.hang())
    changes = {
        "url_budget": 2.5,
        "request_timeout": 1.0,
        "read_timeout": 1.0,
        "retries": 2,
        "retry_backoff": 0.01,
    }

    (first, again), took = _fetch_twice(tmp_path, url, **changes)

    assert first.error is Reason.TIMEOUT
    assert first.requests == 2, "a timeout is retried once, not twice"
    assert took < 2.5 + 1.0, "four deadlines would be 4 s"
    assert first.requests + again.requests <= 3
    assert server.hits("/hang") == first.requests + again.requests


def test_a_timeout_is_not_retried_when_the_budget_would_not_cover_it(
    tmp_path: Path, server: LoopbackServer
) -> None:
    url = server.route("/hang-short", hostile.hang())
    changes = {"url_budget": 1.05, "request_timeout": 1.0, "read_timeout": 1.0, "retries": 2}

    (first, _), took = _fetch_twice(tmp_path, url, **changes)

    assert first.error is Reason.TIMEOUT and first.requests == 1
    assert took < 1.05 + 1.0


def test_budget_spent_tells_the_recheck_pass_what_to_leave(
    tmp_path: Path, server: LoopbackServer
) -> None:
    hanging = server.route("/hang-recheck", hostile.hang())
    fine = server.route("/fine", hostile.ok())
    config = local_config(tmp_path, url_budget=1.5, request_timeout=1.0, retries=0)

    async def main() -> tuple[bool, bool, bool, float]:
        fetcher = Fetcher(config)
        try:
            untouched = fetcher.budget_spent(hanging)
            await asyncio.gather(
                fetcher.fetch(hanging, read_prefix, 100),
                fetcher.fetch(fine, read_prefix, 100),
            )
            return (
                untouched,
                fetcher.budget_spent(hanging),
                fetcher.budget_spent(fine),
                fetcher.budget_left(fine),
            )
        finally:
            await fetcher.aclose()

    untouched, hanging_spent, fine_spent, fine_left = asyncio.run(main())
    assert not untouched
    assert not hanging_spent, "0.5 s is still left of 1.5 s after one 1 s timeout"
    assert not fine_spent and fine_left == pytest.approx(1.5)


def test_a_run_with_a_hanging_url_finishes_in_about_one_budget(
    tmp_path: Path, server: LoopbackServer
) -> None:
    """Main pass, retries and the recheck pass together stay within the budget (+ slack)."""
    write_seed(tmp_path, "hang.txt", f'webUrl: "{server.route("/hang-run", hostile.hang())}"')
    write_seed(tmp_path, "ok.txt", f'webUrl: "{server.route("/ok-run", hostile.ok())}"')
    config = local_config(
        tmp_path, url_budget=2.0, request_timeout=1.5, read_timeout=1.5, retries=2
    )

    started = time.monotonic()
    report = check(config)
    took = time.monotonic() - started
    try:
        checks = {c["url"]: c for seed in report.seeds() for c in seed["checks"]}
    finally:
        report.discard()

    hang = next(c for url, c in checks.items() if url.endswith("/hang-run"))
    assert (hang["verdict"], hang["reason"]) == ("failed", "timeout")
    assert server.hits("/hang-run") <= 3
    assert took < 2.0 + 2.5, "one budget plus start-up, not (retries + recheck) x deadline"


def test_elapsed_is_network_time_and_queued_is_time_waiting_for_a_slot(
    tmp_path: Path, server: LoopbackServer
) -> None:
    """Two URLs to one host allowed one request at a time: the second waits, queued."""
    slow = server.route("/slow-a", hostile.slow_headers(0.6))
    other = server.route("/slow-b", hostile.slow_headers(0.6))
    config = local_config(tmp_path, per_host_concurrency=1)

    async def main() -> list[Fetched[bytes]]:
        fetcher = Fetcher(config)
        try:
            return list(
                await asyncio.gather(
                    fetcher.fetch(slow, read_prefix, 100),
                    fetcher.fetch(other, read_prefix, 100),
                )
            )
        finally:
            await fetcher.aclose()

    first, second = sorted(asyncio.run(main()), key=lambda f: f.queued_ms)
    for fetched in (first, second):
        assert fetched.status == 200
        assert 500 <= fetched.elapsed_ms < 1500
    assert first.queued_ms < 100
    assert second.queued_ms >= 500
    assert second.outcome().queued_ms == second.queued_ms
