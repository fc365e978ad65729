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
from linkcheck.model.amp import DEFAULT_CACHE_DOMAIN, parse_cache_domain
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
from linkcheck.model.shards import SHARD, Shard

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
    "MaxAge",
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
STORE = "results store"
#: Where ``--cache`` without a path keeps the results store, from the working directory.
DEFAULT_CACHE = Path(".linkcheck/cache.sqlite")
#: How long a stored outcome is used without asking again, unless --cache-max-age says.
DEFAULT_MAX_AGE = 86400.0
#: Runs of history kept per URL; --fail-after cannot look further back.
HISTORY_RUNS = 20
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
#: What --cache-max-age KIND=AGE may name: pages (and AMP pages) or images.
MAX_AGE_KINDS = ("pages", "images")


def parse_duration(text: str) -> float:
    """``90s``, ``15m``, ``12h``, ``7d``, ``2w`` or plain seconds, as seconds."""
    spec = text.strip().lower()
    unit = spec[-1:] if spec[-1:] in _UNITS else "s"
    number = spec[:-1] if spec[-1:] in _UNITS else spec
    try:
        value = float(number) * _UNITS[unit]
    except ValueError:
        raise ValueError(f"expected a duration such as 90s, 12h or 7d, not {text!r}") from None
    if not 0 <= value < float("inf"):
        raise ValueError(f"a duration must be 0 or more, not {text!r}")
    return value


def duration_text(seconds: float) -> str:
    """The shortest ``parse_duration`` text for ``seconds`` (``86400`` is ``1d``)."""
    for unit in ("w", "d", "h", "m"):
        if seconds and seconds % _UNITS[unit] == 0:
            return f"{int(seconds // _UNITS[unit])}{unit}"
    return f"{seconds:g}s"


@dataclass(frozen=True)
class MaxAge:
    """How long a stored outcome of ``kind`` (None: every kind) is used without a request."""

    seconds: float
    kind: str | None = None


def parse_max_age(spec: str) -> MaxAge:
    """``AGE`` for every kind, or ``KIND=AGE`` with KIND ``pages`` or ``images``."""
    kind, _, age = spec.rpartition("=")
    return check_max_age(MaxAge(parse_duration(age), kind.strip().lower() or None))


def check_max_age(rule: MaxAge) -> MaxAge:
    if rule.kind is not None and rule.kind not in MAX_AGE_KINDS:
        raise ValueError(f"unknown kind {rule.kind!r}: choose {' or '.join(MAX_AGE_KINDS)}")
    if not 0 <= rule.seconds < float("inf"):
        raise ValueError(f"a duration must be 0 or more, not {rule.seconds!r}")
    return rule


def _max_age_text(rule: MaxAge) -> str:
    age = duration_text(rule.seconds)
    return age if rule.kind is None else f"{rule.kind}={age}"


@dataclass(frozen=True)
class CacheFile(FilePath):
    """The results store's file; ``true`` in a config file names the default one."""

    metavar: str = "PATH"
    expected: str = "a file name, or true"

    def check(self, value: object) -> Path:
        if value is True:
            return DEFAULT_CACHE
        return super().check(value)


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

_CACHE_DOMAIN: Rule[str] = Rule(parse_cache_domain, str, None, str, "DOMAIN")


_MAX_AGE: Rule[MaxAge] = Rule(parse_max_age, MaxAge, check_max_age, _max_age_text, "[KIND=]AGE")


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
    files_from: Path | None = setting(
        None, FilePath(), "check only the seeds named in FILE, one path a line, as git diff "
        "--name-only prints them ('-': standard input); other paths are ignored with a note",
        "--files-from", group=SEEDS, optional=True,
    )  # fmt: skip
    changed_since: str | None = setting(
        None, Text(metavar="REF"), "check only the seeds changed since git REF (git diff "
        "--name-only REF)", "--changed-since", group=SEEDS, optional=True,
    )  # fmt: skip
    path_base: Path | None = setting(
        None, FilePath(metavar="DIR"), "name seed files relative to this folder in every "
        "report", "--path-base", group=SEEDS, optional=True, default_text="the current folder",
    )  # fmt: skip

    max_concurrency: int = setting(
        128, Integer(1), "requests in flight in all", "--concurrency", group=NETWORK
    )
    per_host_concurrency: int = setting(
        8, Integer(1), "requests in flight to one host", "--host-concurrency", group=NETWORK
    )
    workers: int | None = setting(
        None, Integer(1, 64), "worker processes that fetch, hosts split among them (each "
        "host's limits hold as in one process); 1 fetches in the main process", "--workers",
        group=NETWORK, optional=True, default_text="usable CPUs less one, 1 to 8",
    )  # fmt: skip
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
    url_budget: float = setting(
        30.0, _SECONDS, "time all tries of one URL may take, backoff and the recheck included; "
        "a timeout is retried at most once, and only within it", "--url-budget", group=NETWORK,
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
    check_image_cache: bool = setting(
        False, Flag(), "also request the AMP-cache copy (--amp-cache-domain) of every image "
        "with an isCached claim and judge it against the original", "--check-image-cache",
        group=IMAGES,
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
    dns_concurrency: int = setting(
        4, Integer(1, 256), "host-name lookups in flight (each host is looked up once a run; "
        "many resolvers limit query rates)", "--dns-concurrency", group=NETWORK,
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
    allow_partial: bool = setting(
        False, Flag(), "let a run stopped by --max-duration pass with checks left undone "
        "(otherwise it exits 1)", "--allow-partial", group=POLICY,
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
    amp_cache_domain: str = setting(
        DEFAULT_CACHE_DOMAIN, _CACHE_DOMAIN, "the AMP cache whose URL form cdnAmpWebUrl must "
        "have (and whose image copies --check-image-cache requests)", "--amp-cache-domain",
        group=POLICY,
    )  # fmt: skip
    shard: Shard | None = setting(
        None, SHARD, "check only URLs whose requested host falls in shard K of N (one job of a "
        "CI matrix); the others are reported skipped/not_in_shard; join the reports with "
        "linkcheck merge", "--shard", group=POLICY, optional=True, default_text="no shards",
    )  # fmt: skip

    cache: Path | None = setting(
        None, CacheFile(), "keep each URL's outcome between runs in this SQLite file; "
        f"--cache alone: {DEFAULT_CACHE}", "--cache", group=STORE, optional=True,
        default_text="off", const=DEFAULT_CACHE,
    )  # fmt: skip
    use_cache: bool = setting(
        True, Flag(), "neither read nor write the results store, whatever --cache or a config "
        "file say", "--no-cache", group=STORE, negated=True,
    )  # fmt: skip
    cache_max_age: tuple[MaxAge, ...] = setting(
        (MaxAge(DEFAULT_MAX_AGE),), _MAX_AGE, "use a stored outcome without a request for this "
        "long (90s, 12h, 7d; KIND=AGE for pages or images only); repeatable",
        "--cache-max-age", group=STORE, repeat=True,
    )  # fmt: skip
    fail_after: int = setting(
        1, Integer(1, HISTORY_RUNS), "a URL that fails fewer than N runs in a row after "
        "passing is a flaky warning, not a failure (needs --cache)", "--fail-after",
        group=STORE,
    )  # fmt: skip
    baseline: Path | None = setting(
        None, FilePath(), "problems already in this JSON report are reported known and do not "
        "fail the run", "--baseline", group=STORE, optional=True, metavar="REPORT.json",
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
