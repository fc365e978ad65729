"""Output formats: each renders a finished :class:`~linkcheck.report.document.Report`."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from linkcheck.report.formats import (
    codequality,
    csv,
    github,
    html,
    json,
    junit,
    markdown,
    sarif,
)
from linkcheck.report.formats.interface import Format, ReportView

#: Every file format by name; the terminal summary is the CLI's own and is not one of them.
FORMATS: Mapping[str, Format] = MappingProxyType(
    {
        module.FORMAT.name: module.FORMAT
        for module in (json, markdown, junit, sarif, github, csv, html, codequality)
    }
)


def get_format(name: str) -> Format:
    """The format called ``name``; a :class:`ValueError` lists the known names otherwise."""
    try:
        return FORMATS[name]
    except KeyError:
        known = ", ".join(sorted(FORMATS))
        raise ValueError(f"unknown output format {name!r} (known: {known})") from None


__all__ = ["FORMATS", "Format", "ReportView", "get_format"]
