"""Per-host politeness: how many requests may be in flight to a host, and when.

Each host has a concurrency limit (lowered when the host answers 429 and
raised again slowly while it answers well), an optional minimum interval
between request starts, and a pause the server may impose with Retry-After.
This is the only place that decides when a request to a host may start.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from array import array
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from linkcheck.model.config import HostRule

#: Consecutive good answers, per unit of the current limit, before the limit grows by one.
GROWTH_STREAK = 4


@dataclass(slots=True)
class Counters:
    """Run-wide totals kept by the fetcher for the report summary."""

    requests: int = 0
    bytes_read: int = 0
    network_fetches: int = 0
    dns_failures: int = 0
    hosts_unresolved: set[str] = field(default_factory=set)


@dataclass
class HostStats:
    """What one host cost and gave, for the report's ``hosts`` section."""

    requests: int = 0
    retries: int = 0
    latencies_ms: array[float] = field(default_factory=lambda: array("f"))
    server_waits: int = 0
    server_wait_s: float = 0.0
    rate_limited: int = 0
    limit: int = 0

    def to_dict(self) -> dict[str, object]:
        median = statistics.median(self.latencies_ms) if self.latencies_ms else None
        return {
            "requests": self.requests,
            "retries": self.retries,
            "median_latency_ms": round(median, 1) if median is not None else None,
            "server_waits": self.server_waits,
            "server_wait_s": round(self.server_wait_s, 3),
            "rate_limited_answers": self.rate_limited,
            "final_concurrency": self.limit,
        }


class Host:
    """The gate for one host: an adjustable in-flight limit, spacing and pauses."""

    def __init__(self, ceiling: int, min_interval: float) -> None:
        self.ceiling = ceiling
        self.limit = ceiling
        self.min_interval = min_interval
        self.in_flight = 0
        self.paused_until = 0.0
        self.next_start = 0.0
        self.streak = 0
        self.stats = HostStats(limit=ceiling)
        self._waiters: deque[asyncio.Future[None]] = deque()

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Wait until a request may start, and hold one place while it runs.

        Waiters queue in order and each release wakes exactly one of them, so a
        busy host costs no thundering herd of wake-ups.
        """
        while True:
            wait = max(self.paused_until, self.next_start) - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            elif self.in_flight < self.limit:
                break
            else:
                await self._queue()
        self.in_flight += 1
        self.next_start = time.monotonic() + self.min_interval
        try:
            yield
        finally:
            self.in_flight -= 1
            self._wake_one()

    async def _queue(self) -> None:
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._wake_one()  # the place handed to us goes to the next in line
            raise

    def _wake_one(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def pause(self, seconds: float) -> None:
        """The server asked everyone to wait (Retry-After): no new request starts before then."""
        self.paused_until = max(self.paused_until, time.monotonic() + seconds)
        self.stats.server_waits += 1
        self.stats.server_wait_s += seconds

    def rate_limited(self) -> None:
        """A 429: halve the limit (at least one) for the rest of the run, until it earns more."""
        self.stats.rate_limited += 1
        self.limit = max(1, self.limit // 2)
        self.streak = 0
        self.stats.limit = self.limit

    def answered_well(self) -> None:
        """A good answer: after a long enough streak, allow one more request in flight.

        Called while the request still holds its slot; the releases that follow
        let the waiters in.
        """
        if self.limit >= self.ceiling:
            return
        self.streak += 1
        if self.streak >= GROWTH_STREAK * self.limit:
            self.limit += 1
            self.streak = 0
            self.stats.limit = self.limit
            self._wake_one()


class HostPool:
    """All hosts of a run, created on first use with the settings their rules give."""

    def __init__(self, concurrency: int, min_interval: float, rules: tuple[HostRule, ...]) -> None:
        self.concurrency = concurrency
        self.min_interval = min_interval
        self.rules = rules
        self.hosts: dict[str, Host] = {}

    def get(self, name: str) -> Host:
        host = self.hosts.get(name)
        if host is None:
            concurrency, interval = self.concurrency, self.min_interval
            for rule in self.rules:
                if fnmatchcase(name, rule.pattern.lower()):
                    concurrency = rule.concurrency or concurrency
                    if rule.min_interval is not None:
                        interval = rule.min_interval
                    break
            host = self.hosts[name] = Host(concurrency, interval)
        return host
