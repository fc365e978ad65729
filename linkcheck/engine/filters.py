"""Which URLs are requested, and where: include/exclude rules and remapping."""

from __future__ import annotations

import re
from dataclasses import dataclass

from linkcheck.model.config import Config


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

    @classmethod
    def from_config(cls, config: Config) -> UrlFilter:
        return cls(
            include=tuple(re.compile(pattern) for pattern in config.include),
            exclude=tuple(re.compile(pattern) for pattern in config.exclude),
            remap=tuple((re.compile(rule.pattern), rule.replacement) for rule in config.remap),
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
