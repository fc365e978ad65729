"""The fetching half of a run in this process: fetcher and probes, without seeds or store.

A run with one worker uses it directly; with several, each worker process runs one
(``workers.local_fetches``) while the parent only sends URLs. The parent then never imports
this module, so it does not load the HTTP client stack (aiohttp and its TLS contexts)
that only its workers use.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from linkcheck.engine.workers import Tally
from linkcheck.model.config import Config
from linkcheck.model.records import Outcome
from linkcheck.net.fetch import Fetcher
from linkcheck.probes.images import ImageProber
from linkcheck.probes.page import PageProber


class LocalFetches:
    """Fetches URLs here: pages through :class:`PageProber`, images through
    :class:`ImageProber`, all on one :class:`Fetcher` (see ``workers.Fetches``)."""

    def __init__(self, config: Config, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.config = config
        self.fetcher = Fetcher(config, transport)
        self.images = ImageProber(self.fetcher, config)

    async def fetch_fresh(self, as_image: bool, url: str, once: bool = False) -> Outcome:
        """The URL fetched now; ``once`` asks it with no retry and keeps it out of the
        recheck pass (see :meth:`Fetcher.try_once`)."""
        if once:
            self.fetcher.try_once(url)
        if as_image:
            return await self.images.probe(url)
        return await PageProber(self.fetcher, self.config).probe(url)

    async def ask(self, as_image: bool, url: str, headers: Mapping[str, str]) -> Outcome:
        """One conditional request for a stored outcome; no image body. A changed page
        (200) is read as the main pass reads it: its facts."""
        if not as_image:
            return await PageProber(self.fetcher, self.config).probe(url, headers)
        asked = await self.fetcher.fetch(url, _no_body, 0, identity=True, headers=headers)
        return asked.outcome()

    def budget_spent(self, url: str) -> bool:
        return self.fetcher.budget_spent(url)

    def no_retries(self) -> None:
        """From now on (the recheck pass) each fetch is one try: the main pass spent retries."""
        self.fetcher = self.fetcher.with_retries(0)
        self.images = ImageProber(self.fetcher, self.config)

    def tally(self) -> Tally:
        """What this process's fetching cost: counters and each host's figures."""
        hosts = {name: host.stats for name, host in self.fetcher.hosts.hosts.items()}
        return Tally(self.fetcher.counters, hosts)

    async def aclose(self) -> None:
        await self.fetcher.aclose()

    async def finish(self) -> Tally:
        """Close the fetcher; what the fetching cost, for the summary."""
        await self.aclose()
        return self.tally()


async def _no_body(response: httpx.Response, limit: int) -> int:
    """Read nothing: a conditional request only asks whether the stored facts still hold."""
    return 0
