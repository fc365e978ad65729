"""``linkcheck fix``: seeds rewritten from a report, every byte but the fixed values kept."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from linkcheck.cli.fix import KINDS, permanent_location, plan_edits
from linkcheck.seeds.rewrite import Edit, apply_edits
from tests.conftest import Invoke, picture
from tests.server import LoopbackServer

ROOT = Path(__file__).resolve().parent.parent
REAL_SEED = ROOT / "seeds" / "000_76a9d421e72e2179.txt"
ALLOW = ("--allow-network", "127.0.0.0/8", "--retries", "0")


def real_shaped(server: LoopbackServer) -> str:
    """The bundled real seed (its mojibake kept) with its checked URLs on the loopback server.

    webUrl answers 301 to a new URL, the related webUrl 308, the image is 1200x675
    though the seed claims 1200x400; a comment and CRLF line ends are added, and the
    providers' domains are the server's.
    """
    server.redirect("/old-story", server.page("/story"), 301)
    server.redirect("/related-old", server.page("/related"), 308)
    server.image("/cctv.jpg", picture(1200, 675))
    server.image("/ksr.jpg", picture(600, 390))
    text = REAL_SEED.read_text(encoding="utf-8")
    lines = []
    for line in text.splitlines():
        key = line.strip().split(":", 1)[0]
        if key in ("ampWebUrl", "cdnAmpWebUrl"):
            continue
        if line.startswith("webUrl:"):
            line = f'webUrl: "{server.url("/old-story")}"  # moved in 2024'
        elif line.startswith("    webUrl:"):
            line = f"    webUrl: {server.url('/related-old')}"
        elif "CCTV-facial-recognition" in line and "url:" in line:
            line = f"  - url: '{server.url('/cctv.jpg')}'"
        elif key == "domain":  # the provider's site is the server's
            line = line.split(":")[0] + ": 127.0.0.1"
        elif "KSR_stn" in line:
            line = f'      - url: "{server.url("/ksr.jpg")}"'
        lines.append(line)
    return "\r\n".join(lines) + "\r\n"


def _checked(
    invoke: Invoke, tmp_path: Path, server: LoopbackServer, *extra: str
) -> tuple[Path, Path]:
    seeds = tmp_path / "seeds"
    seeds.mkdir(exist_ok=True)
    seed = seeds / "story.txt"
    seed.write_bytes(real_shaped(server).encode("utf-8"))
    report = tmp_path / "report.json"
    invoke("check", "seeds", "-o", str(report), *ALLOW, *extra)
    return seed, report


def _changed_lines(before: bytes, after: bytes) -> list[tuple[bytes, bytes]]:
    old, new = before.split(b"\n"), after.split(b"\n")
    assert len(old) == len(new), "no line is added or removed"
    return [(a, b) for a, b in zip(old, new, strict=True) if a != b]


def test_fix_write_changes_only_the_fixed_values_and_a_second_check_finds_none(
    invoke: Invoke, tmp_path: Path, server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    seed, report = _checked(invoke, tmp_path, server)
    before = seed.read_bytes()
    first = json.loads(report.read_text(encoding="utf-8"))["seeds"][0]
    assert {c["reason"] for c in first["checks"]} == {"ok", "size_mismatch"}
    assert [w["reason"] for w in first["warnings"]] == ["mojibake"]

    code, diff, err = invoke("fix", "--from", str(report))
    assert code == 0 and seed.read_bytes() == before, "a dry run writes nothing"
    assert diff.startswith("--- a/seeds/story.txt\n+++ b/seeds/story.txt\n")
    assert "+    height: 675" in diff and "4 values in 1 seed files, not written" in err

    assert invoke("fix", "--from", str(report), "--write")[0] == 0
    after = seed.read_bytes()
    changed = _changed_lines(before, after)
    assert len(changed) == 4
    assert changed[0][0].startswith(b'excerpt: "New \xc3\x82\xc2\xa33mn')
    assert changed[0][1].startswith(b'excerpt: "New \xc2\xa33mn') and changed[0][1].endswith(b'"\r')
    assert changed[1:] == [
        (
            f'webUrl: "{server.url("/old-story")}"  # moved in 2024\r'.encode(),
            f'webUrl: "{server.url("/story")}"  # moved in 2024\r'.encode(),
        ),
        (b"    height: 400\r", b"    height: 675\r"),
        (
            f"    webUrl: {server.url('/related-old')}\r".encode(),
            f"    webUrl: {server.url('/related')}\r".encode(),
        ),
    ]

    again = tmp_path / "again.json"
    assert invoke("check", "seeds", "-o", str(again), *ALLOW, "--fail-on", "warning")[0] == 0
    rechecked = json.loads(again.read_text(encoding="utf-8"))["seeds"][0]
    assert all(c["verdict"] == "ok" and c["redirects"] == [] for c in rechecked["checks"])
    assert rechecked["warnings"] == []


def test_fix_only_makes_the_kinds_asked_for(
    invoke: Invoke, tmp_path: Path, server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    seed, report = _checked(invoke, tmp_path, server)
    before = seed.read_bytes()
    assert invoke("fix", "seeds", "--from", str(report), "--only", "sizes", "--write")[0] == 0
    assert _changed_lines(before, seed.read_bytes()) == [
        (b"    height: 400\r", b"    height: 675\r")
    ]
    code, _, err = invoke("fix", "--from", str(report), "--only", "sizes,colour")
    assert code == 2 and "invalid fix colour" in err


def test_a_seed_edited_since_the_report_is_skipped_with_a_note(
    invoke: Invoke, tmp_path: Path, server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    seed, report = _checked(invoke, tmp_path, server)
    seed.write_bytes(seed.read_bytes() + b"\r\nmore body text\r\n")
    edited = seed.read_bytes()
    code, out, err = invoke("fix", "--from", str(report), "--write")
    assert code == 0 and out == ""
    assert "seeds/story.txt: skipped: edited since the report was made" in err
    assert seed.read_bytes() == edited


def test_fix_refuses_a_report_of_another_seed_set(
    invoke: Invoke, tmp_path: Path, server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    _, report = _checked(invoke, tmp_path, server)
    other = tmp_path / "other"
    other.mkdir()
    (other / "a.txt").write_bytes(REAL_SEED.read_bytes())
    code, out, err = invoke("fix", "other", "--from", str(report), "--write")
    assert code == 2 and out == ""
    assert "names none of the seeds in other: it is a report of another seed set" in err
    assert (other / "a.txt").read_bytes() == REAL_SEED.read_bytes()


def test_fix_refuses_a_file_that_is_not_a_report(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "r.json").write_text('{"schema_version": 1}', encoding="utf-8")
    code, _, err = invoke("fix", "--from", "r.json")
    assert code == 2 and "not a linkcheck report" in err


# -- the rules, on report entries ----------------------------------------------------------


def _check(url: str, **rest: Any) -> dict[str, Any]:
    check = {
        "field": "webUrl", "line": 3, "url": url, "kind": "page", "verdict": "ok",
        "reason": "ok", "message": "", "http_status": 200, "final_url": url, "redirects": [],
        "elapsed_ms": 1.0, "image": None,
    }  # fmt: skip
    check.update(rest)
    return check


def test_a_size_is_fixed_from_a_size_mismatch_only_never_from_a_transient_failure() -> None:
    image = {"claimed_width": 640, "claimed_height": 360, "displayed_width": 640,
             "displayed_height": 480}  # fmt: skip
    mismatch = _check("https://i.test/a.jpg", field="images[0].url", kind="image",
                      verdict="failed", reason="size_mismatch", image=image)  # fmt: skip
    timeout = {**mismatch, "reason": "timeout", "http_status": None}
    seed = {"checks": [mismatch, timeout], "warnings": []}
    assert list(plan_edits(seed, KINDS, set(), b"")) == [
        Edit("images[0].height", 360, 480, "sizes",
             "the image https://i.test/a.jpg is displayed 480 px height, not 360")
    ]  # fmt: skip
    assert list(plan_edits({"checks": [timeout]}, KINDS, set(), b"")) == []


@pytest.mark.parametrize(
    ("hops", "final", "expected"),
    [
        ([(301, "https://a.test/x")], "https://a.test/y", "https://a.test/y"),
        ([(308, "https://a.test/x"), (301, "https://b.test/x")], "https://c.test/", "https://c.test/"),
        ([(301, "https://a.test/x"), (302, "https://b.test/x")], "https://c.test/", "https://b.test/x"),
        ([(302, "https://a.test/x")], "https://a.test/y", None),
        ([(307, "https://a.test/x")], "https://a.test/y", None),
    ],
)  # fmt: skip
def test_only_the_leading_permanent_redirects_are_followed(
    hops: list[tuple[int, str]], final: str, expected: str | None
) -> None:
    redirects = [{"url": url, "status": status} for status, url in hops]
    check = _check("https://a.test/x", redirects=redirects, final_url=final)
    assert permanent_location(check) == expected


def test_a_redirect_to_an_error_or_of_a_remapped_url_is_not_written_in() -> None:
    redirects = [{"url": "https://a.test/x", "status": 301}]
    failed = _check("https://a.test/x", redirects=redirects, verdict="failed",
                    reason="http_status", http_status=404)  # fmt: skip
    remapped = _check("https://a.test/x", redirects=[{"url": "https://m.test/x", "status": 301}])
    assert permanent_location(failed) is None and permanent_location(remapped) is None


SEED = """\
---
# a hand-edited seed: comments, quoting and order must survive
title: 'It''s news'
webUrl:   http://news.test/story   # the http form
images:
  - url: "https://news.test/a.jpg"
    width: 640        # claimed
    height:    360
related:
  - webUrl: 'http://news.test/other'
    excerpt: >
      SÃ£o Paulo folded
      over two lines
---
body
"""


def test_http_becomes_https_only_where_the_https_url_checked_ok() -> None:
    data = SEED.encode("utf-8")
    seed = {
        "checks": [
            _check("http://news.test/story"),
            _check("http://news.test/other", field="related[0].webUrl"),
        ]
    }
    edits = list(plan_edits(seed, KINDS, {"https://news.test/story"}, data))
    assert [(e.field, e.new) for e in edits] == [("webUrl", "https://news.test/story")]
    result = apply_edits(data, edits)
    assert _changed_lines(data, result.data) == [
        (b"webUrl:   http://news.test/story   # the http form",
         b"webUrl:   https://news.test/story   # the http form")
    ]  # fmt: skip


def test_every_style_keeps_its_quoting_and_a_folded_scalar_is_repaired_in_place() -> None:
    data = SEED.encode("utf-8")
    edits = [
        Edit("related[0].webUrl", "http://news.test/other", "https://news.test/o'k", "https", "",
             url=True),
        Edit("images[0].width", 640, 1280, "sizes", ""),
        Edit("related[0].excerpt", "SÃ£o Paulo folded over two lines\n",
             "São Paulo folded over two lines\n", "mojibake", ""),
        Edit("title", "It's news", 'It\'s "new": # really', "mojibake", ""),
    ]  # fmt: skip
    result = apply_edits(data, edits)
    assert result.notes == ()
    assert _changed_lines(data, result.data) == [
        (b"title: 'It''s news'", b"title: 'It''s \"new\": # really'"),
        (b"    width: 640        # claimed", b"    width: 1280        # claimed"),
        (b"  - webUrl: 'http://news.test/other'", b"  - webUrl: 'https://news.test/o''k'"),
        (b"      S\xc3\x83\xc2\xa3o Paulo folded", b"      S\xc3\xa3o Paulo folded"),
    ]


def test_a_plain_value_that_cannot_stay_plain_is_double_quoted() -> None:
    data = SEED.encode("utf-8")
    edit = Edit("webUrl", "http://news.test/story", "https://news.test/a #b", "https", "", True)
    result = apply_edits(data, [edit])
    assert _changed_lines(data, result.data) == [
        (b"webUrl:   http://news.test/story   # the http form",
         b'webUrl:   "https://news.test/a #b"   # the http form')
    ]  # fmt: skip


def test_an_edit_whose_value_changed_or_is_aliased_is_not_made() -> None:
    data = SEED.replace("height:    360", "height:    361").encode("utf-8")
    result = apply_edits(data, [Edit("images[0].height", 360, 480, "sizes", "")])
    assert result.data == data and result.made == ()
    assert result.notes == ("images[0].height: sizes fix not made: it now reads 361, not 360",)
    aliased = b"---\na: &w 640\nimages:\n  - width: *w\n---\n"
    shared = apply_edits(aliased, [Edit("images[0].width", 640, 1, "sizes", "")])
    assert shared.data == aliased and "shared through a YAML alias" in shared.notes[0]


def test_a_byte_order_mark_survives_and_the_hash_changes_only_with_the_edit() -> None:
    data = b"\xef\xbb\xbf" + SEED.encode("utf-8")
    result = apply_edits(data, [Edit("images[0].height", 360, 480, "sizes", "")])
    assert result.data.startswith(b"\xef\xbb\xbf")
    assert result.data.replace(b"height:    480", b"height:    360") == data
    assert hashlib.sha256(result.data).digest() != hashlib.sha256(data).digest()
