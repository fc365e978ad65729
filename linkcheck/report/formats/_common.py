"""What several formats share: the problems of a seed, locations, hosts, counts, spooling.

Every helper reads the report's JSON dictionaries (schema v1) and tolerates keys it
does not know, so a newer report still renders.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any
from urllib.parse import urlsplit

from linkcheck.model.reasons import Reason

#: Verdicts a reader must act on; ``ok`` and ``skipped`` are not problems.
PROBLEM_VERDICTS = ("failed", "warning")
#: The pseudo-field under which a seed's own errors are reported.
SEED_FIELD = "seed"
#: Text spooled in memory up to this size, then in a temporary file.
SPOOL_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Problem:
    """A failed or warning check, or a seed error (``field`` "seed", no URL, "failed")."""

    path: str
    line: int | None
    field: str
    url: str
    verdict: str
    reason: str
    message: str

    @property
    def location(self) -> str:
        return location(self.path, self.line)

    @property
    def severity(self) -> str:
        """The SARIF level and GitHub command: "warning" for warnings, else "error"."""
        return "warning" if self.verdict == "warning" else "error"


def location(path: str, line: int | None) -> str:
    """``path:line``, or the path alone when the line is unknown."""
    return f"{path}:{line}" if line else path


def seed_errors(seed: dict[str, Any]) -> Iterator[Problem]:
    """The seed's own errors, each as a failed problem of field "seed"."""
    for error in seed.get("errors") or ():
        yield Problem(
            path=seed["path"],
            line=error.get("line"),
            field=SEED_FIELD,
            url="",
            verdict="failed",
            reason=error["reason"],
            message=error.get("message", ""),
        )


def problems(seed: dict[str, Any]) -> Iterator[Problem]:
    """Seed errors first, then every failed or warning check, in report order."""
    yield from seed_errors(seed)
    for check in seed.get("checks") or ():
        if check["verdict"] in PROBLEM_VERDICTS:
            yield Problem(
                path=seed["path"],
                line=check.get("line"),
                field=check["field"],
                url=check["url"],
                verdict=check["verdict"],
                reason=check["reason"],
                message=check.get("message", ""),
            )


def host(url: str) -> str:
    """The URL's host name in lower case, or "" when it has none or cannot be parsed."""
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""


def is_web_url(url: str | None) -> bool:
    """True for http(s) URLs only: the only ones a format may turn into a link or a fetch."""
    if not url:
        return False
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def explanation(reason: str) -> str:
    """The reason's one-line explanation; an unknown (newer) reason explains itself."""
    try:
        return Reason(reason).explanation
    except ValueError:
        return reason


def summary_counts(header: dict[str, Any]) -> list[tuple[str, int]]:
    """The headline counts, labelled, in the order every summary shows them."""
    summary = header.get("summary") or {}
    keys = (
        ("ok", "ok"),
        ("warning", "warning"),
        ("failed", "failed"),
        ("skipped", "skipped"),
        ("seeds", "seeds"),
        ("invalid seeds", "invalid_seeds"),
        ("URLs", "urls"),
    )
    return [(label, int(summary.get(key) or 0)) for label, key in keys]


def offline_note(header: dict[str, Any]) -> str | None:
    """The sentence to show when every request failed DNS, else None."""
    if (header.get("summary") or {}).get("no_host_resolved"):
        return "No host could be resolved: the machine that ran the check may be offline."
    return None


@contextmanager
def spool() -> Iterator[IO[str]]:
    """A text buffer for output that must come after something only known at the end."""
    with tempfile.SpooledTemporaryFile(SPOOL_BYTES, mode="w+", encoding="utf-8") as buffer:
        yield buffer


def copy_spool(buffer: IO[str], stream: IO[str]) -> None:
    """Write everything written to ``buffer`` so far to ``stream``."""
    buffer.seek(0)
    shutil.copyfileobj(buffer, stream)
