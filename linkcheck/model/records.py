"""The records a run passes between its layers: targets, outcomes, checks, seed results.

Every record is frozen, typed and free of I/O, so it can be stored, sent to
another process or judged again. Each has ``to_dict`` (plain JSON values) and
``from_dict``, with ``from_dict(to_dict(x)) == x``.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from linkcheck.model.reasons import Reason, Verdict

#: Statuses and failure reasons worth another try; the one place that says so.
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
RETRY_REASONS = frozenset({Reason.CONNECT, Reason.TIMEOUT, Reason.PROTOCOL})

#: Content types a browser accepts for each image format (besides none at all).
CONTENT_TYPES: dict[str, frozenset[str]] = {
    "jpeg": frozenset({"image/jpeg", "image/jpg", "image/pjpeg"}),
    "png": frozenset({"image/png", "image/apng"}),
    "apng": frozenset({"image/png", "image/apng"}),
    "gif": frozenset({"image/gif"}),
    "webp": frozenset({"image/webp"}),
    "bmp": frozenset({"image/bmp", "image/x-bmp", "image/x-ms-bmp"}),
    "tiff": frozenset({"image/tiff", "image/tiff-fx"}),
    "ico": frozenset({"image/x-icon", "image/vnd.microsoft.icon", "image/ico"}),
    "avif": frozenset({"image/avif"}),
    "heic": frozenset({"image/heic", "image/heif", "image/heic-sequence", "image/heif-sequence"}),
    "svg": frozenset({"image/svg+xml"}),
}


def is_transient(status: int | None, reason: Reason | None) -> bool:
    """Whether an outcome may well change on a later try."""
    if reason is not None:
        return reason in RETRY_REASONS
    return status in RETRY_STATUSES


#: A URL whose host is plain (lower-case name or IPv4, no user, no brackets): its host is
#: read without ``urlsplit``, which costs ten times as much. Normalised URLs all are.
_PLAIN_HOST = re.compile(r"https?://([a-z0-9.-]+)(?::[0-9]*)?(?:[/?#]|$)")


@functools.lru_cache(maxsize=8192)  # asked for the same URLs by every layer
def host_name(url: str) -> str:
    """The lower-case host of a URL (punycode for a normalised IDN), or "" when it has none."""
    plain = _PLAIN_HOST.match(url)
    if plain is not None:
        return plain[1]
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""


class Kind(StrEnum):
    """What a URL is expected to serve."""

    PAGE = "page"
    AMP = "amp"
    IMAGE = "image"


class Integrity(StrEnum):
    """What is known of an image file's end: its bytes after the header."""

    NOT_CHECKED = "not_checked"
    OK = "ok"
    TRUNCATED = "truncated"
    CORRUPT = "corrupt"


def _opt_reason(value: Any) -> Reason | None:
    return None if value is None else Reason(value)


@dataclass(frozen=True, slots=True)
class SeedError:
    """Why (part of) a seed could not be used, with the line where it shows."""

    reason: Reason
    message: str
    line: int | None

    def to_dict(self) -> dict[str, Any]:
        return {"reason": self.reason.value, "message": self.message, "line": self.line}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SeedError:
        return cls(Reason(data["reason"]), data["message"], data.get("line"))


@dataclass(frozen=True, slots=True)
class SeedWarning:
    """Something wrong in a seed that does not stop it being checked (a lint finding).

    ``field`` is the value's path (``related[0].excerpt``); ``replacement`` is the
    value the seed should hold instead, when it is known (the repaired text).
    """

    reason: Reason
    message: str
    line: int | None
    field: str
    replacement: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "reason": self.reason.value,
            "field": self.field,
            "message": self.message,
            "line": self.line,
        }
        if self.replacement is not None:
            data["replacement"] = self.replacement
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SeedWarning:
        return cls(
            Reason(data["reason"]),
            data["message"],
            data.get("line"),
            data["field"],
            data.get("replacement"),
        )


@dataclass(frozen=True, slots=True)
class Target:
    """One URL to check: where it was written, what it should serve, what the seed claims.

    ``problem`` is set when the URL itself cannot be requested (invalid or
    unsafe); such a target is judged without any network access.
    """

    field: str
    line: int | None
    url: str
    kind: Kind
    claimed_width: int | None = None
    claimed_height: int | None = None
    is_cached: bool | None = None
    problem: Reason | None = None
    problem_message: str = ""
    seed: str = ""
    column: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "field": self.field,
            "line": self.line,
            "column": self.column,
            "url": self.url,
            "kind": self.kind.value,
            "claimed_width": self.claimed_width,
            "claimed_height": self.claimed_height,
            "is_cached": self.is_cached,
            "problem": self.problem.value if self.problem else None,
            "problem_message": self.problem_message,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Target:
        return cls(
            field=data["field"],
            line=data.get("line"),
            url=data["url"],
            kind=Kind(data["kind"]),
            claimed_width=data.get("claimed_width"),
            claimed_height=data.get("claimed_height"),
            is_cached=data.get("is_cached"),
            problem=_opt_reason(data.get("problem")),
            problem_message=data.get("problem_message", ""),
            seed=data.get("seed", ""),
            column=data.get("column"),
        )


@dataclass(frozen=True, slots=True)
class Hop:
    """One redirect answer: the URL that was requested and the 3xx status it gave."""

    url: str
    status: int

    def to_dict(self) -> dict[str, Any]:
        return {"url": self.url, "status": self.status}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Hop:
        return cls(data["url"], data["status"])


@dataclass(frozen=True, slots=True)
class ImageFacts:
    """What an image URL's bytes showed: format and size, or why there is none, and the cost.

    ``width``/``height`` are as stored; ``displayed_*`` after EXIF orientation
    (or HEIF ``irot``), which is what a browser shows and what claims are
    compared with.
    """

    format: str | None = None
    width: int | None = None
    height: int | None = None
    displayed_width: int | None = None
    displayed_height: int | None = None
    orientation: int | None = None
    problem: Reason | None = None
    message: str = ""
    content_type: str | None = None
    requests: int = 0
    bytes_read: int = 0
    range_honoured: bool | None = None
    total_bytes: int | None = None
    integrity: Integrity = Integrity.NOT_CHECKED
    notes: tuple[str, ...] = ()

    @property
    def has_size(self) -> bool:
        return self.displayed_width is not None and self.displayed_height is not None

    def content_type_problem(self) -> str | None:
        """A message when the Content-Type names another format than the bytes are in.

        A missing Content-Type is no disagreement: browsers sniff the bytes.
        """
        if self.format is None:
            return None
        media = (self.content_type or "").split(";")[0].strip().lower()
        if not media or media in CONTENT_TYPES.get(self.format, frozenset()):
            return None
        return f"the server says {media} but the bytes are {self.format.upper()}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "width": self.width,
            "height": self.height,
            "displayed_width": self.displayed_width,
            "displayed_height": self.displayed_height,
            "orientation": self.orientation,
            "problem": self.problem.value if self.problem else None,
            "message": self.message,
            "content_type": self.content_type,
            "requests": self.requests,
            "bytes_read": self.bytes_read,
            "range_honoured": self.range_honoured,
            "total_bytes": self.total_bytes,
            "integrity": self.integrity.value,
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImageFacts:
        return cls(
            format=data.get("format"),
            width=data.get("width"),
            height=data.get("height"),
            displayed_width=data.get("displayed_width"),
            displayed_height=data.get("displayed_height"),
            orientation=data.get("orientation"),
            problem=_opt_reason(data.get("problem")),
            message=data.get("message", ""),
            content_type=data.get("content_type"),
            requests=data.get("requests", 0),
            bytes_read=data.get("bytes_read", 0),
            range_honoured=data.get("range_honoured"),
            total_bytes=data.get("total_bytes"),
            integrity=Integrity(data.get("integrity", Integrity.NOT_CHECKED.value)),
            notes=tuple(data.get("notes", ())),
        )


@dataclass(frozen=True, slots=True)
class PageFacts:
    """What a page's first bytes showed: the few facts the AMP and soft-404 rules read.

    Taken from the ``<head>`` (and the first ``<h1>`` after it) of the first
    ``page_body_bytes`` of a 2xx answer. ``canonical`` and ``amphtml`` are absolute
    and normalised; ``head_complete`` says whether ``</head>`` (or the body) was
    reached, so an absent link is known to be absent, not merely beyond the bytes read.
    """

    is_amp: bool = False
    canonical: str | None = None
    amphtml: str | None = None
    title: str | None = None
    heading: str | None = None
    head_complete: bool = False
    html: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "is_amp": self.is_amp,
            "canonical": self.canonical,
            "amphtml": self.amphtml,
            "title": self.title,
            "heading": self.heading,
            "head_complete": self.head_complete,
            "html": self.html,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PageFacts:
        return cls(
            is_amp=data.get("is_amp", False),
            canonical=data.get("canonical"),
            amphtml=data.get("amphtml"),
            title=data.get("title"),
            heading=data.get("heading"),
            head_complete=data.get("head_complete", False),
            html=data.get("html", True),
        )


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one URL gave, raw: the final answer or the failure, never a verdict.

    Outcomes are kept for the whole run (every seed naming the URL is judged
    from one), stored between runs and sent between processes, so they hold
    only what judging and revalidation need: statuses, the redirect chain, a
    few headers, image or page facts and costs.
    """

    url: str
    status: int | None = None
    final_url: str | None = None
    redirects: tuple[Hop, ...] = ()
    error: Reason | None = None
    message: str = ""
    challenge: str | None = None
    retry_after: float | None = None
    content_type: str | None = None
    content_length: int | None = None
    etag: str | None = None
    last_modified: str | None = None
    requests: int = 0
    retries: int = 0
    bytes_read: int = 0
    elapsed_ms: float = 0.0
    queued_ms: float = 0.0
    image: ImageFacts | None = None
    page: PageFacts | None = None

    @property
    def transient(self) -> bool:
        """Whether a later try might give another outcome (for the recheck pass)."""
        if self.error is Reason.RATE_LIMITED:
            return True
        return is_transient(self.status, self.error)

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "status": self.status,
            "final_url": self.final_url,
            "redirects": [hop.to_dict() for hop in self.redirects],
            "error": self.error.value if self.error else None,
            "message": self.message,
            "challenge": self.challenge,
            "retry_after": self.retry_after,
            "content_type": self.content_type,
            "content_length": self.content_length,
            "etag": self.etag,
            "last_modified": self.last_modified,
            "requests": self.requests,
            "retries": self.retries,
            "bytes_read": self.bytes_read,
            "elapsed_ms": self.elapsed_ms,
            "queued_ms": self.queued_ms,
            "image": self.image.to_dict() if self.image is not None else None,
            "page": self.page.to_dict() if self.page is not None else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Outcome:
        image = data.get("image")
        page = data.get("page")
        return cls(
            url=data["url"],
            status=data.get("status"),
            final_url=data.get("final_url"),
            redirects=tuple(Hop.from_dict(hop) for hop in data.get("redirects", ())),
            error=_opt_reason(data.get("error")),
            message=data.get("message", ""),
            challenge=data.get("challenge"),
            retry_after=data.get("retry_after"),
            content_type=data.get("content_type"),
            content_length=data.get("content_length"),
            etag=data.get("etag"),
            last_modified=data.get("last_modified"),
            requests=data.get("requests", 0),
            retries=data.get("retries", 0),
            bytes_read=data.get("bytes_read", 0),
            elapsed_ms=data.get("elapsed_ms", 0.0),
            queued_ms=data.get("queued_ms", 0.0),
            image=ImageFacts.from_dict(image) if image is not None else None,
            page=PageFacts.from_dict(page) if page is not None else None,
        )


@dataclass(frozen=True, slots=True)
class Check:
    """One target judged: the target, the outcome it was judged on (if any), the verdict."""

    target: Target
    verdict: Verdict
    reason: Reason
    message: str
    outcome: Outcome | None = None

    @property
    def field(self) -> str:
        return self.target.field

    @property
    def line(self) -> int | None:
        return self.target.line

    @property
    def url(self) -> str:
        return self.target.url

    @property
    def kind(self) -> Kind:
        return self.target.kind

    @property
    def requested_host(self) -> str:
        """The host that was (or would have been) asked: the remapped one when remapped."""
        return host_name(self.outcome.url if self.outcome is not None else self.target.url)

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target.to_dict(),
            "verdict": self.verdict.value,
            "reason": self.reason.value,
            "message": self.message,
            "outcome": self.outcome.to_dict() if self.outcome is not None else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Check:
        outcome = data.get("outcome")
        return cls(
            target=Target.from_dict(data["target"]),
            verdict=Verdict(data["verdict"]),
            reason=Reason(data["reason"]),
            message=data["message"],
            outcome=Outcome.from_dict(outcome) if outcome is not None else None,
        )


@dataclass(frozen=True, slots=True)
class Seed:
    """A seed file as read: its targets, or the errors that kept (part of) it from being read."""

    path: str
    targets: tuple[Target, ...]
    errors: tuple[SeedError, ...]
    title: str | None = None
    #: Lint findings: problems that do not keep the seed from being checked.
    warnings: tuple[SeedWarning, ...] = ()
    #: SHA-256 of the file's bytes as read (hex), so ``fix`` can tell an edited seed.
    sha256: str | None = None

    @property
    def valid(self) -> bool:
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "title": self.title,
            "targets": [target.to_dict() for target in self.targets],
            "errors": [error.to_dict() for error in self.errors],
            "warnings": [warning.to_dict() for warning in self.warnings],
            "sha256": self.sha256,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Seed:
        return cls(
            path=data["path"],
            targets=tuple(Target.from_dict(item) for item in data.get("targets", ())),
            errors=tuple(SeedError.from_dict(item) for item in data.get("errors", ())),
            title=data.get("title"),
            warnings=tuple(SeedWarning.from_dict(item) for item in data.get("warnings", ())),
            sha256=data.get("sha256"),
        )


@dataclass(frozen=True, slots=True)
class SeedResult:
    """One seed file with its errors and the checks of its URLs."""

    path: str
    errors: tuple[SeedError, ...]
    checks: tuple[Check, ...]
    title: str | None = None
    warnings: tuple[SeedWarning, ...] = ()
    sha256: str | None = None

    @property
    def valid(self) -> bool:
        return not self.errors

    @classmethod
    def of(cls, seed: Seed, checks: tuple[Check, ...]) -> SeedResult:
        return cls(seed.path, seed.errors, checks, seed.title, seed.warnings, seed.sha256)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "title": self.title,
            "errors": [error.to_dict() for error in self.errors],
            "checks": [check.to_dict() for check in self.checks],
            "warnings": [warning.to_dict() for warning in self.warnings],
            "sha256": self.sha256,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SeedResult:
        return cls(
            path=data["path"],
            errors=tuple(SeedError.from_dict(item) for item in data.get("errors", ())),
            checks=tuple(Check.from_dict(item) for item in data.get("checks", ())),
            title=data.get("title"),
            warnings=tuple(SeedWarning.from_dict(item) for item in data.get("warnings", ())),
            sha256=data.get("sha256"),
        )
