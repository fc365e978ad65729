"""Tests for linkcheck.net.safety, the address policy (SSRF guard)."""

from __future__ import annotations

import asyncio
import itertools
import pickle
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address
from typing import TypeVar

import aiohttp
import httpx
import httpx_aiohttp
import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from linkcheck.net.safety import (
    AddressPolicy,
    PolicyResolver,
    PolicyTransport,
    UnsafeAddress,
    find_unsafe,
    is_public,
    non_public_reason,
    parse_ip_literal,
)

T = TypeVar("T")

LOOPBACK_NET = IPv4Network("127.0.0.0/8")


def run(coro: Awaitable[T]) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(coro, timeout=10)

    return asyncio.run(bounded())


def refused(url: str, policy: AddressPolicy | None = None) -> str:
    message = (policy or AddressPolicy()).check_url(url)
    assert message is not None, f"{url} should be refused"
    return message


def resolve_result(host: str, address: str, port: int = 0) -> ResolveResult:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    return ResolveResult(
        hostname=host, host=address, port=port, family=family, proto=0, flags=socket.AI_NUMERICHOST
    )


class FakeResolver(AbstractResolver):
    """Answers from a fixed table; unknown names fail like getaddrinfo does."""

    def __init__(self, table: Mapping[str, Sequence[str]]) -> None:
        self.table = table
        self.closed = False
        self.calls: list[tuple[str, int, socket.AddressFamily]] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.calls.append((host, port, family))
        if host not in self.table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [resolve_result(host, address, port) for address in self.table[host]]

    async def close(self) -> None:
        self.closed = True


# --- literal parsing -------------------------------------------------------------------------

LOOPBACK_FORMS = {
    "dotted": "127.0.0.1",
    "decimal": "2130706433",
    "hex": "0x7f000001",
    "hex-uppercase": "0X7F000001",
    "octal": "0177.0.0.1",
    "octal-single-number": "017700000001",
    "short": "127.1",
    "short-three-parts": "127.0.1",
    "short-hex": "0x7f.1",
    "hex-per-part": "0x7f.0x0.0x0.0x1",
    "trailing-dot": "127.0.0.1.",
    "percent-encoded": "127%2e0.0.1",
    "fullwidth-digits": "\uff11\uff12\uff17.\uff10.\uff10.\uff11",
    "ideographic-full-stops": "127。0。0。1",
    "other-loopback": "127.255.255.254",
    "ipv6": "[::1]",
    "ipv6-long": "[0:0:0:0:0:0:0:1]",
    "ipv4-mapped-dotted": "[::ffff:127.0.0.1]",
    "ipv4-mapped-hex": "[::ffff:7f00:1]",
    "ipv4-compatible": "[::127.0.0.1]",
    "nat64": "[64:ff9b::127.0.0.1]",
    "6to4": "[2002:7f00:1::]",
}


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("127.0.0.1.", "127.0.0.1"),
        ("0x7F.0X0.0.01", "127.0.0.1"),
        ("%31%32%37.0.0.1", "127.0.0.1"),
        ("\uff11\uff12\uff17.\uff10.\uff10.\uff11", "127.0.0.1"),
        ("0", "0.0.0.0"),
        ("0x", "0.0.0.0"),
        ("0xa9fea9fe", "169.254.169.254"),
        ("10.1", "10.0.0.1"),
        ("192.168.257", "192.168.1.1"),
        ("4294967295", "255.255.255.255"),
        ("[::1]", "::1"),
        ("::1", "::1"),
        ("[::FFFF:127.0.0.1]", "::ffff:7f00:1"),
        ("[fe80::1%25eth0]", "fe80::1%eth0"),
    ],
)
def test_parse_ip_literal_decodes_the_forms_browsers_accept(host: str, expected: str) -> None:
    assert parse_ip_literal(host) == ip_address(expected)


@pytest.mark.parametrize(
    "host", ["example.com", "localhost", "0x7g.example", "1.2.3.4.example", "xn--bcher-kva.example"]
)
def test_parse_ip_literal_returns_none_for_names(host: str) -> None:
    assert parse_ip_literal(host) is None


@pytest.mark.parametrize("host", ["[::1", "::1]", "[::ffff:7f00:1"])
def test_parse_ip_literal_unbrackets_only_a_whole_bracket_pair(host: str) -> None:
    """``[::1`` is not ``::1`` with a bracket dropped."""
    assert parse_ip_literal(host) is None


@pytest.mark.parametrize(
    "host",
    [
        "256.0.0.1",
        "1.2.3.256",
        "1.2.3.4.5",
        "1.2.3.4.0",
        "4294967296",
        "0x100000000",
        "09.0.0.1",
        "1..2",
        "a.1",
    ],
)
def test_parse_ip_literal_rejects_invalid_numeric_hosts(host: str) -> None:
    assert parse_ip_literal(host) is None


@pytest.mark.parametrize("host", ["1.2.3.4.5", "8.8.8.8.0", "256.0.0.1", "foo.123", "foo.0x10"])
def test_numeric_host_that_is_not_a_valid_literal_is_refused(host: str) -> None:
    """Even when a lenient reading would give a public address (``8.8.8.8.0``)."""
    assert "not a valid IP address" in refused(f"http://{host}/")


def test_host_with_several_trailing_dots_is_still_judged_as_a_literal() -> None:
    """WHATWG strips one trailing dot; stripping all is stricter and never looser."""
    assert "it denotes 127.0.0.1" in refused("http://127.0.0.1../")
    policy = AddressPolicy(allow_hosts=("*",))
    assert not policy.allows_address("127.0.0.1..", IPv4Address("127.0.0.1"))


@pytest.mark.parametrize("host", ["::g", "[1::2::3]", "fe80::1%", "0x7f.1.2.3.4", "[::1", "::1]"])
def test_check_host_refuses_malformed_ip_like_hosts(host: str) -> None:
    unsafe = AddressPolicy().check_host(host)
    assert unsafe is not None
    assert unsafe.addresses == ()


# --- literal hosts in URLs -------------------------------------------------------------------


@pytest.mark.parametrize("host", LOOPBACK_FORMS.values(), ids=LOOPBACK_FORMS.keys())
def test_loopback_literal_is_refused_in_every_browser_form(host: str) -> None:
    message = refused(f"http://{host}:8080/path")
    assert "refusing to connect to" in message


def test_decimal_literal_for_loopback_is_refused() -> None:
    message = refused("http://2130706433/")
    assert message == "refusing to connect to 2130706433: it denotes 127.0.0.1, which is loopback"


def test_ipv4_mapped_literal_names_the_ipv4_address_it_reaches() -> None:
    assert "IPv4-mapped form of 127.0.0.1, which is loopback" in refused("http://[::ffff:7f00:1]/")


@pytest.mark.parametrize(
    "host", ["169.254.169.254", "2852039166", "0xa9fea9fe", "[::ffff:169.254.169.254]"]
)
def test_cloud_metadata_address_is_refused(host: str) -> None:
    assert "cloud metadata service" in refused(f"http://{host}/latest/meta-data/")


@pytest.mark.parametrize(
    "address",
    [
        "10.0.0.1",
        "10.255.255.255",
        "172.16.0.1",
        "172.31.255.255",
        "192.168.0.1",
        "192.168.255.255",
    ],
)
def test_private_ipv4_ranges_are_refused(address: str) -> None:
    assert "private" in refused(f"http://{address}/")
    assert not is_public(ip_address(address))


@pytest.mark.parametrize("address", ["100.64.0.1", "100.100.100.200", "100.127.255.255"])
def test_carrier_grade_nat_range_is_refused(address: str) -> None:
    assert "carrier-grade NAT" in refused(f"http://{address}/")


@pytest.mark.parametrize("address", ["fe80::1", "fe80::1%eth0", "febf::1"])
def test_ipv6_link_local_is_refused(address: str) -> None:
    assert non_public_reason(ip_address(address)) == "link-local"


@pytest.mark.parametrize("address", ["fc00::1", "fd00::1", "fd00:ec2::254", "fdff:ffff::1"])
def test_ipv6_unique_local_is_refused(address: str) -> None:
    assert not is_public(ip_address(address))
    refused(f"http://[{address}]/")


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("0.1.2.3", "special-purpose"),
        ("255.255.255.255", "special-purpose"),
        ("240.0.0.1", "special-purpose"),
        ("224.0.0.1", "multicast"),
        ("239.255.255.250", "multicast"),
        ("ff02::1", "multicast"),
        ("ff0e::1", "multicast"),
        ("fec0::1", "site-local"),
        ("198.18.0.1", "special-purpose"),
        ("198.19.255.255", "special-purpose"),
        ("192.0.2.1", "special-purpose"),
        ("198.51.100.1", "special-purpose"),
        ("203.0.113.1", "special-purpose"),
        ("192.0.0.9", "special-purpose"),
        ("2001:db8::1", "special-purpose"),
        ("3fff::1", "special-purpose"),
        ("100::1", "special-purpose"),
        ("64:ff9b:1::a00:1", "reserved"),
    ],
)
def test_special_purpose_addresses_are_refused(address: str, reason: str) -> None:
    """Several of these are ``is_global`` on Python 3.11 (multicast, fec0::/10, 192.0.0.9)."""
    assert reason in (non_public_reason(ip_address(address)) or "")


@pytest.mark.parametrize(
    ("address", "embedded"),
    [
        ("::ffff:10.0.0.1", "10.0.0.1"),
        ("::ffff:a9fe:a9fe", "169.254.169.254"),
        ("64:ff9b::10.0.0.1", "10.0.0.1"),
        ("64:ff9b::a9fe:a9fe", "169.254.169.254"),
        ("2002:c0a8:101::1", "192.168.1.1"),
        ("2002:7f00:1::", "127.0.0.1"),
        ("::10.0.0.1", "10.0.0.1"),
    ],
)
def test_ipv6_forms_embedding_a_non_public_ipv4_are_refused(address: str, embedded: str) -> None:
    reason = non_public_reason(ip_address(address))
    assert reason is not None
    assert embedded in reason


def test_ipv4_compatible_form_is_refused_even_for_a_public_ipv4() -> None:
    assert "IPv4-compatible" in (non_public_reason(IPv6Address("::8.8.8.8")) or "")


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("::", "unspecified, which reaches this machine"),
        ("::1", "loopback"),
        ("::2", "a deprecated IPv4-compatible form of 0.0.0.2"),
        ("::ffff:ffff", "a deprecated IPv4-compatible form of 255.255.255.255"),
    ],
)
def test_ipv4_compatible_range_starts_after_unspecified_and_loopback(
    address: str, reason: str
) -> None:
    assert non_public_reason(IPv6Address(address)) == reason


def test_teredo_addresses_are_refused() -> None:
    assert "Teredo" in refused("http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/")


@pytest.mark.parametrize(
    "address",
    [
        "93.184.216.34",
        "8.8.8.8",
        "172.32.0.1",
        "172.15.255.255",
        "100.63.255.255",
        "100.128.0.0",
        "11.0.0.1",
        "2606:4700::1111",
        "2a00:1450:4001::1",
        "::ffff:93.184.216.34",
        "64:ff9b::5db8:d822",
        "2002:5db8:d822::1",
    ],
)
def test_public_addresses_are_allowed(address: str) -> None:
    assert is_public(ip_address(address))
    host = address if ":" not in address else f"[{address}]"
    assert AddressPolicy().check_url(f"https://{host}/page") is None


# --- schemes and URL shapes ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "scheme"),
    [
        ("javascript:alert(1)", "javascript"),
        ("JavaScript:alert(document.domain)", "javascript"),
        ("file:///etc/passwd", "file"),
        ("ftp://example.com/file", "ftp"),
        ("gopher://127.0.0.1:6379/_INFO", "gopher"),
        ("data:text/html,hi", "data"),
    ],
)
def test_non_http_schemes_are_refused(url: str, scheme: str) -> None:
    assert f"scheme {scheme!r} is not allowed" in refused(url)


@pytest.mark.parametrize(
    "url", ["http://example.com/", "HTTPS://Example.COM./a?b#c", "  http://a.b/ "]
)
def test_http_and_https_urls_to_names_pass(url: str) -> None:
    assert AddressPolicy().check_url(url) is None


@pytest.mark.parametrize("url", ["http:///path", "//example.com/", "http://[::1/", "example.com"])
def test_url_without_scheme_or_host_or_malformed_is_refused(url: str) -> None:
    refused(url)


def test_userinfo_does_not_hide_the_real_host() -> None:
    refused("http://news.test@127.0.0.1/")
    refused("http://news.test:pw@[::1]:80/")
    assert AddressPolicy().check_url("http://127.0.0.1@example.com/") is None


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST.", "localhost..", "api.localhost"])
def test_localhost_names_are_refused(host: str) -> None:
    assert "localhost names denote loopback" in refused(f"http://{host}:3000/")


# --- allow_hosts / allow_networks ------------------------------------------------------------


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "2130706433", "0x7f.1", "[::1]", "10.0.0.1", "169.254.169.254", "localhost"],
)
def test_allow_hosts_star_does_not_open_literals_or_localhost(host: str) -> None:
    refused(f"http://{host}/", AddressPolicy(allow_hosts=("*",)))


@pytest.mark.parametrize(
    "host", ["0x7f000001", "2130706433", "1.2.3.4.5", "::1", "[::1]", "localhost.", "a.localhost"]
)
def test_allow_hosts_never_applies_to_numeric_or_localhost_hosts(host: str) -> None:
    """The answer is a real bool (``False``), as typed, not merely something falsy."""
    policy = AddressPolicy(allow_hosts=("*",))
    assert policy.allows_address(host, IPv4Address("127.0.0.1")) is False


def test_allow_hosts_lets_a_matching_name_reach_a_private_address() -> None:
    policy = AddressPolicy(allow_hosts=("*.staging.example",))
    private = IPv4Address("10.20.0.5")
    assert policy.allows_address("api.staging.example", private)
    assert policy.allows_address("API.Staging.Example.", private)
    assert policy.allows_address("a.b.staging.example", private)
    assert not policy.allows_address("staging.example", private)
    assert not policy.allows_address("api.staging.example.evil.test", private)
    assert not policy.allows_address("evil.test", private)


def test_allow_hosts_patterns_are_case_and_trailing_dot_insensitive() -> None:
    policy = AddressPolicy(allow_hosts=("Intranet.Example.",))
    assert policy.allows_address("intranet.example", IPv4Address("192.168.1.10"))


def test_allow_networks_opens_loopback_literals_in_every_ipv4_form() -> None:
    policy = AddressPolicy(allow_networks=(LOOPBACK_NET,))
    for host in ["127.0.0.1", "2130706433", "0x7f000001", "127.1", "[::ffff:127.0.0.1]"]:
        assert policy.check_url(f"http://{host}:8080/") is None, host
    assert policy.check_url("http://localhost:8080/") is None


def test_allow_networks_opens_only_the_listed_networks() -> None:
    policy = AddressPolicy(allow_networks=(LOOPBACK_NET,))
    refused("http://10.0.0.1/", policy)
    refused("http://169.254.169.254/", policy)
    refused("http://[::1]/", policy)


def test_allow_networks_does_not_extend_to_nat64_or_6to4_forms() -> None:
    """Those reach a gateway's 127.0.0.1, not ours."""
    policy = AddressPolicy(allow_networks=(LOOPBACK_NET,))
    refused("http://[64:ff9b::127.0.0.1]/", policy)
    refused("http://[2002:7f00:1::]/", policy)


def test_allow_networks_matches_scoped_ipv6_addresses() -> None:
    policy = AddressPolicy(allow_networks=(IPv6Network("fe80::/10"),))
    assert policy.allows_address("router.lan", IPv6Address("fe80::1%eth0"))


def test_allow_networks_does_not_mix_address_families() -> None:
    policy = AddressPolicy(allow_networks=(IPv6Network("::/96"),))
    assert not policy.allows_address("x.example", IPv4Address("0.0.0.1"))


# --- PolicyResolver --------------------------------------------------------------------------


def test_policy_resolver_drops_refused_addresses_and_keeps_order() -> None:
    table = {"mixed.example": ["10.0.0.1", "93.184.216.34", "127.0.0.1", "2606:4700::1111"]}
    resolver = PolicyResolver(AddressPolicy(), resolver=FakeResolver(table))
    results = run(resolver.resolve("mixed.example", 443, socket.AF_UNSPEC))
    assert [r["host"] for r in results] == ["93.184.216.34", "2606:4700::1111"]
    assert all(r["port"] == 443 and r["hostname"] == "mixed.example" for r in results)


def test_policy_resolver_raises_unsafe_address_when_no_address_is_left() -> None:
    table = {"internal.example": ["127.0.0.1", "::1", "169.254.169.254"]}
    resolver = PolicyResolver(AddressPolicy(), resolver=FakeResolver(table))
    with pytest.raises(UnsafeAddress) as caught:
        run(resolver.resolve("internal.example", 80))
    error = caught.value
    assert error.host == "internal.example"
    assert error.addresses == (
        IPv4Address("127.0.0.1"),
        IPv6Address("::1"),
        IPv4Address("169.254.169.254"),
    )
    assert str(error) == (
        "refusing to connect to internal.example: it resolves only to addresses not allowed "
        "(127.0.0.1 is loopback; ::1 is loopback; "
        "169.254.169.254 is link-local, the cloud metadata service)"
    )


def test_policy_resolver_lets_dns_failures_through_unchanged() -> None:
    resolver = PolicyResolver(AddressPolicy(), resolver=FakeResolver({}))
    with pytest.raises(socket.gaierror):
        run(resolver.resolve("missing.example", 80))


def test_policy_resolver_lets_allowed_names_resolve_to_private_addresses() -> None:
    policy = AddressPolicy(allow_hosts=("*.staging.example",))
    resolver = PolicyResolver(policy, resolver=FakeResolver({"api.staging.example": ["10.20.0.5"]}))
    assert [r["host"] for r in run(resolver.resolve("api.staging.example", 80))] == ["10.20.0.5"]


def test_policy_resolver_does_not_let_allow_hosts_open_numeric_names() -> None:
    """aiohttp hands ``0x7f000001`` to the resolver (it is not a dotted quad); getaddrinfo maps
    it to 127.0.0.1. ``--allow-host '*'`` must not turn that into an allowed name."""
    policy = AddressPolicy(allow_hosts=("*",))
    resolver = PolicyResolver(policy, resolver=FakeResolver({"0x7f000001": ["127.0.0.1"]}))
    with pytest.raises(UnsafeAddress):
        run(resolver.resolve("0x7f000001", 80))


def test_policy_resolver_refuses_localhost_even_with_allow_hosts_star() -> None:
    policy = AddressPolicy(allow_hosts=("*",))
    resolver = PolicyResolver(policy, resolver=FakeResolver({"localhost": ["127.0.0.1", "::1"]}))
    with pytest.raises(UnsafeAddress):
        run(resolver.resolve("localhost", 80))


def test_policy_resolver_default_inner_resolver_works_in_successive_event_loops() -> None:
    """Uses getaddrinfo on a numeric host, so no DNS query is made."""
    policy = AddressPolicy(allow_networks=(LOOPBACK_NET,))
    resolver = PolicyResolver(policy)
    for _ in range(2):
        results = run(resolver.resolve("127.0.0.1", 80, socket.AF_INET))
        assert [r["host"] for r in results] == ["127.0.0.1"]
    with pytest.raises(UnsafeAddress):
        run(PolicyResolver(AddressPolicy()).resolve("127.0.0.1", 80, socket.AF_INET))


def test_filter_resolved_refuses_unparseable_addresses() -> None:
    with pytest.raises(UnsafeAddress, match="'not-an-ip' is not an IP address"):
        AddressPolicy().filter_resolved("odd.example", [resolve_result("odd.example", "not-an-ip")])


def test_filter_resolved_passes_an_empty_answer_through() -> None:
    assert AddressPolicy().filter_resolved("empty.example", []) == []


def test_policy_resolver_defaults_match_aiohttp_resolvers() -> None:
    """aiohttp's resolvers default to port 0 and AF_INET; so must the wrapper."""
    inner = FakeResolver({"plain.example": ["93.184.216.34"]})
    results = run(PolicyResolver(AddressPolicy(), resolver=inner).resolve("plain.example"))
    assert [(r["host"], r["port"]) for r in results] == [("93.184.216.34", 0)]
    assert inner.calls == [("plain.example", 0, socket.AF_INET)]


def test_policy_resolver_close_closes_the_inner_resolver() -> None:
    inner = FakeResolver({})
    run(PolicyResolver(AddressPolicy(), resolver=inner).close())
    assert inner.closed


# --- UnsafeAddress and find_unsafe -----------------------------------------------------------


def test_unsafe_address_is_an_oserror_whose_strerror_is_the_message() -> None:
    error = UnsafeAddress("h.example", [IPv4Address("10.0.0.1")], "because")
    assert isinstance(error, OSError)
    assert error.errno is None
    assert str(error) == error.strerror == "refusing to connect to h.example: because"


def test_unsafe_address_survives_pickling() -> None:
    error = UnsafeAddress("h.example", [IPv4Address("10.0.0.1")], "because")
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.host, copy.addresses, str(copy)) == (error.host, error.addresses, str(error))


def _chain(exceptions: Sequence[BaseException], *, implicit: bool = False) -> BaseException:
    for outer, inner in itertools.pairwise(exceptions):
        if implicit:
            outer.__context__ = inner
        else:
            outer.__cause__ = inner
    return exceptions[0]


def test_find_unsafe_follows_explicit_and_implicit_chains() -> None:
    unsafe = UnsafeAddress("h", [], "r")
    assert find_unsafe(_chain([RuntimeError(), OSError(), unsafe])) is unsafe
    assert find_unsafe(_chain([RuntimeError(), OSError(), unsafe], implicit=True)) is unsafe
    assert find_unsafe(unsafe) is unsafe


def test_find_unsafe_looks_inside_exception_groups() -> None:
    unsafe = UnsafeAddress("h", [], "r")
    group = ExceptionGroup("many", [ValueError(), RuntimeError()])
    group.exceptions[1].__cause__ = unsafe
    assert find_unsafe(group) is unsafe


def test_find_unsafe_returns_none_for_other_errors_and_survives_cycles() -> None:
    first, second = RuntimeError(), OSError()
    first.__context__, second.__context__ = second, first
    assert find_unsafe(first) is None
    assert find_unsafe(socket.gaierror(socket.EAI_NONAME, "unknown")) is None


def test_find_unsafe_gives_up_after_a_bounded_number_of_links() -> None:
    links: list[BaseException] = [RuntimeError() for _ in range(100)]
    assert find_unsafe(_chain([*links, UnsafeAddress("h", [], "r")])) is None


@pytest.mark.parametrize(("depth", "found"), [(31, True), (32, False)])
def test_find_unsafe_looks_at_exactly_32_exceptions(depth: int, found: bool) -> None:
    """The documented bound: the 32nd exception looked at is the last."""
    unsafe = UnsafeAddress("h", [], "r")
    links: list[BaseException] = [RuntimeError() for _ in range(depth)]
    assert (find_unsafe(_chain([*links, unsafe])) is unsafe) is found


def test_find_unsafe_returns_the_nearest_refusal_breadth_first() -> None:
    """A refusal one link away wins over one two links away down an earlier-visited branch."""
    near, far = UnsafeAddress("near", [], "r"), UnsafeAddress("far", [], "r")
    middle = RuntimeError()
    middle.__cause__ = far
    top = RuntimeError()
    top.__cause__, top.__context__ = near, middle
    assert find_unsafe(top) is near
    top.__cause__, top.__context__ = middle, near
    assert find_unsafe(top) is near


# --- PolicyTransport with a stub transport -----------------------------------------------------


class RaisingTransport(httpx.AsyncBaseTransport):
    """Raises a given error for every request, as a failing inner transport would."""

    def __init__(self, error: Exception) -> None:
        self.error = error
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        raise self.error


def send_through_policy(inner: httpx.AsyncBaseTransport, url: str) -> BaseException | None:
    """The error (if any) PolicyTransport raises for one GET of ``url``."""

    async def go() -> BaseException | None:
        transport = PolicyTransport(AddressPolicy(), inner)
        try:
            await transport.handle_async_request(httpx.Request("GET", url))
        except Exception as exc:
            return exc
        return None

    return run(go())


def test_policy_transport_passes_other_transport_errors_through_unchanged() -> None:
    request = httpx.Request("GET", "https://slow.example/")
    timeout = httpx.ReadTimeout("read timed out", request=request)
    assert send_through_policy(RaisingTransport(timeout), "https://slow.example/") is timeout


def test_policy_transport_keeps_a_connect_error_that_already_names_the_refusal() -> None:
    request = httpx.Request("GET", "https://internal.example/")
    error = httpx.ConnectError("refused", request=request)
    error.__cause__ = UnsafeAddress("internal.example", [IPv4Address("10.0.0.1")], "private")
    assert send_through_policy(RaisingTransport(error), "https://internal.example/") is error


def test_policy_transport_turns_a_wrapped_refusal_into_connect_error() -> None:
    request = httpx.Request("GET", "https://internal.example/")
    unsafe = UnsafeAddress("internal.example", [IPv4Address("10.0.0.1")], "10.0.0.1 is private")
    timeout = httpx.ConnectTimeout("timed out", request=request)
    timeout.__cause__ = unsafe
    raised = send_through_policy(RaisingTransport(timeout), "https://internal.example/")
    assert isinstance(raised, httpx.ConnectError)
    assert str(raised) == "refusing to connect to internal.example: 10.0.0.1 is private"
    assert raised.__cause__ is timeout


def test_policy_transport_refuses_before_the_inner_transport_sees_the_request() -> None:
    inner = RaisingTransport(RuntimeError("must not be reached"))
    raised = send_through_policy(inner, "http://169.254.169.254/latest/meta-data/")
    assert isinstance(raised, httpx.ConnectError)
    assert "cloud metadata service" in str(raised)
    assert isinstance(raised.__cause__, UnsafeAddress)
    assert inner.requests == []


# --- end to end: httpx -> httpx_aiohttp -> aiohttp -> PolicyResolver --------------------------


@dataclass
class Server:
    """A bare asyncio HTTP/1.1 server on 127.0.0.1 that counts accepted connections."""

    port: int = 0
    connections: int = 0
    redirects: dict[str, str] = field(default_factory=dict)


@asynccontextmanager
async def serve(redirects: Mapping[str, str] | None = None) -> AsyncIterator[Server]:
    state = Server(redirects=dict(redirects or {}))

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        state.connections += 1
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            path = head.split(b" ", 2)[1].decode()
            if path in state.redirects:
                location = state.redirects[path].format(port=state.port)
                status = f"302 Found\r\nLocation: {location}"
            else:
                status = "204 No Content"
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode()
            )
            await writer.drain()
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    state.port = server.sockets[0].getsockname()[1]
    try:
        yield state
    finally:
        server.close()
        await server.wait_closed()


def aiohttp_transport(
    policy: AddressPolicy, table: Mapping[str, Sequence[str]]
) -> httpx_aiohttp.AiohttpTransport:
    """The production stack, with a fake inner resolver instead of real DNS."""

    def session() -> aiohttp.ClientSession:
        resolver = PolicyResolver(policy, resolver=FakeResolver(table))
        return aiohttp.ClientSession(connector=aiohttp.TCPConnector(resolver=resolver))

    return httpx_aiohttp.AiohttpTransport(client=session)


INTERNAL = {"internal.test": ["127.0.0.1"]}


async def fetch(
    transport: httpx.AsyncBaseTransport, url: str, *, follow_redirects: bool = False
) -> httpx.Response:
    async with httpx.AsyncClient(transport=transport, timeout=2) as client:
        return await client.get(url, follow_redirects=follow_redirects)


def outcome(
    make_transport: Callable[[], httpx.AsyncBaseTransport],
    path: str = "/",
    *,
    host: str = "internal.test",
    redirects: Mapping[str, str] | None = None,
    follow_redirects: bool = False,
) -> tuple[httpx.Response | httpx.TransportError, int]:
    """(response or transport error, connections the server accepted) for one request."""

    async def go() -> tuple[httpx.Response | httpx.TransportError, int]:
        async with serve(redirects) as server:
            url = f"http://{host}:{server.port}{path}"
            result: httpx.Response | httpx.TransportError
            try:
                result = await fetch(make_transport(), url, follow_redirects=follow_redirects)
            except httpx.TransportError as exc:
                result = exc
            return result, server.connections

    return run(go())


def test_resolver_refusal_through_httpx_aiohttp_makes_no_connection() -> None:
    """httpx_aiohttp 0.2.0 maps aiohttp's ClientConnectorDNSError to httpx.ConnectTimeout (its
    exception map prefers ClientConnectionError's entry), so accept either connect error."""
    result, connections = outcome(lambda: aiohttp_transport(AddressPolicy(), INTERNAL))
    assert connections == 0
    assert isinstance(result, httpx.ConnectError | httpx.ConnectTimeout)
    assert isinstance(result.__cause__, aiohttp.ClientConnectorDNSError)
    assert isinstance(result.__cause__.__cause__, UnsafeAddress)
    unsafe = find_unsafe(result)
    assert unsafe is not None
    assert unsafe.host == "internal.test"
    assert unsafe.addresses == (IPv4Address("127.0.0.1"),)
    assert str(unsafe) in str(result)


def test_dns_failure_through_httpx_aiohttp_is_not_mistaken_for_a_refusal() -> None:
    result, connections = outcome(lambda: aiohttp_transport(AddressPolicy(), {}))
    assert connections == 0
    assert isinstance(result, httpx.TransportError)
    assert isinstance(result.__cause__, aiohttp.ClientConnectorDNSError)
    assert find_unsafe(result) is None


def test_allowed_name_reaches_the_server_through_httpx_aiohttp() -> None:
    policy = AddressPolicy(allow_hosts=("*.test",))
    result, connections = outcome(lambda: aiohttp_transport(policy, INTERNAL))
    assert isinstance(result, httpx.Response)
    assert result.status_code == 204
    assert connections == 1


def test_aiohttp_connects_to_ip_literals_without_asking_the_resolver() -> None:
    """Why check_url and PolicyTransport exist: the resolver alone does not stop literals."""
    result, connections = outcome(lambda: aiohttp_transport(AddressPolicy(), {}), host="127.0.0.1")
    assert isinstance(result, httpx.Response)
    assert connections == 1


def test_policy_transport_refuses_a_loopback_literal_without_connecting() -> None:
    policy = AddressPolicy()
    result, connections = outcome(
        lambda: PolicyTransport(policy, aiohttp_transport(policy, {})), host="127.0.0.1"
    )
    assert connections == 0
    assert isinstance(result, httpx.ConnectError)
    assert find_unsafe(result) is not None


def test_policy_transport_reports_a_resolver_refusal_as_connect_error() -> None:
    policy = AddressPolicy()
    result, connections = outcome(
        lambda: PolicyTransport(policy, aiohttp_transport(policy, INTERNAL))
    )
    assert connections == 0
    assert isinstance(result, httpx.ConnectError)
    unsafe = find_unsafe(result)
    assert unsafe is not None
    assert str(result) == str(unsafe)


def test_policy_transport_refuses_a_redirect_to_a_loopback_literal() -> None:
    policy = AddressPolicy(allow_hosts=("*.test",))

    def transport() -> httpx.AsyncBaseTransport:
        return PolicyTransport(policy, aiohttp_transport(policy, INTERNAL))

    result, connections = outcome(
        transport, "/go", redirects={"/go": "http://127.0.0.1:{port}/"}, follow_redirects=True
    )
    assert connections == 1
    assert isinstance(result, httpx.ConnectError)
    unsafe = find_unsafe(result)
    assert unsafe is not None
    assert unsafe.addresses == (IPv4Address("127.0.0.1"),)


def test_policy_transport_lets_allow_networks_reach_a_loopback_literal() -> None:
    policy = AddressPolicy(allow_networks=(LOOPBACK_NET,))
    result, connections = outcome(
        lambda: PolicyTransport(policy, aiohttp_transport(policy, {})), host="127.0.0.1"
    )
    assert isinstance(result, httpx.Response)
    assert result.status_code == 204
    assert connections == 1
