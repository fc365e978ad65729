"""What every output format sees: the report's JSON form, header and seeds apart.

Formats read the same dictionaries that the JSON report holds (schema v1), so
a saved report renders exactly like a live run, and seeds arrive as an iterator
so no format needs every seed in memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any, Protocol


class ReportView(Protocol):
    """A finished report: ``header()`` is every top-level key but ``seeds``."""

    def header(self) -> dict[str, Any]: ...

    def seeds(self) -> Iterator[dict[str, Any]]: ...


class Format(Protocol):
    """One output format; adding a format is adding a module that provides one."""

    name: str

    def render(self, report: ReportView, stream: IO[str]) -> None: ...
