"""Seed lint: findings without the network, in ``lint``, in ``check`` and in every format."""

from __future__ import annotations

import io
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from linkcheck.model.config import Config
from linkcheck.model.reasons import Reason
from linkcheck.report.document import SavedReport
from linkcheck.report.formats import FORMATS, get_format
from linkcheck.seeds import nodes
from linkcheck.seeds.lint import domain_matches, lint_front_matter, repair_mojibake
from linkcheck.seeds.reader import parse_seed, read_seed
from tests.conftest import Invoke, local_config, picture, write_seed
from tests.server import LoopbackServer

ROOT = Path(__file__).resolve().parent.parent
REAL_SEEDS = ROOT / "tests" / "data" / "real_seeds"
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def findings(front_matter: str, now: datetime = NOW) -> list[tuple[str, str, int | None]]:
    """(reason, field, line) of each lint finding of a seed with this front matter."""
    root = yaml.compose(nodes.stash(front_matter), Loader=nodes.LazyLoader)
    assert isinstance(root, yaml.MappingNode)
    return [(w.reason.value, w.field, w.line) for w in lint_front_matter(root, 2, now)]


#: Lint reads front matter only: these reserved example hosts are never requested.
ARTICLE = """\
title: "A story"
webUrl: "https://www.example.co.uk/news/1"
provider:
  name: Example News
  domain: example.co.uk
publishedDateTime: 2025-12-01T10:00:00Z
images:
  - url: "https://img.example.co.uk/1.jpg"
    width: 640
    height: 360
"""


# -- the rules -------------------------------------------------------------------------


def test_a_clean_article_has_no_findings() -> None:
    assert findings(ARTICLE) == []


def test_bundled_real_seed_mojibake_is_reported_with_line_and_repaired_text(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    code, out, err = invoke("lint", "seeds/")
    line = next(text for text in out.splitlines() if "mojibake" in text)
    assert line.startswith("warning seeds/000_76a9d421e72e2179.txt:4 excerpt mojibake")
    assert "'New Â£3mn" in line and "repaired: 'New £3mn retrospective" in line
    assert code == 0, "warnings alone pass lint"
    assert "problems (0 errors," in err
    assert invoke("lint", "seeds/", "--fail-on", "warning")[0] == 1


def test_mojibake_in_title_excerpt_and_provider_name_is_found_with_the_repair() -> None:
    text = ARTICLE.replace('"A story"', '"The â€œbestâ€\x9d story"').replace(
        "name: Example News", "name: CafÃ© News"
    )
    text += 'excerpt: "Itâ€™s here"\n'
    assert findings(text) == [
        ("mojibake", "title", 2),
        ("mojibake", "provider.name", 5),
        ("mojibake", "excerpt", 12),
    ]
    seed = parse_seed("s.txt", f"---\n{text}---\n".encode(), Config())
    repaired = {w.field: w.replacement for w in seed.warnings}
    assert repaired == {
        "title": "The “best” story",
        "provider.name": "Café News",
        "excerpt": "It\u2019s here",
    }
    assert "repaired: 'The “best” story'" in seed.warnings[0].message


def test_correct_non_ascii_text_is_not_mojibake() -> None:
    for text in (
        "Städte testen autonome Busse",
        "东京の“ニュース”",
        "naïve café — €5",
        "São Paulo",
        "Ωμέγα",
    ):
        assert repair_mojibake(text) is None, text


@pytest.mark.parametrize(
    ("written", "reason"),
    [
        ("yesterday", "bad_date"),
        ("2021-02-29T10:00:00Z", "bad_date"),
        ('"2021-13-01"', "bad_date"),
        ("1634000000", "bad_date"),
        ("2026-03-01T00:00:00Z", "future_date"),
        ('"2026-01-17T00:00:00+00:00"', "future_date"),
    ],
)
def test_a_published_date_that_does_not_parse_or_lies_ahead_is_a_warning(
    written: str, reason: str
) -> None:
    text = ARTICLE.replace("2025-12-01T10:00:00Z", written)
    assert findings(text) == [(reason, "publishedDateTime", 7)]


@pytest.mark.parametrize(
    "written", ["2026-01-15T20:00:00+09:00", "2026-01-16", '"2026-01-16T08:00:00"', "null"]
)
def test_dates_within_a_day_ahead_dates_only_and_no_date_pass(written: str) -> None:
    assert findings(ARTICLE.replace("2025-12-01T10:00:00Z", written)) == []


@pytest.mark.parametrize(
    ("domain", "host", "matches"),
    [
        ("bbc.co.uk", "www.bbc.co.uk", True),
        ("news.bbc.co.uk", "www.bbc.co.uk", True),
        ("blogspot.com", "someone.blogspot.com", True),
        ("someone.github.io", "other.github.io", False),
        ("co.uk", "www.bbc.co.uk", False),
        ("cnn.com", "www.sciencenews.org", False),
    ],
)
def test_provider_domain_matches_by_registrable_domain(
    domain: str, host: str, matches: bool
) -> None:
    assert domain_matches(domain, host) is matches


def test_provider_domain_of_another_site_is_a_warning_and_idn_is_compared_as_punycode() -> None:
    other = ARTICLE.replace("domain: example.co.uk", "domain: example.com")
    assert findings(other) == [("provider_mismatch", "provider.domain", 6)]
    idn = ARTICLE.replace("www.example.co.uk", "www.bücher.de").replace(
        "domain: example.co.uk", "domain: XN--BCHER-KVA.de"
    )
    assert findings(idn) == []


def test_related_entry_repeating_the_articles_url_is_a_warning() -> None:
    text = (
        ARTICLE
        + "related:\n"
        + '  - webUrl: "https://WWW.example.co.uk/news/1#top"\n'
        + '  - webUrl: "https://www.example.co.uk/news/2"\n'
    )
    assert findings(text) == [("related_is_article", "related[0].webUrl", 13)]


def test_an_image_listed_twice_and_images_without_size_are_warnings() -> None:
    text = ARTICLE + (
        '  - url: "https://img.example.co.uk/1.jpg"\n'
        "    width: 640\n"
        "    height: 360\n"
        '  - url: "https://img.example.co.uk/2.jpg"\n'
        "    width: 10\n"
        '  - url: "https://img.example.co.uk/3.jpg"\n'
    )
    assert findings(text) == [
        ("duplicate_image", "images[1].url", 12),
        ("no_image_size", "images[2].height", 15),
        ("no_image_size", "images[3]", 17),
    ]


def test_related_entries_are_linted_with_their_own_field_paths() -> None:
    text = ARTICLE + (
        "related:\n"
        '  - title: "SÃ£o Paulo"\n'
        '    webUrl: "https://other.test/a"\n'
        "    publishedDateTime: soon\n"
        "    images:\n"
        '      - url: "https://other.test/a.jpg"\n'
    )
    assert findings(text) == [
        ("mojibake", "related[0].title", 13),
        ("bad_date", "related[0].publishedDateTime", 15),
        ("no_image_size", "related[0].images[0]", 17),
    ]


def test_real_seeds_raise_only_the_provider_mismatches_they_really_have() -> None:
    found = {
        (path.name[:24], w.field, w.reason.value)
        for path in sorted(REAL_SEEDS.iterdir())
        for w in read_seed(path, Config()).warnings
    }
    # Each names a provider whose site is not the webUrl's: pwc.com under Becker's,
    # businessinsider.com under TechRepublic, sciencenews.org under CNN.
    assert found == {
        ("2014-10-20-beckers-healt", "provider.domain", "provider_mismatch"),
        ("2017-02-11-saffron-techn", "provider.domain", "provider_mismatch"),
        ("2019-10-19-to-antarctica", "provider.domain", "provider_mismatch"),
    }


def test_a_broken_seed_still_reads_and_lint_never_costs_the_seed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def explode(*args: object) -> None:
        raise RuntimeError("lint bug")

    monkeypatch.setattr("linkcheck.seeds.reader.lint_front_matter", explode)
    seed = parse_seed("s.txt", f"---\n{ARTICLE}---\n".encode(), Config())
    assert seed.valid and seed.warnings == () and len(seed.targets) == 2


# -- check, the report and the formats ----------------------------------------------------


def test_check_reports_lint_warnings_and_fails_on_them_only_with_fail_on_warning(
    tmp_path: Path, invoke: Invoke, server: LoopbackServer
) -> None:
    page = server.page("/story")
    image = server.image("/a.jpg", picture(40, 30))
    write_seed(
        tmp_path,
        "s.txt",
        f'title: "CafÃ©"\nwebUrl: "{page}"\nimages:\n  - url: "{image}"\n    width: 40\n',
    )
    report = tmp_path / "r.json"
    common = ("check", str(tmp_path), "-o", str(report), "--allow-network", "127.0.0.0/8")
    code, out, _ = invoke(*common)
    assert code == 0
    assert "warning " in out and ":2 title mojibake" in out and ":5 images[0].height" in out
    saved = SavedReport.load(report)
    assert saved.data["summary"]["seed_warnings"] == 2
    seed = next(saved.seeds())
    assert [w["reason"] for w in seed["warnings"]] == ["mojibake", "no_image_size"]
    assert seed["warnings"][0]["replacement"] == "Café"
    assert len(seed["sha256"]) == 64
    assert invoke(*common, "--fail-on", "warning")[0] == 1
    assert invoke("report", str(report), "--fail-on", "warning")[0] == 1
    assert invoke("report", str(report))[0] == 0


def _warned_seed() -> dict[str, Any]:
    return {
        "path": "seeds/a.txt",
        "title": "T",
        "valid": True,
        "errors": [],
        "checks": [],
        "warnings": [
            {
                "reason": "mojibake",
                "field": "related[0].excerpt",
                "message": "related[0].excerpt reads 'Â£'; repaired: '£'",
                "line": 31,
                "replacement": "£",
            }
        ],
    }


class _View:
    def header(self) -> dict[str, Any]:
        return {
            "tool": {"name": "linkcheck", "version": "1"},
            "duration_s": 0.1,
            "summary": {"seeds": 1, "invalid_seeds": 0, "seed_warnings": 1},
        }

    def seeds(self) -> Any:
        yield _warned_seed()


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_every_format_shows_a_lint_warning_with_its_field_and_line(name: str) -> None:
    stream = io.StringIO()
    get_format(name).render(_View(), stream)
    text = stream.getvalue()
    assert "mojibake" in text
    if name != "codequality":  # GitLab's issues carry the line apart from the description
        assert "related[0].excerpt" in text
    if name in ("markdown", "github", "html", "junit"):
        assert "seeds/a.txt:31" in text or "line=31" in text
    if name in ("sarif", "codequality"):
        assert '"startLine": 31' in text or '"begin": 31' in text
    if name == "json":  # seed lines are compact
        assert '"line":31' in text
    if name == "csv":
        assert "seeds/a.txt,31,related[0].excerpt" in text


def test_a_report_with_lint_warnings_is_valid_against_the_schema(tmp_path: Path) -> None:
    config = local_config(tmp_path, ROOT / "seeds" / "000_76a9d421e72e2179.txt")
    seed = read_seed(config.paths[0], config)
    from linkcheck.model.records import SeedResult
    from linkcheck.report.document import seed_to_dict

    shown = seed_to_dict(SeedResult.of(seed, ()))
    header = {
        "schema_version": 1,
        "tool": {"name": "linkcheck", "version": "1"},
        "started_at": "2026-01-01T00:00:00.000Z",
        "finished_at": "2026-01-01T00:00:01.000Z",
        "duration_s": 1.0,
        "summary": {
            **dict.fromkeys(("seeds", "urls", "checks", "requests", "bytes_downloaded"), 0),
            **dict.fromkeys(("invalid_seeds", "ok", "warning", "failed", "skipped"), 0),
            "seed_warnings": 1,
        },
        "seeds": [shown],
    }
    path = tmp_path / "r.json"
    path.write_text(json.dumps(header), encoding="utf-8")
    assert SavedReport.load(path).data["seeds"][0]["warnings"][0]["reason"] == "mojibake"
    assert {reason.value for reason in Reason} >= {"mojibake", "no_image_size"}


def test_lint_of_a_copied_seed_folder_sends_nothing(
    tmp_path: Path, invoke: Invoke, server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(REAL_SEEDS, tmp_path / "seeds")
    monkeypatch.chdir(tmp_path)
    code, out, err = invoke("lint", "seeds")
    assert code == 0 and out.count("provider_mismatch") == 3
    assert "28 seed files read, 3 problems (0 errors, 3 warnings)" in err
    assert server.hits == []
