"""Which URLs are requested, and where: include/exclude rules, remapping and the shard."""

from __future__ import annotations

import re
from dataclasses import dataclass

from linkcheck.model.config import Config
from linkcheck.model.records import host_name
from linkcheck.model.shards import Shard


@dataclass(frozen=True)
class UrlFilter:
    """Compiled include/exclude patterns and remap rules, applied in that order.

    With include patterns, only matching URLs are requested; an URL matching an
    exclude pattern is never requested, unless an include pattern matches it too
    (the more specific wish wins, as in lychee).
    """

    include: tuple[re.Pattern[str], ...]
    exclude: tuple[re.Pattern[str], ...]
    remap: tuple[tuple[re.Pattern[str], str], ...]
    shard: Shard | None = None

    @classmethod
    def from_config(cls, config: Config) -> UrlFilter:
        return cls(
            include=tuple(re.compile(pattern) for pattern in config.include),
            exclude=tuple(re.compile(pattern) for pattern in config.exclude),
            remap=tuple((re.compile(rule.pattern), rule.replacement) for rule in config.remap),
            shard=config.shard,
        )

    def excluded(self, url: str) -> str | None:
        """Why ``url`` is not requested, or None when it is."""
        if any(pattern.search(url) for pattern in self.include):
            return None
        if self.include:
            return "the URL matches no --include pattern"
        for pattern in self.exclude:
            if pattern.search(url):
                return f"the URL matches --exclude {pattern.pattern!r}"
        return None

    def remapped(self, url: str) -> str:
        """The URL to request instead of ``url`` (the first matching rule applies)."""
        for pattern, replacement in self.remap:
            if pattern.search(url):
                return pattern.sub(replacement, url, count=1)
        return url

    def elsewhere(self, url: str) -> str | None:
        """Why ``url`` is left to another shard, or None when this run checks it.

        The owner is decided by the host that would be requested, after --remap,
        so one host's URLs, remapped or not, all go to one shard.
        """
        if self.shard is None:
            return None
        host = host_name(self.remapped(url))
        owner = self.shard.owner(host)
        if owner == self.shard.index:
            return None
        return (
            f"not checked in shard {self.shard}: host {host or '(none)'} belongs to shard "
            f"{owner}/{self.shard.count}"
        )
