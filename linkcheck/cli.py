"""Command line: argv -> Config -> run -> outputs -> exit code; nothing else."""

from __future__ import annotations

import argparse
import ipaddress
import sys
from collections.abc import Sequence
from pathlib import Path

from linkcheck._version import __version__
from linkcheck.config import DEFAULT_FIELDS, DEFAULT_PATTERNS, Config, parse_fields
from linkcheck.formats import terminal
from linkcheck.report import write_atomically
from linkcheck.runner import check
from linkcheck.seeds import find_seed_files

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """A problem with the command line itself (exit code 2)."""


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, not {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, not {text}")
    return value


def _network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _fields(text: str) -> frozenset[str]:
    try:
        return parse_fields(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="linkcheck",
        description="Check the pages, AMP pages and images named by seed documents.",
    )
    parser.add_argument("--version", action="version", version=f"linkcheck {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser("check", help="check seed files and write a report")
    run.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="seed files or folders")
    run.add_argument(
        "-o", "--output", type=Path, default=Config.output, help="JSON report file (%(default)s)"
    )
    run.add_argument(
        "--fields",
        type=_fields,
        default=frozenset(DEFAULT_FIELDS),
        help="URL fields to check: 'all' or a comma list (default: "
        + ",".join(DEFAULT_FIELDS)
        + ")",
    )
    run.add_argument(
        "--pattern",
        action="append",
        dest="patterns",
        metavar="GLOB",
        help="file name pattern for seeds in folders, repeatable (default: "
        + " ".join(DEFAULT_PATTERNS)
        + ")",
    )
    run.add_argument(
        "--max-seed-bytes", type=_positive_int, default=Config.max_seed_bytes, metavar="N"
    )
    run.add_argument(
        "--concurrency",
        type=_positive_int,
        default=Config.max_concurrency,
        metavar="N",
        help="requests in flight at once (%(default)s)",
    )
    run.add_argument(
        "--timeout",
        type=_positive_float,
        default=Config.request_timeout,
        metavar="SECONDS",
        help="deadline for each URL, redirects and body included (%(default)s)",
    )
    run.add_argument("--max-redirects", type=int, default=Config.max_redirects, metavar="N")
    run.add_argument(
        "--allow-network",
        type=_network,
        action="append",
        default=[],
        metavar="CIDR",
        help="let requests reach this private network (e.g. 127.0.0.0/8), repeatable",
    )
    run.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="PATTERN",
        help="let host names matching PATTERN resolve to private addresses, repeatable",
    )
    loudness = run.add_mutually_exclusive_group()
    loudness.add_argument("-q", "--quiet", action="store_true", help="print only problems")
    loudness.add_argument("-v", "--verbose", action="store_true", help="print every check")
    return parser


def config_from(args: argparse.Namespace) -> Config:
    missing = [str(path) for path in args.paths if not path.exists()]
    if missing:
        raise UsageError(f"no such file or folder: {', '.join(missing)}")
    timeout = args.timeout
    return Config(
        paths=tuple(args.paths),
        patterns=tuple(args.patterns or DEFAULT_PATTERNS),
        fields=args.fields,
        max_seed_bytes=args.max_seed_bytes,
        output=args.output,
        max_concurrency=args.concurrency,
        request_timeout=timeout,
        connect_timeout=min(Config.connect_timeout, timeout),
        read_timeout=min(Config.read_timeout, timeout),
        max_redirects=args.max_redirects,
        allow_hosts=tuple(args.allow_host),
        allow_networks=tuple(args.allow_network),
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = config_from(args)
        if next(iter(find_seed_files(config.paths, config.patterns)), None) is None:
            raise UsageError("no seed files found (patterns: " + " ".join(config.patterns) + ")")
    except UsageError as exc:
        parser.exit(EXIT_USAGE, f"linkcheck: error: {exc}\n")
    report = check(config)
    try:
        write_atomically(report, config.output)
        verbosity = -1 if args.quiet else 1 if args.verbose else 0
        terminal.render(report, sys.stdout, verbosity=verbosity)
        if verbosity >= 0:
            print(f"Report written to {config.output}")
    finally:
        report.discard()
    return EXIT_OK if report.summary.passed else EXIT_FAILED
