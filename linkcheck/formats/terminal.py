"""The human summary printed at the end of a run."""

from __future__ import annotations

from typing import IO, Any

from linkcheck.report import Report


def _size(count: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if count < 1000 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000  # type: ignore[assignment]
    return f"{count} B"


def failure_lines(seed: dict[str, Any], *, everything: bool = False) -> list[str]:
    """``path:line field url reason (message)`` for each problem of one seed."""
    lines = []
    path = seed["path"]
    for error in seed["errors"]:
        where = f"{path}:{error['line']}" if error["line"] else path
        lines.append(f"{where} seed {error['reason']} ({error['message']})")
    for check in seed["checks"]:
        if everything or check["verdict"] in ("failed", "warning"):
            where = f"{path}:{check['line']}" if check["line"] else path
            lines.append(
                f"{where} {check['field']} {check['url']} {check['verdict']} "
                f"{check['reason']} ({check['message']})"
            )
    return lines


def render(report: Report, stream: IO[str], *, verbosity: int = 0) -> None:
    """Counts first, then one line per failure (every check with ``verbosity`` > 0)."""
    summary = report.summary
    if verbosity >= 0:
        stream.write(
            f"{summary.seeds} seeds ({summary.invalid_seeds} invalid), "
            f"{summary.checks} checks of {summary.urls} unique URLs "
            f"in {report.duration_s:.1f} s\n"
            f"ok {summary.ok}, warning {summary.warning}, failed {summary.failed}, "
            f"skipped {summary.skipped}; {summary.requests} requests, "
            f"{_size(summary.bytes_downloaded)} read\n"
        )
    if summary.no_host_resolved:
        stream.write(
            f"No host could be resolved ({summary.hosts_unresolved} hosts tried): "
            "this machine may be offline or without DNS.\n"
        )
    problems = [
        line for seed in report.seeds() for line in failure_lines(seed, everything=verbosity > 0)
    ]
    if problems:
        heading = "Checks:" if verbosity > 0 else "Problems:"
        stream.write(f"\n{heading}\n" if verbosity >= 0 else "")
        for line in problems:
            stream.write(line + "\n")
