"""A local multi-host web for the benchmark: one asyncio process, one loopback address per host.

Every host listens on its own address (127.0.0.2, 127.0.0.3, ...) on one shared port, speaks
HTTPS (with a certificate from ``--cert-file``) or plain HTTP, waits its own fixed latency
before each answer, answers 429 above an in-flight cap, and supports HTTP Range requests or
ignores them, per host. What a URL serves is spelled in its path, so the
corpus and the server need no shared table:

    /n/<id>/<slug>[?amp=1]   200, a small HTML page (with ``?amp=1``, an AMP page)
    /m/<id>/<slug>           301 to /n/<id>/<slug>
    /g/<id>/<slug>           404            /e/<id>/<slug>   500
    /i/<file>/<name>         200, the catalogue image <file>
    /gi/<file>/<name>        404            /ei/<file>/<name> 500

Pages and images carry an ETag and a Last-Modified date, and a request whose
If-None-Match (or, without it, If-Modified-Since) matches is answered 304 with no body,
before any Range is looked at, so a results store can revalidate.

Counts per host (requests, statuses, peak in flight, bytes sent) are served as JSON by a
control listener on 127.0.0.1 (``GET /stats``, ``GET /reset``) and written to
``--stats-file`` on exit. The server exits on SIGTERM or SIGINT, when its parent process
goes away, or after ``--max-lifetime`` seconds, whichever comes first.

    python -m bench.server --hosts 30 --latency 50 --ready-file /tmp/ready.json
    python -m bench.server --hosts 40 --latency 20 --latency-max 60 --tls-share 0.8 \
        --cert-file server.pem --key-file server.key
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import resource
import signal
import ssl
import time
import zlib
from collections import Counter
from dataclasses import dataclass, field, replace
from email.utils import parsedate_to_datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

from bench.images import CACHE_DIR, CATALOGUES, ImageFile, load_catalogue

PAGE, MOVED, GONE, ERROR = "n", "m", "g", "e"
#: Answers that say 200 but are broken: a deep link sent to the front page, a "not found"
#: template served with 200, and (for AMP URLs) an ordinary page where an AMP page belongs.
HOME, NOT_FOUND, PLAIN = "h", "t", "x"
IMAGE, IMAGE_GONE, IMAGE_ERROR = "i", "gi", "ei"

_MAX_HEAD = 64 * 1024
_CHUNK = 256 * 1024
_IDLE_S = 30.0
_MAX_REQUESTS_PER_CONNECTION = 100_000
_FIRST_HOST = 2
#: Every page and image was last modified at this fixed time (1 November 2026 UTC).
_LAST_MODIFIED = "Sun, 01 Nov 2026 00:00:00 GMT"
_LAST_MODIFIED_AT = parsedate_to_datetime(_LAST_MODIFIED)
_REASONS = MappingProxyType(
    {
        200: "OK",
        206: "Partial Content",
        304: "Not Modified",
        301: "Moved Permanently",
        400: "Bad Request",
        404: "Not Found",
        416: "Range Not Satisfiable",
        429: "Too Many Requests",
        500: "Internal Server Error",
    }
)


@dataclass(frozen=True, slots=True)
class HostSpec:
    """How one host behaves."""

    address: str
    latency_s: float
    ranges: bool
    cap: int
    tls: bool = False

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"


@dataclass(slots=True)
class HostCounts:
    """What one host saw and sent."""

    requests: int = 0
    in_flight: int = 0
    peak_in_flight: int = 0
    connections: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    range_requests: int = 0
    bytes_sent: int = 0
    image_bytes_sent: int = 0
    first_at: float | None = None
    last_at: float = 0.0
    busy_integral: float = 0.0
    per_second: Counter[int] = field(default_factory=Counter)

    def change(self, delta: int) -> None:
        """Move the in-flight count, integrating it over time (request-seconds in flight)."""
        now = time.monotonic()
        if self.first_at is None:
            self.first_at = now
        self.busy_integral += self.in_flight * (now - self.last_at) if self.last_at else 0.0
        self.last_at = now
        if delta > 0:
            self.per_second[int(now - self.first_at)] += 1
        self.in_flight += delta
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)

    def to_dict(self) -> dict[str, Any]:
        span = self.last_at - self.first_at if self.first_at is not None else 0.0
        return {
            "active_s": round(span, 4),
            "mean_in_flight": round(self.busy_integral / span, 3) if span else 0.0,
            "requests": self.requests,
            "peak_in_flight": self.peak_in_flight,
            "connections": self.connections,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "range_requests": self.range_requests,
            "bytes_sent": self.bytes_sent,
            "image_bytes_sent": self.image_bytes_sent,
            "started_at": self.first_at,
            "requests_per_second": [self.per_second[i] for i in range(int(span) + 1)],
        }


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes | memoryview = b""
    is_image: bool = False


def host_specs(
    count: int,
    latency_ms: float,
    range_share: float,
    cap: int,
    tls_share: float = 0.0,
    latency_max_ms: float | None = None,
) -> tuple[HostSpec, ...]:
    """``count`` hosts from 127.0.0.2 on, each a pure function of the arguments.

    ``range_share`` and ``tls_share`` of them (spread evenly) honour Range and speak HTTPS.
    With ``latency_max_ms`` the latencies are spaced evenly from ``latency_ms`` to it and
    dealt to hosts in a fixed shuffled order, so busy and quiet hosts get both fast and slow.
    """
    if not 1 <= count <= 250:
        raise ValueError("between 1 and 250 hosts")
    top = latency_ms if latency_max_ms is None else latency_max_ms
    if top < latency_ms:
        raise ValueError("the latency range must not be reversed")
    steps = [latency_ms] * count
    if top > latency_ms:
        gap = (top - latency_ms) / max(1, count - 1)
        steps = [round(latency_ms + gap * i) for i in range(count)]
        random.Random(f"latency:{count}").shuffle(steps)
    specs = []
    for index in range(count):
        address = f"127.0.0.{_FIRST_HOST + index}"
        specs.append(
            HostSpec(
                address,
                steps[index] / 1000,
                _spread(index, range_share),
                cap,
                _spread(index, tls_share),
            )
        )
    return tuple(specs)


def _spread(index: int, share: float) -> bool:
    """True for about ``share`` of indexes, evenly spaced."""
    return int((index + 1) * share) > int(index * share)


def page_size(article: int) -> int:
    """The byte size of an article's page: 4 to 24 KB, fixed per article."""
    return 4_000 + (article * 7_919) % 20_000


class Web:
    """The routes and counters of all hosts; one per server process."""

    def __init__(self, hosts: tuple[HostSpec, ...], images: tuple[ImageFile, ...]) -> None:
        self.hosts = {spec.address: spec for spec in hosts}
        self.counts = {spec.address: HostCounts() for spec in hosts}
        self.images = {item.spec.name: (item, item.path.read_bytes()) for item in images}
        self._image_tags = {
            name: dict(_validators(data))["ETag"] for name, (_, data) in self.images.items()
        }
        self._pages: dict[tuple[int, bool], bytes] = {}
        self.started = time.time()

    def reset(self) -> None:
        self.counts = {address: HostCounts() for address in self.hosts}

    def stats(self) -> dict[str, Any]:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return {
            "hosts": {
                address: {
                    **counts.to_dict(),
                    "latency_ms": self.hosts[address].latency_s * 1000,
                    "ranges": self.hosts[address].ranges,
                    "tls": self.hosts[address].tls,
                    "cap": self.hosts[address].cap,
                }
                for address, counts in self.counts.items()
            },
            "files": {name: len(data) for name, (_, data) in self.images.items()},
            "cpu_s": usage.ru_utime + usage.ru_stime,
            "uptime_s": time.time() - self.started,
        }

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One keep-alive connection to one host, request after request."""
        address = writer.get_extra_info("sockname")[0]
        spec, counts = self.hosts[address], self.counts[address]
        counts.connections += 1
        try:
            for _ in range(_MAX_REQUESTS_PER_CONNECTION):
                async with asyncio.timeout(_IDLE_S):
                    head = await reader.readuntil(b"\r\n\r\n")
                method, target, headers, keep_alive = _parse_head(head)
                length = int(headers.get("content-length", "0") or 0)
                if length:
                    await reader.readexactly(min(length, _MAX_HEAD))
                await self._answer(spec, self.counts[address], method, target, headers, writer)
                if not keep_alive:
                    break
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            pass
        except (OSError, ValueError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()

    async def _answer(
        self,
        spec: HostSpec,
        counts: HostCounts,
        method: str,
        target: str,
        headers: dict[str, str],
        writer: asyncio.StreamWriter,
    ) -> None:
        counts.requests += 1
        counts.change(+1)
        try:
            over_cap = counts.in_flight > spec.cap
            if spec.latency_s > 0:
                await asyncio.sleep(spec.latency_s)
            if over_cap:
                answer = _text(429, "slow down", (("Retry-After", "1"),))
            else:
                answer = self.route(target, headers.get("range") if spec.ranges else None)
                answer = not_modified(answer, headers)
            if answer.status == 206:
                counts.range_requests += 1
            counts.statuses[answer.status] += 1
            await self._send(answer, method == "HEAD", counts, writer)
        finally:
            counts.change(-1)

    async def _send(
        self, answer: Answer, head_only: bool, counts: HostCounts, writer: asyncio.StreamWriter
    ) -> None:
        lines = [f"HTTP/1.1 {answer.status} {_REASONS.get(answer.status, 'Unknown')}"]
        lines += [f"{name}: {value}" for name, value in answer.headers]
        if answer.status != 304:
            lines.append(f"Content-Length: {len(answer.body)}")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        body = b"" if head_only else answer.body
        if len(body) <= _CHUNK:
            writer.write(body)
            await writer.drain()
            counts.bytes_sent += len(body)
            if answer.is_image:
                counts.image_bytes_sent += len(body)
            return
        for start in range(0, len(body), _CHUNK):
            chunk = body[start : start + _CHUNK]
            writer.write(chunk)
            await writer.drain()
            counts.bytes_sent += len(chunk)
            if answer.is_image:
                counts.image_bytes_sent += len(chunk)

    def route(self, target: str, range_header: str | None) -> Answer:
        """The answer for a request target; ``range_header`` only where the host honours Range."""
        path, _, query = target.partition("?")
        if path == "/":
            return self._page(0, "home", False)
        parts = path.split("/")
        if len(parts) != 4 or parts[0]:
            return _text(404, "no such page")
        kind, key, name = parts[1], parts[2], parts[3]
        if kind == PAGE and key.isdigit():
            return self._page(int(key), name, query == "amp=1")
        if kind == HOME:
            return _text(301, "moved", (("Location", "/"),))
        if kind == NOT_FOUND:
            return _not_found_page()
        if kind == PLAIN and key.isdigit():
            return self._page(int(key), name, False)
        if kind == MOVED:
            location = f"/{PAGE}/{key}/{name}" + (f"?{query}" if query else "")
            return _text(301, "moved", (("Location", location),))
        if kind in (GONE, IMAGE_GONE):
            return _text(404, "not found")
        if kind in (ERROR, IMAGE_ERROR):
            return _text(500, "internal error")
        if kind == IMAGE and key in self.images:
            item, data = self.images[key]
            return _image(item, data, self._image_tags[key], range_header)
        return _text(404, "no such page")

    def _page(self, article: int, slug: str, amp: bool) -> Answer:
        size = page_size(article)
        body = self._pages.get((size, amp))
        if body is None:
            body = self._pages[(size, amp)] = _html(size, amp)
        # As real articles do: the AMP page names its canonical page, the page its AMP version.
        path = f"/{PAGE}/{article}/{slug}"
        link = (
            f'<link rel="canonical" href="{path}">'
            if amp
            else f'<link rel="amphtml" href="{path}?amp=1">'
        )
        body = body.replace(b"<head>", b"<head>" + link.encode(), 1)
        kind = "text/html; charset=utf-8"
        headers = (("Content-Type", kind), ("Cache-Control", "max-age=60"), *_validators(body))
        return Answer(200, headers, body)


def _html(size: int, amp: bool = False) -> bytes:
    """A page of ``size`` bytes; the AMP version (``?amp=1``) is marked ``<html amp>``."""
    paragraph = (
        "<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor "
        "incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam.</p>\n"
    )
    opening = "<html amp>" if amp else "<html>"
    head = f"<!doctype html>{opening}<head><title>Benchmark article</title></head><body>\n"
    tail = "</body></html>\n"
    body = paragraph * ((size - len(head) - len(tail)) // len(paragraph) + 1)
    return (head + body)[: size - len(tail)].encode() + tail.encode()


def _not_found_page() -> Answer:
    """A site's "page not found" template, served with 200 as some CMSs do."""
    body = (
        b"<!doctype html><html><head><title>Page not found | Example News</title></head>"
        b"<body><h1>Page not found</h1><p>The page you are looking for does not exist.</p>"
        b"</body></html>\n"
    )
    return Answer(200, (("Content-Type", "text/html; charset=utf-8"), *_validators(body)), body)


def _validators(body: bytes) -> tuple[tuple[str, str], ...]:
    """A strong ETag from the body's CRC-32 (cheap, and enough to tell these bodies apart)."""
    return (("ETag", f'"{zlib.crc32(body):08x}"'), ("Last-Modified", _LAST_MODIFIED))


def not_modified(answer: Answer, request: dict[str, str]) -> Answer:
    """304 with the validators and no body when the request's condition says the client's
    copy is current (RFC 9110 13.2.2: If-None-Match first, then If-Modified-Since; both
    before Range); otherwise ``answer`` unchanged."""
    if answer.status not in (200, 206):
        return answer
    own = dict(answer.headers)
    etag = own.get("ETag")
    if etag is None:
        return answer
    if "if-none-match" in request:
        tags = {tag.strip().removeprefix("W/") for tag in request["if-none-match"].split(",")}
        current = "*" in tags or etag in tags
    elif "if-modified-since" in request:
        try:
            current = parsedate_to_datetime(request["if-modified-since"]) >= _LAST_MODIFIED_AT
        except (TypeError, ValueError):
            current = False
    else:
        current = False
    if not current:
        return answer
    kept = tuple(
        (k, v) for k, v in answer.headers if k in ("ETag", "Last-Modified", "Cache-Control")
    )
    return replace(answer, status=304, headers=kept, body=b"")


def _text(status: int, message: str, extra: tuple[tuple[str, str], ...] = ()) -> Answer:
    body = f"<!doctype html><title>{status}</title><h1>{message}</h1>\n".encode()
    return Answer(status, (("Content-Type", "text/html; charset=utf-8"), *extra), body)


def _image(item: ImageFile, data: bytes, etag: str, range_header: str | None) -> Answer:
    size = len(data)
    base: tuple[tuple[str, str], ...] = (
        ("Content-Type", item.content_type),
        ("ETag", etag),
        ("Last-Modified", _LAST_MODIFIED),
    )
    if range_header is not None:
        base += (("Accept-Ranges", "bytes"),)
        span = _byte_range(range_header, size)
        if span == "unsatisfiable":
            return Answer(416, (*base, ("Content-Range", f"bytes */{size}")), b"", True)
        if isinstance(span, tuple):
            start, end = span
            content_range = ("Content-Range", f"bytes {start}-{end}/{size}")
            return Answer(206, (*base, content_range), memoryview(data)[start : end + 1], True)
    return Answer(200, base, data, True)


def _byte_range(header: str, size: int) -> tuple[int, int] | str | None:
    """One ``bytes=`` range as inclusive offsets; None to serve the whole file (RFC 9110 allows)."""
    unit, _, spec = header.strip().partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    if not dash:
        return None
    try:
        if not first:
            suffix = int(last)
            return (max(0, size - suffix), size - 1) if suffix > 0 else "unsatisfiable"
        start = int(first)
        end = min(int(last), size - 1) if last else size - 1
    except ValueError:
        return None
    if start >= size or end < start:
        return "unsatisfiable"
    return start, end


def _parse_head(head: bytes) -> tuple[str, str, dict[str, str], bool]:
    lines = head.decode("latin-1").split("\r\n")
    method, target, version = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    connection = headers.get("connection", "").lower()
    keep_alive = connection != "close" if version == "HTTP/1.1" else connection == "keep-alive"
    return method, target, headers, keep_alive


async def _control(web: Web, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """The stats listener: ``GET /stats`` and ``GET /reset``, one request per connection."""
    try:
        async with asyncio.timeout(_IDLE_S):
            head = await reader.readuntil(b"\r\n\r\n")
        _, target, _, _ = _parse_head(head)
        if target == "/reset":
            web.reset()
        body = json.dumps(web.stats()).encode()
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        await writer.drain()
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ValueError):
        pass
    finally:
        writer.close()


async def _listen_all(
    web: Web, hosts: tuple[HostSpec, ...], tls: ssl.SSLContext | None, attempts: int = 20
) -> list[asyncio.Server]:
    """Bind every host address on one free port (a few tries if another process holds it)."""
    for _ in range(attempts):
        servers: list[asyncio.Server] = []
        try:
            port = 0
            for spec in hosts:
                context = tls if spec.tls else None
                if spec.tls and context is None:
                    raise ValueError(f"{spec.address} speaks HTTPS but no certificate was given")
                server = await asyncio.start_server(
                    web.serve, spec.address, port, limit=_MAX_HEAD, ssl=context
                )
                servers.append(server)
                port = port or server.sockets[0].getsockname()[1]
            return servers
        except OSError:
            for server in servers:
                server.close()
    raise OSError("could not bind every host address on one port")


def server_tls(cert_file: Path, key_file: Path) -> ssl.SSLContext:
    """The hosts' TLS settings: the given certificate chain, TLS 1.2 or later, as web servers."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_file, key_file)
    return context


async def run_server(
    hosts: tuple[HostSpec, ...],
    images: tuple[ImageFile, ...],
    ready_file: Path | None,
    stats_file: Path | None,
    max_lifetime: float,
    tls: ssl.SSLContext | None = None,
) -> None:
    """Serve until a signal, the parent's exit or ``max_lifetime``; then write the stats."""
    web = Web(hosts, images)
    servers = await _listen_all(web, hosts, tls)
    port = servers[0].sockets[0].getsockname()[1]

    async def control(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _control(web, reader, writer)

    control_server = await asyncio.start_server(control, "127.0.0.1", 0)
    control_port = control_server.sockets[0].getsockname()[1]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    if ready_file is not None:
        ready = {"port": port, "control_port": control_port, "pid": os.getpid()}
        tmp = ready_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(ready))
        tmp.replace(ready_file)
    parent = os.getppid()
    deadline = time.monotonic() + max_lifetime
    while not stop.is_set() and time.monotonic() < deadline and os.getppid() == parent:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)
    for server in (*servers, control_server):
        server.close()
    if stats_file is not None:
        stats_file.write_text(json.dumps(web.stats(), indent=1))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.server", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--hosts", type=int, default=30, help="number of hosts [30]")
    parser.add_argument("--latency", type=float, default=50.0, help="ms before each answer [50]")
    parser.add_argument("--latency-max", type=float, help="latencies vary per host up to this")
    parser.add_argument(
        "--range-share", type=float, default=1.0, help="share of hosts honouring Range [1]"
    )
    parser.add_argument("--tls-share", type=float, default=0.0, help="share on HTTPS [0]")
    parser.add_argument("--cert-file", type=Path, help="PEM certificate chain for HTTPS hosts")
    parser.add_argument("--key-file", type=Path, help="PEM private key for HTTPS hosts")
    parser.add_argument("--cap", type=int, default=16, help="in flight per host before 429 [16]")
    parser.add_argument("--images", choices=sorted(CATALOGUES), default="realistic")
    parser.add_argument("--cache-dir", type=Path, default=CACHE_DIR)
    parser.add_argument("--ready-file", type=Path, help="JSON {port, control_port} once serving")
    parser.add_argument("--stats-file", type=Path, help="JSON counts written on exit")
    parser.add_argument("--max-lifetime", type=float, default=3600.0, help="seconds [3600]")
    args = parser.parse_args(argv)
    hosts = host_specs(
        args.hosts, args.latency, args.range_share, args.cap, args.tls_share, args.latency_max
    )
    tls = server_tls(args.cert_file, args.key_file) if args.cert_file and args.key_file else None
    images = load_catalogue(args.images, args.cache_dir)
    asyncio.run(run_server(hosts, images, args.ready_file, args.stats_file, args.max_lifetime, tls))


if __name__ == "__main__":
    main()
