"""The command's own settings, and argparse built from the settings tables.

Config's table (linkcheck.model.config) holds what a check does; :class:`Presentation`
holds what this command shows and writes besides the JSON report. Both tables become
options here, config-file keys in :mod:`linkcheck.cli.configfile`, and lines of
``linkcheck config``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, NoReturn

from linkcheck._version import __version__
from linkcheck.cli.cache import add_cache_command
from linkcheck.cli.fix import add_fix_command
from linkcheck.model.config import SETTINGS, Config
from linkcheck.model.settings import Flag, Rule, Setting, SettingError, setting, table, validate
from linkcheck.report.formats import FORMATS, get_format

#: How ``-o`` and ``--format NAME:PATH`` name standard output.
STDOUT = Path("-")


@dataclass(frozen=True)
class Output:
    """One requested output: a format name and a file, or standard output when None."""

    name: str
    path: Path | None


def parse_output(spec: str) -> Output:
    """``NAME`` (standard output), ``NAME:PATH`` or ``NAME:-``."""
    name, _, path = spec.partition(":")
    return _check_output(Output(name, Path(path) if path else None))


def _check_output(output: Output) -> Output:
    get_format(output.name)
    if output.path is not None and (output.path == STDOUT or not str(output.path)):
        return Output(output.name, None)
    return output


def _output_text(output: Output) -> str:
    return output.name if output.path is None else f"{output.name}:{output.path}"


_OUTPUT: Rule[Output] = Rule(parse_output, Output, _check_output, _output_text, "NAME[:PATH]")
OUTPUT_GROUP = "output"


@dataclass(frozen=True)
class Presentation:
    """Settings of the command rather than of the check: more outputs, and how loud."""

    formats: tuple[Output, ...] = setting(
        (), _OUTPUT, "also write this format (" + ", ".join(sorted(FORMATS)) + ") to PATH, "
        "or to standard output; repeatable", "--format", group=OUTPUT_GROUP, repeat=True,
    )  # fmt: skip
    quiet: bool = setting(False, Flag(), "print only problems", "-q", "--quiet", group=OUTPUT_GROUP)
    verbose: bool = setting(
        False, Flag(), "print every check", "-v", "--verbose", group=OUTPUT_GROUP
    )

    def __post_init__(self) -> None:
        validate(self)
        if self.quiet and self.verbose:
            raise SettingError("quiet", "quiet and verbose exclude each other")
        to_stdout = [output.name for output in self.formats if output.path is None]
        if len(to_stdout) > 1:
            names = " and ".join(f"--format {name}" for name in to_stdout)
            raise SettingError(
                "formats", f"{names} would all write to standard output, mixed: "
                "give all but one a file (--format NAME:PATH)",
            )  # fmt: skip

    @property
    def verbosity(self) -> int:
        return -1 if self.quiet else 1 if self.verbose else 0


PRESENTATION: tuple[Setting, ...] = table(Presentation)
#: Every row that is an option of ``check`` and ``config`` and a config-file key.
ROWS: tuple[Setting, ...] = (*(row for row in SETTINGS if not row.internal), *PRESENTATION)
CONFIG_FIELDS = frozenset(item.name for item in fields(Config))
PRESENTATION_FIELDS = frozenset(item.name for item in fields(Presentation))


class Parser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line (exit 2), without the usage text."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())}\n")


def build_parser() -> Parser:
    parser = Parser(
        prog="linkcheck",
        description="Check the pages, AMP pages and images named by seed documents.",
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"linkcheck {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser(
        "check",
        help="check seed files and write a report",
        argument_default=argparse.SUPPRESS,
        allow_abbrev=False,
        description="Check seed files and write a report. Defaults are shown in brackets; "
        "every option can also be set in linkcheck.toml or [tool.linkcheck] of pyproject.toml.",
    )
    add_check_options(run)
    render = commands.add_parser(
        "report",
        help="render a saved JSON report in other formats (no network access)",
        argument_default=argparse.SUPPRESS,
        allow_abbrev=False,
    )
    render.add_argument(
        "report", type=_path, metavar="REPORT.json", help="a JSON report written by check"
    )
    fail_on = next(row for row in SETTINGS if row.name == "fail_on")
    add_option(render, fail_on)
    add_option(render, next(row for row in SETTINGS if row.name == "allow_partial"))
    _add_presentation(render)
    merge = commands.add_parser(
        "merge",
        help="join the reports of check --shard K/N into one report (no network access)",
        argument_default=argparse.SUPPRESS,
        allow_abbrev=False,
    )
    merge.add_argument(
        "reports", type=_path, nargs="+", metavar="REPORT.json", help="one report per shard"
    )
    add_option(merge, next(row for row in SETTINGS if row.name == "output"))
    add_option(merge, fail_on)
    _add_presentation(merge)
    show = commands.add_parser(
        "config",
        help="print the effective configuration as a config file",
        argument_default=argparse.SUPPRESS,
        allow_abbrev=False,
    )
    add_check_options(show)
    lint = commands.add_parser(
        "lint",
        help="read seed files and report their errors, without any network access",
        argument_default=argparse.SUPPRESS,
        allow_abbrev=False,
        description="Read seed files as check does and report seed errors and URLs that "
        "cannot be requested (for a pre-commit hook); nothing is sent. Exit 1 on any problem.",
    )
    add_check_options(lint)
    add_fix_command(commands)
    add_cache_command(commands)
    return parser


def add_check_options(parser: argparse.ArgumentParser) -> None:
    """Every option of ``check``, from the settings table (``config`` takes the same)."""
    parser.add_argument(
        "--config",
        type=_path,
        metavar="FILE",
        help="config file [nearest linkcheck.toml or pyproject.toml with [tool.linkcheck]]",
    )
    groups: dict[str, Any] = {}
    for row in SETTINGS:
        if row.internal:
            continue
        group = parser if row.positional else groups.get(row.group)
        if group is None:
            group = groups[row.group] = parser.add_argument_group(row.group)
        add_option(group, row)
    _add_presentation(parser)


def _add_presentation(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(OUTPUT_GROUP)
    loudness = group.add_mutually_exclusive_group()
    for row in PRESENTATION:
        add_option(loudness if isinstance(row.type, Flag) else group, row)


def add_option(group: Any, row: Setting) -> None:
    """The argparse option of one settings row, storing under the field's name."""
    shown = row.shown_default()
    text = row.help + (f" [{shown}]" if shown else "")
    text = text.replace("%", "%%")
    if row.positional:
        group.add_argument(
            row.name, nargs="*", type=_converter(row), metavar=row.metavar, help=text
        )
    elif isinstance(row.type, Flag):
        action = "store_false" if row.negated else "store_true"
        group.add_argument(*row.flags, dest=row.name, action=action, help=text)
    else:
        bare = {} if row.const is None else {"nargs": "?", "const": row.const}
        group.add_argument(
            *row.flags,
            dest=row.name,
            type=_converter(row),
            action="append" if row.repeat else "store",
            metavar=row.metavar or row.type.metavar,
            help=text,
            **bare,
        )


def _converter(row: Setting) -> Any:
    def convert(text: str) -> Any:
        try:
            return row.parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = row.name
    return convert


def _path(text: str) -> Path:
    if not text:
        raise argparse.ArgumentTypeError("expected a file name, not an empty string")
    return Path(text)


def given(args: argparse.Namespace, exclude: Sequence[str] = ()) -> dict[str, Any]:
    """The settings given on the command line, by field name."""
    return {
        name: tuple(value) if isinstance(value, list) else value
        for name, value in vars(args).items()
        if name not in ("command", "config", *exclude)
    }
