"""Turning what a URL gave, and what the seed claims about it, into a verdict."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from linkcheck.model.config import Config
from linkcheck.model.reasons import Reason, Verdict
from linkcheck.net.fetch import Fetched, Hop
from linkcheck.probes.image_header import ImageHeader
from linkcheck.probes.images import ImageProbe
from linkcheck.seeds.reader import Kind, Target


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
    displayed_width: int | None = None
    displayed_height: int | None = None
    orientation: int | None = None
    content_type: str | None = None
    requests: int = 0
    range_honoured: bool | None = None
    total_bytes: int | None = None
    integrity: str = "not_checked"

    @classmethod
    def of(cls, target: Target, probe: ImageProbe | None, bytes_read: int) -> ImageFacts:
        header = probe.header if probe else None
        return cls(
            format=header.format if header else None,
            width=header.width if header else None,
            height=header.height if header else None,
            claimed_width=target.claimed_width,
            claimed_height=target.claimed_height,
            is_cached=target.is_cached,
            bytes_read=bytes_read,
            displayed_width=header.displayed_width if header else None,
            displayed_height=header.displayed_height if header else None,
            orientation=header.orientation if header else None,
            content_type=probe.content_type if probe else None,
            requests=probe.requests if probe else 0,
            range_honoured=probe.range_honoured if probe else None,
            total_bytes=probe.total_bytes if probe else None,
            integrity=probe.integrity if probe else "not_checked",
        )


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


@dataclass(frozen=True)
class Policy:
    """How outcomes become verdicts; built once per run from Config."""

    accept: tuple[tuple[int, int], ...] = ((200, 299),)
    size_policy: str = "exact"
    size_tolerance: int = 0
    aspect_tolerance: float = 0.01

    @classmethod
    def from_config(cls, config: Config) -> Policy:
        return cls(
            config.accept, config.size_policy, config.size_tolerance, config.aspect_tolerance
        )


def judge(target: Target, fetched: Fetched[Any], policy: Policy = Policy()) -> Check:
    """The verdict for ``target`` given the shared fetch of its URL."""
    verdict, reason, message = _outcome(target, fetched, policy)
    probe = fetched.body if isinstance(fetched.body, ImageProbe) else None
    return _check(
        target,
        verdict,
        reason,
        message,
        http_status=fetched.status,
        final_url=fetched.final_url,
        redirects=tuple(fetched.redirects),
        elapsed_ms=fetched.elapsed_ms,
        image=ImageFacts.of(target, probe, fetched.bytes_read),
    )


def judge_unrequestable(target: Target) -> Check:
    """The check for a URL that was refused before any request (invalid or unsafe)."""
    problem = target.problem
    reason = problem.reason if problem else Reason.INVALID_URL
    message = str(problem) if problem else reason.explanation
    return _check(target, Verdict.FAILED, reason, message)


def judge_skipped(target: Target, reason: Reason, message: str) -> Check:
    """The check for a target that was not requested (excluded, or the run stopped first)."""
    return _check(target, Verdict.SKIPPED, reason, message)


def _check(
    target: Target,
    verdict: Verdict,
    reason: Reason,
    message: str,
    *,
    image: ImageFacts | None = None,
    **answer: Any,
) -> Check:
    """A check of ``target``; image targets always carry their claims."""
    if image is None and target.kind is Kind.IMAGE:
        image = ImageFacts.of(target, None, 0)
    return Check(
        field=target.field,
        line=target.line,
        url=target.url,
        kind=target.kind,
        verdict=verdict,
        reason=reason,
        message=message,
        image=image if target.kind is Kind.IMAGE else None,
        **answer,
    )


def _outcome(target: Target, fetched: Fetched[Any], policy: Policy) -> tuple[Verdict, Reason, str]:
    if fetched.error is Reason.RATE_LIMITED:
        return Verdict.WARNING, Reason.RATE_LIMITED, fetched.message
    if fetched.error is not None:
        return Verdict.FAILED, fetched.error, fetched.message
    status = fetched.status or 0
    if not any(low <= status <= high for low, high in policy.accept):
        return _bad_status(fetched, status)
    if not 200 <= status < 300:
        return Verdict.OK, Reason.OK, f"HTTP {status}, accepted by --accept"
    if target.kind is not Kind.IMAGE:
        return Verdict.OK, Reason.OK, f"HTTP {status}"
    probe = fetched.body
    if not isinstance(probe, ImageProbe) or probe.header is None:
        problem = probe.problem if isinstance(probe, ImageProbe) else None
        message = probe.message if isinstance(probe, ImageProbe) else "no image was read"
        return Verdict.FAILED, problem or Reason.NOT_IMAGE, message
    if probe.problem is not None:
        return Verdict.FAILED, probe.problem, probe.message
    verdict, reason, message = _size_outcome(target, probe.header, policy)
    mismatch = probe.content_type_problem()
    if verdict is Verdict.OK and mismatch is not None:
        return Verdict.WARNING, Reason.CONTENT_TYPE_MISMATCH, mismatch
    return verdict, reason, message


def _bad_status(fetched: Fetched[Any], status: int) -> tuple[Verdict, Reason, str]:
    challenge = fetched.challenge
    if challenge is not None:
        return (
            Verdict.WARNING,
            Reason.BLOCKED,
            f"HTTP {status} with a {challenge}: the page may be fine for people",
        )
    if status == 429:
        return Verdict.WARNING, Reason.RATE_LIMITED, "the server still answered 429 after retries"
    return Verdict.FAILED, Reason.HTTP_STATUS, f"the server answered HTTP {status}"


def _size_outcome(
    target: Target, header: ImageHeader, policy: Policy
) -> tuple[Verdict, Reason, str]:
    """Compare the claim with the displayed size (after EXIF orientation / irot)."""
    shown = (header.displayed_width, header.displayed_height)
    stored = (header.width, header.height)
    actual = f"{header.format} {shown[0]}x{shown[1]}"
    if header.orientation != 1:
        actual += f" (stored {stored[0]}x{stored[1]}, orientation {header.orientation})"
    claim = (target.claimed_width, target.claimed_height)
    if claim == (None, None):
        return Verdict.OK, Reason.OK, f"{actual} (no size claimed)"
    if policy.size_policy == "off" or _fits(claim, shown, policy):
        return Verdict.OK, Reason.OK, f"{actual} as claimed"
    claimed = f"{claim[0] or '?'}x{claim[1] or '?'}"
    if stored != shown and _fits(claim, stored, policy):
        return (
            Verdict.WARNING,
            Reason.SIZE_MISMATCH,
            f"the seed claims {claimed}, the stored size, but browsers show {shown[0]}x"
            f"{shown[1]} after EXIF orientation {header.orientation}: an orientation problem",
        )
    return (
        Verdict.FAILED,
        Reason.SIZE_MISMATCH,
        f"the seed claims {claimed} but the image is {actual}",
    )


def _fits(claim: tuple[int | None, int | None], size: tuple[int, int], policy: Policy) -> bool:
    """Whether a size satisfies a (possibly partial) claim under the size policy."""
    tolerance = policy.size_tolerance
    if all(c is None or abs(c - s) <= tolerance for c, s in zip(claim, size, strict=True)):
        return True
    if policy.size_policy != "aspect" or None in claim or 0 in size:
        return False
    claimed_w, claimed_h = claim
    assert claimed_w is not None and claimed_h is not None
    ratio = (claimed_w / claimed_h) / (size[0] / size[1])
    return abs(ratio - 1) <= policy.aspect_tolerance
