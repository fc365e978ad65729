"""Generators and properties shared by the bounded fuzz tests and the long fuzz run.

``tests/test_fuzz.py`` runs each target for a few dozen deterministic examples in CI;
``python -m bench.fuzz`` runs the same strategies and the same properties for as long as
asked and tallies what escapes. Four targets:

- seed text: mutations of the bundled seeds and YAML edge cases into ``parse_seed``, and
  small folders of such seeds through the whole run (nothing fetched: every URL excluded);
- server answers: generated status lines, headers, bodies and redirects served raw on
  127.0.0.1 by :class:`tests.hostile.HostileServer`, checked by the real runner;
- image bytes: mutations of the image corpus into the header parser;
- full decode: the same mutations served to ``--verify-images full``.

The property everywhere: no exception escapes, every seed and every URL gets a verdict,
no check ends ``internal`` (a crash the runner contained is still a crash), the run is
not stopped by its deadline, and the saved report validates against the shipped schema.
Nothing leaves the machine: every URL is on 127.0.0.1, and while a run is fuzzed every
host name resolves to 127.0.0.1 (:func:`loopback_names`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gzip
import importlib
import io
import ipaddress
import json
import logging
import os
import re
import socket
import struct
import tempfile
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from hypothesis import strategies as st
from PIL import Image

from linkcheck.engine.runner import check
from linkcheck.model.config import Config
from linkcheck.model.judge import judge_skipped, judge_unrequestable
from linkcheck.model.reasons import Reason
from linkcheck.model.records import Seed, SeedResult
from linkcheck.probes.image_header import (
    FORMATS,
    ByteView,
    CorruptImage,
    ImageHeader,
    NeedBytes,
    NotAnImage,
    check_trailer,
    parse,
)
from linkcheck.report.document import seed_to_dict
from linkcheck.seeds.reader import parse_seed
from tests.hostile import Behaviour, HostileServer, Request
from tests.image_corpus import corrupt_samples, image_samples, not_image_samples, simulate_fetch

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_PATH = ROOT / "linkcheck" / "report" / "schema" / "report-v1.schema.json"
LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"),)
#: Imported by name: the module works whether or not jsonschema's type stubs are installed.
jsonschema: Any = importlib.import_module("jsonschema")

# --------------------------------------------------------------------------------------------
# What a failure is


class PropertyBroken(AssertionError):
    """A property did not hold; ``original`` is the exception behind it, when there is one."""

    def __init__(self, message: str, original: BaseException | None = None) -> None:
        super().__init__(message)
        self.original = original


def site(exc: BaseException) -> str:
    """Where ``exc`` was raised: the deepest frame of linkcheck, and the deepest frame of all."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "?"

    def short(frame: traceback.FrameSummary) -> str:
        name = frame.filename
        for marker in ("site-packages/", str(ROOT) + "/"):
            if marker in name:
                name = name.split(marker, 1)[1]
        return f"{name}:{frame.lineno}"

    ours = [frame for frame in frames if "/linkcheck/" in frame.filename]
    deepest = short(frames[-1])
    if ours and ours[-1] is not frames[-1]:
        return f"{short(ours[-1])} (in {deepest})"
    return deepest


def describe(exc: BaseException) -> tuple[str, str]:
    """A failure's identity for tallies: (exception type, site)."""
    if isinstance(exc, PropertyBroken):
        if exc.original is not None:
            return type(exc.original).__name__, site(exc.original)
        return "PropertyBroken", str(exc).split(":", 1)[0]
    return type(exc).__name__, site(exc)


class _Contained(logging.Handler):
    """Collects the exceptions logged with a traceback (how a boundary reports a crash)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.caught: list[BaseException] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            self.caught.append(record.exc_info[1])


def _internal(message: str, caught: Sequence[BaseException]) -> PropertyBroken:
    """The failure for an ``internal`` verdict, tied to the logged exception behind it."""

    def told(exc: BaseException) -> str:
        return f"{type(exc).__name__}: {' '.join(str(exc).split())[:40]}"

    behind = [exc for exc in caught if told(exc) in message]
    return PropertyBroken(f"internal: {message}", behind[-1] if behind else None)


@contextlib.contextmanager
def contained_exceptions() -> Iterator[list[BaseException]]:
    """The exceptions logged with a traceback by ``linkcheck`` loggers while inside."""
    logger = logging.getLogger("linkcheck")
    handler = _Contained()
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler.caught
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


_real_getaddrinfo = socket.getaddrinfo


def _loopback_getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
    text = host.decode("ascii", "replace") if isinstance(host, bytes) else host
    try:
        ipaddress.ip_address(str(text).split("%", 1)[0])
    except ValueError:
        host = "127.0.0.1"  # a name: never ask a DNS server, answer loopback
    return _real_getaddrinfo(host, port, *args, **kwargs)


@contextlib.contextmanager
def loopback_names() -> Iterator[None]:
    """Resolve every host name to 127.0.0.1, so fuzzed redirects never reach DNS."""
    socket.getaddrinfo = _loopback_getaddrinfo
    try:
        yield
    finally:
        socket.getaddrinfo = _real_getaddrinfo


@functools.cache
def report_validator() -> Any:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


@functools.cache
def seed_validator() -> Any:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator({"$defs": schema["$defs"], "$ref": "#/$defs/seed"})


def _first_schema_error(validator: Any, data: Any) -> str | None:
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is None:
        return None
    where = "/".join(str(part) for part in error.absolute_path)
    return f"schema: {error.message[:200]} at /{where}"


# --------------------------------------------------------------------------------------------
# Target 1: seed text


@functools.cache
def bundled_seeds() -> tuple[bytes, ...]:
    """The seeds shipped in seeds/, the realistic starting points of mutation."""
    return tuple(path.read_bytes() for path in sorted((ROOT / "seeds").iterdir()))


#: YAML scalars that PyYAML's safe constructor chokes on, or that are odd as URLs or sizes.
VALUES: tuple[str, ...] = (
    "!!int foo",
    "!!int 0x",
    "!!bool maybe",
    "!!timestamp 2021-02-29",
    "2021-02-29",
    "2021-02-29T25:61:61Z",
    "2001-13-14 21:59:43.10 -5",
    "!!binary '@@@'",
    "!!binary aGVsbG8=",
    "!!float abc",
    "!!null x",
    "!!str",
    "!!map {}",
    "!!seq []",
    "!!set {a, b}",
    "!!omap [a]",
    "!!omap [{a: 1}, {a: 2}]",
    "!!pairs [1]",
    "!!python/object:os.system x",
    "!local x",
    "!<tag:yaml.org,2002:int> 12x",
    "9" * 5000,
    "-" + "9" * 4301,
    "0x" + "f" * 5000,
    "0b" + "1" * 20000,
    "0o" + "7" * 5000,
    "1_000",
    "190:20:30",
    "1" + ":59" * 2000,
    "1e400",
    ".inf",
    ".nan",
    "-0",
    "0",
    "-1",
    "2147483648",
    "~",
    "yes",
    "''",
    '""',
    '"\\ud800"',
    '"\\udfff\\ud800"',
    '"\\x00"',
    '"\\U0010ffff"',
    '"\\e[2J\\e]8;;http://x\\a"',
    '"https://x.example/\\n::error::pwned"',
    '"https://x.example/%00\\t \\u202e"',
    "&a https://a.example/",
    "*a",
    "*nowhere",
    "[*a, *a]",
    "{<<: *a}",
    "https://xn--i-7iq.ws/",
    "https://\u2603.net/",
    "https://\U0001f600.example/",
    "https://xn--zz/",
    "https://xn--/",
    "https://a..b/",
    "https://\u00df.de/",
    "https://\ufb01.com/",
    "https://a\u200db.com/",
    "https://" + "a" * 64 + ".com/",
    "https://" + "a." * 200 + "com/",
    "http://[::1]/",
    "http://[::ffff:10.0.0.1]/",
    "http://0x7f.1/",
    "http://127.0.0.1:99999/",
    "http://127.0.0.1:-1/",
    "http://[v1.x]/",
    "http://a:b@c/",
    "javascript:alert(1)",
    "//no-scheme.example/",
    "https://ex ample.com/a b",
    "|\n  https://block.example/",
    ">-\n  https://folded.example/",
    "? complex",
    "- item",
    "[",
    "{",
    "'unclosed",
    "@reserved",
    "`reserved",
    "%percent",
)

#: Whole lines (or line groups) dropped into the front matter.
LINES: tuple[str, ...] = (
    "base: &base {webUrl: 'https://a.example/', title: t}",
    "<<: *base",
    "<<: [*base, *base]",
    "<<: 3",
    "<<: !!int foo",
    "<<: {webUrl: !!int foo}",
    "images: &imgs\n  - url: https://a.example/i.png\n    width: 1\n    height: 1",
    "related: *imgs",
    "related: [*imgs, *imgs]",
    "a: &r [*r]",
    "deep: " + "[" * 3000 + "]" * 3000,
    "deep: " + "{a: " * 500 + "1" + "}" * 500,
    "deep:\n" + "".join(" " * i + "- \n" for i in range(0, 400, 2)),
    "l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n"
    + "".join(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]\n" for i in range(1, 7)),
    "images: [" + ", ".join(f"{{url: 'https://a.example/{n}.png'}}" for n in range(500)) + "]",
    "%YAML 1.1",
    "%TAG ! tag:yaml.org,2002:",
    "--- !!map",
    "...",
    "---",
    "\t",
    "\ufeff",
    "\x00",
    "\x85",
    "\u2028",
    "\x1b[31mred",
    "title: !!binary " + "A" * 8000,
    "title: \udc80",
    "? [a, b]\n: c",
    "? {a: b}\n: c",
    "1: numeric key",
    "null: null key",
    "webUrl: [a]",
    "webUrl: {a: b}",
    "images: 3",
    "images: [3]",
    "images:\n  - url: [a]\n    width: [1]\n    isCached: [x]",
    "related: [[], 3, {webUrl: 5}]",
)


_CHECKED = re.compile(r"^[ -]*(webUrl|ampWebUrl|url|width|height|isCached|title|images|related):")


def _replace_value(text: str, line: int, value: str) -> str:
    lines = text.split("\n")
    index = line % len(lines)
    key, colon, _ = lines[index].partition(":")
    lines[index] = f"{key}: {value}" if colon else f"{lines[index]} {value}"
    return "\n".join(lines)


def _insert_line(text: str, line: int, snippet: str) -> str:
    lines = text.split("\n")
    index = 1 + line % max(1, len(lines) - 1)
    indent = lines[index - 1][: len(lines[index - 1]) - len(lines[index - 1].lstrip(" "))]
    block = "\n".join(indent + part for part in snippet.split("\n"))
    return "\n".join([*lines[:index], block, *lines[index:]])


@st.composite
def _text_mutation(draw: st.DrawFn, text: str) -> str:
    """One change at the level of YAML lines and values."""
    size = max(1, text.count("\n") + 1)
    op = draw(st.sampled_from(("field", "value", "line", "swap", "endings", "bom")))
    at = draw(st.integers(0, size - 1))
    if op == "field":
        checked = [n for n, line in enumerate(text.split("\n")) if _CHECKED.match(line)]
        if checked:
            at = checked[at % len(checked)]
        op = "value"
    if op == "value":
        return _replace_value(text, at, draw(st.sampled_from(VALUES)))
    if op == "line":
        return _insert_line(text, at, draw(st.sampled_from(LINES)))
    if op == "swap":
        lines = text.split("\n")
        other = draw(st.integers(0, size - 1))
        lines[at], lines[other] = lines[other], lines[at]
        return "\n".join(lines)
    if op == "endings":
        return text.replace("\n", draw(st.sampled_from(("\r\n", "\r", "\n\r", "\x85"))))
    return "\ufeff" + text


@st.composite
def _byte_mutation(draw: st.DrawFn, data: bytes) -> bytes:
    """One change at the level of bytes: flip, insert, delete, duplicate, truncate."""
    if not data:
        return draw(st.binary(max_size=8))
    op = draw(st.sampled_from(("set", "insert", "delete", "duplicate", "truncate")))
    at = draw(st.integers(0, len(data) - 1))
    if op == "set":
        return data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1 :]
    if op == "insert":
        return data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at:]
    end = draw(st.integers(at, min(len(data), at + 64)))
    if op == "delete":
        return data[:at] + data[end:]
    if op == "duplicate":
        return data[:end] + data[at:end] + data[end:]
    return data[:at]


def _minimal_article() -> str:
    """A small article on reserved example domains; fuzzed runs exclude every URL of it."""
    return (
        "webUrl: https://www.example.com/a\n"
        "ampWebUrl: https://www.example.com/a?amp=1\n"
        "title: Something\n"
        "images:\n"
        "  - url: https://img.example.com/a.jpg\n"
        "    width: 640\n"
        "    height: 480\n"
        "    isCached: true\n"
        "related:\n"
        "  - webUrl: https://www.example.org/b\n"
        "    images:\n"
        "      - url: https://img.example.org/b.png\n"
        "        width: 10\n"
    )


@st.composite
def seed_texts(draw: st.DrawFn) -> bytes:
    """Seed file bytes: a bundled seed or a small article, mutated a few times."""
    source = draw(st.sampled_from(("bundled", "bundled", "article")))
    if source == "bundled":
        text = draw(st.sampled_from(bundled_seeds())).decode("utf-8")
    else:
        text = f"---\n{_minimal_article()}---\nbody\n"
    for _ in range(draw(st.integers(1, 4))):
        text = draw(_text_mutation(text))
    data = text.encode("utf-8", "surrogatepass")
    for _ in range(draw(st.integers(0, 2))):
        data = draw(_byte_mutation(data))
    return data


def seed_entries(seed: Seed) -> dict[str, Any]:
    """The seed as the report shows it, every URL given the verdict it gets unfetched."""
    checks = tuple(
        judge_unrequestable(target)
        if target.problem is not None
        else judge_skipped(target, Reason.EXCLUDED, "fuzz: not fetched")
        for target in seed.targets
    )
    return seed_to_dict(SeedResult.of(seed, checks))


def check_seed_text(data: bytes, config: Config | None = None) -> Seed:
    """Property: ``parse_seed`` returns a Seed, with no error of ours (``internal``) in it,
    whose report entry is valid JSON of the schema."""
    with contained_exceptions() as caught:
        seed = parse_seed("fuzz.txt", data, config or Config())
    if not isinstance(seed, Seed):
        raise PropertyBroken(f"parse_seed returned {type(seed).__name__}, not a Seed")
    for error in seed.errors:
        if error.reason is Reason.INTERNAL:
            raise _internal(error.message, caught)
    entry = seed_entries(seed)
    try:
        json.dumps(entry, ensure_ascii=False).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise PropertyBroken(f"report entry: {exc}", exc) from exc
    problem = _first_schema_error(seed_validator(), entry)
    if problem is not None:
        raise PropertyBroken(problem)
    return seed


#: File names a seed folder may hold: control characters, escapes, non-UTF-8 bytes.
NAME_PARTS: tuple[bytes, ...] = (
    b"plain",
    b"a\nb",
    b"\n::error::x",
    b"\n::add-mask::x",
    b"\x1b[2J",
    b"\x1b]8;;http:x\x07",
    b"\xff\xfe",
    b"caf\xe9",
    b"%0A",
    b"\xe2\x80\xae",
    b" ",
    b"-o",
)


@st.composite
def seed_folders(draw: st.DrawFn) -> list[tuple[bytes, bytes]]:
    """A few (file name, file bytes) pairs for one run."""
    count = draw(st.integers(1, 4))
    names = draw(st.lists(st.sampled_from(NAME_PARTS), min_size=count, max_size=count))
    return [(b"%d%s.txt" % (index, name), draw(seed_texts())) for index, name in enumerate(names)]


def check_seed_folder(files: Sequence[tuple[bytes, bytes]], directory: Path) -> dict[str, Any]:
    """Property: a run over these files (every URL excluded) reports each file, schema-valid."""
    folder = os.fsencode(directory / "seeds")
    os.mkdir(folder)
    for name, data in files:
        with open(os.path.join(folder, name), "wb") as stream:
            stream.write(data)
    config = Config(
        paths=(Path(os.fsdecode(folder)),),
        output=directory / "report.json",
        exclude=(".",),
        recheck=False,
        retries=0,
        trust_env=False,
    )
    report = _run_and_validate(config, expected_seeds=len(files))
    if report["summary"]["requests"]:  # the seeds name real hosts: none may be asked
        raise PropertyBroken(f"{report['summary']['requests']} requests from an excluded run")
    return report


# --------------------------------------------------------------------------------------------
# Target 2: server answers

PORT = b"\x00PORT\x00"
PREFIX = b"\x00PREFIX\x00"


@dataclass(frozen=True)
class Answer:
    """One raw HTTP answer; ``PORT`` and ``PREFIX`` markers are filled in when served."""

    status_line: bytes
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes
    as_image: bool = False
    claim: tuple[int, int] | None = None
    unranged: Answer | None = None
    """What a request without a Range header gets instead (a server that swaps files)."""

    def raw(self, port: int, prefix: bytes) -> bytes:
        head = self.status_line + b"\r\n"
        head += b"".join(name + b": " + value + b"\r\n" for name, value in self.headers)
        data = head + b"\r\n" + self.body
        return data.replace(PORT, str(port).encode()).replace(PREFIX, prefix)


class RawAnswer(Behaviour):
    """Write the answer's bytes as they are, then close the connection."""

    def __init__(self, answer: Answer, port: int, prefix: bytes) -> None:
        self.data = answer.raw(port, prefix)
        self.unranged = answer.unranged.raw(port, prefix) if answer.unranged else self.data

    async def respond(self, request: Request, writer: asyncio.StreamWriter) -> bool:
        writer.write(self.data if "range" in request.headers else self.unranged)
        await writer.drain()
        return False


_STATUS_CODES = (200, 200, 200, 204, 206, 301, 302, 303, 307, 308, 404, 410, 429, 500, 503)


_ODD_NUMBERS: st.SearchStrategy[bytes] = st.sampled_from(
    (
        "",
        " ",
        "\u00b2",
        "\u0661\u0662",
        "\uff11",
        "1.5",
        "+1",
        "-0",
        "0x10",
        "1e3",
        "9" * 30,
        "9" * 5000,
        "1 2",
        "1,1",
        "NaN",
        "inf",
        "Wed, 21 Oct 2015 07:28:00 GMT",
        "Wed, 31 Feb 2099 07:28:00 GMT",
        "Sun, 06 Nov 1994 08:49:37 GMT",
        "Mon, 01 Jan 9999 00:00:00 GMT",
        "Thu, 01 Jan 1970 00:00:00 GMT",
        "tomorrow",
        "\x00",
    )
).map(lambda text: text.encode("utf-8"))
#: Header numbers: odd forms (non-ASCII digits, thousands of digits, dates) two times in three.
_NUMBERS: st.SearchStrategy[bytes] = st.one_of(
    _ODD_NUMBERS, _ODD_NUMBERS, st.integers(-5, 10**6).map(lambda n: str(n).encode())
)

_HOSTS = (
    "127.0.0.1",
    "localhost",
    "xn--i-7iq.ws",
    "\u2603.net",
    "\U0001f600.example",
    "xn--zz",
    "xn--",
    "a..b",
    "\u00df.de",
    "\ufb01.com",
    "a\u200db.com",
    "\u0660.com",
    "a" * 64 + ".com",
    "a." * 130 + "com",
    "[::1]",
    "[::ffff:127.0.0.1]",
    "127.1",
    "0x7f000001",
    "2130706433",
    "%31%32%37.0.0.1",
    "127.0.0.1.",
    "EXAMPLE.COM.",
    "ex ample.com",
    "exa\tmple.com",
    "user:pw@127.0.0.1",
    "169.254.169.254",
    "10.0.0.1",
)


@st.composite
def _location(draw: st.DrawFn) -> bytes:
    form = draw(st.sampled_from(("relative", "absolute", "host", "odd")))
    target = b"%d" % draw(st.integers(0, 7))
    if form == "relative":
        return PREFIX + target
    if form == "absolute":
        return b"http://127.0.0.1:" + PORT + PREFIX + target
    if form == "host":
        host = draw(st.sampled_from(_HOSTS))
        encoding = draw(st.sampled_from(("utf-8", "latin-1", "idna-ish")))
        if encoding == "idna-ish":
            encoded = host.encode("ascii", "backslashreplace")
        else:
            encoded = host.encode(encoding, "replace")
        port = draw(st.sampled_from((b":" + PORT, b"", b":0", b":65536", b":x")))
        return b"http://" + encoded + port + PREFIX + target
    return draw(
        st.sampled_from(
            (
                b"",
                b" ",
                b"javascript:alert(1)",
                b"data:text/html,x",
                b"ftp://127.0.0.1/x",
                b"file:///etc/passwd",
                b"//127.0.0.1:" + PORT + PREFIX + b"1",
                b"http://",
                b"http://[::1",
                b"http:///x",
                b"?q=1",
                b"#frag",
                b"../../../x",
                b"\xff\xfe",
                b"/\xe2\x98\x83",
                b"http://127.0.0.1:" + PORT + b"/%zz",
                b"http://127.0.0.1:" + PORT + b"/" + b"a" * 9000,
            )
        )
    )


_CONTENT_RANGE: st.SearchStrategy[bytes] = st.one_of(
    st.tuples(st.integers(-1, 5000), st.integers(-1, 5000), _NUMBERS).map(
        lambda t: b"bytes %d-%d/" % (t[0], t[1]) + t[2]
    ),
    st.sampled_from(
        (
            b"bytes */100",
            b"bytes */" + b"9" * 5000,
            b"bytes 0-" + b"9" * 5000 + b"/*",
            b"bytes 0-99/*",
            b"bytes \xc2\xb2-3/4",
            b"bytes 5-1/10",
            b"items 0-1/2",
            b"bytes",
            b"",
        )
    ),
)

_CONTENT_TYPES = (
    b"text/html",
    b"text/html; charset=utf-8",
    b"text/html; charset=x-unknown",
    b"image/png",
    b"image/jpeg",
    b"image/svg+xml",
    b"application/octet-stream",
    b"multipart/byteranges; boundary=xx",
    b"",
    b"\xff",
)

_ENCODINGS = (b"gzip", b"deflate", b"br", b"zstd", b"gzip, gzip", b"x-unknown", b"identity", b"")

_HEADER_VALUES: dict[bytes, st.SearchStrategy[bytes]] = {
    b"Retry-After": _NUMBERS,
    b"Content-Length": _NUMBERS,
    b"Content-Range": _CONTENT_RANGE,
    b"Location": _location(),
    b"Content-Type": st.sampled_from(_CONTENT_TYPES),
    b"Content-Encoding": st.sampled_from(_ENCODINGS),
    b"Transfer-Encoding": st.sampled_from((b"chunked", b"gzip, chunked", b"x", b"chunked, x")),
    b"Accept-Ranges": st.sampled_from((b"bytes", b"none", b"")),
    b"Connection": st.sampled_from((b"close", b"keep-alive", b"upgrade")),
    b"Refresh": st.sampled_from((b"0; url=/x", b"\xff")),
    b"Set-Cookie": st.sampled_from((b"a=b", b"a=" + b"b" * 5000)),
}


@st.composite
def _body(draw: st.DrawFn, as_image: bool) -> bytes:
    kinds = ("empty", "html", "image", "random", "gzip", "chunked")
    kind = "image" if as_image and draw(st.integers(0, 3)) else draw(st.sampled_from(kinds))
    if kind == "empty":
        return b""
    if kind == "html":
        return b"<!doctype html><title>x</title>" * draw(st.integers(1, 50))
    if kind == "image":
        return draw(image_bytes(small=True))
    if kind == "random":
        return draw(st.binary(max_size=512))
    if kind == "gzip":
        inner = draw(st.sampled_from((b"<html></html>", b"\x89PNG\r\n\x1a\n", b"x" * 1000)))
        packed = gzip.compress(inner, mtime=0)
        cut = draw(st.integers(0, len(packed)))
        return packed[:cut] if draw(st.booleans()) else packed
    sizes = draw(st.sampled_from((b"5", b"ffffffffffffffffffff", b"-1", b"5;x=y", b"\xc2\xb2")))
    return sizes + b"\r\nhello\r\n0\r\n\r\n"


@st.composite
def answers(draw: st.DrawFn) -> Answer:
    """An answer, mostly well-formed HTTP carrying the headers the issue found crashing.

    Most answers parse as HTTP, so the values reach our own parsers; one in five has a
    broken status line, an odd header or a Content-Length that lies.
    """
    broken = draw(st.integers(0, 4)) == 0
    code = draw(st.sampled_from(_STATUS_CODES))
    status_line = b"HTTP/1.1 %d X" % code
    if broken:
        status_line = draw(
            st.sampled_from(
                (
                    b"HTTP/1.0 %d" % draw(st.integers(0, 1000)),
                    b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK",
                    b"HTTP/1.1 2OO OK",
                    b"HTTP/1.1 200 \xff\xfe",
                    b"HTTP/2 200",
                    b"HTTP/1.1 99999999999999999999 X",
                    b"ICY 200 OK",
                    b"HTTP/1.1",
                    b"",
                    b"\x16\x03\x01",
                    status_line,
                )
            )
        )
    names = draw(st.lists(st.sampled_from(sorted(_HEADER_VALUES)), max_size=4))
    if code in (301, 302, 303, 307, 308) and draw(st.integers(0, 3)):
        names.append(b"Location")
    if code in (429, 503) and draw(st.integers(0, 3)):
        names.append(b"Retry-After")
    if code == 206 and draw(st.integers(0, 3)):
        names.append(b"Content-Range")
    if not broken:
        names = [name for name in names if name not in (b"Content-Length", b"Transfer-Encoding")]
    headers = [(name, draw(_HEADER_VALUES[name])) for name in names]
    if broken and draw(st.booleans()):
        headers.append(
            (
                draw(st.sampled_from((b"X-Odd", b"X Odd", b"", b"\xff", b":"))),
                draw(st.binary(max_size=20).filter(lambda b: b"\n" not in b)),
            )
        )
    as_image = draw(st.booleans())
    body = draw(_body(as_image))
    if not broken or draw(st.booleans()):
        headers.append((b"Content-Length", b"%d" % len(body)))
    claim = draw(st.one_of(st.none(), st.tuples(st.integers(1, 5000), st.integers(1, 5000))))
    return Answer(status_line, tuple(headers), body, as_image, claim)


def _seed_for(urls: Sequence[tuple[str, Answer]]) -> str:
    """One seed naming every URL: the first as webUrl, images in images[], pages in related[]."""
    lines = [f"webUrl: {json.dumps(urls[0][0])}", "images:"]
    for url, answer in urls[1:]:
        if answer.as_image:
            lines.append(f"  - url: {json.dumps(url)}")
            if answer.claim:
                lines.append(f"    width: {answer.claim[0]}\n    height: {answer.claim[1]}")
    lines.append("related:")
    lines.extend(
        f"  - webUrl: {json.dumps(url)}" for url, answer in urls[1:] if not answer.as_image
    )
    return "---\n" + "\n".join(lines) + "\n---\n"


def fuzz_config(directory: Path, seed: Path, **changes: Any) -> Config:
    """Loopback allowed, short deadlines, one quick retry: a run of a few URLs takes a second."""
    settings: dict[str, Any] = {
        "paths": (seed,),
        "output": directory / "report.json",
        "allow_networks": LOOPBACK,
        "request_timeout": 3.0,
        "connect_timeout": 2.0,
        "read_timeout": 2.0,
        "retries": 1,
        "retry_backoff": 0.01,
        "recheck": False,
        "max_redirects": 4,
        "retry_after_cap": 1.0,
        "max_duration": 30.0,
        "trust_env": False,
    }
    settings.update(changes)
    return Config(**settings)


@dataclass
class Served:
    """A loopback server and a counter that gives each run its own paths."""

    server: HostileServer
    runs: int = field(default=0)


def check_answers(
    served: Served, batch: Sequence[Answer], directory: Path, **changes: Any
) -> dict[str, Any]:
    """Property: the runner gives every URL served by ``batch`` a verdict, schema-valid."""
    served.runs += 1
    server = served.server
    server.reset_log(routes=True)
    prefix = b"/r%d/" % served.runs
    urls: list[tuple[str, Answer]] = []
    for index, answer in enumerate(batch):
        path = prefix.decode() + str(index)
        url = server.route(path, RawAnswer(answer, server.port, prefix))
        urls.append((url, answer))
    seed = directory / "answers.txt"
    seed.write_text(_seed_for(urls), encoding="utf-8")
    report = _run_and_validate(fuzz_config(directory, seed, **changes), expected_seeds=1)
    if server.errors:
        raise PropertyBroken(f"the fuzz server itself failed: {server.errors[0]!r}")
    return report


def _run_and_validate(config: Config, expected_seeds: int) -> dict[str, Any]:
    """Run the checker and hold the run to the properties; returns the saved report."""
    with contained_exceptions() as caught, loopback_names():
        report = check(config)
        try:
            report.save(config.output)
        finally:
            report.discard()
    data: dict[str, Any] = json.loads(config.output.read_text(encoding="utf-8"))
    problem = _first_schema_error(report_validator(), data)
    if problem is not None:
        raise PropertyBroken(problem)
    if data["summary"].get("stopped"):
        raise PropertyBroken(f"run stopped: {data['summary']['stopped']} (a hang?)")
    seeds = data["seeds"]
    if len(seeds) != expected_seeds:
        raise PropertyBroken(f"seeds: {len(seeds)} reported, {expected_seeds} expected")
    for entry in seeds:
        path = Path(entry["path"])
        if not entry["errors"] and path.is_file():
            wanted = parse_seed(str(path), path.read_bytes(), config).targets
            if len(entry["checks"]) != len(wanted):
                raise PropertyBroken(
                    f"checks: {len(entry['checks'])} reported, {len(wanted)} targets"
                )
        for item in (*entry["errors"], *entry["checks"]):
            if item["reason"] == Reason.INTERNAL.value:
                raise _internal(item["message"], caught)
    return data


# --------------------------------------------------------------------------------------------
# Target 3: image bytes

_INTERESTING = (0, 1, 2, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF)


#: Formats Pillow reads but we do not parse: a server may send them to ``full``.
FOREIGN_FORMATS = ("DDS", "TGA", "PCX", "PPM", "SGI", "XBM", "MSP", "EPS", "QOI", "DIB")


def _dds_unknown_fourcc() -> bytes:
    """A DDS header whose pixel format Pillow does not implement (NotImplementedError)."""
    header = struct.pack("<7I44s", 124, 0x1007 | 0x1000, 6, 8, 0, 0, 0, bytes(44))
    pixel_format = struct.pack("<2I4s5I", 32, 0x4, b"ZZZZ", 0, 0, 0, 0, 0)
    return b"DDS " + header + pixel_format + struct.pack("<5I", 0x1000, 0, 0, 0, 0) + bytes(64)


@functools.cache
def foreign_images() -> tuple[bytes, ...]:
    """Small images in :data:`FOREIGN_FORMATS` (those this Pillow can write)."""
    found = []
    for name in FOREIGN_FORMATS:
        mode = "1" if name in ("XBM", "MSP") else "RGB"
        buffer = io.BytesIO()
        try:
            Image.new(mode, (8, 6)).save(buffer, name)
        except (KeyError, OSError, ValueError):
            continue
        found.append(buffer.getvalue())
    return (*found, _dds_unknown_fourcc())


@functools.cache
def image_bases(small: bool = False) -> tuple[bytes, ...]:
    """Corpus images (the small ones when ``small``), broken, foreign and non-images too."""
    limit = 4096 if small else 64 * 1024
    found = [s.data for s in image_samples() if len(s.data) <= limit]
    found += [s.data for s in (*corrupt_samples(), *not_image_samples()) if len(s.data) <= limit]
    return (*found, *foreign_images())


@st.composite
def _image_mutation(draw: st.DrawFn, data: bytes) -> bytes:
    if not data:
        return draw(st.binary(max_size=64))
    op = draw(st.sampled_from(("word", "byte", "truncate", "insert", "delete", "splice")))
    at = draw(st.integers(0, len(data) - 1))
    if op == "word":
        width = draw(st.sampled_from((2, 4)))
        value = draw(st.sampled_from(_INTERESTING)) & ((1 << (8 * width)) - 1)
        order: Literal["big", "little"] = draw(st.sampled_from(("big", "little")))
        return data[:at] + value.to_bytes(width, order) + data[at + width :]
    if op == "byte":
        return data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1 :]
    if op == "truncate":
        return data[:at]
    if op == "insert":
        return data[:at] + draw(st.binary(min_size=1, max_size=16)) + data[at:]
    end = draw(st.integers(at, min(len(data), at + 256)))
    if op == "delete":
        return data[:at] + data[end:]
    other = draw(st.sampled_from(image_bases(small=True)))
    return data[:at] + other[: end - at] + data[end:]


@st.composite
def image_bytes(draw: st.DrawFn, small: bool = False) -> bytes:
    """Corpus images mutated a few times, or random bytes after a real magic number."""
    if draw(st.integers(0, 9)) == 0:
        magic = draw(
            st.sampled_from(
                (
                    b"\xff\xd8\xff",
                    b"\x89PNG\r\n\x1a\n",
                    b"GIF89a",
                    b"RIFF\x00\x00\x00\x00WEBP",
                    b"BM",
                    b"II*\x00",
                    b"MM\x00*",
                    b"\x00\x00\x01\x00",
                    b"\x00\x00\x00\x18ftypavif",
                    b"<svg",
                    b"<?xml",
                    b"",
                )
            )
        )
        return magic + draw(st.binary(max_size=256))
    data = draw(st.sampled_from(image_bases(small)))
    for _ in range(draw(st.integers(1, 5))):
        data = draw(_image_mutation(data))
    return data


_ALLOWED = (NeedBytes, NotAnImage, CorruptImage)


def _sane(header: ImageHeader) -> None:
    if header.format not in FORMATS:
        raise PropertyBroken(f"header: unknown format {header.format!r}")
    if not (0 < header.width <= 1 << 31 and 0 < header.height <= 1 << 31):
        raise PropertyBroken(f"header: size {header.width}x{header.height}")
    if header.orientation not in range(1, 9):
        raise PropertyBroken(f"header: orientation {header.orientation}")


def check_image_bytes(data: bytes) -> ImageHeader | None:
    """Property: the parser answers a header or raises only NeedBytes/NotAnImage/CorruptImage.

    Tried on the whole file (size known), on its first bytes alone (size unknown, so
    NeedBytes is a fair answer), and through the fetch layer's loop of Range requests.
    """
    header: ImageHeader | None = None
    for view in (ByteView(data, 0, len(data)), ByteView(data[:4096])):
        try:
            found = parse(view)
        except _ALLOWED as exc:
            if isinstance(exc, NeedBytes) and view.total_size is not None:
                raise PropertyBroken(f"NeedBytes {exc} for a view holding the whole file") from exc
            continue
        _sane(found)
        if view.total_size is not None:
            header = found
            with contextlib.suppress(NotAnImage, CorruptImage):
                check_trailer(found, view)
    for know_total in (True, False):
        outcome = simulate_fetch(data, know_total=know_total).outcome
        if isinstance(outcome, ImageHeader):
            _sane(outcome)
    return header


def _image_answer(data: bytes) -> Answer:
    headers = ((b"Content-Type", b"image/png"), (b"Content-Length", b"%d" % len(data)))
    return Answer(b"HTTP/1.1 200 OK", headers, data, as_image=True)


def full_answers(images: Sequence[tuple[bytes, bytes | None]]) -> list[Answer]:
    """Answers for ``--verify-images full``: each image, swapped for the second bytes if any,
    when the request has no Range header (the full download)."""
    answers = []
    for data, full in images:
        answer = _image_answer(data)
        if full is not None:
            answer = replace(answer, unranged=_image_answer(full))
        answers.append(answer)
    return answers


@st.composite
def decode_inputs(draw: st.DrawFn) -> tuple[bytes, bytes | None]:
    """Image bytes, and one time in three other bytes for the full download."""
    data = draw(image_bytes())
    swap = draw(st.integers(0, 2)) == 0
    full = draw(st.one_of(st.sampled_from(foreign_images()), image_bytes())) if swap else None
    return data, full


def page_answer() -> Answer:
    return Answer(b"HTTP/1.1 200 OK", ((b"Content-Length", b"2"),), b"ok")


# --------------------------------------------------------------------------------------------
# Helpers for both callers


@contextlib.contextmanager
def scratch() -> Iterator[Path]:
    """A fresh temporary folder, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="linkcheck-fuzz-") as name:
        yield Path(name)
