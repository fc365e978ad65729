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
    return f"::{problem.severity} {','.join(properties)}::{data}"


class GithubFormat:
    """Annotations on the seed files, shown in the job log and on pull-request diffs."""

    name = "github"

    def render(self, report: ReportView, stream: IO[str]) -> None:
        for seed in report.seeds():
            for problem in problems(seed):
                stream.write(annotation(problem) + "\n")


FORMAT = GithubFormat()
