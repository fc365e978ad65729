"""The three commands: ``check``, ``report`` and ``config``; exit codes are decided here."""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib.util
import logging
import os
import sys
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from linkcheck.cli.cache import cache_command
from linkcheck.cli.configfile import (
    FileSettings,
    UsageError,
    find_config_file,
    load_config_file,
)
from linkcheck.cli.fix import fix_command
from linkcheck.cli.lint import lint
from linkcheck.cli.merge import merge_command
from linkcheck.cli.options import (
    CONFIG_FIELDS,
    PRESENTATION,
    PRESENTATION_FIELDS,
    ROWS,
    STDOUT,
    Presentation,
    build_parser,
    given,
)
from linkcheck.cli.outputs import (
    output_target,
    output_targets,
    refuse_unsafe_outputs,
    write_outputs,
)
from linkcheck.engine import memory
from linkcheck.engine.runner import check
from linkcheck.engine.selection import Selection, SelectionError, select_seeds
from linkcheck.engine.shards import shard_header
from linkcheck.model.config import SETTINGS, Config, FailOn
from linkcheck.model.settings import SettingError, to_toml
from linkcheck.report.baseline import Baseline
from linkcheck.report.document import SavedReport, write_atomically
from linkcheck.report.formats import get_format
from linkcheck.report.formats._common import RebasedView, inert
from linkcheck.report.formats.interface import ReportView
from linkcheck.seeds.reader import find_seed_files

if TYPE_CHECKING:
    from linkcheck.report.progress import LineProgress, LiveProgress

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


@dataclass(frozen=True)
class Effective:
    """The settings in effect for ``check`` and ``config``, and where they came from."""

    config: Config
    presentation: Presentation
    file: Path | None = None
    ignored: tuple[str, ...] = ()


def console() -> NoReturn:
    """The ``linkcheck`` command: :func:`main`, then an exit without the interpreter's teardown.

    Tearing down frees every object of the run one by one (0.1 s after 2,000 seeds,
    more after 100,000) for nothing: the report and the store are written and closed,
    the spool removed and the workers joined by then. The standard streams and log
    handlers are flushed first. Callers in Python use :func:`main`, which returns.
    """
    gc.set_threshold(*memory.RUN_GC_THRESHOLDS)  # the whole command, outputs included
    memory.small_tls_buffers()
    code = main()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing more to write
            stream.flush()
    os._exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "report":
            return _report(args)
        if args.command == "cache":
            return cache_command(args)
        if args.command == "merge":
            return _exit_code(*merge_command(args))
        if args.command == "fix":
            return fix_command(args)
        effective = resolve(args)
        if args.command == "config":
            sys.stdout.write(describe(effective))
            return EXIT_OK
        if args.command == "lint":
            return lint(effective.config, effective.presentation.verbosity)
        return _check(effective)
    except UsageError as exc:
        sys.stderr.write(f"linkcheck: error: {_one_line(str(exc))}\n")
        return EXIT_USAGE


def resolve(args: argparse.Namespace) -> Effective:
    """The command line over the config file over the defaults, checked."""
    cli = given(args)
    if not cli.get("paths"):
        cli.pop("paths", None)
    missing = [str(path) for path in cli.get("paths", ()) if not path.exists()]
    if missing:
        raise UsageError(f"PATH {', '.join(missing)}: no such file or folder")
    named: Path | None = getattr(args, "config", None)
    file: FileSettings | None = None
    if named is not None:
        file = load_config_file(named, named=True)
    else:
        found = find_config_file(Path.cwd())
        if found is not None:  # relative names from it stay relative, as seed paths in reports
            folder = Path(os.path.relpath(found.parent))
            file = load_config_file(found, named=False, folder=folder)
    values = dict(file.values) if file else {}
    if {"quiet", "verbose"} & cli.keys():
        values.pop("quiet", None)
        values.pop("verbose", None)
    values.update(cli)
    if file and file.ignored:
        sys.stderr.write(
            f"linkcheck: warning: {_one_line(str(file.path))}: ignored {', '.join(file.ignored)}: "
            "settings that widen what is reached or sent are read only from a file named with "
            "--config\n"
        )
    return Effective(*_build(values), file.path if file else None, file.ignored if file else ())


def _build(values: dict[str, Any]) -> tuple[Config, Presentation]:
    settings = {name: value for name, value in values.items() if name in CONFIG_FIELDS}
    paths = settings.get("paths")
    if not paths:
        raise UsageError("no PATH given (on the command line or as 'paths' in a config file)")
    if settings.get("http2") and importlib.util.find_spec("h2") is None:
        raise UsageError("--http2 needs the h2 package: pip install 'linkcheck[http2]'")
    unset = [rule.env for rule in settings.get("headers", ()) if rule.env not in os.environ]
    if unset:
        raise UsageError(f"--header needs environment variable {', '.join(unset)}")
    timeout = settings.get("request_timeout", Config.request_timeout)
    settings.setdefault("connect_timeout", min(Config.connect_timeout, timeout))
    settings.setdefault("read_timeout", min(Config.read_timeout, timeout))
    shown = {name: value for name, value in values.items() if name in PRESENTATION_FIELDS}
    try:
        return Config(**settings), Presentation(**shown)
    except SettingError as exc:
        key = next((row.key for row in ROWS if row.name == exc.setting), exc.setting)
        raise UsageError(f"{key}: {exc.problem}") from None


def describe(effective: Effective) -> str:
    """The effective settings as a config file (valid TOML), for ``linkcheck config``.

    Keys are the config-file keys, so ``linkcheck config > linkcheck.toml`` gives a
    file that ``--config linkcheck.toml`` reads back to the same settings. Relative
    file names are as given, that is relative to the current folder.
    """
    lines = [
        "# linkcheck config: the settings in effect, as a config file holds them",
        f"# config file: {effective.file or 'none'}",
    ]
    if effective.ignored:
        ignored = ", ".join(effective.ignored)
        lines.append(f"# ignored from that file, as it was not named with --config: {ignored}")
    groups: dict[str, list[str]] = {}
    for row in ROWS:
        source = effective.presentation if row in PRESENTATION else effective.config
        groups.setdefault(row.group, []).extend(to_toml([row], source))
    for group, shown in groups.items():
        lines += [f"\n# {group}", *shown]
    return "\n".join(lines) + "\n"


def _check(effective: Effective) -> int:
    config, shown = effective.config, effective.presentation
    selection, baseline = _run_inputs(config)
    if selection is not None:
        total = len(selection.files)
        if shown.verbosity >= 0:
            sys.stderr.write(f"linkcheck: {_one_line(selection.summary_line())}\n")
    else:  # a quiet run shows no progress: finding one seed is enough to go on
        found = find_seed_files(config.paths, config.patterns)
        total = sum(1 for _ in found) if shown.verbosity >= 0 else len([*islice(found, 1)])
    if total == 0 and selection is None:
        raise UsageError("no seed files found (patterns: " + " ".join(config.patterns) + ")")
    json_to_stdout = config.output == STDOUT
    if json_to_stdout and any(output.path is None for output in shown.formats):
        raise UsageError("-o - and --format without a PATH both write to standard output")

    def inputs() -> Iterator[Path]:
        yield from find_seed_files(config.paths, config.patterns)
        if effective.file is not None:
            yield effective.file

    refuse_unsafe_outputs([output_target(config.output), *output_targets(shown.formats)], inputs)
    _log_to_stderr(shown.verbosity)
    with _progress(total, shown.verbosity) as progress:
        report = check(
            config, progress=progress, selection=selection, baseline=baseline, warn=_warn
        )
    report.extra.update(shard_header(config))
    view = RebasedView(report, str(config.path_base or Path.cwd()))
    partial_run: str | None = None
    try:
        if json_to_stdout:
            get_format("json").render(view, sys.stdout)
            sys.stdout.write("\n")
        else:
            write_atomically(config.output, partial(get_format("json").render, view))
        write_outputs(view, shown.formats, shown.verbosity, stdout_taken=json_to_stdout)
        if shown.verbosity >= 0 and not json_to_stdout:
            print(f"Report written to {_one_line(str(config.output))}", file=sys.stderr)
        summary = report.summary
        if summary.ok + summary.warning + summary.failed == 0:
            _say_nothing_was_checked(summary.checks, summary.reasons)
        partial_run = _left_undone(view, summary.stopped, total - summary.seeds)
        if partial_run and not config.allow_partial:
            sys.stderr.write(f"linkcheck: {partial_run}: exit {EXIT_FAILED} (--allow-partial "
                             "lets a partial run pass)\n")  # fmt: skip
    except OSError as exc:
        raise UsageError(f"cannot write the report: {exc}") from None
    finally:
        report.discard()
    failing = report.summary.failing(config.fail_on) or bool(
        partial_run and not config.allow_partial
    )
    return _exit_code(report.summary.stopped, failing)


def _say_nothing_was_checked(checks: int, reasons: Mapping[str, int]) -> None:
    """A green run that verified nothing must not pass unnoticed."""
    if checks == 0:
        why = "the seeds name no URL in the fields checked (see --fields)"
    else:
        counts = ", ".join(f"{reason} {count}" for reason, count in sorted(reasons.items()))
        why = f"all {checks} checks were skipped ({counts})"
    sys.stderr.write(f"linkcheck: warning: no URL was checked: {why}\n")


def _left_undone(report: ReportView, stopped: str | None, unread: int = 0) -> str | None:
    """What a run stopped by --max-duration left undone, in words; None when nothing.

    A signal is exit 130 anyway; --max-duration must not turn into a green run that
    verified less than it was asked to.
    """
    if stopped != "timeout":
        return None
    skipped = sum(
        1
        for seed in report.seeds()
        for item in seed.get("checks") or ()
        if item.get("verdict") == "skipped" and item.get("reason") == "timeout"
    )
    if not skipped and unread <= 0:
        return None
    parts = [f"{skipped} check{'s' if skipped != 1 else ''}"] if skipped else []
    if unread > 0:
        parts.append(f"{unread} seed file{'s' if unread != 1 else ''}")
    return f"the run reached --max-duration with {' and '.join(parts)} left undone"


def _report(args: argparse.Namespace) -> int:
    """Render a saved report; exit as ``check`` did for that run."""
    path: Path = args.report
    options = given(args, exclude=("report", "fail_on", "allow_partial"))
    try:
        shown = Presentation(**options)
    except SettingError as exc:
        raise UsageError(str(exc)) from None
    fail_on: FailOn = getattr(args, "fail_on", FailOn.FAILED)
    try:
        saved = SavedReport.stream(path)
        deque(saved.seeds(), maxlen=0)  # every seed validated before anything is written
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise UsageError(f"{path}: {exc}") from None
    refuse_unsafe_outputs(output_targets(shown.formats), lambda: [path])
    view = RebasedView(saved, os.getcwd())
    try:
        write_outputs(view, shown.formats, shown.verbosity)
    except OSError as exc:
        raise UsageError(f"cannot write an output: {exc}") from None
    undone = None if getattr(args, "allow_partial", False) else _left_undone(saved, saved.stopped)
    if undone:
        sys.stderr.write(f"linkcheck: {undone}: exit {EXIT_FAILED}\n")
    return _exit_code(saved.stopped, saved.failing(fail_on) or undone is not None)


def _exit_code(stopped: str | None, failing: bool) -> int:
    if stopped == "interrupted":
        return EXIT_INTERRUPTED
    return EXIT_FAILED if failing else EXIT_OK


def _progress(
    total: int, verbosity: int
) -> LiveProgress | LineProgress | contextlib.nullcontext[None]:
    """The bar on a terminal, a line every 10 s in logs; nothing at all when quiet (the
    run then counts nothing for it: at 100,000 seeds that is half a million updates)."""
    if verbosity < 0:
        return contextlib.nullcontext()
    from linkcheck.report.progress import LineProgress, LiveProgress  # rich's bar: 8 ms

    if sys.stderr.isatty():
        return LiveProgress(total, sys.stderr)
    return LineProgress(total, sys.stderr, interval=10.0)


def _run_inputs(config: Config) -> tuple[Selection | None, Baseline | None]:
    """The seeds to check (--files-from, --changed-since) and the baseline, read up front."""
    try:
        selection = select_seeds(config)
    except SelectionError as exc:
        raise UsageError(str(exc)) from None
    if config.baseline is None:
        return selection, None
    try:
        return selection, Baseline.load(config.baseline)
    except OSError as exc:
        raise UsageError(f"--baseline {config.baseline}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise UsageError(f"--baseline {config.baseline}: {exc}") from None


def _warn(text: str) -> None:
    sys.stderr.write(f"linkcheck: warning: {_one_line(text)}\n")


def _one_line(text: str) -> str:
    """A message on one line, control characters (and CI log commands) shown escaped."""
    return inert(" ".join(text.splitlines()))


class _InertFormatter(logging.Formatter):
    """Debug lines name seed paths and URLs: each line of them is escaped for the terminal."""

    def format(self, record: logging.LogRecord) -> str:
        return "\n".join(inert(line) for line in super().format(record).splitlines())


def _log_to_stderr(verbosity: int) -> None:
    """At -v, what the run logged (contained failures with their tracebacks) goes to stderr."""
    if verbosity <= 0:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_InertFormatter("linkcheck: %(levelname)s: %(message)s"))
    logger = logging.getLogger("linkcheck")
    for old in [h for h in logger.handlers if isinstance(h.formatter, _InertFormatter)]:
        logger.removeHandler(old)  # main() called again in one process (tests, a library)
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)


__all__ = ["SETTINGS", "Effective", "describe", "main", "resolve"]
