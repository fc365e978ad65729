"""Where results go: safe output paths, the requested formats, the terminal summary."""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from pathlib import Path

from linkcheck.cli.configfile import UsageError
from linkcheck.cli.options import STDOUT, Output
from linkcheck.report.document import write_atomically
from linkcheck.report.formats import get_format
from linkcheck.report.formats._common import RebasedView
from linkcheck.report.formats.interface import ReportView
from linkcheck.report.formats.markdown import MarkdownFormat
from linkcheck.report.formats.terminal import TerminalFormat


def refuse_unsafe_outputs(
    targets: Sequence[tuple[str, Path]], inputs: Callable[[], Iterable[Path]]
) -> None:
    """Raise UsageError unless every output path may be (over)written.

    ``targets`` pairs each path with how the user named it (``-o r.json``).

    An output is never written over a directory, a device, FIFO or socket, or a
    file that is an input of the command (``inputs`` is called only when some
    output already exists as a regular file). ``-`` is standard output.
    """
    existing: dict[tuple[int, int], str] = {}
    seen: dict[Path, str] = {}
    for named, path in targets:
        if path == STDOUT:
            continue
        same = seen.get(Path(os.path.abspath(path)))
        if same is not None:
            raise UsageError(f"{named}: {same} writes to the same file")
        seen[Path(os.path.abspath(path))] = named
        try:
            info = path.stat()
        except FileNotFoundError:
            _need_writable_folder(named, path)
            continue
        except OSError as exc:
            raise UsageError(f"{named}: cannot write there: {exc.strerror or exc}") from None
        if stat.S_ISDIR(info.st_mode):
            raise UsageError(f"{named} is a directory; name a file")
        if not stat.S_ISREG(info.st_mode):
            raise UsageError(
                f"{named} is not a regular file (a device, FIFO or socket); "
                "refusing to write over it (use '-' for standard output)"
            )
        existing[(info.st_dev, info.st_ino)] = named
    if not existing:
        return
    for source in inputs():
        try:
            info = source.stat()
        except OSError:
            continue
        hit = existing.get((info.st_dev, info.st_ino))
        if hit is not None:
            raise UsageError(f"{hit} is an input ({source}); refusing to write over it")


def _need_writable_folder(named: str, path: Path) -> None:
    """The nearest existing folder above a new output must be a writable directory."""
    for folder in Path(os.path.abspath(path)).parents:
        if folder.exists():
            if not folder.is_dir():
                raise UsageError(f"{named}: {folder} is not a directory")
            if not os.access(folder, os.W_OK | os.X_OK):
                raise UsageError(f"{named}: cannot write in {folder}: permission denied")
            return


def write_outputs(
    report: ReportView, outputs: Sequence[Output], verbosity: int, *, stdout_taken: bool = False
) -> None:
    """Every requested format, the CI extras, then the terminal summary.

    On GitHub Actions, annotations are printed and the Markdown summary is appended
    to the job summary without being asked for (not when standard output already
    carries the JSON report). The summary goes to stderr when stdout holds an output.
    """
    chosen = list(outputs)
    on_github = os.environ.get("GITHUB_ACTIONS") == "true"
    if on_github and not stdout_taken and all(o.name != "github" for o in chosen):
        chosen.append(Output("github", None))
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        append_step_summary(Path(step_summary), report)
    workspace = os.environ.get("GITHUB_WORKSPACE")
    to_stdout = stdout_taken
    for output in chosen:
        renderer = get_format(output.name)
        shown = report
        if output.name == "github" and workspace:  # annotations are placed by workspace paths
            shown = RebasedView(report, workspace)
        if output.path is None:
            renderer.render(shown, sys.stdout)
            to_stdout = True
        else:
            write_atomically(output.path, partial(renderer.render, shown))
    TerminalFormat(verbosity).render(report, sys.stderr if to_stdout else sys.stdout)


#: GitHub shows a step summary of at most 1 MiB (and none at all past it).
STEP_SUMMARY_LIMIT = 1024 * 1024
#: Room left for whatever else the job adds to the same step's summary.
_STEP_SUMMARY_MARGIN = 8 * 1024


def append_step_summary(path: Path, report: ReportView) -> None:
    """Append the Markdown summary to ``$GITHUB_STEP_SUMMARY``, within GitHub's 1 MiB."""
    try:
        used = path.stat().st_size
    except OSError:
        used = 0
    room = STEP_SUMMARY_LIMIT - _STEP_SUMMARY_MARGIN - used
    with open(path, "a", encoding="utf-8") as stream:
        if room >= 4096:
            MarkdownFormat(limit=room).render(report, stream)
        elif room > 0:
            stream.write(
                "\nlinkcheck: the step summary is full; the JSON report has every check.\n"
            )


def output_targets(outputs: Sequence[Output]) -> list[tuple[str, Path]]:
    """The files ``--format NAME:PATH`` names, for :func:`refuse_unsafe_outputs`."""
    return [(f"--format {o.name}:{o.path}", o.path) for o in outputs if o.path is not None]


def output_target(path: Path) -> tuple[str, Path]:
    """The JSON report's path (``-o``), for :func:`refuse_unsafe_outputs`."""
    return (f"-o {path}", path)
