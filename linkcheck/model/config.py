"""The one frozen Config that every stage of a run reads; nothing else holds settings."""

from __future__ import annotations

import ipaddress
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from linkcheck._version import __version__

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: Seed fields that hold URLs, and the fields checked when none are chosen.
URL_FIELDS: tuple[str, ...] = ("webUrl", "ampWebUrl", "cdnAmpWebUrl", "originalUrl", "images")
DEFAULT_FIELDS: tuple[str, ...] = ("webUrl", "ampWebUrl", "images")
DEFAULT_PATTERNS: tuple[str, ...] = ("*.txt", "*.md", "*.yaml", "*.yml")

KiB = 1024
MiB = 1024 * KiB


def parse_network(spec: str) -> IPNetwork:
    """``10.20.0.0/16`` (or a single address) as a network."""
    return ipaddress.ip_network(spec.strip(), strict=False)


def parse_host_rule(spec: str) -> HostRule:
    """``PATTERN=N`` or ``PATTERN=N/SECONDS``: at most N in flight, SECONDS between starts."""
    pattern, equals, limits = spec.partition("=")
    count, _, interval = limits.partition("/")
    if not equals or not pattern.strip():
        raise ValueError(f"expected PATTERN=N or PATTERN=N/SECONDS, not {spec!r}")
    concurrency = int(count) if count.strip() else None
    if concurrency is not None and concurrency < 1:
        raise ValueError(f"concurrency must be at least 1 in {spec!r}")
    return HostRule(
        pattern.strip().lower(), concurrency, float(interval) if interval.strip() else None
    )


def parse_header_rule(spec: str) -> HeaderRule:
    """``PATTERN:NAME:ENV_VAR``: send header NAME to matching hosts, its value from ENV_VAR."""
    parts = spec.split(":")
    if len(parts) != 3 or not all(part.strip() for part in parts):
        raise ValueError(f"expected HOST_PATTERN:HEADER_NAME:ENV_VAR, not {spec!r}")
    pattern, name, env = (part.strip() for part in parts)
    return HeaderRule(pattern.lower(), name, env)


def parse_remap(spec: str) -> Remap:
    """``REGEX REPLACEMENT`` (separated by white space), as lychee writes remaps."""
    pattern, _, replacement = spec.strip().partition(" ")
    if not pattern or not replacement.strip():
        raise ValueError(f"expected 'REGEX REPLACEMENT', not {spec!r}")
    re.compile(pattern)
    return Remap(pattern, replacement.strip())


def parse_regex(spec: str) -> str:
    re.compile(spec)
    return spec


def parse_accept(spec: str) -> tuple[tuple[int, int], ...]:
    """Turn ``200-299,403`` into inclusive status ranges."""
    ranges: list[tuple[int, int]] = []
    for part in spec.split(","):
        text = part.strip()
        if not text:
            continue
        low, _, high = text.partition("-")
        try:
            first, last = int(low), int(high or low)
        except ValueError:
            raise ValueError(f"not a status or status range: {text!r}") from None
        if not 100 <= first <= last <= 999:
            raise ValueError(f"not a valid status range: {text!r}")
        ranges.append((first, last))
    if not ranges:
        raise ValueError("no status given")
    return tuple(ranges)


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
class HostRule:
    """Politeness settings for hosts matching ``pattern`` (fnmatch, case-insensitive)."""

    pattern: str
    concurrency: int | None = None
    min_interval: float | None = None


@dataclass(frozen=True)
class HeaderRule:
    """An extra request header for hosts matching ``pattern``, its value read from ``env``.

    Only the variable's name is kept here, so no secret is ever in a config or report.
    """

    pattern: str
    name: str
    env: str


@dataclass(frozen=True)
class Remap:
    """Rewrite URLs matching ``pattern`` (a regex) to ``replacement`` before requesting them."""

    pattern: str
    replacement: str


@dataclass(frozen=True)
class Config:
    """Every setting of a run; built by the CLI (or by a library caller) and never mutated."""

    paths: tuple[Path, ...] = (Path("seeds"),)
    patterns: tuple[str, ...] = DEFAULT_PATTERNS
    fields: frozenset[str] = frozenset(DEFAULT_FIELDS)
    max_seed_bytes: int = 2 * MiB
    output: Path = Path("linkcheck-report.json")

    max_concurrency: int = 128
    per_host_concurrency: int = 8
    min_interval: float = 0.0
    host_rules: tuple[HostRule, ...] = ()
    connect_timeout: float = 10.0
    read_timeout: float = 10.0
    request_timeout: float = 20.0
    max_duration: float | None = None
    retries: int = 2
    retry_backoff: float = 0.5
    retry_after_cap: float = 60.0
    recheck: bool = True
    max_redirects: int = 10
    method: str = "get"
    page_body_bytes: int = 64 * KiB
    max_image_bytes: int = 2 * MiB
    image_first_bytes: int = 4 * KiB
    verify_images: str = "tail"
    size_policy: str = "exact"
    size_tolerance: int = 0
    aspect_tolerance: float = 0.01
    max_response_bytes: int = 64 * MiB
    user_agent: str = f"linkcheck/{__version__}"
    headers: tuple[HeaderRule, ...] = ()
    http2: bool = False
    ca_bundle: Path | None = None
    insecure: bool = False
    trust_env: bool = True

    accept: tuple[tuple[int, int], ...] = ((200, 299),)
    fail_on: str = "failed"
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    remap: tuple[Remap, ...] = ()

    allow_hosts: tuple[str, ...] = ()
    allow_networks: tuple[IPNetwork, ...] = field(default=())

    seed_window: int = 4096


#: Config files looked for in the current folder and each parent, nearest first.
CONFIG_FILES = ("linkcheck.toml", "pyproject.toml")


class ConfigFileError(ValueError):
    """A config file that cannot be used; the message names the file."""


def find_config_file(start: Path) -> Path | None:
    """The nearest ``linkcheck.toml``, or ``pyproject.toml`` with a ``[tool.linkcheck]`` table."""
    for directory in (start, *start.parents):
        for name in CONFIG_FILES:
            candidate = directory / name
            if candidate.is_file() and (name != "pyproject.toml" or _has_tool_table(candidate)):
                return candidate
    return None


def read_config_file(path: Path) -> dict[str, Any]:
    """The settings table of a config file: all of ``linkcheck.toml``, or ``[tool.linkcheck]``."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigFileError(f"{path}: {exc}") from exc
    if path.name == "pyproject.toml":
        table = data.get("tool", {}).get("linkcheck", {})
        if not isinstance(table, dict):
            raise ConfigFileError(f"{path}: [tool.linkcheck] must be a table")
        return table
    return data


def _has_tool_table(path: Path) -> bool:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False
    return isinstance(data.get("tool"), dict) and "linkcheck" in data["tool"]
