"""The one frozen Config that every stage of a run reads; nothing else holds settings.

Each field is declared once, with :func:`~linkcheck.model.settings.setting`: its type,
default, help, flags and checks. The command line, the config file, ``linkcheck
config`` and the validation below are all derived from these declarations.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from linkcheck._version import __version__
from linkcheck.model.settings import (
    DEFAULT_FIELDS,
    URL_FIELDS,
    Choice,
    FieldSet,
    FilePath,
    Flag,
    HeaderRule,
    HostRule,
    Integer,
    IPNetwork,
    Number,
    Regex,
    Remap,
    Rule,
    Setting,
    SettingError,
    SettingTypeError,
    StatusRanges,
    Text,
    check_header_rule,
    check_host_rule,
    check_remap,
    compile_regex,
    parse_accept,
    parse_fields,
    parse_header_rule,
    parse_host_rule,
    parse_network,
    parse_remap,
    setting,
    table,
    validate,
)

__all__ = [
    "DEFAULT_FIELDS",
    "DEFAULT_PATTERNS",
    "SETTINGS",
    "URL_FIELDS",
    "Config",
    "FailOn",
    "HeaderRule",
    "HostRule",
    "IPNetwork",
    "Method",
    "Remap",
    "Setting",
    "SettingError",
    "SettingTypeError",
    "SizePolicy",
    "VerifyImages",
    "parse_accept",
    "parse_fields",
    "parse_header_rule",
    "parse_host_rule",
    "parse_network",
    "parse_regex",
    "parse_remap",
]

DEFAULT_PATTERNS: tuple[str, ...] = ("*.txt", "*.md", "*.yaml", "*.yml")

KiB = 1024
MiB = 1024 * KiB


class VerifyImages(StrEnum):
    """How much of an image is read beyond its header."""

    HEADER = "header"
    TAIL = "tail"
    FULL = "full"


class SizePolicy(StrEnum):
    """How an image's size is compared with the seed's claim."""

    EXACT = "exact"
    ASPECT = "aspect"
    OFF = "off"


class FailOn(StrEnum):
    """The least verdict that fails the run."""

    FAILED = "failed"
    WARNING = "warning"


class Method(StrEnum):
    """How pages are requested."""

    GET = "get"
    HEAD = "head"


def parse_regex(spec: str) -> str:
    """A regex as given, once it is known to compile."""
    compile_regex(spec)
    return spec


SEEDS, NETWORK, POLICY, IMAGES, SAFETY = (
    "seeds and report", "network", "verdicts and URL rules", "images", "address safety",
)  # fmt: skip

_SECONDS = Number(minimum=0.001)
_PAUSE = Number(minimum=0.0)
_HOST_LIMIT: Rule[HostRule] = Rule(
    parse_host_rule, HostRule, check_host_rule, lambda r: _host_limit_text(r), "PATTERN=N[/SECONDS]"
)
_HEADER: Rule[HeaderRule] = Rule(
    parse_header_rule, HeaderRule, check_header_rule, lambda r: f"{r.pattern}:{r.name}:{r.env}",
    "PATTERN:NAME:ENV_VAR",
)  # fmt: skip
_REMAP: Rule[Remap] = Rule(
    parse_remap, Remap, check_remap, lambda r: f"{r.pattern} {r.replacement}",
    "'REGEX REPLACEMENT'",
)  # fmt: skip
_NETWORK: Rule[IPNetwork] = Rule(
    parse_network, (ipaddress.IPv4Network, ipaddress.IPv6Network), None, str, "CIDR"
)


def _host_limit_text(rule: HostRule) -> str:
    count = "" if rule.concurrency is None else str(rule.concurrency)
    interval = "" if rule.min_interval is None else f"/{rule.min_interval!r}"
    return f"{rule.pattern}={count}{interval}"


@dataclass(frozen=True)
class Config:
    """Every setting of a run; built by the CLI (or by a library caller) and never mutated.

    Values are checked when the Config is made: a bad one raises :class:`SettingError`
    (a ValueError) or :class:`SettingTypeError` (also a TypeError) naming the field.
    Strings are read as the command line reads them (``verify_images="full"``).
    """

    paths: tuple[Path, ...] = setting(
        (Path("seeds"),), FilePath(), "seed files or folders", group=SEEDS, positional=True,
        repeat=True, metavar="PATH", default_text="paths in the config file",
    )  # fmt: skip
    patterns: tuple[str, ...] = setting(
        DEFAULT_PATTERNS, Text(metavar="GLOB"), "seed file name pattern in folders; repeatable",
        "--pattern", group=SEEDS, repeat=True,
    )  # fmt: skip
    fields: frozenset[str] = setting(
        frozenset(DEFAULT_FIELDS), FieldSet(), "URL fields to check: 'all' or a comma list of "
        + ", ".join(URL_FIELDS), "--fields", group=SEEDS, default_text=",".join(DEFAULT_FIELDS),
    )  # fmt: skip
    max_seed_bytes: int = setting(
        2 * MiB, Integer(1), "larger seed files are reported too_large, not read",
        "--max-seed-bytes", group=SEEDS,
    )  # fmt: skip
    output: Path = setting(
        Path("linkcheck-report.json"), FilePath(), "the JSON report, written atomically; "
        "'-' writes it to standard output", "-o", "--output", group=SEEDS,
    )  # fmt: skip

    max_concurrency: int = setting(
        128, Integer(1), "requests in flight in all", "--concurrency", group=NETWORK
    )
    per_host_concurrency: int = setting(
        8, Integer(1), "requests in flight to one host", "--host-concurrency", group=NETWORK
    )
    min_interval: float = setting(
        0.0, _PAUSE, "least time between request starts to one host", "--min-interval",
        group=NETWORK,
    )  # fmt: skip
    host_rules: tuple[HostRule, ...] = setting(
        (), _HOST_LIMIT, "per host pattern concurrency and interval, e.g. '*.example.org=2/0.5'; "
        "repeatable", "--host-limit", group=NETWORK, repeat=True,
    )  # fmt: skip
    connect_timeout: float = setting(
        10.0, _SECONDS, "deadline for connecting", "--connect-timeout", group=NETWORK
    )
    read_timeout: float = setting(
        10.0, _SECONDS, "longest silence while reading", "--read-timeout", group=NETWORK
    )
    request_timeout: float = setting(
        20.0, _SECONDS, "deadline for one request, body included", "--timeout", group=NETWORK
    )
    max_duration: float | None = setting(
        None, _SECONDS, "stop the run after this long; unfinished checks are skipped",
        "--max-duration", group=NETWORK, optional=True, default_text="no limit",
    )  # fmt: skip
    retries: int = setting(
        2, Integer(0, 100), "retries of transient failures, 0 disables", "--retries",
        group=NETWORK,
    )  # fmt: skip
    retry_backoff: float = setting(
        0.5, _PAUSE, "first retry waits up to this, doubling each time (full jitter)",
        "--retry-backoff", group=NETWORK,
    )  # fmt: skip
    retry_after_cap: float = setting(
        60.0, _PAUSE, "a longer Retry-After is not waited out: the check ends rate_limited",
        "--retry-after-cap", group=NETWORK,
    )  # fmt: skip
    recheck: bool = setting(
        True, Flag(), "skip the end-of-run recheck of transient failures", "--no-recheck",
        group=NETWORK, negated=True,
    )  # fmt: skip
    max_redirects: int = setting(
        10, Integer(0, 100), "redirects followed", "--max-redirects", group=NETWORK
    )
    method: Method = setting(
        Method.GET, Choice(Method), "'head' tries HEAD first for pages and falls back to GET "
        "when it is not 2xx", "--method", group=NETWORK,
    )  # fmt: skip
    page_body_bytes: int = setting(64 * KiB, Integer(1), "bytes of a page's body read")
    max_image_bytes: int = setting(
        2 * MiB, Integer(1), "most bytes read to find an image's size", "--max-image-bytes",
        group=IMAGES,
    )  # fmt: skip
    image_first_bytes: int = setting(4 * KiB, Integer(1), "bytes of an image's first read")
    verify_images: VerifyImages = setting(
        VerifyImages.TAIL, Choice(VerifyImages), "'tail' also checks the file's end marker "
        "with one suffix Range request; 'full' downloads and decodes; 'header' reads the size "
        "only", "--verify-images", group=IMAGES,
    )  # fmt: skip
    size_policy: SizePolicy = setting(
        SizePolicy.EXACT, Choice(SizePolicy), "'aspect' accepts the claimed aspect ratio at "
        "any scale", "--size-policy", group=IMAGES,
    )  # fmt: skip
    size_tolerance: int = setting(
        0, Integer(0, metavar="PX"), "pixels a side may differ from the claim",
        "--size-tolerance", group=IMAGES,
    )  # fmt: skip
    aspect_tolerance: float = setting(0.01, Number(0.0), "relative aspect-ratio difference")
    max_response_bytes: int = setting(
        64 * MiB, Integer(1), "most bytes read from any response", "--max-response-bytes",
        group=NETWORK,
    )  # fmt: skip
    user_agent: str = setting(
        f"linkcheck/{__version__}", Text(), "the User-Agent header", "--user-agent",
        group=NETWORK,
    )  # fmt: skip
    headers: tuple[HeaderRule, ...] = setting(
        (), _HEADER, "send header NAME to matching hosts, its value read from ENV_VAR "
        "(never written to a report); repeatable", "--header", group=NETWORK, repeat=True,
        widens=True,
    )  # fmt: skip
    http2: bool = setting(
        False, Flag(), "offer HTTP/2 (needs the http2 extra; uses httpx's own, slower "
        "transport)", "--http2", group=NETWORK,
    )  # fmt: skip
    ca_bundle: Path | None = setting(
        None, FilePath(), "trust these CAs", "--ca-bundle", group=NETWORK, optional=True,
        widens=True, default_text="system store",
    )  # fmt: skip
    insecure: bool = setting(
        False, Flag(), "do not verify TLS certificates", "--insecure", group=NETWORK,
        widens=True,
    )  # fmt: skip
    trust_env: bool = setting(
        True, Flag(), "ignore HTTP_PROXY / HTTPS_PROXY / NO_PROXY", "--no-env-proxy",
        group=NETWORK, negated=True,
    )  # fmt: skip

    accept: tuple[tuple[int, int], ...] = setting(
        ((200, 299),), StatusRanges(), "HTTP statuses that count as ok, e.g. '200-299,403'",
        "--accept", group=POLICY,
    )  # fmt: skip
    fail_on: FailOn = setting(
        FailOn.FAILED, Choice(FailOn), "'warning' makes warnings fail the run too",
        "--fail-on", group=POLICY,
    )  # fmt: skip
    include: tuple[str, ...] = setting(
        (), Regex(), "check only URLs matching; wins over --exclude; repeatable", "--include",
        group=POLICY, repeat=True,
    )  # fmt: skip
    exclude: tuple[str, ...] = setting(
        (), Regex(), "skip URLs matching (reported skipped/excluded); repeatable", "--exclude",
        group=POLICY, repeat=True,
    )  # fmt: skip
    remap: tuple[Remap, ...] = setting(
        (), _REMAP, "request another URL instead, e.g. a staging mirror; repeatable", "--remap",
        group=POLICY, repeat=True,
    )  # fmt: skip

    allow_hosts: tuple[str, ...] = setting(
        (), Text(metavar="PATTERN"), "let host NAMES matching resolve to non-public "
        "addresses; repeatable", "--allow-host", group=SAFETY, repeat=True, widens=True,
    )  # fmt: skip
    allow_networks: tuple[IPNetwork, ...] = setting(
        (), _NETWORK, "let requests reach this non-public network, e.g. 127.0.0.0/8; "
        "repeatable", "--allow-network", group=SAFETY, repeat=True, widens=True,
    )  # fmt: skip

    seed_window: int = setting(4096, Integer(1), "seeds in flight at once")

    def __post_init__(self) -> None:
        validate(self)


#: The settings table of Config, in field order.
SETTINGS: tuple[Setting, ...] = table(Config)
