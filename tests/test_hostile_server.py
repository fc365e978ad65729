"""The loopback server and its misbehaviours do what they claim, seen from a real client."""

from __future__ import annotations

import gzip
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import httpx
import pytest
import trustme

from tests.hostile import (
    body_never_comes,
    empty_reply,
    gzip_bomb,
    hang,
    limited,
    make_tls,
    malformed,
    method_split,
    ok,
    redirect,
    reset,
    self_signed_tls,
    sequence,
    slow_headers,
    status,
    trickle,
)
from tests.server import LoopbackServer, ServerFactory


def client(timeout: float = 2.0, **options: object) -> httpx.Client:
    return httpx.Client(timeout=timeout, trust_env=False, **options)  # type: ignore[arg-type]


def wait_until(condition: Callable[[], bool], timeout: float = 2.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


def send_raw(server: LoopbackServer, path: str, method: str = "GET") -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=2)
    sock.sendall(f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    return sock


def read_head(sock: socket.socket) -> tuple[bytes, bytes]:
    """The response head and whatever body bytes arrived with it."""
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(4096)
        assert chunk, "connection closed before the response head"
        buffer += chunk
    head, _, rest = buffer.partition(b"\r\n\r\n")
    return head, rest


def concurrently(count: int, action: Callable[[], int]) -> list[int]:
    """Run ``action`` in ``count`` threads released together; return the results."""
    barrier = threading.Barrier(count)
    results: list[int] = []
    lock = threading.Lock()

    def run() -> None:
        barrier.wait()
        result = action()
        with lock:
            results.append(result)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=5)
    return results


def test_ok_answers_and_keeps_the_connection_alive(server: LoopbackServer) -> None:
    url = server.route("/page", ok(b"hello", headers={"X-Test": "1"}))
    with client() as http:
        first = http.get(url, headers={"User-Agent": "probe"})
        second = http.get(url)
    assert (first.status_code, first.content, first.headers["x-test"]) == (200, b"hello", "1")
    assert first.headers["content-type"] == "text/html"
    assert second.status_code == 200
    assert server.hits("/page") == 2
    assert server.connections == 1
    assert server.requests[0].headers["user-agent"] == "probe"
    assert server.requests[0].at <= server.requests[1].at


def test_unrouted_paths_get_404(server: LoopbackServer) -> None:
    with client() as http:
        assert http.get(server.url("/nowhere")).status_code == 404


def test_request_bodies_are_skipped_on_a_reused_connection(server: LoopbackServer) -> None:
    url = server.route("/form", ok())
    with client() as http:
        assert http.post(url, content=b"x" * 5000).status_code == 200
        assert http.get(url).status_code == 200
    assert server.methods("/form") == ["POST", "GET"]
    assert server.connections == 1


def test_hang_times_out_the_client_and_ends_when_it_leaves(server: LoopbackServer) -> None:
    url = server.route("/hang", hang())
    with client(timeout=0.3) as http, pytest.raises(httpx.ReadTimeout):
        http.get(url)
    assert server.hits("/hang") == 1
    assert server.wait_idle()  # the hang ends once the client has gone


def test_slow_headers_arrive_after_the_delay(server: LoopbackServer) -> None:
    url = server.route("/slow", slow_headers(0.3))
    with client(timeout=0.1) as http, pytest.raises(httpx.ReadTimeout):
        http.get(url)
    started = time.monotonic()
    with client(timeout=2) as http:
        assert http.get(url).status_code == 200
    assert time.monotonic() - started >= 0.3


def test_trickle_sends_headers_at_once_then_a_byte_a_second(server: LoopbackServer) -> None:
    server.route("/trickle", trickle(rate_bytes_per_s=1, total=10_000))
    started = time.monotonic()
    with send_raw(server, "/trickle") as sock:
        head, body = read_head(sock)
        assert time.monotonic() - started < 0.5
        assert b"Content-Length: 10000" in head
        arrivals = [time.monotonic() for _ in body]
        while len(arrivals) < 2:
            assert sock.recv(1) == b"x"
            arrivals.append(time.monotonic())
    assert 0.7 < arrivals[1] - arrivals[0] < 1.5


def test_body_never_comes_after_the_headers(server: LoopbackServer) -> None:
    url = server.route("/nobody", body_never_comes(content_length=100_000))
    with client(timeout=0.3) as http, http.stream("GET", url) as response:
        assert response.status_code == 200
        assert response.headers["content-length"] == "100000"
        with pytest.raises(httpx.ReadTimeout):
            response.read()


def test_reset_aborts_the_connection(server: LoopbackServer) -> None:
    server.route("/reset", reset())
    with send_raw(server, "/reset") as sock, pytest.raises(ConnectionResetError):
        sock.recv(4096)
    assert server.hits("/reset") == 1


def test_empty_reply_closes_cleanly_without_a_byte(server: LoopbackServer) -> None:
    url = server.route("/empty", empty_reply())
    with send_raw(server, "/empty") as sock:
        assert sock.recv(4096) == b""
    with client() as http, pytest.raises(httpx.RemoteProtocolError):
        http.get(url)


def test_malformed_is_not_http(server: LoopbackServer) -> None:
    url = server.route("/garbage", malformed())
    with send_raw(server, "/garbage") as sock:
        assert sock.recv(4096) == b"HELLO THERE\r\n\r\n"
        assert sock.recv(4096) == b""
    with client() as http, pytest.raises(httpx.RemoteProtocolError):
        http.get(url)


def test_redirect(server: LoopbackServer) -> None:
    url = server.route("/old", redirect("/new", status=301))
    with client() as http:
        response = http.get(url)
    assert (response.status_code, response.headers["location"]) == (301, "/new")


def test_sequence_steps_per_path_and_repeats_the_last(server: LoopbackServer) -> None:
    flaky = sequence(status(503), status(503), ok())
    first = server.route("/flaky", flaky)
    other = server.route("/flaky-too", flaky)
    with client() as http:
        codes = [http.get(first).status_code for _ in range(4)]
        assert http.get(other).status_code == 503
    assert codes == [503, 503, 200, 200]
    server.reset_log()
    with client() as http:
        assert http.get(first).status_code == 503


def test_sequence_429_with_retry_after(server: LoopbackServer) -> None:
    url = server.route("/busy", sequence(status(429, headers={"Retry-After": "1"}), ok()))
    with client() as http:
        busy, fine = http.get(url), http.get(url)
    assert (busy.status_code, busy.headers["retry-after"]) == (429, "1")
    assert fine.status_code == 200


def test_limited_rejects_beyond_the_cap_and_records_the_peak(server: LoopbackServer) -> None:
    cap = limited(max_in_flight=4, delay=0.3, retry_after="2")
    url = server.route("/limited/a", cap)

    def fetch() -> int:
        with client() as http:
            response = http.get(url)
        if response.status_code == 429:
            assert response.headers["retry-after"] == "2"
        return response.status_code

    codes = concurrently(8, fetch)
    assert sorted(set(codes)) == [200, 429]
    assert codes.count(200) == cap.admitted >= 4
    assert codes.count(429) == cap.rejected >= 1
    assert cap.peak == 5  # four admitted plus one turned away
    assert server.max_in_flight_for("/limited/") >= 5
    assert server.max_in_flight >= 5


def test_limited_groups_paths_and_admits_a_polite_client(server: LoopbackServer) -> None:
    cap = limited(max_in_flight=4, delay=0.2)
    urls = [server.route(f"/host/{n}", cap) for n in range(4)]
    codes = concurrently(4, lambda: httpx.get(urls.pop(), trust_env=False).status_code)
    assert codes == [200] * 4
    assert (cap.peak, cap.rejected, cap.admitted) == (4, 0, 4)
    assert server.max_in_flight_for("/host/") == 4


def test_in_flight_is_tracked_per_prefix(server: LoopbackServer) -> None:
    paths = ["/a/1", "/a/2", "/b/1"]
    urls = [server.route(path, slow_headers(0.2)) for path in paths]
    concurrently(3, lambda: httpx.get(urls.pop(), trust_env=False).status_code)
    assert server.max_in_flight_for("/a/") == 2
    assert server.max_in_flight_for("/b/") == 1
    assert server.max_in_flight == 3
    assert server.wait_idle()


def test_method_split(server: LoopbackServer) -> None:
    url = server.route("/split", method_split(head=status(405), get=ok(b"body")))
    with client() as http:
        assert http.head(url).status_code == 405
        assert http.get(url).content == b"body"
    assert server.methods("/split") == ["HEAD", "GET"]


def test_gzip_bomb_is_small_on_the_wire_and_huge_inflated(server: LoopbackServer) -> None:
    url = server.route("/bomb", gzip_bomb())
    with client() as http, http.stream("GET", url) as response:
        assert response.headers["content-encoding"] == "gzip"
        assert 900_000 < int(response.headers["content-length"]) < 1_100_000
        wire = b""
        for chunk in response.iter_raw():
            wire += chunk
            if len(wire) >= 16_384:
                break
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
    inflated = 0
    data = wire
    while data:
        inflated += len(inflater.decompress(data, 1 << 20))
        data = inflater.unconsumed_tail
    assert inflated > 500 * len(wire)


def test_gzip_bomb_is_a_valid_gzip_stream(server: LoopbackServer) -> None:
    size = 3 * (1 << 20) + 12_345
    url = server.route("/small-bomb", gzip_bomb(decompressed_size=size))
    with client() as http:
        assert len(http.get(url).content) == size  # httpx inflates it
        with http.stream("GET", url) as response:
            wire = b"".join(response.iter_raw())
        head = http.head(url)
    assert len(wire) == int(response.headers["content-length"])
    assert gzip.decompress(wire) == bytes(size)  # checks the CRC and length trailer
    assert head.headers["content-length"] == response.headers["content-length"]
    assert server.connections == 1


def test_a_static_file_serves_byte_ranges_like_a_cdn(server: LoopbackServer) -> None:
    data = bytes(range(256)) * 4
    url = server.image("/file.bin", data, "application/octet-stream", ranges=True)
    with client() as http:
        whole = http.get(url)
        tail = http.get(url, headers={"Range": "bytes=-16"})
        beyond = http.get(url, headers={"Range": "bytes=5000-"})
        stale = http.get(url, headers={"Range": "bytes=0-9", "If-Range": '"other"'})
    assert (whole.status_code, whole.content, whole.headers["accept-ranges"]) == (
        200,
        data,
        "bytes",
    )
    assert (tail.status_code, tail.content) == (206, data[-16:])
    assert tail.headers["content-range"] == f"bytes {len(data) - 16}-{len(data) - 1}/{len(data)}"
    assert (beyond.status_code, beyond.headers["content-range"]) == (416, f"bytes */{len(data)}")
    assert (stale.status_code, stale.content) == (200, data), "a changed file is sent whole"


def test_a_gzipped_static_file_arrives_intact(server: LoopbackServer) -> None:
    url = server.image("/page.bin", b"x" * 5000, "application/octet-stream", gzip=True)
    with client() as http:
        response = http.get(url)
    assert (response.headers["content-encoding"], response.content) == ("gzip", b"x" * 5000)


def test_request_headers_are_logged_and_read_without_regard_to_case(
    server: LoopbackServer,
) -> None:
    url = server.page("/page")
    with client() as http:
        http.get(url, headers={"X-Token": "t1"})
    [hit] = server.hits
    assert (hit.method, hit.path, hit.version) == ("GET", "/page", "HTTP/1.1")
    assert hit.headers["x-token"] == hit.headers.get("X-TOKEN") == "t1"
    assert "X-Token" in hit.headers and server.count("/page") == server.hits("/page") == 1


def test_a_handler_callable_may_block_without_holding_up_other_routes(
    server: LoopbackServer,
) -> None:
    release = threading.Event()

    def waits(handler: BaseHTTPRequestHandler) -> None:
        release.wait(5)
        body = f"{handler.command} {handler.path} {handler.headers.get('x-token')}".encode()
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    slow, fast = server.add("/slow", waits), server.page("/fast")
    with client(timeout=5) as http, client() as other:
        results: list[httpx.Response] = []
        pending = threading.Thread(
            target=lambda: results.append(http.get(slow, headers={"X-Token": "t"}))
        )
        pending.start()
        wait_until(lambda: server.in_flight("/slow") == 1)
        assert other.get(fast).status_code == 200, "answered while the callable blocks"
        release.set()
        pending.join(5)
    assert [r.content for r in results] == [b"GET /slow t"]


def test_a_handler_callable_that_sends_nothing_closes_the_connection(
    server: LoopbackServer,
) -> None:
    server.add("/silent", lambda handler: None)
    with send_raw(server, "/silent") as sock:
        sock.settimeout(2)
        assert sock.recv(4096) == b""


def test_http2_is_offered_over_tls_and_logged_as_such(server_factory: ServerFactory) -> None:
    tls = make_tls()
    server = server_factory(tls=tls, http2=True)
    url = server.route("/h2", ok(b"over h2"))
    server.route("/misbehaves", hang())
    with client(verify=tls.client_context(), http2=True) as http:
        response = http.get(url)
        with pytest.raises(httpx.RemoteProtocolError):
            http.get(server.url("/misbehaves"))
    assert (response.http_version, response.content) == ("HTTP/2", b"over h2")
    assert [hit.version for hit in server.hits] == ["HTTP/2", "HTTP/2"]


def test_tls_verifies_with_the_trustme_ca_only(
    tmp_path: Path, server_factory: ServerFactory
) -> None:
    tls = make_tls(trustme.CA())
    ca_file = tls.write_ca(tmp_path / "ca.pem")
    server = server_factory(tls=tls)
    url = server.route("/secure", ok(b"secret"))
    assert url.startswith("https://127.0.0.1:")
    with client(verify=tls.client_context()) as http:
        assert http.get(url).content == b"secret"
    with client(verify=ssl.create_default_context(cafile=ca_file)) as http:
        assert http.get(server.url("/secure").replace("127.0.0.1", "localhost")).is_success
    with client() as http, pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY"):
        http.get(url)
    assert server.hits("/secure") == 2
    assert server.connections == 3
    assert server.errors == []


def test_self_signed_certificate_is_untrusted(server_factory: ServerFactory) -> None:
    tls = self_signed_tls()
    server = server_factory(tls=tls)
    url = server.route("/self", ok())
    for verify in (True, make_tls().client_context()):
        with client(verify=verify) as http, pytest.raises(httpx.ConnectError):
            http.get(url)
    with client(verify=tls.client_context()) as http:
        assert http.get(url).status_code == 200


def test_stop_is_prompt_with_hung_and_trickling_connections() -> None:
    threads_before = set(threading.enumerate())
    server = LoopbackServer().start()
    server.route("/hang", hang())
    server.route("/trickle", trickle())
    hung, trickling = send_raw(server, "/hang"), send_raw(server, "/trickle")
    try:
        wait_until(lambda: server.in_flight() == 2)
        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < 1.0
        assert not server.running
        assert set(threading.enumerate()) == threads_before
        for sock in (hung, trickling):
            sock.settimeout(1)
            try:
                while sock.recv(4096):
                    pass
            except ConnectionResetError:
                pass
    finally:
        hung.close()
        trickling.close()
