"""The pipeline: seed files -> targets -> unique URLs fetched once -> checks -> report.

Seeds stream through a bounded window: at most ``seed_window`` seeds are in
flight, their results leave in input order, and each unique URL is fetched
once however many seeds name it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable
from functools import partial
from pathlib import Path
from typing import Any

import httpx

from linkcheck.checks import Check, judge, judge_unrequestable
from linkcheck.config import Config
from linkcheck.fetch import Fetched, Fetcher, read_prefix
from linkcheck.images import read_image
from linkcheck.report import Report, SeedResult, Spool, now
from linkcheck.seeds import Kind, Seed, Target, find_seed_files, read_seed

FetchKey = tuple[bool, str]


class Runner:
    """Runs one check of a set of seed files; one instance per run."""

    def __init__(self, config: Config, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.config = config
        self.fetcher = Fetcher(config, transport)
        self._fetches: dict[FetchKey, asyncio.Task[Fetched[Any]]] = {}

    async def run(self, seed_files: Iterable[Path], spool: Spool) -> None:
        """Check every seed and add its result to ``spool`` in input order."""
        window: asyncio.Queue[asyncio.Task[SeedResult] | None] = asyncio.Queue(
            maxsize=self.config.seed_window
        )
        writer = asyncio.create_task(self._drain(window, spool))
        try:
            for path in seed_files:
                seed = read_seed(path, self.config)
                await window.put(asyncio.create_task(self._check_seed(seed)))
            await window.put(None)
            await writer
        finally:
            writer.cancel()
            await self.fetcher.aclose()
        counters = self.fetcher.counters
        summary = spool.summary
        summary.urls = len(self._fetches)
        summary.requests = counters.requests
        summary.bytes_downloaded = counters.bytes_read
        summary.hosts_unresolved = len(counters.hosts_unresolved)
        summary.no_host_resolved = (
            counters.network_fetches > 0 and counters.dns_failures == counters.network_fetches
        )

    async def _drain(
        self, window: asyncio.Queue[asyncio.Task[SeedResult] | None], spool: Spool
    ) -> None:
        while (task := await window.get()) is not None:
            spool.add(await task)

    async def _check_seed(self, seed: Seed) -> SeedResult:
        checks = await asyncio.gather(*(self._check_target(t) for t in seed.targets))
        return SeedResult.of(seed, tuple(checks))

    async def _check_target(self, target: Target) -> Check:
        if target.problem is not None:
            return judge_unrequestable(target)
        return judge(target, await self._fetch_once(target))

    def _fetch_once(self, target: Target) -> Awaitable[Fetched[Any]]:
        as_image = target.kind is Kind.IMAGE
        key = (as_image, target.url)
        task = self._fetches.get(key)
        if task is None:
            reader: Any
            if as_image:
                reader = partial(read_image, limit=self.config.max_image_bytes)
            else:
                reader = partial(read_prefix, limit=self.config.page_body_bytes)
            task = asyncio.create_task(self.fetcher.fetch(target.url, reader))
            self._fetches[key] = task
        return task


async def check_async(config: Config, transport: httpx.AsyncBaseTransport | None = None) -> Report:
    """Check the seeds named by ``config`` and return the report (spool still open to read)."""
    started = now()
    spool = Spool()
    try:
        runner = Runner(config, transport)
        await runner.run(find_seed_files(config.paths, config.patterns), spool)
    finally:
        spool.close()
    return Report(started, now(), spool.summary, spool.path)


def check(config: Config, transport: httpx.AsyncBaseTransport | None = None) -> Report:
    """Synchronous entry point: run the whole check in a fresh event loop."""
    return asyncio.run(check_async(config, transport))
