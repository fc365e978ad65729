"""SARIF 2.1.0, for code-scanning views (GitHub code scanning, IDE SARIF viewers).

One run: the tool with one rule per reason that occurs, and one result per failed
check (level "error"), warning check (level "warning") and seed error ("error"),
located at the seed file and line. Results are spooled as they are found, since
the rules they use are known only at the end. Text from seeds and servers is made
inert, as viewers show it to people.
"""

from __future__ import annotations

import json
from pathlib import PurePosixPath
from typing import IO, Any
from urllib.parse import quote

from linkcheck.report.formats._common import (
    InertView,
    Problem,
    copy_spool,
    explanation,
    json_text,
    problems,
    spool,
)
from linkcheck.report.formats.interface import ReportView

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"


def artifact_uri(path: str) -> str:
    """The seed path as a URI reference: relative paths stay relative, with forward slashes."""
    posix = PurePosixPath(path.replace("\\", "/"))
    if posix.is_absolute():
        return "file://" + quote(str(posix))
    return quote(str(posix))


def _result(problem: Problem) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": {"uri": artifact_uri(problem.path)}}
    if problem.line:
        physical["region"] = {"startLine": problem.line}
    subject = problem.url or problem.field
    return {
        "ruleId": problem.reason,
        "level": problem.severity,
        "message": {"text": f"{subject}: {problem.message}"},
        "locations": [{"physicalLocation": physical}],
        "properties": {"field": problem.field, "url": problem.url, "verdict": problem.verdict},
    }


def _rule(reason: str) -> dict[str, Any]:
    return {"id": reason, "shortDescription": {"text": explanation(reason)}}


class SarifFormat:
    """A SARIF 2.1.0 log with one run of linkcheck."""

    name = "sarif"

    def render(self, report: ReportView, stream: IO[str]) -> None:
        report = InertView(report)
        version = str((report.header().get("tool") or {}).get("version") or "unknown")
        reasons: dict[str, None] = {}
        count = 0
        with spool() as results:
            for seed in report.seeds():
                for problem in problems(seed):
                    reasons.setdefault(problem.reason)
                    results.write(",\n" if count else "\n")
                    count += 1
                    results.write("        " + json_text(_result(problem)))
            driver = {
                "name": "linkcheck",
                "version": version,
                "rules": [_rule(reason) for reason in sorted(reasons)],
            }
            opening = {"$schema": SCHEMA_URI, "version": "2.1.0"}
            stream.write(json.dumps(opening, indent=2)[:-2] + ",\n")
            stream.write('  "runs": [\n    {\n      "tool": {"driver": ')
            stream.write(json_text(driver))
            stream.write('},\n      "results": [')
            copy_spool(results, stream)
            stream.write("\n      ]" if count else "]")
            stream.write("\n    }\n  ]\n}\n")


FORMAT = SarifFormat()
