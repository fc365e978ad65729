"""Command line: argv -> Config -> run -> outputs -> exit code; nothing else.

Every option of ``check`` is stored under the name of the Config field it
sets, so the command line maps onto Config one to one.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields, is_dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from linkcheck._version import __version__
from linkcheck.engine.runner import check
from linkcheck.model.config import (
    DEFAULT_FIELDS,
    DEFAULT_PATTERNS,
    Config,
    ConfigFileError,
    find_config_file,
    parse_accept,
    parse_fields,
    parse_header_rule,
    parse_host_rule,
    parse_network,
    parse_regex,
    parse_remap,
    read_config_file,
)
from linkcheck.report.document import SavedReport, write_atomically
from linkcheck.report.formats import FORMATS, get_format
from linkcheck.report.formats.interface import ReportView
from linkcheck.report.formats.terminal import TerminalFormat
from linkcheck.report.progress import LineProgress, LiveProgress
from linkcheck.seeds.reader import find_seed_files

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
        description="Check seed files and write a report. Defaults are shown in brackets; "
        "every option can also be set in linkcheck.toml or [tool.linkcheck] of pyproject.toml.",
    )
    add_check_options(run)
    render = commands.add_parser(
        "report", help="render a saved JSON report in other formats (no network access)"
    )
    render.add_argument("report", type=Path, metavar="REPORT.json")
    _output_options(render)
    show = commands.add_parser(
        "config",
        help="print the effective configuration",
        argument_default=argparse.SUPPRESS,
    )
    add_check_options(show)
    return parser


def add_check_options(parser: argparse.ArgumentParser) -> None:
    """Every option of ``check`` (``config`` takes the same, to show their effect)."""
    parser.add_argument(
        "paths", nargs="*", type=Path, metavar="PATH", help="seed files or folders [paths key]"
    )
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="config file [nearest linkcheck.toml or pyproject.toml with [tool.linkcheck]]",
    )
    _seed_options(parser.add_argument_group("seeds and report"))
    _network_options(parser.add_argument_group("network"))
    _policy_options(parser.add_argument_group("verdicts and URL rules"))
    _image_options(parser.add_argument_group("images"))
    _safety_options(parser.add_argument_group("address safety"))
    _output_options(parser)


def _output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format",
        dest="formats",
        action="append",
        type=_checked(parse_output),
        metavar="NAME[:PATH]",
        help="also write this format (" + ", ".join(sorted(FORMATS)) + ") to PATH, "
        "or to standard output; repeatable",
    )
    loudness = parser.add_mutually_exclusive_group()
    loudness.add_argument("-q", "--quiet", action="store_true", help="print only problems")
    loudness.add_argument("-v", "--verbose", action="store_true", help="print every check")


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
    group.add_argument(
        "--http2",
        action="store_true",
        help="offer HTTP/2 (needs the http2 extra; uses httpx's own, slower transport)",
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
     "allow_hosts", "formats"}
)  # fmt: skip
#: Options that steer the command, not the check: kept out of Config.
_NOT_CONFIG = frozenset({"command", "config", "quiet", "verbose", "formats"})
#: Settings naming files: relative values in a config file are taken from its folder.
_FILE_SETTINGS = frozenset({"paths", "output", "ca_bundle"})


@dataclass(frozen=True)
class Output:
    """One requested output: a format name and a file, or standard output when None."""

    name: str
    path: Path | None


def parse_output(spec: str) -> Output:
    name, _, path = spec.partition(":")
    get_format(name)
    return Output(name, Path(path) if path else None)


def settings_from(args: argparse.Namespace) -> tuple[dict[str, Any], Path | None]:
    """The command line over the config file: every setting given, and the file used."""
    given = {name: value for name, value in vars(args).items() if name != "command"}
    file = given.pop("config", None) or find_config_file(Path.cwd())
    settings = _file_settings(file) if file is not None else {}
    if not given.get("paths"):
        given.pop("paths", None)
    settings.update(given)
    return settings, file


def _file_settings(path: Path) -> dict[str, Any]:
    """Read a config file through the same option parser as the command line."""
    try:
        table = read_config_file(path)
    except ConfigFileError as exc:
        raise UsageError(str(exc)) from exc
    parser = argparse.ArgumentParser(
        prog=f"linkcheck ({path})", argument_default=argparse.SUPPRESS, exit_on_error=False
    )
    add_check_options(parser)
    options = {
        max(action.option_strings, key=len).lstrip("-").replace("-", "_"): action
        for action in parser._actions
        if action.option_strings and action.dest not in ("help", "config")
    }
    argv: list[str] = []
    for key, value in table.items():
        if key == "paths":
            argv += [str(item) for item in _as_list(path, key, value)]
            continue
        action = options.get(key)
        if action is None:
            known = ", ".join(sorted(["paths", *options]))
            raise UsageError(f"{path}: unknown key {key!r} (known keys: {known})")
        argv += _as_argv(path, key, value, action)
    try:
        found = vars(parser.parse_args(argv))
    except argparse.ArgumentError as exc:
        raise UsageError(f"{path}: {exc}") from exc
    for name in _FILE_SETTINGS & found.keys():
        found[name] = _from_folder(path.parent, found[name])
    return found


def _as_argv(path: Path, key: str, value: Any, action: argparse.Action) -> list[str]:
    flag = max(action.option_strings, key=len)
    if action.nargs == 0:
        if not isinstance(value, bool):
            raise UsageError(f"{path}: {key} must be true or false, not {value!r}")
        return [flag] if value else []
    if action.dest in _LISTS:
        return [part for item in _as_list(path, key, value) for part in (flag, item)]
    if isinstance(value, bool | list | dict):
        raise UsageError(f"{path}: {key} must be a single value, not {value!r}")
    return [flag, str(value)]


def _as_list(path: Path, key: str, value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    if any(isinstance(item, bool | list | dict) for item in items):
        raise UsageError(f"{path}: {key} must be a list of strings or numbers, not {value!r}")
    return [str(item) for item in items]


def _from_folder(folder: Path, value: Any) -> Any:
    if isinstance(value, list):
        return [_from_folder(folder, item) for item in value]
    return value if value.is_absolute() else folder / value


def config_from(settings: dict[str, Any]) -> Config:
    """The Config for ``check``: defaults, overridden by every setting given."""
    values: dict[str, Any] = {
        name: tuple(value) if name in _LISTS else value
        for name, value in settings.items()
        if name not in _NOT_CONFIG
    }
    paths = values.get("paths")
    if not paths:
        raise UsageError("no PATH given (on the command line or as 'paths' in a config file)")
    missing = [str(path) for path in paths if not path.exists()]
    if missing:
        raise UsageError(f"no such file or folder: {', '.join(missing)}")
    if values.get("http2") and importlib.util.find_spec("h2") is None:
        raise UsageError("--http2 needs the h2 package: pip install 'linkcheck[http2]'")
    unset = [rule.env for rule in values.get("headers", ()) if rule.env not in os.environ]
    if unset:
        raise UsageError(f"--header needs environment variable {', '.join(unset)}")
    timeout = values.get("request_timeout", Config.request_timeout)
    values.setdefault("connect_timeout", min(Config.connect_timeout, timeout))
    values.setdefault("read_timeout", min(Config.read_timeout, timeout))
    return Config(**values)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "report":
            return _render_saved(args)
        settings, file = settings_from(args)
        config = config_from(settings)
        if args.command == "config":
            sys.stdout.write(describe(config, file))
            return EXIT_OK
        total = sum(1 for _ in find_seed_files(config.paths, config.patterns))
        if total == 0:
            raise UsageError("no seed files found (patterns: " + " ".join(config.patterns) + ")")
    except UsageError as exc:
        parser.exit(EXIT_USAGE, f"linkcheck: error: {exc}\n")
    verbosity = _verbosity(settings)
    with _progress(total, verbosity) as progress:
        report = check(config, progress=progress)
    try:
        report.save(config.output)
        _write_outputs(report, settings.get("formats", ()), verbosity)
        if verbosity >= 0:
            print(f"Report written to {config.output}", file=sys.stderr)
    except OSError as exc:
        parser.exit(EXIT_USAGE, f"linkcheck: error: cannot write the report: {exc}\n")
    finally:
        report.discard()
    if report.summary.stopped == "interrupted":
        return EXIT_INTERRUPTED
    return EXIT_FAILED if report.summary.failing(config.fail_on) else EXIT_OK


def _verbosity(settings: dict[str, Any]) -> int:
    return -1 if settings.get("quiet") else 1 if settings.get("verbose") else 0


def _progress(total: int, verbosity: int) -> LiveProgress | LineProgress:
    if verbosity >= 0 and sys.stderr.isatty():
        return LiveProgress(total, sys.stderr)
    return LineProgress(total, sys.stderr, interval=10.0 if verbosity >= 0 else float("inf"))


def _write_outputs(report: ReportView, outputs: Sequence[Output], verbosity: int) -> None:
    """Every requested format, the CI extras, then the terminal summary.

    On GitHub Actions, annotations are printed and the Markdown summary is
    appended to the job summary without being asked for.
    """
    chosen = list(outputs)
    if os.environ.get("GITHUB_ACTIONS") == "true" and all(o.name != "github" for o in chosen):
        chosen.append(Output("github", None))
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        with open(step_summary, "a", encoding="utf-8") as stream:
            get_format("markdown").render(report, stream)
    to_stdout = False
    for output in chosen:
        renderer = get_format(output.name)
        if output.path is None:
            renderer.render(report, sys.stdout)
            to_stdout = True
        else:
            write_atomically(output.path, partial(renderer.render, report))
    terminal = TerminalFormat(verbosity)
    terminal.render(report, sys.stderr if to_stdout else sys.stdout)


def _render_saved(args: argparse.Namespace) -> int:
    try:
        saved = SavedReport.load(args.report)
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read {args.report}: {exc}") from exc
    _write_outputs(saved, args.formats or (), _verbosity(vars(args)))
    return EXIT_FAILED if saved.failing else EXIT_OK


def describe(config: Config, file: Path | None) -> str:
    """The effective configuration as TOML-like lines, for ``linkcheck config``."""
    lines = [f"# config file: {file or 'none'}"]
    for item in fields(config):
        lines.append(f"{item.name} = {_shown(getattr(config, item.name))}")
    return "\n".join(lines) + "\n"


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if value is None:
        return '""  # not set'
    if isinstance(value, tuple | frozenset | list):
        items = sorted(value) if isinstance(value, frozenset) else value
        return "[" + ", ".join(_shown(item) for item in items) + "]"
    if is_dataclass(value):
        return "{" + ", ".join(f"{k} = {_shown(v)}" for k, v in asdict(value).items()) + "}"  # type: ignore[arg-type]
    return json.dumps(str(value))
