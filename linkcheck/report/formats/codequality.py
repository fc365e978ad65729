"""GitLab Code Quality: a JSON array of issues that merge requests show beside the diff.

Each failure, warning and seed error becomes one issue with ``description``,
``check_name`` (the reason), ``fingerprint``, ``severity`` and ``location`` (path and
first line). GitLab compares fingerprints between the source and target branch to tell
new issues from fixed ones, so a fingerprint is made of what names the problem (seed
path, field, URL, reason), never of the line or the message, which move and change
from run to run; the same problem twice in one seed gets an occurrence number.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from typing import IO, Any

from linkcheck.report.formats._common import (
    SEED_FIELD,
    InertView,
    Problem,
    json_text,
    problems,
)
from linkcheck.report.formats.interface import ReportView

#: GitLab's severities: info, minor, major, critical, blocker.
SEVERITY = {"failed": "major", "warning": "minor"}


def fingerprint(problem: Problem, occurrence: int = 0) -> str:
    """A stable identity of the problem across runs (sha256 of what names it)."""
    parts = [problem.path, problem.field, problem.url, problem.reason]
    if problem.field == SEED_FIELD:
        parts.append(problem.message)  # a seed error has no URL; its message names it
    if occurrence:
        parts.append(str(occurrence))
    return hashlib.sha256("\x00".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def issue(problem: Problem, occurrence: int = 0) -> dict[str, Any]:
    subject = f"{problem.field} {problem.url}" if problem.url else problem.field
    return {
        "description": f"{subject}: {problem.reason}"
        + (f": {problem.message}" if problem.message else ""),
        "check_name": f"linkcheck/{problem.reason}",
        "fingerprint": fingerprint(problem, occurrence),
        "severity": SEVERITY.get(problem.verdict, "major"),
        "location": {"path": problem.path, "lines": {"begin": max(problem.line or 1, 1)}},
    }


class CodeQualityFormat:
    """GitLab's Code Quality report (``artifacts: reports: codequality``)."""

    name = "codequality"

    def render(self, report: ReportView, stream: IO[str]) -> None:
        report = InertView(report)
        seen: Counter[str] = Counter()
        stream.write("[")
        first = True
        for seed in report.seeds():
            for problem in problems(seed):
                key = fingerprint(problem)
                occurrence = seen[key]
                seen[key] += 1
                stream.write("\n  " if first else ",\n  ")
                first = False
                stream.write(json_text(issue(problem, occurrence)))
        stream.write("]\n" if first else "\n]\n")


FORMAT = CodeQualityFormat()
