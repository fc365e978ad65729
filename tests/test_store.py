"""The results store between runs: what is served, revalidated or fetched, and faults.

Requests are counted from the loopback server's own log, so "no request" means the
server saw none.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import suppress
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from linkcheck.cli import main
from linkcheck.engine.runner import check
from linkcheck.model.config import Config
from linkcheck.report.document import SCHEMA_PATH, Report
from linkcheck.store import Store
from linkcheck.store.results import SCHEMA_VERSION
from tests.conftest import local_config, picture, write_seed
from tests.server import Answer, LoopbackServer


class ConditionalImage:
    """An image served like a CDN: ETag, Last-Modified, 304s, byte ranges; body bytes counted."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.etag = f'"{hashlib.sha1(data).hexdigest()[:12]}"'
        self.body_bytes = 0
        self.not_modified = 0
        self._lock = threading.Lock()

    def __call__(self, handler: BaseHTTPRequestHandler) -> None:
        headers = {
            "Content-Type": "image/jpeg",
            "ETag": self.etag,
            "Last-Modified": "Tue, 01 Dec 2026 10:00:00 GMT",
            "Accept-Ranges": "bytes",
        }
        if handler.headers.get("If-None-Match") == self.etag:
            with self._lock:
                self.not_modified += 1
            handler.send_response(304)
            for name, value in headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            return
        body, status = self.data, 200
        wanted = handler.headers.get("Range", "")
        if wanted.startswith("bytes="):
            first, _, last = wanted[6:].partition("-")
            size = len(self.data)
            start = int(first) if first else size - int(last)
            end = min(int(last), size - 1) if first and last else size - 1
            body, status = self.data[start : end + 1], 206
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        handler.send_response(status)
        for name, value in {**headers, "Content-Length": str(len(body))}.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(body)
        with self._lock:
            self.body_bytes += len(body)


def run(config: Config) -> tuple[Report, list[dict[str, Any]]]:
    report = check(config)
    checks = [dict(c, seed=seed["path"]) for seed in report.seeds() for c in seed["checks"]]
    return report, checks


def one_seed(tmp_path: Path, front_matter: str) -> Path:
    seeds = tmp_path / "seeds"
    seeds.mkdir(exist_ok=True)
    write_seed(seeds, "s.txt", front_matter)
    return seeds


def cached(tmp_path: Path, seeds: Path, **changes: object) -> Config:
    return local_config(tmp_path, seeds, cache=tmp_path / "cache.sqlite", **changes)


def image_seed(url: str, width: int, height: int) -> str:
    return f'webUrl: "{url}"\nimages:\n  - url: "{url}"\n    width: {width}\n    height: {height}'


# -- served, revalidated, fetched ------------------------------------------------------------


def test_a_second_run_within_max_age_sends_no_request_and_gives_the_same_verdicts(
    tmp_path: Path, server: LoopbackServer
) -> None:
    page = server.page("/fresh")
    image = server.image("/fresh.jpg", picture(40, 30), ranges=True)
    seeds = one_seed(tmp_path, f'webUrl: "{page}"\nimages:\n  - url: "{image}"\n    width: 40')
    _, before = run(cached(tmp_path, seeds))
    sent = len(server.hits)
    second, after = run(cached(tmp_path, seeds))
    assert len(server.hits) == sent, "the server saw no request on the second run"
    assert [c["cache"] for c in before] == ["miss", "miss"]
    assert [c["cache"] for c in after] == ["hit", "hit"]
    assert [(c["verdict"], c["reason"]) for c in after] == [
        (c["verdict"], c["reason"]) for c in before
    ]
    assert after[1]["image"]["width"] == 40, "the stored image facts are reported"
    assert before[1]["image"]["requests"] > 0 and before[0]["elapsed_ms"] > 0
    costs = [(c["elapsed_ms"], c["queued_ms"]) for c in after]
    assert costs == [(0.0, 0.0), (0.0, 0.0)], "a hit took no time"
    assert (after[1]["image"]["requests"], after[1]["image"]["bytes_read"]) == (0, 0)
    assert second.summary.to_dict()["cache"] == {"hit": 2, "revalidated": 0, "miss": 0}
    assert second.summary.requests == 0


def test_a_url_that_turns_404_is_seen_once_its_entry_is_stale(
    tmp_path: Path, server: LoopbackServer
) -> None:
    url = server.page("/turns")
    seeds = one_seed(tmp_path, f'webUrl: "{url}"')
    run(cached(tmp_path, seeds))
    server.add("/turns", Answer(404, b"gone"))
    _, fresh = run(cached(tmp_path, seeds))
    assert (fresh[0]["verdict"], fresh[0]["cache"]) == ("ok", "hit"), "within max-age"
    _, stale = run(cached(tmp_path, seeds, cache_max_age=("0s",)))
    assert (stale[0]["verdict"], stale[0]["reason"], stale[0]["cache"]) == (
        "failed",
        "http_status",
        "miss",
    )
    assert server.count("/turns") == 2


@pytest.mark.parametrize("status", [429, 500, 503])
def test_a_transient_failure_is_never_served_from_the_cache(
    tmp_path: Path, server: LoopbackServer, status: int
) -> None:
    server.add("/down", Answer(status, b"no"))
    seeds = one_seed(tmp_path, f'webUrl: "{server.url("/down")}"')
    config = cached(tmp_path, seeds, retries=0, recheck=False)
    run(config)
    _, again = run(config)
    assert server.count("/down") == 2, "the failure was asked again, not served"
    assert again[0]["cache"] == "miss"
    assert again[0]["verdict"] in ("failed", "warning")


@pytest.mark.parametrize("workers", [1, 2])
def test_a_url_that_failed_last_run_too_is_asked_once_with_no_retry_or_recheck(
    tmp_path: Path, server: LoopbackServer, workers: int
) -> None:
    server.add("/down", Answer(500, b"no"))
    seeds = one_seed(tmp_path, f'webUrl: "{server.url("/down")}"')
    config = cached(tmp_path, seeds, retries=2, retry_backoff=0.01, workers=workers)
    run(config)
    assert server.count("/down") == 4, "the first failure: a try, two retries, a recheck"
    _, second = run(config)
    assert server.count("/down") == 5, "failing again: one request, the runs stand in"
    assert [(c["verdict"], c["reason"]) for c in second] == [("failed", "http_status")]
    assert second[0]["consecutive_failures"] == 2
    server.add("/down", Answer(200, b"<html><head><title>back</title></head></html>"))
    _, third = run(config)
    assert (third[0]["verdict"], server.count("/down")) == ("ok", 6), "it recovers at once"


def test_a_connection_failure_is_never_served_from_the_cache(tmp_path: Path) -> None:
    seeds = one_seed(tmp_path, 'webUrl: "http://127.0.0.1:9/refused"')
    config = cached(tmp_path, seeds, retries=0, recheck=False)
    run(config)
    _, again = run(config)
    assert (again[0]["reason"], again[0]["cache"]) == ("connect", "miss")
    with sqlite3.connect(tmp_path / "cache.sqlite") as db:
        assert db.execute("SELECT count(*) FROM outcomes").fetchone()[0] == 0


def test_a_stored_403_is_judged_again_under_a_new_accept_with_no_request(
    tmp_path: Path, server: LoopbackServer
) -> None:
    server.add("/members", Answer(403, b"members only"))
    seeds = one_seed(tmp_path, f'webUrl: "{server.url("/members")}"')
    _, first = run(cached(tmp_path, seeds))
    assert (first[0]["verdict"], first[0]["reason"]) == ("failed", "http_status")
    _, accepted = run(cached(tmp_path, seeds, accept="200-299,403"))
    assert (accepted[0]["verdict"], accepted[0]["cache"]) == ("ok", "hit")
    assert server.count("/members") == 1


def test_a_transient_failure_keeps_the_older_good_entry_for_revalidation(
    tmp_path: Path, server: LoopbackServer
) -> None:
    image = ConditionalImage(picture(30, 20))
    url = server.add("/blip.jpg", image)
    seeds = one_seed(tmp_path, image_seed(url, 30, 20))
    run(cached(tmp_path, seeds))
    server.add("/blip.jpg", Answer(503, b"busy"))
    _, blip = run(cached(tmp_path, seeds, cache_max_age=("0s",), retries=0, recheck=False))
    assert blip[1]["reason"] == "http_status"
    server.add("/blip.jpg", image)
    _, back = run(cached(tmp_path, seeds, cache_max_age=("0s",)))
    assert (back[1]["verdict"], back[1]["cache"]) == ("ok", "revalidated")


def test_a_304_revalidation_keeps_the_image_size_with_no_body_bytes(
    tmp_path: Path, server: LoopbackServer
) -> None:
    image = ConditionalImage(picture(64, 48))
    url = server.add("/cdn.jpg", image)
    seeds = one_seed(tmp_path, image_seed(url, 64, 48))
    run(cached(tmp_path, seeds))
    assert image.body_bytes > 0
    image.body_bytes = 0
    report, checks = run(cached(tmp_path, seeds, cache_max_age=("images=0s",)))
    shown = checks[1]["image"]
    assert checks[1]["cache"] == "revalidated"
    assert (shown["width"], shown["height"], checks[1]["verdict"]) == (64, 48, "ok")
    assert image.body_bytes == 0, "a 304 carries no body, and none was asked for"
    assert image.not_modified == 1, "only images were stale: the page was served as it was"
    assert shown["bytes_read"] == 0
    assert report.summary.to_dict()["cache"] == {"hit": 1, "revalidated": 1, "miss": 0}
    sent = server.hits[-1].headers
    assert sent.get("if-none-match") == image.etag
    assert sent.get("if-modified-since") == "Tue, 01 Dec 2026 10:00:00 GMT"


def test_a_changed_image_is_probed_again_after_its_revalidation(
    tmp_path: Path, server: LoopbackServer
) -> None:
    url = server.add("/swap.jpg", ConditionalImage(picture(64, 48)))
    seeds = one_seed(tmp_path, image_seed(url, 64, 48))
    run(cached(tmp_path, seeds))
    server.add("/swap.jpg", ConditionalImage(picture(80, 48)))
    _, checks = run(cached(tmp_path, seeds, cache_max_age=("0s",)))
    assert (checks[1]["cache"], checks[1]["reason"]) == ("miss", "size_mismatch")
    assert "80x48" in checks[1]["message"]


def test_a_changed_claim_or_accept_is_judged_again_from_the_cache_with_no_request(
    tmp_path: Path, server: LoopbackServer
) -> None:
    url = server.image("/claim.jpg", picture(50, 20), ranges=True)
    seeds = one_seed(tmp_path, image_seed(url, 50, 99))
    _, first = run(cached(tmp_path, seeds))
    assert first[1]["reason"] == "size_mismatch"
    sent = len(server.hits)
    write_seed(seeds, "s.txt", image_seed(url, 50, 20))
    _, fixed = run(cached(tmp_path, seeds))
    assert (fixed[1]["verdict"], fixed[1]["cache"]) == ("ok", "hit")
    _, aspect = run(cached(tmp_path, seeds, size_policy="off"))
    assert aspect[1]["verdict"] == "ok"
    _, strict = run(cached(tmp_path, seeds, accept="201"))
    assert (strict[0]["verdict"], strict[0]["cache"]) == ("failed", "hit")
    assert len(server.hits) == sent, "judged again from the store, no request"


def test_unchanged_seeds_are_read_back_from_the_store_and_changed_ones_parsed_again(
    tmp_path: Path, server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import linkcheck.seeds.reader as reader

    parsed: list[str] = []
    parse = reader.parse_seed

    def counting(name: str, data: bytes, config: Config) -> Any:
        parsed.append(name)
        return parse(name, data, config)

    monkeypatch.setattr(reader, "parse_seed", counting)
    image = server.image("/p.jpg", picture(40, 30), ranges=True)
    seeds = one_seed(tmp_path, image_seed(image, 40, 30))
    write_seed(seeds, "t.txt", f'webUrl: "{server.page("/t")}"\ntitle: "T"')
    _, first = run(cached(tmp_path, seeds))
    assert len(parsed) == 2
    second, again = run(cached(tmp_path, seeds))
    assert len(parsed) == 2, "no seed was parsed again"
    fields = ("seed", "field", "line", "url", "verdict", "reason", "message")
    assert [[c[f] for f in fields] for c in again] == [[c[f] for f in fields] for c in first]
    assert [s["title"] for s in second.seeds()] == [None, "T"]
    write_seed(seeds, "s.txt", image_seed(image, 41, 30))  # a claim changed
    _, changed = run(cached(tmp_path, seeds))
    assert len(parsed) == 3 and [c["verdict"] for c in changed][:2] == ["ok", "failed"]
    run(cached(tmp_path, seeds, fields=frozenset({"webUrl"})))
    assert len(parsed) == 5, "other --fields: every seed parsed again"
    run(local_config(tmp_path, seeds))
    assert len(parsed) == 7, "without a store every seed is parsed"


def test_a_stored_seed_or_outcome_no_reader_understands_is_read_again_not_an_error(
    tmp_path: Path, server: LoopbackServer
) -> None:
    page = server.page("/odd")
    seeds = one_seed(tmp_path, f'webUrl: "{page}"\ntitle: "Odd"')
    _, first = run(cached(tmp_path, seeds))
    with sqlite3.connect(tmp_path / "cache.sqlite") as db:  # valid JSON, not a record
        db.execute("UPDATE seeds SET seed = '[1]'")
        db.execute("""UPDATE outcomes SET outcome = '{"url": "u", "image": 5}'""")
    db.close()
    sent = len(server.hits)
    report, again = run(cached(tmp_path, seeds))
    assert [s["title"] for s in report.seeds()] == ["Odd"], "the seed was parsed again"
    assert [(c["verdict"], c["cache"]) for c in again] == [(first[0]["verdict"], "miss")]
    assert len(server.hits) == sent + 1, "the outcome was fetched again"


def test_an_entry_made_under_other_probe_settings_is_not_used(
    tmp_path: Path, server: LoopbackServer
) -> None:
    url = server.image("/mode.jpg", picture(10, 10), ranges=True)
    seeds = one_seed(tmp_path, image_seed(url, 10, 10))
    run(cached(tmp_path, seeds, verify_images="header"))
    _, checks = run(cached(tmp_path, seeds, verify_images="tail"))
    assert checks[1]["cache"] == "miss"
    assert checks[1]["image"]["integrity"] == "ok"


def test_no_cache_wins_and_the_report_then_says_nothing_of_a_cache(
    tmp_path: Path, server: LoopbackServer
) -> None:
    seeds = one_seed(tmp_path, f'webUrl: "{server.page("/plain")}"')
    report, checks = run(cached(tmp_path, seeds, use_cache=False))
    assert not (tmp_path / "cache.sqlite").exists()
    assert "cache" not in checks[0]
    assert "cache" not in report.summary.to_dict()


def test_header_credentials_are_never_stored(
    tmp_path: Path, server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STORE_TEST_TOKEN", "s3cr3t-token-value")
    url = server.image("/private.jpg", picture(12, 12), ranges=True)
    seeds = one_seed(tmp_path, image_seed(url, 12, 12))
    config = cached(tmp_path, seeds, headers=("127.0.0.1:Authorization:STORE_TEST_TOKEN",))
    run(config)
    assert server.hits[0].headers.get("authorization") == "s3cr3t-token-value"
    store = tmp_path / "cache.sqlite"
    with sqlite3.connect(store) as db:
        db.execute("PRAGMA wal_checkpoint(FULL)")
        dumped = "\n".join(db.iterdump())
    assert "s3cr3t" not in dumped
    for name in os.listdir(tmp_path):
        if name.startswith("cache.sqlite"):
            assert b"s3cr3t" not in (tmp_path / name).read_bytes()


# -- the report ---------------------------------------------------------------------------------


def test_the_report_with_cache_fields_is_valid_and_the_summary_shows_one_cache_line(
    tmp_path: Path, server: LoopbackServer, capsys: pytest.CaptureFixture[str]
) -> None:
    seeds = one_seed(tmp_path, f'webUrl: "{server.page("/line")}"')
    argv = ["check", str(seeds), "--allow-network", "127.0.0.0/8", "-o", str(tmp_path / "r.json")]
    argv += ["--cache", str(tmp_path / "c.sqlite")]
    assert main(argv) == 0
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "cache: 0 hit, 0 revalidated, 1 fetched" in out
    assert "cache: 1 hit, 0 revalidated, 0 fetched" in out
    data = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    jsonschema.validate(data, json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))
    assert data["seeds"][0]["checks"][0]["cache"] == "hit"


def test_cache_alone_uses_the_default_path_in_the_working_directory(
    tmp_path: Path, server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    one_seed(tmp_path, f'webUrl: "{server.page("/default")}"')
    monkeypatch.chdir(tmp_path)
    assert main(["check", "seeds", "--cache", "--allow-network", "127.0.0.0/8", "-q"]) == 0
    assert (tmp_path / ".linkcheck" / "cache.sqlite").is_file()


# -- history and --fail-after -------------------------------------------------------------


def test_failures_carry_their_streak_and_a_fresh_failure_under_fail_after_is_flaky(
    tmp_path: Path, server: LoopbackServer
) -> None:
    server.page("/streak")
    seeds = one_seed(tmp_path, f'webUrl: "{server.url("/streak")}"')
    config = cached(tmp_path, seeds, cache_max_age=("0s",), fail_after=3, retries=0)
    run(config)
    server.add("/streak", Answer(500, b"down"))
    verdicts = []
    for _ in range(3):
        report, checks = run(config)
        verdicts.append(
            (checks[0]["verdict"], checks[0]["reason"], checks[0]["consecutive_failures"])
        )
        assert report.summary.failing() == (checks[0]["verdict"] == "failed")
    assert verdicts == [
        ("warning", "flaky", 1),
        ("warning", "flaky", 2),
        ("failed", "http_status", 3),
    ]
    assert checks[0]["failing_since"].endswith("Z")
    with sqlite3.connect(tmp_path / "cache.sqlite") as db:
        rows = db.execute("SELECT verdict FROM history ORDER BY run_at").fetchall()
    assert [row[0] for row in rows] == ["ok", "failed", "failed", "failed"]


def test_a_url_that_never_passed_fails_at_once_whatever_fail_after(
    tmp_path: Path, server: LoopbackServer
) -> None:
    seeds = one_seed(tmp_path, f'webUrl: "{server.url("/never")}"')
    _, checks = run(cached(tmp_path, seeds, fail_after=5))
    assert (checks[0]["verdict"], checks[0]["consecutive_failures"]) == ("failed", 1)


def test_history_keeps_the_last_twenty_runs_per_url(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "h.sqlite", pytest.fail)
    assert store is not None
    for run_at in range(25):
        rare = [(True, "https://x.test/rare.png", "ok", "ok")] if run_at < 3 else []
        rows = [(False, "https://x.test/", "failed", "dns"), *rare]
        store.record_run(float(run_at), rows, run_at + 1)
    streak = store.streak(False, "https://x.test/")
    store.close()
    assert (streak.failures, streak.since, streak.passed_before) == (20, 5.0, False)
    with sqlite3.connect(tmp_path / "h.sqlite") as db:
        kept = db.execute("SELECT url, count(*) FROM history GROUP BY url ORDER BY url")
        assert kept.fetchall() == [("https://x.test/", 20), ("https://x.test/rare.png", 3)]


# -- faults -------------------------------------------------------------------------------


def test_a_corrupt_cache_file_is_moved_aside_with_a_warning_and_the_run_goes_on(
    tmp_path: Path, server: LoopbackServer
) -> None:
    seeds = one_seed(tmp_path, f'webUrl: "{server.page("/c")}"')
    run(cached(tmp_path, seeds))
    store = tmp_path / "cache.sqlite"
    for suffix in ("-wal", "-shm"):
        Path(f"{store}{suffix}").unlink(missing_ok=True)
    data = bytearray(store.read_bytes())
    data[100:] = b"\xde\xad" * ((len(data) - 100) // 2)  # header kept, pages ruined
    store.write_bytes(bytes(data))
    heard: list[str] = []
    report = check(cached(tmp_path, seeds), warn=heard.append)
    assert report.summary.ok == 1, "the run went on"
    assert len(heard) == 1 and "damaged" in heard[0] and "moved aside" in heard[0]
    assert any(note.startswith("warning: results store") for note in report.summary.notes)
    assert [p.name for p in tmp_path.glob("cache.sqlite.broken-*")]
    _, checks = run(cached(tmp_path, seeds))
    assert checks[0]["cache"] == "miss", "a new store was made in its place"


def test_a_cache_from_a_newer_version_is_moved_aside(
    tmp_path: Path, server: LoopbackServer
) -> None:
    seeds = one_seed(tmp_path, f'webUrl: "{server.page("/v")}"')
    run(cached(tmp_path, seeds))
    with sqlite3.connect(tmp_path / "cache.sqlite") as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    heard: list[str] = []
    check(cached(tmp_path, seeds), warn=heard.append)
    assert "newer linkcheck" in heard[0]
    assert list(tmp_path.glob("cache.sqlite.broken-*"))


def test_a_store_of_the_first_schema_is_migrated_and_keeps_its_outcomes(
    tmp_path: Path, server: LoopbackServer
) -> None:
    seeds = one_seed(tmp_path, f'webUrl: "{server.page("/old")}"')
    run(cached(tmp_path, seeds))
    with sqlite3.connect(tmp_path / "cache.sqlite") as db:  # back to what version 1 wrote
        db.execute("DROP TABLE seeds")
        db.execute("PRAGMA user_version = 1")
    heard: list[str] = []
    report = check(cached(tmp_path, seeds), warn=heard.append)
    assert heard == [] and server.count("/old") == 1, "the stored outcome was served"
    assert report.summary.to_dict()["cache"]["hit"] == 1
    with sqlite3.connect(tmp_path / "cache.sqlite") as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert db.execute("SELECT count(*) FROM seeds").fetchone()[0] == 1


@pytest.mark.parametrize("content", [b"my notes, not a database\n", "sqlite"])
def test_a_file_that_is_not_our_store_is_never_touched(
    tmp_path: Path, server: LoopbackServer, content: bytes | str
) -> None:
    seeds = one_seed(tmp_path, f'webUrl: "{server.page("/f")}"')
    target = tmp_path / "cache.sqlite"
    if isinstance(content, bytes):
        target.write_bytes(content)
    else:
        with sqlite3.connect(target) as db:
            db.execute("CREATE TABLE mine (x)")
    before = target.read_bytes()
    heard: list[str] = []
    report = check(cached(tmp_path, seeds), warn=heard.append)
    assert report.summary.ok == 1
    assert "left untouched" in heard[0]
    assert target.read_bytes() == before
    assert not list(tmp_path.glob("cache.sqlite.broken-*"))


def _cli(*args: str, cwd: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    return subprocess.Popen(
        [sys.executable, "-m", "linkcheck", *args],
        cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**env, "NO_COLOR": "1"},
    )  # fmt: skip


def _many_seeds(tmp_path: Path, server: LoopbackServer, count: int) -> Path:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    for index in range(count):
        write_seed(seeds, f"{index}.txt", f'webUrl: "{server.page(f"/many/{index}")}"')
    return seeds


def test_two_runs_sharing_a_cache_file_at_once_both_finish_and_both_write(
    tmp_path: Path, server: LoopbackServer
) -> None:
    seeds = _many_seeds(tmp_path, server, 60)
    common = ["check", str(seeds), "--allow-network", "127.0.0.0/8", "-q"]
    common += ["--cache", str(tmp_path / "shared.sqlite")]
    runs = [_cli(*common, "-o", str(tmp_path / f"r{i}.json"), cwd=tmp_path) for i in (1, 2)]
    for process in runs:
        _, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
        assert "warning" not in err
    with sqlite3.connect(tmp_path / "shared.sqlite") as db:
        assert db.execute("SELECT count(*) FROM outcomes").fetchone()[0] == 60
        assert db.execute("SELECT count(*) FROM runs").fetchone()[0] == 2
        assert db.execute("SELECT count(*) FROM history").fetchone()[0] == 120
    _, checks = run(local_config(tmp_path, seeds, cache=tmp_path / "shared.sqlite"))
    assert {c["cache"] for c in checks} == {"hit"}


def test_a_run_killed_mid_way_leaves_a_usable_cache(tmp_path: Path, server: LoopbackServer) -> None:
    seeds = _many_seeds(tmp_path, server, 30)
    release = threading.Event()

    def hang(handler: BaseHTTPRequestHandler) -> None:
        release.wait(30)

    write_seed(seeds, "zz-slow.txt", f'webUrl: "{server.add("/hang", hang)}"')
    store = tmp_path / "killed.sqlite"
    process = _cli(
        "check", str(seeds), "--allow-network", "127.0.0.1/32", "-q", "--timeout", "30",
        "--cache", str(store), "-o", str(tmp_path / "r.json"), cwd=tmp_path,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        stored = 0
        while stored < 30 and time.monotonic() < deadline:
            time.sleep(0.2)
            if store.exists():
                with sqlite3.connect(store, timeout=5) as db, suppress(sqlite3.OperationalError):
                    stored = db.execute("SELECT count(*) FROM outcomes").fetchone()[0]
        assert stored == 30, "the finished fetches were committed while the run went on"
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    finally:
        release.set()
        process.kill()
        process.communicate()
    with sqlite3.connect(store) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    (seeds / "zz-slow.txt").unlink()
    report, checks = run(local_config(tmp_path, seeds, cache=store))
    assert {c["cache"] for c in checks} == {"hit"}
    assert report.summary.requests == 0


# -- linkcheck cache ----------------------------------------------------------------------


def test_cache_stats_prune_and_clear(
    tmp_path: Path, server: LoopbackServer, capsys: pytest.CaptureFixture[str]
) -> None:
    seeds = one_seed(tmp_path, f'webUrl: "{server.page("/s")}"')
    store = tmp_path / "cache.sqlite"
    run(cached(tmp_path, seeds))
    assert main(["cache", "stats", "--cache", str(store)]) == 0
    out = capsys.readouterr().out
    assert "outcomes: 1 (1 pages, 0 images)" in out
    assert "history: 1 rows from 1 runs" in out
    assert main(["cache", "prune", "--cache", str(store), "--older-than", "1d"]) == 0
    assert "Dropped 0 outcomes" in capsys.readouterr().out
    assert _parsed_seeds(store) == 1
    assert main(["cache", "prune", "--cache", str(store), "--older-than", "0s"]) == 0
    assert "Dropped 1 outcomes and 1 history rows" in capsys.readouterr().out
    assert _parsed_seeds(store) == 0, "prune drops parsed seeds too"
    run(cached(tmp_path, seeds))
    assert main(["cache", "clear", "--cache", str(store)]) == 0
    assert "Dropped 1 outcomes" in capsys.readouterr().out
    assert _parsed_seeds(store) == 0, "clear drops parsed seeds too"
    assert main(["cache", "stats", "--cache", str(tmp_path / "none.sqlite")]) == 0
    assert "No results store" in capsys.readouterr().out


def _parsed_seeds(store: Path) -> int:
    with sqlite3.connect(store) as db:
        count: int = db.execute("SELECT count(*) FROM seeds").fetchone()[0]
    return count


def test_cache_commands_refuse_a_file_that_is_not_a_store_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "x.sqlite").write_text("hello", encoding="utf-8")
    assert main(["cache", "clear", "--cache", str(tmp_path / "x.sqlite")]) == 2
    err = capsys.readouterr().err
    assert "not a SQLite file" in err and len(err.strip().splitlines()) == 1
    assert (tmp_path / "x.sqlite").read_text(encoding="utf-8") == "hello"


# -- changed seeds only -------------------------------------------------------------------


def _git(*args: str, cwd: Path) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t.test",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t.test"}  # fmt: skip
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, env=env)


def test_changed_since_checks_only_the_seeds_changed_since_the_ref(
    tmp_path: Path,
    server: LoopbackServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    for name in ("a", "b", "c"):
        write_seed(seeds, f"{name}.txt", f'webUrl: "{server.page(f"/git/{name}")}"')
    (tmp_path / "tool.py").write_text("x = 1\n", encoding="utf-8")
    _git("init", "-q", cwd=tmp_path)
    _git("add", ".", cwd=tmp_path)
    _git("commit", "-q", "-m", "one", cwd=tmp_path)
    write_seed(seeds, "b.txt", f'webUrl: "{server.page("/git/b2")}"')
    write_seed(seeds, "d.txt", f'webUrl: "{server.page("/git/d")}"')
    _git("add", "seeds/d.txt", cwd=tmp_path)
    (tmp_path / "tool.py").write_text("x = 2\n", encoding="utf-8")
    (seeds / "c.txt").unlink()
    monkeypatch.chdir(seeds)  # from a subfolder: git names paths from the top
    argv = [".", "--allow-network", "127.0.0.0/8", "-o", str(tmp_path / "r.json")]
    assert main(["check", *argv, "--changed-since", "HEAD"]) == 0
    data = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert sorted(seed["path"] for seed in data["seeds"]) == ["b.txt", "d.txt"]
    assert any("tool.py: not a seed file" in note for note in data["summary"]["notes"])
    assert "2 seed files to check; 1 other named paths ignored" in capsys.readouterr().err
    assert server.count("/git/a") == 0


@pytest.mark.parametrize(
    ("ref", "words"),
    [("no-such-ref", "unknown ref 'no-such-ref'"), ("--output=x", "not a git ref")],
)
def test_changed_since_with_an_unknown_ref_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], ref: str,
    words: str, server: LoopbackServer,
) -> None:  # fmt: skip
    write_seed(tmp_path, "a.txt", f'webUrl: "{server.page("/never")}"')
    _git("init", "-q", cwd=tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["check", ".", f"--changed-since={ref}"]) == 2
    err = capsys.readouterr().err
    assert words in err and len(err.strip().splitlines()) == 1
    assert server.count("/never") == 0


def test_changed_since_outside_a_git_work_tree_exits_2(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    server: LoopbackServer,
) -> None:
    write_seed(tmp_path, "a.txt", f'webUrl: "{server.page("/never")}"')
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    assert main(["check", ".", "--changed-since", "HEAD"]) == 2
    assert "not inside a git work tree" in capsys.readouterr().err
    assert server.count("/never") == 0


def test_files_from_standard_input_checks_only_the_named_seeds(
    tmp_path: Path,
    server: LoopbackServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in ("a", "b"):
        write_seed(tmp_path, f"{name}.txt", f'webUrl: "{server.page(f"/list/{name}")}"')
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "stdin", iter(["b.txt\n", "README.md\n", "\n"]))
    argv = ["check", ".", "--files-from", "-", "--allow-network", "127.0.0.0/8", "-o", "r.json"]
    assert main(argv) == 0
    data = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert [seed["path"] for seed in data["seeds"]] == ["b.txt"]
    assert "README.md: not a seed file under the checked paths; ignored" in data["summary"]["notes"]
    assert server.count("/list/a") == 0


def test_files_from_naming_no_seed_is_an_empty_passing_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: LoopbackServer
) -> None:
    write_seed(tmp_path, "a.txt", f'webUrl: "{server.page("/never")}"')
    (tmp_path / "list.txt").write_text("src/app.py\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["check", ".", "--files-from", "list.txt", "-q", "-o", "r.json"]) == 0
    data = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert data["summary"]["seeds"] == 0
    assert server.count("/never") == 0
