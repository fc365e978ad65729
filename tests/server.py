"""A real HTTP server on 127.0.0.1 for integration tests, with a request log.

Routes are plain static answers or callables that drive the raw socket, which
is how hostile behaviours (hangs, trickles, resets) are staged.
"""

from __future__ import annotations

import gzip as gzip_module
import hashlib
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Hit:
    method: str
    path: str
    headers: dict[str, str]


Handler = Callable[[BaseHTTPRequestHandler], None]


class LoopbackServer:
    """Serves registered routes on an ephemeral port and records every request."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.routes: dict[str, Answer | Handler] = {}
        self.hits: list[Hit] = []
        self._lock = threading.Lock()
        server = self

        class RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                server._record(self)
                route = server.routes.get(self.path)
                if route is None:
                    route = Answer(404, b"<!doctype html><title>Not found</title>", _HTML)
                if isinstance(route, Answer):
                    _send(self, route)
                else:
                    route(self)

            do_HEAD = do_GET

        class Server(ThreadingHTTPServer):
            request_queue_size = 128  # the default 5 drops SYNs: 1 s client stalls

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # clients that stop reading early are the point of several tests

        self._httpd = Server((host, 0), RequestHandler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def start(self) -> LoopbackServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def add(self, path: str, answer: Answer | Handler) -> str:
        self.routes[path] = answer
        return self.url(path)

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

    def count(self, path: str) -> int:
        with self._lock:
            return sum(1 for hit in self.hits if hit.path == path)

    def _record(self, handler: BaseHTTPRequestHandler) -> None:
        with self._lock:
            self.hits.append(Hit(handler.command, handler.path, dict(handler.headers)))


_HTML = {"Content-Type": "text/html; charset=utf-8"}
_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")


class StaticFile:
    """A file served like a CDN: ETag, single byte ranges (206/416), optional gzip."""

    def __init__(self, data: bytes, content_type: str, *, ranges: bool, gzip: bool) -> None:
        self.data = data
        self.content_type = content_type
        self.ranges = ranges
        self.gzip = gzip
        self.etag = f'"{hashlib.sha1(data).hexdigest()[:16]}"'

    def __call__(self, handler: BaseHTTPRequestHandler) -> None:
        headers = {"Content-Type": self.content_type, "ETag": self.etag}
        wanted = handler.headers.get("Range") if self.ranges else None
        if_range = handler.headers.get("If-Range")
        match = _RANGE.match(wanted or "")
        if match and (if_range is None or if_range == self.etag):
            size = len(self.data)
            first, last = match.groups()
            if first:
                start, end = int(first), min(int(last) if last else size - 1, size - 1)
            else:
                start, end = max(0, size - int(last)), size - 1
            if start >= size or start > end:
                headers["Content-Range"] = f"bytes */{size}"
                _send(handler, Answer(416, b"", headers))
                return
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
            _send(handler, Answer(206, self.data[start : end + 1], headers))
            return
        body = self.data
        if self.gzip:
            body = gzip_module.compress(body)
            headers["Content-Encoding"] = "gzip"
        if self.ranges:
            headers["Accept-Ranges"] = "bytes"
        _send(handler, Answer(200, body, headers))


def _send(handler: BaseHTTPRequestHandler, answer: Answer) -> None:
    handler.send_response(answer.status)
    for name, value in answer.headers.items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(answer.body)))
    handler.end_headers()
    if handler.command != "HEAD":
        handler.wfile.write(answer.body)
