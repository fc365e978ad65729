"""The one place that chooses how bytes travel: the HTTP transport of a run.

By default httpx's API runs on aiohttp's connection pool (``httpx-aiohttp``),
measured here at about a tenth of the CPU per request of httpx's own
transport; aiohttp's pluggable resolver is where names are vetted, so the
connection goes to the address that was checked. ``--http2`` uses httpx's own
transport (aiohttp speaks HTTP/1.1 only) with a network backend that does the
same vetting before it connects.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import aiohttp
import httpcore
import httpx
from aiohttp.abc import ResolveResult
from httpx_aiohttp import AiohttpTransport

from linkcheck.model.config import Config
from linkcheck.net.safety import AddressPolicy, PolicyResolver, UnsafeAddress, parse_ip_literal

Resolve = Callable[[str, int], Awaitable[list[str]]]


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


def make_transport(config: Config, policy: AddressPolicy) -> httpx.AsyncBaseTransport:
    """The transport for a real run of ``config``."""
    if config.http2:
        return http2_transport(config, policy)
    context = ssl_context(config)

    def session() -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=config.max_concurrency,
            limit_per_host=0,
            ttl_dns_cache=300,
            ssl=context,
            resolver=PolicyResolver(policy),
        )
        session = aiohttp.ClientSession(
            connector=connector, auto_decompress=False, trust_env=config.trust_env
        )
        # aiohttp silently resends an idempotent request once after a reset; retries
        # are decided (and counted) in one place, ours. aiohttp's test client does the same.
        session._retry_connection = False
        return session

    return AiohttpTransport(client=session)


def http2_transport(
    config: Config, policy: AddressPolicy, resolve: Resolve | None = None
) -> httpx.AsyncBaseTransport:
    """httpx's own transport with HTTP/2 (the ``http2`` extra), connecting to vetted addresses.

    Proxies are not used on this path.
    """
    transport = httpx.AsyncHTTPTransport(http2=True, trust_env=False)
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=ssl_context(config),
        max_connections=config.max_concurrency,
        http1=True,
        http2=True,
        network_backend=PinnedBackend(policy, resolve or system_resolve),
    )
    return transport


async def system_resolve(host: str, port: int) -> list[str]:
    """The system resolver's addresses for ``host``, in its order."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


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
