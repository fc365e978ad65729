"""Reading seed files: targets with field paths and lines, and every kind of bad seed."""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

import pytest

from linkcheck.model.config import Config, parse_fields
from linkcheck.model.reasons import Reason
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
