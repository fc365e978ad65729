"""Recognising bot challenges: an error answer that is a CAPTCHA wall, not a broken page.

Users of link checkers complain most about sites reported "broken" when a bot
manager answered instead; such answers become warnings (reason ``blocked``).
"""

from __future__ import annotations

from collections.abc import Mapping

#: Enough of an error page to recognise a challenge.
ERROR_BODY_BYTES = 16 * 1024


def bot_challenge(status: int, headers: Mapping[str, str], body: bytes) -> str | None:
    """Name the bot-protection service whose challenge this answer is, if it is one."""
    if status not in (403, 429, 503):
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
