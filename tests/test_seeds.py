"""Reading seed files: targets with field paths and lines, and every kind of bad seed."""

from __future__ import annotations

import errno
import json
import logging
import os
import random
import socket
import threading
import time
import tracemalloc
from pathlib import Path

import pytest

from linkcheck.model.config import Config, parse_fields
from linkcheck.model.reasons import Reason
from linkcheck.net.urls import BadUrl, normalize
from linkcheck.seeds import files
from linkcheck.seeds.reader import Kind, Seed, find_seed_files, parse_seed, read_seed

SHARED_SEED = Path(__file__).parent.parent / "seeds" / "000_76a9d421e72e2179.txt"

GOOD = """---
title: "A story"
webUrl: "https://news.test/story"
ampWebUrl: "https://news.test/story?amp=1"
cdnAmpWebUrl: "https://news-test.cdn.ampproject.org/c/s/news.test/story?amp=1"
originalUrl: "http://news.test/story"
images:
  - url: "https://img.test/a.jpg"
    width: 1200
    height: 400
    isCached: true
  - url: "https://img.test/b.png"
related:
  - title: "Other"
    webUrl: "https://other.test/x"
    ampWebUrl: "https://other.test/x.amp"
    images:
      - url: "https://img.test/c.jpg"
        width: 600
        height: 390
        isCached: false
---
body text
"""


def parse(text: str | bytes, **changes: object) -> Seed:
    data = text.encode() if isinstance(text, str) else text
    return parse_seed("seed.txt", data, Config(**changes))  # type: ignore[arg-type]


def only_error(seed: Seed) -> tuple[Reason, int | None, str]:
    assert not seed.valid
    assert len(seed.errors) == 1, seed.errors
    error = seed.errors[0]
    return error.reason, error.line, error.message


def test_default_fields_give_field_paths_lines_kinds_and_claims() -> None:
    seed = parse(GOOD)
    assert seed.valid
    got = [
        (t.field, t.line, t.kind, t.claimed_width, t.claimed_height, t.is_cached)
        for t in seed.targets
    ]
    assert got == [
        ("webUrl", 3, Kind.PAGE, None, None, None),
        ("ampWebUrl", 4, Kind.AMP, None, None, None),
        ("images[0].url", 8, Kind.IMAGE, 1200, 400, True),
        ("images[1].url", 12, Kind.IMAGE, None, None, None),
        ("related[0].webUrl", 15, Kind.PAGE, None, None, None),
        ("related[0].ampWebUrl", 16, Kind.AMP, None, None, None),
        ("related[0].images[0].url", 18, Kind.IMAGE, 600, 390, False),
    ]


def test_fields_all_adds_cdn_amp_and_original_urls() -> None:
    seed = parse(GOOD, fields=parse_fields("all"))
    fields = {t.field: t.kind for t in seed.targets}
    assert fields["cdnAmpWebUrl"] is Kind.AMP
    assert fields["originalUrl"] is Kind.PAGE
    assert len(seed.targets) == 9


def test_chosen_fields_limit_what_is_checked() -> None:
    seed = parse(GOOD, fields=parse_fields("webUrl,cdnAmpWebUrl"))
    assert [t.field for t in seed.targets] == ["webUrl", "cdnAmpWebUrl", "related[0].webUrl"]


def test_unknown_field_name_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown field"):
        parse_fields("webUrl,pictures")


def test_the_real_seed_reads_with_its_lines() -> None:
    seed = read_seed(SHARED_SEED, Config())
    assert seed.valid
    assert [(t.field, t.line) for t in seed.targets] == [
        ("webUrl", 7),
        ("ampWebUrl", 8),
        ("images[0].url", 24),
        ("related[0].webUrl", 33),
        ("related[0].ampWebUrl", 34),
        ("related[0].images[0].url", 42),
    ]


def test_spaces_and_non_ascii_are_encoded_and_idn_hosts_become_punycode() -> None:
    seed = parse('---\nwebUrl: "https://bücher.test/neue Bücher?q=ä b#top"\n---\n')
    assert seed.valid
    assert seed.targets[0].url == "https://xn--bcher-kva.test/neue%20B%C3%BCcher?q=%C3%A4%20b"
    assert seed.targets[0].problem is None


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("javascript:alert(1)", Reason.UNSAFE_URL),
        ("file:///etc/passwd", Reason.UNSAFE_URL),
        ("/relative/path", Reason.INVALID_URL),
        ("ftp://files.test/a.jpg", Reason.INVALID_URL),
        ("https://", Reason.INVALID_URL),
    ],
)
def test_a_bad_url_becomes_a_failing_target_in_a_valid_seed(url: str, reason: Reason) -> None:
    seed = parse(f'---\nwebUrl: "https://ok.test/"\nampWebUrl: "{url}"\n---\n')
    assert seed.valid
    amp = seed.targets[1]
    assert amp.field == "ampWebUrl"
    assert amp.line == 3
    assert amp.problem is reason and amp.problem_message


def test_no_front_matter() -> None:
    reason, line, message = only_error(parse("just a text file\nwebUrl: https://x.test/\n"))
    assert (reason, line) == (Reason.NO_FRONT_MATTER, 1)
    assert "'---'" in message


def test_unterminated_front_matter() -> None:
    reason, line, message = only_error(parse("---\nwebUrl: https://x.test/\ntitle: t\n"))
    assert (reason, line) == (Reason.NO_FRONT_MATTER, 1)
    assert "never closed" in message


def test_invalid_yaml_names_its_line() -> None:
    text = '---\nwebUrl: "https://x.test/"\ntitle: [unclosed\nother: 1\n---\n'
    reason, line, message = only_error(parse(text))
    assert reason is Reason.INVALID_YAML
    assert line is not None and 3 <= line <= 5
    assert message.startswith("invalid YAML")


@pytest.mark.parametrize(
    ("body", "shown"), [("- a\n- b\n", "a list"), ("just words\n", "a scalar"), ("", "empty")]
)
def test_front_matter_that_is_not_a_mapping(body: str, shown: str) -> None:
    reason, _, message = only_error(parse(f"---\n{body}---\n"))
    assert reason is Reason.NOT_A_MAPPING
    assert shown in message


@pytest.mark.parametrize(
    ("entry", "line", "words"),
    [
        ('    width: "1200"\n    height: 400', 5, "not '1200'"),
        ("    width: 1200\n    height: -5", 6, "not -5"),
        ("    width: 1200\n    height: 0", 6, "not 0"),
        ("    width: true\n    height: 400", 5, "not True"),
        ("    width: 12.5\n    height: 400", 5, "not 12.5"),
    ],
)
def test_wrong_dimension_types(entry: str, line: int, words: str) -> None:
    text = (
        f'---\nwebUrl: "https://x.test/"\nimages:\n  - url: "https://x.test/a.jpg"\n{entry}\n---\n'
    )
    seed = parse(text)
    reason, got_line, message = only_error(seed)
    assert (reason, got_line) == (Reason.BAD_TYPE, line)
    assert words in message
    assert [t.field for t in seed.targets] == ["webUrl", "images[0].url"], (
        "the URL is still checked"
    )


def test_url_of_wrong_type() -> None:
    seed = parse('---\nwebUrl: "https://x.test/"\nimages:\n  - url: 42\n---\n')
    reason, line, message = only_error(seed)
    assert (reason, line) == (Reason.BAD_TYPE, 4)
    assert "images[0].url" in message


def test_images_that_is_not_a_list() -> None:
    reason, line, _ = only_error(parse('---\nwebUrl: "https://x.test/"\nimages: "a.jpg"\n---\n'))
    assert (reason, line) == (Reason.BAD_TYPE, 3)


def test_is_cached_must_be_boolean() -> None:
    text = (
        '---\nwebUrl: "https://x.test/"\nimages:\n'
        '  - url: "https://x.test/a.jpg"\n    isCached: "yes please"\n---\n'
    )
    reason, line, _ = only_error(parse(text))
    assert (reason, line) == (Reason.BAD_TYPE, 5)


def test_missing_web_url() -> None:
    reason, line, message = only_error(parse('---\ntitle: "No link"\n---\n'))
    assert (reason, line) == (Reason.MISSING_FIELD, 2)
    assert "webUrl" in message


def test_missing_web_url_in_a_related_entry_names_it() -> None:
    text = '---\nwebUrl: "https://x.test/"\nrelated:\n  - title: "t"\n---\n'
    reason, line, message = only_error(parse(text))
    assert (reason, line) == (Reason.MISSING_FIELD, 4)
    assert "related[0].webUrl" in message


def test_non_utf8_bytes_name_their_line() -> None:
    data = b'---\nwebUrl: "https://x.test/"\ntitle: "caf\xe9"\n---\n'
    reason, line, message = only_error(parse(data))
    assert (reason, line) == (Reason.NOT_UTF8, 3)
    assert "0xe9" in message


def test_file_over_the_size_limit_is_not_read(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_bytes(b"---\nwebUrl: https://x.test/\n---\n" + b"x" * 5000)
    seed = read_seed(path, Config(max_seed_bytes=1000))
    reason, line, message = only_error(seed)
    assert (reason, line) == (Reason.TOO_LARGE, None)
    assert "1000" in message


def test_alias_bomb_is_refused_fast_and_small() -> None:
    lines = [
        "---",
        'webUrl: "https://x.test/"',
        'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
    ]
    for level in range(1, 10):
        refs = ",".join(f"*a{level - 1}" for _ in range(9))
        lines.append(f"a{level}: &a{level} [{refs}]")
    lines += ["images: *a9", "---", ""]
    tracemalloc.start()
    started = time.perf_counter()
    seed = parse("\n".join(lines))
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    reason, _, message = only_error(seed)
    assert reason is Reason.INVALID_YAML
    assert "alias" in message
    assert elapsed < 0.5
    assert peak < 5_000_000


def test_deeply_nested_yaml_is_an_error_not_a_crash() -> None:
    text = "---\nwebUrl: x\ndeep: " + "[" * 5000 + "]" * 5000 + "\n---\n"
    reason, _, _ = only_error(parse(text))
    assert reason is Reason.INVALID_YAML


def test_finding_seed_files_recurses_with_patterns_and_skips_hidden(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / ".git").mkdir()
    for name in ("a/one.txt", "a/two.md", "three.yaml", "four.yml", "skip.json", ".git/x.txt"):
        (tmp_path / name).write_text("x")
    found = [
        p.relative_to(tmp_path).as_posix()
        for p in find_seed_files([tmp_path], ("*.txt", "*.md", "*.yaml", "*.yml"))
    ]
    assert found == ["four.yml", "three.yaml", "a/one.txt", "a/two.md"]
    only_md = list(find_seed_files([tmp_path], ("*.md",)))
    assert [p.name for p in only_md] == ["two.md"]


# --- one seed never ends the run: values that cannot be constructed -------------------------

IMAGE_SEED = (
    '---\nwebUrl: "https://x.test/"\nimages:\n  - url: "https://x.test/a.jpg"\n{entry}\n---\n'
)


def test_an_impossible_date_as_title_is_kept_as_text() -> None:
    seed = parse('---\ntitle: 2021-02-29\nwebUrl: "https://x.test/"\n---\n')
    assert seed.valid
    assert seed.title == "2021-02-29"
    assert [t.url for t in seed.targets] == ["https://x.test/"]


def test_unchecked_fields_are_never_constructed() -> None:
    text = (
        "---\npublishedDateTime: 2021-02-30T00:00:00Z\nquality: !!int foo\n"
        'heat: !!bool maybe\nodd: !custom tag\nwebUrl: "https://x.test/"\n---\n'
    )
    seed = parse(text)
    assert seed.valid, seed.errors
    assert [t.field for t in seed.targets] == ["webUrl"]


@pytest.mark.parametrize(
    ("entry", "line", "words"),
    [
        (
            "    width: !!int foo\n    height: 400",
            5,
            "images[0].width: 'foo' cannot be read as int",
        ),
        ("    width: 0x_\n    height: 400", 5, "images[0].width: '0x_' cannot be read as int"),
        ("    width: !!int ''\n    height: 400", 5, "images[0].width: '' cannot be read as int"),
        ("    width: 1200\n    height: !!float x", 6, "cannot be read as float"),
        ("    width: 1200\n    height: !!timestamp nonsense", 6, "cannot be read as timestamp"),
        ("    width: 1200\n    height: !unknown 400", 6, "could not determine a constructor"),
        ("    isCached: !!bool maybe", 5, "images[0].isCached: 'maybe' cannot be read as bool"),
    ],
)
def test_a_value_that_cannot_be_constructed_is_a_bad_value_with_its_line(
    entry: str, line: int, words: str
) -> None:
    seed = parse(IMAGE_SEED.format(entry=entry))
    reason, got_line, message = only_error(seed)
    assert (reason, got_line) == (Reason.BAD_VALUE, line)
    assert words in message
    assert [t.field for t in seed.targets] == ["webUrl", "images[0].url"], (
        "the image URL is still checked"
    )


def test_an_impossible_date_where_a_url_belongs_is_a_bad_value() -> None:
    seed = parse("---\nwebUrl: 2021-02-29\n---\n")
    reason, line, message = only_error(seed)
    assert (reason, line) == (Reason.BAD_VALUE, 2)
    assert "webUrl: '2021-02-29' cannot be read as timestamp" in message
    assert "day is out of range" in message
    assert seed.targets == ()


def test_a_huge_integer_literal_is_a_short_bad_value() -> None:
    seed = parse(IMAGE_SEED.format(entry="    width: " + "9" * 5000 + "\n    height: 400"))
    reason, line, message = only_error(seed)
    assert (reason, line) == (Reason.BAD_VALUE, 5)
    assert "digits" in message
    assert len(message) < 300


def test_a_claimed_size_beyond_any_image_format_is_refused() -> None:
    seed = parse(IMAGE_SEED.format(entry="    width: " + "9" * 40 + "\n    height: 400"))
    reason, line, message = only_error(seed)
    assert (reason, line) == (Reason.BAD_TYPE, 5)
    assert "up to 2147483647" in message


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("!!binary " + "QUFB" * 50_000, Reason.BAD_TYPE),
        ("!!binary '@@@@@'", Reason.BAD_TYPE),
        ("!!binary 'QQ'", Reason.BAD_VALUE),
        ("!!seq abc", Reason.BAD_VALUE),
        ("!!python/object:os.system echo", Reason.BAD_VALUE),
    ],
)
def test_binary_and_other_tags_on_a_url_are_reported_briefly(value: str, reason: Reason) -> None:
    seed = parse(f'---\nwebUrl: "https://x.test/"\nampWebUrl: {value}\n---\n')
    got, line, message = only_error(seed)
    assert (got, line) == (reason, 3)
    assert message.startswith("ampWebUrl")
    assert len(message) < 300


def test_an_unexpected_failure_is_an_internal_seed_error_logged_once_with_traceback(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def explode(raw: str) -> str:
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr("linkcheck.seeds.reader.normalize", explode)
    with caplog.at_level(logging.DEBUG, logger="linkcheck"):
        seed = parse(GOOD)
    reason, line, message = only_error(seed)
    assert (reason, line) == (Reason.INTERNAL, None)
    assert message.endswith("RuntimeError: boom")
    assert "\n" not in message
    logged = [record for record in caplog.records if record.exc_info]
    assert len(logged) == 1
    assert logged[0].levelno == logging.DEBUG


def test_a_constructor_failure_is_logged_at_debug_with_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.DEBUG, logger="linkcheck"):
        parse(IMAGE_SEED.format(entry="    isCached: !!bool maybe"))
    logged = [record for record in caplog.records if record.exc_info]
    assert len(logged) == 1
    assert logged[0].levelno == logging.DEBUG
    assert logged[0].exc_info is not None and logged[0].exc_info[0] is KeyError


# --- merge keys and aliases ------------------------------------------------------------------


def test_merge_keys_supply_checked_fields_with_the_lines_they_are_written_on() -> None:
    text = """---
defaults: &defaults
  webUrl: "https://x.test/story"
  ampWebUrl: "https://x.test/story.amp"
size: &size
  width: 1200
  height: 400
<<: *defaults
ampWebUrl: "https://x.test/own.amp"
images:
  - <<: *size
    url: "https://x.test/a.jpg"
  - <<: [{width: 10, height: 20}, *size]
    height: 30
    url: "https://x.test/b.jpg"
---
"""
    seed = parse(text)
    assert seed.valid, seed.errors
    got = [(t.field, t.line, t.url, t.claimed_width, t.claimed_height) for t in seed.targets]
    assert got == [
        ("webUrl", 3, "https://x.test/story", None, None),
        ("ampWebUrl", 9, "https://x.test/own.amp", None, None),
        ("images[0].url", 12, "https://x.test/a.jpg", 1200, 400),
        ("images[1].url", 15, "https://x.test/b.jpg", 10, 30),
    ]


def test_a_long_plain_list_is_not_an_alias_bomb() -> None:
    lines = ["---", 'webUrl: "https://x.test/"', "images:"]
    for index in range(14_000):
        lines += [
            f'  - url: "https://img.test/{index}.jpg"',
            "    width: 1200",
            "    height: 400",
            "    isCached: true",
        ]
    seed = parse("\n".join([*lines, "---", ""]))
    assert seed.valid, seed.errors[:1]
    assert len(seed.targets) == 14_001
    assert seed.targets[-1].line == 4 + 4 * 13_999


def test_modest_alias_reuse_is_allowed() -> None:
    text = (
        '---\nwebUrl: "https://x.test/"\nshared: &img\n  - url: "https://x.test/a.jpg"\n'
        "related:\n"
        + "".join(f'  - webUrl: "https://x.test/{n}"\n    images: *img\n' for n in range(50))
        + "---\n"
    )
    seed = parse(text)
    assert seed.valid
    assert len(seed.targets) == 1 + 50 * 2


# --- only regular files are read ----------------------------------------------------------------

SEED_TEXT = '---\nwebUrl: "https://x.test/"\n---\n'


def read_within(path: Path, config: Config, seconds: float = 10.0) -> Seed:
    """read_seed in a thread, so a test that would block fails instead of hanging."""
    got: list[Seed] = []
    worker = threading.Thread(target=lambda: got.append(read_seed(path, config)), daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"read_seed blocked on {path}"
    return got[0]


def collect(paths: list[Path]) -> tuple[list[Path], list[tuple[str, str]]]:
    notes: list[tuple[str, str]] = []
    found = list(
        find_seed_files(paths, ("*.txt",), on_skip=lambda path, why: notes.append((path, why)))
    )
    return found, notes


def test_a_fifo_in_a_seed_folder_is_skipped_with_a_note(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(SEED_TEXT)
    os.mkfifo(tmp_path / "x.txt")
    os.mkfifo(tmp_path / "ignored.json")
    found, notes = collect([tmp_path])
    assert found == [tmp_path / "a.txt"]
    assert notes == [(str(tmp_path / "x.txt"), "a FIFO (named pipe), not a regular file")]


def test_a_fifo_given_by_name_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "x.txt"
    os.mkfifo(fifo)
    assert list(find_seed_files([fifo], ("*.txt",))) == [fifo]
    reason, line, message = only_error(read_within(fifo, Config()))
    assert (reason, line) == (Reason.UNREADABLE, None)
    assert message == "not a regular file (a FIFO (named pipe))"


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_a_link_to_dev_zero_is_skipped_and_refused_quickly(tmp_path: Path) -> None:
    link = tmp_path / "zero.txt"
    os.symlink("/dev/zero", link)
    found, notes = collect([tmp_path])
    assert found == []
    assert notes == [(str(link), "a character device, not a regular file")]
    tracemalloc.start()
    seed = read_within(link, Config())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    reason, _, message = only_error(seed)
    assert reason is Reason.UNREADABLE
    assert "character device" in message
    assert peak < 5_000_000


def test_a_unix_socket_is_skipped_with_a_note(tmp_path: Path) -> None:
    path = tmp_path / "s.txt"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        try:
            listener.bind(str(path))
        except OSError as exc:
            pytest.skip(f"cannot bind a unix socket here: {exc}")
        found, notes = collect([tmp_path])
        assert found == []
        assert notes == [(str(path), "a socket, not a regular file")]
        reason, _, message = only_error(read_within(path, Config()))
        assert (reason, message) == (Reason.UNREADABLE, "not a regular file (a socket)")
    finally:
        listener.close()


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_the_size_limit_holds_for_files_whose_size_is_not_known() -> None:
    proc = Path("/proc/self/status")
    assert proc.stat().st_size == 0
    reason, _, message = only_error(read_within(proc, Config(max_seed_bytes=64)))
    assert reason is Reason.TOO_LARGE
    assert "64" in message


def test_a_link_to_a_folder_is_not_followed_and_is_noted(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "a.txt").write_text(SEED_TEXT)
    os.symlink(tmp_path / "real", tmp_path / "loop")
    found, notes = collect([tmp_path])
    assert found == [tmp_path / "real" / "a.txt"]
    assert notes == [(str(tmp_path / "loop"), "a link to a folder, not followed")]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads folders whatever their mode")
def test_an_unreadable_folder_is_reported_not_skipped(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "a.txt").write_text(SEED_TEXT)
    locked.chmod(0)
    try:
        found, _ = collect([tmp_path])
        assert found == [locked]
        reason, _, message = only_error(read_seed(locked, Config()))
        assert (reason, message) == (Reason.UNREADABLE, "cannot read the folder: Permission denied")
    finally:
        locked.chmod(0o755)


def test_a_folder_that_cannot_be_listed_becomes_an_unreadable_seed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same as a chmod 000 folder, simulated, since the tests may run as root."""
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "one.txt").write_text(SEED_TEXT)
    locked = tmp_path / "b"
    locked.mkdir()
    (locked / "two.txt").write_text(SEED_TEXT)
    (tmp_path / "c.txt").write_text(SEED_TEXT)
    real = files._list_folder

    def refuse(folder: Path) -> list[os.DirEntry[str]]:
        if Path(folder) == locked:
            raise PermissionError(errno.EACCES, "Permission denied", str(folder))
        return real(folder)

    monkeypatch.setattr(files, "_list_folder", refuse)
    found, _ = collect([tmp_path])
    assert found == [tmp_path / "c.txt", tmp_path / "a" / "one.txt", locked]
    seed = read_seed(locked, Config())
    reason, line, message = only_error(seed)
    assert (reason, line) == (Reason.UNREADABLE, None)
    assert message == "cannot read the folder: Permission denied"
    assert seed.path == str(locked)


def test_a_folder_given_to_read_seed_is_not_a_seed(tmp_path: Path) -> None:
    reason, _, message = only_error(read_seed(tmp_path, Config()))
    assert (reason, message) == (Reason.UNREADABLE, "not a regular file (a folder)")


def test_a_missing_file_is_unreadable(tmp_path: Path) -> None:
    reason, _, message = only_error(read_seed(tmp_path / "gone.txt", Config()))
    assert (reason, message) == (
        Reason.UNREADABLE,
        "cannot read the file: No such file or directory",
    )


def test_a_file_name_that_is_not_utf8_is_reported_in_an_escaped_form(tmp_path: Path) -> None:
    raw = os.fsencode(tmp_path) + b"/caf\xe9\n::error::x.txt"
    try:
        with open(raw, "wb") as handle:
            handle.write(GOOD.encode())
    except OSError as exc:
        pytest.skip(f"this file system refuses non-UTF-8 names: {exc}")
    (found,) = find_seed_files([tmp_path], ("*.txt",))
    seed = read_seed(found, Config())
    assert seed.valid
    assert seed.path == str(tmp_path) + "/caf\\xe9\n::error::x.txt"
    assert {t.seed for t in seed.targets} == {seed.path}
    spooled = json.dumps(seed.to_dict(), ensure_ascii=False).encode("utf-8")
    assert b"caf\\\\xe9" in spooled


def test_a_broken_link_is_read_and_reported(tmp_path: Path) -> None:
    os.symlink(tmp_path / "nowhere.txt", tmp_path / "dangling.txt")
    found, notes = collect([tmp_path])
    assert (found, notes) == ([tmp_path / "dangling.txt"], [])
    reason, _, message = only_error(read_seed(found[0], Config()))
    assert (reason, message) == (
        Reason.UNREADABLE,
        "cannot read the file: No such file or directory",
    )


# --- URLs: hosts mapped the way browsers map them ------------------------------------------


# URL normalisation only: no host below is resolved or requested.
@pytest.mark.parametrize(
    ("raw", "url"),
    [
        ("https://xn--i-7iq.ws/", "https://xn--i-7iq.ws/"),
        ("https://XN--I-7IQ.WS/a", "https://xn--i-7iq.ws/a"),
        ("https://i❤.ws/", "https://xn--i-7iq.ws/"),
        ("https://💩.la/", "https://xn--ls8h.la/"),
        ("https://☃.net/x#frag", "https://xn--n3h.net/x"),
        ("https://faß.de/", "https://xn--fa-hia.de/"),
        ("https://\uff25\uff38\uff21\uff2d\uff30\uff2c\uff25\u3002com/", "https://example.com/"),
        ("https://אב.test/", "https://xn--4dbc.test/"),
        ("https://user:pw@Bücher.test:8080/p?q", "https://user:pw@xn--bcher-kva.test:8080/p?q"),
        ("https://a_b.test/", "https://a_b.test/"),
        ("https://[::1]:8443/", "https://[::1]:8443/"),
    ],
)
def test_hosts_are_mapped_with_uts46_and_punycode_is_kept(raw: str, url: str) -> None:
    assert normalize(raw) == url
    assert normalize(url) == url


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ("https://xn--zz.test/", "'xn--zz' is not valid punycode"),
        ("https://xn--.test/", "does not encode a Unicode label"),
        ("https://xn--abc.test/", "cannot be mapped"),
        ("https://\u0301a.test/", "combining"),
        ("https://a\u200db.test/", "zero-width joiner"),
        ("https://ab\u05d0.test/", "direction"),
        ("https://a\u0000b.test/", "non-printable"),
        ("https://a\u2028b.test/", "U+2028 not allowed"),
        ("https://a!b.test/", "is not a valid host name"),
        ("https://" + "a" * 2000 + ".test/", "more than 1024 characters"),
    ],
)
def test_an_unmappable_host_is_an_invalid_url(raw: str, words: str) -> None:
    with pytest.raises(BadUrl) as caught:
        normalize(raw)
    assert caught.value.reason is Reason.INVALID_URL
    assert words in str(caught.value)
    assert len(str(caught.value)) < 300


def test_an_emoji_domain_in_a_seed_is_a_checkable_target() -> None:
    seed = parse('---\nwebUrl: "https://i❤.ws/"\nampWebUrl: "https://xn--zz.ws/"\n---\n')
    assert seed.valid
    web, amp = seed.targets
    assert (web.url, web.problem) == ("https://xn--i-7iq.ws/", None)
    assert amp.problem is Reason.INVALID_URL and "punycode" in amp.problem_message


_HOST_PIECES = (
    "a", "Z", "0", "-", "_", ".", "..", "xn--", "XN--", "xn--i-7iq", "xn--zz", "xn--ls8h", "❤",
    "💩", "ß", "ü", "\u0301", "\u200c", "\u200d", "\u05d0", "\u0627", "\u0660", "1", "\u3002",
    "\uff0e", "\uff21", "\u00ad", "\ufe0f", "%", "%41", "@", ":", ":80", "[", "]", "::1", " ", "\t",
    "\x00", "\x7f", "\ud800", "\U000e0001", "\u2028", "ﬃ", "ǅ", "Ⅻ", "\u0344", "~", "!", "*",
    "\\", "/", "?", "#", "'", '"', "<", ">", "^", "|", "`", "{", "}", "=", "+", ",", ";",
)  # fmt: skip


def test_normalize_raises_only_bad_url_and_returns_ascii_hosts_for_odd_hosts() -> None:
    chooser = random.Random(14)
    returned = 0
    for _ in range(20_000):
        host = "".join(chooser.choice(_HOST_PIECES) for _ in range(chooser.randint(1, 8)))
        raw = f"{chooser.choice(('https', 'http', 'HTTPS'))}://{host}/p"
        try:
            url = normalize(raw)
        except BadUrl as exc:
            assert exc.reason in (Reason.INVALID_URL, Reason.UNSAFE_URL)
            continue
        returned += 1
        assert url.isascii(), (raw, url)
        assert normalize(url) == url, (raw, url)
    assert returned > 1_000, "the loop must also reach hosts that are accepted"
