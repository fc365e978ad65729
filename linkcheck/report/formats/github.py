"""GitHub Actions workflow commands: one ``::error`` or ``::warning`` annotation per problem.

Text from seeds or servers is escaped as the Actions runner unescapes it (so a
line break stays part of the message), then made
:func:`~linkcheck.report.formats._common.inert` (other control characters shown
escaped, no ``##[``), so it can neither end a command early nor start a new one.
"""

from __future__ import annotations

from typing import IO

from linkcheck.report.formats._common import Problem, inert, problems
from linkcheck.report.formats.interface import ReportView

_DATA_ESCAPES = str.maketrans({"%": "%25", "\r": "%0D", "\n": "%0A"})
_PROPERTY_ESCAPES = str.maketrans({"%": "%25", "\r": "%0D", "\n": "%0A", ":": "%3A", ",": "%2C"})


def escape_data(text: str) -> str:
    """The message part of a workflow command."""
    return inert(text.translate(_DATA_ESCAPES))


def escape_property(text: str) -> str:
    """A ``key=value`` property value of a workflow command."""
    return inert(text.translate(_PROPERTY_ESCAPES))


def annotation(problem: Problem) -> str:
    """``::error file=...,line=...,title=reason::field url: message`` (no ``line`` if unknown)."""
    properties = [f"file={escape_property(problem.path)}"]
    if isinstance(problem.line, int) and not isinstance(problem.line, bool) and problem.line > 0:
        properties.append(f"line={problem.line}")
    properties.append(f"title={escape_property(problem.reason)}")
    subject = f"{problem.field} {problem.url}" if problem.url else problem.field
    data = escape_data(f"{subject}: {problem.message}")
    return f"::{_command(problem)} {','.join(properties)}::{data}"


#: GitHub shows at most 10 error, 10 warning and 10 notice annotations of a step (50 of a
#: job) and silently drops the rest, so no more are written; a notice counts the others.
MAX_PER_SEVERITY = 10
#: The order annotations are written in: failures, then warnings, then known problems.
COMMANDS = ("error", "warning", "notice")


def _command(problem: Problem) -> str:
    return "notice" if problem.known else problem.severity  # known: in the baseline


class GithubFormat:
    """Annotations on the seed files, shown in the job log and on pull-request diffs.

    Only as many as GitHub shows are written, the most important first: failures and
    seed errors, then warnings, then problems already known from the baseline (as
    notices), each in report order. One last notice says how many more there are.
    """

    name = "github"

    def __init__(self, limit: int = MAX_PER_SEVERITY) -> None:
        self.limit = limit

    def render(self, report: ReportView, stream: IO[str]) -> None:
        kept: dict[str, list[Problem]] = {command: [] for command in COMMANDS}
        total = 0
        for seed in report.seeds():
            for problem in problems(seed):
                total += 1
                bucket = kept[_command(problem)]
                room = self.limit - 1 if bucket is kept["notice"] else self.limit
                if len(bucket) < room:  # the first in report order are kept
                    bucket.append(problem)
        shown = 0
        for command in COMMANDS:
            for problem in kept[command]:
                stream.write(annotation(problem) + "\n")
                shown += 1
        if total > shown:
            more = total - shown
            stream.write(
                f"::notice title=linkcheck::{more} more problem{'s' if more > 1 else ''}: "
                "see the job summary\n"
            )


FORMAT = GithubFormat()
