"""Real seeds: a sample of the public Jekyll posts of everyday-cc/ai (``_archive/_news/``).

A few recent ones come from its ``_news/`` folder. They span years and sources, so
fields come and go (``ampWebUrl``, ``images``, ``originalUrl``, ``provider.images``,
``isCached``, ``quality``); every one must read cleanly, with the targets and lines a
person sees in the file. The expected targets are found here with plain line
matching, not with YAML, so the test does not share the reader's assumptions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from linkcheck.model.config import Config, parse_fields
from linkcheck.model.records import Kind, Seed
from linkcheck.seeds.reader import parse_seed, read_seed

SAMPLE = Path(__file__).parent / "data" / "real_seeds"
SEEDS = sorted(SAMPLE.glob("*.md"))
ALL_FIELDS = Config(fields=parse_fields("all"))
_TOP_URL = re.compile(r"^(webUrl|ampWebUrl|cdnAmpWebUrl|originalUrl): *(.+?) *$")
_KINDS = {"webUrl": Kind.PAGE, "originalUrl": Kind.PAGE, "ampWebUrl": Kind.AMP}


@dataclass(frozen=True)
class Expected:
    field: str
    line: int
    url: str
    kind: Kind
    width: int | None = None
    height: int | None = None
    is_cached: bool | None = None


def _unquote(value: str) -> str:
    return value[1:-1] if value.startswith('"') and value.endswith('"') else value


def expected_targets(text: str) -> list[Expected]:
    """The checked URLs of a real seed, found line by line as a reader of the file would."""
    found: list[Expected] = []
    section = ""
    image: dict[str, object] | None = None
    images = 0

    def close_image() -> None:
        nonlocal image
        if image is not None:
            found.append(Expected(**image))  # type: ignore[arg-type]
            image = None

    for number, line in enumerate(text.split("\n"), start=1):
        if match := _TOP_URL.match(line):
            field = match[1]
            kind = _KINDS.get(field, Kind.AMP)
            found.append(Expected(field, number, _unquote(match[2]), kind))
        if re.match(r"^[A-Za-z]\w*:", line):
            close_image()
            section = line.split(":", 1)[0]
            continue
        if section != "images":
            continue
        if match := re.match(r"^  - url: *(.+?) *$", line):
            close_image()
            image = {
                "field": f"images[{images}].url",
                "line": number,
                "url": _unquote(match[1]),
                "kind": Kind.IMAGE,
            }
            images += 1
        elif image is not None and (match := re.match(r"^    (width|height): *(\d+) *$", line)):
            image[match[1]] = int(match[2])
        elif image is not None and (match := re.match(r"^    isCached: *(true|false) *$", line)):
            image["is_cached"] = match[1] == "true"
    close_image()
    return sorted(found, key=lambda item: item.line)


def got_targets(seed: Seed) -> list[Expected]:
    return sorted(
        (
            Expected(
                t.field, t.line or 0, t.url, t.kind, t.claimed_width, t.claimed_height, t.is_cached
            )
            for t in seed.targets
        ),
        key=lambda item: item.line,
    )


def read(path: Path) -> Seed:
    return read_seed(path, ALL_FIELDS)


def test_the_sample_is_varied() -> None:
    """The sample must keep holding the variety the other tests rely on."""
    texts = [path.read_text(encoding="utf-8") for path in SEEDS]
    assert len(SEEDS) >= 25
    assert len({path.name[:4] for path in SEEDS}) >= 7, "several years"
    assert any("ampWebUrl:" not in text for text in texts)
    assert any("ampWebUrl:" in text for text in texts)
    assert any("\nimages:" not in text for text in texts)
    assert any("originalUrl:" in text for text in texts)
    assert any("quality:" not in text for text in texts)
    assert any("isCached:" in text for text in texts)
    assert any("provider:\n  name: Wired\n  domain: wired.com\n  images:" in text for text in texts)
    assert all("\nsecured: " in text for text in texts)
    assert any(not text.isascii() for text in texts)


@pytest.mark.parametrize("path", SEEDS, ids=lambda path: path.name[:40])
def test_every_real_seed_reads_without_errors(path: Path) -> None:
    seed = read(path)
    assert seed.errors == ()
    assert seed.title
    assert seed.path == str(path)


@pytest.mark.parametrize("path", SEEDS, ids=lambda path: path.name[:40])
def test_the_urls_of_a_real_seed_become_targets_on_their_lines(path: Path) -> None:
    expected = expected_targets(path.read_text(encoding="utf-8"))
    assert expected, "every real seed has at least its webUrl"
    got = got_targets(read(path))
    assert got == expected
    assert all(target.problem is None for target in read(path).targets)


def test_default_fields_leave_out_cdn_amp_and_original_urls() -> None:
    for path in SEEDS:
        fields = {target.field for target in read_seed(path, Config()).targets}
        assert not fields & {"cdnAmpWebUrl", "originalUrl"}
        assert "webUrl" in fields


def test_provider_logos_are_not_checked() -> None:
    for path in SEEDS:
        for target in read(path).targets:
            assert "/organizations/" not in target.url, (path.name, target)
            assert not target.url.startswith("/"), (path.name, target)


_SECURED = re.compile(r'^secured: ".*"$', re.M)


@pytest.mark.parametrize(
    "replacement",
    [
        'secured: "not=base64;at all"',
        "secured: !!binary '@@@@'",
        "secured: !!bool maybe",
        "secured: 2021-02-29",
        'secured: {webUrl: "https://not-checked.test/", images: [{url: 42}]}',
        'secured: "' + "A" * 200_000 + '"',
        "secured:",
    ],
    ids=["text", "bad-binary", "bad-bool", "bad-date", "mapping", "huge", "empty"],
)
def test_secured_is_an_opaque_blob_and_ignored(replacement: str) -> None:
    for path in SEEDS:
        text = path.read_text(encoding="utf-8")
        changed = _SECURED.sub(lambda _: replacement, text)
        assert changed != text
        seed = parse_seed(path.name, changed.encode("utf-8"), ALL_FIELDS)
        assert seed.errors == ()
        assert got_targets(seed) == got_targets(read(path))


def _mojibake(text: str, times: int, codec: str) -> str:
    """UTF-8 bytes read as a single-byte code page, ``times`` over.

    Bytes cp1252 leaves undefined (0x81, 0x8d, 0x8f, 0x90, 0x9d) become the C1
    control of the same value, as browsers and most converters make them.
    """
    for _ in range(times):
        data = text.encode("utf-8")
        text = "".join(bytes([byte]).decode(codec, errors="ignore") or chr(byte) for byte in data)
    return text


@pytest.mark.parametrize(("times", "codec"), [(1, "cp1252"), (2, "cp1252"), (1, "latin-1")])
def test_text_decoded_twice_does_not_break_reading(times: int, codec: str) -> None:
    touched = 0
    for path in SEEDS:
        text = path.read_text(encoding="utf-8")
        garbled = _mojibake(text, times, codec)
        touched += garbled != text
        seed = parse_seed(path.name, garbled.encode("utf-8"), ALL_FIELDS)
        assert seed.errors == (), path.name
        assert got_targets(seed) == got_targets(read(path)), path.name
        title = re.search(r'^title: "(.*)"$', garbled, re.M)
        assert title is not None and seed.title == title[1].replace('\\"', '"')
    assert touched >= 10


def test_c1_controls_and_line_separators_in_text_keep_every_line_number() -> None:
    """NEL (from ``Å`` read as latin-1), U+2028 from scraped JSON, ``â€\\x9d`` from cp1252."""
    for path in SEEDS:
        text = path.read_text(encoding="utf-8")
        noisy = re.sub(
            r'^(excerpt: ".*)"$', lambda m: m[1] + ' \x85 \u2028 \u2029 â€\x9d \x9b31m"', text,
            count=1, flags=re.M,
        )  # fmt: skip
        assert noisy != text
        seed = parse_seed(path.name, noisy.encode("utf-8"), ALL_FIELDS)
        assert seed.errors == ()
        assert got_targets(seed) == expected_targets(text)


def test_windows_line_ends_and_a_byte_order_mark_keep_every_line_number() -> None:
    for path in SEEDS:
        text = path.read_text(encoding="utf-8")
        data = b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8")
        seed = parse_seed(path.name, data, ALL_FIELDS)
        assert seed.errors == ()
        assert got_targets(seed) == expected_targets(text)


def test_a_real_seed_with_a_control_character_names_its_line() -> None:
    path = SEEDS[0]
    lines = path.read_text(encoding="utf-8").split("\n")
    lines[2] = lines[2].replace("title: ", "title: \x1b[2J", 1)
    seed = parse_seed(path.name, "\n".join(lines).encode("utf-8"), ALL_FIELDS)
    (error,) = seed.errors
    assert error.line == 3
    assert "U+001B" in error.message
    assert "\n" not in error.message
