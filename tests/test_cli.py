"""The command line as CI and people use it: formats, saved reports, config files, progress."""

from __future__ import annotations

import asyncio.sslproto
import gc
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from lxml import etree

from linkcheck.cli import app, outputs
from linkcheck.engine import memory
from linkcheck.report.document import SavedReport, Summary
from linkcheck.report.formats import get_format
from linkcheck.report.progress import LineProgress
from tests.conftest import picture, write_seed
from tests.server import LoopbackServer

SCHEMAS = Path(__file__).parent / "schemas"


def linkcheck(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    return subprocess.run(
        [sys.executable, "-m", "linkcheck", *args],
        cwd=cwd, capture_output=True, text=True, timeout=60,
        env={**base, "NO_COLOR": "1", **(env or {})},
    )  # fmt: skip


@pytest.fixture
def site(tmp_path: Path, server: LoopbackServer) -> Path:
    """Two seeds on the loopback server: one healthy, one with a 404 and a wrong image size."""
    good = server.image("/good.jpg", picture(40, 30), ranges=True)
    bad = server.image("/bad.png", picture(40, 30, "PNG"), "image/png", ranges=True)
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    write_seed(
        seeds,
        "a.txt",
        f"""
title: "All fine"
webUrl: "{server.page("/a")}"
images:
  - url: "{good}"
    width: 40
    height: 30
    isCached: true
""",
    )
    write_seed(
        seeds,
        "b.txt",
        f"""
title: "<script>document.documentElement.dataset.pwned = 'yes'</script>"
webUrl: "{server.url("/gone")}"
images:
  - url: "{bad}"
    width: 80
    height: 60
    isCached: false
""",
    )
    return seeds


def test_every_format_from_one_real_run(tmp_path: Path, site: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    result = linkcheck(
        "check", str(site), "--allow-network", "127.0.0.0/8", "-o", str(out / "r.json"),
        *(f"--format={name}:{out / name}" for name in ("markdown", "junit", "sarif", "csv",
                                                       "html")),
        "--format", "github", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 1
    annotations = [line for line in result.stdout.splitlines() if line.startswith("::")]
    assert len(annotations) == 2
    relative = (site / "b.txt").relative_to(tmp_path)  # seeds named from the current folder
    assert annotations[0].startswith(f"::error file={relative},line=3,title=http_status::")
    assert "total" in result.stderr, "the terminal summary moves to stderr"
    junit = etree.parse(str(out / "junit"))
    etree.XMLSchema(etree.parse(str(SCHEMAS / "junit-10.xsd"))).assertValid(junit)
    assert junit.getroot().get("failures") == "2"
    sarif = json.loads((out / "sarif").read_text(encoding="utf-8"))
    jsonschema.validate(sarif, json.loads((SCHEMAS / "sarif-schema-2.1.0.json").read_text("utf-8")))
    assert {r["ruleId"] for r in sarif["runs"][0]["results"]} == {"http_status", "size_mismatch"}
    markdown = (out / "markdown").read_text(encoding="utf-8")
    assert "http_status" in markdown and "size_mismatch" in markdown
    rows = (out / "csv").read_text(encoding="utf-8").splitlines()
    assert len(rows) == 1 + 4
    html = (out / "html").read_text(encoding="utf-8")
    assert "<script>document.documentElement" not in html
    assert "&lt;script&gt;document.documentElement" in html


def test_a_saved_report_renders_without_the_network(
    tmp_path: Path, site: Path, server: LoopbackServer
) -> None:
    live = linkcheck(
        "check",
        str(site),
        "--allow-network",
        "127.0.0.0/8",
        "-o",
        "r.json",
        "--format",
        "markdown:live.md",
        cwd=tmp_path,
    )
    assert live.returncode == 1
    server.routes.clear()
    hits = len(server.hits)
    again = linkcheck("report", "r.json", "--format", "markdown:again.md", cwd=tmp_path)
    assert again.returncode == 1
    assert (tmp_path / "again.md").read_text("utf-8") == (tmp_path / "live.md").read_text("utf-8")
    assert len(server.hits) == hits
    assert "size_mismatch" in again.stdout


def test_report_of_a_file_that_is_not_a_report_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text('{"hello": 1}', encoding="utf-8")
    result = linkcheck("report", "x.json", cwd=tmp_path)
    assert result.returncode == 2
    assert "not a linkcheck report" in result.stderr


def test_github_actions_gets_annotations_and_a_job_summary(tmp_path: Path, site: Path) -> None:
    summary = tmp_path / "step-summary.md"
    summary.write_text("previous step\n", encoding="utf-8")
    result = linkcheck(
        "check",
        str(site),
        "--allow-network",
        "127.0.0.0/8",
        cwd=tmp_path,
        env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)},
    )
    assert result.returncode == 1
    assert sum(line.startswith("::error ") for line in result.stdout.splitlines()) == 2
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("previous step\n")
    assert "size_mismatch" in text


def test_quiet_prints_only_problems_and_verbose_every_check(tmp_path: Path, site: Path) -> None:
    quiet = linkcheck("check", str(site), "--allow-network", "127.0.0.0/8", "-q", cwd=tmp_path)
    assert [line.split()[3] for line in quiet.stdout.splitlines() if line] == [
        "http_status",
        "size_mismatch",
    ]
    verbose = linkcheck("check", str(site), "--allow-network", "127.0.0.0/8", "-v", cwd=tmp_path)
    checks = [line for line in verbose.stdout.splitlines() if re.match(r"\w+ \S+:\d+ ", line)]
    assert len(checks) == 4
    assert "\x1b[" not in verbose.stdout, "no colours without a terminal"


def test_config_file_settings_apply_and_the_command_line_wins(tmp_path: Path, site: Path) -> None:
    (tmp_path / "linkcheck.toml").write_text(
        'paths = ["seeds"]\nexclude = ["/gone$"]\n'
        'host_concurrency = 2\noutput = "from-config.json"\n',
        encoding="utf-8",
    )
    nested = tmp_path / "deeper" / "still"
    nested.mkdir(parents=True)
    shown = linkcheck("config", "--host-concurrency", "5", cwd=nested)
    assert shown.returncode == 0, shown.stderr
    assert f"# config file: {tmp_path / 'linkcheck.toml'}" in shown.stdout
    assert "host_concurrency = 5" in shown.stdout
    assert 'exclude = ["/gone$"]' in shown.stdout
    result = linkcheck(
        "check", "--size-tolerance", "40", "--allow-network", "127.0.0.0/8", cwd=nested
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((tmp_path / "from-config.json").read_text(encoding="utf-8"))
    reasons = sorted(c["reason"] for s in report["seeds"] for c in s["checks"])
    assert reasons == ["excluded", "ok", "ok", "ok"]


def test_pyproject_tool_table_is_read(tmp_path: Path, site: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.linkcheck]\nfields = "webUrl"\n', encoding="utf-8"
    )
    shown = linkcheck("config", "seeds", cwd=tmp_path)
    assert 'fields = ["webUrl"]' in shown.stdout


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("no_such_key = 1\n", "unknown key 'no_such_key'"),
        ('host_concurrency = "many"\n', "host_concurrency: expected an integer, not 'many'"),
        ("insecure = 1\n", "insecure: must be true or false"),
        ("retries = [1, 2]\n", "retries: must be a single value"),
        ("this is not toml\n", "linkcheck.toml"),
    ],
)
def test_bad_config_files_are_usage_errors(
    tmp_path: Path, site: Path, text: str, words: str
) -> None:
    (tmp_path / "linkcheck.toml").write_text(text, encoding="utf-8")
    result = linkcheck("check", "seeds", cwd=tmp_path)
    assert result.returncode == 2
    assert words in result.stderr


def test_explicit_config_path(tmp_path: Path, site: Path) -> None:
    other = tmp_path / "elsewhere.toml"
    other.write_text("retries = 7\n", encoding="utf-8")
    shown = linkcheck("config", "seeds", "--config", str(other), cwd=tmp_path)
    assert "retries = 7" in shown.stdout


def test_fail_on_warning_turns_warnings_into_exit_1(tmp_path: Path, server: LoopbackServer) -> None:
    png = server.image("/mislabelled.jpg", picture(10, 10, "PNG"), "image/jpeg", ranges=True)
    write_seed(tmp_path, "s.txt", f'webUrl: "{server.page("/p")}"\nimages:\n  - url: "{png}"')
    lenient = linkcheck("check", "s.txt", "--allow-network", "127.0.0.0/8", cwd=tmp_path)
    strict = linkcheck(
        "check", "s.txt", "--allow-network", "127.0.0.0/8", "--fail-on", "warning", cwd=tmp_path
    )
    assert (lenient.returncode, strict.returncode) == (0, 1)
    assert "content_type_mismatch" in strict.stdout


def test_progress_line_for_logs_is_written_on_its_timer_only() -> None:
    import io

    stream = io.StringIO()
    progress = LineProgress(10, stream, interval=10.0)
    summary: Any = Summary(seeds=4, checks=12, failed=1)
    progress.update(summary)
    progress.update(summary)
    assert stream.getvalue() == "", "finished seeds alone print nothing"
    progress.tick()
    assert re.match(
        r"linkcheck: 12/30 checks \(4/10 seeds\), 1 failed, rate not known yet, ",
        stream.getvalue(),
    )


def test_live_progress_is_drawn_on_a_terminal(tmp_path: Path, site: Path) -> None:
    import pty

    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "linkcheck", "check", str(site), "--allow-network", "127.0.0.0/8"],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=follower,
        env={**os.environ, "TERM": "xterm"},
    )  # fmt: skip
    os.close(follower)
    output = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    process.wait(timeout=30)
    os.close(leader)
    assert b"checking" in output and b"seeds" in output


def test_proxies_from_the_environment_are_used(tmp_path: Path, server: LoopbackServer) -> None:
    """HTTP_PROXY sends the request to the proxy in absolute form; the name is never looked up."""
    from tests.server import Answer

    server.add("http://news.proxied.test/story", Answer(200, b"<html>via proxy</html>"))
    write_seed(tmp_path, "s.txt", 'webUrl: "http://news.proxied.test/story"')
    proxy = {"HTTP_PROXY": f"http://127.0.0.1:{server.port}", "NO_PROXY": ""}
    result = linkcheck("check", "s.txt", "-q", cwd=tmp_path, env=proxy)
    assert result.returncode == 0, result.stdout + result.stderr
    assert server.count("http://news.proxied.test/story") == 1


def test_no_env_proxy_goes_direct(tmp_path: Path, server: LoopbackServer) -> None:
    from tests.server import Answer

    direct = server.page("/direct")
    server.add(direct, Answer(200, b"<html>proxied</html>"))  # the proxy's absolute-form target
    write_seed(tmp_path, "s.txt", f'webUrl: "{direct}"')
    proxy = {"HTTP_PROXY": f"http://127.0.0.1:{server.port}", "NO_PROXY": ""}
    via_proxy = linkcheck(
        "check", "s.txt", "-q", "--allow-network", "127.0.0.0/8", cwd=tmp_path, env=proxy
    )
    assert via_proxy.returncode == 0
    assert server.count(direct) == 1, "through the proxy the request line holds the full URL"
    no_proxy = linkcheck(
        "check",
        "s.txt",
        "-q",
        "--allow-network",
        "127.0.0.0/8",
        "--no-env-proxy",
        cwd=tmp_path,
        env=proxy,
    )
    assert no_proxy.returncode == 0
    assert server.count("/direct") == 1


def test_pattern_chooses_which_files_in_a_folder_are_seeds(
    tmp_path: Path, server: LoopbackServer
) -> None:
    write_seed(tmp_path, "one.seed", f'webUrl: "{server.page("/one")}"')
    write_seed(tmp_path, "two.txt", f'webUrl: "{server.page("/two")}"')
    result = linkcheck(
        "check",
        ".",
        "--pattern",
        "*.seed",
        "--allow-network",
        "127.0.0.0/8",
        "-o",
        "r.json",
        cwd=tmp_path,
    )
    assert result.returncode == 0
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert [Path(seed["path"]).name for seed in report["seeds"]] == ["one.seed"]
    assert (server.count("/one"), server.count("/two")) == (1, 0)


def test_config_output_is_a_config_file_that_check_accepts(tmp_path: Path, site: Path) -> None:
    shown = linkcheck(
        "config", "seeds", "--allow-network", "127.0.0.0/8", "--size-tolerance", "40",
        "--exclude", "/gone$", "-o", "r.json", cwd=tmp_path,
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    (tmp_path / "linkcheck.toml").write_text(shown.stdout, encoding="utf-8")
    result = linkcheck("check", "--config", "linkcheck.toml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert sorted(c["reason"] for s in report["seeds"] for c in s["checks"]) == [
        "excluded", "ok", "ok", "ok",
    ]  # fmt: skip


def test_a_discovered_config_file_cannot_open_loopback(tmp_path: Path, site: Path) -> None:
    """A linkcheck.toml someone added to the repository does not widen the address policy."""
    (tmp_path / "linkcheck.toml").write_text(
        'paths = ["seeds"]\nallow_network = ["127.0.0.0/8"]\n', encoding="utf-8"
    )
    found = linkcheck("check", "-o", "r.json", cwd=tmp_path)
    assert found.returncode == 1
    assert found.stderr.count("ignored allow_network") == 1
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert {c["reason"] for s in report["seeds"] for c in s["checks"]} == {"unsafe_url"}
    named = linkcheck("check", "--config", "linkcheck.toml", "-o", "r.json", cwd=tmp_path)
    assert "ignored" not in named.stderr
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert "unsafe_url" not in {c["reason"] for s in report["seeds"] for c in s["checks"]}


# -- safe output paths ---------------------------------------------------------------------


@pytest.fixture
def offline_seeds(tmp_path: Path) -> Path:
    """A seed whose one URL is refused by the address policy: a run that sends nothing."""
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    write_seed(seeds, "a.txt", 'webUrl: "http://127.0.0.1:9/never"')
    return seeds


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["-o", "seeds/a.txt"], "-o seeds/a.txt is an input (seeds/a.txt); refusing to write"),
        (["-o", "link.json"], "-o link.json is an input"),
        (["--format", "markdown:seeds/a.txt"], "--format markdown:seeds/a.txt is an input"),
        (["-o", "seeds"], "-o seeds is a directory"),
        (["-o", "fifo.json"], "-o fifo.json is not a regular file (a device, FIFO or socket)"),
        (["-o", "/dev/null"], "-o /dev/null is not a regular file"),
        (["--format", "csv:/dev/null"], "--format csv:/dev/null is not a regular file"),
        (["-o", "seeds/a.txt/r.json"], "cannot write there"),
        (["-o", "r.json", "--format", "json:r.json"], "json:r.json: -o r.json writes to the same"),
        (["-o", "-", "--format", "markdown"], "both write to standard output"),
    ],
)
def test_outputs_are_never_written_over_inputs_folders_or_special_files(
    tmp_path: Path, offline_seeds: Path, argv: list[str], words: str
) -> None:
    seed = offline_seeds / "a.txt"
    before = seed.read_bytes()
    (tmp_path / "link.json").symlink_to(seed)
    os.mkfifo(tmp_path / "fifo.json")
    result = linkcheck("check", "seeds", *argv, cwd=tmp_path)
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("linkcheck: error: ")
    assert words in line
    assert seed.read_bytes() == before
    assert (tmp_path / "fifo.json").is_fifo()
    assert not (tmp_path / "linkcheck-report.json").exists()


def test_dash_writes_the_json_report_to_standard_output(
    tmp_path: Path, offline_seeds: Path
) -> None:
    result = linkcheck("check", "seeds", "-o", "-", cwd=tmp_path)
    assert result.returncode == 1
    report = json.loads(result.stdout)
    schema = Path(__file__).parents[1] / "linkcheck" / "report" / "schema"
    jsonschema.validate(report, json.loads((schema / "report-v1.schema.json").read_text("utf-8")))
    assert report["summary"]["failed"] == 1
    assert "unsafe_url" in result.stderr, "the terminal summary moves to stderr"
    assert not (tmp_path / "-").exists()
    assert not (tmp_path / "linkcheck-report.json").exists()


# -- linkcheck report ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def saved_once(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A real report of a run with one failed check, made once."""
    folder = tmp_path_factory.mktemp("saved")
    write_seed(folder, "a.txt", 'webUrl: "http://127.0.0.1:9/never"')
    assert linkcheck("check", "a.txt", "-o", "r.json", cwd=folder).returncode == 1
    data: dict[str, Any] = json.loads((folder / "r.json").read_text(encoding="utf-8"))
    return data


@pytest.fixture
def saved(
    tmp_path: Path,
    saved_once: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, Any]:
    """That report as r.json in the current folder (a fresh copy each time)."""
    (tmp_path / "seeds").mkdir()
    (tmp_path / "r.json").write_text(json.dumps(saved_once), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    copy: dict[str, Any] = json.loads(json.dumps(saved_once))
    return copy


def in_process(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run the command line in this process: (exit code, stdout, stderr)."""
    from linkcheck.cli import main

    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def _broken(saved: dict[str, Any], change: str) -> bytes | str | Any:
    data = json.loads(json.dumps(saved))
    if change == "wrong version":
        data["schema_version"] = 2
    elif change == "seeds not a list":
        data["seeds"] = {"path": "x"}
    elif change == "check without verdict":
        del data["seeds"][0]["checks"][0]["verdict"]
    elif change == "unknown verdict":
        data["seeds"][0]["checks"][0]["verdict"] = "fine"
    elif change == "summary missing":
        del data["summary"]
    elif change == "negative count":
        data["summary"]["failed"] = -1
    elif change == "seed path not a string":
        data["seeds"][0]["path"] = 7
    return data


#: Reports that are JSON but break the schema (made by ``_broken``), and what the error says.
SCHEMA_BREAKAGES = [
    ("check without verdict", "$.seeds[0].checks[0]: 'verdict' is a required property"),
    ("unknown verdict", "$.seeds[0].checks[0].verdict: 'fine' is not one of"),
    ("summary missing", "$: 'summary' is a required property"),
    ("negative count", "$.summary.failed: -1 is less than the minimum of 0"),
    ("seed path not a string", "$.seeds[0].path: 7 is not of type 'string'"),
]


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ("not JSON", "not a linkcheck report: not JSON (Expecting value: line 1 column 1"),
        ("empty", "not JSON"),
        ("not UTF-8", "not a linkcheck report: not UTF-8"),
        ("nested", "not a linkcheck report: JSON nested too deeply"),
        ("a list", "not a linkcheck report of schema version 1: $: [1, 2] is not of type 'object'"),
        ("wrong version", "not a linkcheck report of schema version 1 (it says 2)"),
        ("seeds not a list", "$.seeds: {'path': 'x'} is not of type 'array'"),
        *SCHEMA_BREAKAGES,
        ("a folder", "cannot read"),
        ("missing", "cannot read missing.json: No such file or directory"),
    ],
)
def test_a_malformed_report_is_a_one_line_usage_error(
    tmp_path: Path,
    saved: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
    change: str,
    words: str,
) -> None:
    target = tmp_path / "bad.json"
    if change == "not JSON":
        target.write_text("this is not json", encoding="utf-8")
    elif change == "empty":
        target.write_bytes(b"")
    elif change == "not UTF-8":
        target.write_bytes(b'{"schema_version": 1, "tool": "\xff"}')
    elif change == "nested":
        target.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    elif change == "a list":
        target.write_text("[1, 2]", encoding="utf-8")
    elif change == "a folder":
        target.mkdir()
    elif change != "missing":
        target.write_text(json.dumps(_broken(saved, change)), encoding="utf-8")
    name = "missing.json" if change == "missing" else "bad.json"
    code, out, err = in_process(capsys, "report", name, "--format", "markdown:out.md")
    assert code == 2
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert words in err
    assert out == ""
    assert not (tmp_path / "out.md").exists()


@pytest.mark.parametrize(
    ("change", "words"),
    SCHEMA_BREAKAGES,
)
def test_a_malformed_report_read_seed_by_seed_is_refused_before_any_output(
    tmp_path: Path,
    saved: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
    change: str,
    words: str,
) -> None:
    # The layout linkcheck writes (one seed per line) is read a seed at a time.
    broken = _broken(saved, change)
    assert isinstance(broken, dict)
    with (tmp_path / "bad.json").open("w", encoding="utf-8") as stream:
        get_format("json").render(SavedReport(broken), stream)
    assert ' "seeds": [\n' in (tmp_path / "bad.json").read_text(encoding="utf-8")
    code, out, err = in_process(capsys, "report", "bad.json", "--format", "markdown:out.md")
    assert (code, out) == (2, "")
    assert len(err.strip().splitlines()) == 1, err
    assert f"bad.json: not a linkcheck report of schema version 1: {words}" in err
    assert not (tmp_path / "out.md").exists()


def _as_warning(saved: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(json.dumps(saved))
    check = data["seeds"][0]["checks"][0]
    check.update(verdict="warning", reason="rate_limited")
    data["summary"].update(failed=0, warning=1, reasons={"rate_limited": 1})
    return data


def test_report_exits_like_check_with_fail_on(
    tmp_path: Path, saved: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "w.json").write_text(json.dumps(_as_warning(saved)), encoding="utf-8")
    lenient = linkcheck("report", "w.json", cwd=tmp_path)
    strict = in_process(capsys, "report", "w.json", "--fail-on", "warning")
    failed = in_process(capsys, "report", "r.json")
    assert (lenient.returncode, strict[0], failed[0]) == (0, 1, 1)
    assert "rate_limited" in lenient.stdout
    code, _, err = in_process(capsys, "report", "w.json", "--fail-on", "warnings")
    assert code == 2
    assert "argument --fail-on: expected one of failed, warning, not 'warnings'" in err


def test_report_of_an_interrupted_run_exits_130(
    tmp_path: Path, saved: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    saved["summary"]["stopped"] = "interrupted"
    (tmp_path / "i.json").write_text(json.dumps(saved), encoding="utf-8")
    assert linkcheck("report", "i.json", cwd=tmp_path).returncode == 130
    saved["summary"]["stopped"] = "timeout"
    (tmp_path / "t.json").write_text(json.dumps(saved), encoding="utf-8")
    assert in_process(capsys, "report", "t.json")[0] == 1


@pytest.mark.parametrize(
    ("target", "words"),
    [
        ("r.json/x.md", "--format markdown:r.json/x.md: cannot write there: Not a directory"),
        ("seeds", "--format markdown:seeds is a directory"),
        ("r.json", "--format markdown:r.json is an input (r.json); refusing to write over it"),
        ("/dev/null", "--format markdown:/dev/null is not a regular file"),
    ],
)
def test_report_to_an_unwritable_output_is_a_usage_error(
    tmp_path: Path,
    saved: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
    target: str,
    words: str,
) -> None:
    before = (tmp_path / "r.json").read_bytes()
    code, _, err = in_process(capsys, "report", "r.json", "--format", f"markdown:{target}")
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert words in err
    assert (tmp_path / "r.json").read_bytes() == before


def test_a_long_summary_through_a_pipe_reaches_its_last_line_and_the_exit_code(
    tmp_path: Path,
) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    for index in range(400):  # some 60 KB of problem lines: many pipe buffers' worth
        write_seed(seeds, f"s{index:03}.txt", f'webUrl: "http://[bad-{index}"')
    buffered = {"PYTHONUNBUFFERED": ""}  # as for most users: output waits in buffers
    result = linkcheck(
        "check", str(seeds), "-o", str(tmp_path / "r.json"), cwd=tmp_path, env=buffered
    )
    assert result.returncode == 1, result.stderr[-2000:]
    errors = [line for line in result.stdout.splitlines() if line.startswith("error ")]
    assert len(errors) == 400
    assert "s399.txt" in errors[-1]
    assert result.stdout.rstrip().splitlines()[-1].startswith("400 seeds"), result.stdout[-500:]
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert len(report["seeds"]) == 400
    piped = linkcheck("check", str(seeds), "-o", "-", "-q", cwd=tmp_path, env=buffered)
    assert piped.returncode == 1, piped.stderr[-2000:]
    assert len(json.loads(piped.stdout)["seeds"]) == 400, "the whole report came through"


def test_the_command_collects_rarely_and_reads_tls_in_small_buffers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Full collections walk every object the imports made (after the run they cost the
    outputs of a warm run about a tenth of its time at the interpreter's thresholds), and
    asyncio's 256 KiB read buffer per TLS connection is resident memory."""
    write_seed(tmp_path, "s.txt", 'webUrl: "http://[bad"')
    seen: list[tuple[tuple[int, int, int], int]] = []
    write = outputs.write_outputs

    def written_under(*args: Any, **kwargs: Any) -> None:
        seen.append((gc.get_threshold(), asyncio.sslproto.SSLProtocol.max_size))
        write(*args, **kwargs)

    def exit_here(code: int) -> None:
        raise SystemExit(code)

    monkeypatch.setattr(app, "write_outputs", written_under)
    monkeypatch.setattr(os, "_exit", exit_here)
    monkeypatch.setattr(asyncio.sslproto.SSLProtocol, "max_size", 256 * 1024)
    monkeypatch.setattr(sys, "argv", ["linkcheck", "check", str(tmp_path), "-q"])
    before = gc.get_threshold()
    try:
        with pytest.raises(SystemExit) as exited:
            app.console()
    finally:
        gc.set_threshold(*before)
    assert exited.value.code == 1
    assert seen == [(memory.RUN_GC_THRESHOLDS, memory.TLS_READ_BUFFER)]
