"""Seeds and servers cannot write into a terminal or a CI log through any output.

Seed file names, URLs and titles carry workflow commands (``::add-mask::``,
``::error``, ``%0A::warning``, the legacy ``##[add-mask]``) and ANSI/OSC sequences
(clear screen, OSC 8 links, window titles); the loopback server answers with them
in reason phrases, Content-Type and Location. The whole tool runs as CI runs it
(``GITHUB_ACTIONS=true``, every format to files and to standard output, then
``linkcheck report``); no output may hold an ESC or BEL byte, and no line may
start a workflow command that linkcheck did not write.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from linkcheck.report.formats import FORMATS
from tests.server import LoopbackServer

ANSI = "\x1b[2J\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\\x1b]0;pwned\x07"
#: YAML double-quoted forms of the same sequences and of the injected commands.
YAML_ANSI = r"\e[2J\e]8;;http://evil\e\\link\e]8;;\e\\\e]0;pwned\a"
YAML_COMMANDS = r"\n::add-mask::secret\n::error::x%0A::warning::y ##[add-mask]legacy"
#: File names: no "/" is possible, everything else is.
NAMES = (
    "a\n::add-mask::secret.txt",
    "b\n::error::x.txt",
    "c%0A::warning::y.txt",
    "d\x1b[2J.txt",
    "e\x1b]8;;http:evil\x1b\\link\x1b]8;;\x1b\\.txt",
    "f\x1b]0;pwned\x07.txt",
    "g##[add-mask]legacy.txt",
)
#: Given as its own argument, this name starts every line that names the seed.
LEADING = "::error::lead.txt"
#: The only workflow commands linkcheck writes, with escaped properties.
OURS = re.compile(
    r"::(error|warning|notice) file=[^:,]*(,line=\d+)?,title=[a-z_]+::"
    r"|::notice title=linkcheck::\d+ more problems?: see the job summary$"
)
#: Bytes that act on a terminal or end a log line: C0 controls but LF and TAB, DEL, C1.
ACTIVE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


def _hostile_status(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(500, f"Oops{ANSI}")
    handler.send_header("Content-Length", "0")
    handler.end_headers()


def _hostile_type(handler: BaseHTTPRequestHandler) -> None:
    body = b"<html>not an image</html>"
    handler.send_response(200)
    handler.send_header("Content-Type", f"text/html{ANSI}")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def _hostile_redirect(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(302)
    handler.send_header("Location", f"/final{ANSI}::add-mask::x")
    handler.send_header("Content-Length", "0")
    handler.end_headers()


@pytest.fixture
def workdir(tmp_path: Path, server: LoopbackServer) -> Path:
    """A folder of hostile seeds and one hostile seed beside it, all naming the server."""
    page = server.add("/page", _hostile_status)
    image = server.add("/image", _hostile_type)
    moved = server.add("/moved", _hostile_redirect)
    front_matter = f"""---
title: "{YAML_ANSI}{YAML_COMMANDS}"
webUrl: "{page}"
ampWebUrl: "{server.url("/amp")}{YAML_ANSI}{YAML_COMMANDS}"
images:
  - url: "{image}"
    width: 1
    height: 1
  - url: "{moved}"
  - url: "http://169.254.169.254/latest/meta-data/?::add-mask::z%0A::error::w ##[add-mask]v"
  - url: "http://127.0.0.1:{server.port}/%0A::warning::z"
---
"""
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    for name in NAMES:
        (seeds / name).write_text(front_matter, encoding="utf-8")
    (tmp_path / LEADING).write_text(front_matter, encoding="utf-8")
    (tmp_path / "out").mkdir()
    return tmp_path


def linkcheck(*args: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("GITHUB_") and key not in ("FORCE_COLOR", "NO_COLOR")
    }
    env.update(GITHUB_ACTIONS="true", GITHUB_STEP_SUMMARY=str(cwd / "out" / "summary.md"))
    return subprocess.run(
        [sys.executable, "-m", "linkcheck", *args],
        cwd=cwd, capture_output=True, timeout=60, env=env,
    )  # fmt: skip


def check_args(*extra: str) -> tuple[str, ...]:
    return ("check", "seeds", LEADING, "--allow-network", "127.0.0.0/8", "--retries", "0",
            "--no-recheck", "--max-duration", "20", *extra)  # fmt: skip


def assert_inert(where: str, data: bytes) -> str:
    """The text of ``data``, after checking it holds nothing that acts on a terminal or log."""
    assert b"\x1b" not in data, f"ESC in {where}"
    assert b"\x07" not in data, f"BEL in {where}"
    text = data.decode("utf-8")
    assert not ACTIVE.search(text), f"{where}: {ACTIVE.findall(text)}"
    assert "##[" not in text, f"{where}: a legacy workflow command"
    for line in re.split(r"\r\n|\r|\n", text):
        if line.lstrip().startswith("::"):
            assert OURS.match(line), f"{where}: a workflow command linkcheck did not write: {line}"
    return text


def workflow_commands(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("::")]


def test_check_writes_every_format_and_log_line_inert_on_github_actions(workdir: Path) -> None:
    files = [f"--format={name}:out/report.{name}" for name in sorted(FORMATS) if name != "github"]
    result = linkcheck(*check_args("-v", "-o", "out/saved.json", *files), cwd=workdir)
    assert result.returncode == 1, result.stderr.decode(errors="replace")[-2000:]
    stdout = assert_inert("stdout", result.stdout)
    stderr = assert_inert("stderr", result.stderr)
    for path in sorted((workdir / "out").iterdir()):
        assert_inert(path.name, path.read_bytes())
    report = json.loads((workdir / "out" / "report.json").read_text(encoding="utf-8"))
    assert len(report["seeds"]) == len(NAMES) + 1
    errors = sum(
        len(seed["errors"]) + sum(c["verdict"] == "failed" for c in seed["checks"])
        for seed in report["seeds"]
    )
    warnings = sum(c["verdict"] == "warning" for seed in report["seeds"] for c in seed["checks"])
    warnings += sum(len(seed.get("warnings") or ()) for seed in report["seeds"])  # seed lint
    problems = errors + warnings
    shown = workflow_commands(stdout)
    assert problems > 0
    capped = min(errors, 10) + min(warnings, 10)
    assert len(shown) == capped + (problems > capped), "one per problem, as many as GitHub shows"
    assert "\\x1b]0;pwned\\x07" in stderr, "the terminal shows the sequence escaped"
    assert "\\x3a:error::lead.txt" in stderr, "a name starting with :: starts no command"
    assert "#\\x23[add-mask]legacy" in stderr
    reasons = {c["reason"] for seed in report["seeds"] for c in seed["checks"]}
    assert {"http_status", "unsafe_url", "not_image"} <= reasons, reasons


def test_every_format_printed_to_stdout_is_inert(workdir: Path) -> None:
    result = linkcheck(*check_args("-o", "out/report.json", "--format=github"), cwd=workdir)
    assert result.returncode == 1, result.stderr.decode(errors="replace")[-2000:]
    stdout = assert_inert("stdout", result.stdout)
    assert_inert("stderr", result.stderr)
    printed = ""
    for name in sorted(FORMATS):  # one format to standard output at a time
        rendered = linkcheck("report", "out/report.json", "-v", f"--format={name}", cwd=workdir)
        assert rendered.returncode == 1, rendered.stderr.decode(errors="replace")[-2000:]
        text = assert_inert(f"report stdout of {name}", rendered.stdout)
        assert_inert(f"report stderr of {name}", rendered.stderr)
        assert workflow_commands(text) == workflow_commands(stdout), "the same annotations, once"
        if name == "json":  # the run copied its spooled seed texts; this encodes them again
            assert rendered.stdout.startswith((workdir / "out" / "report.json").read_bytes())
        printed += text
    assert "<!DOCTYPE html>" in printed and "<testsuites" in printed and "## linkcheck" in printed
