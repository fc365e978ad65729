"""The human summary printed at the end of a run (or of ``linkcheck report``).

One line per problem, ``path:line field reason url (detail)``, grouped by seed
in report order; then a table of verdicts by kind and a line of totals, so the
summary is what stays on screen.
Colours only on a terminal, and never when ``NO_COLOR`` is set (rich obeys it).
Text from seeds and servers is made inert (control characters shown escaped) and
reaches rich only as :class:`~rich.text.Text`, never as markup.
"""

from __future__ import annotations

from collections import Counter
from typing import IO, Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from linkcheck.report.formats._common import InertView, location, offline_note, problems
from linkcheck.report.formats.interface import ReportView

KINDS = ("page", "amp", "image")
VERDICTS = ("ok", "warning", "failed", "skipped")
STYLES = {"ok": "green", "warning": "yellow", "failed": "red", "skipped": "dim"}


def console_for(stream: IO[str]) -> Console:
    """A console that colours only real terminals and never wraps long lines."""
    return Console(file=stream, highlight=False, soft_wrap=True, emoji=False)


class TerminalFormat:
    """Counts, then problems; ``verbosity`` -1 prints problems only, 1 every check."""

    name = "terminal"

    def __init__(self, verbosity: int = 0) -> None:
        self.verbosity = verbosity

    def render(self, report: ReportView, stream: IO[str]) -> None:
        console = console_for(stream)
        report = InertView(report)
        header = report.header()
        by_kind: Counter[tuple[str, str]] = Counter()
        lines: list[Text] = []
        for seed in report.seeds():
            seed_lines = self._seed_lines(seed, by_kind)
            if seed_lines and lines:
                lines.append(Text(""))
            lines.extend(seed_lines)
        for line in lines:
            console.print(line)
        if self.verbosity >= 0:
            if lines:
                console.print()
            console.print(_table(by_kind))
            console.print(Text(_totals(header)))
        note = offline_note(header)
        if note:
            console.print(Text(note, style="bold red"))
        stopped = (header.get("summary") or {}).get("stopped")
        if stopped:
            message = _STOPPED.get(str(stopped), f"The run stopped early ({stopped}).")
            console.print(Text(message, style="bold yellow"))

    def _seed_lines(self, seed: dict[str, Any], by_kind: Counter[tuple[str, str]]) -> list[Text]:
        for check in seed.get("checks") or ():
            by_kind[(check["kind"], check["verdict"])] += 1
        if self.verbosity > 0:
            return [_check_line(seed["path"], check) for check in seed.get("checks") or ()]
        return [
            _line(problem.location, problem.field, problem.verdict, problem.reason,
                  problem.url, problem.message)
            for problem in problems(seed)
        ]  # fmt: skip


_STOPPED = {
    "timeout": "The run reached --max-duration: unfinished checks are reported skipped.",
    "interrupted": "The run was interrupted: unfinished checks are reported skipped.",
}


def _check_line(path: str, check: dict[str, Any]) -> Text:
    return _line(
        location(path, check.get("line")),
        check["field"],
        check["verdict"],
        check["reason"],
        check["url"],
        check.get("message", ""),
    )


def _line(where: str, field: str, verdict: str, reason: str, url: str, detail: str) -> Text:
    text = Text(f"{where} {field} ")
    text.append(reason, style=STYLES.get(verdict, ""))
    if url:
        text.append(f" {url}")
    if detail:
        text.append(f" ({detail})", style="dim")
    return text


def _table(by_kind: Counter[tuple[str, str]]) -> Table:
    table = Table(box=None, pad_edge=False, show_edge=False)
    table.add_column("kind")
    for verdict in VERDICTS:
        table.add_column(verdict, justify="right", style=STYLES[verdict])
    for kind in KINDS:
        table.add_row(kind, *(str(by_kind[(kind, verdict)]) for verdict in VERDICTS))
    totals = [str(sum(by_kind[(kind, verdict)] for kind in KINDS)) for verdict in VERDICTS]
    table.add_row(Text("total", style="bold"), *totals)
    return table


def _totals(header: dict[str, Any]) -> str:
    summary = header.get("summary") or {}
    return (
        f"{summary.get('seeds', 0)} seeds ({summary.get('invalid_seeds', 0)} invalid), "
        f"{summary.get('urls', 0)} unique URLs, {summary.get('requests', 0)} requests, "
        f"{_size(int(summary.get('bytes_downloaded') or 0))} read "
        f"in {float(header.get('duration_s') or 0):.1f} s"
    )


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KB", "MB"):
        if value < 1000:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"
