"""JUnit XML as Jenkins, GitLab and most CI systems read it (the Ant/Jenkins junit-10 shape).

One ``<testsuite>`` per seed file and one ``<testcase>`` per check: failed checks
carry a ``<failure>``, skipped ones a ``<skipped>``, warnings a ``<system-out>``.
Each error of an invalid seed is a failing testcase named "seed". Test suites are
spooled as they are built, since the root's totals are known only at the end.
Text from seeds and servers is made inert first, so no character XML 1.0 forbids
(ESC, BEL, NUL...) and no line break of theirs reaches the file.
"""

from __future__ import annotations

import functools
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import IO, Any

from linkcheck.report.formats._common import (
    InertView,
    copy_spool,
    location,
    seed_errors,
    seed_warnings,
    spool,
)
from linkcheck.report.formats.interface import ReportView

#: Characters XML 1.0 cannot carry, even escaped; replaced by U+FFFD (a last resort: seed
#: and server text arrives inert, with such characters already shown escaped).
_NOT_XML = "[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"


def _clean(text: object) -> str:
    return _not_xml().sub("\ufffd", str(text))


@functools.cache
def _not_xml() -> re.Pattern[str]:
    """Compiled on first use: the class spans most of Unicode and takes 5 ms to compile,
    which every run would pay at start-up for a format most runs never write."""
    return re.compile(_NOT_XML)


def _seconds(milliseconds: float) -> str:
    return f"{milliseconds / 1000:.3f}"


@dataclass(slots=True)
class _Totals:
    tests: int = 0
    failures: int = 0
    skipped: int = 0
    milliseconds: float = 0.0

    def add(self, other: _Totals) -> None:
        self.tests += other.tests
        self.failures += other.failures
        self.skipped += other.skipped
        self.milliseconds += other.milliseconds

    def attributes(self) -> dict[str, str]:
        return {
            "tests": str(self.tests),
            "failures": str(self.failures),
            "errors": "0",
            "skipped": str(self.skipped),
        }


def _size(width: object, height: object) -> str | None:
    return None if width is None and height is None else f"{width or '?'}x{height or '?'}"


def _details(path: str, check: dict[str, Any]) -> str:
    """The lines a CI user needs to act on a check: where, what was asked, what came back."""
    lines = [f"{location(path, check.get('line'))} {check['field']}", f"url: {check['url']}"]
    for hop in check.get("redirects") or ():
        lines.append(f"redirect: {hop.get('status')} {hop.get('url')}")
    if check.get("final_url") and check.get("final_url") != check["url"]:
        lines.append(f"final url: {check['final_url']}")
    if check.get("http_status") is not None:
        lines.append(f"http status: {check['http_status']}")
    image = check.get("image")
    if image:
        actual = _size(image.get("width"), image.get("height"))
        claimed = _size(image.get("claimed_width"), image.get("claimed_height"))
        found = f"{image.get('format') or 'image'} {actual}" if actual else "size unknown"
        lines.append(f"image: {found}, {f'claimed {claimed}' if claimed else 'no size claimed'}")
    lines.append(f"{check['verdict']} {check['reason']}: {check.get('message', '')}")
    return _clean("\n".join(lines))


def _testcase(path: str, check: dict[str, Any]) -> tuple[ET.Element, _Totals]:
    elapsed = float(check.get("elapsed_ms") or 0)
    case = ET.Element(
        "testcase",
        name=_clean(f"{check['field']} {check['url']}"),
        classname=_clean(path),
        time=_seconds(elapsed),
    )
    totals = _Totals(tests=1, milliseconds=elapsed)
    verdict = check["verdict"]
    if verdict == "failed":
        failure = ET.SubElement(
            case, "failure", message=_clean(check.get("message", "")), type=_clean(check["reason"])
        )
        failure.text = _details(path, check)
        totals.failures = 1
    elif verdict == "skipped":
        ET.SubElement(
            case, "skipped", message=_clean(check.get("message", "")), type=_clean(check["reason"])
        )
        totals.skipped = 1
    elif verdict == "warning":
        ET.SubElement(case, "system-out").text = _details(path, check)
    return case, totals


def _testsuite(seed: dict[str, Any]) -> tuple[ET.Element, _Totals]:
    path = seed["path"]
    suite = ET.Element("testsuite", name=_clean(path))
    totals = _Totals()
    cases = []
    for error in seed_errors(seed):
        case = ET.Element("testcase", name="seed", classname=_clean(path), time=_seconds(0))
        failure = ET.SubElement(
            case, "failure", message=_clean(error.message), type=_clean(error.reason)
        )
        failure.text = _clean(f"{error.location}: {error.reason}: {error.message}")
        cases.append(case)
        totals.add(_Totals(tests=1, failures=1))
    for warning in seed_warnings(seed):
        case = ET.Element(
            "testcase", name=_clean(warning.field), classname=_clean(path), time=_seconds(0)
        )
        ET.SubElement(case, "system-out").text = _clean(
            f"{warning.location}: warning {warning.reason}: {warning.message}"
        )
        cases.append(case)
        totals.add(_Totals(tests=1))
    for check in seed.get("checks") or ():
        case, case_totals = _testcase(path, check)
        cases.append(case)
        totals.add(case_totals)
    suite.attrib.update(totals.attributes())
    suite.set("time", _seconds(totals.milliseconds))
    suite.extend(cases)
    return suite, totals


class JunitFormat:
    """A ``<testsuites>`` document: one suite per seed file, one testcase per check."""

    name = "junit"

    def render(self, report: ReportView, stream: IO[str]) -> None:
        header = report.header()
        totals = _Totals()
        with spool() as suites:
            for seed in InertView(report).seeds():
                suite, suite_totals = _testsuite(seed)
                totals.add(suite_totals)
                ET.indent(suite, space="  ", level=1)
                suites.write("  " + ET.tostring(suite, encoding="unicode") + "\n")
            root = ET.Element("testsuites", name="linkcheck")
            root.attrib.update(totals.attributes())
            del root.attrib["skipped"]  # junit-10.xsd has no "skipped" on <testsuites>
            root.set("time", f"{float(header.get('duration_s') or 0):.3f}")
            root.text = "\n"
            opening, closing = ET.tostring(root, encoding="unicode").rsplit("</", 1)
            stream.write('<?xml version="1.0" encoding="UTF-8"?>\n')
            stream.write(opening)
            copy_spool(suites, stream)
            stream.write("</" + closing + "\n")


FORMAT = JunitFormat()
