"""Turning what a URL gave, and what the seed claims about it, into a verdict."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from linkcheck.fetch import ERROR_BODY_BYTES, Fetched, Hop
from linkcheck.images import ImageProbe
from linkcheck.seeds import Kind, Target
from linkcheck.verdicts import Reason, Verdict

Accept = tuple[tuple[int, int], ...]
DEFAULT_ACCEPT: Accept = ((200, 299),)


@dataclass(frozen=True, slots=True)
class ImageFacts:
    """The image block of a check: what was found beside what the seed claims."""

    format: str | None
    width: int | None
    height: int | None
    claimed_width: int | None
    claimed_height: int | None
    is_cached: bool | None
    bytes_read: int


@dataclass(frozen=True, slots=True)
class Check:
    """The outcome of one target of one seed, as reported."""

    field: str
    line: int | None
    url: str
    kind: Kind
    verdict: Verdict
    reason: Reason
    message: str
    http_status: int | None = None
    final_url: str | None = None
    redirects: tuple[Hop, ...] = ()
    elapsed_ms: float = 0.0
    image: ImageFacts | None = None


def judge(target: Target, fetched: Fetched[Any], accept: Accept = DEFAULT_ACCEPT) -> Check:
    """The verdict for ``target`` given the shared fetch of its URL.

    ``accept`` lists the inclusive status ranges that count as a good answer.
    """
    verdict, reason, message = _outcome(target, fetched, accept)
    image = None
    if target.kind is Kind.IMAGE:
        probe = fetched.body if isinstance(fetched.body, ImageProbe) else ImageProbe()
        image = ImageFacts(
            format=probe.format,
            width=probe.width,
            height=probe.height,
            claimed_width=target.claimed_width,
            claimed_height=target.claimed_height,
            is_cached=target.is_cached,
            bytes_read=fetched.bytes_read,
        )
    return Check(
        field=target.field,
        line=target.line,
        url=target.url,
        kind=target.kind,
        verdict=verdict,
        reason=reason,
        message=message,
        http_status=fetched.status,
        final_url=fetched.final_url,
        redirects=tuple(fetched.redirects),
        elapsed_ms=fetched.elapsed_ms,
        image=image,
    )


def judge_unrequestable(target: Target) -> Check:
    """The check for a URL that was refused before any request (invalid or unsafe)."""
    problem = target.problem
    reason = problem.reason if problem else Reason.INVALID_URL
    return Check(
        field=target.field,
        line=target.line,
        url=target.url,
        kind=target.kind,
        verdict=Verdict.FAILED,
        reason=reason,
        message=str(problem) if problem else reason.explanation,
        image=_claims_only(target),
    )


def _claims_only(target: Target) -> ImageFacts | None:
    if target.kind is not Kind.IMAGE:
        return None
    return ImageFacts(
        None, None, None, target.claimed_width, target.claimed_height, target.is_cached, 0
    )


def judge_skipped(target: Target, reason: Reason, message: str) -> Check:
    """The check for a target that was not requested (excluded, or the run stopped first)."""
    return Check(
        field=target.field,
        line=target.line,
        url=target.url,
        kind=target.kind,
        verdict=Verdict.SKIPPED,
        reason=reason,
        message=message,
        image=_claims_only(target),
    )


def _outcome(target: Target, fetched: Fetched[Any], accept: Accept) -> tuple[Verdict, Reason, str]:
    if fetched.error is Reason.RATE_LIMITED:
        return Verdict.WARNING, Reason.RATE_LIMITED, fetched.message
    if fetched.error is not None:
        return Verdict.FAILED, fetched.error, fetched.message
    status = fetched.status or 0
    if not any(low <= status <= high for low, high in accept):
        return _bad_status(fetched, status)
    if not 200 <= status < 300:
        return Verdict.OK, Reason.OK, f"HTTP {status}, accepted by --accept"
    if target.kind is not Kind.IMAGE:
        return Verdict.OK, Reason.OK, f"HTTP {status}"
    probe = fetched.body
    if not isinstance(probe, ImageProbe):
        return Verdict.FAILED, Reason.NOT_IMAGE, "the body was not read as an image"
    if probe.problem is not None:
        return Verdict.FAILED, probe.problem, probe.message
    return _size_outcome(target, probe)


def _bad_status(fetched: Fetched[Any], status: int) -> tuple[Verdict, Reason, str]:
    challenge = bot_challenge(status, fetched.headers, fetched.error_body)
    if challenge is not None:
        return (
            Verdict.WARNING,
            Reason.BLOCKED,
            f"HTTP {status} with a {challenge}: the page may be fine for people",
        )
    if status == 429:
        return Verdict.WARNING, Reason.RATE_LIMITED, "the server still answered 429 after retries"
    return Verdict.FAILED, Reason.HTTP_STATUS, f"the server answered HTTP {status}"


def bot_challenge(status: int, headers: httpx.Headers | None, body: bytes) -> str | None:
    """Name the bot-protection service whose challenge this answer is, if it is one."""
    if status not in (403, 429, 503) or headers is None:
        return None
    text = body[:ERROR_BODY_BYTES].lower()
    server = headers.get("server", "").lower()
    if headers.get("cf-mitigated", "").lower() == "challenge":
        return "Cloudflare challenge"
    if "cloudflare" in server and any(mark in text for mark in _CLOUDFLARE_MARKS):
        return "Cloudflare challenge"
    if "x-datadome" in headers or b"captcha-delivery.com" in text:
        return "DataDome challenge"
    if headers.get("x-amzn-waf-action", "").lower() in ("captcha", "challenge"):
        return "AWS WAF challenge"
    if b"px-captcha" in text:
        return "PerimeterX challenge"
    if "akamaighost" in server and b"access denied" in text:
        return "Akamai bot block"
    return None


_CLOUDFLARE_MARKS = (b"challenge-platform", b"cf-chl", b"just a moment", b"attention required")


def _size_outcome(target: Target, probe: ImageProbe) -> tuple[Verdict, Reason, str]:
    actual = f"{probe.width}x{probe.height}"
    claimed_w, claimed_h = target.claimed_width, target.claimed_height
    if claimed_w is None and claimed_h is None:
        return Verdict.OK, Reason.OK, f"{probe.format} {actual} (no size claimed)"
    if (claimed_w is None or claimed_w == probe.width) and (
        claimed_h is None or claimed_h == probe.height
    ):
        return Verdict.OK, Reason.OK, f"{probe.format} {actual} as claimed"
    claimed = f"{claimed_w or '?'}x{claimed_h or '?'}"
    return (
        Verdict.FAILED,
        Reason.SIZE_MISMATCH,
        f"the seed claims {claimed} but the image is {actual}",
    )
