"""The AMP cache URL form, computed without a request; pure.

An AMP cache serves a document or image of ``host`` under a subdomain derived from
that host (``www-example-com.cdn.ampproject.org``): punycode decoded, each ``-``
doubled, each ``.`` turned into ``-``, punycode encoded again; ``0-``/``-0`` wrap a
result with ``--`` at positions 3-4 (it would read as an IDN label), and a host that
cannot give a valid label (over 63 characters, no dot, right-to-left mixed with
left-to-right) falls back to the base32 SHA-256 of the host. The path is ``/c/s/``
(document, https origin), ``/c/`` (http), ``/i/s/`` or ``/i/`` (image), then the
origin's host, path and query. This follows the AMP cache URL documentation and the
reference implementation (ampproject/amp-toolbox, packages/cache-url), whose test
vectors tests/test_amp.py repeats.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import replace
from urllib.parse import unquote, urlsplit

from linkcheck.model.records import Kind, Outcome, Target

#: The public Google AMP cache; mirrors and other caches use other domains (a setting).
DEFAULT_CACHE_DOMAIN = "cdn.ampproject.org"
#: The field suffix of a derived image-cache target (``images[0].cacheUrl``).
CACHE_FIELD = ".cacheUrl"

_MAX_LABEL = 63
_LTR = (
    "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02b8\u0300-\u0590\u0800-\u1fff"
    "\u200e\u2c00-\ufb1c\ufe00-\ufe6f\ufefd-\uffff"
)
_RTL = "\u0591-\u06ef\u06fa-\u07ff\u200f\ufb1d-\ufdff\ufe70-\ufefc"
_HAS_LTR = re.compile(f"[{_LTR}]")
_HAS_RTL = re.compile(f"[{_RTL}]")
_DOMAIN = re.compile(
    r"(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*"
)


def parse_cache_domain(text: str) -> str:
    """A cache domain as a setting takes it: a lower-case DNS name, nothing else."""
    domain = text.strip().lower().rstrip(".")
    if not _DOMAIN.fullmatch(domain):
        raise ValueError(f"not a domain name: {text!r} (e.g. cdn.ampproject.org)")
    return domain


def cache_subdomain(host: str) -> str:
    """The cache subdomain of an origin host (punycode or Unicode), e.g. ``hello--world-com``."""
    host = host.lower().rstrip(".")
    try:
        unicode = _to_unicode(host)
    except UnicodeError:
        return _fallback(host)
    mixed = _HAS_LTR.search(unicode) is not None and _HAS_RTL.search(unicode) is not None
    if len(host) > _MAX_LABEL or mixed or "." not in host:
        return _fallback(host)
    label = unicode.replace("-", "--").replace(".", "-")
    if label[2:4] == "--":
        label = f"0-{label}-0"
    try:
        encoded = _to_ascii(label)
    except UnicodeError:
        return _fallback(host)
    return encoded if len(encoded) <= _MAX_LABEL else _fallback(host)


def cache_url(url: str, domain: str = DEFAULT_CACHE_DOMAIN, *, image: bool = False) -> str:
    """The AMP cache URL of an http(s) ``url``: ``/c/`` for documents, ``/i/`` for images."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    secure = "s/" if parts.scheme == "https" else ""
    kind = "i" if image else "c"
    query = f"?{parts.query}" if parts.query else ""
    return f"https://{cache_subdomain(host)}.{domain}/{kind}/{secure}{host}{parts.path}{query}"


def cdn_problem(amp_url: str, cdn_url: str, domain: str = DEFAULT_CACHE_DOMAIN) -> str | None:
    """Why ``cdn_url`` is not the cache form of ``amp_url``, or None when it is."""
    expected = cache_url(amp_url, domain)
    if _same_cache_url(cdn_url, expected):
        return None
    return f"cdnAmpWebUrl should be {expected}, the {domain} form of the ampWebUrl"


def cache_targets(targets: Iterable[Target], domain: str) -> Iterator[Target]:
    """The targets, each image whose seed says isCached followed by its cache copy.

    The cache copy is a target of kind image, field ``images[N].cacheUrl``, with the
    image's line and claims, so it is requested once through the same unique-URL table
    as every other URL and judged like the original (then against it, by
    :func:`~linkcheck.model.judge.judge_seed`). Images with no isCached claim get none.
    """
    for target in targets:
        yield target
        if _has_cache_copy(target):
            field = target.field[: -len(".url")] + CACHE_FIELD
            url = cache_url(target.url, domain, image=True)
            yield replace(target, field=field, url=url)


def _has_cache_copy(target: Target) -> bool:
    return (
        target.kind is Kind.IMAGE
        and target.is_cached is not None
        and target.problem is None
        and target.field.endswith(".url")
        and bool(urlsplit(target.url).hostname)
    )


def is_cache_target(target: Target) -> bool:
    """Whether a target is the derived AMP-cache copy of a seed image."""
    return target.kind is Kind.IMAGE and target.field.endswith(CACHE_FIELD)


def cache_served(outcome: Outcome | None) -> bool:
    """Whether a cache copy answered 2xx with a readable image."""
    if outcome is None or outcome.error is not None or outcome.image is None:
        return False
    image = outcome.image
    return 200 <= (outcome.status or 0) < 300 and image.has_size and image.problem is None


def _same_cache_url(given: str, expected: str) -> bool:
    """Equal as cache URLs: case of the hosts, a percent-encoded or Unicode origin host."""
    a, b = urlsplit(given), urlsplit(expected)
    if (a.hostname or "") != (b.hostname or "") or a.query != b.query:
        return False
    return _origin_path(a.path) == _origin_path(b.path)


def _origin_path(path: str) -> str:
    """The cache path with its origin host in punycode and lower case."""
    match = re.match(r"(/[a-z]/(?:s/)?)([^/]*)(.*)$", path)
    if match is None:
        return path
    prefix, host, rest = match.groups()
    with contextlib.suppress(UnicodeError):
        host = _to_ascii_host(unquote(host))
    return f"{prefix}{host.lower()}{rest or '/'}"


def _to_unicode(host: str) -> str:
    labels = []
    for label in host.split("."):
        if label.startswith("xn--"):
            label = label[4:].encode("ascii").decode("punycode")
        labels.append(label)
    return ".".join(labels)


def _to_ascii(label: str) -> str:
    if label.isascii():
        return label.lower()
    return "xn--" + label.lower().encode("punycode").decode("ascii")


def _to_ascii_host(host: str) -> str:
    return ".".join(_to_ascii(label) for label in host.split("."))


def _fallback(host: str) -> str:
    """The base32 (RFC 4648, lower case, unpadded) SHA-256 of the host: 52 characters."""
    digest = hashlib.sha256(host.encode("utf-8")).digest()
    return base64.b32encode(digest).decode("ascii").lower()[:52]
