"""End to end against a real HTTP server on 127.0.0.1: the console script, the report, dedupe."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from linkcheck.engine.runner import check
from linkcheck.report.document import SCHEMA_PATH
from tests.conftest import local_config, picture, write_seed
from tests.server import Answer, LoopbackServer


def linkcheck(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the installed console script, as a user or CI would."""
    script = Path(sys.executable).with_name("linkcheck")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "linkcheck"]
    return subprocess.run(
        [*command, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "NO_COLOR": "1"},
    )


def amp_page(server: LoopbackServer, name: str) -> str:
    """A minimal AMP page whose canonical link names the article's webUrl, as real ones do."""
    body = (
        f'<!doctype html><html amp><head><link rel="canonical" href="/{name}">'
        f"<title>{name}</title></head><body><h1>{name}</h1></body></html>"
    )
    headers = {"Content-Type": "text/html; charset=utf-8"}
    return server.add(f"/{name}.amp", Answer(200, body.encode(), headers))


def article(server: LoopbackServer, name: str, *, image: str, width: int, height: int) -> str:
    return f"""
title: "{name}"
webUrl: "{server.page(f"/{name}")}"
ampWebUrl: "{amp_page(server, name)}"
images:
  - url: "{image}"
    width: {width}
    height: {height}
    isCached: true
"""


def test_good_seeds_pass_with_exit_0_and_a_valid_report(
    tmp_path: Path, server: LoopbackServer
) -> None:
    image = server.image("/a.jpg", picture(640, 360))
    write_seed(tmp_path, "one.txt", article(server, "one", image=image, width=640, height=360))
    result = linkcheck(
        "check",
        str(tmp_path),
        "--allow-network",
        "127.0.0.0/8",
        "-o",
        str(tmp_path / "out.json"),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"^total +3 +0 +0 +0$", result.stdout, re.MULTILINE), result.stdout
    report = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    jsonschema.validate(report, json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))
    assert report["summary"]["checks"] == 3
    assert [c["verdict"] for c in report["seeds"][0]["checks"]] == ["ok", "ok", "ok"]


def test_broken_things_exit_1_and_name_file_line_field_and_reason(
    tmp_path: Path, server: LoopbackServer
) -> None:
    image = server.image("/small.png", picture(100, 50, "PNG"), "image/png")
    seed = write_seed(
        tmp_path,
        "bad.txt",
        f"""
webUrl: "{server.url("/missing")}"
images:
  - url: "{image}"
    width: 200
    height: 100
""",
    )
    result = linkcheck(
        "check",
        str(seed),
        "--allow-network",
        "127.0.0.0/8",
        "-o",
        str(tmp_path / "out.json"),
        cwd=tmp_path,
    )
    assert result.returncode == 1
    assert (
        f"error {seed.name}:2 webUrl http_status {server.url('/missing')} (the server answered "
        "HTTP 404)" in result.stdout
    )
    assert (
        f"error {seed.name}:4 images[0].url size_mismatch {image} (the seed claims 200x100"
        in result.stdout
    )


def test_invalid_seed_exits_1_and_the_other_seeds_are_still_checked(
    tmp_path: Path, server: LoopbackServer
) -> None:
    (tmp_path / "broken.txt").write_text("no front matter here\n", encoding="utf-8")
    write_seed(tmp_path, "good.txt", f'webUrl: "{server.page("/fine")}"')
    result = linkcheck(
        "check",
        str(tmp_path),
        "--allow-network",
        "127.0.0.0/8",
        "-o",
        str(tmp_path / "out.json"),
        cwd=tmp_path,
    )
    assert result.returncode == 1
    assert "error broken.txt:1 seed no_front_matter" in result.stdout, "named from the cwd"
    report = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    by_name = {Path(seed["path"]).name: seed for seed in report["seeds"]}
    assert by_name["broken.txt"]["valid"] is False
    assert by_name["good.txt"]["checks"][0]["verdict"] == "ok"
    assert server.count("/fine") == 1


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["check", "does-not-exist"], "no such file or folder"),
        (["check", "--no-such-flag", "."], "unrecognized arguments"),
        (["check", "--fields", "pictures", "."], "unknown field"),
        (["check", "."], "no seed files found"),
        (["check", "-q", "."], "no seed files found"),  # quiet runs do not count seeds
    ],
)
def test_usage_errors_exit_2(tmp_path: Path, args: list[str], words: str) -> None:
    result = linkcheck(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert words in result.stderr


def test_python_dash_m_works(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "linkcheck", "--version"], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0
    assert result.stdout.startswith("linkcheck ")


def test_a_url_shared_by_three_seeds_is_requested_once(
    tmp_path: Path, server: LoopbackServer
) -> None:
    image = server.image("/shared.jpg", picture(64, 48))
    shared_page = server.page("/shared")
    for index in range(3):
        write_seed(
            tmp_path,
            f"s{index}.txt",
            f"""
webUrl: "{shared_page}"
images:
  - url: "{image}"
    width: 64
    height: 48
""",
        )
    report = check(local_config(tmp_path))
    try:
        seeds = list(report.seeds())
    finally:
        report.discard()
    assert server.count("/shared") == 1
    assert server.count("/shared.jpg") == 1
    assert len(seeds) == 3
    assert all(c["verdict"] == "ok" for s in seeds for c in s["checks"])
    assert report.summary.urls == 2
    assert report.summary.checks == 6
    assert report.summary.requests == 2


def test_not_an_image_and_corrupt_image_end_to_end(tmp_path: Path, server: LoopbackServer) -> None:
    html = server.add(
        "/fake.jpg",
        Answer(
            200, b"<!DOCTYPE html><html><body>Error</body></html>", {"Content-Type": "image/jpeg"}
        ),
    )
    cut = server.image("/cut.jpg", picture(400, 300)[:30])
    write_seed(
        tmp_path,
        "s.txt",
        f"""
webUrl: "{server.page("/p")}"
images:
  - url: "{html}"
    width: 10
    height: 10
  - url: "{cut}"
""",
    )
    report = check(local_config(tmp_path))
    try:
        [seed] = list(report.seeds())
    finally:
        report.discard()
    reasons = [c["reason"] for c in seed["checks"]]
    assert reasons == ["ok", "not_image", "corrupt_image"]


def test_redirects_are_followed_and_recorded(tmp_path: Path, server: LoopbackServer) -> None:
    final = server.page("/final")
    start = server.redirect("/start", "/middle", 301)
    server.redirect("/middle", final, 302)
    write_seed(tmp_path, "s.txt", f'webUrl: "{start}"')
    report = check(local_config(tmp_path))
    try:
        [seed] = list(report.seeds())
    finally:
        report.discard()
    [page] = seed["checks"]
    assert page["verdict"] == "ok"
    assert page["final_url"] == final
    assert [hop["status"] for hop in page["redirects"]] == [301, 302]


def test_report_is_written_atomically_over_an_old_one(
    tmp_path: Path, server: LoopbackServer
) -> None:
    out = tmp_path / "out.json"
    out.write_text("old", encoding="utf-8")
    write_seed(tmp_path, "s.txt", f'webUrl: "{server.page("/x")}"')
    result = linkcheck(
        "check",
        str(tmp_path / "s.txt"),
        "--allow-network",
        "127.0.0.0/8",
        "-o",
        str(out),
        cwd=tmp_path,
    )
    assert result.returncode == 0
    assert json.loads(out.read_text(encoding="utf-8"))["schema_version"] == 1
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out.json")] == []
