"""The run's boundaries: what goes wrong for one seed or one URL stays with it."""

from __future__ import annotations

import gc
import io
import logging
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from PIL import Image

from linkcheck.cli import main
from linkcheck.engine import memory, runner
from linkcheck.engine.fetching import LocalFetches
from linkcheck.engine.runner import check
from linkcheck.model import judge as judging
from linkcheck.model.config import Config
from linkcheck.model.records import Outcome, Seed, Target
from linkcheck.probes.images import ImageProber
from linkcheck.report.document import Summary
from linkcheck.seeds import reader
from tests.conftest import local_config, picture, write_seed
from tests.hostile import slow_headers
from tests.server import Answer, LoopbackServer, ServerFactory

PAGE_AND_IMAGE = """
webUrl: "https://news.test/a"
images:
  - url: "https://img.test/a.jpg"
    width: 10
    height: 10
"""


def _run(tmp_path: Path, router: respx.MockRouter) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    config = Config(paths=(tmp_path,), output=tmp_path / "r.json", retry_backoff=0.0)
    report = check(config, transport=httpx.MockTransport(router.async_handler))
    try:
        return report.summary.to_dict(), list(report.seeds())
    finally:
        report.discard()


@pytest.fixture
def router() -> respx.MockRouter:
    mock = respx.MockRouter(assert_all_called=False)
    mock.get("https://news.test/a").respond(200, html="<html></html>")
    mock.get("https://news.test/b").respond(200, html="<html></html>")
    return mock


def test_a_seed_whose_reading_raises_is_reported_and_the_others_are_checked(
    tmp_path: Path, router: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_seed(tmp_path, "a.txt", 'webUrl: "https://news.test/a"')
    write_seed(tmp_path, "b.txt", 'webUrl: "https://news.test/b"')
    real = reader.read_seed

    def flaky(path: Path, config: Config, parsed: reader.ParsedSeeds | None = None) -> Seed:
        if path.name == "a.txt":
            raise KeyError("boom")
        return real(path, config, parsed)

    monkeypatch.setattr(runner, "read_seed", flaky)
    summary, seeds = _run(tmp_path, router)
    broken, good = seeds
    assert broken["valid"] is False
    assert broken["errors"][0]["reason"] == "internal"
    assert "KeyError" in broken["errors"][0]["message"]
    assert good["checks"][0]["verdict"] == "ok"
    assert summary["invalid_seeds"] == 1


def test_a_probe_that_raises_fails_only_its_own_check(
    tmp_path: Path, router: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken_probe(self: ImageProber, url: str) -> Outcome:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(ImageProber, "probe", broken_probe)
    write_seed(tmp_path, "a.txt", PAGE_AND_IMAGE)
    _, [seed] = _run(tmp_path, router)
    page, image = seed["checks"]
    assert page["verdict"] == "ok"
    assert (image["verdict"], image["reason"]) == ("failed", "internal")
    assert image["message"] == "internal error: ZeroDivisionError: division by zero"


def test_judging_that_raises_fails_only_that_check(
    tmp_path: Path, router: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = judging.judge

    def picky(target: Target, outcome: Outcome, policy: Any) -> Any:
        if target.url.endswith("/b"):
            raise ValueError("no")
        return real(target, outcome, policy)

    monkeypatch.setattr(runner, "judge", picky)
    write_seed(tmp_path, "a.txt", 'webUrl: "https://news.test/a"')
    write_seed(tmp_path, "b.txt", 'webUrl: "https://news.test/b"')
    summary, [a, b] = _run(tmp_path, router)
    assert a["checks"][0]["verdict"] == "ok"
    assert (b["checks"][0]["reason"], b["checks"][0]["http_status"]) == ("internal", 200)
    assert summary["failed"] == 1


def test_an_exception_in_the_recheck_pass_still_gives_the_check_a_verdict(
    tmp_path: Path, router: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    router.get("https://news.test/c").respond(503)
    write_seed(tmp_path, "c.txt", 'webUrl: "https://news.test/c"')
    real = LocalFetches.fetch_fresh
    calls = 0

    async def second_time_raises(
        self: LocalFetches, as_image: bool, url: str, once: bool = False
    ) -> Outcome:
        nonlocal calls
        calls += 1
        if calls > 1:
            raise RuntimeError("recheck broke")
        return await real(self, as_image, url, once)

    monkeypatch.setattr(LocalFetches, "fetch_fresh", second_time_raises)
    summary, [seed] = _run(tmp_path, router)
    assert calls == 2
    assert seed["checks"][0]["reason"] == "internal"
    assert "recheck broke" in seed["checks"][0]["message"]
    assert summary["checks"] == 1 and summary["failed"] == 1


def test_a_fifo_among_the_seeds_is_skipped_with_a_note_and_the_run_goes_on(
    tmp_path: Path, router: respx.MockRouter
) -> None:
    write_seed(tmp_path, "a.txt", 'webUrl: "https://news.test/a"')
    os.mkfifo(tmp_path / "pipe.txt")
    summary, seeds = _run(tmp_path, router)
    assert [seed["path"] for seed in seeds] == [str(tmp_path / "a.txt")]
    assert summary["skipped_files"] == 1
    assert summary["notes"] == [
        f"{tmp_path / 'pipe.txt'}: skipped, a FIFO (named pipe), not a regular file"
    ]


def test_the_recheck_pass_rereads_a_seed_whose_name_is_not_utf8(
    tmp_path: Path, router: respx.MockRouter
) -> None:
    route = router.get("https://news.test/blip")
    route.side_effect = [httpx.Response(503), httpx.Response(200)]
    name = os.fsencode(tmp_path) + b"/caf\xe9.txt"
    with open(name, "wb") as stream:
        stream.write(b'---\nwebUrl: "https://news.test/blip"\n---\n')
    config = Config(paths=(tmp_path,), output=tmp_path / "r.json", retries=0)
    report = check(config, transport=httpx.MockTransport(router.async_handler))
    try:
        [seed] = list(report.seeds())
    finally:
        report.discard()
    assert seed["path"].endswith("caf\\xe9.txt")
    assert seed["errors"] == []
    assert seed["checks"][0]["verdict"] == "ok"


def test_images_whose_end_could_not_be_checked_are_counted_in_the_summary(
    tmp_path: Path, server: LoopbackServer
) -> None:
    noise = Image.frombytes("RGB", (300, 300), random.Random(7).randbytes(300 * 300 * 3))
    buffer = io.BytesIO()
    noise.save(buffer, "PNG")
    assert len(buffer.getvalue()) > 64 * 1024
    big = server.image("/big.png", buffer.getvalue(), "image/png", ranges=False)
    small = server.image("/small.png", picture(30, 20, "PNG"), "image/png", ranges=False)
    write_seed(
        tmp_path,
        "a.txt",
        f'webUrl: "{small}"\nimages:\n  - url: "{big}"\n    width: 300\n    height: 300\n'
        f'  - url: "{small}"\n    width: 30\n    height: 20\n',
    )
    server.add("/", Answer(200, b"<html></html>", {"Content-Type": "text/html"}))
    report = check(local_config(tmp_path))
    try:
        seeds = list(report.seeds())
        summary = report.summary.to_dict()
    finally:
        report.discard()
    images = [c for c in seeds[0]["checks"] if c["kind"] == "image"]
    assert [c["verdict"] for c in images] == ["ok", "ok"]
    assert images[0]["image"]["integrity"] == "not_checked" and images[0]["image"]["notes"]
    assert images[1]["image"]["integrity"] == "ok"
    assert summary["images_end_not_checked"] == 1


def test_verbose_runs_log_a_contained_failure_with_its_traceback_escaped(
    tmp_path: Path,
    server: LoopbackServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    write_seed(tmp_path, "a\x1b[2Jb.txt", f'webUrl: "{server.url("/")}"')
    server.add("/", Answer(200, b"<html></html>", {"Content-Type": "text/html"}))

    def broken(path: Path, config: Config, parsed: object = None) -> Seed:
        raise KeyError("boom")

    monkeypatch.setattr(runner, "read_seed", broken)
    argv = ["check", str(tmp_path), "-o", str(tmp_path / "r.json"), "-v"]
    assert main([*argv, "--allow-network", "127.0.0.0/8"]) == 1
    err = capsys.readouterr().err
    assert "linkcheck: DEBUG: reading" in err and "KeyError: 'boom'" in err
    assert "Traceback" in err and "\x1b" not in err
    logging.getLogger("linkcheck").handlers.clear()


@pytest.mark.parametrize(
    "field", ["webUrl: 0x", "images:\n  - url: https://a.test/i.png\n    width: 0x"]
)
def test_a_huge_integer_literal_is_a_bad_type_with_its_line_not_an_internal_error(
    field: str,
) -> None:
    from linkcheck.seeds.reader import parse_seed

    text = "---\nwebUrl: https://a.test/\n" if not field.startswith("webUrl") else "---\n"
    seed = parse_seed("s.txt", (text + field + "f" * 5000 + "\n---\n").encode(), Config())
    [error] = seed.errors
    assert error.reason.value == "bad_type" and "-bit integer" in error.message
    assert error.line is not None and len(error.message) < 200


@pytest.mark.parametrize("url", ["http://127.0.0.1:65536/", "https://a.test:99999999/x"])
def test_a_port_out_of_range_is_an_invalid_url_not_a_crash(url: str) -> None:
    from linkcheck.net.urls import BadUrl, normalize

    with pytest.raises(BadUrl, match="out of range"):
        normalize(url)


def test_remapped_urls_are_one_host_row_naming_the_seed_host_beside_it(tmp_path: Path) -> None:
    router = respx.MockRouter(assert_all_called=False)
    router.get("https://mirror.test/a").respond(200, html="<html></html>")
    router.get("https://mirror.test/b").respond(404)
    write_seed(tmp_path, "a.txt", 'webUrl: "https://news.test/a"')
    write_seed(tmp_path, "b.txt", 'webUrl: "https://news.test/b"')
    config = Config(
        paths=(tmp_path,),
        output=tmp_path / "r.json",
        remap=("^https://news\\.test/ https://mirror.test/",),  # type: ignore[arg-type]
    )
    report = check(config, transport=httpx.MockTransport(router.async_handler))
    try:
        hosts = report.header()["hosts"]
    finally:
        report.discard()
    assert list(hosts) == ["mirror.test"]
    assert hosts["mirror.test"]["verdicts"] == {"ok": 1, "failed": 1}
    assert hosts["mirror.test"]["remapped_from"] == ["news.test"]
    assert hosts["mirror.test"]["requests"] == 2


class _FirstRelease:
    """A progress sink noting when the first seed's result was released."""

    def __init__(self) -> None:
        self.first: float | None = None

    def planned(self, checks: int) -> None:
        pass

    def checked(self, count: int = 1) -> None:
        pass

    def update(self, summary: Summary) -> None:
        if self.first is None and summary.seeds >= 1:
            self.first = time.monotonic()


def test_requests_follow_seed_order_so_the_first_results_leave_before_the_last_urls_start(
    tmp_path: Path, server_factory: ServerFactory
) -> None:
    hosts = [server_factory(host=f"127.0.0.{n}") for n in (2, 3, 4, 5)]
    for index in range(80):
        server = hosts[index % 4]
        url = server.add(f"/p{index}", slow_headers(0.05))
        write_seed(tmp_path, f"s{index:03}.txt", f'webUrl: "{url}"')
    sink = _FirstRelease()
    report = check(local_config(tmp_path, per_host_concurrency=2, workers=1), progress=sink)
    report.discard()
    assert report.summary.ok == 80
    last_seeds = [hosts[index % 4].hits(f"/p{index}") for index in range(76, 80)]
    assert last_seeds == [1, 1, 1, 1]
    last_started = min(
        hit.at
        for server in hosts
        for hit in server.hits
        if hit.path in {f"/p{i}" for i in range(76, 80)}
    )
    assert sink.first is not None and sink.first < last_started
    for server in hosts:  # each host was asked in the order its seeds were read
        order = [int(hit.path[2:]) for hit in sorted(server.hits, key=lambda hit: hit.at)]
        assert order == sorted(order)


def test_the_page_probe_skips_body_markup_but_still_finds_a_late_heading() -> None:
    from linkcheck.probes.page import page_facts

    filler = "<div><p>news <b>text</b></p></div>\n" * 1500
    head = '<html amp><head><title>Story</title><link rel="canonical" href="/a"></head>'
    page = f"{head}<body class='x'>{filler}<h1 id=t>Page not found</h1>{filler}</body></html>"
    facts = page_facts(page.encode(), "text/html", "https://news.test/a?amp=1")
    assert facts.is_amp and facts.canonical == "https://news.test/a"
    assert (facts.title, facts.heading, facts.head_complete) == ("Story", "Page not found", True)
    no_heading = page_facts(f"{head}<body>{filler}</body>".encode(), "text/html", "https://n.test/")
    assert no_heading.heading is None and no_heading.title == "Story"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")
def test_a_long_run_gives_freed_memory_back_to_the_system_now_and_then(
    tmp_path: Path, server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert memory.trimmer() is not None, "this C library has malloc_trim"
    trims: list[float] = []
    monkeypatch.setattr(memory, "trimmer", lambda: lambda: trims.append(time.monotonic()))
    monkeypatch.setattr(memory, "TRIM_SECONDS", 0.05)
    url = server.add("/slow", slow_headers(0.4))
    write_seed(tmp_path, "s.txt", f'webUrl: "{url}"')
    report = check(local_config(tmp_path, tmp_path))
    assert report.summary.ok == 1
    assert len(trims) >= 3, "trimmed every TRIM_SECONDS while the run lasted"


def test_a_run_collects_cyclic_garbage_rarely_and_restores_the_collector_after(
    tmp_path: Path, server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[int, int, int]] = []
    page = server.page("/p")
    write_seed(tmp_path, "s.txt", f'webUrl: "{page}"')
    before = gc.get_threshold()
    judge = judging.judge

    def judged_under(*args: Any, **kwargs: Any) -> Any:
        seen.append(gc.get_threshold())
        return judge(*args, **kwargs)

    monkeypatch.setattr(runner, "judge", judged_under)
    report = check(local_config(tmp_path, tmp_path))
    assert report.summary.ok == 1
    assert seen == [memory.RUN_GC_THRESHOLDS], "the run judged under the run's thresholds"
    assert gc.get_threshold() == before, "the caller's collector settings are back"
