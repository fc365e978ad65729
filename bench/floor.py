"""The HTTP stack's own cost: the benchmark's requests with no checker around them.

    python -m bench.floor --client aiohttp|httpx --output OUT.json [options] URLS.txt

A status checker of a few lines that makes the requests linkcheck makes for the same
unique URLs, under the same limits, and nothing else: every URL is asked with GET and its
body read to the end (the first ``--image-bytes`` of an image, by Range), redirects are
followed, and an image whose server honoured the Range is asked once more for its last
``--tail-bytes``, as ``--verify-images tail`` does. No seeds are read, nothing is judged
and no report is written, so its CPU time is what the client stack alone costs:

- ``aiohttp``: aiohttp's own API, the connection pool linkcheck runs on;
- ``httpx``: an ``httpx.Request`` handed to httpx-aiohttp's transport and the
  ``httpx.Response`` read back, the path linkcheck's fetcher takes on that same pool.

``bench.run`` runs these as peers (``--floors``), so the figures sit beside linkcheck's and
lychee's, measured on the same server in the same minutes. Output: ``{"checked": N,
"failed": [URL, ...], "requests": N}`` where failed means an error or a status of 400 up.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import ssl
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

from bench import server as routes
from linkcheck.model.config import Config
from linkcheck.probes.image_header import TRAILER_BYTES

CLIENTS = ("aiohttp", "httpx")
_MAX_REDIRECTS = 10
_REDIRECTS = frozenset((301, 302, 303, 307, 308))

#: One request: URL and headers in; status and Location out.
Ask = Callable[[str, dict[str, str]], Awaitable[tuple[int, str | None]]]


@dataclass
class Tally:
    """What the run saw: the failed URLs and how many requests it made."""

    failed: list[str] = field(default_factory=list)
    requests: int = 0


def _is_image(url: str) -> bool:
    parts = urlsplit(url).path.split("/")
    return len(parts) > 2 and parts[1] == routes.IMAGE


async def _check(url: str, ask: Ask, options: argparse.Namespace, tally: Tally) -> None:
    image = _is_image(url)
    headers = {"Range": f"bytes=0-{options.image_bytes - 1}"} if image else {}
    current = url
    try:
        for _ in range(_MAX_REDIRECTS + 1):
            tally.requests += 1
            status, location = await ask(current, headers)
            if status in _REDIRECTS and location:
                current = urljoin(current, location)
                continue
            break
        if status == 206 and image:
            tally.requests += 1
            await ask(current, {"Range": f"bytes=-{options.tail_bytes}"})
    except (aiohttp.ClientError, httpx.HTTPError, OSError, TimeoutError):
        tally.failed.append(url)
        return
    if status >= 400:
        tally.failed.append(url)


def _aiohttp_ask(session: aiohttp.ClientSession) -> Ask:
    async def ask(url: str, headers: dict[str, str]) -> tuple[int, str | None]:
        async with session.get(url, headers=headers, allow_redirects=False) as response:
            async for _ in response.content.iter_any():
                pass
            return response.status, response.headers.get("location")

    return ask


def _httpx_ask(transport: AiohttpTransport) -> Ask:
    async def ask(url: str, headers: dict[str, str]) -> tuple[int, str | None]:
        response = await transport.handle_async_request(
            httpx.Request("GET", httpx.URL(url), headers=headers)
        )
        try:
            async for _ in response.aiter_raw():
                pass
        finally:
            await response.aclose()
        return response.status_code, response.headers.get("location")

    return ask


async def run(urls: list[str], options: argparse.Namespace) -> Tally:
    """Check every URL under the run-wide and per-host limits; return the tally."""
    context = ssl.create_default_context(cafile=str(options.ca) if options.ca else None)
    connector = aiohttp.TCPConnector(
        ssl=context, limit=options.concurrency, limit_per_host=options.host_concurrency
    )
    timeout = aiohttp.ClientTimeout(total=options.timeout)
    tally = Tally()
    places = asyncio.Semaphore(options.concurrency)
    per_host: dict[str, asyncio.Semaphore] = {}
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        ask = (
            _aiohttp_ask(session)
            if options.client == "aiohttp"
            else _httpx_ask(AiohttpTransport(client=session))
        )

        async def one(url: str) -> None:
            host = urlsplit(url).netloc
            gate = per_host.setdefault(host, asyncio.Semaphore(options.host_concurrency))
            async with places, gate:
                await _check(url, ask, options, tally)

        await asyncio.gather(*(one(url) for url in urls))
    return tally


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.floor", description=__doc__)
    parser.add_argument("urls", type=Path, nargs="?", help="one URL per line")
    parser.add_argument("--client", choices=CLIENTS, default="aiohttp")
    parser.add_argument("--output", type=Path, help="where the JSON result goes")
    parser.add_argument("--concurrency", type=int, default=128)
    parser.add_argument("--host-concurrency", type=int, default=8)
    parser.add_argument("--ca", type=Path, help="trust this CA bundle")
    parser.add_argument("--timeout", type=float, default=20.0)
    parser.add_argument(
        "--image-bytes", type=int, default=Config().image_first_bytes, help="first read of an image"
    )
    parser.add_argument("--tail-bytes", type=int, default=TRAILER_BYTES, help="image suffix read")
    parser.add_argument("--version", action="store_true", help="print the clients' versions")
    options = parser.parse_args(argv)
    if options.version:
        print(f"aiohttp {version('aiohttp')}, httpx {version('httpx')}")
        return 0
    if options.urls is None or options.output is None:
        parser.error("URLS and --output are needed")
    urls = [line.strip() for line in options.urls.read_text().splitlines() if line.strip()]
    tally = asyncio.run(run(urls, options))
    result = {"checked": len(urls), "failed": tally.failed, "requests": tally.requests}
    options.output.write_text(json.dumps(result), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
