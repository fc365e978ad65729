"""CSV: one row per check and per seed error, for spreadsheets and ad-hoc analysis.

Seeds are contributed data, so text cells are made inert (control characters,
newlines included, shown escaped: one row is one line), and any text cell that a
spreadsheet would read as a formula (starting with ``=``, ``+``, ``-``, ``@``,
tab or carriage return) is prefixed with ``'``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import IO, Any

from linkcheck.report.formats._common import inert, seed_errors, seed_warnings
from linkcheck.report.formats.interface import ReportView

COLUMNS = (
    "path",
    "line",
    "field",
    "kind",
    "url",
    "verdict",
    "reason",
    "message",
    "http_status",
    "final_url",
    "elapsed_ms",
    "image_format",
    "width",
    "height",
    "claimed_width",
    "claimed_height",
    "is_cached",
    "bytes_read",
)
_IMAGE_COLUMNS = {
    "image_format": "format",
    "width": "width",
    "height": "height",
    "claimed_width": "claimed_width",
    "claimed_height": "claimed_height",
    "is_cached": "is_cached",
    "bytes_read": "bytes_read",
}
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> str:
    """The CSV text of a value: "" for null, true/false for booleans, text inert, no formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    text = inert(str(value))
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _check_row(path: str, check: dict[str, Any]) -> dict[str, object]:
    row: dict[str, object] = {"path": path}
    row.update((key, check.get(key)) for key in COLUMNS[1:] if key in check)
    image = check.get("image") or {}
    row.update((column, image.get(key)) for column, key in _IMAGE_COLUMNS.items())
    return row


def rows(seed: dict[str, Any]) -> Iterator[dict[str, object]]:
    """The seed's errors (field "seed") and lint warnings, then its checks, as column -> value."""
    for error in (*seed_errors(seed), *seed_warnings(seed)):
        yield {
            "path": error.path,
            "line": error.line,
            "field": error.field,
            "verdict": error.verdict,
            "reason": error.reason,
            "message": error.message,
        }
    for check in seed.get("checks") or ():
        yield _check_row(seed["path"], check)


class CsvFormat:
    """A header row, then one row per seed error and per check, in report order."""

    name = "csv"

    def render(self, report: ReportView, stream: IO[str]) -> None:
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(COLUMNS)
        for seed in report.seeds():
            for row in rows(seed):
                writer.writerow([cell(row.get(column)) for column in COLUMNS])


FORMAT = CsvFormat()
