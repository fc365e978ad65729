"""A hostile HTTP/1.1 server on 127.0.0.1 for testing the network engine's limits.

``HostileServer`` speaks raw HTTP over asyncio streams in its own event loop on a
background thread, so synchronous tests (which run the checker with ``asyncio.run``)
can use it. Each route is a ``Behaviour``: a normal answer, a hang, a trickle, a
reset, garbage, a gzip bomb, a per-route concurrency cap and so on. The server logs
every request, every accepted connection and how many requests were in flight at
once, so tests assert from the server side::

    with HostileServer() as server:
        url = server.route("/slow", trickle(rate_bytes_per_s=1))
        ...  # run the checker against url
        assert server.hits("/slow") == 1

TLS: ``HostileServer(tls=make_tls().server)`` serves a certificate for 127.0.0.1 and
localhost signed by a fresh trustme CA; a client trusts it with
``Tls.client_context()`` or the PEM file from ``Tls.write_ca(path)`` (for example
via ``SSL_CERT_FILE``). ``self_signed_tls()`` gives a self-signed certificate that
no client trusts unless handed its own PEM.

Every wait in the server ends when ``stop()`` is called: open connections are
aborted and their tasks cancelled, so ``stop()`` returns promptly even while hung
or trickling requests are open. Hung behaviours also end when the client goes away.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import socket
import ssl
import struct
import tempfile
import threading
import time
import zlib
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from types import TracebackType

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

_POLL = 0.05  # seconds between checks for a vanished client
_CLOSE_GRACE = 1.0  # seconds a clean close may take before the transport is aborted
_MAX_REQUEST_BODY = 1 << 20


@dataclass(frozen=True)
class Request:
    """One parsed request: ``headers`` has lower-cased names, ``at`` is monotonic time."""

    method: str
    path: str
    version: str
    headers: dict[str, str]
    at: float
    connection: int
    _reader: asyncio.StreamReader = field(repr=False, compare=False)

    @property
    def keep_alive(self) -> bool:
        """Whether the client allows the connection to be reused after this request."""
        wanted = self.headers.get("connection", "").lower()
        if self.version == "HTTP/1.0":
            return wanted == "keep-alive"
        return wanted != "close"

    def client_gone(self) -> bool:
        """True once the client has closed or reset the connection."""
        return self._reader.at_eof() or self._reader.exception() is not None


class Behaviour(ABC):
    """How a route answers. ``respond`` returns True to keep the connection open."""

    @abstractmethod
    async def respond(self, request: Request, writer: asyncio.StreamWriter) -> bool: ...

    def clear(self) -> None:  # noqa: B027 - optional hook, most behaviours have no state
        """Forget per-test counters (called by ``HostileServer.reset_log``)."""


def _head(status: int, headers: Iterable[tuple[str, str]]) -> bytes:
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Unknown"
    lines = [f"HTTP/1.1 {status} {reason}", *(f"{name}: {value}" for name, value in headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _merge(defaults: Mapping[str, str], extra: Mapping[str, str]) -> list[tuple[str, str]]:
    """Default headers overridden (case-insensitively) by ``extra``."""
    overridden = {name.lower() for name in extra}
    kept = [(name, value) for name, value in defaults.items() if name.lower() not in overridden]
    return kept + list(extra.items())


def _connection(request: Request) -> str:
    return "keep-alive" if request.keep_alive else "close"


async def _until_gone(request: Request) -> None:
    """Wait until the client disconnects (or the task is cancelled by ``stop``)."""
    while not request.client_gone():
        await asyncio.sleep(_POLL)


class Respond(Behaviour):
    """A complete answer with Content-Length; the body is omitted for HEAD."""

    def __init__(
        self,
        status: int = 200,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
        content_type: str | None = None,
    ) -> None:
        self.status = status
        self.body = body
        self.headers = dict(headers or {})
        self.content_type = content_type

    async def respond(self, request: Request, writer: asyncio.StreamWriter) -> bool:
        defaults = {"Content-Type": self.content_type} if self.content_type else {}
        defaults |= {"Content-Length": str(len(self.body)), "Connection": _connection(request)}
        writer.write(_head(self.status, _merge(defaults, self.headers)))
        if request.method != "HEAD":
            writer.write(self.body)
        await writer.drain()
        return request.keep_alive


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
            "Connection": _connection(request),
        }
        writer.write(_head(200, headers.items()))
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
        writer.write(_head(200, headers.items()))
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
        self._busy = Respond(429, b"", headers, "text/plain")
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
            "Connection": _connection(request),
        }
        writer.write(_head(200, headers.items()))
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
) -> Respond:
    """A normal keep-alive answer with Content-Length."""
    return Respond(status, body, headers, content_type)


def status(code: int, headers: Mapping[str, str] | None = None, body: bytes = b"") -> Respond:
    """A bare status answer (no Content-Type unless given in ``headers``)."""
    return Respond(code, body, headers)


def redirect(location: str, status: int = 302) -> Respond:
    return Respond(status, b"", {"Location": location})


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


@dataclass(frozen=True)
class Tls:
    """A server TLS context and the PEM certificate a client must trust to verify it."""

    server: ssl.SSLContext
    ca_pem: bytes

    def client_context(self) -> ssl.SSLContext:
        """A verifying client context that trusts only ``ca_pem``."""
        return ssl.create_default_context(cadata=self.ca_pem.decode("ascii"))

    def write_ca(self, path: Path) -> Path:
        """Write ``ca_pem`` to ``path`` (for ``SSL_CERT_FILE`` or a CA-file option)."""
        path.write_bytes(self.ca_pem)
        return path


def make_tls(ca: trustme.CA | None = None) -> Tls:
    """A certificate for 127.0.0.1 and localhost signed by ``ca`` (a fresh CA if None)."""
    authority = ca or trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return Tls(context, authority.cert_pem.bytes())


def self_signed_tls() -> Tls:
    """A self-signed certificate for 127.0.0.1 and localhost, trusted by nobody."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hostile self-signed")])
    now = datetime.datetime.now(datetime.UTC)
    names: list[x509.GeneralName] = [
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.DNSName("localhost"),
    ]
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    with tempfile.TemporaryDirectory() as directory:
        cert_path, key_path = Path(directory, "cert.pem"), Path(directory, "key.pem")
        cert_path.write_bytes(cert_pem)
        key_path.write_bytes(key_pem)
        context.load_cert_chain(cert_path, key_path)
    return Tls(context, cert_pem)


async def _read_request(reader: asyncio.StreamReader, connection: int) -> Request | None:
    """Parse one request head and discard its body; None on EOF or anything unparseable."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        return None
    method, path, version = parts
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return None
    try:
        length = int(headers.get("content-length", "0"))
    except ValueError:
        return None
    if not 0 <= length <= _MAX_REQUEST_BODY:
        return None
    if length:
        await reader.readexactly(length)
    return Request(method, path, version, headers, time.monotonic(), connection, reader)


class HostileServer:
    """Raw HTTP/1.1 on an ephemeral 127.0.0.1 port; routes are ``Behaviour`` objects.

    Unrouted paths get 404. Logs (requests, connections, in-flight peaks, handler
    errors) are thread-safe and cleared by ``reset_log``.
    """

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.tls = tls
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]
        self._lock = threading.Lock()
        self._routes: dict[str, Behaviour] = {}
        self._not_found = Respond(
            404, b"<!doctype html><title>Not found</title>", None, "text/html"
        )
        self._requests: list[Request] = []
        self._events: list[tuple[str, int]] = []  # (path, +1 start / -1 end)
        self._epoch = 0
        self._connections = 0
        self._errors: list[BaseException] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="hostile-server", daemon=True)

    # lifecycle

    def start(self) -> HostileServer:
        self._thread.start()
        if not self._ready.wait(5):
            raise RuntimeError("hostile server did not start")
        if self._failure is not None:
            raise RuntimeError("hostile server failed to start") from self._failure
        return self

    def stop(self) -> None:
        """Abort every connection and end the loop thread; returns within a few seconds."""
        loop, stopping = self._loop, self._stopping
        if not self._thread.is_alive() or loop is None or stopping is None:
            self._sock.close()
            return
        with contextlib.suppress(RuntimeError):  # the loop may already be closed
            loop.call_soon_threadsafe(stopping.set)
        self._thread.join(timeout=5)
        if self._thread.is_alive():
            raise RuntimeError("hostile server thread did not stop")

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def __enter__(self) -> HostileServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # routes

    def url(self, path: str) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def route(self, path: str, behaviour: Behaviour) -> str:
        """Serve ``behaviour`` at ``path`` (exact target, or the target minus its query)."""
        with self._lock:
            self._routes["/" + path.lstrip("/")] = behaviour
        return self.url(path)

    def reset_log(self, routes: bool = False) -> None:
        """Clear logs, counters and every route's state; also drop the routes if asked."""
        with self._lock:
            self._requests.clear()
            self._events.clear()
            self._epoch += 1
            self._connections = 0
            self._errors.clear()
            behaviours = list(self._routes.values())
            if routes:
                self._routes.clear()
        for behaviour in behaviours:
            behaviour.clear()

    # logs

    @property
    def requests(self) -> list[Request]:
        with self._lock:
            return list(self._requests)

    @property
    def connections(self) -> int:
        """TCP connections accepted since the last ``reset_log``."""
        with self._lock:
            return self._connections

    @property
    def errors(self) -> list[BaseException]:
        """Unexpected exceptions raised by behaviours (a bug in a test or in this module)."""
        with self._lock:
            return list(self._errors)

    def hits(self, path: str) -> int:
        return len(self.methods(path))

    def methods(self, path: str) -> list[str]:
        with self._lock:
            return [request.method for request in self._requests if request.path == path]

    @property
    def max_in_flight(self) -> int:
        """Most requests being handled at once, whole server."""
        return self.max_in_flight_for("")

    def max_in_flight_for(self, prefix: str) -> int:
        """Most requests being handled at once among paths starting with ``prefix``."""
        return self._sweep(prefix)[1]

    def in_flight(self, prefix: str = "") -> int:
        """Requests being handled right now among paths starting with ``prefix``.

        A request ends just after its last byte is sent, so a client can see its
        answer a moment before this drops; use ``wait_idle`` before asserting 0.
        """
        return self._sweep(prefix)[0]

    def wait_idle(self, prefix: str = "", timeout: float = 2.0) -> bool:
        """Wait until no request under ``prefix`` is in flight; False on timeout."""
        deadline = time.monotonic() + timeout
        while self.in_flight(prefix):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def _sweep(self, prefix: str) -> tuple[int, int]:
        with self._lock:
            events = list(self._events)
        current = peak = 0
        for path, delta in events:
            if path.startswith(prefix):
                current += delta
                peak = max(peak, current)
        return current, peak

    # the loop thread

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # pragma: no cover - surfaced by start()
            self._failure = exc
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        server = await asyncio.start_server(self._on_connection, sock=self._sock)
        self._ready.set()
        try:
            await self._stopping.wait()
        finally:
            server.close()
            for writer in list(self._writers):
                writer.transport.abort()
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            if tasks:
                await asyncio.wait(tasks, timeout=2)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(server.wait_closed(), 1)

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        with self._lock:
            self._connections += 1
            connection = self._connections
        try:
            await self._converse(reader, writer, connection)
        except (OSError, EOFError, asyncio.LimitOverrunError, asyncio.CancelledError):
            pass  # cancelled only by stop(); ending quietly keeps asyncio from logging it
        except Exception as exc:
            with self._lock:
                self._errors.append(exc)
        finally:
            await _close(writer)
            self._writers.discard(writer)
            self._tasks.discard(task)

    async def _converse(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, connection: int
    ) -> None:
        if self.tls is not None:
            await writer.start_tls(self.tls, ssl_handshake_timeout=5)
        while True:
            request = await _read_request(reader, connection)
            if request is None:
                return
            with self._lock:
                behaviour = self._routes.get(request.path) or self._routes.get(
                    request.path.partition("?")[0], self._not_found
                )
                self._requests.append(request)
                self._events.append((request.path, 1))
                epoch = self._epoch
            try:
                keep = await behaviour.respond(request, writer)
            finally:
                with self._lock:
                    if epoch == self._epoch:
                        self._events.append((request.path, -1))
            if not keep or writer.is_closing():
                return


async def _close(writer: asyncio.StreamWriter) -> None:
    """Close cleanly (FIN, TLS close_notify) but abort if that takes too long."""
    if writer.transport.is_closing():  # aborted, lost, or a failed TLS handshake
        writer.transport.abort()
        return
    writer.close()
    try:
        await asyncio.wait_for(writer.wait_closed(), _CLOSE_GRACE)
    except (OSError, asyncio.CancelledError):
        writer.transport.abort()
