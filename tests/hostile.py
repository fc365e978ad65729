"""Misbehaving routes for ``tests.server.LoopbackServer``: the network engine's limits.

Each is a ``Behaviour`` built by a small constructor: a hang, a trickle, a reset,
garbage, a gzip bomb, a per-route concurrency cap and so on::

    url = server.route("/slow", trickle(rate_bytes_per_s=1))
    ...  # run the checker against url
    assert server.hits("/slow") == 1

The server, its request records and the TLS helpers live in ``tests.server``; they are
re-exported here (``HostileServer`` is ``LoopbackServer``) for older imports.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
import zlib
from collections.abc import Iterable, Mapping

from tests.server import Answer as Answer
from tests.server import Behaviour as Behaviour
from tests.server import LoopbackServer, connection_header, merge_headers, response_head
from tests.server import Request as Request
from tests.server import Tls as Tls
from tests.server import make_tls as make_tls
from tests.server import self_signed_tls as self_signed_tls

HostileServer = LoopbackServer  # the older name: one server does both now
_POLL = 0.05  # seconds between checks for a vanished client


async def _until_gone(request: Request) -> None:
    """Wait until the client disconnects (or the task is cancelled by ``stop``)."""
    while not request.client_gone():
        await asyncio.sleep(_POLL)


class Hang(Behaviour):
    """Read the request and never answer."""

    async def respond(self, request: Request, writer: asyncio.StreamWriter) -> bool:
        await _until_gone(request)
        return False


class SlowHeaders(Behaviour):
    """Wait ``delay`` seconds, then answer with ``inner``."""

    def __init__(self, delay: float, inner: Behaviour) -> None:
        self.delay = delay
        self.inner = inner

    async def respond(self, request: Request, writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(self.delay)
        return await self.inner.respond(request, writer)

    def clear(self) -> None:
        self.inner.clear()


class Trickle(Behaviour):
    """Headers at once, then the body one byte every ``1 / rate`` seconds."""

    def __init__(self, rate_bytes_per_s: float, total: int) -> None:
        self.interval = 1.0 / rate_bytes_per_s
        self.total = total

    async def respond(self, request: Request, writer: asyncio.StreamWriter) -> bool:
        headers = {
            "Content-Type": "text/html",
            "Content-Length": str(self.total),
            "Connection": connection_header(request),
        }
        writer.write(response_head(200, headers.items()))
        await writer.drain()
        if request.method == "HEAD":
            return request.keep_alive
        for sent in range(self.total):
            if sent:
                await asyncio.sleep(self.interval)
            if request.client_gone() or writer.is_closing():
                return False
            writer.write(b"x")
            await writer.drain()
        return request.keep_alive


class BodyNeverComes(Behaviour):
    """A 200 promising ``content_length`` bytes, then silence."""

    def __init__(self, content_length: int) -> None:
        self.content_length = content_length

    async def respond(self, request: Request, writer: asyncio.StreamWriter) -> bool:
        headers = {"Content-Type": "text/html", "Content-Length": str(self.content_length)}
        writer.write(response_head(200, headers.items()))
        await writer.drain()
        await _until_gone(request)
        return False


class Reset(Behaviour):
    """Read the request, then close with a TCP RST (SO_LINGER 0) without answering."""

    async def respond(self, request: Request, writer: asyncio.StreamWriter) -> bool:
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()
        return False


class EmptyReply(Behaviour):
    """Read the request, then close cleanly without sending a byte."""

    async def respond(self, request: Request, writer: asyncio.StreamWriter) -> bool:
        return False


class Malformed(Behaviour):
    """Send bytes that are not an HTTP response, then close."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    async def respond(self, request: Request, writer: asyncio.StreamWriter) -> bool:
        writer.write(self.data)
        await writer.drain()
        return False


class Sequence(Behaviour):
    """The Nth request to a path gets the Nth behaviour; the last one repeats."""

    def __init__(self, steps: Iterable[Behaviour]) -> None:
        self.steps = tuple(steps)
        if not self.steps:
            raise ValueError("sequence() needs at least one behaviour")
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    async def respond(self, request: Request, writer: asyncio.StreamWriter) -> bool:
        with self._lock:
            index = self._counts.get(request.path, 0)
            self._counts[request.path] = index + 1
        step = self.steps[min(index, len(self.steps) - 1)]
        return await step.respond(request, writer)

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()
        for step in self.steps:
            step.clear()


class Limited(Behaviour):
    """At most ``cap`` requests at once; more get 429, the rest wait ``delay`` then ``inner``.

    Route one instance at several paths to cap them as a group (one "host").
    ``peak`` is the most requests seen at once, counting one that was turned away, so
    ``peak <= cap`` proves the client never exceeded ``cap``.
    """

    def __init__(
        self, cap: int, inner: Behaviour, delay: float, retry_after: str | None = None
    ) -> None:
        self.cap = cap
        self.inner = inner
        self.delay = delay
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        self._busy = Answer(429, b"", {"Content-Type": "text/plain", **headers})
        self._lock = threading.Lock()
        self._current = 0
        self._peak = 0
        self._rejected = 0
        self._admitted = 0

    @property
    def peak(self) -> int:
        with self._lock:
            return self._peak

    @property
    def rejected(self) -> int:
        """How many 429s were sent."""
        with self._lock:
            return self._rejected

    @property
    def admitted(self) -> int:
        """How many requests were let through to ``inner`` (counted on arrival)."""
        with self._lock:
            return self._admitted

    async def respond(self, request: Request, writer: asyncio.StreamWriter) -> bool:
        with self._lock:
            self._peak = max(self._peak, self._current + 1)
            admitted = self._current < self.cap
            if admitted:
                self._current += 1
                self._admitted += 1
            else:
                self._rejected += 1
        if not admitted:
            return await self._busy.respond(request, writer)
        try:
            await asyncio.sleep(self.delay)
            return await self.inner.respond(request, writer)
        finally:
            with self._lock:
                self._current -= 1

    def clear(self) -> None:
        with self._lock:
            self._peak = self._rejected = self._admitted = 0
        self.inner.clear()


class MethodSplit(Behaviour):
    """HEAD is answered by ``head``, every other method by ``get``."""

    def __init__(self, head: Behaviour, get: Behaviour) -> None:
        self.head = head
        self.get = get

    async def respond(self, request: Request, writer: asyncio.StreamWriter) -> bool:
        chosen = self.head if request.method == "HEAD" else self.get
        return await chosen.respond(request, writer)

    def clear(self) -> None:
        self.head.clear()
        self.get.clear()


_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # no name, mtime 0, OS unknown
_DEFLATE_END = b"\x03\x00"  # an empty final fixed-Huffman block
_BOMB_CHUNK = 1 << 20


def _deflate_zeros(size: int) -> bytes:
    """Raw deflate of ``size`` zeros ending in a full flush: byte-aligned, history-free."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(bytes(size)) + compressor.flush(zlib.Z_FULL_FLUSH)


class GzipBomb(Behaviour):
    """A 200 gzip body of about 1/1000 the size of the ``decompressed_size`` zeros it holds.

    The stream is a repeated, history-free deflate unit, so it is sent lazily in
    chunks; the CRC is computed as it goes. The result is a valid gzip stream.
    """

    def __init__(self, decompressed_size: int) -> None:
        self.decompressed_size = decompressed_size
        self._units, remainder = divmod(decompressed_size, _BOMB_CHUNK)
        self._unit = _deflate_zeros(_BOMB_CHUNK)
        self._remainder = remainder
        self._tail = _deflate_zeros(remainder) if remainder else b""
        self.content_length = (
            len(_GZIP_HEADER)
            + self._units * len(self._unit)
            + len(self._tail)
            + len(_DEFLATE_END)
            + 8
        )

    async def respond(self, request: Request, writer: asyncio.StreamWriter) -> bool:
        headers = {
            "Content-Type": "text/html",
            "Content-Encoding": "gzip",
            "Content-Length": str(self.content_length),
            "Connection": connection_header(request),
        }
        writer.write(response_head(200, headers.items()))
        if request.method == "HEAD":
            await writer.drain()
            return request.keep_alive
        writer.write(_GZIP_HEADER)
        zeros = bytes(_BOMB_CHUNK)
        crc = 0
        for _ in range(self._units):
            if request.client_gone() or writer.is_closing():
                return False
            writer.write(self._unit)
            crc = zlib.crc32(zeros, crc)
            await writer.drain()
            await asyncio.sleep(0)  # drain() need not yield; let a disconnect be noticed
        crc = zlib.crc32(bytes(self._remainder), crc)
        size = self.decompressed_size & 0xFFFFFFFF
        writer.write(self._tail + _DEFLATE_END + struct.pack("<II", crc, size))
        await writer.drain()
        return request.keep_alive


_OK_BODY = b"<!doctype html><html><head><title>ok</title></head><body>ok</body></html>"


def ok(
    body: bytes = _OK_BODY,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    content_type: str = "text/html",
) -> Answer:
    """A normal keep-alive answer with Content-Length."""
    return Answer(status, body, dict(merge_headers({"Content-Type": content_type}, headers or {})))


def status(code: int, headers: Mapping[str, str] | None = None, body: bytes = b"") -> Answer:
    """A bare status answer (no Content-Type unless given in ``headers``)."""
    return Answer(code, body, dict(headers or {}))


def redirect(location: str, status: int = 302) -> Answer:
    return Answer(status, b"", {"Location": location})


def hang() -> Hang:
    return Hang()


def slow_headers(delay: float, inner: Behaviour | None = None) -> SlowHeaders:
    """Answer (with ``inner``, default ``ok()``) only after ``delay`` seconds."""
    return SlowHeaders(delay, inner or ok())


def trickle(rate_bytes_per_s: float = 1, total: int = 10_000) -> Trickle:
    return Trickle(rate_bytes_per_s, total)


def body_never_comes(content_length: int = 100_000) -> BodyNeverComes:
    return BodyNeverComes(content_length)


def reset() -> Reset:
    return Reset()


def empty_reply() -> EmptyReply:
    return EmptyReply()


def malformed(data: bytes = b"HELLO THERE\r\n\r\n") -> Malformed:
    return Malformed(data)


def sequence(*behaviours: Behaviour) -> Sequence:
    return Sequence(behaviours)


def limited(
    max_in_flight: int = 4,
    inner: Behaviour | None = None,
    delay: float = 0.05,
    retry_after: str | None = None,
) -> Limited:
    return Limited(max_in_flight, inner or ok(), delay, retry_after)


def method_split(head: Behaviour | None = None, get: Behaviour | None = None) -> MethodSplit:
    """Defaults: HEAD gets 405, everything else ``ok()``."""
    return MethodSplit(head or status(405), get or ok())


def gzip_bomb(decompressed_size: int = 1_000_000_000) -> GzipBomb:
    return GzipBomb(decompressed_size)
