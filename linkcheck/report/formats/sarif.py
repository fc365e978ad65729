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
    path_base,
    problems,
    spool,
)
from linkcheck.report.formats.interface import ReportView

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"


#: The base of relative artifact URIs: the folder seed paths are relative to.
SRCROOT = "SRCROOT"


def artifact_uri(path: str) -> str:
    """The seed path as a URI reference: relative paths stay relative, with forward slashes."""
    posix = PurePosixPath(path.replace("\\", "/"))
    if posix.is_absolute():
        return "file://" + quote(str(posix))
    return quote(str(posix))


def artifact_location(path: str) -> dict[str, Any]:
    """A relative seed path is relative to ``SRCROOT``, as code scanning expects."""
    uri = artifact_uri(path)
    if uri.startswith("file://"):
        return {"uri": uri}
    return {"uri": uri, "uriBaseId": SRCROOT}


def base_uri(folder: str) -> str:
    """The ``file://`` URI of a folder, ending in ``/`` as SARIF requires of a base."""
    posix = PurePosixPath(folder.replace("\\", "/"))
    return "file://" + quote(str(posix).rstrip("/") + "/")


def _result(problem: Problem) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": artifact_location(problem.path)}
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


def resolved_problems(baseline: object) -> list[Problem]:
    """The baseline's problems this run no longer has (SARIF ``baselineState`` absent)."""
    if not isinstance(baseline, dict):
        return []
    return [
        Problem(
            path=str(entry.get("path", "")),
            line=entry.get("line") if isinstance(entry.get("line"), int) else None,
            field=str(entry.get("field", "")),
            url=str(entry.get("url", "")),
            verdict=str(entry.get("verdict", "failed")),
            reason=str(entry.get("reason", "")),
            message=str(entry.get("message", "")),
        )
        for entry in baseline.get("resolved") or ()
        if isinstance(entry, dict)
    ]


def _rule(reason: str) -> dict[str, Any]:
    return {"id": reason, "shortDescription": {"text": explanation(reason)}}


class SarifFormat:
    """A SARIF 2.1.0 log with one run of linkcheck."""

    name = "sarif"

    def render(self, report: ReportView, stream: IO[str]) -> None:
        base = path_base(report)
        report = InertView(report)
        version = str((report.header().get("tool") or {}).get("version") or "unknown")
        reasons: dict[str, None] = {}
        count = 0
        baseline = (report.header().get("summary") or {}).get("baseline")
        with spool() as results:
            for seed in report.seeds():
                for problem in problems(seed):
                    reasons.setdefault(problem.reason)
                    results.write(",\n" if count else "\n")
                    count += 1
                    result = _result(problem)
                    if isinstance(baseline, dict):
                        result["baselineState"] = "unchanged" if problem.known else "new"
                    results.write("        " + json_text(result))
            for problem in resolved_problems(baseline):
                reasons.setdefault(problem.reason)
                results.write(",\n" if count else "\n")
                count += 1
                absent = {**_result(problem), "baselineState": "absent"}
                results.write("        " + json_text(absent))
            driver = {
                "name": "linkcheck",
                "version": version,
                "rules": [_rule(reason) for reason in sorted(reasons)],
            }
            opening = {"$schema": SCHEMA_URI, "version": "2.1.0"}
            stream.write(json.dumps(opening, indent=2)[:-2] + ",\n")
            stream.write('  "runs": [\n    {\n      "tool": {"driver": ')
            stream.write(json_text(driver))
            if base is not None:
                roots = {SRCROOT: {"uri": base_uri(base)}}
                stream.write('},\n      "originalUriBaseIds": ' + json_text(roots))
                stream.write(',\n      "results": [')
            else:
                stream.write('},\n      "results": [')
            copy_spool(results, stream)
            stream.write("\n      ]" if count else "]")
            stream.write("\n    }\n  ]\n}\n")


FORMAT = SarifFormat()
