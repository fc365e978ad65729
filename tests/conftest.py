from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Iterator
from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image

from linkcheck.cli import main
from linkcheck.model.config import Config
from tests.server import LoopbackServer, ServerFactory, Tls

LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"),)

#: Test tiers, fastest first: pytest runs them in this order, so a broken unit fails in
#: seconds; ``-m unit`` (or ``-m "not browser"``) picks a tier.
TIERS = ("unit", "integration", "browser")
#: Fixtures and files that make a test an integration test: real servers, subprocesses.
_INTEGRATION_FIXTURES = frozenset({"server", "server_session", "server_factory"})
_INTEGRATION_FILES = frozenset(
    {"test_integration.py", "test_hostile_server.py", "test_network.py", "test_cli.py",
     "test_layers.py", "test_bench_smoke.py", "test_fuzz.py", "test_output_inert.py"}
)  # fmt: skip


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "unit: fast, in-process, no server (the default tier)")
    config.addinivalue_line("markers", "integration: loopback servers or subprocesses")
    config.addinivalue_line("markers", "browser: headless Chromium")


def _tier(item: pytest.Item) -> str:
    explicit = [tier for tier in TIERS if item.get_closest_marker(tier) is not None]
    if explicit:
        return explicit[-1]
    if item.path.name == "test_browser.py":
        return "browser"
    fixtures = set(getattr(item, "fixturenames", ()))
    if item.path.name in _INTEGRATION_FILES or fixtures & _INTEGRATION_FIXTURES:
        return "integration"
    return "unit"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test with its tier and run the tiers in order, fastest first."""
    for item in items:
        item.add_marker(_tier(item))
    items.sort(key=lambda item: TIERS.index(_tier(item)))


def _no_errors(server: LoopbackServer) -> None:
    errors = server.errors
    assert not errors, f"a route of the loopback server raised: {errors[0]!r}"


@pytest.fixture(scope="session")
def server_session() -> Iterator[LoopbackServer]:
    with LoopbackServer() as server:
        yield server


@pytest.fixture
def server(server_session: LoopbackServer) -> Iterator[LoopbackServer]:
    """The shared plain-HTTP loopback server, with no routes and empty logs for each test.

    Routes are behaviours from ``tests.server`` and ``tests.hostile``; the test fails if
    one of them raised.
    """
    server_session.reset_log(routes=True)
    yield server_session
    _no_errors(server_session)


@pytest.fixture
def server_factory() -> Iterator[ServerFactory]:
    """Start servers of the test's own (another address, TLS, HTTP/2); all stop after it."""
    started: list[LoopbackServer] = []

    def start(
        *, host: str = "127.0.0.1", tls: Tls | None = None, http2: bool = False
    ) -> LoopbackServer:
        server = LoopbackServer(host, tls.server if tls else None, http2=http2).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
    for server in started:
        _no_errors(server)


#: What :func:`invoke` returns: the exit code, standard output and standard error.
Invoke = Callable[..., tuple[int, str, str]]


@pytest.fixture
def invoke(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Invoke:
    """Run the command line in this process: (exit code, stdout, stderr).

    GITHUB_* variables are unset, so a test run inside GitHub Actions sees what a
    plain terminal would (no annotations, no step summary) unless a test sets them.
    """
    for name in [name for name in os.environ if name.startswith("GITHUB_")]:
        monkeypatch.delenv(name)

    def run(*argv: str) -> tuple[int, str, str]:
        try:
            code = main(list(argv))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        out, err = capsys.readouterr()
        return code, out, err

    return run


def picture(width: int, height: int, fmt: str = "JPEG") -> bytes:
    """A real image of the given size, made with Pillow."""
    buffer = BytesIO()
    Image.new("RGB", (width, height), (200, 80, 40)).save(buffer, fmt)
    return buffer.getvalue()


def local_config(tmp_path: Path, *paths: Path, **changes: object) -> Config:
    """A Config for tests: loopback allowed, short deadlines, report in tmp_path."""
    settings: dict[str, object] = {
        "paths": paths or (tmp_path,),
        "output": tmp_path / "report.json",
        "allow_networks": LOOPBACK,
        "request_timeout": 5.0,
        "connect_timeout": 2.0,
        "workers": 1,  # in-process, so monkeypatches reach the fetching, on any machine
        "read_timeout": 2.0,
    }
    settings.update(changes)
    return Config(**settings)  # type: ignore[arg-type]


def write_seed(directory: Path, name: str, front_matter: str, body: str = "") -> Path:
    path = directory / name
    path.write_text(f"---\n{front_matter.strip()}\n---\n{body}", encoding="utf-8")
    return path
