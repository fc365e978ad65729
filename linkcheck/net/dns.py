"""DNS as a shared, rate-limited service: one lookup per host per run.

Many resolvers (corporate, cloud, this CI machine's) limit query rates, and a
burst of lookups waits 5-30 s each. So every host name is looked up once per
run, however many URLs and connections name it: concurrent askers share the
lookup under way, answers and failures are kept for the run (bounded by a TTL),
and only a few lookups are in flight at once. A temporary failure
(``EAI_AGAIN``) is asked once more; a name that does not exist never is. When
the first host names looked up all fail and none resolves, the resolver looks
unreachable (the machine is offline): every later name fails at once with that
diagnosis instead of each waiting for its own answer.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

__all__ = ["GIVE_UP_AFTER", "ResolverUnreachable", "SharedResolver"]

#: Distinct host names that must all fail, with none resolved, before the resolver is
#: taken for unreachable.
GIVE_UP_AFTER = 12
#: How long an answer or a failure is kept (getaddrinfo gives no TTL).
CACHE_TTL = 300.0
#: The wait before asking again after a temporary failure.
RETRY_PAUSE = 0.5

Key = tuple[str, int]


class ResolverUnreachable(socket.gaierror):
    """A name not looked up because the resolver looks unreachable (see the module doc)."""

    def __init__(self, failed: int) -> None:
        message = (
            f"not looked up: the resolver looks unreachable (the first {failed} host names "
            "looked up all failed, none resolved)"
        )
        super().__init__(socket.EAI_AGAIN, message)
        self.failed = failed

    def __str__(self) -> str:
        return str(self.strerror)

    def __reduce__(self) -> tuple[type[ResolverUnreachable], tuple[int]]:
        return (type(self), (self.failed,))


@dataclass(frozen=True, slots=True)
class _Answer:
    """One lookup's result: the addresses, or the failure to raise again (as a fresh error)."""

    expires: float
    results: tuple[ResolveResult, ...] = ()
    errno: int | None = None
    strerror: str = ""

    def get(self, port: int) -> list[ResolveResult]:
        if self.errno is not None:
            raise socket.gaierror(self.errno, self.strerror)
        return [_with_port(result, port) for result in self.results]


@dataclass(slots=True)
class DnsStats:
    """What the resolver did, for tests and diagnostics."""

    lookups: int = 0
    retries: int = 0
    resolved: int = 0
    failed: int = 0
    cache_hits: int = 0
    peak_in_flight: int = 0


class SharedResolver(AbstractResolver):
    """Resolves each (host, family) once per run through ``inner``, within ``in_flight``.

    ``inner`` defaults to aiohttp's ``ThreadedResolver`` (the system's getaddrinfo),
    made per lookup so that this resolver is bound to no event loop. Results keep
    the port each caller asked for.
    """

    def __init__(
        self,
        inner: AbstractResolver | None = None,
        *,
        in_flight: int = 4,
        give_up_after: int = GIVE_UP_AFTER,
        ttl: float = CACHE_TTL,
        retry_pause: float = RETRY_PAUSE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._inner = inner
        self.in_flight = in_flight
        self.give_up_after = give_up_after
        self.ttl = ttl
        self.retry_pause = retry_pause
        self._clock = clock
        self._answers: dict[Key, _Answer] = {}
        self._pending: dict[Key, asyncio.Task[_Answer]] = {}
        self._slots: asyncio.Semaphore | None = None
        self._busy = 0
        self.stats = DnsStats()

    @property
    def unreachable(self) -> bool:
        """Whether the resolver has been given up on for the rest of the run."""
        return self.stats.resolved == 0 and self.stats.failed >= self.give_up_after

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        key = (host.lower(), int(family))
        answer = self._answers.get(key)
        if answer is not None and answer.expires > self._clock():
            self.stats.cache_hits += 1
            return answer.get(port)
        if self.unreachable:
            raise ResolverUnreachable(self.give_up_after)
        task = self._pending.get(key)
        if task is None:
            task = asyncio.ensure_future(self._lookup(key, host, port, family))
            self._pending[key] = task
            task.add_done_callback(lambda done: self._settle(key, done))
        else:
            self.stats.cache_hits += 1
        # shielded: one asker giving up (its request timed out) leaves the lookup to the others
        return (await asyncio.shield(task)).get(port)

    def _settle(self, key: Key, task: asyncio.Task[_Answer]) -> None:
        if self._pending.get(key) is task:
            del self._pending[key]
        if not task.cancelled() and task.exception() is None:
            self._answers[key] = task.result()

    async def _lookup(
        self, key: Key, host: str, port: int, family: socket.AddressFamily
    ) -> _Answer:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.in_flight)
        async with self._slots:
            if self.unreachable:  # decided while this one waited for a slot
                raise ResolverUnreachable(self.give_up_after)
            self._busy += 1
            self.stats.peak_in_flight = max(self.stats.peak_in_flight, self._busy)
            try:
                return await self._ask(host, port, family)
            finally:
                self._busy -= 1

    async def _ask(self, host: str, port: int, family: socket.AddressFamily) -> _Answer:
        inner = self._inner if self._inner is not None else ThreadedResolver()
        for attempt in (0, 1):
            self.stats.lookups += 1
            try:
                results = await inner.resolve(host, port, family)
            except socket.gaierror as exc:
                if exc.errno == socket.EAI_AGAIN and attempt == 0:
                    self.stats.retries += 1
                    await asyncio.sleep(self.retry_pause)
                    continue
                self.stats.failed += 1
                errno = exc.errno if isinstance(exc.errno, int) else socket.EAI_FAIL
                return _Answer(self._clock() + self.ttl, errno=errno, strerror=str(exc.strerror))
            self.stats.resolved += 1
            return _Answer(self._clock() + self.ttl, tuple(results))
        raise AssertionError("unreachable: the second attempt always returns")

    async def addresses(self, host: str, port: int) -> list[str]:
        """The addresses of ``host`` in the resolver's order (the HTTP/2 path's resolve)."""
        return [result["host"] for result in await self.resolve(host, port, socket.AF_UNSPEC)]

    async def close(self) -> None:
        for task in list(self._pending.values()):
            task.cancel()
        if self._inner is not None:
            await self._inner.close()


def _with_port(result: ResolveResult, port: int) -> ResolveResult:
    if result["port"] == port or not port:
        return result
    return ResolveResult(
        hostname=result["hostname"],
        host=result["host"],
        port=port,
        family=result["family"],
        proto=result["proto"],
        flags=result["flags"],
    )
