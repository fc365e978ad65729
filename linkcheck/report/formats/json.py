"""The JSON report (schema v1), streamed seed by seed.

The text is the same, byte for byte, as the report written during a run: the
header indented by one space, then one seed object per line, without spaces. Strings keep every
character, but those a terminal or CI log would act on are ``\\u`` escapes, so
the report can be printed to a log as it is.
"""

from __future__ import annotations

from typing import IO

from linkcheck.report.formats._common import json_line, json_text
from linkcheck.report.formats.interface import ReportView


class JsonFormat:
    """The machine-readable report described by ``linkcheck/schema/report-v1.schema.json``."""

    name = "json"

    def render(self, report: ReportView, stream: IO[str]) -> None:
        header = {key: value for key, value in report.header().items() if key != "seeds"}
        text = json_text(header, indent=1)
        stream.write(text[:-2] + ",\n" if header else "{\n")
        stream.write(' "seeds": [')
        # A run's own report keeps each seed as this very text: copied, not re-encoded.
        texts = getattr(report, "seed_texts", None)
        copied = texts() if callable(texts) else None
        seeds = copied if copied is not None else map(json_line, report.seeds())
        for index, text in enumerate(seeds):
            stream.write(",\n  " if index else "\n  ")
            stream.write(text)
        stream.write("\n ]\n}\n")


FORMAT = JsonFormat()
