"""Fetching a page and reading the few facts of its ``<head>`` that pages are judged on.

A page is fetched as before (GET, the first ``page_body_bytes`` of a 2xx body read
within the deadline), but those bytes are now kept and parsed: whether ``<html>``
carries ``amp`` or ``⚡``, the ``<link rel="canonical">`` and ``<link rel="amphtml">``
(absolute, normalised), the ``<title>``, and the text of the first ``<h1>`` (the only
thing read past ``</head>``). Parsing stops there.

The parser is the standard library's :class:`html.parser.HTMLParser`: a tolerant
HTML tokenizer maintained with CPython, fed incrementally so it can stop at
``</head>``; it decodes character references in attributes and text, knows that
``<script>`` and ``<style>`` hold raw text, and adds no native dependency to the
run (lxml's libxml2 HTML parser builds a whole tree we do not need, predates HTML5
tokenizing rules, and would become a runtime dependency).
"""

from __future__ import annotations

import codecs
import re
from dataclasses import replace
from html.parser import HTMLParser
from typing import TYPE_CHECKING
from urllib.parse import urljoin

from linkcheck.model.records import Outcome, PageFacts
from linkcheck.net.fetch import read_prefix
from linkcheck.net.urls import BadUrl, normalize

if TYPE_CHECKING:
    from collections.abc import Mapping

    from linkcheck.model.config import Config
    from linkcheck.net.fetch import Fetcher

#: Longest title or heading kept: enough to judge, short enough to store for every page.
MAX_TEXT = 300
#: Bytes fed to the parser at a time, so that it stops soon after ``</head>`` and ``</h1>``.
FEED_CHARS = 4096

_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]+)""", re.I)
_CONTENT_CHARSET = re.compile(r"charset\s*=\s*[\"']?([a-zA-Z0-9_.:-]+)", re.I)
#: Where the head ends (its end tag, or the body's start tag, whole); the body between
#: it and the first ``<h1`` is skipped unparsed: html.parser is pure Python and a page's
#: 64 KiB of body markup cost more CPU than its whole fetch.
_HEAD_END = re.compile(r"</head\s*>|<body\b[^>]*>", re.I)
_FIRST_H1 = re.compile(r"<h1[\s>]", re.I)
#: How much from the first ``<h1`` is parsed to read the heading.
H1_WINDOW = 4096
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
         (codecs.BOM_UTF16_BE, "utf-16-be"))  # fmt: skip


class PageProber:
    """Fetches page URLs (webUrl, ampWebUrl, cdnAmpWebUrl, originalUrl) with their facts."""

    def __init__(self, fetcher: Fetcher, config: Config) -> None:
        self.fetcher = fetcher
        self.limit = config.page_body_bytes

    async def probe(self, url: str, headers: Mapping[str, str] | None = None) -> Outcome:
        """The page's outcome; ``page`` facts are set for a 2xx answer whose body was read."""
        fetched = await self.fetcher.fetch(url, read_prefix, self.limit, headers=headers)
        outcome = fetched.outcome()
        if fetched.body is None or fetched.error is not None:
            return outcome
        facts = page_facts(fetched.body, fetched.content_type, fetched.final_url or url)
        return replace(outcome, page=facts)


def page_facts(body: bytes, content_type: str | None, base_url: str) -> PageFacts:
    """The facts of a page's first bytes; never raises on what a server sent."""
    media = (content_type or "").split(";")[0].strip().lower()
    if media and media not in _HTML_TYPES and body.lstrip()[:1] != b"<":
        return PageFacts(html=False)
    text = body.decode(_charset(body, content_type), errors="replace").lstrip("\ufeff")
    reader = _HeadReader()
    try:
        for part in _parts(text):
            for start in range(0, len(part), FEED_CHARS):
                reader.feed(part[start : start + FEED_CHARS])
                if reader.done:
                    break
            if reader.done:
                break
        else:
            reader.close()
    except _Stop:
        pass
    except Exception:  # html.parser is tolerant; anything else still leaves what was read
        pass
    base = _absolute(reader.base, base_url) or base_url
    return PageFacts(
        is_amp=reader.is_amp,
        canonical=_absolute(reader.canonical, base),
        amphtml=_absolute(reader.amphtml, base),
        title=_clean(reader.title),
        heading=_clean(reader.heading),
        head_complete=reader.head_done,
    )


def _parts(text: str) -> list[str]:
    """What the parser reads: the head, then a window from the first ``<h1`` on.

    Without a recognisable head end, everything is parsed, as before.
    """
    head_end = _HEAD_END.search(text)
    if head_end is None:
        return [text]
    parts = [text[: head_end.end()]]
    heading = _FIRST_H1.search(text, head_end.end())
    if heading is not None:
        parts.append(text[heading.start() : heading.start() + H1_WINDOW])
    return parts


def _charset(body: bytes, content_type: str | None) -> str:
    """The body's encoding: BOM, then the Content-Type charset, then ``<meta>``, else UTF-8."""
    for bom, name in _BOMS:
        if body.startswith(bom):
            return name
    header = _CONTENT_CHARSET.search(content_type or "")
    meta = _META_CHARSET.search(body[:1024])
    labels = (header.group(1) if header else None, meta.group(1).decode("ascii") if meta else None)
    for label in labels:
        if label is None:
            continue
        try:
            return codecs.lookup(label).name
        except LookupError:
            continue
    return "utf-8"


def _absolute(href: str | None, base: str) -> str | None:
    if href is None:
        return None
    joined = urljoin(base, href.strip())
    try:
        return normalize(joined)
    except BadUrl:
        return joined[:2048]


def _clean(text: list[str] | None) -> str | None:
    if text is None:
        return None
    return " ".join("".join(text).split())[:MAX_TEXT]


class _Stop(Exception):
    """Raised inside the parser once everything wanted has been seen."""


class _HeadReader(HTMLParser):
    """Collects the head facts, then the first ``<h1>``; stops when both are known."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.is_amp = False
        self.seen_html = False
        self.canonical: str | None = None
        self.amphtml: str | None = None
        self.base: str | None = None
        self.title: list[str] | None = None
        self.heading: list[str] | None = None
        self.head_done = False
        self.done = False
        self._in_title = False
        self._in_heading = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "html" and not self.seen_html:
            self.seen_html = True
            names = {name for name, _ in attrs}
            self.is_amp = "amp" in names or "⚡" in names
        elif tag == "link" and not self.head_done:
            self._link(dict(attrs))
        elif tag == "base" and self.base is None:
            self.base = dict(attrs).get("href")
        elif tag == "title" and self.title is None:
            self.title, self._in_title = [], True
        elif tag == "body":
            self.head_done = True
        elif tag == "h1" and self.heading is None:
            self.head_done = True
            self.heading, self._in_heading = [], True

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag == "head":
            self.head_done = True
        elif tag == "h1" and self._in_heading:
            self._in_heading = False
            self.done = True
            raise _Stop

    def handle_data(self, data: str) -> None:
        if self._in_title and self.title is not None and len(self.title) < 64:
            self.title.append(data)
        elif self._in_heading and self.heading is not None and len(self.heading) < 64:
            self.heading.append(data)

    def _link(self, attrs: dict[str, str | None]) -> None:
        rel = (attrs.get("rel") or "").lower().split()
        href = attrs.get("href")
        if href is None:
            return
        if "canonical" in rel and self.canonical is None:
            self.canonical = href
        if "amphtml" in rel and self.amphtml is None:
            self.amphtml = href
