"""Turning a URL as written in a seed into the URL a browser would request."""

from __future__ import annotations

import re
import unicodedata

import httpx
import idna

from linkcheck.model.reasons import Reason

#: Schemes that name local resources or run code: refused outright, never "just invalid".
UNSAFE_SCHEMES = frozenset({"javascript", "file", "data", "vbscript", "blob", "about"})
_HOST_CHARS = re.compile(r"^[a-z0-9.\-_:\[\]%]+$")
#: scheme://authority, the authority ending where the path, query or fragment begins.
_AUTHORITY = re.compile(r"^(?P<head>[a-zA-Z][a-zA-Z0-9+.\-]*://)(?P<authority>[^/?#]*)")
_ACE_PREFIX = "xn--"
_ZERO_WIDTH_JOINERS = ("\u200c", "\u200d")
#: Longer hosts are refused before any IDNA work (DNS allows 253 octets).
_MAX_HOST_CHARS = 1024


class BadUrl(ValueError):
    """A seed URL that cannot be requested; ``reason`` is invalid_url or unsafe_url."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def normalize(raw: str) -> str:
    """Return the absolute http(s) URL to request, encoded as a browser would.

    Raw spaces and non-ASCII characters are percent-encoded; the host is mapped
    with UTS 46 the way browsers map it (so ``i❤.ws`` becomes ``xn--i-7iq.ws``),
    hosts already in punycode are kept; the fragment is dropped because it is
    never sent to the server. Raises only :class:`BadUrl`.
    """
    try:
        return _normalize(raw)
    except BadUrl:
        raise
    except Exception as exc:  # a URL is data: nothing in it may crash a run
        raise BadUrl(Reason.INVALID_URL, f"not a valid URL: {_one_line(exc)}") from exc


_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_LABEL = r"(?!xn--)[a-z0-9_-]+"
_PLAIN_CHAR = r"(?:[A-Za-z0-9\-_~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})"
#: A URL already in the form :func:`normalize` gives, so it is returned as it is: a lower-case
#: http(s) scheme and host (a DNS name without punycode, or a dotted quad), no port, userinfo
#: or fragment, and a path and query of characters never re-encoded, without dot segments.
#: Nearly every seed URL is one; the full parse is for the rest.
_ALREADY_NORMAL = re.compile(
    r"(?P<scheme>https?)://"
    rf"(?P<host>{_OCTET}(?:\.{_OCTET}){{3}}|{_LABEL}(?:\.{_LABEL})*\.(?!xn--)[a-z][a-z0-9-]*)"
    r"(?::(?P<port>[1-9][0-9]{0,4}))?"
    rf"(?:/(?!\.)(?:{_PLAIN_CHAR}|\.|/(?!\.))*)?"
    rf"(?:\?(?:{_PLAIN_CHAR}|[./?])*)?"
)
_MAX_PLAIN_CHARS = 2048
_DEFAULT_PORTS = {"http": 80, "https": 443}
#: DNS names are at most 253 characters; longer ones get the full parse (and its refusal).
_MAX_PLAIN_HOST_CHARS = 253


def _normalize(raw: str) -> str:
    text = raw.strip()
    return text if already_normal(text) else _parse(text)


def already_normal(text: str) -> bool:
    """Whether ``text`` is a URL that :func:`normalize` returns unchanged, told cheaply.

    False only means "parse it to know".
    """
    plain = _ALREADY_NORMAL.fullmatch(text) if len(text) <= _MAX_PLAIN_CHARS else None
    if plain is None or plain.end("host") - plain.start("host") > _MAX_PLAIN_HOST_CHARS:
        return False
    port = plain["port"]
    return port is None or (int(port) != _DEFAULT_PORTS[plain["scheme"]] and int(port) < 65536)


def _parse(text: str) -> str:
    """The full parse: refuses what cannot be requested, encodes what a browser would."""
    scheme = text.split(":", 1)[0].lower() if ":" in text else ""
    if scheme in UNSAFE_SCHEMES:
        raise BadUrl(Reason.UNSAFE_URL, f"the {scheme}: scheme is never requested")
    if scheme in ("http", "https"):
        text = _with_ascii_host(text)
    try:
        url = httpx.URL(text)
    except (httpx.InvalidURL, UnicodeError) as exc:
        raise BadUrl(Reason.INVALID_URL, f"not a valid URL: {_one_line(exc)}") from exc
    if url.scheme not in ("http", "https"):
        if not url.scheme:
            raise BadUrl(Reason.INVALID_URL, "a relative URL: an absolute http(s) URL is needed")
        raise BadUrl(Reason.INVALID_URL, f"the {url.scheme}: scheme is not http or https")
    host = url.raw_host.decode("ascii", "replace").lower()
    if not host:
        raise BadUrl(Reason.INVALID_URL, "the URL has no host")
    if not _HOST_CHARS.match(host) or "%" in host:
        raise BadUrl(Reason.INVALID_URL, f"the host {host!r} is not a valid host name")
    if url.port is not None and not 0 < url.port < 65536:
        raise BadUrl(Reason.INVALID_URL, f"the port {url.port} is out of range (1 to 65535)")
    return str(url.copy_with(fragment=None)) if "#" in text else str(url)


def _with_ascii_host(text: str) -> str:
    """The URL text with its host replaced by the ASCII form a browser would look up."""
    match = _AUTHORITY.match(text)
    if match is None:
        return text
    authority = match["authority"]
    userinfo, at, host_port = authority.rpartition("@")
    if host_port.startswith("["):
        return text  # an IPv6 literal: httpx checks it
    host, colon, port = host_port.partition(":")
    if not host:
        return text
    ascii_host = host_to_ascii(host)
    return f"{match['head']}{userinfo}{at}{ascii_host}{colon}{port}{text[match.end() :]}"


def host_to_ascii(host: str) -> str:
    """Map a host name with UTS 46 as the WHATWG URL standard does, or raise BadUrl.

    Nontransitional processing without STD3 rules (browsers allow ``_``), with
    CheckBidi and CheckJoiners. Labels already in punycode are validated and kept;
    other non-ASCII labels are encoded. Unlike ``idna.encode`` this accepts
    symbols that UTS 46 allows and IDNA 2008 does not, such as the emoji in
    ``i❤.ws``, which real domains use and browsers reach.
    """
    if len(host) > _MAX_HOST_CHARS:
        raise BadUrl(Reason.INVALID_URL, f"the host has more than {_MAX_HOST_CHARS} characters")
    try:
        mapped = idna.uts46_remap(host, std3_rules=False)
    except idna.IDNAError as exc:
        raise BadUrl(Reason.INVALID_URL, _bad_host(host, exc)) from exc
    labels = mapped.split(".")
    unicode_labels = [_unicode_label(host, label) for label in labels]
    bidi = any(_has_rtl(label) for label in unicode_labels)
    ascii_labels = []
    for label, unicode_label in zip(labels, unicode_labels, strict=True):
        if label.isascii() and not label.startswith(_ACE_PREFIX):
            ascii_labels.append(label)
            continue
        _check_label(host, unicode_label, bidi=bidi)
        ascii_labels.append(_ACE_PREFIX + unicode_label.encode("punycode").decode("ascii"))
    return ".".join(ascii_labels)


def _unicode_label(host: str, label: str) -> str:
    """The label's Unicode form: punycode decoded, and required to be already mapped."""
    if not label.startswith(_ACE_PREFIX):
        return label
    try:
        decoded = label[len(_ACE_PREFIX) :].encode("ascii").decode("punycode")
    except UnicodeError as exc:
        raise BadUrl(
            Reason.INVALID_URL, _bad_host(host, f"{label!r} is not valid punycode")
        ) from exc
    if not decoded or decoded.isascii():
        raise BadUrl(
            Reason.INVALID_URL, _bad_host(host, f"{label!r} does not encode a Unicode label")
        )
    try:
        remapped = idna.uts46_remap(decoded, std3_rules=False)
    except idna.IDNAError as exc:
        raise BadUrl(Reason.INVALID_URL, _bad_host(host, exc)) from exc
    if remapped != decoded or "." in decoded:
        raise BadUrl(
            Reason.INVALID_URL, _bad_host(host, f"{label!r} encodes characters a host cannot hold")
        )
    return decoded


def _check_label(host: str, label: str, *, bidi: bool) -> None:
    """UTS 46 validity for a non-ASCII label: NFC, no leading mark, joiners, bidi."""
    try:
        if unicodedata.normalize("NFC", label) != label:
            raise idna.IDNAError("a label is not in Unicode normal form C")
        idna.check_initial_combiner(label)
        for position, char in enumerate(label):
            if char in _ZERO_WIDTH_JOINERS and not idna.valid_contextj(label, position):
                raise idna.IDNAError(f"a zero-width joiner at position {position + 1} of {label!r}")
        if bidi:
            idna.check_bidi(label, check_ltr=True)
    except (idna.IDNAError, ValueError) as exc:
        raise BadUrl(Reason.INVALID_URL, _bad_host(host, exc)) from exc


def _has_rtl(label: str) -> bool:
    return any(unicodedata.bidirectional(char) in ("R", "AL", "AN") for char in label)


def _bad_host(host: str, why: object) -> str:
    reason = why if isinstance(why, str) else _one_line(why)
    shown = repr(host) if len(host) <= 80 else repr(host[:79] + "…")
    return f"the host {shown} cannot be mapped to a DNS name: {reason}"


def _one_line(exc: object) -> str:
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else type(exc).__name__
    return text if len(text) <= 200 else text[:199] + "…"
