"""Turning a URL as written in a seed into the URL a browser would request."""

from __future__ import annotations

import re

import httpx

from linkcheck.model.reasons import Reason

#: Schemes that name local resources or run code: refused outright, never "just invalid".
UNSAFE_SCHEMES = frozenset({"javascript", "file", "data", "vbscript", "blob", "about"})
_HOST_CHARS = re.compile(r"^[a-z0-9.\-_:\[\]%]+$")


class BadUrl(ValueError):
    """A seed URL that cannot be requested; ``reason`` is invalid_url or unsafe_url."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def normalize(raw: str) -> str:
    """Return the absolute http(s) URL to request, encoded as a browser would.

    Raw spaces and non-ASCII characters are percent-encoded and IDN hosts become
    punycode; the fragment is dropped because it is never sent to the server.
    """
    text = raw.strip()
    scheme = text.split(":", 1)[0].lower() if ":" in text else ""
    if scheme in UNSAFE_SCHEMES:
        raise BadUrl(Reason.UNSAFE_URL, f"the {scheme}: scheme is never requested")
    try:
        url = httpx.URL(text)
    except (httpx.InvalidURL, UnicodeError) as exc:
        raise BadUrl(Reason.INVALID_URL, f"not a valid URL: {exc}") from exc
    if url.scheme not in ("http", "https"):
        if not url.scheme:
            raise BadUrl(Reason.INVALID_URL, "a relative URL: an absolute http(s) URL is needed")
        raise BadUrl(Reason.INVALID_URL, f"the {url.scheme}: scheme is not http or https")
    host = url.raw_host.decode("ascii", "replace").lower()
    if not host:
        raise BadUrl(Reason.INVALID_URL, "the URL has no host")
    if not _HOST_CHARS.match(host) or "%" in host:
        raise BadUrl(Reason.INVALID_URL, f"the host {url.host!r} is not a valid host name")
    return str(url.copy_with(fragment=None))
