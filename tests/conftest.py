from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image

from linkcheck.model.config import Config
from tests.server import LoopbackServer

LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"),)


@pytest.fixture(scope="session")
def server_session() -> Iterator[LoopbackServer]:
    server = LoopbackServer().start()
    yield server
    server.stop()


@pytest.fixture
def server(server_session: LoopbackServer) -> LoopbackServer:
    """The shared loopback server with a fresh route table and request log."""
    server_session.routes.clear()
    server_session.hits.clear()
    return server_session


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
        "read_timeout": 2.0,
    }
    settings.update(changes)
    return Config(**settings)  # type: ignore[arg-type]


def write_seed(directory: Path, name: str, front_matter: str, body: str = "") -> Path:
    path = directory / name
    path.write_text(f"---\n{front_matter.strip()}\n---\n{body}", encoding="utf-8")
    return path
