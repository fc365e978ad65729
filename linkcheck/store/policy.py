"""What the results store may keep and serve, and for how long; pure rules, no I/O.

The store keeps raw outcomes, never verdicts: a served outcome is judged again under
the current policy and claims, so a stored 403 passes once ``--accept`` takes it.
Outcomes that may be transient (timeouts, resets, DNS, 429, bot challenges, 5xx,
internal errors) are never stored or served: they are always asked again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

from linkcheck.model.config import DEFAULT_MAX_AGE, Config
from linkcheck.model.reasons import Reason
from linkcheck.model.records import Outcome

#: Failures worth keeping an older good entry over (it can still be revalidated later).
_PASSING = frozenset(
    {Reason.TIMEOUT, Reason.CONNECT, Reason.DNS, Reason.PROTOCOL, Reason.RATE_LIMITED,
     Reason.BLOCKED, Reason.INTERNAL}
)  # fmt: skip


def servable(outcome: Outcome) -> bool:
    """Whether ``outcome`` may be served from the store on a later run: a final answer
    that will not pass on its own (a 200, a 404, an image of the wrong size, an HTML
    page where an image should be). Anything that may be transient is not, nor a refusal
    of the address policy, which --allow-network may lift on the next run."""
    if transient(outcome) or outcome.error is Reason.UNSAFE_URL:
        return False
    image = outcome.image
    return image is None or image.problem is not Reason.INTERNAL


def transient(outcome: Outcome) -> bool:
    """Whether a failure may well pass on its own: timeouts, resets, DNS, 429, 5xx, internal."""
    if outcome.transient or outcome.error in _PASSING or outcome.challenge is not None:
        return True
    if outcome.error is None and outcome.status is None:
        return True  # no answer at all (a run stopped mid-way): nothing to keep
    return outcome.status is not None and outcome.status >= 500


def probe_key(config: Config, image: bool) -> str:
    """A short digest of the settings that shape an outcome of this kind.

    An entry made under other settings (another --verify-images, another --method,
    other --header rules) describes another probe and is not used.
    """
    parts: list[object] = [config.max_redirects, config.max_response_bytes]
    parts += sorted(f"{rule.pattern}:{rule.name}:{rule.env}" for rule in config.headers)
    if image:
        parts += ["image", config.verify_images, config.max_image_bytes, config.image_first_bytes]
    else:
        # "facts-1": page outcomes carry PageFacts (AMP, canonical, soft 404); older
        # entries stored before the page probe have none and must not be served.
        parts += ["page", "facts-1", config.method, config.page_body_bytes]
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Freshness:
    """How long stored outcomes are used without a request, for pages and for images."""

    pages: float = DEFAULT_MAX_AGE
    images: float = DEFAULT_MAX_AGE

    @classmethod
    def from_config(cls, config: Config) -> Freshness:
        """The last rule naming a kind wins for it; rules without a kind set both."""
        general = next(
            (rule.seconds for rule in reversed(config.cache_max_age) if rule.kind is None),
            DEFAULT_MAX_AGE,
        )
        kinds = {rule.kind: rule.seconds for rule in config.cache_max_age if rule.kind}
        return cls(kinds.get("pages", general), kinds.get("images", general))

    def max_age(self, image: bool) -> float:
        return self.images if image else self.pages


def revalidated(stored: Outcome, answer: Outcome) -> Outcome:
    """A stored outcome confirmed by a 304: its facts, the conditional request's costs."""
    image = stored.image
    if image is not None:
        image = replace(image, requests=answer.requests, bytes_read=answer.bytes_read)
    return replace(
        stored,
        etag=answer.etag or stored.etag,
        last_modified=answer.last_modified or stored.last_modified,
        requests=answer.requests,
        retries=answer.retries,
        bytes_read=answer.bytes_read,
        elapsed_ms=answer.elapsed_ms,
        queued_ms=answer.queued_ms,
        image=image,
    )


def conditional_headers(outcome: Outcome) -> dict[str, str]:
    """If-None-Match / If-Modified-Since from a stored outcome's validators (may be empty)."""
    headers = {}
    if outcome.etag:
        headers["If-None-Match"] = outcome.etag
    if outcome.last_modified:
        headers["If-Modified-Since"] = outcome.last_modified
    return headers
