"""The human summary printed at the end of a run (or of ``linkcheck report``).

One line per problem, ``severity path:line field reason url (detail)`` (severity
``error`` or ``warning``), grouped by seed in report order; failures to resolve a host
name are one line for all of them, after the offline diagnosis when every name failed;
then a table of verdicts by kind and a line of totals, so the summary is what stays
on screen.
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

from linkcheck.report.formats._common import (
    PROBLEM_VERDICTS,
    InertView,
    Problem,
    copy_spool,
    host,
    inert_data,
    inert_problems,
    location,
    offline_note,
    spool,
)
from linkcheck.report.formats.interface import ReportView

#: One printed line as (text, style) segments: plain text is joined without rich (a Text
#: per line costs more than the whole line) and styled text is assembled only for colours.
Line = tuple[tuple[str, str], ...]
_BLANK: Line = ()

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
        self.refused = 0

    def render(self, report: ReportView, stream: IO[str]) -> None:
        console = console_for(stream)
        raw, report = report, InertView(report)
        header = report.header()
        note = offline_note(header)
        if note:  # the diagnosis first: it explains every dns line below
            console.print(Text(note, style="bold red"))
        by_kind: Counter[tuple[str, str]] = Counter()
        self.refused = 0
        unresolved: list[Problem] = []
        # Without colours each line is written as plain text (rich would print the same
        # text a hundred times slower) to a spool: with several dns failures their one
        # line goes first, known only at the end, and 300,000 lines are not held in memory.
        plain = console.color_system is None
        styled: list[Text] = []
        shown = 0
        with spool() as buffer:
            for seed in raw.seeds():
                for check in seed.get("checks") or ():  # kinds and verdicts: enum values only
                    by_kind[(check["kind"], check["verdict"])] += 1
                if self.verbosity <= 0 and not _has_problem(seed):
                    continue  # nothing of it is printed: no need to escape it
                seed_lines = self._seed_lines(seed, unresolved)
                if seed_lines and shown:
                    seed_lines.insert(0, _BLANK)
                shown += len(seed_lines)
                if plain:
                    buffer.writelines(f"{_plain(line)}\n" for line in seed_lines)
                else:
                    styled.extend(Text.assemble(*line) for line in seed_lines)
            if len(unresolved) > 1:
                self._print(console, _unresolved_line(unresolved), plain)
                shown += 1
            copy_spool(buffer, console.file)
        for text in styled:
            console.print(text)
        if len(unresolved) == 1:
            self._print(console, _problem_line(unresolved[0]), plain)
            shown += 1
        if self.refused:
            console.print(Text(_refused_hint(self.refused), style="yellow"))
        if self.verbosity >= 0:
            if shown:
                console.print()
            console.print(_table(by_kind))
            console.print(Text(_totals(header)))
            for extra in store_lines(header):
                console.print(Text(extra))
        stopped = (header.get("summary") or {}).get("stopped")
        if stopped:
            message = _STOPPED.get(str(stopped), f"The run stopped early ({stopped}).")
            console.print(Text(message, style="bold yellow"))

    @staticmethod
    def _print(console: Console, line: Line, plain: bool) -> None:
        if plain:
            console.file.write(f"{_plain(line)}\n")
        else:
            console.print(Text.assemble(*line))

    def _seed_lines(self, seed: dict[str, Any], unresolved: list[Problem]) -> list[Line]:
        """The seed's lines, inert; at normal verbosity its dns failures go to ``unresolved``."""
        if self.verbosity > 0:
            seed = inert_data(seed)
            return [_check_line(seed["path"], check) for check in seed.get("checks") or ()]
        lines = []
        for problem in inert_problems(seed):
            if problem.reason == "unsafe_url" and problem.message.startswith(_REFUSED_ADDRESS):
                self.refused += 1
            if problem.reason == "dns":
                unresolved.append(problem)
            else:
                lines.append(_problem_line(problem))
        return lines


def _has_problem(seed: dict[str, Any]) -> bool:
    """Whether the seed has anything :func:`problems` would yield."""
    if seed.get("errors") or seed.get("warnings"):
        return True
    return any(check.get("verdict") in PROBLEM_VERDICTS for check in seed.get("checks") or ())


#: How the address policy's refusals begin (linkcheck.net.safety.UnsafeAddress).
_REFUSED_ADDRESS = "refusing to connect to "


def _refused_hint(count: int) -> str:
    """Which options open what the address policy refuses: a first run on a test server."""
    urls = f"{count} URL{'s' if count != 1 else ''} {'were' if count != 1 else 'was'}"
    return (
        f"hint: {urls} refused because they reach loopback, private or link-local addresses; "
        "--allow-network CIDR allows them (--allow-network 127.0.0.0/8 for a local server), "
        "--allow-host PATTERN lets matching host names resolve to them"
    )


#: Hosts named in the one line that stands for every dns failure.
_HOSTS_SHOWN = 5


def _plain(line: Line) -> str:
    return "".join(text for text, _ in line)


def _unresolved_line(unresolved: list[Problem]) -> Line:
    """``error dns: 61 URLs on 12 hosts could not be resolved (a.test 20, ...)``."""
    hosts = Counter(host(problem.url) or problem.url for problem in unresolved)
    urls = len({problem.url for problem in unresolved})
    named = ", ".join(f"{name} {count}" for name, count in hosts.most_common(_HOSTS_SHOWN))
    if len(hosts) > _HOSTS_SHOWN:
        named += f", and {len(hosts) - _HOSTS_SHOWN} more"
    return (
        ("error ", STYLES["failed"]),
        ("dns", STYLES["failed"]),
        (
            f": {urls} URL{'s' if urls != 1 else ''} on {len(hosts)} host"
            f"{'s' if len(hosts) != 1 else ''} could not be resolved ({named})",
            "",
        ),
    )


_STOPPED = {
    "timeout": "The run reached --max-duration: unfinished checks are reported skipped.",
    "interrupted": "The run was interrupted: unfinished checks are reported skipped.",
}


def _problem_line(problem: Problem) -> Line:
    detail = f"known from the baseline; {problem.message}" if problem.known else problem.message
    return _line(
        problem.location, problem.field, problem.verdict, problem.reason, problem.url, detail
    )


def store_lines(header: dict[str, Any]) -> list[str]:
    """One line on the results store's part in the run, one on the baseline's; each if used."""
    summary = header.get("summary") or {}
    lines = []
    cache = summary.get("cache")
    if isinstance(cache, dict):
        lines.append(
            f"cache: {int(cache.get('hit') or 0)} hit, "
            f"{int(cache.get('revalidated') or 0)} revalidated, {int(cache.get('miss') or 0)} "
            "fetched"
        )
    baseline = summary.get("baseline")
    if isinstance(baseline, dict):
        lines.append(
            f"baseline: {int(baseline.get('new') or 0)} new, {int(baseline.get('known') or 0)} "
            f"known (not failing the run), {len(baseline.get('resolved') or ())} resolved"
        )
    return lines


def _check_line(path: str, check: dict[str, Any]) -> Line:
    return _line(
        location(path, check.get("line")),
        check["field"],
        check["verdict"],
        check["reason"],
        check["url"],
        check.get("message", ""),
    )


#: The word each line starts with, so a reader (or grep) tells failures from warnings.
SEVERITY = {"failed": "error", "warning": "warning", "ok": "ok", "skipped": "skipped"}


def _line(where: str, field: str, verdict: str, reason: str, url: str, detail: str) -> Line:
    style = STYLES.get(verdict, "")
    line = [(SEVERITY.get(verdict, verdict), style), (f" {where} {field} ", ""), (reason, style)]
    if url:
        line.append((f" {url}", ""))
    if detail:
        line.append((f" ({detail})", "dim"))
    return tuple(line)


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
    linted = int(summary.get("seed_warnings") or 0)
    warned = f", {linted} seed warning{'s' if linted != 1 else ''}" if linted else ""
    return (
        f"{summary.get('seeds', 0)} seeds ({summary.get('invalid_seeds', 0)} invalid{warned}), "
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
