"""Address policy (SSRF guard): which hosts and addresses linkcheck may connect to.

URLs come from contributed documents, so linkcheck must never reach the CI machine's own
network: loopback, the private LAN, link-local (cloud metadata at 169.254.169.254) and other
non-public addresses are refused unless explicitly allowed.

Enforcement happens at three points, all driven by one :class:`AddressPolicy`:

* :meth:`AddressPolicy.check_url` judges a URL before any I/O (scheme, IP literals, localhost);
* :class:`PolicyResolver` vets every address DNS returns, inside aiohttp's connector, so the
  connection goes to exactly the address that was vetted (no DNS-rebinding gap);
* :class:`PolicyTransport` re-checks the host of every request httpx sends (redirects included),
  because aiohttp connects to IP-literal hosts without consulting the resolver.
"""

from __future__ import annotations

import socket
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address
from urllib.parse import unquote, urlsplit

import httpx
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

__all__ = (
    "AddressPolicy",
    "IPAddress",
    "IPNetwork",
    "PolicyResolver",
    "PolicyTransport",
    "UnsafeAddress",
    "find_unsafe",
    "is_public",
    "non_public_reason",
    "parse_ip_literal",
)

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network

ALLOWED_SCHEMES = ("http", "https")
LOOPBACK_ADDRESSES: tuple[IPAddress, ...] = (IPv4Address("127.0.0.1"), IPv6Address("::1"))

_CLOUD_METADATA = IPv4Address("169.254.169.254")
_SHARED_ADDRESS_SPACE = IPv4Network("100.64.0.0/10")
_NAT64_WELL_KNOWN = IPv6Network("64:ff9b::/96")
_IPV4_COMPATIBLE = IPv6Network("::/96")
_EXTRA_NON_PUBLIC: tuple[IPNetwork, ...] = (
    IPv4Network("192.0.0.0/24"),
    IPv6Network("64:ff9b:1::/48"),
    IPv6Network("3fff::/20"),
)
_IDEOGRAPHIC_FULL_STOP = "\u3002"
_HEX_DIGITS = "0123456789abcdef"
_FIND_UNSAFE_LIMIT = 32


class UnsafeAddress(OSError):
    """A connection refused by an :class:`AddressPolicy`.

    ``str()`` names the host, the refused address(es) and why. It is an ``OSError`` so that
    aiohttp's connector wraps it (in ``ClientConnectorDNSError``) like any resolver failure;
    use :func:`find_unsafe` to recognise it again at the HTTP layer.
    """

    def __init__(self, host: str, addresses: Sequence[IPAddress], reason: str) -> None:
        self.host = host
        self.addresses = tuple(addresses)
        self.reason = reason
        self.message = f"refusing to connect to {host}: {reason}"
        super().__init__(self.message)
        self.strerror = self.message

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[type[UnsafeAddress], tuple[str, tuple[IPAddress, ...], str]]:
        return (type(self), (self.host, self.addresses, self.reason))


def _canonical_host(host: str) -> str:
    """The host as WHATWG sees it: percent-decoded, NFKC-mapped, lower case, unbracketed."""
    text = unicodedata.normalize("NFKC", unquote(host)).replace(_IDEOGRAPHIC_FULL_STOP, ".").lower()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    return text


def _ipv4_number(part: str) -> int | None:
    """WHATWG "IPv4 number parser": decimal, 0x-hex or 0-octal; None on failure."""
    if part.startswith("0x"):
        digits, base = part[2:], 16
    elif len(part) > 1 and part.startswith("0"):
        digits, base = part[1:], 8
    else:
        digits, base = part, 10
    if not digits:
        return 0 if base == 16 else None
    if not all(char in _HEX_DIGITS[:base] for char in digits):
        return None
    return int(digits, base)


def _ends_in_number(canonical: str) -> bool:
    """Whether a WHATWG parser would treat the host as IPv4 (and so never as a domain name).

    Unlike WHATWG, all trailing dots are ignored, not just one: stricter, never looser.
    """
    last = canonical.rstrip(".").rsplit(".", 1)[-1]
    return (last.isascii() and last.isdigit()) or _ipv4_number(last) is not None


def _parse_canonical(canonical: str) -> IPAddress | None:
    if ":" in canonical:
        try:
            return IPv6Address(canonical)
        except ValueError:
            return None
    if not _ends_in_number(canonical):
        return None
    parts = canonical.rstrip(".").split(".")
    if len(parts) > 4:
        return None
    numbers: list[int] = []
    for part in parts:
        number = _ipv4_number(part)
        if number is None:
            return None
        numbers.append(number)
    *head, last = numbers
    if any(number > 255 for number in head) or last >= 256 ** (5 - len(numbers)):
        return None
    return IPv4Address(last + sum(number << (8 * (3 - i)) for i, number in enumerate(head)))


def parse_ip_literal(host: str) -> IPAddress | None:
    """The address an IP-literal host denotes, parsed the way browsers (WHATWG URL) do; else None.

    Accepts bracketed or bare IPv6 (zone ids ignored), dotted quads, and the legacy IPv4 forms:
    decimal ``2130706433``, hex ``0x7f000001``, octal ``0177.0.0.1``, short ``127.1``/``0x7f.1``,
    any of them percent-encoded, in full-width digits or with trailing dots. None means "not a
    valid IP literal"; that includes numeric-looking hosts such as ``1.2.3.4.5`` which WHATWG
    rejects outright (:meth:`AddressPolicy.check_host` refuses those).
    """
    return _parse_canonical(_canonical_host(host))


def _is_numeric(canonical: str) -> bool:
    return ":" in canonical or _ends_in_number(canonical)


def _is_localhost(canonical: str) -> bool:
    name = canonical.rstrip(".")
    return name == "localhost" or name.endswith(".localhost")


def _unscoped(address: IPAddress) -> IPAddress:
    if isinstance(address, IPv6Address) and address.scope_id is not None:
        return IPv6Address(int(address))
    return address


def _embedded_ipv4(address: IPv6Address) -> tuple[str, IPv4Address] | None:
    """The IPv4 address a mapped, NAT64 (64:ff9b::/96) or 6to4 address forwards to."""
    if address.ipv4_mapped is not None:
        return "IPv4-mapped", address.ipv4_mapped
    if address in _NAT64_WELL_KNOWN:
        return "NAT64", IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return "6to4", address.sixtofour
    return None


def non_public_reason(address: IPAddress) -> str | None:
    """Why ``address`` is not a public (global unicast) address, or None when it is public.

    ``ipaddress.is_global`` alone is not enough on Python 3.11: it is True for multicast,
    site-local fec0::/10, IPv4-compatible ::a.b.c.d and NAT64/6to4 addresses embedding
    private IPv4. Mapped, NAT64 and 6to4 addresses are judged by the IPv4 address they
    reach; IPv4-compatible (deprecated) and Teredo addresses are always refused.
    """
    address = _unscoped(address)
    if isinstance(address, IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            kind, ipv4 = embedded
            reason = non_public_reason(ipv4)
            return None if reason is None else f"the {kind} form of {ipv4}, which is {reason}"
        if address.teredo is not None:
            return "a Teredo tunnel address"
        if address in _IPV4_COMPATIBLE and int(address) > 1:
            ipv4 = IPv4Address(int(address))
            return f"a deprecated IPv4-compatible form of {ipv4}"
    if address.is_loopback:
        return "loopback"
    if address.is_unspecified:
        return "unspecified, which reaches this machine"
    if address == _CLOUD_METADATA:
        return "link-local, the cloud metadata service"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if isinstance(address, IPv6Address) and address.is_site_local:
        return "site-local"
    if address.is_private:
        return "private-use or special-purpose"
    if address.is_reserved:
        return "reserved"
    if address in _SHARED_ADDRESS_SPACE:
        return "in the shared address space of carrier-grade NAT"
    if not address.is_global or any(address in network for network in _EXTRA_NON_PUBLIC):
        return "special-purpose, not globally reachable"
    return None


def is_public(address: IPAddress) -> bool:
    """Whether ``address`` is a public (global unicast) address; see :func:`non_public_reason`."""
    return non_public_reason(address) is None


def _describe(address: IPAddress) -> str:
    return f"{address} is {non_public_reason(address) or 'public'}"


@dataclass(frozen=True)
class AddressPolicy:
    """Which non-public addresses may be reached; public addresses always may.

    ``allow_hosts``: fnmatch-style patterns (case-insensitive, trailing dots ignored) for host
    NAMES allowed to resolve to non-public addresses. They never apply to IP literals, to
    numeric-looking hosts, or to ``localhost``/``*.localhost``.
    ``allow_networks``: networks whose addresses are allowed, however they are written (an
    IPv4-mapped IPv6 address counts as its IPv4 address) and whatever name leads to them.
    """

    allow_hosts: tuple[str, ...] = ()
    allow_networks: tuple[IPNetwork, ...] = ()

    def __post_init__(self) -> None:
        patterns = tuple(pattern.lower().rstrip(".") for pattern in self.allow_hosts)
        object.__setattr__(self, "allow_hosts", patterns)

    def _network_allows(self, address: IPAddress) -> bool:
        address = _unscoped(address)
        candidates: list[IPAddress] = [address]
        if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
            candidates.append(address.ipv4_mapped)
        return any(
            candidate.version == network.version and candidate in network
            for candidate in candidates
            for network in self.allow_networks
        )

    def _name_allows(self, host: str) -> bool:
        canonical = _canonical_host(host)
        if _is_numeric(canonical) or _is_localhost(canonical):
            return False
        name = canonical.rstrip(".")
        return bool(name) and any(fnmatchcase(name, pattern) for pattern in self.allow_hosts)

    def allows_address(self, host: str, address: IPAddress) -> bool:
        """Whether a connection to ``address``, reached through ``host``, is allowed.

        True for public addresses, for addresses inside ``allow_networks``, and for any address
        when ``host`` is a name (not a literal, not localhost) matching ``allow_hosts``.
        """
        return is_public(address) or self._network_allows(address) or self._name_allows(host)

    def check_host(self, host: str) -> UnsafeAddress | None:
        """The refusal for ``host`` that can be decided before DNS, else None.

        Refuses IP literals denoting a disallowed address, numeric-looking hosts that are not
        valid literals, and localhost names unless ``allow_networks`` covers a loopback address.
        Other names are left to :class:`PolicyResolver`.
        """
        canonical = _canonical_host(host)
        address = _parse_canonical(canonical)
        if address is not None:
            if self.allows_address(host, address):
                return None
            if canonical == str(address):
                reason = _describe(address)
            else:
                reason = f"it denotes {address}, which is {non_public_reason(address)}"
            return UnsafeAddress(host, (address,), reason)
        if _is_numeric(canonical):
            return UnsafeAddress(host, (), "numeric host that is not a valid IP address")
        if _is_localhost(canonical):
            if any(self._network_allows(address) for address in LOOPBACK_ADDRESSES):
                return None
            return UnsafeAddress(host, LOOPBACK_ADDRESSES, "localhost names denote loopback")
        return None

    def check_url(self, url: str) -> str | None:
        """None when ``url`` may be requested (as far as can be told before DNS), else why not.

        Only http and https URLs with a host pass, and the host must pass :meth:`check_host`.
        """
        try:
            parts = urlsplit(url.strip())
            host = parts.hostname
        except ValueError as exc:
            return f"invalid URL {url!r}: {exc}"
        if parts.scheme not in ALLOWED_SCHEMES:
            scheme = f"scheme {parts.scheme!r} is" if parts.scheme else "URLs without a scheme are"
            return f"refusing {url!r}: {scheme} not allowed, only http and https"
        if not host:
            return f"refusing {url!r}: it has no host"
        unsafe = self.check_host(host)
        return None if unsafe is None else str(unsafe)

    def filter_resolved(self, host: str, results: Sequence[ResolveResult]) -> list[ResolveResult]:
        """The resolver results for ``host`` whose address is allowed, in their original order.

        Raises :class:`UnsafeAddress` when there were results and none is allowed. Results
        whose address cannot be parsed are dropped.
        """
        allowed: list[ResolveResult] = []
        refused: list[IPAddress] = []
        unparsed: list[str] = []
        for result in results:
            try:
                address = ip_address(result["host"])
            except ValueError:
                unparsed.append(result["host"])
                continue
            if self.allows_address(host, address):
                allowed.append(result)
            else:
                refused.append(address)
        if results and not allowed:
            described = [_describe(address) for address in refused]
            described += [f"{text!r} is not an IP address" for text in unparsed]
            reason = f"it resolves only to addresses not allowed ({'; '.join(described)})"
            raise UnsafeAddress(host, refused, reason)
        return allowed


class PolicyResolver(AbstractResolver):
    """Resolves with an inner resolver, then keeps only the addresses the policy allows.

    Never returns a refused address, so no packet is sent to one; raises
    :class:`UnsafeAddress` when no address is left. The default inner resolver is aiohttp's
    ``ThreadedResolver`` (the system's ``getaddrinfo``), created per lookup so that a
    ``PolicyResolver`` is bound to no event loop.
    """

    def __init__(self, policy: AddressPolicy, resolver: AbstractResolver | None = None) -> None:
        self.policy = policy
        self._resolver = resolver

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        inner = self._resolver if self._resolver is not None else ThreadedResolver()
        results = await inner.resolve(host, port, family)
        return self.policy.filter_resolved(host, results)

    async def close(self) -> None:
        if self._resolver is not None:
            await self._resolver.close()


class PolicyTransport(httpx.AsyncBaseTransport):
    """Wraps an httpx transport: every request's host must pass :meth:`AddressPolicy.check_host`.

    This covers each redirect hop when httpx follows redirects, and IP-literal hosts, which
    aiohttp connects to without asking the resolver. Any refusal, here or by a
    :class:`PolicyResolver` underneath, is raised as ``httpx.ConnectError`` chained to the
    :class:`UnsafeAddress` (httpx_aiohttp 0.2 would otherwise report it as ``ConnectTimeout``).
    """

    def __init__(self, policy: AddressPolicy, transport: httpx.AsyncBaseTransport) -> None:
        self.policy = policy
        self._transport = transport

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        unsafe = self.policy.check_host(request.url.raw_host.decode("ascii", "replace"))
        if unsafe is not None:
            raise httpx.ConnectError(str(unsafe), request=request) from unsafe
        try:
            return await self._transport.handle_async_request(request)
        except httpx.TransportError as exc:
            unsafe = find_unsafe(exc)
            if unsafe is None or isinstance(exc, httpx.ConnectError):
                raise
            raise httpx.ConnectError(str(unsafe), request=request) from exc

    async def aclose(self) -> None:
        await self._transport.aclose()


def find_unsafe(exc: BaseException) -> UnsafeAddress | None:
    """The first :class:`UnsafeAddress` among ``exc``, its ``__cause__``/``__context__`` chain and
    exception-group members (breadth first, at most 32 exceptions looked at), else None."""
    pending: list[BaseException] = [exc]
    seen: set[int] = set()
    while pending and len(seen) < _FIND_UNSAFE_LIMIT:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, UnsafeAddress):
            return current
        links = (current.__cause__, current.__context__)
        pending.extend(link for link in links if link is not None)
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
    return None
