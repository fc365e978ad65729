"""--baseline: problems already known do not fail the run; new ones do; fixed ones are resolved."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from linkcheck.cli import main
from linkcheck.report.document import SCHEMA_PATH
from tests.conftest import picture, write_seed
from tests.server import LoopbackServer

LOCAL = ["--allow-network", "127.0.0.0/8", "--retries", "0", "--no-recheck"]


@pytest.fixture
def site(tmp_path: Path, server: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Seed a.txt with a broken page and a good image; seed b.txt healthy; cwd is tmp_path."""
    image = server.image("/img.jpg", picture(20, 10), ranges=True)
    (tmp_path / "seeds").mkdir()
    write_seed(
        tmp_path / "seeds",
        "a.txt",
        f'webUrl: "{server.url("/broken")}"\nimages:\n  - url: "{image}"\n    width: 20'
        "\n    height: 10",
    )
    write_seed(tmp_path / "seeds", "b.txt", f'webUrl: "{server.page("/fine")}"')
    monkeypatch.chdir(tmp_path)
    return tmp_path


def check(*extra: str) -> int:
    return main(["check", "seeds", *LOCAL, "-q", *extra])


def report(path: str = "new.json") -> dict[str, Any]:
    data: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
    return data


def checks_of(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {check["url"].rsplit("/", 1)[-1]: check for s in data["seeds"] for check in s["checks"]}


def test_known_failures_keep_exit_0_and_a_new_failure_exits_1(
    site: Path, server: LoopbackServer
) -> None:
    assert check("-o", "old.json") == 1, "the 404 fails a run without a baseline"
    assert check("-o", "new.json", "--baseline", "old.json") == 0
    data = report()
    broken = checks_of(data)["broken"]
    assert (broken["verdict"], broken["baseline"]) == ("failed", "known")
    assert "baseline" not in checks_of(data)["fine"], "only problems are new or known"
    assert data["summary"]["baseline"]["known"] == 1
    assert data["summary"]["baseline"]["new"] == 0
    server.add("/fine", lambda handler: handler.send_error(410))
    assert check("-o", "new.json", "--baseline", "old.json") == 1
    data = report()
    assert checks_of(data)["fine"]["baseline"] == "new"
    assert data["summary"]["baseline"]["new"] == 1
    jsonschema.validate(data, json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))
    assert main(["report", "new.json", "-q"]) == 1, "report exits as check did"
    assert main(["report", "old.json", "-q"]) == 1


def test_a_problem_that_got_worse_is_new(site: Path) -> None:
    write_seed(
        site / "seeds",
        "a.txt",
        'webUrl: "http://127.0.0.1:9/x"\nimages:\n  - url: "not a url"\n    width: 20',
    )
    assert check("-o", "old.json", "--fail-on", "warning") == 1
    old = report("old.json")
    old_problem = checks_of(old)["x"]
    old_problem["verdict"] = "warning"  # the same reason, but it only warned then
    Path("old.json").write_text(json.dumps(old), encoding="utf-8")
    assert check("-o", "new.json", "--baseline", "old.json") == 1
    assert checks_of(report())["x"]["baseline"] == "new"


def test_a_known_invalid_seed_does_not_fail_the_run(site: Path) -> None:
    (site / "seeds" / "c.txt").write_text("no front matter\n", encoding="utf-8")
    (site / "seeds" / "a.txt").unlink()
    assert check("-o", "old.json") == 1
    assert check("-o", "new.json", "--baseline", "old.json") == 0
    errors = [e for s in report()["seeds"] for e in s["errors"]]
    assert [e["baseline"] for e in errors] == ["known"]


def test_formats_mark_known_new_and_resolved_problems(
    site: Path, server: LoopbackServer, capsys: pytest.CaptureFixture[str]
) -> None:
    server.add("/fine", lambda handler: handler.send_error(500))
    assert check("-o", "old.json") == 1
    server.page("/fine")  # fixed
    server.add("/img.jpg", lambda handler: handler.send_error(404))  # newly broken
    argv = ["check", "seeds", *LOCAL, "-o", "new.json", "--baseline", "old.json"]
    argv += ["--format", "sarif:r.sarif", "--format", "markdown:r.md", "--format", "github:r.txt"]
    assert main(argv) == 1
    results = json.loads(Path("r.sarif").read_text(encoding="utf-8"))["runs"][0]["results"]
    states = {r["properties"]["url"].rsplit("/", 1)[1]: r["baselineState"] for r in results}
    assert states == {"broken": "unchanged", "img.jpg": "new", "fine": "absent"}
    markdown = Path("r.md").read_text(encoding="utf-8")
    assert "Against the baseline: 1 new, 1 known (not failing the run), 1 resolved." in markdown
    resolved = markdown.split("### Resolved since the baseline", 1)[1]
    assert "/fine" in resolved and "/broken" not in resolved
    assert "failed (known)" in markdown
    github = Path("r.txt").read_text(encoding="utf-8").splitlines()
    assert [line.split(" ", 1)[0] for line in github if "/broken" in line] == ["::notice"]
    assert [line.split(" ", 1)[0] for line in github if "img.jpg" in line] == ["::error"]
    assert report()["summary"]["baseline"]["resolved"][0]["url"].endswith("/fine")
    out = capsys.readouterr().out
    assert "baseline: 1 new, 1 known (not failing the run), 1 resolved" in out
    assert "/broken (known from the baseline; the server answered HTTP 404)" in out


def test_resolved_problems_count_only_seeds_this_run_checked(
    site: Path, server: LoopbackServer
) -> None:
    assert check("-o", "old.json") == 1
    Path("list.txt").write_text("seeds/b.txt\n", encoding="utf-8")
    assert check("-o", "new.json", "--baseline", "old.json", "--files-from", "list.txt") == 0
    assert report()["summary"]["baseline"]["resolved"] == []


def test_writing_the_new_report_over_the_baseline_is_allowed(site: Path) -> None:
    assert check("-o", "r.json") == 1
    assert check("-o", "r.json", "--baseline", "r.json") == 0
    assert report("r.json")["summary"]["baseline"]["known"] == 1


@pytest.mark.parametrize(
    ("content", "words"),
    [(None, "No such file"), ("{}", "not a linkcheck report"), ("[", "not JSON")],
)
def test_an_unreadable_baseline_exits_2_before_any_request(
    site: Path,
    server: LoopbackServer,
    capsys: pytest.CaptureFixture[str],
    content: str | None,
    words: str,
) -> None:
    if content is not None:
        Path("old.json").write_text(content, encoding="utf-8")
    assert check("-o", "new.json", "--baseline", "old.json") == 2
    err = capsys.readouterr().err
    assert words in err and "--baseline old.json" in err
    assert len(err.strip().splitlines()) == 1
    assert server.hits == []
