"""A baseline: the problems of an earlier report, so a run can tell new problems from known ones.

A problem is known when the baseline has one of the same seed path, field, URL, verdict
and reason; the line may move (an edit above it) and it stays the same problem. A
problem that got worse (a warning that now fails) or changed its reason is new. Problems
of the baseline that this run no longer has, in seeds this run checked, are resolved.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from linkcheck.model.records import SeedResult
from linkcheck.report.document import SavedReport
from linkcheck.report.formats._common import PROBLEM_VERDICTS, SEED_FIELD

ProblemKey = tuple[str, str, str, str, str]
#: Resolved problems listed in the report; the count beyond is in ``resolved_more``.
MAX_RESOLVED = 1000


class Baseline:
    """The problems of a saved report, and which of them this run has met again."""

    def __init__(self, source: Path, problems: dict[ProblemKey, dict[str, Any]]) -> None:
        self.source = source
        self._problems = problems
        self._met: set[ProblemKey] = set()
        self._paths: set[str] = set()

    @classmethod
    def load(cls, path: Path) -> Baseline:
        """Read a report written by ``check``, one seed at a time; OSError or ValueError (one
        line) when it is not."""
        saved = SavedReport.stream(path)
        problems: dict[ProblemKey, dict[str, Any]] = {}
        for seed in saved.seeds():
            where = str(seed.get("path", ""))
            for error in seed.get("errors") or ():
                entry = _entry(where, error.get("line"), SEED_FIELD, "", "failed", error)
                problems.setdefault(_key_of(entry), entry)
            for check in seed.get("checks") or ():
                if check.get("verdict") in PROBLEM_VERDICTS:
                    entry = _entry(
                        where, check.get("line"), check["field"], check["url"],
                        check["verdict"], check,
                    )  # fmt: skip
                    problems.setdefault(_key_of(entry), entry)
        return cls(path, problems)

    def states(
        self, result: SeedResult, meet: bool = True
    ) -> tuple[tuple[str | None, ...], tuple[str | None, ...]]:
        """``new``/``known`` for each check (None for non-problems) and each seed error.

        ``meet`` False asks without counting the problems as met (a result about to
        be replaced by the recheck pass).
        """
        if meet:
            self._paths.add(result.path)
        checks = tuple(
            self._state((result.path, check.field, check.url, check.verdict.value,
                         check.reason.value), meet)
            if check.verdict.value in PROBLEM_VERDICTS
            else None
            for check in result.checks
        )  # fmt: skip
        errors = tuple(
            self._state((result.path, SEED_FIELD, "", "failed", error.reason.value), meet)
            for error in result.errors
        )
        return checks, errors

    def _state(self, key: ProblemKey, meet: bool) -> str:
        if key in self._problems:
            if meet:
                self._met.add(key)
            return "known"
        return "new"

    def resolved(self) -> list[dict[str, Any]]:
        """The baseline's problems in seeds this run checked that it did not meet again."""
        return [
            entry
            for key, entry in self._problems.items()
            if key not in self._met and key[0] in self._paths
        ]


def _entry(
    path: str, line: object, field: str, url: str, verdict: str, source: dict[str, Any]
) -> dict[str, Any]:
    return {
        "path": path,
        "line": line if isinstance(line, int) and not isinstance(line, bool) else None,
        "field": field,
        "url": url,
        "verdict": verdict,
        "reason": str(source.get("reason", "")),
        "message": str(source.get("message", "")),
    }


def _key_of(entry: dict[str, Any]) -> ProblemKey:
    return (entry["path"], entry["field"], entry["url"], entry["verdict"], entry["reason"])
