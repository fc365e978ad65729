"""``linkcheck lint``: seed errors and lint warnings without the network, for a pre-commit hook.

Each seed is read exactly as ``check`` reads it, so lint and check agree on what
is broken: structure, types and claims (seed errors), URLs that can never be
requested (not http(s), or a literal address the safety policy refuses), and the
seed lint's warnings (mojibake, dates, provider domain, repeated URLs, images
without a claimed size). Nothing is sent: no name is even resolved.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from typing import Any

from linkcheck.model.config import Config, FailOn
from linkcheck.model.judge import judge_unrequestable
from linkcheck.model.records import SeedResult
from linkcheck.report.document import seed_to_dict
from linkcheck.report.formats._common import RebasedView, problems
from linkcheck.report.formats.terminal import TerminalFormat
from linkcheck.seeds.reader import find_seed_files, read_seed


class _LintReport:
    """The seeds' errors and warnings as a report view, so the terminal format prints them."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.files = 0
        self.errors = 0
        self.warnings = 0

    def header(self) -> dict[str, Any]:
        return {"summary": {"seeds": self.files}}

    def seeds(self) -> Iterator[dict[str, Any]]:
        for path in find_seed_files(self.config.paths, self.config.patterns):
            self.files += 1
            seed = read_seed(path, self.config)
            checks = tuple(judge_unrequestable(t) for t in seed.targets if t.problem is not None)
            result = seed_to_dict(SeedResult.of(seed, checks))
            for problem in problems(result):
                if problem.severity == "warning":
                    self.warnings += 1
                else:
                    self.errors += 1
            yield result


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'s' if number != 1 else ''}"


def lint(config: Config, verbosity: int) -> int:
    """Print every seed problem (``error path:line field reason ...``, then warnings).

    Exit 1 on any error, and on warnings too with ``--fail-on warning``; else 0.
    """
    report = _LintReport(config)
    base = str(config.path_base) if config.path_base is not None else os.getcwd()
    TerminalFormat(-1).render(RebasedView(report, base), sys.stdout)
    if verbosity >= 0:
        found = _count(report.errors + report.warnings, "problem")
        if report.warnings:
            found += f" ({_count(report.errors, 'error')}, {_count(report.warnings, 'warning')})"
        print(f"linkcheck lint: {report.files} seed files read, {found}", file=sys.stderr)
    warned = config.fail_on is FailOn.WARNING and report.warnings > 0
    return 1 if report.errors or warned else 0
