"""The one loopback HTTP server for integration tests: every route is a scriptable behaviour.

``LoopbackServer`` speaks raw HTTP/1.1 over asyncio streams in its own event loop on a
background thread, so synchronous tests (which run the checker with ``asyncio.run``) can
use it. Each route is a ``Behaviour``: a plain ``Answer``, a CDN-like ``StaticFile``
(ETag, byte ranges, gzip), a callable written against ``BaseHTTPRequestHandler`` (run in
its own thread), or one of the misbehaviours in ``tests.hostile`` (hangs, trickles,
resets, garbage, gzip bombs, concurrency caps). The server logs every request, every
accepted connection and how many requests were in flight at once, so tests assert from
the server side::

    url = server.image("/a.jpg", picture(40, 30), ranges=True)
    ...  # run the checker against url
    assert server.count("/a.jpg") == 1

Tests get it from the fixtures in ``tests/conftest.py``: ``server`` (shared, plain HTTP,
fresh routes and logs per test) and ``server_factory`` (own servers: another loopback
address, TLS with ``make_tls()``, HTTP/2 by ALPN). With ``http2=True`` a TLS server also
offers h2; requests that arrive over it are logged with version ``HTTP/2`` and get the
route's static answer (``Behaviour.answer``); misbehaviours are HTTP/1.1 only.

Every wait in the server ends when ``stop()`` is called: open connections are aborted
and their tasks cancelled, so ``stop()`` returns promptly even while hung or trickling
requests are open. Hung behaviours also end when the client goes away.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import gzip as gzip_module
import hashlib
import io
import ipaddress
import re
import socket
import ssl
import tempfile
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.client import parse_headers
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, overload

import h2.config
import h2.connection
import h2.events

if TYPE_CHECKING:
    import trustme  # imported when needed: most tests use no TLS

_CLOSE_GRACE = 1.0  # seconds a clean close may take before the transport is aborted
_MAX_REQUEST_BODY = 1 << 20
_HTML = {"Content-Type": "text/html; charset=utf-8"}
_T = TypeVar("_T")


class Headers(dict[str, str]):
    """Request headers keyed by lower-cased name; lookups ignore case, as HTTP does."""

    def __init__(self, pairs: Iterable[tuple[str, str]] = ()) -> None:
        super().__init__((name.lower(), value) for name, value in pairs)

    def __getitem__(self, name: str) -> str:
        return super().__getitem__(name.lower())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and super().__contains__(name.lower())

    @overload
    def get(self, name: str, default: None = None, /) -> str | None: ...
    @overload
    def get(self, name: str, default: str, /) -> str: ...
    @overload
    def get(self, name: str, default: _T, /) -> str | _T: ...
    def get(self, name: str, default: object = None, /) -> object:
        return super().get(name.lower(), default)


@dataclass(frozen=True)
class Request:
    """One request as the server saw it; ``at`` is monotonic time, ``connection`` counts from 1."""

    method: str
    path: str
    version: str
    headers: Headers
    at: float
    connection: int
    _reader: asyncio.StreamReader = field(repr=False, compare=False)
    raw_headers: bytes = field(default=b"", repr=False, compare=False)

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


Hit = Request  # the request log's entries (the older name)


class HitLog(list[Request]):
    """The request log: a list of ``Request``; calling it counts the requests for a path."""

    def __call__(self, path: str) -> int:
        return sum(1 for request in list(self) if request.path == path)


class Behaviour(ABC):
    """How a route answers. ``respond`` returns True to keep the connection open."""

    @abstractmethod
    async def respond(self, request: Request, writer: asyncio.StreamWriter) -> bool: ...

    def answer(self, request: Request) -> Answer | None:
        """The complete answer for ``request``, if there is one (what HTTP/2 serves)."""
        return None

    def clear(self) -> None:  # noqa: B027 - optional hook, most behaviours have no state
        """Forget per-test counters (called by ``LoopbackServer.reset_log``)."""


def response_head(status: int, headers: Iterable[tuple[str, str]]) -> bytes:
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Unknown"
    lines = [f"HTTP/1.1 {status} {reason}", *(f"{name}: {value}" for name, value in headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def merge_headers(defaults: Mapping[str, str], extra: Mapping[str, str]) -> list[tuple[str, str]]:
    """Default headers overridden (case-insensitively) by ``extra``."""
    overridden = {name.lower() for name in extra}
    kept = [(name, value) for name, value in defaults.items() if name.lower() not in overridden]
    return kept + list(extra.items())


def connection_header(request: Request) -> str:
    """The Connection header value that matches the client's wish."""
    return "keep-alive" if request.keep_alive else "close"


@dataclass(frozen=True)
class Answer(Behaviour):
    """A complete answer with Content-Length (unless ``headers`` set one); no body for HEAD."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    async def respond(self, request: Request, writer: asyncio.StreamWriter) -> bool:
        defaults = {"Content-Length": str(len(self.body)), "Connection": connection_header(request)}
        writer.write(response_head(self.status, merge_headers(defaults, self.headers)))
        if request.method != "HEAD":
            writer.write(self.body)
        await writer.drain()
        return request.keep_alive

    def answer(self, request: Request) -> Answer:
        return self


_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")


class StaticFile(Behaviour):
    """A file served like a CDN: ETag, single byte ranges (206/416), optional gzip."""

    def __init__(self, data: bytes, content_type: str, *, ranges: bool, gzip: bool) -> None:
        self.data = data
        self.content_type = content_type
        self.ranges = ranges
        self.gzip = gzip
        self.etag = f'"{hashlib.sha1(data).hexdigest()[:16]}"'

    def answer(self, request: Request) -> Answer:
        return self._answer(request.headers.get("range"), request.headers.get("if-range"))

    async def respond(self, request: Request, writer: asyncio.StreamWriter) -> bool:
        return await self.answer(request).respond(request, writer)

    def __call__(self, handler: BaseHTTPRequestHandler) -> None:
        """Serve through a ``BaseHTTPRequestHandler`` (for callables that wrap a file)."""
        answer = self._answer(handler.headers.get("Range"), handler.headers.get("If-Range"))
        handler.send_response(answer.status)
        for name, value in answer.headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(answer.body)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(answer.body)

    def _answer(self, wanted: str | None, if_range: str | None) -> Answer:
        headers = {"Content-Type": self.content_type, "ETag": self.etag}
        match = _RANGE.match(wanted or "") if self.ranges else None
        if match and (if_range is None or if_range == self.etag):
            size = len(self.data)
            first, last = match.groups()
            if first:
                start, end = int(first), min(int(last) if last else size - 1, size - 1)
            else:
                start, end = max(0, size - int(last)), size - 1
            if start >= size or start > end:
                return Answer(416, b"", headers | {"Content-Range": f"bytes */{size}"})
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
            return Answer(206, self.data[start : end + 1], headers)
        body = self.data
        if self.gzip:
            body = gzip_module.compress(body)
            headers["Content-Encoding"] = "gzip"
        if self.ranges:
            headers["Accept-Ranges"] = "bytes"
        return Answer(200, body, headers)


Handler = Callable[[BaseHTTPRequestHandler], None]


class _ToLoop(io.BufferedIOBase):
    """A blocking ``wfile`` for a handler thread: each write is sent (and drained) on the loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, writer: asyncio.StreamWriter) -> None:
        self._loop = loop
        self._writer = writer
        self.wrote = False

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self.wrote = True
        asyncio.run_coroutine_threadsafe(self._send(chunk), self._loop).result(timeout=30)
        return len(chunk)

    async def _send(self, chunk: bytes) -> None:
        self._writer.write(chunk)
        await self._writer.drain()


class _HandlerShim(BaseHTTPRequestHandler):
    """The parts of ``BaseHTTPRequestHandler`` a route callable uses, for one parsed request."""

    protocol_version = "HTTP/1.1"

    def __init__(self, request: Request, wfile: _ToLoop) -> None:
        # no super().__init__(): that would read a request from a socket and handle it
        self.command, self.path, self.request_version = (
            request.method,
            request.path,
            request.version,
        )
        self.requestline = f"{request.method} {request.path} {request.version}"
        self.headers = parse_headers(io.BytesIO(request.raw_headers))
        self.wfile = wfile
        self.close_connection = not request.keep_alive
        self.client_address = ("127.0.0.1", 0)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class Scripted(Behaviour):
    """A route written as a ``BaseHTTPRequestHandler`` callable, run in a thread of its own.

    The callable may block (sleep, wait for an event) without holding up other routes.
    If it sends nothing, the connection is closed; if the client has gone, its write
    fails as it would with ``http.server``.
    """

    def __init__(self, handler: Handler) -> None:
        self.handler = handler

    async def respond(self, request: Request, writer: asyncio.StreamWriter) -> bool:
        loop = asyncio.get_running_loop()
        wfile = _ToLoop(loop, writer)
        shim = _HandlerShim(request, wfile)
        done: asyncio.Future[BaseException | None] = loop.create_future()

        def settle(error: BaseException | None) -> None:
            if not done.done():
                done.set_result(error)

        def run() -> None:
            error: BaseException | None = None
            try:
                self.handler(shim)
            except BaseException as exc:
                error = exc
            with contextlib.suppress(RuntimeError):  # the server stopped meanwhile
                loop.call_soon_threadsafe(settle, error)

        threading.Thread(target=run, name="loopback-route", daemon=True).start()
        error = await done
        if isinstance(error, OSError):
            return False  # the client stopped reading: the point of several tests
        if error is not None:
            raise error
        return wfile.wrote and not shim.close_connection


def as_behaviour(route: Behaviour | Handler) -> Behaviour:
    return route if isinstance(route, Behaviour) else Scripted(route)


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
    """A certificate for 127.0.0.1 and localhost signed by ``ca`` (a fresh trustme CA if None)."""
    import trustme

    authority = ca or trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return Tls(context, authority.cert_pem.bytes())


def self_signed_tls() -> Tls:
    """A self-signed certificate for 127.0.0.1 and localhost, trusted by nobody."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "loopback self-signed")])
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
        raw = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    first, _, head = raw.partition(b"\r\n")
    parts = first.decode("latin-1").split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        return None
    method, path, version = parts
    pairs = (line.partition(":") for line in head.decode("latin-1").split("\r\n"))
    headers = Headers((name.strip(), value.strip()) for name, colon, value in pairs if colon)
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
    return Request(method, path, version, headers, time.monotonic(), connection, reader, head)


class LoopbackServer:
    """HTTP/1.1 (and optionally h2 over TLS) on an ephemeral port; routes are behaviours.

    Unrouted paths get 404. Logs (requests, connections, in-flight peaks, behaviour
    errors) are thread-safe and cleared by ``reset_log``.
    """

    def __init__(
        self, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None, *, http2: bool = False
    ) -> None:
        if http2:
            if tls is None:
                raise ValueError("HTTP/2 is offered by ALPN, so it needs tls")
            tls.set_alpn_protocols(["h2", "http/1.1"])
        self.host = host
        self.tls = tls
        self._sock = socket.create_server((host, 0))
        self.port: int = self._sock.getsockname()[1]
        self._lock = threading.Lock()
        self.routes: dict[str, Behaviour | Handler] = {}
        self._not_found = Answer(404, b"<!doctype html><title>Not found</title>", _HTML)
        self.hits = HitLog()
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
        self._thread = threading.Thread(target=self._run, name="loopback-server", daemon=True)

    # lifecycle

    def start(self) -> LoopbackServer:
        self._thread.start()
        if not self._ready.wait(5):
            raise RuntimeError("loopback server did not start")
        if self._failure is not None:
            raise RuntimeError("loopback server failed to start") from self._failure
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
            raise RuntimeError("loopback server thread did not stop")

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def __enter__(self) -> LoopbackServer:
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
        """The URL of ``path`` on this server (``""`` gives the bare origin)."""
        scheme = "https" if self.tls else "http"
        if path and not path.startswith("/"):
            path = "/" + path
        return f"{scheme}://{self.host}:{self.port}{path}"

    def add(self, path: str, route: Behaviour | Handler) -> str:
        """Serve ``route`` at exactly ``path`` (an absolute URL too, for proxy requests)."""
        with self._lock:
            self.routes[path] = route
        return self.url(path)

    def route(self, path: str, behaviour: Behaviour | Handler) -> str:
        """Serve ``behaviour`` at ``path`` (exact target, or the target minus its query)."""
        return self.add("/" + path.lstrip("/"), behaviour)

    def page(self, path: str, status: int = 200) -> str:
        body = f"<!doctype html><html><head><title>{path}</title></head><body>ok</body></html>"
        return self.add(path, Answer(status, body.encode(), _HTML))

    def image(
        self,
        path: str,
        data: bytes,
        content_type: str = "image/jpeg",
        *,
        ranges: bool = False,
        gzip: bool = False,
    ) -> str:
        """Serve ``data``; with ``ranges``, honour single byte ranges as a CDN does."""
        if not ranges and not gzip:
            return self.add(path, Answer(200, data, {"Content-Type": content_type}))
        return self.add(path, StaticFile(data, content_type, ranges=ranges, gzip=gzip))

    def redirect(self, path: str, location: str, status: int = 302) -> str:
        return self.add(path, Answer(status, b"", {"Location": location}))

    def reset_log(self, routes: bool = False) -> None:
        """Clear logs, counters and every route's state; also drop the routes if asked."""
        with self._lock:
            self.hits.clear()
            self._events.clear()
            self._epoch += 1
            self._connections = 0
            self._errors.clear()
            behaviours = [route for route in self.routes.values() if isinstance(route, Behaviour)]
            if routes:
                self.routes.clear()
        for behaviour in behaviours:
            behaviour.clear()

    # logs

    @property
    def requests(self) -> list[Request]:
        with self._lock:
            return list(self.hits)

    def count(self, path: str) -> int:
        """Requests for exactly ``path`` since the last reset."""
        return self.hits(path)

    def methods(self, path: str) -> list[str]:
        with self._lock:
            return [request.method for request in self.hits if request.path == path]

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
        server = await asyncio.start_server(self._on_connection, sock=self._sock, backlog=128)
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

    def _arrived(self, request: Request) -> tuple[Behaviour, int]:
        """Log ``request`` as started; its behaviour and the log epoch it belongs to."""
        with self._lock:
            route = self.routes.get(request.path)
            if route is None:
                route = self.routes.get(request.path.partition("?")[0], self._not_found)
            self.hits.append(request)
            self._events.append((request.path, 1))
            return as_behaviour(route), self._epoch

    def _finished(self, request: Request, epoch: int) -> None:
        with self._lock:
            if epoch == self._epoch:
                self._events.append((request.path, -1))

    async def _converse(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, connection: int
    ) -> None:
        if self.tls is not None:
            await writer.start_tls(self.tls, ssl_handshake_timeout=5)
            tls = writer.get_extra_info("ssl_object")
            if tls is not None and tls.selected_alpn_protocol() == "h2":
                await self._converse_h2(reader, writer, connection)
                return
        while True:
            request = await _read_request(reader, connection)
            if request is None:
                return
            behaviour, epoch = self._arrived(request)
            try:
                keep = await behaviour.respond(request, writer)
            finally:
                self._finished(request, epoch)
            if not keep or writer.is_closing():
                return

    async def _converse_h2(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, connection: int
    ) -> None:
        """HTTP/2: each request gets its route's static answer, or a stream reset if none."""
        h2c = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=False, header_encoding="utf-8")
        )
        h2c.initiate_connection()
        writer.write(h2c.data_to_send())
        while data := await reader.read(65536):
            for event in h2c.receive_data(data):
                if isinstance(event, h2.events.RequestReceived):
                    self._answer_h2(h2c, event, reader, connection)
            writer.write(h2c.data_to_send())
            await writer.drain()

    def _answer_h2(
        self,
        h2c: h2.connection.H2Connection,
        event: h2.events.RequestReceived,
        reader: asyncio.StreamReader,
        connection: int,
    ) -> None:
        fields = [(str(name), str(value)) for name, value in event.headers or ()]
        pseudo = dict(fields)
        headers = Headers((name, value) for name, value in fields if not name.startswith(":"))
        method, path = pseudo.get(":method", "GET"), pseudo.get(":path", "/")
        request = Request(method, path, "HTTP/2", headers, time.monotonic(), connection, reader)
        stream = event.stream_id
        assert stream is not None
        behaviour, epoch = self._arrived(request)
        try:
            answer = behaviour.answer(request)
            if answer is None:
                h2c.reset_stream(stream)
                return
            body = b"" if method == "HEAD" else answer.body
            hop_by_hop = {"connection", "keep-alive", "transfer-encoding", "content-length"}
            extra = [
                (k.lower(), v) for k, v in answer.headers.items() if k.lower() not in hop_by_hop
            ]
            length = ("content-length", str(len(answer.body)))
            h2c.send_headers(stream, [(":status", str(answer.status)), *extra, length])
            size = h2c.max_outbound_frame_size  # bodies beyond the first flow window fail
            for start in range(0, len(body), size):
                h2c.send_data(stream, body[start : start + size])
            h2c.end_stream(stream)
        finally:
            self._finished(request, epoch)


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


class ServerFactory(Protocol):
    """The ``server_factory`` fixture: a started server of one's own, stopped after the test."""

    def __call__(
        self, *, host: str = "127.0.0.1", tls: Tls | None = None, http2: bool = False
    ) -> LoopbackServer: ...
