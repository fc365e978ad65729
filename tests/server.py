"""A real HTTP server on 127.0.0.1 for integration tests, with a request log.

Routes are plain static answers or callables that drive the raw socket, which
is how hostile behaviours (hangs, trickles, resets) are staged.
"""

from __future__ import annotations

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

        self._httpd = ThreadingHTTPServer((host, 0), RequestHandler)
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

    def image(self, path: str, data: bytes, content_type: str = "image/jpeg") -> str:
        return self.add(path, Answer(200, data, {"Content-Type": content_type}))

    def redirect(self, path: str, location: str, status: int = 302) -> str:
        return self.add(path, Answer(status, b"", {"Location": location}))

    def count(self, path: str) -> int:
        with self._lock:
            return sum(1 for hit in self.hits if hit.path == path)

    def _record(self, handler: BaseHTTPRequestHandler) -> None:
        with self._lock:
            self.hits.append(Hit(handler.command, handler.path, dict(handler.headers)))


_HTML = {"Content-Type": "text/html; charset=utf-8"}


def _send(handler: BaseHTTPRequestHandler, answer: Answer) -> None:
    handler.send_response(answer.status)
    for name, value in answer.headers.items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(answer.body)))
    handler.end_headers()
    if handler.command != "HEAD":
        handler.wfile.write(answer.body)
