"""HTTP: one GET per URL, redirects followed hop by hop, every failure classified.

This is the only module that talks to the network. The transport is chosen in
:func:`default_transport` (aiohttp under httpx's API, measured several times
cheaper per URL than httpx's own) and can be replaced, which is how the unit
tests run without a network.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

from linkcheck.config import Config
from linkcheck.urls import BadUrl, normalize
from linkcheck.verdicts import Reason

T = TypeVar("T")
BodyReader = Callable[[httpx.Response], Awaitable[T]]

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True, slots=True)
class Hop:
    """One redirect answer: the URL that was requested and the 3xx status it gave."""

    url: str
    status: int


@dataclass(slots=True)
class Fetched(Generic[T]):
    """What one URL gave: the final answer, the redirect chain, or the failure.

    ``body`` is whatever the body reader made of the final response (the reader
    is only called for a final, non-redirect answer).
    """

    url: str
    status: int | None = None
    final_url: str | None = None
    redirects: list[Hop] = field(default_factory=list)
    headers: httpx.Headers | None = None
    body: T | None = None
    error: Reason | None = None
    message: str = ""
    requests: int = 0
    bytes_read: int = 0
    elapsed_ms: float = 0.0


@dataclass(slots=True)
class Counters:
    """Run-wide totals kept by the fetcher for the report summary."""

    requests: int = 0
    bytes_read: int = 0
    network_fetches: int = 0
    dns_failures: int = 0
    hosts_unresolved: set[str] = field(default_factory=set)


def default_transport(config: Config) -> httpx.AsyncBaseTransport:
    """The transport used for real runs: aiohttp's connection pool behind httpx's API."""

    def session() -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=config.max_concurrency,
            limit_per_host=0,
            ttl_dns_cache=300,
            ssl=ssl.create_default_context(),
        )
        return aiohttp.ClientSession(connector=connector, auto_decompress=False)

    return AiohttpTransport(client=session)


class Fetcher:
    """Fetches URLs within the configured limits and deadlines; owns one HTTP client."""

    def __init__(self, config: Config, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.config = config
        self.counters = Counters()
        self._slots = asyncio.Semaphore(config.max_concurrency)
        self._transport = transport or default_transport(config)
        self._headers = httpx.Headers({"User-Agent": config.user_agent, "Accept": "*/*"})
        self._timeouts = httpx.Timeout(
            config.request_timeout,
            connect=config.connect_timeout,
            read=config.read_timeout,
            pool=None,
        ).as_dict()

    async def aclose(self) -> None:
        await self._transport.aclose()

    async def fetch(self, url: str, read: BodyReader[T]) -> Fetched[T]:
        """GET ``url`` following redirects, then let ``read`` consume the final body.

        The whole exchange, redirects and body included, ends within the
        configured request deadline; failures are returned, never raised.
        """
        result: Fetched[T] = Fetched(url)
        started = time.perf_counter()
        async with self._slots:
            self.counters.network_fetches += 1
            try:
                async with asyncio.timeout(self.config.request_timeout):
                    await self._follow(url, read, result)
            except TimeoutError:
                result.error = Reason.TIMEOUT
                result.message = f"no complete answer within {self.config.request_timeout:g} s"
            except (httpx.HTTPError, aiohttp.ClientError, OSError) as exc:
                result.error, result.message = classify(exc)
        result.elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
        if result.error is Reason.DNS:
            self.counters.dns_failures += 1
            self.counters.hosts_unresolved.add(httpx.URL(result.url).host)
        return result

    async def _follow(self, url: str, read: BodyReader[T], result: Fetched[T]) -> None:
        seen = {url}
        current = url
        while True:
            request = httpx.Request(
                "GET", current, headers=self._headers, extensions={"timeout": self._timeouts}
            )
            result.requests += 1
            self.counters.requests += 1
            response = await self._transport.handle_async_request(request)
            try:
                location = response.headers.get("location")
                if response.status_code in _REDIRECT_STATUSES and location:
                    result.redirects.append(Hop(current, response.status_code))
                    current = self._next_hop(current, location, seen, result)
                    if result.error is not None:
                        return
                    continue
                result.status = response.status_code
                result.final_url = current
                result.headers = response.headers
                result.body = await read(response)
                result.bytes_read += response.num_bytes_downloaded
                self.counters.bytes_read += response.num_bytes_downloaded
                return
            finally:
                await response.aclose()

    def _next_hop(self, current: str, location: str, seen: set[str], result: Fetched[T]) -> str:
        try:
            target = normalize(str(httpx.URL(current).join(location)))
        except (BadUrl, httpx.InvalidURL) as exc:
            reason = exc.reason if isinstance(exc, BadUrl) else Reason.INVALID_URL
            result.error, result.message = reason, f"redirect to {location!r}: {exc}"
            return current
        if target in seen:
            result.error = Reason.REDIRECT_LOOP
            result.message = f"redirect from {current} back to {target}, already visited"
        elif len(result.redirects) > self.config.max_redirects:
            result.error = Reason.TOO_MANY_REDIRECTS
            result.message = f"more than {self.config.max_redirects} redirects"
        seen.add(target)
        return target


async def read_prefix(response: httpx.Response, limit: int) -> bytes:
    """Read at most ``limit`` decoded body bytes, then stop."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= limit:
            break
    return b"".join(chunks)[:limit]


def classify(exc: BaseException) -> tuple[Reason, str]:
    """Map a transport failure to a reason and a short human message.

    The httpx exception type alone is not trusted (the aiohttp bridge maps some
    resets to ConnectTimeout), so the whole cause chain is inspected.
    """
    chain = _chain(exc)
    for item in chain:
        if isinstance(item, socket.gaierror | aiohttp.ClientConnectorDNSError):
            return Reason.DNS, "the host name could not be resolved"
    for item in chain:
        if isinstance(item, ssl.SSLError | aiohttp.ClientSSLError):
            return Reason.TLS, f"TLS failed: {_text(item)}"
    for item in chain:
        if isinstance(
            item, TimeoutError | aiohttp.ServerTimeoutError | httpx.ReadTimeout | httpx.WriteTimeout
        ):
            return Reason.TIMEOUT, "the server stopped answering before the deadline"
    for item in chain:
        if isinstance(item, aiohttp.ClientResponseError | httpx.RemoteProtocolError):
            return Reason.PROTOCOL, f"invalid HTTP answer: {_text(item)}"
        if isinstance(item, aiohttp.ServerDisconnectedError):
            return Reason.CONNECT, "the server closed the connection without an answer"
    for item in chain:
        if isinstance(item, ConnectionRefusedError):
            return Reason.CONNECT, "the connection was refused"
        if isinstance(item, ConnectionResetError):
            return Reason.CONNECT, "the connection was reset"
    return Reason.CONNECT, _text(exc)


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(seen) < 16 and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _text(exc: BaseException) -> str:
    text = str(exc).strip()
    return text or type(exc).__name__
