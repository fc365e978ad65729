"""Fit for CI and audits: the Action, pre-commit, GitLab, capped reports, relative paths.

Each section tests one numbered promise of the CI issue from what a user sees: the
files the Action's scripts leave in a simulated GitHub runner, what pre-commit itself
says on a temporary git repository, the reports' sizes and orders, exit codes and the
lines on stderr. Nothing touches the internet: seeds name loopback servers, refused
URLs or hosts under ``.invalid``.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import time
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from linkcheck.cli.outputs import STEP_SUMMARY_LIMIT, append_step_summary
from linkcheck.report.formats import get_format
from linkcheck.report.formats.codequality import CodeQualityFormat
from linkcheck.report.formats.github import GithubFormat
from linkcheck.report.formats.html import PAGE_SIZE
from linkcheck.report.formats.markdown import PR_COMMENT_LIMIT
from linkcheck.report.formats.terminal import TerminalFormat
from tests.conftest import Invoke, picture, write_seed
from tests.server import LoopbackServer

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = Path(__file__).parent / "schemas"
VENV_BIN = Path(sys.executable).parent


# -- helpers ------------------------------------------------------------------------------


class View:
    """A hand-made report: a header and a list of seeds (report dictionaries)."""

    def __init__(self, seeds: list[dict[str, Any]], **summary: Any) -> None:
        self._seeds = seeds
        counts = {"seeds": len(seeds), "invalid_seeds": 0, "urls": 0, "checks": 0, "ok": 0}
        counts |= {"warning": 0, "failed": 0, "skipped": 0, "requests": 0}
        for seed in seeds:
            counts["invalid_seeds"] += bool(seed["errors"])
            for item in seed["checks"]:
                counts["checks"] += 1
                counts[item["verdict"]] += 1
        self._header = {"tool": {"name": "linkcheck", "version": "0"}, "duration_s": 1.0}
        self._header["summary"] = counts | summary

    def header(self) -> dict[str, Any]:
        return self._header

    def seeds(self) -> Iterator[dict[str, Any]]:
        yield from self._seeds


def a_check(url: str, verdict: str = "failed", reason: str = "http_status", **rest: Any) -> Any:
    item = {
        "field": "webUrl", "line": 2, "url": url, "kind": "page", "verdict": verdict,
        "reason": reason, "message": "the server answered HTTP 404", "http_status": 404,
        "final_url": url, "redirects": [], "elapsed_ms": 3.0, "image": None,
    }  # fmt: skip
    return item | rest


def a_seed(path: str, *checks: dict[str, Any], errors: list[Any] | None = None) -> Any:
    return {"path": path, "title": None, "valid": not errors, "errors": errors or [],
            "checks": list(checks)}  # fmt: skip


def rendered(renderer: Any, view: Any) -> str:
    stream = io.StringIO()
    renderer.render(view, stream)
    return stream.getvalue()


def run(
    *argv: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """A command in a clean environment (no GITHUB_* of the machine running the tests)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "CI_"))}
    base["PATH"] = f"{VENV_BIN}{os.pathsep}{base.get('PATH', '')}"
    return subprocess.run(
        list(argv), cwd=cwd, capture_output=True, text=True, timeout=120,
        env={**base, "NO_COLOR": "1", **(env or {})},
    )  # fmt: skip


def yaml_blocks(markdown: str) -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", markdown, re.S)


# -- 1. the GitHub Action -----------------------------------------------------------------

ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))


def test_action_metadata_is_valid_against_the_published_action_schema() -> None:
    schema = json.loads((SCHEMAS / "github-action.json").read_text(encoding="utf-8"))
    jsonschema.validate(ACTION, schema)
    assert ACTION["runs"]["using"] == "composite"
    assert {"paths", "args", "python-version", "fail-on", "baseline", "cache", "sarif"} <= set(
        ACTION["inputs"]
    )


def test_action_scripts_read_inputs_only_from_the_environment() -> None:
    """An input pasted into a script would let a workflow's input run as shell code."""
    for step in ACTION["runs"]["steps"]:
        assert "${{" not in step.get("run", ""), step["name"]


def test_action_caches_the_store_and_uploads_sarif_only_when_asked() -> None:
    steps = {step["name"]: step for step in ACTION["runs"]["steps"]}
    restore, save = steps["Restore the results store"], steps["Save the results store"]
    assert restore["uses"].startswith("actions/cache/restore@")
    assert save["uses"].startswith("actions/cache/save@")
    assert restore["with"]["path"] == save["with"]["path"] == ".linkcheck"
    assert restore["if"] == "inputs.cache == 'true'"
    assert "hashFiles('.linkcheck/cache.sqlite') != ''" in save["if"], "saved when it exists"
    upload = steps["Upload SARIF to code scanning"]
    assert upload["uses"].startswith("github/codeql-action/upload-sarif@")
    assert upload["if"].startswith("inputs.sarif == 'true'")


def _expand(value: str, inputs: dict[str, str], outputs: dict[str, str]) -> str:
    """The ``${{ inputs.X }}`` and ``${{ steps.check.outputs.X }}`` of a step's env."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("inputs."):
            return inputs[name.removeprefix("inputs.")]
        return outputs.get(name.removeprefix("steps.check.outputs."), "")

    return re.sub(r"\$\{\{\s*([\w.-]+)\s*\}\}", one, value)


def run_action(workspace: Path, runner: Path, **given: str) -> dict[str, Any]:
    """Run the Action's own shell steps as the runner would, after its setup steps.

    ``uses:`` steps (setup-python, cache, SARIF upload) are GitHub's, and the install
    step would fetch the build backend from the index: linkcheck is already installed
    in this venv, whose ``bin`` comes first on PATH as setup-python's would.
    """
    inputs = {name: str(spec.get("default", "")) for name, spec in ACTION["inputs"].items()}
    inputs.update(given)
    files = {name: runner / name for name in ("summary.md", "output.txt")}
    for path in files.values():
        path.write_text("", encoding="utf-8")
    github = {
        "GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_STEP_SUMMARY": str(files["summary.md"]), "GITHUB_OUTPUT": str(files["output.txt"]),
        "GITHUB_ACTION_PATH": str(ROOT), "RUNNER_TEMP": str(runner),
    }  # fmt: skip
    outputs: dict[str, str] = {}
    results = []
    for step in ACTION["runs"]["steps"]:
        if "run" not in step or step.get("id") == "install":
            continue
        assert step["shell"] == "bash"
        env = {key: _expand(str(value), inputs, outputs) for key, value in step["env"].items()}
        script = runner / "step.sh"
        script.write_text(step["run"], encoding="utf-8")
        result = run("bash", "--noprofile", "--norc", "-eo", "pipefail", str(script),
                     cwd=workspace, env=github | env)  # fmt: skip
        results.append(result)
        for line in files["output.txt"].read_text(encoding="utf-8").splitlines():
            key, _, value = line.partition("=")
            outputs[key] = value
    return {
        "steps": results, "outputs": outputs,
        "summary": files["summary.md"].read_text(encoding="utf-8"),
    }  # fmt: skip


@pytest.fixture
def workspace(tmp_path: Path, server: LoopbackServer) -> Path:
    """A repository with a seed folder: one good seed, one with a 404 and a wrong size."""
    root = tmp_path / "workspace"
    seeds = root / "seeds"
    seeds.mkdir(parents=True)
    image = server.image("/a.jpg", picture(40, 30), ranges=True)
    write_seed(seeds, "good.txt", f'webUrl: "{server.page("/good")}"')
    write_seed(
        seeds, "bad.txt",
        f'webUrl: "{server.url("/gone")}"\nimages:\n  - url: "{image}"\n    width: 99\n'
        "    height: 30",
    )  # fmt: skip
    return root


def test_action_steps_write_annotations_job_summary_sarif_and_outputs(
    workspace: Path, tmp_path: Path
) -> None:
    runner = tmp_path / "runner"
    runner.mkdir()
    done = run_action(
        workspace, runner, args="--allow-network 127.0.0.0/8 --retries 0", sarif="true"
    )
    check, verdict = done["steps"]
    assert check.returncode == 0, check.stderr
    annotations = [line for line in check.stdout.splitlines() if line.startswith("::")]
    assert [line.split(",")[0] for line in annotations] == ["::error file=seeds/bad.txt"] * 2
    assert "## linkcheck report" in done["summary"] and "size_mismatch" in done["summary"]
    outputs = done["outputs"]
    assert outputs["exit-code"] == "1"
    assert outputs["report"] == "linkcheck-report.json"
    report = json.loads((workspace / outputs["report"]).read_text(encoding="utf-8"))
    assert sorted(seed["path"] for seed in report["seeds"]) == ["seeds/bad.txt", "seeds/good.txt"]
    sarif = json.loads(Path(outputs["sarif"]).read_text(encoding="utf-8"))
    jsonschema.validate(sarif, json.loads((SCHEMAS / "sarif-schema-2.1.0.json").read_text("utf-8")))
    assert sarif["runs"][0]["originalUriBaseIds"]["SRCROOT"]["uri"] == workspace.as_uri() + "/"
    assert verdict.returncode == 1, "the last step fails the job as linkcheck did"
    assert "linkcheck exited 1" in verdict.stdout


def test_action_passes_a_good_run_and_splits_paths_and_args_as_a_shell_does(
    workspace: Path, tmp_path: Path
) -> None:
    runner = tmp_path / "runner"
    runner.mkdir()
    (workspace / "seeds" / "bad.txt").unlink()
    spaced = workspace / "more seeds"
    spaced.mkdir()
    write_seed(spaced, "fine.txt", 'webUrl: "http://127.0.0.1:9/never"')
    done = run_action(
        workspace, runner, paths="seeds 'more seeds'", report="out/r.json",
        args="--allow-network 127.0.0.0/8 --exclude '^http://127\\.0\\.0\\.1:9/'",
    )  # fmt: skip
    assert [step.returncode for step in done["steps"]] == [0, 0], done["steps"][0].stderr
    assert done["outputs"] == {"exit-code": "0", "report": "out/r.json", "sarif": ""}
    report = json.loads((workspace / "out" / "r.json").read_text(encoding="utf-8"))
    assert {seed["path"] for seed in report["seeds"]} == {"seeds/good.txt", "more seeds/fine.txt"}
    assert report["summary"]["skipped"] == 1, "the quoted --exclude regex arrived whole"


def test_readme_workflow_uses_only_inputs_the_action_declares() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Use in CI\n", 1)[1].split("\n## ", 1)[0]
    workflow = yaml.safe_load(yaml_blocks(section)[0])
    [step] = [s for s in workflow["jobs"]["linkcheck"]["steps"] if "linkcheck@" in s["uses"]]
    assert set(step["with"]) <= set(ACTION["inputs"])
    documented = set(re.findall(r"^\| `([a-z-]+)` \|", section, re.M))
    assert documented == set(ACTION["inputs"]), "the inputs table lists every input"


# -- 2. pre-commit ------------------------------------------------------------------------

GOOD_SEED = 'title: "Fine"\nwebUrl: "https://news.invalid/a"\n'
BAD_SEED = (
    'webUrl: "https://news.invalid/b"\nimages:\n  - url: "https://img.invalid/a.jpg"\n'
    "    width: -5\n"
)


def git_repository(root: Path, **seeds: str) -> Path:
    root.mkdir()
    (root / "seeds").mkdir()
    for name, text in seeds.items():
        write_seed(root / "seeds", f"{name}.txt", text)
    for argv in (["git", "init", "-q"], ["git", "add", "-A"]):
        subprocess.run(argv, cwd=root, check=True, capture_output=True)
    return root


def local_hooks(*args_of: tuple[str, list[str]]) -> str:
    """This checkout's .pre-commit-hooks.yaml as a ``repo: local`` config (no clone, no pip)."""
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    extra = dict(args_of)
    local = []
    for hook in hooks:
        program, _, rest = hook["entry"].partition(" ")
        assert program == "linkcheck"
        entry = f"{sys.executable} -m linkcheck {rest}"
        local.append(
            hook | {"language": "system", "entry": entry, "args": extra.get(hook["id"], [])}
        )
    return yaml.safe_dump({"repos": [{"repo": "local", "hooks": local}]})


def pre_commit(repo: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    home = repo.parent / "pre-commit-home"
    return run(sys.executable, "-m", "pre_commit", "run", "--color", "never", *argv,
               cwd=repo, env={"PRE_COMMIT_HOME": str(home)})  # fmt: skip


@pytest.mark.integration
def test_pre_commit_lint_hook_passes_a_good_seed_and_fails_a_bad_one(tmp_path: Path) -> None:
    repo = git_repository(tmp_path / "repo", good=GOOD_SEED, bad=BAD_SEED)
    (repo / ".pre-commit-config.yaml").write_text(local_hooks(), encoding="utf-8")
    (repo / "README.md").write_text("not a seed: the hook's files pattern skips it\n")
    passed = pre_commit(repo, "linkcheck-lint", "--files", "seeds/good.txt", "README.md")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert re.search(r"linkcheck lint .*Passed", passed.stdout)
    failed = pre_commit(repo, "linkcheck-lint", "--all-files")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert re.search(r"linkcheck lint .*Failed", failed.stdout)
    assert "error seeds/bad.txt:5 seed bad_type" in failed.stdout
    assert "good.txt" not in failed.stdout and "README" not in failed.stdout


@pytest.mark.integration
def test_pre_commit_network_hook_checks_the_changed_seeds(
    tmp_path: Path, server: LoopbackServer
) -> None:
    good = f'webUrl: "{server.page("/fine")}"'
    broken = f'webUrl: "{server.url("/gone")}"'
    repo = git_repository(tmp_path / "repo", good=good, broken=broken)
    allow = ("linkcheck", ["--allow-network", "127.0.0.0/8", "--retries", "0"])
    (repo / ".pre-commit-config.yaml").write_text(local_hooks(allow), encoding="utf-8")
    manual = ("--hook-stage", "manual", "linkcheck")
    passed = pre_commit(repo, *manual, "--files", "seeds/good.txt")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert server.count("/fine") == 1 and server.count("/gone") == 0, "only the named seeds"
    assert (repo / ".linkcheck" / "pre-commit-report.json").is_file()
    failed = pre_commit(repo, *manual, "--all-files")
    assert failed.returncode == 1
    assert "error seeds/broken.txt:2 webUrl http_status" in failed.stdout


def test_readme_pre_commit_config_names_the_shipped_hooks() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n### pre-commit\n", 1)[1].split("\n### ", 1)[0]
    config = yaml.safe_load(yaml_blocks(section)[0])
    named = {hook["id"] for repo in config["repos"] for hook in repo["hooks"]}
    shipped = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert named == {hook["id"] for hook in shipped} == {"linkcheck-lint", "linkcheck"}


def test_lint_reports_seed_errors_and_unrequestable_urls_without_a_request(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: LoopbackServer
) -> None:
    monkeypatch.chdir(tmp_path)
    write_seed(tmp_path, "good.txt", f'webUrl: "{server.page("/never-asked")}"')
    assert invoke("lint", "good.txt")[:2] == (0, "")
    write_seed(tmp_path, "bad.txt", BAD_SEED.replace("https://news.invalid/b", "javascript:x()"))
    code, out, err = invoke("lint", ".")
    assert code == 1
    assert "error bad.txt:2 webUrl unsafe_url javascript:x()" in out
    assert "error bad.txt:5 seed bad_type" in out
    assert "warning bad.txt:4 images[0].height no_image_size" in out, "the seed lint's too"
    assert "linkcheck lint: 2 seed files read, 3 problems (2 errors, 1 warning)" in err
    assert server.hits == [], "lint sends nothing"


# -- 3. GitLab ----------------------------------------------------------------------------


def test_codequality_has_gitlab_fields_and_fingerprints_that_survive_a_moved_line() -> None:
    first = View([
        a_seed("seeds/a.txt", a_check("https://x.test/1"), a_check("https://x.test/1"),
               a_check("https://y.test/2", "warning", "rate_limited")),
        a_seed("seeds/b.txt", errors=[{"reason": "invalid_yaml", "message": "bad", "line": 3}]),
    ])  # fmt: skip
    issues = json.loads(rendered(CodeQualityFormat(), first))
    assert [(i["check_name"], i["severity"]) for i in issues] == [
        ("linkcheck/http_status", "major"), ("linkcheck/http_status", "major"),
        ("linkcheck/rate_limited", "minor"), ("linkcheck/invalid_yaml", "major"),
    ]  # fmt: skip
    assert issues[0]["location"] == {"path": "seeds/a.txt", "lines": {"begin": 2}}
    assert issues[0]["description"].startswith("webUrl https://x.test/1: http_status: ")
    fingerprints = [issue["fingerprint"] for issue in issues]
    assert len(set(fingerprints)) == 4, "the same URL twice in a seed is two issues"
    moved = View([
        a_seed("seeds/a.txt", a_check("https://x.test/1", line=40, message="HTTP 410"),
               a_check("https://x.test/1", line=41),
               a_check("https://y.test/2", "warning", "rate_limited", line=42)),
        a_seed("seeds/b.txt", errors=[{"reason": "invalid_yaml", "message": "bad", "line": 9}]),
    ])  # fmt: skip
    again = json.loads(rendered(CodeQualityFormat(), moved))
    assert [issue["fingerprint"] for issue in again] == fingerprints
    assert json.loads(rendered(CodeQualityFormat(), View([]))) == []


def _script_lines(block: str, job: str) -> list[str]:
    return [line for line in yaml.safe_load(block)[job]["script"] if line != "pip install ."]


@pytest.mark.integration
@pytest.mark.parametrize("source", ["docs/gitlab-ci.md", "README.md"])
def test_gitlab_example_job_runs_as_written(tmp_path: Path, source: str) -> None:
    """The example's script (all but ``pip install .``) on a repository with broken seeds."""
    text = (ROOT / source).read_text(encoding="utf-8")
    block = next(b for b in yaml_blocks(text) if "codequality" in b)
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    write_seed(seeds, "a.txt", 'webUrl: "javascript:alert(1)"')
    (seeds / "b.txt").write_text("no front matter\n", encoding="utf-8")
    for line in _script_lines(block, "linkcheck"):
        result = run("bash", "-c", line, cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    issues = json.loads((tmp_path / "gl-code-quality.json").read_text(encoding="utf-8"))
    assert {(i["location"]["path"], i["check_name"]) for i in issues} == {
        ("seeds/a.txt", "linkcheck/unsafe_url"), ("seeds/b.txt", "linkcheck/no_front_matter")
    }  # fmt: skip
    assert "<testsuites" in (tmp_path / "linkcheck-junit.xml").read_text(encoding="utf-8")
    reports = yaml.safe_load(block)["linkcheck"]["artifacts"]["reports"]
    assert reports == {"codequality": "gl-code-quality.json", "junit": "linkcheck-junit.xml"}


# -- 4. caps that follow each consumer's limits -------------------------------------------


def test_github_annotations_stop_at_what_github_shows_failures_first_then_a_notice() -> None:
    seeds = [
        a_seed(f"s{n}.txt", a_check(f"https://w.test/{n}", "warning", "rate_limited"),
               a_check(f"https://f.test/{n}"))
        for n in range(30)
    ]  # fmt: skip
    seeds.append(a_seed("known.txt", a_check("https://k.test/", baseline="known")))
    lines = rendered(GithubFormat(), View(seeds)).splitlines()
    commands = [line.split(" ", 1)[0] for line in lines]
    assert commands == ["::error"] * 10 + ["::warning"] * 10 + ["::notice"] * 2
    assert "file=s0.txt" in lines[0] and "f.test/0" in lines[0], "report order within errors"
    assert "k.test" in lines[20], "a problem known from the baseline is a notice"
    assert lines[-1] == "::notice title=linkcheck::40 more problems: see the job summary"
    few = rendered(GithubFormat(), View(seeds[:2])).splitlines()
    assert len(few) == 4 and not any("more problem" in line for line in few)


def big_report(count: int, invalid: int = 0) -> View:
    seeds = []
    for n in range(count):
        verdict = "failed" if n % 10 == 0 else "warning" if n % 10 == 1 else "ok"
        reason = {"failed": "http_status", "warning": "rate_limited"}.get(verdict, "ok")
        url = f"https://host{n % 37}.example.test/articles/{n:06d}/a-long-slug-for-the-story"
        seeds.append(a_seed(f"seeds/{n:06d}.txt", a_check(url, verdict, reason)))
    for n in range(invalid):
        error = {"reason": "missing_field", "message": "webUrl is missing", "line": None}
        seeds.append(a_seed(f"seeds/invalid-{n}.txt", errors=[error]))
    return View(seeds)


def test_markdown_of_a_large_report_turns_compact_within_a_pr_comment() -> None:
    text = rendered(get_format("markdown"), big_report(20_000))
    assert len(text) <= PR_COMMENT_LIMIT
    assert len(text.encode("utf-8")) <= PR_COMMENT_LIMIT
    assert "### Problems by reason and host" in text
    groups = text.split("### Problems by reason and host", 1)[1].split("###", 1)[0]
    first = next(line for line in groups.splitlines() if line.startswith("| failed"))
    assert "`http_status`" in first and "| 55 |" in first, "grouped, failures first"
    left_out = text.strip().splitlines()[-1]
    assert re.match(
        r"_Left out to stay within 65,536 characters: [\d,]+ of 4,000 problem rows", left_out
    )
    small = rendered(get_format("markdown"), big_report(20))
    assert "### Failures and warnings" in small and "Left out" not in small


def test_step_summary_stays_under_githubs_limit_after_what_earlier_steps_wrote(
    tmp_path: Path,
) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("x" * 300_000 + "\n", encoding="utf-8")
    append_step_summary(summary, big_report(100_000))
    size = summary.stat().st_size
    assert STEP_SUMMARY_LIMIT - 64 * 1024 < size <= STEP_SUMMARY_LIMIT
    assert "Left out to stay within" in summary.read_text(encoding="utf-8")
    full = tmp_path / "full.md"
    full.write_text("x" * (STEP_SUMMARY_LIMIT - 100), encoding="utf-8")
    append_step_summary(full, big_report(10))
    assert full.stat().st_size <= STEP_SUMMARY_LIMIT


def test_html_lists_invalid_seeds_and_failures_first_and_pages_large_tables() -> None:
    text = rendered(get_format("html"), big_report(1_000, invalid=3))
    assert text.index('id="seed-errors"') < text.index('id="checks"') < text.index('id="images"')
    rows = re.findall(r'<tr class="check verdict-(\w+)"[^>]*?( hidden)?>', text)
    verdicts = [verdict for verdict, _ in rows]
    assert verdicts == sorted(verdicts, key=("failed", "warning", "skipped", "ok").index)
    assert sum(not hidden for _, hidden in rows) == PAGE_SIZE, "only the first page is laid out"
    assert 'class="page">1 of 5</span>' in text


@pytest.mark.browser
def test_html_of_10000_checks_opens_on_its_first_page_in_headless_chromium(
    tmp_path: Path,
) -> None:
    """Prints how long Chromium takes to load, script and dump the page (not asserted)."""
    from tests.test_browser import CHROMIUM, dump_dom, visible_rows

    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed")
    timings = {}
    for count in (0, 10_000):
        page = tmp_path / f"report-{count}.html"
        page.write_text(rendered(get_format("html"), big_report(count, invalid=20)), "utf-8")
        started = time.perf_counter()
        dom = dump_dom(page, "", tmp_path / f"profile-{count}")
        timings[count] = time.perf_counter() - started
    rows = visible_rows(dom)
    assert len(rows) == PAGE_SIZE
    assert {row.get("data-verdict") for row in rows} == {"failed"}, "failures first"
    assert dom.get_element_by_id("shown-count").text_content() == "10000"
    pager = dom.xpath('//section[@id="checks"]//span[@class="page"]')[0]
    assert pager.text_content() == "1 of 50"
    print(
        f"\nHTML report of 10,000 checks ({page.stat().st_size / 1e6:.1f} MB): headless Chromium "
        f"loaded, ran and dumped it in {timings[10_000]:.2f} s; an empty report takes "
        f"{timings[0]:.2f} s (browser start-up)"
    )


# -- 5. repo-relative paths ---------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository whose seeds are named by a config file in a subfolder (absolute paths)."""
    root = tmp_path / "repo"
    (root / "seeds").mkdir(parents=True)
    (root / "ci").mkdir()
    write_seed(root / "seeds", "a.txt", 'webUrl: "javascript:alert(1)"')
    (root / "ci" / "linkcheck.toml").write_text('paths = ["../seeds"]\n', encoding="utf-8")
    monkeypatch.chdir(root)
    return root


def test_seeds_named_by_a_config_file_are_repo_relative_in_every_format(
    invoke: Invoke, project: Path
) -> None:
    config = str(project / "ci" / "linkcheck.toml")
    formats = ["sarif", "github", "codequality", "junit", "csv", "markdown", "html"]
    argv = [f"--format={name}:out/{name}" for name in formats]
    code, out, err = invoke("check", "--config", config, "-o", "out/report.json", *argv)
    assert code == 1, err
    assert "error seeds/a.txt:2 webUrl unsafe_url" in out
    for name in [*formats, "report.json"]:
        text = (project / "out" / name).read_text(encoding="utf-8")
        assert str(project) not in text.replace(project.as_uri(), ""), name
    github = (project / "out" / "github").read_text(encoding="utf-8")
    assert github.startswith("::error file=seeds/a.txt,line=2,")
    sarif = json.loads((project / "out" / "sarif").read_text(encoding="utf-8"))
    run_ = sarif["runs"][0]
    assert run_["originalUriBaseIds"] == {"SRCROOT": {"uri": project.as_uri() + "/"}}
    location = run_["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location == {"uri": "seeds/a.txt", "uriBaseId": "SRCROOT"}


def test_path_base_and_github_workspace_choose_what_paths_are_relative_to(
    invoke: Invoke, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = invoke("check", "seeds", "--path-base", "seeds", "-o", "r.json")
    assert code == 1
    assert "error a.txt:2 webUrl" in out
    assert json.loads((project / "r.json").read_text())["seeds"][0]["path"] == "a.txt"
    monkeypatch.setenv("GITHUB_WORKSPACE", str(project.parent))
    _, out, _ = invoke("check", "seeds", "-o", "r.json", "--format", "github")
    assert out.startswith("::error file=repo/seeds/a.txt,line=2,"), "relative to the workspace"
    assert json.loads((project / "r.json").read_text())["seeds"][0]["path"] == "seeds/a.txt"


# -- 6. no silent green -------------------------------------------------------------------


def _slow(handler: BaseHTTPRequestHandler) -> None:
    time.sleep(3)
    body = b"<!doctype html><title>late</title>"
    handler.send_response(200)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def test_a_run_stopped_with_checks_undone_fails_unless_partial_runs_are_allowed(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: LoopbackServer
) -> None:
    monkeypatch.chdir(tmp_path)
    write_seed(tmp_path, "s.txt", f'webUrl: "{server.add("/slow", _slow)}"')
    argv = ["check", "s.txt", "--allow-network", "127.0.0.0/8", "--max-duration", "0.5"]
    code, out, err = invoke(*argv, "-o", "r.json")
    assert code == 1
    assert "the run reached --max-duration with 1 check left undone: exit 1" in err
    assert "--allow-partial" in err
    assert "skipped" in out
    assert invoke(*argv, "-o", "p.json", "--allow-partial")[0] == 0
    code, _, err = invoke("report", "r.json", "-q")
    assert code == 1 and "left undone" in err, "report exits as check did"
    assert invoke("report", "r.json", "-q", "--allow-partial")[0] == 0


def test_a_run_that_checked_no_url_says_so_on_stderr(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write_seed(tmp_path, "s.txt", 'webUrl: "https://news.invalid/a"')
    code, _, err = invoke("check", "s.txt", "--exclude", "news", "-o", "r.json")
    assert code == 0
    assert "linkcheck: warning: no URL was checked: all 1 checks were skipped (excluded 1)" in err
    code, _, err = invoke("check", "s.txt", "-o", "r.json", "--fields", "originalUrl")
    assert "no URL was checked: the seeds name no URL in the fields checked" in err


# -- 7. first-run clarity -----------------------------------------------------------------


def test_refused_loopback_urls_name_the_option_that_allows_them_and_count_no_request(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: LoopbackServer
) -> None:
    monkeypatch.chdir(tmp_path)
    write_seed(
        tmp_path, "s.txt", f'webUrl: "{server.page("/a")}"\nampWebUrl: "http://localhost:9/"'
    )
    code, out, _ = invoke("check", "s.txt", "-o", "r.json")
    assert code == 1
    assert out.count("unsafe_url") == 2
    assert "hint: 2 URLs were refused" in out and "--allow-network 127.0.0.0/8" in out
    assert "0 requests" in out and server.hits == []


def test_offline_diagnosis_comes_first_and_dns_failures_are_one_line() -> None:
    seeds = [
        a_seed(f"s{n}.txt", a_check(f"https://h{n % 12}.test/{n}", reason="dns",
                                    message="the host name could not be resolved"))
        for n in range(61)
    ]  # fmt: skip
    seeds.append(a_seed("t.txt", a_check("https://ok.test/", "warning", "rate_limited")))
    lines = rendered(TerminalFormat(0), View(seeds, no_host_resolved=True)).splitlines()
    assert lines[0].startswith("No host could be resolved")
    assert lines[1].startswith("error dns: 61 URLs on 12 hosts could not be resolved (h0.test 6,")
    assert lines[2].startswith("warning t.txt:2 webUrl rate_limited https://ok.test/")
    assert sum("dns" in line for line in lines) == 1


def test_a_single_dns_failure_is_its_own_line_after_the_other_problems() -> None:
    seeds = [
        a_seed("a.txt", a_check("https://down.test/a", reason="dns", message="no such host")),
        a_seed("b.txt", a_check("https://ok.test/b", "warning", "rate_limited")),
        a_seed("c.txt", a_check("https://ok.test/c", "failed", "http_status")),
    ]
    lines = rendered(TerminalFormat(-1), View(seeds)).splitlines()
    assert [line.split()[:2] for line in lines] == [
        ["warning", "b.txt:2"], [], ["error", "c.txt:2"], ["error", "a.txt:2"]
    ]  # fmt: skip


def test_each_plain_problem_line_starts_with_its_severity() -> None:
    error = {"reason": "invalid_yaml", "message": "m", "line": 1}
    checks = (
        a_check("https://x.test/"),
        a_check("https://y.test/", "warning", "blocked"),
        a_check("https://z.test/", "ok", "ok"),
    )
    view = View([a_seed("a.txt", *checks), a_seed("b.txt", errors=[error])])
    problems = [line for line in rendered(TerminalFormat(-1), view).splitlines() if line]
    assert [line.split()[:2] for line in problems] == [
        ["error", "a.txt:2"], ["warning", "a.txt:2"], ["error", "b.txt:1"]
    ]  # fmt: skip


@pytest.mark.parametrize("command", ["check", "report"])
def test_two_formats_to_standard_output_exit_2(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    monkeypatch.chdir(tmp_path)
    write_seed(tmp_path, "s.txt", 'webUrl: "https://news.invalid/a"')
    target = "s.txt" if command == "check" else "r.json"
    code, out, err = invoke(command, target, "--format", "json", "--format", "csv")
    assert (code, out) == (2, "")
    assert "--format json and --format csv would all write to standard output" in err
    assert len(err.strip().splitlines()) == 1


def test_readme_states_the_python_version_and_keeps_the_quick_start_lines() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quick = readme.split("\n## Quick start\n", 1)[1].split("\n## ", 1)[0]
    assert "Python 3.11 or later" in quick
    test_line = (
        "python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && .venv/bin/python -m pytest"
    )
    assert test_line in quick
    assert test_line in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    for heading in ("### GitHub Action", "### GitLab CI", "### pre-commit", "### Nightly audit"):
        assert heading in readme.split("\n## Use in CI\n", 1)[1]


# -- 8. packaging -------------------------------------------------------------------------


def test_ci_builds_and_checks_the_distributions() -> None:
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert ".venv/bin/python -m build" in script
    assert ".venv/bin/twine check --strict dist/*" in script
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    dev = pyproject.split("\ndev = [", 1)[1].split("\n]", 1)[0]
    assert '"build' in dev and '"twine' in dev


@pytest.mark.integration
def test_the_wheel_installs_in_a_fresh_venv_and_runs(tmp_path: Path) -> None:
    """Built offline (the build backend is in this venv), installed without an index."""
    source = tmp_path / "src"
    shutil.copytree(ROOT / "linkcheck", source / "linkcheck",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))  # fmt: skip
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    built = run(sys.executable, "-m", "build", "--no-isolation", "--wheel", "--outdir",
                str(tmp_path / "dist"), str(source), cwd=tmp_path)  # fmt: skip
    assert built.returncode == 0, built.stderr[-3000:]
    [wheel] = (tmp_path / "dist").glob("linkcheck-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "linkcheck/py.typed" in names
    assert "linkcheck/report/schema/report-v1.schema.json" in names
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    # The dependencies come from this venv's site-packages, after the fresh venv's own.
    purelib = Path(sysconfig.get_paths()["purelib"])
    [fresh] = (venv / "lib").glob("python3*/site-packages")
    (fresh / "deps.pth").write_text(f"{purelib}\n", encoding="utf-8")
    pip = (str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check")
    installed = run(*pip, "install", "--no-deps", "--no-index", str(wheel), cwd=tmp_path)
    assert installed.returncode == 0, installed.stderr[-3000:]
    version = run(str(venv / "bin" / "linkcheck"), "--version", cwd=tmp_path)
    assert version.returncode == 0, version.stderr[-3000:]
    assert re.fullmatch(r"linkcheck \d+\.\d+\.\d+\S*\n", version.stdout)
    where = run(str(venv / "bin" / "python"), "-c", "import linkcheck; print(linkcheck.__file__)",
                cwd=tmp_path)  # fmt: skip
    assert where.stdout.startswith(str(fresh)), "the wheel's copy, not this checkout"
