"""Turning what a URL gave, and what the seed claims about it, into a verdict."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from urllib.parse import parse_qsl, urlencode, urlsplit

from linkcheck.model.amp import DEFAULT_CACHE_DOMAIN, cache_served, cdn_problem
from linkcheck.model.config import Config
from linkcheck.model.reasons import Reason, Verdict
from linkcheck.model.records import Check, ImageFacts, Kind, Outcome, Target
from linkcheck.model.soft404 import soft_404


@dataclass(frozen=True)
class Policy:
    """How outcomes become verdicts; built once per run from Config."""

    accept: tuple[tuple[int, int], ...] = ((200, 299),)
    size_policy: str = "exact"
    size_tolerance: int = 0
    aspect_tolerance: float = 0.01
    amp_cache_domain: str = DEFAULT_CACHE_DOMAIN

    @classmethod
    def from_config(cls, config: Config) -> Policy:
        return cls(
            config.accept,
            config.size_policy,
            config.size_tolerance,
            config.aspect_tolerance,
            config.amp_cache_domain,
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
        return _page_verdict(target, fetched, status)
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


def _page_verdict(target: Target, fetched: Outcome, status: int) -> tuple[Verdict, Reason, str]:
    """A 2xx page: an error page in disguise fails, and so does an AMP URL serving no AMP."""
    error_page = soft_404(fetched)
    if error_page is not None:
        return Verdict.FAILED, Reason.SOFT_404, error_page
    page = fetched.page
    if target.kind is Kind.AMP and page is not None and not page.is_amp:
        what = "is not HTML" if not page.html else "has no amp or \u26a1 attribute on <html>"
        return Verdict.FAILED, Reason.NOT_AMP, f"HTTP {status}, but the page {what}: not AMP"
    return Verdict.OK, Reason.OK, f"HTTP {status}"


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


#: A checked field of one article: the seed's own (no prefix) or a related entry's.
_FIELD = re.compile(
    r"(?P<article>(?:related\[\d+\]\.)?)"
    r"(?P<name>webUrl|ampWebUrl|cdnAmpWebUrl|images\[\d+\]\.(?:url|cacheUrl))"
)
#: Query parameters that only track a visit; a canonical link rightly leaves them out.
_TRACKING = re.compile(
    r"(?:utm_|at_).*|fbclid|gclid|dclid|msclkid|ocid|cmpid|mc_cid|mc_eid|ns_(?:mchannel|source"
    r"|campaign|linkname|fee)",
    re.IGNORECASE,
)


def judge_seed(checks: Iterable[Check], policy: Policy = Policy()) -> tuple[Check, ...]:
    """The seed's checks with the rules that compare its targets applied; pure.

    Each article (the seed's own fields, or one ``related[N]`` entry) is judged on its
    own: the AMP page's canonical link against webUrl (and webUrl's redirects), the
    page's amphtml link against ampWebUrl, cdnAmpWebUrl against the cache form of
    ampWebUrl (no request needed), and an image's cache copy against the image. A rule
    only turns an ok check into a warning; a check that failed keeps its own reason.
    """
    result = list(checks)
    fields: dict[tuple[str, str], int] = {}
    for index, check in enumerate(result):
        match = _FIELD.fullmatch(check.field)
        if match is not None:
            fields.setdefault((match["article"], match["name"]), index)
    original = tuple(result)

    def other(article: str, name: str) -> Check | None:
        index = fields.get((article, name))
        return original[index] if index is not None else None

    for (article, name), index in fields.items():
        check = result[index]
        try:
            if name == "webUrl":
                check = _amphtml_rule(check, other(article, "ampWebUrl"))
            elif name in ("ampWebUrl", "cdnAmpWebUrl"):
                if name == "cdnAmpWebUrl":
                    check = _cdn_rule(check, other(article, "ampWebUrl"), policy.amp_cache_domain)
                check = _canonical_rule(check, other(article, "webUrl"))
            elif name.endswith(".cacheUrl"):
                check = _cache_rule(check, other(article, name[: -len("cacheUrl")] + "url"))
        except Exception as exc:  # the boundary: a rule's bug marks its check, not the run
            message = f"internal error: {type(exc).__name__}: {exc}"[:200]
            check = replace(check, verdict=Verdict.FAILED, reason=Reason.INTERNAL, message=message)
        result[index] = check
    return tuple(result)


def _warn(check: Check, reason: Reason, message: str) -> Check:
    return replace(check, verdict=Verdict.WARNING, reason=reason, message=message)


def _canonical_rule(check: Check, web: Check | None) -> Check:
    page = check.outcome.page if check.outcome is not None else None
    if check.verdict is not Verdict.OK or web is None or page is None or not page.is_amp:
        return check
    if page.canonical is None:
        if not page.head_complete:
            return check  # the link may lie beyond the bytes read
        message = "the AMP page has no <link rel=canonical>; it should name the seed's webUrl"
        return _warn(check, Reason.CANONICAL_MISMATCH, message)
    if _passed_through(page.canonical, web):
        return check
    message = f"the AMP page's canonical link names {page.canonical}, not the webUrl {web.url}"
    return _warn(check, Reason.CANONICAL_MISMATCH, message)


def _amphtml_rule(check: Check, amp: Check | None) -> Check:
    page = check.outcome.page if check.outcome is not None else None
    if check.verdict is not Verdict.OK or amp is None or page is None or page.amphtml is None:
        return check
    if _passed_through(page.amphtml, amp):
        return check
    message = f"the page's amphtml link names {page.amphtml}, not the ampWebUrl {amp.url}"
    return _warn(check, Reason.AMPHTML_MISMATCH, message)


def _cdn_rule(check: Check, amp: Check | None, domain: str) -> Check:
    if amp is None or amp.target.problem is not None or check.target.problem is not None:
        return check
    problem = cdn_problem(amp.url, check.url, domain)
    if problem is None or check.verdict is Verdict.SKIPPED:
        return check
    if check.verdict is Verdict.OK:
        return _warn(check, Reason.CDN_AMP_MISMATCH, problem)
    return replace(check, message=f"{check.message} ({problem})")


def _cache_rule(check: Check, image: Check | None) -> Check:
    """An image's AMP-cache copy, judged against the original rather than the claim."""
    outcome = check.outcome
    if outcome is None or check.verdict is Verdict.SKIPPED:
        return check
    copy = outcome.image
    if not cache_served(outcome) or copy is None:
        answer = f"HTTP {outcome.status}" if outcome.error is None else outcome.error.value
        detail = check.message or answer
        if check.target.is_cached is False:
            return replace(
                check,
                verdict=Verdict.OK,
                reason=Reason.OK,
                message=f"not in the AMP cache ({answer}), as the seed's isCached: false says",
            )
        return _warn(check, Reason.CACHE_MISSING, f"the AMP cache does not serve it: {detail}")
    shown = f"{copy.format} {copy.displayed_width}x{copy.displayed_height}"
    if check.target.is_cached is False:
        message = f"the AMP cache serves it ({shown}) though the seed says isCached: false"
        return replace(check, verdict=Verdict.OK, reason=Reason.OK, message=message)
    origin = image.outcome if image is not None else None
    facts = origin.image if origin is not None else None
    if facts is not None and facts.has_size:
        original = f"{facts.format} {facts.displayed_width}x{facts.displayed_height}"
        if original != shown:
            message = f"the AMP cache serves {shown} but the original is {original}"
            return _warn(check, Reason.CACHE_STALE, message)
        return replace(
            check, verdict=Verdict.OK, reason=Reason.OK, message=f"the AMP cache serves {shown}"
        )
    if origin is not None and origin.error is None and (origin.status or 0) >= 400:
        message = f"the origin answers HTTP {origin.status} but the AMP cache still serves {shown}"
        return _warn(check, Reason.CACHE_STALE, message)
    message = f"the AMP cache serves {shown} (the original could not be read to compare)"
    return replace(check, verdict=Verdict.OK, reason=Reason.OK, message=message)


def _passed_through(url: str, check: Check) -> bool:
    """Whether ``url`` names a page the check's answer passed through (requested,
    redirected from, final), as :func:`_same_page` compares them; the same text is the
    same page without comparing."""
    urls = {check.url}
    if check.outcome is not None:
        outcome = check.outcome
        urls.update(outcome.url, *(hop.url for hop in outcome.redirects))
        if outcome.final_url:
            urls.add(outcome.final_url)
    return url in urls or _same_page(url) in {_same_page(other) for other in urls}


@functools.lru_cache(maxsize=8192)  # a seed's rules compare the same URLs many times
def _same_page(url: str) -> str:
    """A URL as the AMP link rules compare it: scheme, default port, a trailing slash,
    fragment, host case and tracking parameters do not make another page."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    host = (parts.hostname or "").lower()
    where = host if port in (None, 80, 443) else f"{host}:{port}"
    path = parts.path.rstrip("/") or "/"
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not _TRACKING.fullmatch(k)
    ]
    return f"{where}{path}?{urlencode(query)}"
