"""Command line: argv -> Config -> run -> outputs -> exit code; nothing else.

Every option of ``check`` is stored under the name of the Config field it
sets, so the command line maps onto Config one to one.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from linkcheck._version import __version__
from linkcheck.config import (
    DEFAULT_FIELDS,
    DEFAULT_PATTERNS,
    Config,
    parse_accept,
    parse_fields,
    parse_header_rule,
    parse_host_rule,
    parse_network,
    parse_regex,
    parse_remap,
)
from linkcheck.formats import terminal
from linkcheck.report import write_atomically
from linkcheck.runner import check
from linkcheck.seeds import find_seed_files

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
T = TypeVar("T")


class UsageError(Exception):
    """A problem with the command line itself (exit code 2)."""


def _checked(parse: Callable[[str], T]) -> Callable[[str], T]:
    """An argparse type from a parser that raises ValueError with a readable message."""

    def convert(text: str) -> T:
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from exc

    convert.__name__ = parse.__name__.removeprefix("parse_")
    return convert


def _at_least(minimum: float, kind: Callable[[str], T]) -> Callable[[str], T]:
    def parse(text: str) -> T:
        value = kind(text)
        if value < minimum:  # type: ignore[operator]
            raise ValueError(f"must be at least {minimum:g}, not {text}")
        return value

    parse.__name__ = kind.__name__
    return _checked(parse)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="linkcheck",
        description="Check the pages, AMP pages and images named by seed documents.",
    )
    parser.add_argument("--version", action="version", version=f"linkcheck {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser(
        "check",
        help="check seed files and write a report",
        argument_default=argparse.SUPPRESS,
        description="Check seed files and write a report. Defaults are shown in brackets.",
    )
    run.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="seed files or folders")
    _seed_options(run.add_argument_group("seeds and report"))
    _network_options(run.add_argument_group("network"))
    _policy_options(run.add_argument_group("verdicts and URL rules"))
    _image_options(run.add_argument_group("images"))
    _safety_options(run.add_argument_group("address safety"))
    loudness = run.add_mutually_exclusive_group()
    loudness.add_argument("-q", "--quiet", action="store_true", help="print only problems")
    loudness.add_argument("-v", "--verbose", action="store_true", help="print every check")
    return parser


def _seed_options(group: argparse._ArgumentGroup) -> None:
    group.add_argument(
        "-o", "--output", type=Path, metavar="FILE", help=f"JSON report [{Config.output}]"
    )
    group.add_argument(
        "--fields",
        type=_checked(parse_fields),
        help="URL fields to check: 'all' or a comma list [" + ",".join(DEFAULT_FIELDS) + "]",
    )
    group.add_argument(
        "--pattern",
        action="append",
        dest="patterns",
        metavar="GLOB",
        help="seed file name pattern in folders, repeatable [" + " ".join(DEFAULT_PATTERNS) + "]",
    )
    group.add_argument(
        "--max-seed-bytes",
        type=_at_least(1, int),
        metavar="N",
        help=f"larger seed files are not read [{Config.max_seed_bytes}]",
    )


def _network_options(group: argparse._ArgumentGroup) -> None:
    positive = _at_least(1, int)
    seconds = _at_least(0.001, float)
    group.add_argument(
        "--concurrency",
        dest="max_concurrency",
        type=positive,
        metavar="N",
        help=f"requests in flight in all [{Config.max_concurrency}]",
    )
    group.add_argument(
        "--host-concurrency",
        dest="per_host_concurrency",
        type=positive,
        metavar="N",
        help=f"requests in flight to one host [{Config.per_host_concurrency}]",
    )
    group.add_argument(
        "--min-interval",
        type=_at_least(0, float),
        metavar="SECONDS",
        help=f"least time between request starts to one host [{Config.min_interval:g}]",
    )
    group.add_argument(
        "--host-limit",
        dest="host_rules",
        action="append",
        type=_checked(parse_host_rule),
        metavar="PATTERN=N[/SECONDS]",
        help="per-host-pattern concurrency and interval, e.g. '*.example.org=2/0.5'; repeatable",
    )
    group.add_argument(
        "--timeout",
        dest="request_timeout",
        type=seconds,
        metavar="SECONDS",
        help=f"deadline for one request, body included [{Config.request_timeout:g}]",
    )
    group.add_argument(
        "--connect-timeout",
        type=seconds,
        metavar="SECONDS",
        help=f"deadline for connecting [{Config.connect_timeout:g}]",
    )
    group.add_argument(
        "--read-timeout",
        type=seconds,
        metavar="SECONDS",
        help=f"longest silence while reading [{Config.read_timeout:g}]",
    )
    group.add_argument(
        "--max-duration",
        type=seconds,
        metavar="SECONDS",
        help="stop the whole run after this long; unfinished checks are skipped [no limit]",
    )
    group.add_argument(
        "--retries",
        type=_at_least(0, int),
        metavar="N",
        help=f"retries of transient failures, 0 disables [{Config.retries}]",
    )
    group.add_argument(
        "--retry-backoff",
        type=_at_least(0, float),
        metavar="SECONDS",
        help=f"first retry waits up to this, doubling each time (full jitter) "
        f"[{Config.retry_backoff:g}]",
    )
    group.add_argument(
        "--retry-after-cap",
        type=_at_least(0, float),
        metavar="SECONDS",
        help=f"longest Retry-After waited out [{Config.retry_after_cap:g}]",
    )
    group.add_argument(
        "--no-recheck",
        dest="recheck",
        action="store_false",
        help="skip the end-of-run recheck of transient failures",
    )
    group.add_argument(
        "--max-redirects",
        type=_at_least(0, int),
        metavar="N",
        help=f"redirects followed [{Config.max_redirects}]",
    )
    group.add_argument(
        "--method",
        choices=("get", "head"),
        help="'head' tries HEAD first for pages and falls back to GET [get]",
    )
    group.add_argument(
        "--max-response-bytes",
        type=positive,
        metavar="N",
        help=f"most bytes read from any response [{Config.max_response_bytes}]",
    )
    group.add_argument(
        "--user-agent", metavar="TEXT", help=f"User-Agent header [{Config.user_agent}]"
    )
    group.add_argument(
        "--header",
        dest="headers",
        action="append",
        type=_checked(parse_header_rule),
        metavar="PATTERN:NAME:ENV_VAR",
        help="send header NAME to matching hosts, its value read from ENV_VAR; repeatable",
    )
    group.add_argument("--ca-bundle", type=Path, metavar="FILE", help="trust these CAs")
    group.add_argument("--insecure", action="store_true", help="do not verify TLS certificates")
    group.add_argument(
        "--no-env-proxy",
        dest="trust_env",
        action="store_false",
        help="ignore HTTP_PROXY / HTTPS_PROXY / NO_PROXY",
    )


def _policy_options(group: argparse._ArgumentGroup) -> None:
    group.add_argument(
        "--accept",
        type=_checked(parse_accept),
        metavar="RANGES",
        help="HTTP statuses that count as ok, e.g. '200-299,403' [200-299]",
    )
    group.add_argument(
        "--fail-on",
        choices=("failed", "warning"),
        help="'warning' makes warnings fail the run too [failed]",
    )
    group.add_argument(
        "--include",
        action="append",
        type=_checked(parse_regex),
        metavar="REGEX",
        help="check only URLs matching; wins over --exclude; repeatable",
    )
    group.add_argument(
        "--exclude",
        action="append",
        type=_checked(parse_regex),
        metavar="REGEX",
        help="skip URLs matching (reported skipped/excluded); repeatable",
    )
    group.add_argument(
        "--remap",
        action="append",
        type=_checked(parse_remap),
        metavar="'REGEX REPLACEMENT'",
        help="request another URL instead, e.g. a staging mirror; repeatable",
    )


def _image_options(group: argparse._ArgumentGroup) -> None:
    group.add_argument(
        "--verify-images",
        choices=("header", "tail", "full"),
        help="'tail' also checks the file's end marker with one suffix Range request; "
        "'full' downloads and decodes [tail]",
    )
    group.add_argument(
        "--size-policy",
        choices=("exact", "aspect", "off"),
        help="'aspect' accepts the claimed aspect ratio at any scale [exact]",
    )
    group.add_argument(
        "--size-tolerance",
        type=_at_least(0, int),
        metavar="PX",
        help=f"pixels a size may differ from the claim [{Config.size_tolerance}]",
    )
    group.add_argument(
        "--max-image-bytes",
        type=_at_least(1, int),
        metavar="N",
        help=f"most bytes read to find an image's size [{Config.max_image_bytes}]",
    )


def _safety_options(group: argparse._ArgumentGroup) -> None:
    group.add_argument(
        "--allow-network",
        dest="allow_networks",
        action="append",
        type=_checked(parse_network),
        metavar="CIDR",
        help="let requests reach this non-public network, e.g. 127.0.0.0/8; repeatable",
    )
    group.add_argument(
        "--allow-host",
        dest="allow_hosts",
        action="append",
        metavar="PATTERN",
        help="let host NAMES matching resolve to non-public addresses; repeatable",
    )


_LISTS = frozenset(
    {"patterns", "host_rules", "headers", "include", "exclude", "remap", "allow_networks",
     "allow_hosts"}
)  # fmt: skip
_NOT_CONFIG = frozenset({"command", "quiet", "verbose"})


def config_from(args: argparse.Namespace) -> Config:
    """The Config for ``check``: defaults, overridden by every option given."""
    settings: dict[str, Any] = {
        name: tuple(value) if name in _LISTS else value
        for name, value in vars(args).items()
        if name not in _NOT_CONFIG
    }
    missing = [str(path) for path in settings["paths"] if not path.exists()]
    if missing:
        raise UsageError(f"no such file or folder: {', '.join(missing)}")
    settings["paths"] = tuple(settings["paths"])
    unset = [rule.env for rule in settings.get("headers", ()) if rule.env not in os.environ]
    if unset:
        raise UsageError(f"--header needs environment variable {', '.join(unset)}")
    timeout = settings.get("request_timeout", Config.request_timeout)
    settings.setdefault("connect_timeout", min(Config.connect_timeout, timeout))
    settings.setdefault("read_timeout", min(Config.read_timeout, timeout))
    return Config(**settings)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = config_from(args)
        if next(iter(find_seed_files(config.paths, config.patterns)), None) is None:
            raise UsageError("no seed files found (patterns: " + " ".join(config.patterns) + ")")
    except UsageError as exc:
        parser.exit(EXIT_USAGE, f"linkcheck: error: {exc}\n")
    verbosity = -1 if getattr(args, "quiet", False) else 1 if getattr(args, "verbose", False) else 0
    report = check(config)
    try:
        write_atomically(report, config.output)
        terminal.render(report, sys.stdout, verbosity=verbosity)
        if verbosity >= 0:
            print(f"Report written to {config.output}")
    finally:
        report.discard()
    if report.summary.stopped == "interrupted":
        return EXIT_INTERRUPTED
    return EXIT_FAILED if report.summary.failing(config.fail_on) else EXIT_OK
