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
import copy
import logging
import os
import random
import re
import socket
import ssl
import sys
import time
import zlib
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from contextlib import aclosing
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase
from typing import Generic, TypeVar, cast
from urllib.parse import urljoin

import aiohttp
import httpx

from linkcheck.model.config import Config
from linkcheck.model.reasons import Reason
from linkcheck.model.records import Hop, ImageFacts, Outcome, host_name, is_transient
from linkcheck.net import headers as header_values
from linkcheck.net.challenges import ERROR_BODY_BYTES, bot_challenge
from linkcheck.net.dns import ResolverUnreachable
from linkcheck.net.hosts import Counters, Host, HostPool
from linkcheck.net.retry import RETRY_STATUSES, RetryPolicy
from linkcheck.net.safety import AddressPolicy, PolicyTransport, find_unsafe
from linkcheck.net.transports import make_transport
from linkcheck.net.urls import BadUrl, normalize

T = TypeVar("T")
BodyReader = Callable[[httpx.Response, int], Awaitable[T]]

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
#: ASCII a punycode label may decode to besides its non-ASCII letters (no URL delimiters).
_LABEL_ASCII = re.compile(r"[a-z0-9_-]*")
#: One fixed Accept header for images, like a browser's, so servers pick the same variant.
IMAGE_ACCEPT = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"
_CHUNK = 16 * 1024
#: Content types up to this length are interned (few distinct values, many answers).
_INTERN_CHARS = 100
#: The longest message kept from an unexpected exception.
_INTERNAL_MESSAGE_CHARS = 300
#: The least budget (seconds) worth another try; a tenth of a smaller budget.
_MIN_TRY = 1.0

log = logging.getLogger("linkcheck")


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
    queued_ms: float = 0.0
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
            queued_ms=self.queued_ms,
            image=image,
        )


class Fetcher:
    """Fetches URLs politely and within deadlines; one per run, owning one transport.

    Each URL has a budget (``--url-budget``): all its tries, the waits between them
    and later fetches of it (an image's follow-up Range, the recheck pass) end
    within it. :meth:`budget_spent` tells the recheck pass which URLs to leave be.
    """

    def __init__(self, config: Config, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.config = config
        self.counters = Counters()
        self.policy = AddressPolicy(config.allow_hosts, config.allow_networks)
        inner = transport or make_transport(config, self.policy)
        self._transport = PolicyTransport(self.policy, inner)
        self.hosts = HostPool(config.per_host_concurrency, config.min_interval, config.host_rules)
        self._retry = RetryPolicy(base=config.retry_backoff)
        #: Retries per request; a view made by :meth:`with_retries` has its own.
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
        #: Budget seconds charged so far, for URLs that cost more than a trifle (see _charge).
        self._charged: dict[str, float] = {}
        self._min_try = min(_MIN_TRY, config.url_budget * 0.1)
        #: Whether outcomes keep ETag and Last-Modified: only a results store reads them.
        self._validators = config.cache is not None
        #: URLs asked once, with no retry and no recheck (see :meth:`try_once`).
        self._once: set[str] = set()

    def budget_left(self, url: str) -> float:
        """Seconds of ``url``'s budget not yet spent on it (the whole budget if never fetched)."""
        return self.config.url_budget - self._charged.get(url, 0.0)

    def budget_spent(self, url: str) -> bool:
        """Whether too little of ``url``'s budget is left for another try to be worth it."""
        return url in self._once or self.budget_left(url) < self._min_try

    def try_once(self, url: str) -> None:
        """Ask ``url`` with no retry, and leave it out of the recheck pass.

        For a URL that failed on the previous run as well (the results store's
        history): retries within this run would add requests and waiting but
        little knowledge, and the next run asks it again anyway.
        """
        self._once.add(url)

    def with_retries(self, retries: int) -> Fetcher:
        """The same fetcher (transport, host gates, budgets, counters) with another retry count.

        The end-of-run recheck uses ``with_retries(0)``: one more try per URL, since
        the main pass spent the retries; the run's own fetcher is left as it was.
        """
        view = copy.copy(self)
        view.retries = retries
        return view

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

        Failures are returned, never raised: this is the boundary of one URL's
        fetch, so an unexpected exception (a bug, or a server answer nobody
        foresaw) becomes reason ``internal`` for this URL alone, logged once
        with its traceback at debug level. Only cancellation propagates.
        ``identity`` asks for an unencoded body (images are judged from their
        raw bytes); ``headers`` are added to every request (a Range, say).
        """
        self.counters.network_fetches += 1
        result: Fetched[T] = Fetched(url)
        clock = _UrlClock(self.budget_left(url), 0 if url in self._once else self.retries)
        if clock.budget < self._min_try:
            result.error = Reason.TIMEOUT
            result.message = f"not tried again: its {self._budget_text()} is spent"
            return self._finish(result, clock)
        get = _Ask("GET", read, min(limit, self.config.max_response_bytes), identity, headers)
        try:
            if self.config.method == "head" and not identity:
                await self._chain(url, replace(get, method="HEAD"), result, clock)
                status = result.status
                if result.error is None and status is not None and 200 <= status < 300:
                    return self._finish(result, clock)
                result = Fetched(
                    url,
                    requests=result.requests,
                    retries=result.retries,
                    elapsed_ms=result.elapsed_ms,
                    queued_ms=result.queued_ms,
                )
            await self._chain(url, get, result, clock)
        except Exception as exc:  # the boundary: anything else is this URL's verdict
            log.debug("internal error while fetching %s", url, exc_info=exc)
            result.status, result.body, result.retry_after = None, None, None
            result.error, result.message = Reason.INTERNAL, internal_message(exc)
        return self._finish(result, clock)

    def _budget_text(self) -> str:
        return f"budget of {self.config.url_budget:g} s (--url-budget)"

    def _finish(self, result: Fetched[T], clock: _UrlClock) -> Fetched[T]:
        result.elapsed_ms = round(result.elapsed_ms, 1)
        result.queued_ms = round(result.queued_ms, 1)
        self._charge(result, clock)
        if result.error is Reason.DNS:
            self.counters.dns_failures += 1
            self.counters.hosts_unresolved.add(host_name(result.url))
        return result

    def _charge(self, result: Fetched[T], clock: _UrlClock) -> None:
        """Remember what this fetch cost the URL's budget.

        Only URLs that may be fetched again with their budget in mind are kept: a
        transient failure (the recheck pass) or a fetch that took a noticeable share
        of the budget (an image's follow-up Range). The cheap rest, nearly every
        URL of a run, cost no memory.
        """
        spent = clock.spent()
        before = self._charged.get(result.url)
        noted = before is not None or spent >= self._min_try
        if noted or is_transient(result.status, result.error):
            self._charged[result.url] = (before or 0.0) + spent

    async def _chain(self, url: str, ask: _Ask[T], result: Fetched[T], clock: _UrlClock) -> None:
        """Follow redirects hop by hop, all of them within one request deadline."""
        seen = {url}
        current = url
        deadline = _Deadline(self.config.request_timeout, clock.retries)
        while True:
            location = await self._exchange(current, ask, result, deadline, clock)
            if location is None or result.error is not None:
                return
            result.redirects += (Hop(current, result.status or 0),)
            current = self._next_hop(current, location, seen, result)
            if result.error is not None:
                return
            result.status = None

    def _next_hop(self, current: str, location: str, seen: set[str], result: Fetched[T]) -> str:
        """The URL a Location leads to, normalised as a seed URL is; errors go to ``result``."""
        try:
            target = normalize(urljoin(current, header_values.location(location)))
        except header_values.BadHeader as exc:
            result.error, result.message = Reason.INVALID_URL, str(exc)
            return current
        except (BadUrl, httpx.InvalidURL, ValueError) as exc:  # IDNA errors are ValueErrors
            result.error = Reason.UNSAFE_URL if _is_other_scheme(location) else Reason.INVALID_URL
            result.message = f"redirect to {header_values.shown(location)}: {_text(exc)}"
            return current
        if target in seen:
            result.error = Reason.REDIRECT_LOOP
            result.message = f"redirect from {current} back to {target}, already visited"
        elif len(result.redirects) > self.config.max_redirects:
            result.error = Reason.TOO_MANY_REDIRECTS
            result.message = f"more than {self.config.max_redirects} redirects"
        seen.add(target)
        return target

    async def _exchange(
        self, url: str, ask: _Ask[T], result: Fetched[T], deadline: _Deadline, clock: _UrlClock
    ) -> str | None:
        """One hop with its retries; returns the Location of a redirect, else None.

        Only this URL's own answers decide its outcome: a pause another URL's
        Retry-After put on the host only delays this one (by at most the cap).
        A retry is made only when the URL's budget leaves room for it, and a
        timeout is retried at most once.
        """
        name = host_name(url)
        host = self.hosts.get(name)
        for attempt in range(clock.retries + 1):
            waiting = time.monotonic()
            async with host.slot(), self._slots:
                result.queued_ms += (time.monotonic() - waiting) * 1000
                clock.start()
                location = await self._attempt(url, name, ask, result, host, deadline, clock)
            over_cap = self._server_pause(result, host)
            if over_cap or attempt == clock.retries:
                return location
            if not is_transient(result.status, result.error):
                return location
            if result.error is Reason.TIMEOUT:
                if clock.timeouts_retried:
                    return location
                clock.timeouts_retried = True
            # after a Retry-After, the host's pause holds the next try back
            if result.retry_after is None:
                wait = self._retry.backoff(attempt, self._rng)
            else:
                wait = max(0.0, host.paused_until - time.monotonic())
            if clock.remaining() - wait < self._min_try:
                return location
            host.stats.retries += 1
            result.retries += 1
            deadline.retried()
            await asyncio.sleep(wait)
        return None

    def _server_pause(self, result: Fetched[T], host: Host) -> bool:
        """Honour this answer's Retry-After on the host, never beyond the cap.

        True when the server asked for more than the cap: this URL ends now,
        a 429 as a rate_limited warning, any other status as its own failure.
        """
        asked = result.retry_after
        if asked is None:
            return False
        cap = self.config.retry_after_cap
        host.pause(min(asked, cap))
        if asked <= cap:
            return False
        if result.status == 429:
            result.error = Reason.RATE_LIMITED
            result.message = (
                f"the server asked to wait {asked:.0f} s (Retry-After), over the {cap:g} s cap"
            )
        return True

    async def _attempt(
        self,
        url: str,
        name: str,
        ask: _Ask[T],
        result: Fetched[T],
        host: Host,
        deadline: _Deadline,
        clock: _UrlClock,
    ) -> str | None:
        """One request within what is left of the deadline and of the URL's budget.

        Returns a redirect's Location.
        """
        result.status, result.body, result.challenge, result.retry_after = None, None, None, None
        result.content_type = result.content_length = result.etag = result.last_modified = None
        result.error, result.message = None, ""
        remaining = deadline.remaining()
        budget_left = clock.remaining()
        over_budget = budget_left < remaining
        remaining = min(remaining, budget_left)
        if remaining <= 0:
            result.error, result.message = Reason.TIMEOUT, self._late(result, over_budget)
            return None
        bad_label = invalid_a_label(name) if "xn--" in name else None
        if bad_label is not None:
            result.error, result.message = Reason.INVALID_URL, f"the host of {url}: {bad_label}"
            return None
        target = httpx.URL(url)  # parsed once: the request and its Host header share it
        request = httpx.Request(
            ask.method,
            target,
            headers=self._headers_for(name, target, ask),
            extensions={"timeout": self._timeouts},
        )
        result.requests += 1
        self.counters.requests += 1
        host.stats.requests += 1
        started = time.monotonic()
        response: httpx.Response | None = None
        try:
            async with asyncio.timeout(remaining):
                response = await self._transport.handle_async_request(request)
                result.final_url = url
                return await self._answer(response, ask, result, host)
        except TimeoutError:
            result.error, result.message = Reason.TIMEOUT, self._late(result, over_budget)
        except (httpx.HTTPError, aiohttp.ClientError, OSError) as exc:
            result.error, result.message = classify(exc)
            if result.error in (Reason.UNSAFE_URL, Reason.DNS):  # nothing reached a server
                self.counters.requests -= 1
                host.stats.requests -= 1
        except UnicodeError as exc:  # the HTTP stack's IDNA codec refused the host
            result.error = Reason.INVALID_URL
            result.message = f"the host of {url} is not a valid domain name: {_text(exc)}"
        finally:
            elapsed = time.monotonic() - started
            deadline.spent += elapsed
            result.elapsed_ms += elapsed * 1000
            if response is not None:
                result.bytes_read += response.num_bytes_downloaded
                self.counters.bytes_read += response.num_bytes_downloaded
                await response.aclose()
            host.stats.latencies_ms.append(elapsed * 1000)
        return None

    def _late(self, result: Fetched[T], over_budget: bool = False) -> str:
        if over_budget:
            return f"no complete answer within the URL's {self._budget_text()}"
        message = f"no complete answer within {self.config.request_timeout:g} s"
        hops = len(result.redirects)
        if hops:
            message += f", a deadline shared by the {hops} redirect{'s' if hops > 1 else ''} before"
        return message

    async def _answer(
        self, response: httpx.Response, ask: _Ask[T], result: Fetched[T], host: Host
    ) -> str | None:
        status = response.status_code
        result.status = status
        location: str | None = response.headers.get("location")
        if status in REDIRECT_STATUSES and location:
            result.final_url = None
            return location
        _keep_headers(response.headers, result, self._validators)
        if status in RETRY_STATUSES:
            result.retry_after = header_values.retry_after(response.headers.get("retry-after"))
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

    def _headers_for(self, host: str, url: httpx.URL, ask: _Ask[T]) -> dict[str, str]:
        """What to send to ``url`` on ``host``; Host is given as sent, so httpx never decodes
        the name.

        (httpx's own Host header decodes punycode under IDNA 2008, which refuses
        names browsers reach, such as emoji domains.)
        """
        headers = {
            "Host": url.netloc.decode("ascii"),
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


def _keep_headers(headers: httpx.Headers, result: Fetched[T], validators: bool) -> None:
    """The few headers of the final answer that later stages read: judging, and with
    ``validators`` revalidation (only a results store uses them; a run keeps every URL's
    outcome, and two strings per URL are worth sparing at 300,000 URLs)."""
    content_type = headers.get("content-type")
    if content_type is not None and len(content_type) <= _INTERN_CHARS:
        content_type = sys.intern(content_type)
    result.content_type = content_type
    result.content_length = header_values.content_length(headers.get("content-length"))
    if validators:
        result.etag = headers.get("etag")
        result.last_modified = headers.get("last-modified")


def invalid_a_label(host: str) -> str | None:
    """Why a punycode (``xn--``) label of ``host`` names no domain, or None if none does.

    Labels already in punycode are kept as written, so real emoji domains
    (not valid IDNA 2008, reached by browsers) are checked; a label that does
    not decode, decodes to ASCII only, or to a control or delimiter character
    is refused, so no name that cannot exist is looked up.
    """
    for label in host.split("."):
        if not label.startswith("xn--"):
            continue
        try:
            decoded = label[4:].encode("ascii").decode("punycode")
            canonical = decoded.encode("punycode").decode("ascii") == label[4:]
        except (UnicodeError, ValueError):
            return f"{header_values.shown(label)} is not valid punycode"
        ascii_part = "".join(c for c in decoded if c.isascii())
        if (
            not canonical
            or decoded.isascii()
            or not decoded.isprintable()
            or any(c.isspace() for c in decoded)
            or not _LABEL_ASCII.fullmatch(ascii_part)
        ):
            return f"{header_values.shown(label)} does not encode a valid domain label"
    return None


def internal_message(exc: BaseException) -> str:
    """One line naming an unexpected exception, escaped and bounded, for a check's message."""
    text = " ".join(f"internal error: {type(exc).__name__}: {_text(exc)}".split())
    text = "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)
    return text if len(text) <= _INTERNAL_MESSAGE_CHARS else text[:_INTERNAL_MESSAGE_CHARS] + "..."


@dataclass(slots=True)
class _Deadline:
    """The request deadline of one redirect chain: one ``timeout``, plus one per retry.

    Only time spent in requests counts (not queueing for a host or sleeping
    before a retry), and at most ``retries`` retries add time, so however many
    hops a chain has, it costs at most ``(retries + 1) * timeout`` of requests.
    """

    timeout: float
    retries: int
    spent: float = 0.0
    granted: int = 1

    def remaining(self) -> float:
        return self.timeout * self.granted - self.spent

    def retried(self) -> None:
        self.granted = min(self.granted + 1, self.retries + 1)


@dataclass(slots=True)
class _UrlClock:
    """What one fetch may still spend of its URL's budget, from its first request on.

    Waiting for a first slot is queueing, not cost; from the first request on,
    every second counts (requests, backoff, waits for a slot to retry).
    """

    budget: float
    #: Retries this fetch may make (none for a URL asked once).
    retries: int
    started: float | None = None
    timeouts_retried: bool = False

    def start(self) -> None:
        if self.started is None:
            self.started = time.monotonic()

    def spent(self) -> float:
        return 0.0 if self.started is None else time.monotonic() - self.started

    def remaining(self) -> float:
        return self.budget - self.spent()


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
        if isinstance(item, ResolverUnreachable):
            return Reason.DNS, str(item)
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
