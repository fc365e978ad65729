"""Output formats: golden files, schema validation, escaping of hostile seed text.

Golden files live in tests/golden/; rewrite them with ``UPDATE_GOLDEN=1 pytest
tests/test_formats.py`` and read the diff before committing.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from lxml import etree

from linkcheck.model.reasons import Reason, Verdict
from linkcheck.model.records import (
    Check,
    Hop,
    ImageFacts,
    Kind,
    Outcome,
    SeedError,
    SeedResult,
    Target,
)
from linkcheck.report.document import SCHEMA_PATH, Report, Spool, _shown_valid, validate_report
from linkcheck.report.formats import FORMATS, get_format
from linkcheck.report.formats._common import RebasedView
from linkcheck.report.formats.interface import ReportView
from linkcheck.report.formats.terminal import TerminalFormat

HERE = Path(__file__).parent
GOLDEN = HERE / "golden"
SCHEMAS = HERE / "schemas"
SCRIPT = "<script>alert(1)</script>"
FORMULA = "=cmd|' /C calc'!A0"


def _check(field: str, line: int | None, url: str, kind: str, **rest: Any) -> dict[str, Any]:
    check: dict[str, Any] = {
        "field": field,
        "line": line,
        "url": url,
        "kind": kind,
        "verdict": "ok",
        "reason": "ok",
        "message": "HTTP 200",
        "http_status": 200,
        "final_url": url,
        "redirects": [],
        "elapsed_ms": 12.5,
        "image": None,
    }
    check.update(rest)
    return check


def _image(**facts: Any) -> dict[str, Any]:
    image: dict[str, Any] = {
        "format": None,
        "width": None,
        "height": None,
        "claimed_width": None,
        "claimed_height": None,
        "is_cached": None,
        "bytes_read": 0,
    }
    image.update(facts)
    return image


HEADER: dict[str, Any] = {
    "schema_version": 1,
    "tool": {"name": "linkcheck", "version": "9.9.9"},
    "started_at": "2026-01-02T03:04:05.678Z",
    "finished_at": "2026-01-02T03:04:07.000Z",
    "duration_s": 1.322,
    "summary": {
        "seeds": 3,
        "invalid_seeds": 1,
        "urls": 9,
        "checks": 9,
        "ok": 2,
        "warning": 1,
        "failed": 5,
        "skipped": 1,
        "requests": 8,
        "bytes_downloaded": 20480,
        "reasons": {
            "ok": 2,
            "http_status": 2,
            "size_mismatch": 1,
            "not_image": 1,
            "unsafe_url": 1,
            "blocked": 1,
            "excluded": 1,
        },
        "hosts_unresolved": 0,
        "no_host_resolved": False,
        "future_count": 7,
    },
    "hosts": {"news.test": {"requests": 4}},
}

STORY = "seeds/good story.txt"
EVIL = "seeds/evil.md"
BROKEN = "seeds/broken, old.txt"
SEEDS: list[dict[str, Any]] = [
    {
        "path": STORY,
        "valid": True,
        "errors": [],
        "checks": [
            _check("webUrl", 7, "https://news.test/story", "page"),
            _check(
                "ampWebUrl",
                8,
                "http://news.test/story?amp=1",
                "amp",
                verdict="failed",
                reason="http_status",
                message="the server answered HTTP 404",
                http_status=404,
                final_url="https://amp.news.test/gone",
                redirects=[
                    {"url": "http://news.test/story?amp=1", "status": 301},
                    {"url": "https://news.test/story?amp=1", "status": 302},
                ],
                elapsed_ms=81.2,
            ),
            _check(
                "images[0].url",
                24,
                "https://img.test/a.jpg",
                "image",
                verdict="failed",
                reason="size_mismatch",
                message="the seed claims 1200x400 but the image is 1200x800",
                image=_image(
                    format="jpeg",
                    width=1200,
                    height=800,
                    claimed_width=1200,
                    claimed_height=400,
                    is_cached=True,
                    bytes_read=16384,
                    future_fact="ignored",
                ),
            ),
            _check(
                "images[1].url",
                28,
                "https://img.test/error-page",
                "image",
                verdict="failed",
                reason="not_image",
                message="the body is not an image (text/html)",
                image=_image(
                    claimed_width=600, claimed_height=390, is_cached=False, bytes_read=4096
                ),
            ),
            _check(
                "related[0].webUrl",
                33,
                "https://other.test/x",
                "page",
                verdict="warning",
                reason="blocked",
                message="a bot challenge | 100% sure,\nsecond line: `cf`",
                http_status=403,
                retries=2,
            ),
            _check(
                "related[0].ampWebUrl",
                34,
                "https://other.test/x.amp",
                "amp",
                verdict="skipped",
                reason="excluded",
                message="matches the exclude rule other.test",
                http_status=None,
                final_url=None,
                elapsed_ms=0.0,
            ),
        ],
    },
    {
        "path": EVIL,
        "valid": True,
        "errors": [],
        "checks": [
            _check(
                "webUrl",
                5,
                f"https://evil.test/{SCRIPT}?q=`x`|y",
                "page",
                verdict="failed",
                reason="http_status",
                message=f"the server answered HTTP 500: {SCRIPT}",
                http_status=500,
            ),
            _check(
                "images[0].url",
                None,
                "javascript:alert(1)",
                "image",
                verdict="failed",
                reason="unsafe_url",
                message=FORMULA,
                http_status=None,
                final_url=None,
                elapsed_ms=0.0,
                image=_image(claimed_width=10, claimed_height=10),
            ),
        ],
    },
    {
        "path": BROKEN,
        "valid": False,
        "errors": [
            {"reason": "invalid_yaml", "message": "mapping values are not allowed here", "line": 4},
            {"reason": "missing_field", "message": "webUrl is missing", "line": None},
        ],
        "checks": [
            _check(
                "images[0].url",
                12,
                "https://img.test/b.png",
                "image",
                message="png 640x480 (no size claimed)",
                image=_image(format="png", width=640, height=480, bytes_read=1024),
            )
        ],
    },
]


class View:
    """A hand-written report; counts how often its seeds are read."""

    def __init__(self, header: dict[str, Any], seeds: list[dict[str, Any]]) -> None:
        self._header, self._seeds, self.reads = header, seeds, 0

    def header(self) -> dict[str, Any]:
        return self._header

    def seeds(self) -> Iterator[dict[str, Any]]:
        self.reads += 1
        yield from self._seeds


def render(name: str, view: ReportView | None = None) -> str:
    stream = io.StringIO()
    get_format(name).render(view or View(HEADER, SEEDS), stream)
    return stream.getvalue()


def matches_golden(name: str, text: str) -> bool:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_bytes(text.encode("utf-8"))
    return text == path.read_bytes().decode("utf-8")


# --- registry ---------------------------------------------------------------------------


def test_every_format_is_registered_under_its_name() -> None:
    assert set(FORMATS) == {
        "json",
        "markdown",
        "junit",
        "sarif",
        "github",
        "csv",
        "html",
        "codequality",
    }
    for name, fmt in FORMATS.items():
        assert fmt.name == name
        assert get_format(name) is fmt


def test_unknown_format_names_the_known_ones() -> None:
    with pytest.raises(
        ValueError, match="known: codequality, csv, github, html, json, junit, markdown"
    ):
        get_format("yaml")


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_every_format_reads_the_seeds_once_and_renders_an_empty_report(name: str) -> None:
    view = View(HEADER, SEEDS)
    render(name, view)
    assert view.reads == 1
    empty = View({"tool": {"name": "linkcheck", "version": "1"}, "summary": {}}, [])
    assert render(name, empty) or name == "github"


# --- golden files -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "golden"),
    [
        ("markdown", "report.md"),
        ("junit", "report.junit.xml"),
        ("csv", "report.csv"),
        ("github", "report.github.txt"),
    ],
)
def test_output_matches_the_reviewed_golden_file(name: str, golden: str) -> None:
    assert matches_golden(golden, render(name)), f"rerun with UPDATE_GOLDEN=1 and review {golden}"


# --- json -------------------------------------------------------------------------------


def _real_report(tmp_path: Path) -> Report:
    spool = Spool(tmp_path)
    spool.add(
        SeedResult(
            STORY,
            (),
            (
                Check(
                    Target("webUrl", 7, "https://news.test/a", Kind.PAGE),
                    Verdict.OK,
                    Reason.OK,
                    "ok",
                ),
                Check(
                    Target("ampWebUrl", 8, "http://news.test/a?amp", Kind.AMP),
                    Verdict.FAILED,
                    Reason.HTTP_STATUS,
                    "the server answered HTTP 404",
                    Outcome(
                        "http://news.test/a?amp",
                        status=404,
                        final_url="https://news.test/gone",
                        redirects=(Hop("http://news.test/a?amp", 301),),
                        elapsed_ms=3.25,
                    ),
                ),
                Check(
                    Target(
                        "images[0].url",
                        24,
                        "https://img.test/ü.jpg",
                        Kind.IMAGE,
                        claimed_width=1200,
                        claimed_height=400,
                        is_cached=True,
                    ),
                    Verdict.FAILED,
                    Reason.SIZE_MISMATCH,
                    f"claims 1200x400 {SCRIPT}",
                    Outcome(
                        "https://img.test/ü.jpg",
                        status=200,
                        bytes_read=16384,
                        image=ImageFacts("jpeg", 1200, 800, 1200, 800),
                    ),
                ),
            ),
        )
    )
    spool.add(
        SeedResult(BROKEN, (SeedError(Reason.INVALID_YAML, "bad", 3),), ()),
    )
    spool.close()
    started = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    return Report(started, started + timedelta(seconds=1.5), spool.summary, spool.path)


def test_json_is_the_report_saved_by_a_run_and_valid_against_schema_v1(tmp_path: Path) -> None:
    report = _real_report(tmp_path)
    report.save(tmp_path / "saved.json")
    text = render("json", report)
    assert text == (tmp_path / "saved.json").read_text(encoding="utf-8")
    data = json.loads(text)
    assert [seed["path"] for seed in data["seeds"]] == [seed["path"] for seed in report.seeds()]
    jsonschema.validate(data, json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))


_WRONG_VALUES: tuple[object, ...] = (None, "x", "", -1, 0, 1.5, True, [], {}, ["x"], {"x": 1})


def _mutants(node: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[str, Any]]:
    """Every way to break ``node`` by one edit: a key dropped, one value replaced."""
    items = list(node.items()) if isinstance(node, dict) else list(enumerate(node))
    for key, value in items:
        where = f"{'/'.join(map(str, (*path, key)))}"
        if isinstance(node, dict):
            yield f"{where} dropped", {k: v for k, v in node.items() if k != key}
            yield f"{where}+extra", {**node, "extra_key": 1}
        for wrong in _WRONG_VALUES:
            copy: Any = dict(node) if isinstance(node, dict) else list(node)
            copy[key] = wrong
            yield f"{where}={wrong!r}", copy
        if isinstance(value, dict | list):
            for name, broken in _mutants(value, (*path, key)):
                copy = dict(node) if isinstance(node, dict) else list(node)
                copy[key] = broken
                yield name, copy


def test_the_fast_report_validator_agrees_with_jsonschema_on_every_one_edit_break(
    tmp_path: Path,
) -> None:
    # jsonschema-rs answers "valid" for the run's reports; jsonschema must never disagree.
    report = _real_report(tmp_path)
    report.save(tmp_path / "saved.json")
    data = json.loads((tmp_path / "saved.json").read_text(encoding="utf-8"))
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    reference = jsonschema.Draft202012Validator(schema)
    assert _shown_valid(schema, data) and reference.is_valid(data)
    tried = invalid = 0
    for name, mutant in _mutants(data):
        tried += 1
        expected = reference.is_valid(mutant)
        invalid += not expected
        assert _shown_valid(schema, mutant) == expected, name
        if not expected and invalid % 25 == 1:  # the whole path, with its message, for some
            with pytest.raises(ValueError, match="not a linkcheck report of schema version 1"):
                validate_report(mutant)
    assert tried > 1000 and invalid > 500, (tried, invalid)


def test_a_valid_report_is_read_without_the_slow_validator(tmp_path: Path) -> None:
    _real_report(tmp_path).save(tmp_path / "saved.json")
    code = (
        "import sys; from pathlib import Path; "
        "from linkcheck.report.document import SavedReport; "
        f"SavedReport.load(Path({str(tmp_path / 'saved.json')!r})); "
        "print('jsonschema' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False", "the jsonschema package is for invalid reports only"


class _Plain:
    """A view with only header and seeds: the JSON format must encode each seed itself."""

    def __init__(self, view: ReportView) -> None:
        self.view = view

    def header(self) -> dict[str, Any]:
        return self.view.header()

    def seeds(self) -> Iterator[dict[str, Any]]:
        return self.view.seeds()


@pytest.mark.parametrize("base", [".", "seeds", "elsewhere"])
def test_json_copying_a_runs_seed_texts_equals_encoding_them_with_paths_rebased(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, base: str
) -> None:
    monkeypatch.chdir(tmp_path)
    view = RebasedView(_real_report(tmp_path), str(tmp_path / base))
    copied = render("json", view)
    assert copied == render("json", _Plain(view))
    paths = [seed["path"] for seed in json.loads(copied)["seeds"]]
    shown = {".": STORY, "seeds": "good story.txt", "elsewhere": STORY}[base]
    assert paths[0] == shown


def test_json_of_any_view_is_its_header_plus_its_seeds() -> None:
    assert json.loads(render("json")) == {**HEADER, "seeds": SEEDS}


# --- markdown ---------------------------------------------------------------------------


def _outside_code_spans(line: str) -> str:
    return re.sub(r"(?<!`)(`+)(?!`).*?(?<!`)\1(?!`)", "", line)


def test_markdown_table_rows_keep_six_cells_and_no_raw_html() -> None:
    lines = render("markdown").splitlines()
    start = lines.index("| location | field | URL | verdict | reason | message |")
    rows = lines[start + 2 :]
    assert len(rows) == 4 + 2 + 2  # failures and warnings of each seed, then the seed errors
    for row in rows:
        assert len(re.findall(r"(?<!\\)\|", row)) == 7, row
        assert not re.search(r"(?<!\\)<", _outside_code_spans(row)), row
    assert "\\<script\\>alert(1)\\</script\\>" in "\n".join(rows)


def test_markdown_says_no_problems_found_when_there_are_none() -> None:
    clean = View(HEADER, [{**SEEDS[2], "valid": True, "errors": []}])
    text = render("markdown", clean)
    assert text.endswith("\nNo problems found.\n")
    assert "| location |" not in text


# --- junit ------------------------------------------------------------------------------


def test_junit_is_valid_against_the_junit_xsd() -> None:
    schema = etree.XMLSchema(etree.parse(str(SCHEMAS / "junit-10.xsd")))
    document = etree.fromstring(render("junit").encode("utf-8"))
    assert schema.validate(document), schema.error_log


def test_junit_counts_each_suite_and_the_whole_run() -> None:
    root = ET.fromstring(render("junit"))
    assert (root.tag, root.get("tests"), root.get("failures"), root.get("errors")) == (
        "testsuites",
        "11",
        "7",
        "0",
    )
    suites = {suite.get("name"): suite for suite in root.iter("testsuite")}
    assert list(suites) == [STORY, EVIL, BROKEN]
    story = suites[STORY]
    assert [story.get(key) for key in ("tests", "failures", "skipped", "errors")] == [
        "6",
        "3",
        "1",
        "0",
    ]
    broken = [case for case in suites[BROKEN].iter("testcase") if case.get("name") == "seed"]
    assert [case.find("failure").get("type") for case in broken] == [  # type: ignore[union-attr]
        "invalid_yaml",
        "missing_field",
    ]
    warning = story.find("testcase[@name='related[0].webUrl https://other.test/x']")
    assert warning is not None and warning.find("system-out") is not None


def test_junit_shows_characters_xml_cannot_hold_escaped() -> None:
    check = {**SEEDS[2]["checks"][0], "verdict": "failed", "message": "bell \x07 nul \x00"}
    text = render("junit", View(HEADER, [{**SEEDS[2], "checks": [check]}]))
    failure = ET.fromstring(text).find(".//failure[@type='ok']")
    assert failure is not None and failure.get("message") == "bell \\x07 nul \\x00"


# --- sarif ------------------------------------------------------------------------------


def _sarif_validator() -> jsonschema.Draft7Validator:
    schema = json.loads((SCHEMAS / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    return jsonschema.Draft7Validator(
        schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER
    )


def test_sarif_is_valid_against_the_sarif_2_1_0_schema() -> None:
    log = json.loads(render("sarif"))
    _sarif_validator().validate(log)
    assert log["version"] == "2.1.0"
    driver = log["runs"][0]["tool"]["driver"]
    assert (driver["name"], driver["version"]) == ("linkcheck", "9.9.9")


def test_sarif_has_one_rule_per_reason_and_a_located_result_per_problem() -> None:
    [run] = json.loads(render("sarif"))["runs"]
    rules = {
        rule["id"]: rule["shortDescription"]["text"] for rule in run["tool"]["driver"]["rules"]
    }
    assert rules == {
        reason: Reason(reason).explanation
        for reason in (
            "blocked",
            "http_status",
            "invalid_yaml",
            "missing_field",
            "not_image",
            "size_mismatch",
            "unsafe_url",
        )
    }
    results = run["results"]
    assert [(r["ruleId"], r["level"]) for r in results] == [
        ("http_status", "error"),
        ("size_mismatch", "error"),
        ("not_image", "error"),
        ("blocked", "warning"),
        ("http_status", "error"),
        ("unsafe_url", "error"),
        ("invalid_yaml", "error"),
        ("missing_field", "error"),
    ]
    first = results[0]
    assert first["message"]["text"] == "http://news.test/story?amp=1: the server answered HTTP 404"
    assert first["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "seeds/good%20story.txt", "uriBaseId": "SRCROOT"},
        "region": {"startLine": 8},
    }
    assert "region" not in results[-1]["locations"][0]["physicalLocation"]


def test_sarif_explains_an_unknown_reason_by_its_name() -> None:
    check = {**SEEDS[2]["checks"][0], "verdict": "failed", "reason": "from_the_future"}
    seed = {**SEEDS[2], "errors": [], "checks": [check]}
    log = json.loads(render("sarif", View(HEADER, [seed])))
    _sarif_validator().validate(log)
    [rule] = log["runs"][0]["tool"]["driver"]["rules"]
    assert rule == {"id": "from_the_future", "shortDescription": {"text": "from_the_future"}}


# --- github -----------------------------------------------------------------------------


def test_github_annotations_cannot_be_broken_by_seed_text() -> None:
    lines = render("github").splitlines()
    assert len(lines) == 8
    assert all(re.match(r"::(error|warning) file=[^:]*::", line) for line in lines)
    assert lines[-1] == (  # errors come first, then warnings
        "::warning file=seeds/good story.txt,line=33,title=blocked::related[0].webUrl "
        "https://other.test/x: a bot challenge | 100%25 sure,%0Asecond line: `cf`"
    )
    assert lines[-2].startswith("::error file=seeds/broken%2C old.txt,title=missing_field::")


# --- csv --------------------------------------------------------------------------------


def test_csv_defuses_formulas_and_lists_seed_errors_as_rows() -> None:
    rows = list(csv.DictReader(io.StringIO(render("csv"))))
    assert len(rows) == 9 + 2
    unsafe = next(row for row in rows if row["reason"] == "unsafe_url")
    assert unsafe["message"] == "'" + FORMULA
    assert not any(
        value.startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows for value in row.values()
    )
    errors = [row for row in rows if row["field"] == "seed"]
    assert [(row["path"], row["line"], row["reason"]) for row in errors] == [
        (BROKEN, "4", "invalid_yaml"),
        (BROKEN, "", "missing_field"),
    ]
    mismatch = next(row for row in rows if row["reason"] == "size_mismatch")
    assert [mismatch[key] for key in ("width", "height", "claimed_width", "claimed_height")] == [
        "1200",
        "800",
        "1200",
        "400",
    ]


# --- html -------------------------------------------------------------------------------


class _Elements(HTMLParser):
    """Every start tag with its attributes, and the text of every <script>."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)


def _parse(text: str) -> _Elements:
    parser = _Elements()
    parser.feed(text)
    parser.close()
    return parser


def test_html_shows_injected_script_only_escaped() -> None:
    text = render("html")
    assert SCRIPT not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    elements = _parse(text)
    assert [tag for tag, _ in elements.tags].count("script") == 1
    assert not any(
        (value or "").lower().startswith("javascript:")
        for _, attrs in elements.tags
        for value in attrs.values()
    )


def test_html_has_a_filterable_row_for_every_check() -> None:
    elements = _parse(render("html"))
    rows = [
        attrs
        for tag, attrs in elements.tags
        if tag == "tr" and "check" in (attrs.get("class") or "")
    ]
    expected = [(seed["path"], check) for seed in SEEDS for check in seed["checks"]]
    urgency = ("failed", "warning", "skipped", "ok")
    expected.sort(key=lambda pair: urgency.index(pair[1]["verdict"]))  # failures first
    assert len(rows) == len(expected)
    for attrs, (path, check) in zip(rows, expected, strict=True):
        assert attrs["data-verdict"] == check["verdict"]
        assert attrs["data-kind"] == check["kind"]
        assert attrs["data-seed"] == path
        assert "data-host" in attrs
    assert rows[0]["data-host"] == "news.test"
    ids = {attrs.get("id") for _, attrs in elements.tags}
    assert {"filter-verdict", "filter-kind", "filter-host", "filter-seed", "search"} <= ids
    assert "shown-count" in ids


def test_html_is_self_contained() -> None:
    text = render("html")
    elements = _parse(text)
    assert not any(tag in ("link", "iframe", "object", "embed") for tag, _ in elements.tags)
    assert not any(tag == "script" and "src" in attrs for tag, attrs in elements.tags)
    assert "@import" not in text and "url(" not in text
    external = [
        (tag, attrs)
        for tag, attrs in elements.tags
        if any(re.match(r"\s*(https?:)?//", value or "") for value in attrs.values())
    ]
    assert all(tag in ("a", "img") for tag, _ in external)


def test_html_policy_allows_exactly_its_own_script() -> None:
    elements = _parse(render("html"))
    [policy] = [
        a["content"] for t, a in elements.tags if a.get("http-equiv") == "Content-Security-Policy"
    ]
    digest = base64.b64encode(hashlib.sha256("".join(elements.scripts).encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in (policy or "")


def test_html_image_cards_show_claimed_and_actual_sizes_and_the_image() -> None:
    text = render("html")
    cards = re.findall(r'<figure class="card.*?</figure>', text, re.S)
    assert len(cards) == 4
    mismatch = next(card for card in cards if "size_mismatch" in card)
    assert '<td class="claimed-size">1200 &times; 400</td>' in mismatch
    assert '<td class="actual-size">1200 &times; 800</td>' in mismatch
    assert '<img loading="lazy" src="https://img.test/a.jpg"' in mismatch
    assert re.search(r'class="box actual" style="width:160px;height:107px"', mismatch)
    assert re.search(r'class="box claimed" style="width:160px;height:53px"', mismatch)
    unsafe = next(card for card in cards if "unsafe_url" in card)
    assert "<img" not in unsafe


# --- hostile seed and server text -------------------------------------------------------

ANSI = "\x1b[2J\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\\x1b]0;pwned\x07"
COMMANDS = "\n::add-mask::secret\r::error::x%0A::warning::y ##[add-mask]legacy"
#: \udcff stands for a file name byte that is not UTF-8.
HOSTILE_PATH = f"::error::lead{COMMANDS}{ANSI}\u202eevil\x9b2J\udcff.txt"
REFUSED_IMAGE = "http://169.254.169.254/latest/meta-data/"
ROUTER = "http://router.test/cgi-bin/reboot"
OK_IMAGE = "https://img.test/ok.png"
HOSTILE: list[dict[str, Any]] = [
    {
        "path": HOSTILE_PATH,
        "title": f"{ANSI} [bold red]markup[/] {COMMANDS}",
        "valid": False,
        "errors": [{"reason": "bad_value", "message": f"bad{COMMANDS}\x9b2J", "line": 3}],
        "checks": [
            _check(
                f"webUrl{COMMANDS}",
                4,
                f"https://evil.test/{ANSI}",
                "page",
                verdict="failed",
                reason="http_status",
                message=f"the server answered HTTP 500: [link=http://evil]x[/link]{COMMANDS}",
                http_status=500,
                final_url=f"https://evil.test/final{COMMANDS}",
                redirects=[{"url": f"https://evil.test/{ANSI}", "status": 302}],
            ),
            _check(
                "images[0].url",
                5,
                REFUSED_IMAGE,
                "image",
                verdict="failed",
                reason="unsafe_url",
                message="169.254.169.254 is a link-local address",
                http_status=None,
                final_url=None,
                image=_image(claimed_width=10, claimed_height=10),
            ),
            _check(
                "images[1].url",
                6,
                ROUTER,
                "image",
                verdict="failed",
                reason="not_image",
                message=f"the body is not an image (text/html{ANSI})",
                image=_image(content_type=f"text/html{ANSI}"),
            ),
            _check(
                "images[2].url",
                7,
                "https://excluded.test/a.png",
                "image",
                verdict="skipped",
                reason="excluded",
                http_status=None,
                image=_image(),
            ),
            _check(
                "images[3].url",
                8,
                OK_IMAGE,
                "image",
                image=_image(format="png", width=10, height=10, claimed_width=10),
            ),
        ],
    }
]
#: What must never reach a terminal or a log: C0 controls but LF, DEL, C1, bidi overrides.
ACTIVE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029]")
OUR_COMMAND = re.compile(r"::(error|warning) file=[^:,]*(,line=\d+)?,title=[a-z_]+::")


def render_hostile(name: str) -> str:
    if name == "terminal":
        stream = io.StringIO()
        TerminalFormat(verbosity=1).render(View(HEADER, HOSTILE), stream)
        return stream.getvalue()
    return render(name, View(HEADER, HOSTILE))


@pytest.mark.parametrize("name", [*sorted(FORMATS), "terminal"])
def test_no_format_lets_seed_text_control_a_terminal_or_a_ci_log(name: str) -> None:
    text = render_hostile(name)
    text.encode("utf-8")  # a file name that is not UTF-8 can still be written out
    assert not ACTIVE.search(text), ACTIVE.findall(text)
    assert "##[" not in text
    for line in re.split(r"\r\n|\r|\n", text):
        if line.lstrip().startswith("::"):
            assert name == "github" and OUR_COMMAND.match(line), line
    assert "add-mask" in text, "the hostile text is shown, not dropped"


def test_terminal_shows_control_characters_escaped_and_markup_as_text() -> None:
    text = render_hostile("terminal")
    assert "\\x1b[2J" in text and "\\x1b]0;pwned\\x07" in text
    assert "\\n::add-mask::secret\\r::error::x" in text
    assert "[link=http://evil]x[/link]" in text
    assert "\\x3a:error::lead" in text, "a path that starts with :: cannot start a line with it"
    assert "#\\x23[add-mask]legacy" in text


def test_github_annotations_keep_one_command_per_problem_whatever_the_seed_says() -> None:
    lines = render_hostile("github").splitlines()
    assert len(lines) == 4  # the seed error, the page, the refused and the router image
    assert all(OUR_COMMAND.match(line) for line in lines), lines
    assert lines[0].startswith("::error file=%3A%3Aerror%3A%3Alead%0A%3A%3Aadd-mask%3A%3Asecret%0D")
    assert "x%250A%3A%3Awarning" in lines[0], "a literal %0A in a name stays literal"
    assert "\\x1b[2J" in lines[0] and "\\u202eevil\\x9b2J\\udcff.txt" in lines[0]
    assert "[link=http://evil]x[/link]%0A::add-mask::secret%0D::error::x" in lines[1]
    assert "169.254.169.254" in lines[2] and "cgi-bin/reboot" in lines[3]


def test_markdown_cells_show_control_characters_escaped() -> None:
    text = render_hostile("markdown")
    assert "\\x1b\\[2J" in text, "escaped, with the bracket escaped as markup"
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert len(rows) == 4
    assert all(len(re.findall(r"(?<!\\)\|", row)) == 7 for row in rows), rows


def test_csv_keeps_one_row_per_line_and_shows_control_characters_escaped() -> None:
    text = render_hostile("csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(text.splitlines()) == len(rows) + 1 == 1 + 1 + 5
    assert rows[0]["path"].startswith("\\x3a:error::lead\\n::add-mask::secret\\r")
    assert rows[1]["final_url"] == "https://evil.test/final\\n::add-mask::secret\\r" + (
        "::error::x%0A::warning::y #\\x23[add-mask]legacy"
    )


def test_json_keeps_every_character_but_escapes_the_active_ones() -> None:
    text = render("json", View(HEADER, HOSTILE))
    assert json.loads(text) == {**HEADER, "seeds": HOSTILE}
    assert "\\u001b[2J" in text and "\\u009b2J" in text and "\\u202eevil" in text
    assert "##\\u005badd-mask]" in text


def test_sarif_with_hostile_text_is_still_valid() -> None:
    log = json.loads(render_hostile("sarif"))
    _sarif_validator().validate(log)
    assert [result["ruleId"] for result in log["runs"][0]["results"]] == [
        "bad_value",
        "http_status",
        "unsafe_url",
        "not_image",
    ]


def test_junit_with_hostile_text_is_valid_xml() -> None:
    schema = etree.XMLSchema(etree.parse(str(SCHEMAS / "junit-10.xsd")))
    document = etree.fromstring(render_hostile("junit").encode("utf-8"))
    assert schema.validate(document), schema.error_log


def test_html_loads_only_images_that_were_fetched_and_served_an_image() -> None:
    elements = _parse(render_hostile("html"))
    images = [attrs.get("src") for tag, attrs in elements.tags if tag == "img"]
    assert images == [OK_IMAGE]
    links = [attrs for tag, attrs in elements.tags if tag == "a"]
    assert all(attrs.get("rel") == "noopener noreferrer" for attrs in links)
    hrefs = {attrs.get("href") for attrs in links}
    assert REFUSED_IMAGE not in hrefs, "a refused URL is shown as text, not a link"
    assert ROUTER in hrefs and OK_IMAGE in hrefs
    assert not any("\\" in (href or "") for href in hrefs), "escaped URLs are not links"
    loads = [
        (tag, attrs)
        for tag, attrs in elements.tags
        if tag != "a" and any(re.match(r"\s*(https?:)?//", v or "") for v in attrs.values())
    ]
    assert loads == [("img", {"loading": "lazy", "src": OK_IMAGE, "alt": "images[3].url",
                              "referrerpolicy": "no-referrer"})]  # fmt: skip
    assert ("meta", {"http-equiv": "x-dns-prefetch-control", "content": "off"}) in elements.tags


def test_html_shows_no_image_whose_check_did_not_get_one() -> None:
    text = render("html")
    cards = re.findall(r'<figure class="card.*?</figure>', text, re.S)
    not_image = next(card for card in cards if "not_image" in card)
    assert "<img" not in not_image and "no image was served" in not_image
