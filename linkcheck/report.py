"""The report: per-seed results, the run summary, and the versioned JSON form.

Seed results are spooled to a temporary JSON-lines file as they arrive, so a
run over 100,000 seeds never holds them all in memory; the final JSON report is
streamed from that spool and written atomically (temporary file + rename).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from linkcheck._version import __version__
from linkcheck.checks import Check
from linkcheck.seeds import Seed, SeedError
from linkcheck.verdicts import Verdict

SCHEMA_VERSION = 1
SCHEMA_PATH = Path(__file__).with_name("schema") / "report-v1.schema.json"


@dataclass(frozen=True, slots=True)
class SeedResult:
    """One seed file with its errors and the checks of its URLs."""

    path: str
    errors: tuple[SeedError, ...]
    checks: tuple[Check, ...]

    @property
    def valid(self) -> bool:
        return not self.errors

    @classmethod
    def of(cls, seed: Seed, checks: tuple[Check, ...]) -> SeedResult:
        return cls(seed.path, seed.errors, checks)


@dataclass(slots=True)
class Summary:
    """Run-wide counts; the exit code and every summary line derive from these."""

    seeds: int = 0
    invalid_seeds: int = 0
    urls: int = 0
    checks: int = 0
    ok: int = 0
    warning: int = 0
    failed: int = 0
    skipped: int = 0
    requests: int = 0
    bytes_downloaded: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    hosts_unresolved: int = 0
    no_host_resolved: bool = False

    def add(self, result: SeedResult) -> None:
        self.seeds += 1
        self.invalid_seeds += 0 if result.valid else 1
        for check in result.checks:
            self.checks += 1
            self.reasons[check.reason.value] += 1
            match check.verdict:
                case Verdict.OK:
                    self.ok += 1
                case Verdict.WARNING:
                    self.warning += 1
                case Verdict.FAILED:
                    self.failed += 1
                case Verdict.SKIPPED:
                    self.skipped += 1

    @property
    def passed(self) -> bool:
        return self.failed == 0 and self.invalid_seeds == 0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["reasons"] = dict(sorted(self.reasons.items()))
        return data


def check_to_dict(check: Check) -> dict[str, Any]:
    return {
        "field": check.field,
        "line": check.line,
        "url": check.url,
        "kind": check.kind.value,
        "verdict": check.verdict.value,
        "reason": check.reason.value,
        "message": check.message,
        "http_status": check.http_status,
        "final_url": check.final_url,
        "redirects": [{"url": hop.url, "status": hop.status} for hop in check.redirects],
        "elapsed_ms": check.elapsed_ms,
        "image": asdict(check.image) if check.image is not None else None,
    }


def seed_to_dict(result: SeedResult) -> dict[str, Any]:
    return {
        "path": result.path,
        "valid": result.valid,
        "errors": [
            {"reason": error.reason.value, "message": error.message, "line": error.line}
            for error in result.errors
        ],
        "checks": [check_to_dict(check) for check in result.checks],
    }


@dataclass
class Report:
    """A finished (or interrupted) run: metadata, summary and the spooled seed results."""

    started_at: datetime
    finished_at: datetime
    summary: Summary
    spool: Path

    @property
    def duration_s(self) -> float:
        return round((self.finished_at - self.started_at).total_seconds(), 3)

    def seeds(self) -> Iterator[dict[str, Any]]:
        """The seed results in input order, as their JSON objects."""
        with self.spool.open(encoding="utf-8") as lines:
            for line in lines:
                yield json.loads(line)

    def header(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "tool": {"name": "linkcheck", "version": __version__},
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
            "duration_s": self.duration_s,
            "summary": self.summary.to_dict(),
        }

    def write_json(self, stream: IO[str]) -> None:
        """Stream the whole report as JSON, seed by seed."""
        header = json.dumps(self.header(), ensure_ascii=False, indent=1)
        stream.write(header[:-2] + ',\n "seeds": [')
        with self.spool.open(encoding="utf-8") as lines:
            for index, line in enumerate(lines):
                stream.write(",\n  " if index else "\n  ")
                stream.write(line.rstrip("\n"))
        stream.write("\n ]\n}\n")

    def discard(self) -> None:
        self.spool.unlink(missing_ok=True)


class Spool:
    """Appends seed results as JSON lines while keeping the summary up to date."""

    def __init__(self, directory: Path | None = None) -> None:
        handle, name = tempfile.mkstemp(prefix="linkcheck-", suffix=".jsonl", dir=directory)
        self.path = Path(name)
        self._file = os.fdopen(handle, "w", encoding="utf-8")
        self.summary = Summary()

    def add(self, result: SeedResult) -> None:
        self.summary.add(result)
        self._file.write(json.dumps(seed_to_dict(result), ensure_ascii=False))
        self._file.write("\n")

    def close(self) -> None:
        self._file.close()


def write_atomically(report: Report, path: Path) -> None:
    """Write the JSON report to ``path`` through a temporary file and a rename."""
    directory = path.parent if str(path.parent) else Path(".")
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            report.write_json(stream)
        os.chmod(name, 0o644)
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def now() -> datetime:
    return datetime.now(UTC)
