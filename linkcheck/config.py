"""The one frozen Config that every stage of a run reads; nothing else holds settings."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

from linkcheck._version import __version__

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: Seed fields that hold URLs, and the fields checked when none are chosen.
URL_FIELDS: tuple[str, ...] = ("webUrl", "ampWebUrl", "cdnAmpWebUrl", "originalUrl", "images")
DEFAULT_FIELDS: tuple[str, ...] = ("webUrl", "ampWebUrl", "images")
DEFAULT_PATTERNS: tuple[str, ...] = ("*.txt", "*.md", "*.yaml", "*.yml")

KiB = 1024
MiB = 1024 * KiB


def parse_fields(spec: str) -> frozenset[str]:
    """Turn ``all`` or a comma list such as ``webUrl,images`` into a set of URL fields."""
    names = [name.strip() for name in spec.split(",") if name.strip()]
    if names == ["all"]:
        return frozenset(URL_FIELDS)
    unknown = [name for name in names if name not in URL_FIELDS]
    if unknown or not names:
        raise ValueError(
            f"unknown field {', '.join(unknown) or spec!r}: choose 'all' or some of "
            + ", ".join(URL_FIELDS)
        )
    return frozenset(names)


@dataclass(frozen=True)
class Config:
    """Every setting of a run; built by the CLI (or by a library caller) and never mutated."""

    paths: tuple[Path, ...] = (Path("seeds"),)
    patterns: tuple[str, ...] = DEFAULT_PATTERNS
    fields: frozenset[str] = frozenset(DEFAULT_FIELDS)
    max_seed_bytes: int = 2 * MiB
    output: Path = Path("linkcheck-report.json")

    max_concurrency: int = 128
    connect_timeout: float = 10.0
    read_timeout: float = 10.0
    request_timeout: float = 20.0
    max_redirects: int = 10
    page_body_bytes: int = 64 * KiB
    max_image_bytes: int = 2 * MiB
    user_agent: str = f"linkcheck/{__version__}"

    allow_hosts: tuple[str, ...] = ()
    allow_networks: tuple[IPNetwork, ...] = field(default=())

    seed_window: int = 1024
