"""A Markdown summary fit for a pull-request comment or a job summary.

Counts first, then one table row per failure or warning. Text from seeds or
servers goes on one line (newlines become spaces), is made inert (control
characters shown escaped), and every cell is escaped so that it can neither
break the table nor turn into markup: URLs, fields and locations are code
spans, messages are escaped text.
"""

from __future__ import annotations

import re
from typing import IO

from linkcheck.report.formats._common import inert, offline_note, problems, summary_counts
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


class MarkdownFormat:
    """Summary counts and a table of failures and warnings, or "No problems found."."""

    name = "markdown"

    def render(self, report: ReportView, stream: IO[str]) -> None:
        header = report.header()
        counts = summary_counts(header)
        stream.write("## linkcheck report\n\n")
        stream.write(_row([label for label, _ in counts]))
        stream.write(_row(["---:"] * len(counts)))
        stream.write(_row([str(count) for _, count in counts]))
        offline = offline_note(header)
        if offline:
            stream.write(f"\n{offline}\n")
        found = False
        for seed in report.seeds():
            for problem in problems(seed):
                if not found:
                    stream.write("\n### Failures and warnings\n\n")
                    stream.write(_row(_PROBLEM_COLUMNS))
                    stream.write(_row(["---"] * len(_PROBLEM_COLUMNS)))
                    found = True
                stream.write(
                    _row(
                        (
                            code_cell(problem.location),
                            code_cell(problem.field),
                            code_cell(problem.url),
                            text_cell(problem.verdict),
                            code_cell(problem.reason),
                            text_cell(problem.message),
                        )
                    )
                )
        if not found:
            stream.write("\nNo problems found.\n")


FORMAT = MarkdownFormat()
