"""A Markdown summary fit for a pull-request comment or a job summary.

Counts first, then one table row per failure or warning. Text from seeds or
servers goes on one line (newlines become spaces), is made inert (control
characters shown escaped), and every cell is escaped so that it can neither
break the table nor turn into markup: URLs, fields and locations are code
spans, messages are escaped text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import IO, Any

from linkcheck.report.formats._common import (
    Problem,
    copy_spool,
    host,
    inert,
    location,
    offline_note,
    problems,
    spool,
    summary_counts,
)
from linkcheck.report.formats.interface import ReportView

_NEWLINES = re.compile(r"\r\n|\r|\n")
#: ASCII punctuation that could start markup inside a table cell; backslash-escaped.
_MARKUP = re.compile(r"([\\`*_\[\]<>|~&!#])")
_BACKTICKS = re.compile(r"`+")
_PROBLEM_COLUMNS = ("location", "field", "URL", "verdict", "reason", "message")


def text_cell(text: str) -> str:
    """``text`` as literal Markdown text on one line, with no markup, HTML or entity."""
    return _MARKUP.sub(r"\\\1", inert(_NEWLINES.sub(" ", text)))


def code_cell(text: str) -> str:
    """``text`` as a code span on one line, whatever backticks or pipes it holds."""
    text = inert(_NEWLINES.sub(" ", text)).replace("|", "\\|")
    if not text:
        return ""
    fence = "`" * (max((len(run) for run in _BACKTICKS.findall(text)), default=0) + 1)
    pad = " " if text[0] in "` " or text[-1] in "` " else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _row(cells: tuple[str, ...] | list[str]) -> str:
    return "| " + " | ".join(cells) + " |\n"


#: A GitHub pull-request comment holds at most 65,536 characters.
PR_COMMENT_LIMIT = 65_536
#: Room kept for the line that says what was left out.
_LEFT_OUT_ROOM = 400
_PROBLEM_HEAD = (
    "| " + " | ".join(_PROBLEM_COLUMNS) + " |\n" + "| --- " * len(_PROBLEM_COLUMNS) + "|\n"
)
_GROUP_COLUMNS = ("verdict", "reason", "host", "URLs", "first at", "example")


def _size(text: str) -> int:
    """Bytes as UTF-8: never fewer than characters, so a byte cap also caps characters."""
    return len(text.encode("utf-8", "surrogatepass"))


def _problem_row(problem: Problem) -> str:
    return _row(
        (
            code_cell(problem.location),
            code_cell(problem.field),
            code_cell(problem.url),
            text_cell(f"{problem.verdict} (known)" if problem.known else problem.verdict),
            code_cell(problem.reason),
            text_cell(problem.message),
        )
    )


#: Resolved problems listed one by one; the rest are counted.
MAX_RESOLVED_SHOWN = 20


def baseline_section(header: dict[str, Any]) -> str:
    """With ``--baseline``: new, known and resolved counts, and the resolved problems."""
    block = (header.get("summary") or {}).get("baseline")
    if not isinstance(block, dict):
        return ""
    resolved = [entry for entry in block.get("resolved") or () if isinstance(entry, dict)]
    text = (
        f"\nAgainst the baseline: {int(block.get('new') or 0)} new, "
        f"{int(block.get('known') or 0)} known (not failing the run), "
        f"{len(resolved)} resolved.\n"
    )
    if resolved:
        text += "\n### Resolved since the baseline\n\n"
        for entry in resolved[:MAX_RESOLVED_SHOWN]:
            where = location(str(entry.get("path", "")), entry.get("line"))
            subject = str(entry.get("url") or entry.get("field") or "")
            text += (
                f"- {code_cell(where)} {code_cell(str(entry.get('field', '')))} "
                f"{code_cell(subject)}: was {text_cell(str(entry.get('verdict', '')))} "
                f"{code_cell(str(entry.get('reason', '')))}\n"
            )
        if len(resolved) > MAX_RESOLVED_SHOWN:
            text += f"- and {len(resolved) - MAX_RESOLVED_SHOWN:,} more\n"
    return text


@dataclass
class _Group:
    """The problems of one verdict, reason and host: how many, and the first of them."""

    count: int
    first: Problem


def _group_key(problem: Problem) -> tuple[str, str, str]:
    return (problem.verdict, problem.reason, host(problem.url) if problem.url else "")


def _group_row(key: tuple[str, str, str], group: _Group) -> str:
    verdict, reason, where = key
    return _row(
        (
            text_cell(verdict),
            code_cell(reason),
            code_cell(where) if where else "seed file",
            str(group.count),
            code_cell(group.first.location),
            code_cell(group.first.url),
        )
    )


class MarkdownFormat:
    """Summary counts and a table of failures and warnings, or "No problems found.".

    The output stays within ``limit`` bytes (a pull-request comment by default). When
    the full table would not fit, it turns compact: problems grouped by verdict, reason
    and host (failures first, largest groups first), then as many rows of the full
    table as fit, then one line saying what was left out.
    """

    name = "markdown"

    def __init__(self, limit: int = PR_COMMENT_LIMIT) -> None:
        self.limit = limit

    def render(self, report: ReportView, stream: IO[str]) -> None:
        header = report.header()
        counts = summary_counts(header)
        head = "## linkcheck report\n\n"
        head += _row([label for label, _ in counts])
        head += _row(["---:"] * len(counts))
        head += _row([str(count) for _, count in counts])
        offline = offline_note(header)
        if offline:
            head += f"\n{offline}\n"
        table_head = "\n### Failures and warnings\n\n" + _PROBLEM_HEAD
        resolved = baseline_section(header)
        budget = self.limit - _size(head) - _size(resolved)
        groups: dict[tuple[str, str, str], _Group] = {}
        total = written = 0
        used = _size(table_head)
        with spool() as rows:
            for seed in report.seeds():
                for problem in problems(seed):
                    total += 1
                    key = _group_key(problem)
                    group = groups.get(key)
                    if group is None:
                        groups[key] = _Group(1, problem)
                    else:
                        group.count += 1
                    row = _problem_row(problem)
                    if used + _size(row) <= budget:
                        rows.write(row)
                        used += _size(row)
                        written += 1
                    else:
                        used = budget + 1  # keep report order: no later, shorter row
            stream.write(head)
            if not total:
                stream.write("\nNo problems found.\n")
            elif written == total:
                stream.write(table_head)
                copy_spool(rows, stream)
            else:
                self._compact(stream, budget, groups, rows, total)
            stream.write(resolved)

    def _compact(
        self,
        stream: IO[str],
        budget: int,
        groups: dict[tuple[str, str, str], _Group],
        rows: IO[str],
        total: int,
    ) -> None:
        budget -= _LEFT_OUT_ROOM
        order = sorted(
            groups.items(), key=lambda item: (item[0][0] != "failed", -item[1].count, item[0])
        )
        section = "\n### Problems by reason and host\n\n" + _row(_GROUP_COLUMNS)
        section += _row(["---"] * len(_GROUP_COLUMNS))
        shown_groups = 0
        for key, group in order:
            row = _group_row(key, group)
            if _size(section) + _size(row) > budget:
                break
            section += row
            shown_groups += 1
        stream.write(section)
        budget -= _size(section)
        shown_rows = 0
        rows.seek(0)
        first = "\n### First failures and warnings\n\n" + _PROBLEM_HEAD
        if _size(first) < budget:
            stream.write(first)
            budget -= _size(first)
            for line in rows:
                if _size(line) > budget:
                    break
                stream.write(line)
                budget -= _size(line)
                shown_rows += 1
        left_groups = len(groups) - shown_groups
        left = f"{total - shown_rows:,} of {total:,} problem rows"
        if left_groups:
            left += f" and {left_groups:,} of {len(groups):,} groups"
        stream.write(
            f"\n_Left out to stay within {self.limit:,} characters: {left}. "
            "The JSON report lists every check._\n"
        )


FORMAT = MarkdownFormat()
