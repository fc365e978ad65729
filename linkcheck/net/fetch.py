"""HTTP: requests within per-host limits, retried when worth it, redirects hop by hop.

Every request goes through here. Every hop is vetted by the address policy
(literal hosts here, resolved names in the transport's resolver, so the
connection goes to the address that was checked); every attempt has a hard
deadline; every read is capped. The transport comes from
:mod:`linkcheck.net.transports` and can be replaced, which is how unit tests run
without a network.
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import ssl
import sys
import time
import zlib
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from contextlib import aclosing
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase
from typing import Generic, TypeVar, cast

import aiohttp
import httpx

from linkcheck.model.config import Config
from linkcheck.model.reasons import Reason
from linkcheck.model.records import Hop, ImageFacts, Outcome, host_name, is_transient
from linkcheck.net.challenges import ERROR_BODY_BYTES, bot_challenge
from linkcheck.net.hosts import Host, HostPool
from linkcheck.net.retry import RetryPolicy, retry_after
from linkcheck.net.safety import AddressPolicy, PolicyTransport, find_unsafe
from linkcheck.net.transports import make_transport
from linkcheck.net.urls import BadUrl, normalize

T = TypeVar("T")
BodyReader = Callable[[httpx.Response, int], Awaitable[T]]

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
#: One fixed Accept header for images, like a browser's, so servers pick the same variant.
IMAGE_ACCEPT = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"
_CHUNK = 16 * 1024


@dataclass(slots=True)
class Fetched(Generic[T]):
    """One URL's fetch under way: the answer so far, the redirect chain, or the failure.

    ``body`` is what the body reader made of a final 2xx answer. This is the
    fetcher's working state; :meth:`outcome` turns it into the frozen record
    that the rest of the run keeps.
    """

    url: str
    status: int | None = None
    final_url: str | None = None
    redirects: tuple[Hop, ...] = ()
    body: T | None = None
    challenge: str | None = None
    retry_after: float | None = None
    error: Reason | None = None
    message: str = ""
    requests: int = 0
    retries: int = 0
    bytes_read: int = 0
    elapsed_ms: float = 0.0
    content_type: str | None = None
    content_length: int | None = None
    etag: str | None = None
    last_modified: str | None = None

    def outcome(self, image: ImageFacts | None = None) -> Outcome:
        """The frozen record of this fetch, carrying ``image`` facts for an image URL."""
        return Outcome(
            url=self.url,
            status=self.status,
            final_url=self.final_url,
            redirects=self.redirects,
            error=self.error,
            message=self.message,
            challenge=self.challenge,
            retry_after=self.retry_after,
            content_type=self.content_type,
            content_length=self.content_length,
            etag=self.etag,
            last_modified=self.last_modified,
            requests=self.requests,
            retries=self.retries,
            bytes_read=self.bytes_read,
            elapsed_ms=self.elapsed_ms,
            image=image,
        )


@dataclass(slots=True)
class Counters:
    """Run-wide totals kept by the fetcher for the report summary."""

    requests: int = 0
    bytes_read: int = 0
    network_fetches: int = 0
    dns_failures: int = 0
    hosts_unresolved: set[str] = field(default_factory=set)


class Fetcher:
    """Fetches URLs politely and within deadlines; one per run, owning one transport."""

    def __init__(self, config: Config, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.config = config
        self.counters = Counters()
        self.policy = AddressPolicy(config.allow_hosts, config.allow_networks)
        inner = transport or make_transport(config, self.policy)
        self._transport = PolicyTransport(self.policy, inner)
        self.hosts = HostPool(config.per_host_concurrency, config.min_interval, config.host_rules)
        self._retry = RetryPolicy(base=config.retry_backoff)
        #: Retries per request from now on; the end-of-run recheck sets it to 0.
        self.retries = config.retries
        self._rng = random.Random()
        self._slots = asyncio.Semaphore(config.max_concurrency)
        self._timeouts = httpx.Timeout(
            config.request_timeout,
            connect=config.connect_timeout,
            read=config.read_timeout,
            pool=None,
        ).as_dict()
        self._header_values = [
            (rule.pattern.lower(), rule.name, os.environ.get(rule.env, ""))
            for rule in config.headers
        ]

    async def aclose(self) -> None:
        await self._transport.aclose()

    async def fetch(
        self,
        url: str,
        read: BodyReader[T],
        limit: int,
        *,
        identity: bool = False,
        headers: Mapping[str, str] | None = None,
    ) -> Fetched[T]:
        """GET ``url`` (HEAD first with ``--method head``), then let ``read`` take the body.

        Failures are returned, never raised. ``identity`` asks for an unencoded
        body (images are judged from their raw bytes); ``headers`` are added to
        every request (a Range, say).
        """
        started = time.perf_counter()
        self.counters.network_fetches += 1
        result: Fetched[T] = Fetched(url)
        get = _Ask("GET", read, min(limit, self.config.max_response_bytes), identity, headers)
        if self.config.method == "head" and not identity:
            await self._chain(url, replace(get, method="HEAD"), result)
            if result.error is None and result.status is not None and 200 <= result.status < 300:
                return self._finish(result, started)
            result = Fetched(url, requests=result.requests, retries=result.retries)
        await self._chain(url, get, result)
        return self._finish(result, started)

    def _finish(self, result: Fetched[T], started: float) -> Fetched[T]:
        result.elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
        if result.error is Reason.DNS:
            self.counters.dns_failures += 1
            self.counters.hosts_unresolved.add(host_name(result.url))
        return result

    async def _chain(self, url: str, ask: _Ask[T], result: Fetched[T]) -> None:
        seen = {url}
        current = url
        while True:
            location = await self._exchange(current, ask, result)
            if location is None or result.error is not None:
                return
            result.redirects += (Hop(current, result.status or 0),)
            current = self._next_hop(current, location, seen, result)
            if result.error is not None:
                return
            result.status = None

    def _next_hop(self, current: str, location: str, seen: set[str], result: Fetched[T]) -> str:
        try:
            target = normalize(str(httpx.URL(current).join(location)))
        except (BadUrl, httpx.InvalidURL) as exc:
            result.error = Reason.UNSAFE_URL if _is_other_scheme(location) else Reason.INVALID_URL
            result.message = f"redirect to {location!r}: {exc}"
            return current
        if target in seen:
            result.error = Reason.REDIRECT_LOOP
            result.message = f"redirect from {current} back to {target}, already visited"
        elif len(result.redirects) > self.config.max_redirects:
            result.error = Reason.TOO_MANY_REDIRECTS
            result.message = f"more than {self.config.max_redirects} redirects"
        seen.add(target)
        return target

    async def _exchange(self, url: str, ask: _Ask[T], result: Fetched[T]) -> str | None:
        """One hop with its retries; returns the Location of a redirect, else None."""
        host = self.hosts.get(host_name(url))
        for attempt in range(self.retries + 1):
            refusal = self._too_long_a_pause(host)
            if refusal:
                result.error, result.message = Reason.RATE_LIMITED, refusal
                return None
            async with host.slot(), self._slots:
                location = await self._attempt(url, ask, result, host)
            if not is_transient(result.status, result.error) or attempt == self.retries:
                return location
            wait = self._wait_before_retry(result, host, attempt)
            if wait is None:
                return None
            host.stats.retries += 1
            result.retries += 1
            await asyncio.sleep(wait)
        return None

    def _too_long_a_pause(self, host: Host) -> str | None:
        remaining = host.paused_until - time.monotonic()
        if remaining > self.config.retry_after_cap:
            return (
                f"the server asked to wait {remaining:.0f} s (Retry-After), "
                f"over the {self.config.retry_after_cap:g} s cap"
            )
        return None

    def _wait_before_retry(self, result: Fetched[T], host: Host, attempt: int) -> float | None:
        """How long to sleep before the next try; None when the server's wait is over the cap."""
        asked = result.retry_after
        if asked is None:
            return self._retry.backoff(attempt, self._rng)
        host.pause(asked)
        if asked > self.config.retry_after_cap:
            result.error = Reason.RATE_LIMITED
            result.message = (
                f"the server asked to wait {asked:.0f} s (Retry-After), "
                f"over the {self.config.retry_after_cap:g} s cap"
            )
            return None
        return 0.0

    async def _attempt(self, url: str, ask: _Ask[T], result: Fetched[T], host: Host) -> str | None:
        """One request with its deadline; fills ``result`` and returns a redirect's Location."""
        result.status, result.body, result.challenge, result.retry_after = None, None, None, None
        result.content_type = result.content_length = result.etag = result.last_modified = None
        result.error, result.message = None, ""
        request = httpx.Request(
            ask.method,
            url,
            headers=self._headers_for(host_name(url), ask),
            extensions={"timeout": self._timeouts},
        )
        result.requests += 1
        self.counters.requests += 1
        host.stats.requests += 1
        started = time.monotonic()
        response: httpx.Response | None = None
        try:
            async with asyncio.timeout(self.config.request_timeout):
                response = await self._transport.handle_async_request(request)
                result.final_url = url
                return await self._answer(response, ask, result, host)
        except TimeoutError:
            result.error = Reason.TIMEOUT
            result.message = f"no complete answer within {self.config.request_timeout:g} s"
        except (httpx.HTTPError, aiohttp.ClientError, OSError) as exc:
            result.error, result.message = classify(exc)
        finally:
            if response is not None:
                result.bytes_read += response.num_bytes_downloaded
                self.counters.bytes_read += response.num_bytes_downloaded
                await response.aclose()
            host.stats.latencies_ms.append((time.monotonic() - started) * 1000)
        return None

    async def _answer(
        self, response: httpx.Response, ask: _Ask[T], result: Fetched[T], host: Host
    ) -> str | None:
        status = response.status_code
        result.status = status
        location: str | None = response.headers.get("location")
        if status in REDIRECT_STATUSES and location:
            result.final_url = None
            return location
        _keep_headers(response.headers, result)
        if status in (429, 503):
            result.retry_after = retry_after(response.headers.get("retry-after"))
        if status == 429:
            host.rate_limited()
        elif status < 500:
            host.answered_well()
        if ask.method == "HEAD":
            return None
        if 200 <= status < 300:
            result.body = await ask.read(response, ask.limit)
        else:
            body = await read_prefix(response, ERROR_BODY_BYTES)
            result.challenge = bot_challenge(status, response.headers, body)
        return None

    def _headers_for(self, host: str, ask: _Ask[T]) -> dict[str, str]:
        headers = {
            "User-Agent": self.config.user_agent,
            "Accept": IMAGE_ACCEPT if ask.identity else "*/*",
            "Accept-Encoding": "identity" if ask.identity else "gzip, deflate",
        }
        for pattern, name, value in self._header_values:
            if value and fnmatchcase(host, pattern):
                headers[name] = value
        if ask.extra:
            headers.update(ask.extra)
        return headers


@dataclass(frozen=True, slots=True)
class _Ask(Generic[T]):
    """What to send for one URL and how to read the answer."""

    method: str
    read: BodyReader[T]
    limit: int
    identity: bool
    extra: Mapping[str, str] | None


def _keep_headers(headers: httpx.Headers, result: Fetched[T]) -> None:
    """The few headers of the final answer that later stages read (revalidation, judging)."""
    content_type = headers.get("content-type")
    result.content_type = sys.intern(content_type) if content_type is not None else None
    length = headers.get("content-length", "").strip()
    digits = length.isascii() and length.isdigit() and len(length) <= 18
    result.content_length = int(length) if digits else None
    result.etag = headers.get("etag")
    result.last_modified = headers.get("last-modified")


def _is_other_scheme(location: str) -> bool:
    scheme, colon, _ = location.partition(":")
    return bool(colon) and scheme.isalpha() and scheme.lower() not in ("http", "https")


async def body_chunks(response: httpx.Response, limit: int) -> AsyncGenerator[bytes, None]:
    """The decoded body, chunk by chunk, never more than ``limit`` decoded bytes in all.

    gzip and deflate are decoded here with a bounded output size, so a
    compression bomb costs at most ``limit`` bytes of memory. Other encodings
    are passed through as they came. A response that was read already (as
    test doubles give) yields its decoded content.
    """
    if response.is_stream_consumed:
        yield response.content[:limit]
        return
    encoding = response.headers.get("content-encoding", "").strip().lower()
    decoder = _decoder(encoding)
    remaining = limit
    raw_chunks = cast(AsyncGenerator[bytes, None], response.aiter_raw(_CHUNK))
    async with aclosing(raw_chunks) as raws:  # closed at once, not whenever GC gets to it
        async for raw in raws:
            if decoder is None:
                chunk = raw[:remaining]
            else:
                try:
                    chunk = decoder.decompress(raw, remaining)
                except zlib.error as exc:
                    raise httpx.DecodingError(f"bad {encoding} body: {exc}") from exc
            remaining -= len(chunk)
            if chunk:
                yield chunk
            if remaining <= 0:
                return


def _decoder(encoding: str) -> zlib._Decompress | None:
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(zlib.MAX_WBITS | 16)
    if encoding == "deflate":
        return zlib.decompressobj(zlib.MAX_WBITS | 32)
    return None


async def read_prefix(response: httpx.Response, limit: int) -> bytes:
    """Read at most ``limit`` decoded body bytes, then stop."""
    chunks = [chunk async for chunk in body_chunks(response, limit)]
    return b"".join(chunks)


async def read_and_count(response: httpx.Response, limit: int) -> int:
    """Read at most ``limit`` decoded body bytes, keeping none of them: a page's proof of life."""
    return sum([len(chunk) async for chunk in body_chunks(response, limit)])


def classify(exc: BaseException) -> tuple[Reason, str]:
    """Map a transport failure to a reason and a short human message.

    The httpx exception type alone is not trusted (the aiohttp bridge reports
    refused connections and DNS failures as ConnectTimeout), so the whole cause
    chain is inspected.
    """
    unsafe = find_unsafe(exc)
    if unsafe is not None:
        return Reason.UNSAFE_URL, str(unsafe)
    chain = _chain(exc)
    for item in chain:
        if isinstance(item, socket.gaierror | aiohttp.ClientConnectorDNSError):
            return Reason.DNS, "the host name could not be resolved"
    for item in chain:
        if isinstance(item, ssl.SSLError | aiohttp.ClientSSLError):
            return Reason.TLS, f"TLS failed: {_text(item)}"
    for item in chain:
        if isinstance(item, httpx.DecodingError):
            return Reason.PROTOCOL, _text(item)
        if isinstance(item, ConnectionRefusedError):
            return Reason.CONNECT, "the connection was refused"
        if isinstance(item, ConnectionResetError):
            return Reason.CONNECT, "the connection was reset"
        if isinstance(item, aiohttp.ServerDisconnectedError):
            return Reason.CONNECT, "the server closed the connection without a complete answer"
        if isinstance(item, aiohttp.ClientPayloadError):
            return Reason.CONNECT, f"the body was cut short: {_text(item)}"
        if isinstance(item, aiohttp.ClientResponseError | httpx.RemoteProtocolError):
            return Reason.PROTOCOL, f"invalid HTTP answer: {_text(item)}"
    for item in chain:
        if isinstance(item, TimeoutError | aiohttp.ServerTimeoutError | httpx.TimeoutException):
            return Reason.TIMEOUT, "the server stopped answering before the deadline"
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
