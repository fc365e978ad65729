"""``--workers N``: hosts split among worker processes, reports as from one process.

Integration tests run real worker processes against six loopback hosts (127.0.0.2-7,
which the stable host hash deals to both of two workers). Each server answer notes
which process holds the client end of its connection (Linux: /proc/net/tcp and the
processes' descriptors), so a test can see which worker asked, and kill exactly it.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from linkcheck.engine.runner import Runner, check
from linkcheck.engine.workers import WorkerPool, local_fetches, owner, share, worker_count
from linkcheck.model.config import Config
from linkcheck.model.shards import Shard, host_partition
from tests.conftest import local_config, picture, write_seed
from tests.server import LoopbackServer

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="needs all of 127.0.0.0/8 and /proc"
)

HOSTS = [f"127.0.0.{i}" for i in range(2, 8)]
JPEG = picture(40, 30)


@dataclass(frozen=True)
class Route:
    status: int
    body: bytes
    kind: str = "text/html"
    hang: bool = False


class Web:
    """Six loopback hosts; every answer records (host, client pid) and per-host peaks.

    Its own small threaded server, since the test must see each client's address.
    """

    def __init__(self, delay: float = 0.02) -> None:
        self.delay = delay
        self.routes: dict[tuple[str, str], Route] = {}
        self.askers: dict[str, set[int]] = defaultdict(set)
        self.in_flight: Counter[str] = Counter()
        self.peak: Counter[str] = Counter()
        self.held = threading.Event()
        self.hanging = threading.Event()
        self.hang_pid: int | None = None
        self._lock = threading.Lock()
        self.servers = {host: self._serve(host) for host in HOSTS}

    def _serve(self, host: str) -> ThreadingHTTPServer:
        web = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                web.answer(host, self)

            do_HEAD = do_GET

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # clients that leave mid-answer (killed, stopped) are the point

        server = Server((host, 0), Handler)
        server.daemon_threads = True
        server.request_queue_size = 128
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server

    def stop(self) -> None:
        self.hanging.set()
        for server in self.servers.values():
            server.shutdown()
            server.server_close()

    def url(self, host: str, path: str) -> str:
        return f"http://{host}:{self.servers[host].server_address[1]}{path}"

    def page(self, host: str, path: str, status: int = 200) -> str:
        self.routes[host, path] = Route(status, b"<!doctype html><html><title>x</title></html>")
        return self.url(host, path)

    def image(self, host: str, path: str) -> str:
        self.routes[host, path] = Route(200, JPEG, "image/jpeg")
        return self.url(host, path)

    def hang(self, host: str, path: str) -> str:
        """A page that answers only once the test says so."""
        self.routes[host, path] = Route(200, b"<html></html>", hang=True)
        return self.url(host, path)

    def answer(self, host: str, handler: BaseHTTPRequestHandler) -> None:
        route = self.routes.get((host, handler.path), Route(404, b"not found"))
        pid = client_pid(handler)
        with self._lock:
            if pid is not None:
                self.askers[host].add(pid)
            self.in_flight[host] += 1
            self.peak[host] = max(self.peak[host], self.in_flight[host])
        try:
            if route.hang:
                self.hang_pid = pid
                self.held.set()
                self.hanging.wait(30)
            time.sleep(self.delay)
            handler.send_response(route.status)
            handler.send_header("Content-Type", route.kind)
            handler.send_header("Content-Length", str(len(route.body)))
            handler.end_headers()
            if handler.command != "HEAD":
                handler.wfile.write(route.body)
        finally:
            with self._lock:
                self.in_flight[host] -= 1


def client_pid(handler: BaseHTTPRequestHandler) -> int | None:
    """The child process of this one that holds the client end of the handler's connection."""
    address, port = handler.client_address[:2]
    packed = "".join(f"{int(part):02X}" for part in reversed(address.split(".")))
    local = f"{packed}:{port:04X}"
    inode = None
    with open("/proc/net/tcp", encoding="ascii") as table:
        for line in table.readlines()[1:]:
            fields = line.split()
            if fields[1] == local:
                inode = fields[9]
                break
    if inode is None:
        return None
    target = f"socket:[{inode}]"
    for pid in (*children(), os.getpid()):
        with suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with suppress(OSError):  # descriptors come and go while we look
                    if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                        return pid
    return None


def children(parent: int | None = None) -> list[int]:
    """Live child processes of ``parent`` (this process by default)."""
    parent = parent or os.getpid()
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == parent and fields[0] != "Z":
                found.append(int(entry))
    return found


@pytest.fixture
def web() -> Iterator[Web]:
    made = Web()
    yield made
    made.stop()


def corpus(web: Web, folder: Path, seeds: int = 24) -> None:
    """Seeds naming pages, images, a 404 and a cross-host redirect on every host."""
    folder.mkdir()
    for index in range(seeds):
        host = HOSTS[index % len(HOSTS)]
        other = HOSTS[(index + 1) % len(HOSTS)]
        page = web.page(host, f"/p{index}", 404 if index % 7 == 3 else 200)
        amp = web.page(other, f"/amp{index}")
        image = web.image(other, f"/i{index}.jpg")
        write_seed(
            folder,
            f"s{index:03}.txt",
            f'webUrl: "{page}"\nampWebUrl: "{amp}"\n'
            f'images:\n  - url: "{image}"\n    width: 40\n    height: {30 if index % 5 else 31}',
        )


def verdicts(report: Any) -> list[tuple[str, str, str, str]]:
    return [
        (check["url"], check["verdict"], check["reason"], check["message"])
        for seed in report.seeds()
        for check in seed["checks"]
    ]


def counts(report: Any) -> dict[str, Any]:
    """The summary's counts and each host's requests and verdicts (not its timings)."""
    summary = report.summary.to_dict()
    keep = ("checks", "ok", "failed", "warning", "skipped", "urls", "requests", "bytes_downloaded")
    hosts = {
        name: (host["requests"], host["retries"], host.get("verdicts"))
        for name, host in report.summary.hosts.items()
    }
    return {key: summary.get(key) for key in keep} | {"hosts": hosts}


# -- integration: real worker processes --------------------------------------------------------


def test_two_workers_give_the_same_verdicts_and_summary_as_one_process(
    tmp_path: Path, web: Web
) -> None:
    corpus(web, tmp_path / "seeds")
    one = check(local_config(tmp_path, tmp_path / "seeds", workers=1))
    two = check(local_config(tmp_path, tmp_path / "seeds", workers=2))
    try:
        assert verdicts(two) == verdicts(one)
        assert {v[1] for v in verdicts(one)} == {"ok", "failed"}
        assert counts(two) == counts(one)
        assert len(counts(one)["hosts"]) == len(HOSTS)
        assert two.summary.to_dict()["hosts_unresolved"] == 0
    finally:
        one.discard()
        two.discard()


def test_each_host_is_asked_by_one_worker_and_its_limit_holds(tmp_path: Path, web: Web) -> None:
    web.delay = 0.05
    corpus(web, tmp_path / "seeds", seeds=36)
    config = local_config(tmp_path, tmp_path / "seeds", workers=2, per_host_concurrency=2)
    report = check(config)
    report.discard()
    assert set(web.askers) == set(HOSTS)
    workers = set().union(*web.askers.values())
    assert os.getpid() not in workers, "the main process fetched nothing"
    assert len(workers) == 2, "both workers fetched"
    for host, pids in web.askers.items():
        assert len(pids) == 1, f"{host} was asked by {len(pids)} processes"
    assert max(web.peak.values()) <= 2


def test_a_worker_killed_mid_run_fails_its_urls_as_internal_and_the_report_is_complete(
    tmp_path: Path, web: Web
) -> None:
    folder = tmp_path / "seeds"
    corpus(web, folder, seeds=12)
    stuck = web.hang(HOSTS[0], "/stuck")
    write_seed(folder, "zz.txt", f'webUrl: "{stuck}"')
    done: list[Any] = []
    thread = threading.Thread(
        target=lambda: done.append(check(local_config(tmp_path, folder, workers=2)))
    )
    thread.start()
    assert web.held.wait(30), "the hanging URL was requested"
    assert web.hang_pid is not None and web.hang_pid != os.getpid()
    os.kill(web.hang_pid, signal.SIGKILL)
    thread.join(60)
    web.hanging.set()
    [report] = done
    try:
        by_url = {
            url: (verdict, reason, message) for url, verdict, reason, message in verdicts(report)
        }
        verdict, reason, message = by_url[stuck]
        assert (verdict, reason) == ("failed", "internal")
        assert f"(pid {web.hang_pid}) was killed by SIGKILL" in message
        others = [v for url, v in by_url.items() if url != stuck]
        assert all(reason != "skipped" for _, reason, _ in others)
        summary = report.summary.to_dict()
        assert summary["checks"] == len(by_url)
        assert any("was killed by SIGKILL" in note for note in summary["notes"])
    finally:
        report.discard()


def test_sigint_stops_the_workers_and_writes_a_partial_report(tmp_path: Path, web: Web) -> None:
    folder = tmp_path / "seeds"
    folder.mkdir()
    for index, host in enumerate(HOSTS):
        write_seed(folder, f"s{index}.txt", f'webUrl: "{web.hang(host, f"/h{index}")}"')
    output = tmp_path / "out.json"
    command = [
        sys.executable, "-m", "linkcheck", "check", str(folder), "--workers", "2",
        "--allow-network", "127.0.0.0/8", "--no-env-proxy", "-o", str(output), "-q",
    ]  # fmt: skip
    process = subprocess.Popen(command, stderr=subprocess.PIPE, cwd=tmp_path)
    try:
        assert web.held.wait(30), "the workers started fetching"
        workers = children(process.pid)
        assert len(workers) == 2
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    finally:
        web.hanging.set()
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, err
    report = json.loads(output.read_text(encoding="utf-8"))
    assert report["summary"]["stopped"] == "interrupted"
    reasons = {check["reason"] for seed in report["seeds"] for check in seed["checks"]}
    assert reasons == {"interrupted"}
    assert not any(Path(f"/proc/{pid}").exists() for pid in workers)


def test_max_duration_stops_the_workers_and_skips_what_is_unfinished(
    tmp_path: Path, web: Web
) -> None:
    folder = tmp_path / "seeds"
    folder.mkdir()
    write_seed(folder, "a.txt", f'webUrl: "{web.page(HOSTS[1], "/fine")}"')
    write_seed(folder, "b.txt", f'webUrl: "{web.hang(HOSTS[3], "/slow")}"')
    started = time.monotonic()
    report = check(
        local_config(
            tmp_path, folder, workers=2, max_duration=6.0, request_timeout=30.0, read_timeout=30.0
        )
    )
    try:
        assert time.monotonic() - started < 20
        fine, slow = verdicts(report)
        assert fine[1] == "ok"
        assert (slow[1], slow[2]) == ("skipped", "timeout")
        assert report.summary.to_dict()["stopped"] == "timeout"
    finally:
        report.discard()


# -- units -------------------------------------------------------------------------------------


def test_an_injected_transport_keeps_the_run_in_this_process(tmp_path: Path) -> None:
    write_seed(tmp_path, "a.txt", 'webUrl: "https://news.test/a"')
    transport = httpx.MockTransport(lambda request: httpx.Response(200, html="<html></html>"))
    config = local_config(tmp_path, workers=4)
    assert Runner(config, transport).pool is None
    assert Runner(config).pool is not None
    report = check(config, transport)
    try:
        assert [v[1] for v in verdicts(report)] == ["ok"]
    finally:
        report.discard()


def test_the_default_leaves_one_cpu_to_the_main_process(monkeypatch: pytest.MonkeyPatch) -> None:
    for available, expected in [(1, 1), (2, 1), (3, 2), (8, 7), (64, 8)]:
        monkeypatch.setattr("linkcheck.engine.workers.usable_cpus", lambda n=available: n)
        assert worker_count(Config()) == expected
    assert worker_count(Config(workers=3)) == 3


def test_inside_a_shard_hosts_still_spread_over_every_worker() -> None:
    config = Config(shard=Shard(2, 2))
    mine = [f"host{i}.test" for i in range(400) if host_partition(f"host{i}.test", 2) == 1]
    used = Counter(owner(host, 4, config) for host in mine)
    assert set(used) == {0, 1, 2, 3}
    assert min(used.values()) > len(mine) / 8


def test_run_wide_limits_are_shared_among_workers_and_sum_to_the_setting() -> None:
    assert [share(128, 3, i) for i in range(3)] == [43, 43, 42]
    assert [share(2, 4, i) for i in range(4)] == [1, 1, 1, 1]


def test_jobs_given_before_a_worker_connects_are_served(
    tmp_path: Path, server: LoopbackServer
) -> None:
    """The first seeds' fetches can be queued before the worker has connected: they then
    travel in the same frame as its settings, and must not be dropped with it."""
    url = server.page("/early")
    config = local_config(tmp_path, tmp_path, workers=2)

    async def first_fetch() -> int | None:
        pool = WorkerPool(config, 2, local_fetches)
        pool.start()
        try:
            outcome = await asyncio.wait_for(pool.fetch_fresh(False, url), 20)  # no yield before it
        finally:
            await pool.finish()
        return outcome.status

    assert asyncio.run(first_fetch()) == 200
    assert server.count("/early") == 1
