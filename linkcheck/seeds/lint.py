"""Seed lint: what is wrong in a seed that no request is needed to see.

Run on the front matter's node tree while the seed is read (so ``check`` and
``lint`` report the same findings), each finding a :class:`SeedWarning` with the
value's field path and line. Nothing here touches the network: the registrable
domain comes from the Public Suffix List shipped with ``publicsuffixlist``, the
repair of mojibake from ``ftfy``. Pure but for the clock, which is a parameter.
"""

from __future__ import annotations

import ipaddress
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from urllib.parse import urlsplit

import yaml
from publicsuffixlist import PublicSuffixList

from linkcheck.model.reasons import Reason
from linkcheck.model.records import SeedWarning
from linkcheck.net.urls import BadUrl, host_to_ascii, normalize
from linkcheck.seeds import nodes

#: Text fields that are shown to readers, so double-decoded text in them shows.
TEXT_FIELDS = ("title", "excerpt")
#: A publishedDateTime this far ahead is a mistake, not a clock or time-zone skew
#: (time zones reach UTC+14; a seed written "today" in local time is not future).
FUTURE_GRACE = timedelta(days=1)
#: Characters of context shown on each side of a repair in the message.
_CONTEXT = 24


@lru_cache(maxsize=2)
def _suffixes(only_icann: bool = False) -> PublicSuffixList:
    """The Public Suffix List bundled with the package (read once, never fetched)."""
    return PublicSuffixList(only_icann=only_icann)


def lint_front_matter(
    root: yaml.MappingNode, first_line: int, now: datetime | None = None
) -> tuple[SeedWarning, ...]:
    """Every lint finding of a seed whose front matter is ``root``, in file order.

    ``first_line`` is the file line of the front matter's first line; ``now``
    (default: the current time) decides what is a future date.
    """
    linter = _Linter(first_line, now or datetime.now(UTC))
    linter.article(root, "", top_level=True)
    return tuple(sorted(linter.found, key=lambda found: (found.line or 0, found.field)))


def repair_mojibake(text: str) -> str | None:
    """The text with its mojibake repaired, or None when there is none to repair.

    Only ftfy's encoding fixes are applied: curly quotes, HTML entities, line
    breaks and the like are left as written, since they are not damage.
    """
    if text.isascii():
        return None
    import ftfy  # here, not at the top: 30 ms to import, and runs reading stored seeds skip it

    fixed = ftfy.fix_encoding(text)
    return fixed if fixed != text else None


@lru_cache(maxsize=4096)
def registrable_domain(host: str) -> str:
    """The host's registrable domain by the Public Suffix List (``www.bbc.co.uk`` -> bbc.co.uk).

    An IP address, or a name that is itself a public suffix, stands for itself.
    """
    host = host.lower().rstrip(".")
    try:
        ipaddress.ip_address(host.strip("[]"))
        return host
    except ValueError:
        pass
    return _suffixes().privatesuffix(host) or host


@lru_cache(maxsize=4096)
def domain_matches(domain: str, host: str) -> bool:
    """Whether ``host`` belongs to ``domain``: the same registrable domain, or under it.
    Remembered: a corpus names few publishers on few hosts, each in many seeds.

    Both are ASCII (punycode) and lower case. ``blogspot.com`` (a suffix of the
    list's private section) matches ``news.blogspot.com`` because the host lies
    under it; a registry's suffix (``co.uk``) names no site and matches nothing.
    """
    if _suffixes(only_icann=True).is_public(domain):
        return False
    if host == domain or host.endswith("." + domain):
        return True
    return registrable_domain(host) == registrable_domain(domain)


def _shown_change(old: str, new: str) -> tuple[str, str]:
    """The part of ``old`` that changes and what it becomes, with a little context each side."""
    start = 0
    while start < min(len(old), len(new)) and old[start] == new[start]:
        start += 1
    end = 0
    while end < min(len(old), len(new)) - start and old[-1 - end] == new[-1 - end]:
        end += 1
    before = max(0, start - _CONTEXT)
    prefix = ("…" if before else "") + old[before:start]

    def window(text: str) -> str:
        stop = len(text) - end
        after = min(len(text), stop + _CONTEXT)
        return prefix + text[start:after] + ("…" if after < len(text) else "")

    return window(old), window(new)


def _datetime(value: object) -> datetime | None:
    """The moment a publishedDateTime value names (naive taken as UTC), or None."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    else:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class _Linter:
    def __init__(self, first_line: int, now: datetime) -> None:
        self.first_line = first_line
        self.now = now
        self.found: list[SeedWarning] = []
        self._constructor = yaml.constructor.SafeConstructor()

    def line(self, node: yaml.Node) -> int:
        return int(node.start_mark.line) + self.first_line

    def warn(
        self,
        reason: Reason,
        field: str,
        node: yaml.Node,
        message: str,
        replacement: str | None = None,
    ) -> None:
        self.found.append(SeedWarning(reason, message, self.line(node), field, replacement))

    def article(self, node: yaml.MappingNode, prefix: str, *, top_level: bool) -> None:
        entries = nodes.entries(node)
        for key in TEXT_FIELDS:
            self.mojibake(entries.get(key), prefix + key)
        provider = entries.get("provider")
        if isinstance(provider, yaml.MappingNode):
            provider_entries = nodes.entries(provider)
            self.mojibake(provider_entries.get("name"), f"{prefix}provider.name")
            self.provider_domain(
                provider_entries.get("domain"), entries.get("webUrl"), f"{prefix}provider.domain"
            )
        self.published(entries.get("publishedDateTime"), prefix + "publishedDateTime")
        self.images(entries.get("images"), prefix + "images")
        if top_level:
            own = _url(entries.get("webUrl"))
            for index, item in nodes.mappings(entries.get("related")):
                related = f"related[{index}]."
                self.article(item, related, top_level=False)
                web_url = nodes.entries(item).get("webUrl")
                if own is not None and web_url is not None and _url(web_url) == own:
                    self.warn(
                        Reason.RELATED_IS_ARTICLE,
                        related + "webUrl",
                        web_url,
                        f"{related}webUrl is the article's own webUrl: a seed is not related to "
                        "itself",
                    )

    def mojibake(self, node: yaml.Node | None, field: str) -> None:
        text = nodes.text_of(node)
        if text is None or node is None:
            return
        fixed = repair_mojibake(text)
        if fixed is None:
            return
        was, becomes = _shown_change(text, fixed)
        self.warn(
            Reason.MOJIBAKE,
            field,
            node,
            f"{field} reads {was!r}, text decoded twice; repaired: {becomes!r}",
            fixed,
        )

    def published(self, node: yaml.Node | None, field: str) -> None:
        if node is None or nodes.is_null(node):
            return
        value: object = None
        if isinstance(node, yaml.ScalarNode):
            if nodes.tag(node) == nodes.STR_TAG:
                value = nodes.restore(str(node.value))
            elif nodes.tag(node) == nodes.TIMESTAMP_TAG:
                try:
                    value = self._constructor.construct_object(node, deep=True)
                except Exception:  # an impossible date (2021-02-29) is what is reported
                    self._constructor = yaml.constructor.SafeConstructor()
                    value = None
        moment = _datetime(value)
        written = nodes.restore(str(node.value)) if isinstance(node, yaml.ScalarNode) else ""
        if moment is None:
            shown = repr(written[:40]) if written else "a " + type(node).__name__[:-4].lower()
            self.warn(
                Reason.BAD_DATE,
                field,
                node,
                f"{field} {shown} is not an ISO 8601 date and time (2021-10-01T11:30:00Z)",
            )
        elif moment > self.now + FUTURE_GRACE:
            self.warn(
                Reason.FUTURE_DATE,
                field,
                node,
                f"{field} {written!r} lies in the future (now: {self.now:%Y-%m-%dT%H:%MZ})",
            )

    def provider_domain(
        self, node: yaml.Node | None, web_url: yaml.Node | None, field: str
    ) -> None:
        domain_text = nodes.text_of(node)
        url = _url(web_url)
        if node is None or not domain_text or url is None:
            return
        host = urlsplit(url).hostname or ""
        try:
            domain = host_to_ascii(domain_text.strip().rstrip(".")).lower()
        except BadUrl:
            domain = ""
        if domain and host and domain_matches(domain, host):
            return
        written = urlsplit(nodes.text_of(web_url) or "").hostname or host
        self.warn(
            Reason.PROVIDER_MISMATCH,
            field,
            node,
            f"{field} {domain_text!r} is not the domain of webUrl's host {written!r}",
        )

    def images(self, node: yaml.Node | None, path: str) -> None:
        seen: dict[str, tuple[int, int]] = {}
        for index, item in nodes.mappings(node):
            entries = nodes.entries(item)
            field = f"{path}[{index}]"
            url_node = entries.get("url")
            url = _url(url_node)
            if url_node is not None and url is not None:
                if url in seen:
                    first, line = seen[url]
                    self.warn(
                        Reason.DUPLICATE_IMAGE,
                        field + ".url",
                        url_node,
                        f"{field}.url repeats {path}[{first}].url (line {line})",
                    )
                else:
                    seen[url] = (index, self.line(url_node))
            missing = [side for side in ("width", "height") if _absent(entries.get(side))]
            if missing:
                where = field if len(missing) == 2 else f"{field}.{missing[0]}"
                self.warn(
                    Reason.NO_IMAGE_SIZE,
                    where,
                    item,
                    f"{field} claims no {' or '.join(missing)}: its size goes unchecked",
                )


def _absent(node: yaml.Node | None) -> bool:
    return node is None or nodes.is_null(node)


def _url(node: yaml.Node | None) -> str | None:
    """A URL field's value as it is requested, or None when it is not a usable URL."""
    text = nodes.text_of(node)
    if not text:
        return None
    try:
        return normalize(text)
    except BadUrl:
        return None
