"""Network policy with HTTP mocked by respx: retries, Retry-After, verdict policy, URL rules."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from linkcheck.engine import runner
from linkcheck.engine.runner import check
from linkcheck.model.config import Config, parse_accept, parse_header_rule, parse_remap
from linkcheck.model.reasons import Reason
from linkcheck.model.records import Outcome
from linkcheck.net.fetch import Fetcher
from linkcheck.net.headers import content_length, content_range
from linkcheck.net.retry import retry_after
from linkcheck.net.transports import EnvProxies
from linkcheck.report.document import Report, Spool
from tests.conftest import write_seed


def run(
    tmp_path: Path, router: respx.MockRouter, front_matter: str, **changes: Any
) -> tuple[list[dict[str, Any]], Report]:
    write_seed(tmp_path, "seed.txt", front_matter)
    settings: dict[str, Any] = {"paths": (tmp_path,), "retry_backoff": 0.01}
    settings.update(changes)
    report = check(Config(**settings), transport=httpx.MockTransport(router.async_handler))
    try:
        return [c for seed in report.seeds() for c in seed["checks"]], report
    finally:
        report.discard()


@pytest.fixture
def router() -> respx.MockRouter:
    return respx.MockRouter(assert_all_called=False)


def test_503_twice_then_200_is_ok_after_two_retries(
    tmp_path: Path, router: respx.MockRouter
) -> None:
    router.get("https://a.test/").mock(
        side_effect=[httpx.Response(503), httpx.Response(503), httpx.Response(200)]
    )
    [page], report = run(tmp_path, router, 'webUrl: "https://a.test/"')
    assert page["verdict"] == "ok"
    assert router.calls.call_count == 3
    assert report.summary.requests == 3
    assert report.summary.hosts["a.test"]["retries"] == 2


def test_retries_zero_disables_retrying(tmp_path: Path, router: respx.MockRouter) -> None:
    router.get("https://a.test/").mock(side_effect=[httpx.Response(503), httpx.Response(200)])
    [page], _ = run(tmp_path, router, 'webUrl: "https://a.test/"', retries=0, recheck=False)
    assert (page["verdict"], page["http_status"]) == ("failed", 503)
    assert router.calls.call_count == 1


def test_recheck_pass_turns_a_blip_into_ok(tmp_path: Path, router: respx.MockRouter) -> None:
    router.get("https://a.test/").mock(
        side_effect=[httpx.Response(502), httpx.Response(502), httpx.Response(200)]
    )
    [page], report = run(tmp_path, router, 'webUrl: "https://a.test/"', retries=1)
    assert page["verdict"] == "ok"
    assert router.calls.call_count == 3
    assert (report.summary.ok, report.summary.failed) == (1, 0)


def test_no_retry_on_404(tmp_path: Path, router: respx.MockRouter) -> None:
    router.get("https://a.test/").respond(404)
    [page], _ = run(tmp_path, router, 'webUrl: "https://a.test/"')
    assert page["reason"] == "http_status"
    assert router.calls.call_count == 1


def test_429_with_retry_after_then_200_waits_and_is_ok(
    tmp_path: Path, router: respx.MockRouter
) -> None:
    router.get("https://a.test/").mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": "1"}), httpx.Response(200)]
    )
    started = datetime.now(UTC)
    [page], report = run(tmp_path, router, 'webUrl: "https://a.test/"')
    waited = (datetime.now(UTC) - started).total_seconds()
    assert page["verdict"] == "ok"
    assert waited >= 0.9
    host = report.summary.hosts["a.test"]
    assert (host["server_waits"], host["rate_limited_answers"]) == (1, 1)


def test_retry_after_over_the_cap_is_not_waited_out(
    tmp_path: Path, router: respx.MockRouter
) -> None:
    router.get("https://a.test/").respond(429, headers={"Retry-After": "3600"})
    [page], _ = run(tmp_path, router, 'webUrl: "https://a.test/"', retry_after_cap=5, recheck=False)
    assert (page["verdict"], page["reason"]) == ("warning", "rate_limited")
    assert "3600" in page["message"]
    assert router.calls.call_count == 1


def test_429_after_all_retries_is_a_rate_limited_warning(
    tmp_path: Path, router: respx.MockRouter
) -> None:
    router.get("https://a.test/").respond(429)
    [page], report = run(tmp_path, router, 'webUrl: "https://a.test/"', recheck=False)
    assert (page["verdict"], page["reason"]) == ("warning", "rate_limited")
    assert router.calls.call_count == 3
    assert report.summary.passed


def test_cloudflare_challenge_is_a_blocked_warning(
    tmp_path: Path, router: respx.MockRouter
) -> None:
    router.get("https://a.test/").respond(
        403,
        headers={"cf-mitigated": "challenge", "Server": "cloudflare"},
        html="<title>Just a moment...</title>",
    )
    [page], _ = run(tmp_path, router, 'webUrl: "https://a.test/"')
    assert (page["verdict"], page["reason"]) == ("warning", "blocked")
    assert "Cloudflare" in page["message"]


def test_plain_403_is_a_failure(tmp_path: Path, router: respx.MockRouter) -> None:
    router.get("https://a.test/").respond(403, html="<title>Forbidden</title>")
    [page], _ = run(tmp_path, router, 'webUrl: "https://a.test/"')
    assert (page["verdict"], page["reason"]) == ("failed", "http_status")


def test_accept_ranges_make_a_status_ok(tmp_path: Path, router: respx.MockRouter) -> None:
    router.get("https://a.test/").respond(403)
    [page], _ = run(
        tmp_path, router, 'webUrl: "https://a.test/"', accept=parse_accept("200-299,403")
    )
    assert (page["verdict"], page["http_status"]) == ("ok", 403)


def test_parse_accept_rejects_nonsense() -> None:
    assert parse_accept("200-299, 403") == ((200, 299), (403, 403))
    for bad in ("abc", "299-200", "50", ""):
        with pytest.raises(ValueError):
            parse_accept(bad)


def test_excluded_urls_are_skipped_without_a_request(
    tmp_path: Path, router: respx.MockRouter
) -> None:
    router.get("https://a.test/").respond(200)
    checks, report = run(
        tmp_path,
        router,
        'webUrl: "https://a.test/"\nampWebUrl: "https://amp.test/x"',
        exclude=(r"^https://amp\.test/",),
    )
    assert [(c["verdict"], c["reason"]) for c in checks] == [("ok", "ok"), ("skipped", "excluded")]
    assert router.calls.call_count == 1
    assert report.summary.passed


def test_include_wins_over_exclude(tmp_path: Path, router: respx.MockRouter) -> None:
    router.get("https://a.test/keep").respond(200)
    checks, _ = run(
        tmp_path,
        router,
        'webUrl: "https://a.test/keep"\nampWebUrl: "https://a.test/drop"',
        include=("keep",),
        exclude=("a\\.test",),
    )
    assert [c["reason"] for c in checks] == ["ok", "excluded"]


def test_remap_requests_the_mirror_and_reports_the_seed_url(
    tmp_path: Path, router: respx.MockRouter
) -> None:
    router.get("https://staging.test/story").respond(200)
    [page], _ = run(
        tmp_path,
        router,
        'webUrl: "https://www.news.test/story"',
        remap=(parse_remap(r"^https://www\.news\.test/ https://staging.test/"),),
    )
    assert page["verdict"] == "ok"
    assert page["url"] == "https://www.news.test/story"
    assert page["final_url"] == "https://staging.test/story"


def test_header_value_comes_from_the_environment_and_never_reaches_the_report(
    tmp_path: Path, router: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWS_TOKEN", "s3cret-value")
    route = router.get("https://api.news.test/a").respond(200)
    router.get("https://other.test/").respond(200)
    write_seed(
        tmp_path, "seed.txt", 'webUrl: "https://api.news.test/a"\nampWebUrl: "https://other.test/"'
    )
    config = Config(
        paths=(tmp_path,),
        headers=(parse_header_rule("*.news.test:X-Token:NEWS_TOKEN"),),
        output=tmp_path / "r.json",
    )
    report = check(config, transport=httpx.MockTransport(router.async_handler))
    try:
        report.save(config.output)
    finally:
        report.discard()
    assert route.calls.last.request.headers["X-Token"] == "s3cret-value"
    other = next(c for c in router.calls if c.request.url.host == "other.test")
    assert "X-Token" not in other.request.headers
    assert "s3cret-value" not in config.output.read_text(encoding="utf-8")


def test_head_method_uses_get_when_head_is_refused(
    tmp_path: Path, router: respx.MockRouter
) -> None:
    router.head("https://a.test/").respond(405)
    router.get("https://a.test/").respond(200)
    router.head("https://b.test/").respond(200)
    checks, _ = run(
        tmp_path, router, 'webUrl: "https://a.test/"\nampWebUrl: "https://b.test/"', method="head"
    )
    assert [c["verdict"] for c in checks] == ["ok", "ok"]
    assert sorted((c.request.method, c.request.url.host) for c in router.calls) == [
        ("GET", "a.test"),
        ("HEAD", "a.test"),
        ("HEAD", "b.test"),
    ]


def test_user_agent_is_sent(tmp_path: Path, router: respx.MockRouter) -> None:
    route = router.get("https://a.test/").respond(200)
    run(tmp_path, router, 'webUrl: "https://a.test/"', user_agent="audit-bot/2")
    assert route.calls.last.request.headers["User-Agent"] == "audit-bot/2"


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after("120", now) == 120
    assert retry_after("Thu, 01 Jan 2026 12:00:30 GMT", now) == 30
    assert retry_after("Thu, 01 Jan 2026 11:00:00 GMT", now) == 0
    assert retry_after("soon", now) is None
    assert retry_after(None, now) is None


def test_redirect_to_link_local_literal_is_refused(
    tmp_path: Path, router: respx.MockRouter
) -> None:
    router.get("https://a.test/").respond(
        302, headers={"Location": "http://169.254.169.254/latest/meta-data/"}
    )
    metadata = router.get(url__startswith="http://169.254.169.254").respond(200)
    [page], _ = run(tmp_path, router, 'webUrl: "https://a.test/"')
    assert (page["verdict"], page["reason"]) == ("failed", "unsafe_url")
    assert "169.254.169.254" in page["message"]
    assert not metadata.called


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "2130706433", "0x7f.1", "[::ffff:127.0.0.1]", "localhost"]
)
def test_loopback_literals_in_seeds_are_refused(
    tmp_path: Path, router: respx.MockRouter, host: str
) -> None:
    anything = router.route().respond(200)
    [page], _ = run(tmp_path, router, f'webUrl: "http://{host}/admin"')
    assert (page["verdict"], page["reason"]) == ("failed", "unsafe_url")
    assert not anything.called


def test_the_recheck_pass_tries_each_transient_failure_once_more(
    tmp_path: Path, router: respx.MockRouter
) -> None:
    router.get("https://a.test/").respond(503)
    [page], report = run(tmp_path, router, 'webUrl: "https://a.test/"')
    assert (page["verdict"], page["http_status"]) == ("failed", 503)
    assert router.calls.call_count == 3 + 1, "three tries in the main pass, one in the recheck"
    assert report.summary.requests == 4


def test_the_recheck_pass_holds_a_few_seeds_at_a_time_while_every_url_is_asked(
    tmp_path: Path, router: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Held seeds are re-read READ_AHEAD at a time, not a window of thousands, and every
    URL's second try is under way before the first of them is read."""
    for index in range(5):
        router.get(f"https://a.test/{index}").respond(503)
        write_seed(tmp_path, f"s{index}.txt", f'webUrl: "https://a.test/{index}"')
    monkeypatch.setattr(runner, "READ_AHEAD", 2)
    reads: list[int] = []
    replaced: list[int] = []
    under_way: list[int] = []
    read, replace = runner.Runner._read, Spool.replace

    def counted_read(self: runner.Runner, path: Path) -> Any:
        if self._rechecking:
            reads.append(len(reads) - len(replaced) + 1)  # re-read and not yet replaced
            under_way.append(sum(1 for _ in self._fetches.under_way()))
        return read(self, path)

    def counted_replace(self: Spool, *args: Any) -> None:
        replaced.append(1)
        replace(self, *args)

    monkeypatch.setattr(runner.Runner, "_read", counted_read)
    monkeypatch.setattr(Spool, "replace", counted_replace)
    config = Config(paths=(tmp_path,), retry_backoff=0.01, retries=0)
    report = check(config, transport=httpx.MockTransport(router.async_handler))
    try:
        checks = [c for seed in report.seeds() for c in seed["checks"]]
    finally:
        report.discard()
    assert [c["http_status"] for c in checks] == [503] * 5
    assert router.calls.call_count == 10, "one more try each"
    assert len(replaced) == 5 and max(reads) <= 2, "two seeds held at most"
    assert under_way[0] == 5, "every second try was under way when the first was re-read"


@pytest.mark.parametrize("value", ["²", "١٢", "1" * 40, "12abc", "\u30001"])
def test_a_retry_after_that_is_not_plain_ascii_digits_is_ignored(value: str) -> None:
    assert retry_after(value) is None


def test_content_length_and_content_range_are_read_as_bounded_ascii_numbers() -> None:
    assert [content_length(v) for v in (" 42 ", "²", "1" * 19, "-1", "", None)] == [
        42,
        None,
        None,
        None,
        None,
        None,
    ]
    assert content_range("bytes 0-99/1000") == (0, 99, 1000)
    assert content_range("bytes 0-99/*") == (0, 99, None)
    for bad in ("bytes 0-99/" + "9" * 5000, "bytes ²-3/4", "bytes 5-3/9", "bytes 0-9/9", "0-9/10"):
        assert content_range(bad) is None


def test_a_retry_after_of_superscript_digits_is_a_warning_not_a_crash(
    tmp_path: Path, router: respx.MockRouter
) -> None:
    router.get("https://a.test/").respond(429, headers=[(b"Retry-After", "²".encode())])
    router.get("https://b.test/").respond(200, html="<html amp>")
    checks, _ = run(
        tmp_path, router, 'webUrl: "https://a.test/"\nampWebUrl: "https://b.test/"', recheck=False
    )
    assert [(c["verdict"], c["reason"]) for c in checks] == [
        ("warning", "rate_limited"),
        ("ok", "ok"),
    ]


@pytest.mark.parametrize("wait", ["0", "3600"])
def test_a_503_fails_as_http_status_whatever_its_retry_after(
    tmp_path: Path, router: respx.MockRouter, wait: str
) -> None:
    router.get("https://a.test/").respond(503, headers={"Retry-After": wait})
    [page], _ = run(tmp_path, router, 'webUrl: "https://a.test/"', retry_after_cap=5, recheck=False)
    assert (page["verdict"], page["reason"], page["http_status"]) == ("failed", "http_status", 503)
    assert router.calls.call_count == (3 if wait == "0" else 1), "over the cap ends the URL at once"


def test_an_unexpected_error_in_one_fetch_fails_that_url_and_the_run_goes_on(
    tmp_path: Path, router: respx.MockRouter
) -> None:
    router.get("https://a.test/").mock(side_effect=RuntimeError("boom\nsecond line"))
    router.get("https://b.test/").respond(200, html="<html amp>")
    checks, report = run(
        tmp_path, router, 'webUrl: "https://a.test/"\nampWebUrl: "https://b.test/"'
    )
    assert [(c["verdict"], c["reason"]) for c in checks] == [
        ("failed", "internal"),
        ("ok", "ok"),
    ]
    assert checks[0]["message"] == "internal error: RuntimeError: boom second line"
    assert not report.summary.passed


def _fetch_once(
    handler: Callable[[httpx.Request], httpx.Response],
    read: Callable[[httpx.Response, int], Awaitable[object]],
) -> Outcome:
    async def go() -> Outcome:
        transport = httpx.MockTransport(handler)
        fetcher = Fetcher(Config(retry_backoff=0.01), transport=transport)
        try:
            return (await fetcher.fetch("https://a.test/", read, 1000)).outcome()
        finally:
            await fetcher.aclose()

    return asyncio.run(go())


def test_an_unexpected_error_is_logged_once_with_its_traceback_at_debug_level(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken_reader(response: httpx.Response, limit: int) -> object:
        raise KeyError("surprise")

    with caplog.at_level(logging.DEBUG, logger="linkcheck"):
        outcome = _fetch_once(lambda request: httpx.Response(200), broken_reader)
    assert (outcome.error, outcome.message) == (
        Reason.INTERNAL,
        "internal error: KeyError: 'surprise'",
    )
    logged = [record for record in caplog.records if record.exc_info]
    assert len(logged) == 1
    assert logged[0].levelno == logging.DEBUG and "https://a.test/" in logged[0].getMessage()


def test_cancelling_a_fetch_is_not_turned_into_a_verdict() -> None:
    async def cancelled_reader(response: httpx.Response, limit: int) -> object:
        raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        _fetch_once(lambda request: httpx.Response(200), cancelled_reader)


def test_a_redirect_to_an_emoji_domain_in_punycode_is_followed(
    tmp_path: Path, router: respx.MockRouter
) -> None:
    """xn--i-7iq.ws is not valid IDNA 2008 (httpx cannot decode it) but browsers reach it."""

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.raw_host == b"a.test":
            return httpx.Response(302, headers={"Location": "https://xn--i-7iq.ws/"})
        assert request.headers["Host"] == "xn--i-7iq.ws"
        return httpx.Response(200)

    router.route().mock(side_effect=answer)
    [page], _ = run(tmp_path, router, 'webUrl: "https://a.test/"')
    assert (page["verdict"], page["final_url"]) == ("ok", "https://xn--i-7iq.ws/")
    assert router.calls.call_count == 2


@pytest.mark.parametrize("host", ["xn--a.com", "xn--ab.example", "www.xn--0.test"])
def test_a_redirect_to_a_punycode_name_that_decodes_to_nothing_valid_is_invalid_url(
    tmp_path: Path, router: respx.MockRouter, host: str
) -> None:
    router.get("https://a.test/").respond(302, headers={"Location": f"http://{host}/"})
    anywhere_else = router.route(host=host).respond(200)
    [page], _ = run(tmp_path, router, 'webUrl: "https://a.test/"')
    assert (page["verdict"], page["reason"]) == ("failed", "invalid_url")
    assert host.split(".")[-2] in page["message"] or "xn--" in page["message"]
    assert not anywhere_else.called


def test_an_overlong_location_is_invalid_url_and_not_followed(
    tmp_path: Path, router: respx.MockRouter
) -> None:
    location = "https://b.test/" + "a" * 20_000
    router.get("https://a.test/").respond(302, headers={"Location": location})
    followed = router.route(host="b.test").respond(200)
    [page], _ = run(tmp_path, router, 'webUrl: "https://a.test/"')
    assert (page["verdict"], page["reason"]) == ("failed", "invalid_url")
    assert "20015 characters" in page["message"]
    assert len(page["message"]) < 300
    assert not followed.called


@pytest.mark.parametrize("location", ["https://b.test/\x1b[2Jx", "https://b.test/a\x00b", "\x7f/x"])
def test_a_location_with_control_characters_is_invalid_url_shown_escaped(
    tmp_path: Path, router: respx.MockRouter, location: str
) -> None:
    router.get("https://a.test/").respond(302, headers={"Location": location})
    followed = router.route(host="b.test").respond(200)
    [page], _ = run(tmp_path, router, 'webUrl: "https://a.test/"')
    assert (page["verdict"], page["reason"]) == ("failed", "invalid_url")
    assert not any(ord(c) < 0x20 or ord(c) == 0x7F for c in page["message"])
    assert not followed.called


@pytest.mark.parametrize(
    ("url", "proxied"),
    [
        ("http://news.test/a", True),
        ("http://cdn.corp.test/a", False),
        ("http://corp.test/a", False),
        ("http://notcorp.test/a", True),
        ("http://10.0.0.1:8080/a", False),
        ("http://10.0.0.1/a", True),
        ("http://[::1]/a", False),
        ("https://news.test/a", False),
    ],
)
def test_no_proxy_exempts_hosts_the_way_urllib_reads_it(url: str, proxied: bool) -> None:
    proxies = EnvProxies({"http": "http://proxy.test:3128"}, ".corp.test, 10.0.0.1:8080,[::1]")
    assert (proxies.for_url(httpx.URL(url)) is not None) is proxied


def test_proxy_settings_are_read_from_the_environment_without_showing_credentials(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("http_proxy", "user:pw-secret@proxy.test:3128")
    monkeypatch.setenv("https_proxy", "socks5://user:pw-secret@proxy.test:1080")
    monkeypatch.setenv("no_proxy", "*")
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "REQUEST_METHOD"):
        monkeypatch.delenv(name, raising=False)
    proxies = EnvProxies.from_environment()
    assert proxies.proxies == {"http": "http://user:pw-secret@proxy.test:3128"}
    assert proxies.for_url(httpx.URL("http://news.test/")) is None, "no_proxy=* exempts all"
    assert "https_proxy" in caplog.text
    assert "pw-secret" not in caplog.text + repr(proxies)
