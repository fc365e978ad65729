"""The network engine against real hostile servers on loopback: bounded time, clear verdicts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx
import pytest

from linkcheck.engine.runner import check
from linkcheck.model.config import Config, parse_network
from linkcheck.report.document import Report
from tests import hostile
from tests.conftest import local_config, write_seed
from tests.server import Answer, LoopbackServer, ServerFactory

FAST: dict[str, Any] = {
    "request_timeout": 1.0,
    "connect_timeout": 1.0,
    "read_timeout": 1.0,
    "retries": 0,
    "recheck": False,
    "retry_backoff": 0.01,
}


def run_pages(
    tmp_path: Path, urls: list[str], **changes: Any
) -> tuple[list[dict[str, Any]], Report]:
    """Check one seed per URL (as its webUrl) and return the checks in order."""
    for index, url in enumerate(urls):
        write_seed(tmp_path, f"s{index:03}.txt", f'webUrl: "{url}"')
    report = check(local_config(tmp_path, **{**FAST, **changes}))
    try:
        return [c for seed in report.seeds() for c in seed["checks"]], report
    finally:
        report.discard()


def one(tmp_path: Path, url: str, **changes: Any) -> dict[str, Any]:
    checks, _ = run_pages(tmp_path, [url], **changes)
    return checks[0]


def test_a_hanging_server_costs_one_deadline_and_is_a_timeout(
    tmp_path: Path, server: LoopbackServer
) -> None:
    started = time.monotonic()
    page = one(tmp_path, server.route("/hang", hostile.hang()))
    assert (page["verdict"], page["reason"]) == ("failed", "timeout")
    assert time.monotonic() - started < 3


def test_a_trickling_server_is_ended_by_the_total_deadline(
    tmp_path: Path, server: LoopbackServer
) -> None:
    url = server.route("/trickle", hostile.trickle(rate_bytes_per_s=4, total=100_000))
    started = time.monotonic()
    page = one(tmp_path, url, read_timeout=5.0, request_timeout=1.5)
    assert (page["verdict"], page["reason"]) == ("failed", "timeout")
    assert time.monotonic() - started < 3.5


def test_a_page_whose_body_never_comes_is_not_healthy(
    tmp_path: Path, server: LoopbackServer
) -> None:
    page = one(tmp_path, server.route("/nobody", hostile.body_never_comes()))
    assert (page["verdict"], page["reason"]) == ("failed", "timeout")


def test_a_connection_reset_is_retried_then_named(tmp_path: Path, server: LoopbackServer) -> None:
    page = one(tmp_path, server.route("/reset", hostile.reset()), retries=2)
    assert (page["verdict"], page["reason"]) == ("failed", "connect")
    assert server.hits("/reset") == 3


def test_an_empty_reply_is_a_connect_failure(tmp_path: Path, server: LoopbackServer) -> None:
    page = one(tmp_path, server.route("/empty", hostile.empty_reply()))
    assert (page["verdict"], page["reason"]) == ("failed", "connect")


def test_a_malformed_answer_is_a_protocol_failure(tmp_path: Path, server: LoopbackServer) -> None:
    page = one(tmp_path, server.route("/garbage", hostile.malformed()))
    assert (page["verdict"], page["reason"]) == ("failed", "protocol")


def test_a_redirect_loop_is_named(tmp_path: Path, server: LoopbackServer) -> None:
    server.route("/loop-b", hostile.redirect("/loop-a"))
    page = one(tmp_path, server.route("/loop-a", hostile.redirect("/loop-b")))
    assert (page["verdict"], page["reason"]) == ("failed", "redirect_loop")
    assert (server.hits("/loop-a"), server.hits("/loop-b")) == (1, 1)


def test_503_twice_then_200_is_ok(tmp_path: Path, server: LoopbackServer) -> None:
    url = server.route(
        "/flaky", hostile.sequence(hostile.status(503), hostile.status(503), hostile.ok())
    )
    page = one(tmp_path, url, retries=2)
    assert page["verdict"] == "ok"
    assert server.hits("/flaky") == 3


def test_429_with_retry_after_then_200_is_ok_after_the_wait(
    tmp_path: Path, server: LoopbackServer
) -> None:
    url = server.route(
        "/busy", hostile.sequence(hostile.status(429, {"Retry-After": "1"}), hostile.ok())
    )
    started = time.monotonic()
    checks, report = run_pages(tmp_path, [url], retries=2)
    assert checks[0]["verdict"] == "ok"
    assert time.monotonic() - started >= 0.9
    assert report.summary.hosts["127.0.0.1"]["server_waits"] == 1


def test_head_405_falls_back_to_get(tmp_path: Path, server: LoopbackServer) -> None:
    page = one(tmp_path, server.route("/nohead", hostile.method_split()), method="head")
    assert page["verdict"] == "ok"
    assert server.methods("/nohead") == ["HEAD", "GET"]


def test_never_more_than_the_per_host_limit_in_flight(
    tmp_path: Path, server: LoopbackServer
) -> None:
    urls = [server.route(f"/slow/{n}", hostile.slow_headers(0.1)) for n in range(24)]
    checks, _ = run_pages(tmp_path, urls, per_host_concurrency=3)
    assert all(c["verdict"] == "ok" for c in checks)
    assert server.max_in_flight_for("/slow/") == 3


def test_a_host_limited_to_4_in_flight_ends_with_no_false_failures(
    tmp_path: Path, server: LoopbackServer
) -> None:
    gate = hostile.limited(max_in_flight=4, delay=0.05)
    urls = [server.route(f"/capped/{n}", gate) for n in range(40)]
    checks, report = run_pages(tmp_path, urls, retries=2, recheck=True)
    assert [c["verdict"] for c in checks] == ["ok"] * 40
    assert gate.peak <= 8, "never more than our own per-host limit"
    assert gate.rejected > 0, "the server did push back"
    host = report.summary.hosts["127.0.0.1"]
    assert host["rate_limited_answers"] == gate.rejected
    assert host["retries"] >= 1


def test_a_gzip_bomb_costs_only_the_bytes_read(tmp_path: Path, server: LoopbackServer) -> None:
    checks, report = run_pages(tmp_path, [server.route("/bomb", hostile.gzip_bomb())])
    assert checks[0]["verdict"] == "ok"
    assert report.summary.bytes_downloaded < 1_000_000


def test_tls_with_a_trusted_local_ca_is_ok_and_an_untrusted_one_fails(
    tmp_path: Path, server_factory: ServerFactory
) -> None:
    trusted = hostile.make_tls()
    ca_file = trusted.write_ca(tmp_path / "ca.pem")
    url = server_factory(tls=trusted).route("/secure", hostile.ok())
    (tmp_path / "a").mkdir()
    page = one(tmp_path / "a", url, ca_bundle=ca_file)
    assert (page["verdict"], page["reason"]) == ("ok", "ok")
    url = server_factory(tls=hostile.self_signed_tls()).route("/secure", hostile.ok())
    (tmp_path / "b").mkdir()
    page = one(tmp_path / "b", url)
    assert (page["verdict"], page["reason"]) == ("failed", "tls")
    assert "certificate" in page["message"].lower()


def test_insecure_accepts_an_untrusted_certificate(
    tmp_path: Path, server_factory: ServerFactory
) -> None:
    url = server_factory(tls=hostile.self_signed_tls()).route("/secure", hostile.ok())
    page = one(tmp_path, url, insecure=True)
    assert page["verdict"] == "ok"


def test_redirects_to_loopback_and_link_local_are_refused_with_no_connection(
    tmp_path: Path, server_factory: ServerFactory
) -> None:
    victim = server_factory()  # no routes: it only counts the connections it accepts
    site = server_factory(host="127.0.0.2")
    to_loopback = site.redirect("/to-loopback", f"http://127.0.0.1:{victim.port}/admin")
    to_metadata = site.redirect("/to-metadata", "http://169.254.169.254/latest/meta-data/")
    to_localhost = site.redirect("/to-localhost", f"http://localhost:{victim.port}/")
    for index, url in enumerate((to_loopback, to_metadata, to_localhost)):
        write_seed(tmp_path, f"s{index}.txt", f'webUrl: "{url}"')
    config = Config(paths=(tmp_path,), allow_networks=(parse_network("127.0.0.2/32"),), **FAST)
    report = check(config)
    checks = [c for seed in report.seeds() for c in seed["checks"]]
    report.discard()
    assert [(c["verdict"], c["reason"]) for c in checks] == [("failed", "unsafe_url")] * 3
    assert victim.connections == 0
    assert [len(c["redirects"]) for c in checks] == [1, 1, 1]


def test_max_duration_skips_what_is_left_and_still_writes_the_report(
    tmp_path: Path, server: LoopbackServer
) -> None:
    urls = [server.route(f"/stuck/{n}", hostile.hang()) for n in range(5)]
    started = time.monotonic()
    checks, report = run_pages(
        tmp_path, urls, request_timeout=30, read_timeout=30, max_duration=1.0
    )
    assert time.monotonic() - started < 4
    assert [(c["verdict"], c["reason"]) for c in checks] == [("skipped", "timeout")] * 5
    assert report.summary.stopped == "timeout"


def test_a_stop_during_the_recheck_pass_keeps_the_main_pass_verdicts(
    tmp_path: Path, server: LoopbackServer
) -> None:
    asked: list[float] = []

    def blip_then_hang(handler: BaseHTTPRequestHandler) -> None:
        asked.append(time.monotonic())
        if len(asked) == 1:
            handler.send_response(503)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        time.sleep(4)  # the recheck pass's try: still waiting when the run stops

    blip = server.route("/blip", blip_then_hang)
    fine = server.route("/fine", hostile.ok())
    started = time.monotonic()
    checks, report = run_pages(
        tmp_path, [blip, fine], recheck=True, request_timeout=30, read_timeout=30,
        max_duration=1.0,
    )  # fmt: skip
    assert time.monotonic() - started < 3.5
    assert len(asked) == 2, "the recheck pass asked the URL again"
    assert [(c["verdict"], c["http_status"]) for c in checks] == [("failed", 503), ("ok", 200)]
    assert report.summary.stopped == "timeout"


def test_sigint_stops_cleanly_with_a_partial_report(tmp_path: Path, server: LoopbackServer) -> None:
    fine = server.route("/fine", hostile.ok())
    stuck = server.route("/stuck", hostile.hang())
    write_seed(tmp_path, "a.txt", f'webUrl: "{fine}"')
    write_seed(tmp_path, "b.txt", f'webUrl: "{stuck}"')
    out = tmp_path / "out.json"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "linkcheck",
            "check",
            str(tmp_path),
            "-o",
            str(out),
            "--allow-network",
            "127.0.0.0/8",
            "--timeout",
            "30",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    deadline = time.monotonic() + 10
    while server.hits("/stuck") == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _stdout, _ = process.communicate(timeout=10)
    assert process.returncode == 130
    report = json.loads(out.read_text(encoding="utf-8"))
    verdicts = [seed["checks"][0]["verdict"] for seed in report["seeds"]]
    assert verdicts == ["ok", "skipped"]
    assert report["seeds"][1]["checks"][0]["reason"] == "interrupted"
    assert report["summary"]["stopped"] == "interrupted"


def test_http2_is_spoken_when_asked_for(tmp_path: Path, server_factory: ServerFactory) -> None:
    tls = hostile.make_tls()
    server = server_factory(tls=tls, http2=True)
    url = server.route("/h2-page", hostile.ok())
    page = one(tmp_path, url, http2=True, ca_bundle=tls.write_ca(tmp_path / "ca.pem"))
    assert (page["verdict"], page["http_status"]) == ("ok", 200)
    assert [(hit.path, hit.version) for hit in server.hits] == [("/h2-page", "HTTP/2")]


def test_http2_transport_connects_only_to_vetted_addresses(
    tmp_path: Path, server_factory: ServerFactory
) -> None:
    """The HTTP/2 path pins connections too: a name resolving to loopback is refused."""
    import asyncio

    from linkcheck.net.safety import AddressPolicy
    from linkcheck.net.transports import http2_transport

    victim = server_factory()

    async def to_loopback(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    async def attempt(policy: AddressPolicy) -> BaseException | None:
        transport = http2_transport(Config(), policy, resolve=to_loopback)
        request = httpx.Request("GET", f"http://internal.test:{victim.port}/")
        try:
            await transport.handle_async_request(request)
        except BaseException as exc:
            return exc
        finally:
            await transport.aclose()
        return None

    refused = asyncio.run(attempt(AddressPolicy()))
    assert refused is not None and "internal.test" in str(refused)
    assert victim.connections == 0
    asyncio.run(attempt(AddressPolicy(allow_hosts=("*.test",))))
    assert victim.connections == 1


def test_min_interval_spaces_request_starts_to_a_host(
    tmp_path: Path, server: LoopbackServer
) -> None:
    urls = [server.route(f"/spaced/{n}", hostile.ok()) for n in range(4)]
    run_pages(tmp_path, urls, min_interval=0.2)
    starts = sorted(r.at for r in server.requests if r.path.startswith("/spaced/"))
    assert len(starts) == 4
    assert min(b - a for a, b in pairwise(starts)) >= 0.18


def test_a_host_rule_overrides_the_per_host_limit(tmp_path: Path, server: LoopbackServer) -> None:
    from linkcheck.model.config import parse_host_rule

    urls = [server.route(f"/ruled/{n}", hostile.slow_headers(0.05)) for n in range(6)]
    checks, _ = run_pages(tmp_path, urls, host_rules=(parse_host_rule("127.0.0.*=1"),))
    assert all(c["verdict"] == "ok" for c in checks)
    assert server.max_in_flight_for("/ruled/") == 1


def test_the_global_limit_bounds_requests_in_flight(tmp_path: Path, server: LoopbackServer) -> None:
    urls = [server.route(f"/global/{n}", hostile.slow_headers(0.05)) for n in range(12)]
    checks, _ = run_pages(tmp_path, urls, max_concurrency=2)
    assert all(c["verdict"] == "ok" for c in checks)
    assert server.max_in_flight_for("/global/") == 2


def test_the_read_timeout_ends_a_silent_body_before_the_request_deadline(
    tmp_path: Path, server: LoopbackServer
) -> None:
    started = time.monotonic()
    page = one(tmp_path, server.route("/silent", hostile.body_never_comes()), read_timeout=0.5,
               request_timeout=10.0)  # fmt: skip
    assert (page["verdict"], page["reason"]) == ("failed", "timeout")
    assert time.monotonic() - started < 3


def test_a_429_over_the_retry_after_cap_ends_that_url_only_and_pauses_the_host_at_most_the_cap(
    tmp_path: Path, server: LoopbackServer
) -> None:
    """A Retry-After of an hour neither stalls the host's queue nor colours its other verdicts."""
    busy = server.route("/busy", hostile.status(429, {"Retry-After": "3600"}))
    fine = [server.route(f"/fine/{n}", hostile.ok()) for n in range(3)]
    broken = server.route("/broken", hostile.status(500))
    reset = server.route("/reset", hostile.reset())
    hanging = server.route("/hanging", hostile.hang())
    started = time.monotonic()
    checks, report = run_pages(
        tmp_path,
        [busy, *fine, broken, reset, hanging],
        per_host_concurrency=1,
        retry_after_cap=1.0,
        retries=1,
    )
    elapsed = time.monotonic() - started
    assert [(c["verdict"], c["reason"]) for c in checks] == [
        ("warning", "rate_limited"),
        ("ok", "ok"),
        ("ok", "ok"),
        ("ok", "ok"),
        ("failed", "http_status"),
        ("failed", "connect"),
        ("failed", "timeout"),
    ]
    assert "3600" in checks[0]["message"]
    assert server.hits("/busy") == 1, "over the cap: no retry"
    assert elapsed < 12, "the host waited at most the cap, not the hour"
    assert not report.summary.passed


def test_a_503_fails_the_same_whether_its_retry_after_is_under_or_over_the_cap(
    tmp_path: Path, server: LoopbackServer
) -> None:
    under = server.route("/under", hostile.status(503, {"Retry-After": "1"}))
    over = server.route("/over", hostile.status(503, {"Retry-After": "3"}))
    started = time.monotonic()
    checks, _ = run_pages(tmp_path, [under, over], retries=1, retry_after_cap=2.0)
    assert [(c["verdict"], c["reason"], c["http_status"]) for c in checks] == [
        ("failed", "http_status", 503),
        ("failed", "http_status", 503),
    ]
    assert (server.hits("/under"), server.hits("/over")) == (2, 1)
    assert time.monotonic() - started < 8


def test_a_retry_after_in_superscript_digits_is_ignored_and_the_retry_succeeds(
    tmp_path: Path, server: LoopbackServer
) -> None:
    url = server.route(
        "/sup", hostile.sequence(hostile.status(429, {"Retry-After": "\u00b2"}), hostile.ok())
    )
    page = one(tmp_path, url, retries=1)
    assert (page["verdict"], page["reason"]) == ("ok", "ok")
    assert server.hits("/sup") == 2


def test_the_request_deadline_covers_the_whole_redirect_chain(
    tmp_path: Path, server: LoopbackServer
) -> None:
    hops = 8
    for n in range(hops):
        server.route(f"/hop/{n}", hostile.slow_headers(0.4, hostile.redirect(f"/hop/{n + 1}")))
    server.route(f"/hop/{hops}", hostile.ok())
    started = time.monotonic()
    page = one(tmp_path, server.url("/hop/0"), request_timeout=1.0, read_timeout=1.0)
    assert (page["verdict"], page["reason"]) == ("failed", "timeout")
    assert "redirect" in page["message"]
    assert time.monotonic() - started < 2.5
    assert server.hits(f"/hop/{hops}") == 0


def test_a_redirect_chain_within_the_deadline_is_ok(tmp_path: Path, server: LoopbackServer) -> None:
    for n in range(3):
        server.route(f"/quick/{n}", hostile.slow_headers(0.1, hostile.redirect(f"/quick/{n + 1}")))
    server.route("/quick/3", hostile.ok())
    page = one(tmp_path, server.url("/quick/0"), request_timeout=1.0)
    assert (page["verdict"], len(page["redirects"])) == ("ok", 3)


def test_a_redirect_to_an_undecodable_punycode_host_is_invalid_url_without_a_lookup(
    tmp_path: Path, server: LoopbackServer
) -> None:
    url = server.route("/to-bad-idn", hostile.redirect("http://xn--a.invalid/"))
    page = one(tmp_path, url)
    assert (page["verdict"], page["reason"]) == ("failed", "invalid_url")
    assert "xn--a" in page["message"]


def test_netrc_credentials_are_never_sent(
    tmp_path: Path, server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    netrc = home / ".netrc"
    netrc.write_text(f"machine {server.host} login seed-user password s3cret\n", encoding="utf-8")
    netrc.chmod(0o600)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("NETRC", raising=False)
    url = server.page("/private")
    (tmp_path / "seeds").mkdir()
    page = one(tmp_path / "seeds", url)
    assert page["verdict"] == "ok"
    [hit] = [hit for hit in server.hits if hit.path == "/private"]
    assert "authorization" not in {name.lower() for name in hit.headers}


@pytest.mark.parametrize("trust_env", [True, False])
def test_http_proxy_from_the_environment_is_used_unless_no_env_proxy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, trust_env: bool, server_factory: ServerFactory
) -> None:
    """The proxy (a loopback server that records the absolute-form request) is read once."""
    origin = server_factory()  # where a direct request would go: every path is a 404
    proxy = server_factory()
    target = f"http://127.0.0.1:{origin.port}/via-proxy"
    proxy.add(target, Answer(200, b"proxied", {"Content-Type": "text/plain"}))
    for name in ("NO_PROXY", "no_proxy", "http_proxy", "REQUEST_METHOD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", proxy.url(""))
    page = one(tmp_path, target, trust_env=trust_env)
    if trust_env:
        assert (page["verdict"], page["http_status"]) == ("ok", 200)
        assert [hit.path for hit in proxy.hits] == [target]
        assert origin.connections == 0
    else:
        assert page["verdict"] == "failed"
        assert proxy.hits == []
        assert origin.hits("/via-proxy") >= 1


def test_no_proxy_from_the_environment_bypasses_the_proxy(
    tmp_path: Path,
    server: LoopbackServer,
    monkeypatch: pytest.MonkeyPatch,
    server_factory: ServerFactory,
) -> None:
    proxy = server_factory()
    monkeypatch.setenv("http_proxy", proxy.url(""))
    monkeypatch.setenv("no_proxy", "localhost,127.0.0.1")
    monkeypatch.delenv("NO_PROXY", raising=False)
    page = one(tmp_path, server.route("/direct", hostile.ok()))
    assert page["verdict"] == "ok"
    assert proxy.hits == []
    assert server.hits("/direct") == 1


def test_urls_taken_as_already_normal_are_exactly_what_the_full_parse_gives() -> None:
    """The cheap check in normalize() may only skip work, never change a URL."""
    import random

    from linkcheck.net import urls

    rng = random.Random(20261130)
    hosts = [
        "a.com", "A.com", "x.y.example", "127.0.0.1", "256.1.1.1", "01.2.3.4", "a_b.io",
        "xn--i-7iq.ws", "a.xn--p1ai", "a..b", "a.b.", "-a.com", "a.1com", "localhost",
        "a.com:1", "a.com:80", "a.com:443", "a.com:65535", "a.com:65536", "a.com:080",
        "u@a.com", "a" * 250 + ".com", "[::1]", "\u00e9.fr",
    ]  # fmt: skip
    alphabet = "aZ09-._~!$&'()*+,;=:@%/?#[]|^`\" \u00e9" + "%2F%zz/./../"
    taken = 0
    for _ in range(20_000):
        tail = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14)))
        text = f"{rng.choice(['http', 'https', 'HTTP'])}://{rng.choice(hosts)}{tail}"
        if urls.already_normal(text):
            taken += 1
            assert urls._parse(text) == text, text
    assert taken > 300, "the generator must exercise the cheap path"
