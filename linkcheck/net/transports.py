"""The one place that chooses how bytes travel: the HTTP transport of a run.

By default httpx's API runs on aiohttp's connection pool (``httpx-aiohttp``),
measured here at about a tenth of the CPU per request of httpx's own
transport; aiohttp's pluggable resolver is where names are vetted, so the
connection goes to the address that was checked, and names are looked up once
a run through :class:`~linkcheck.net.dns.SharedResolver`. ``--http2`` uses httpx's own
transport (aiohttp speaks HTTP/1.1 only) with a network backend that does the
same vetting before it connects.

Nothing is read from the environment per request: proxy settings are read once
per run (unless ``--no-env-proxy``) and given to each request explicitly, and
credentials are never taken from ``~/.netrc``.
"""

from __future__ import annotations

import logging
import socket
import ssl
import urllib.request
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import httpcore
import httpx
from aiohttp.abc import AbstractResolver, ResolveResult
from httpx_aiohttp import AiohttpTransport
from httpx_aiohttp.transport import AiohttpResponseStream, map_aiohttp_exceptions
from yarl import URL

from linkcheck.model.config import Config
from linkcheck.net.dns import SharedResolver
from linkcheck.net.safety import AddressPolicy, PolicyResolver, UnsafeAddress, parse_ip_literal

Resolve = Callable[[str, int], Awaitable[list[str]]]

log = logging.getLogger("linkcheck")

#: URL schemes a proxy may be given for, and proxy URL schemes aiohttp can use.
_PROXIED_SCHEMES = ("http", "https")


@dataclass(frozen=True)
class EnvProxies:
    """The proxies of a run, read once from ``http_proxy``, ``https_proxy`` and ``no_proxy``.

    Per request, :meth:`for_url` picks the proxy for the URL's scheme unless
    ``no_proxy`` exempts its host; no netrc file is read for proxy credentials
    (credentials written in the proxy URL itself are used).
    """

    proxies: Mapping[str, str] = field(default_factory=dict, repr=False)  # may hold credentials
    no_proxy: str = ""

    @classmethod
    def from_environment(cls) -> EnvProxies:
        """Read once per run; an unusable value is ignored with a warning that omits it."""
        found = urllib.request.getproxies_environment()
        proxies: dict[str, str] = {}
        for scheme in _PROXIED_SCHEMES:
            value = found.get(scheme, "").strip()
            if not value:
                continue
            if "://" not in value:
                value = f"http://{value}"
            try:
                url = httpx.Proxy(value).url
                usable = url.scheme in _PROXIED_SCHEMES and bool(url.raw_host)
            except (ValueError, httpx.InvalidURL):
                usable = False
            if not usable:
                log.warning("ignoring the %s_proxy setting: not an http(s) proxy URL", scheme)
                continue
            proxies[scheme] = value
        return cls(proxies, found.get("no", ""))

    def for_url(self, url: httpx.URL) -> str | None:
        """The proxy URL to reach ``url`` through, or None to connect directly."""
        proxy = self.proxies.get(url.scheme)
        if proxy is None or self._bypassed(url):
            return None
        return proxy

    def _bypassed(self, url: httpx.URL) -> bool:
        """``no_proxy`` as urllib reads it: ``*``, or names (dots ignored) matching as suffixes."""
        if not self.no_proxy:
            return False
        host = url.raw_host.decode("ascii", "replace").lower()
        with_port = f"{host}:{url.port}" if url.port else host
        for entry in self.no_proxy.split(","):
            name = entry.strip().lstrip(".").lower()
            if name == "*":
                return True
            if name.startswith("[") and "]" in name:
                name = name[1:].replace("]", "", 1)
            if name and any(c == name or c.endswith("." + name) for c in (host, with_port)):
                return True
        return False


class ProxyRouter(httpx.AsyncBaseTransport):
    """Sends each request directly or through its proxy; every route shares one session."""

    def __init__(
        self,
        proxies: EnvProxies,
        direct: httpx.AsyncBaseTransport,
        via: Mapping[str, httpx.AsyncBaseTransport],
    ) -> None:
        self.proxies = proxies
        self._direct = direct
        self._via = via

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        proxy = self.proxies.for_url(request.url)
        transport = self._direct if proxy is None else self._via[proxy]
        return await transport.handle_async_request(request)

    async def aclose(self) -> None:
        for transport in (self._direct, *self._via.values()):
            await transport.aclose()


def ssl_context(config: Config) -> ssl.SSLContext:
    """Verification per config: ``--insecure``, ``--ca-bundle``, else the system store.

    ``SSL_CERT_FILE`` and ``SSL_CERT_DIR`` are honoured through OpenSSL's defaults.
    """
    if config.insecure:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    cafile = str(config.ca_bundle) if config.ca_bundle else None
    return ssl.create_default_context(cafile=cafile)


def make_transport(
    config: Config,
    policy: AddressPolicy,
    proxies: EnvProxies | None = None,
    resolver: AbstractResolver | None = None,
) -> httpx.AsyncBaseTransport:
    """The transport for a real run of ``config``.

    ``proxies`` default to the environment's when ``config.trust_env``, read
    here, once per run; aiohttp's own ``trust_env`` stays off, since it also
    sends ``~/.netrc`` credentials to any host named there. ``resolver`` is
    what the run's one :class:`SharedResolver` asks (the system's by default).
    """
    shared = SharedResolver(resolver, in_flight=config.dns_concurrency)
    if config.http2:
        return http2_transport(config, policy, shared.addresses)
    if proxies is None:
        proxies = EnvProxies.from_environment() if config.trust_env else EnvProxies()
    context = ssl_context(config)
    sessions: list[aiohttp.ClientSession] = []

    def session() -> aiohttp.ClientSession:
        if sessions:
            return sessions[0]
        connector = aiohttp.TCPConnector(
            limit=config.max_concurrency,
            limit_per_host=0,
            use_dns_cache=False,  # the shared resolver keeps answers and failures itself
            ssl=context,
            resolver=PolicyResolver(policy, shared),
        )
        session = aiohttp.ClientSession(connector=connector, auto_decompress=False, trust_env=False)
        # aiohttp silently resends an idempotent request once after a reset; retries
        # are decided (and counted) in one place, ours. aiohttp's test client does the same.
        session._retry_connection = False
        sessions.append(session)
        return session

    # verify=context: the session verifies with it; without it, each transport would also
    # build httpx's default context from certifi's bundle (30 ms) and never use it
    direct = LeanAiohttpTransport(client=session, verify=context)
    if not proxies.proxies:
        return direct
    via = {
        url: LeanAiohttpTransport(client=session, proxy=httpx.Proxy(url), verify=context)
        for url in set(proxies.proxies.values())
    }
    return ProxyRouter(proxies, direct, via)


class LeanAiohttpTransport(AiohttpTransport):
    """httpx-aiohttp's transport, doing less per request.

    The URL was encoded once already (by :func:`~linkcheck.net.urls.normalize` and
    httpx), so aiohttp gets it as it is, with no second quoting pass by yarl: the
    server sees exactly the URL that was checked. Timeout objects are reused.
    Requests carry no body here.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._timeouts: dict[tuple[float | None, ...], aiohttp.ClientTimeout] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not isinstance(self.client, aiohttp.ClientSession):
            self.client = self.get_client()
        proxy = self.proxy
        with map_aiohttp_exceptions():
            response = await self.client.request(
                method=request.method,
                url=URL(str(request.url), encoded=True),
                headers=request.headers.multi_items(),
                allow_redirects=False,
                auto_decompress=False,
                compress=False,
                timeout=self._timeout(request.extensions.get("timeout", {})),
                server_hostname=request.extensions.get("sni_hostname"),
                proxy=str(proxy.url) if proxy else None,
                proxy_auth=aiohttp.BasicAuth(*proxy.auth) if proxy and proxy.auth else None,
                proxy_headers=proxy.headers if proxy else None,
            ).__aenter__()
        extensions = {"http_version": b"HTTP/1.1"}
        if response.reason:
            extensions["reason_phrase"] = response.reason.encode()
        return httpx.Response(
            status_code=response.status,
            headers=response.raw_headers,
            stream=AiohttpResponseStream(response),
            request=request,
            extensions=extensions,
        )

    def _timeout(self, given: Mapping[str, float | None]) -> aiohttp.ClientTimeout:
        key = (given.get("connect"), given.get("read"), given.get("pool"))
        timeout = self._timeouts.get(key)
        if timeout is None:
            timeout = self._timeouts[key] = aiohttp.ClientTimeout(
                sock_connect=key[0], sock_read=key[1], connect=key[2]
            )
        return timeout


def http2_transport(
    config: Config, policy: AddressPolicy, resolve: Resolve | None = None
) -> httpx.AsyncBaseTransport:
    """httpx's own transport with HTTP/2 (the ``http2`` extra), connecting to vetted addresses.

    Proxies are not used on this path, and nothing is read from the environment.
    """
    transport = httpx.AsyncHTTPTransport(http2=True, trust_env=False)
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=ssl_context(config),
        max_connections=config.max_concurrency,
        http1=True,
        http2=True,
        network_backend=PinnedBackend(
            policy, resolve or SharedResolver(in_flight=config.dns_concurrency).addresses
        ),
    )
    return transport


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """Resolves a name, keeps the addresses the policy allows, connects to the first of them."""

    def __init__(self, policy: AddressPolicy, resolve: Resolve) -> None:
        self.policy = policy
        self.resolve = resolve
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        literal = parse_ip_literal(host)
        if literal is not None:
            if not self.policy.allows_address(host, literal):
                raise UnsafeAddress(host, (literal,), f"{literal} is not a public address")
            address = str(literal)
        else:
            found = [_result(host, port, text) for text in await self.resolve(host, port)]
            address = self.policy.filter_resolved(host, found)[0]["host"]
        return await self._inner.connect_tcp(address, port, timeout, local_address, socket_options)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise UnsafeAddress(path, (), "unix sockets are never used")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def _result(host: str, port: int, address: str) -> ResolveResult:
    return {
        "hostname": host,
        "host": address,
        "port": port,
        "family": socket.AF_INET6 if ":" in address else socket.AF_INET,
        "proto": 0,
        "flags": 0,
    }
