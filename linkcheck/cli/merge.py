"""``linkcheck merge``: join shard reports into the report of the whole run, and render it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from linkcheck.cli.configfile import UsageError
from linkcheck.cli.options import STDOUT, Presentation, given
from linkcheck.cli.outputs import (
    output_target,
    output_targets,
    refuse_unsafe_outputs,
    write_outputs,
)
from linkcheck.model.config import Config, FailOn
from linkcheck.model.settings import SettingError
from linkcheck.report.document import SavedReport, write_atomically
from linkcheck.report.formats import get_format
from linkcheck.report.formats._common import inert
from linkcheck.report.merge import MergeError, merge_reports


def merge_command(args: argparse.Namespace) -> tuple[str | None, bool]:
    """Merge, write the JSON report and the formats; (why the run stopped, whether it fails).

    Every refusal (a report that is not a shard of the same run, a shard missing or
    given twice, an output over an input) is a UsageError before anything is written.
    """
    paths: list[Path] = list(args.reports)
    output: Path = getattr(args, "output", Config.output)
    fail_on: FailOn = getattr(args, "fail_on", FailOn.FAILED)
    try:
        shown = Presentation(**given(args, exclude=("reports", "output", "fail_on")))
    except SettingError as exc:
        raise UsageError(str(exc)) from None
    json_to_stdout = output == STDOUT
    if json_to_stdout and any(item.path is None for item in shown.formats):
        raise UsageError("-o - and --format without a PATH both write to standard output")
    refuse_unsafe_outputs([output_target(output), *output_targets(shown.formats)], lambda: paths)
    reports = [(str(path), _load(path)) for path in paths]
    try:
        merged = merge_reports(reports)
    except MergeError as exc:
        raise UsageError(str(exc)) from None
    try:
        if json_to_stdout:
            get_format("json").render(merged, sys.stdout)
        else:
            write_atomically(output, lambda stream: get_format("json").render(merged, stream))
        write_outputs(merged, shown.formats, shown.verbosity, stdout_taken=json_to_stdout)
    except OSError as exc:
        raise UsageError(f"cannot write the report: {exc}") from None
    if shown.verbosity >= 0 and not json_to_stdout:
        print(f"Merged {len(reports)} shard reports into {inert(str(output))}", file=sys.stderr)
    return merged.stopped, merged.failing(fail_on)


def _load(path: Path) -> SavedReport:
    """The report's header now; its seeds are read and validated one by one during the merge."""
    try:
        return SavedReport.stream(path)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise UsageError(f"{path}: {exc}") from None
