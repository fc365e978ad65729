"""Strict, bounded parsers for the header values a server chooses.

A server's header is input from a stranger: Python's own parsers are too
lenient for it (``"²".isdigit()`` is true, ``int()`` of ten thousand digits
raises). Every parser here accepts ASCII only, bounds the length before any
conversion, and answers None (or :class:`BadHeader` for a Location) instead of
raising anything else.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

#: Longer delta-seconds are refused as malformed (a year is 8 digits).
MAX_RETRY_AFTER_DIGITS = 12
#: An HTTP-date is 29 characters; obsolete forms are a little longer.
MAX_HTTP_DATE_CHARS = 64
#: 18 digits stay below 2**63; no real body is larger.
MAX_CONTENT_LENGTH_DIGITS = 18
#: Browsers accept longer URLs, but no real redirect needs more.
MAX_LOCATION_CHARS = 8 * 1024
#: How much of a refused value a message shows.
SHOWN_CHARS = 120

_OWS = " \t"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTENT_RANGE = re.compile(r"bytes[ \t]+([0-9]{1,18})-([0-9]{1,18})/([0-9]{1,18}|\*)")


class BadHeader(ValueError):
    """A header value that cannot be used; the message says why, with the value escaped."""


def ascii_digits(text: str, max_digits: int) -> int | None:
    """``text`` as a non-negative integer if it is 1 to ``max_digits`` ASCII digits, else None."""
    if not 0 < len(text) <= max_digits or not text.isascii() or not text.isdigit():
        return None
    return int(text)


def retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or HTTP-date), else None.

    A date in the past is 0. Anything else (non-ASCII digits, too many digits,
    an unreadable date) is None: the value is ignored, as if it were absent.
    """
    if value is None:
        return None
    text = value.strip(_OWS)
    seconds = ascii_digits(text, MAX_RETRY_AFTER_DIGITS)
    if seconds is not None:
        return float(seconds)
    if not text.isascii() or len(text) > MAX_HTTP_DATE_CHARS:
        return None
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        waited = (moment - (now or datetime.now(UTC))).total_seconds()
    except OverflowError:
        return None
    return max(0.0, waited)


def content_length(value: str | None) -> int | None:
    """The body size a ``Content-Length`` value promises, or None if it is not plain digits."""
    if value is None:
        return None
    return ascii_digits(value.strip(_OWS), MAX_CONTENT_LENGTH_DIGITS)


def content_range(value: str | None) -> tuple[int, int, int | None] | None:
    """``(first, last, total)`` from ``bytes first-last/total`` (total None for ``*``), else None.

    Each number is at most 18 ASCII digits, and ``first <= last < total`` holds.
    """
    if value is None:
        return None
    match = _CONTENT_RANGE.fullmatch(value.strip(_OWS).lower())
    if match is None:
        return None
    first, last = int(match[1]), int(match[2])
    total = None if match[3] == "*" else int(match[3])
    if first > last or (total is not None and last >= total):
        return None
    return first, last, total


def location(value: str) -> str:
    """A redirect's ``Location``, trimmed; :class:`BadHeader` if too long or with control bytes."""
    text = value.strip(_OWS)
    if len(text) > MAX_LOCATION_CHARS:
        raise BadHeader(
            f"the server redirected to a Location of {len(text)} characters "
            f"(over {MAX_LOCATION_CHARS}): {shown(text)}"
        )
    if _CONTROL.search(text):
        raise BadHeader(
            f"the server redirected to a Location with control characters: {shown(text)}"
        )
    return text


def shown(value: str) -> str:
    """``value`` for a message: escaped (no control character survives) and cut short."""
    cut = value if len(value) <= SHOWN_CHARS else value[:SHOWN_CHARS] + "..."
    return ascii(cut)
