"""The JSON report (schema v1), streamed seed by seed.

The text is the same, byte for byte, as the report written during a run: the
header indented by one space, then one seed object per line.
"""

from __future__ import annotations

import json
from typing import IO

from linkcheck.report.formats.interface import ReportView


class JsonFormat:
    """The machine-readable report described by ``linkcheck/schema/report-v1.schema.json``."""

    name = "json"

    def render(self, report: ReportView, stream: IO[str]) -> None:
        header = {key: value for key, value in report.header().items() if key != "seeds"}
        text = json.dumps(header, ensure_ascii=False, indent=1)
        stream.write(text[:-2] + ",\n" if header else "{\n")
        stream.write(' "seeds": [')
        for index, seed in enumerate(report.seeds()):
            stream.write(",\n  " if index else "\n  ")
            stream.write(json.dumps(seed, ensure_ascii=False))
        stream.write("\n ]\n}\n")


FORMAT = JsonFormat()
