"""Turning what a URL gave, and what the seed claims about it, into a verdict."""

from __future__ import annotations

from dataclasses import dataclass

from linkcheck.model.config import Config
from linkcheck.model.reasons import Reason, Verdict
from linkcheck.model.records import Check, ImageFacts, Kind, Outcome, Target


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


def judge(target: Target, outcome: Outcome, policy: Policy = Policy()) -> Check:
    """The verdict for ``target`` given the (shared) outcome of its URL; pure."""
    verdict, reason, message = _verdict(target, outcome, policy)
    return Check(target, verdict, reason, message, outcome)


def judge_unrequestable(target: Target) -> Check:
    """The check for a URL that was refused before any request (invalid or unsafe)."""
    reason = target.problem or Reason.INVALID_URL
    message = target.problem_message or reason.explanation
    return Check(target, Verdict.FAILED, reason, message)


def judge_skipped(target: Target, reason: Reason, message: str) -> Check:
    """The check for a target that was not requested (excluded, or the run stopped first)."""
    return Check(target, Verdict.SKIPPED, reason, message)


def _verdict(target: Target, fetched: Outcome, policy: Policy) -> tuple[Verdict, Reason, str]:
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
    probe = fetched.image
    if probe is None or not probe.has_size:
        problem = probe.problem if probe is not None else None
        message = probe.message if probe is not None else "no image was read"
        return Verdict.FAILED, problem or Reason.NOT_IMAGE, message or Reason.NOT_IMAGE.explanation
    if probe.problem is not None:
        return Verdict.FAILED, probe.problem, probe.message
    verdict, reason, message = _size_outcome(target, probe, policy)
    mismatch = probe.content_type_problem()
    if verdict is Verdict.OK and mismatch is not None:
        return Verdict.WARNING, Reason.CONTENT_TYPE_MISMATCH, mismatch
    return verdict, reason, message


def _bad_status(fetched: Outcome, status: int) -> tuple[Verdict, Reason, str]:
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
    target: Target, header: ImageFacts, policy: Policy
) -> tuple[Verdict, Reason, str]:
    """Compare the claim with the displayed size (after EXIF orientation / irot)."""
    assert header.displayed_width is not None and header.displayed_height is not None
    shown = (header.displayed_width, header.displayed_height)
    stored = (header.width or 0, header.height or 0)
    actual = f"{header.format} {shown[0]}x{shown[1]}"
    if header.orientation not in (None, 1):
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
    if policy.size_policy != "aspect" or None in claim or 0 in claim or 0 in size:
        return False
    claimed_w, claimed_h = claim
    assert claimed_w is not None and claimed_h is not None
    ratio = (claimed_w / claimed_h) / (size[0] / size[1])
    return abs(ratio - 1) <= policy.aspect_tolerance
