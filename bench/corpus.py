"""A deterministic seed corpus for the benchmark, written file by file.

Seed ``i`` is article ``i`` of a slightly larger universe of articles spread over the page
hosts with Zipf-like publisher sizes. Each seed checks its ``webUrl`` and ``ampWebUrl``, one
or two images and up to two related articles (their pages and often their first image).
Related articles and stock photos are drawn with Zipf-like popularity, so the same URLs
recur across many seeds, as in a real feed. About 10% of URLs are broken (404 or 500),
about 5% redirect, and about 2% of images are claimed at the wrong size. Every property
is a hash of the article or image key, so the same arguments give the same files.

    python -m bench.corpus --seeds 2000 --out /tmp/seeds --base http://127.0.0.2:8080 ...
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import hashlib
import itertools
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from bench import server as routes
from bench.images import CATALOGUES, EXTENSIONS, ImageSpec

SEEDS_PER_FOLDER = 1000
_WORDS = (
    "market", "council", "storm", "vaccine", "election", "river", "startup", "court",
    "bridge", "festival", "energy", "school", "league", "drought", "satellite", "museum",
    "railway", "budget", "harbour", "summit", "protest", "orchestra", "wildfire", "airport",
    "factory", "glacier", "hospital", "island",
)  # fmt: skip
_TOPICS = ("Politics", "Science", "Business", "Sport", "Culture", "Health", "Technology", "AI")


@dataclass(frozen=True, slots=True)
class CorpusSpec:
    """What to generate: how many seeds, on which hosts, with which image files."""

    seeds: int
    page_hosts: tuple[str, ...]
    image_hosts: tuple[str, ...]
    images: tuple[ImageSpec, ...]
    salt: str = "bench-v1"
    moved_share: float = 0.05
    gone_share: float = 0.07
    error_share: float = 0.03
    home_share: float = 0.01
    not_found_share: float = 0.01
    plain_amp_share: float = 0.02
    image_gone_share: float = 0.05
    image_error_share: float = 0.02
    mismatch_share: float = 0.02


@dataclass(slots=True)
class CorpusStats:
    """What was written, and what a correct checker should report about it."""

    seeds: int = 0
    checks: int = 0
    unique_urls: int = 0
    unique_images: int = 0
    expected_failed_checks: int = 0
    expected_failed_urls: int = 0
    redirecting_urls: int = 0
    bytes_written: int = 0

    def to_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__slots__}


class Zipf:
    """Draws ranks 0..n-1 with probability proportional to 1 / (rank + 1) ** exponent."""

    def __init__(self, n: int, exponent: float) -> None:
        weights = ((rank + 1) ** -exponent for rank in range(n))
        self._cumulative = list(itertools.accumulate(weights))

    def draw(self, unit: float) -> int:
        """The rank for a uniform draw in [0, 1)."""
        index = bisect.bisect_right(self._cumulative, unit * self._cumulative[-1])
        return min(index, len(self._cumulative) - 1)


def _units(*key: object) -> list[float]:
    """Eight uniform floats in [0, 1) fixed by ``key``."""
    digest = hashlib.blake2b(repr(key).encode(), digest_size=64).digest()
    return [int.from_bytes(digest[i : i + 8], "big") / 2**64 for i in range(0, 64, 8)]


@dataclass(frozen=True, slots=True)
class _Url:
    key: int
    url: str
    failed: bool
    redirect: bool = False


@dataclass(frozen=True, slots=True)
class _Image:
    url: _Url
    width: int
    height: int
    size_ok: bool


class _World:
    """Articles and images as functions of their ids; no per-article table is kept."""

    def __init__(self, spec: CorpusSpec) -> None:
        self.spec = spec
        self.articles = spec.seeds + spec.seeds // 5
        self.stock = max(20, spec.seeds // 20)
        self.host_zipf = Zipf(len(spec.page_hosts), 0.8)
        self.related_zipf = Zipf(self.articles, 0.9)
        self.stock_zipf = Zipf(self.stock, 1.0)
        self.file_weights = list(itertools.accumulate(image.weight for image in spec.images))
        self._stride = 1_000_003 if self.articles % 1_000_003 else 999_983

    def popular_article(self, unit: float) -> int:
        """An article drawn by popularity; ranks are scattered over ids (and so over hosts)."""
        return (self.related_zipf.draw(unit) * self._stride + 7) % self.articles

    def publisher(self, article: int) -> int:
        return self.host_zipf.draw(_units(self.spec.salt, "host", article)[0])

    def page(self, article: int, amp: bool) -> _Url:
        spec = self.spec
        draws = _units(spec.salt, "page", article)
        unit = draws[1 if amp else 0]
        kind = routes.PAGE
        if unit < spec.moved_share:
            kind = routes.MOVED
        elif unit < spec.moved_share + spec.gone_share:
            kind = routes.GONE
        elif unit < spec.moved_share + spec.gone_share + spec.error_share:
            kind = routes.ERROR
        elif unit < spec.moved_share + spec.gone_share + spec.error_share + spec.home_share:
            kind = routes.HOME
        elif unit < 1 - spec.plain_amp_share - spec.not_found_share:
            kind = routes.PAGE
        elif unit < 1 - spec.plain_amp_share:
            kind = routes.NOT_FOUND
        elif amp:
            kind = routes.PLAIN
        base = spec.page_hosts[self.publisher(article)]
        url = f"{base}/{kind}/{article}/{_slug(article)}" + ("?amp=1" if amp else "")
        failed = kind in (routes.GONE, routes.ERROR, routes.HOME, routes.NOT_FOUND, routes.PLAIN)
        return _Url(article * 4 + amp, url, failed, kind == routes.MOVED)

    def image_count(self, article: int) -> int:
        return 2 if _units(self.spec.salt, "images", article)[0] < 0.3 else 1

    def image(self, article: int, index: int) -> _Image:
        """The article's ``index``-th image: its own, or (a quarter of them) a stock photo."""
        spec = self.spec
        draws = _units(spec.salt, "image", article, index)
        if draws[0] < 0.25:
            stock = self.stock_zipf.draw(draws[1])
            name, key = f"s{stock}", stock * 4 + 2
            host = stock % len(spec.image_hosts)
            draws = _units(spec.salt, "stock", stock)
        else:
            name, key = f"a{article}-{index}", (article * 2 + index) * 4 + 3
            host = self.publisher(article) % len(spec.image_hosts)
        file = spec.images[
            min(
                bisect.bisect_right(self.file_weights, draws[2] * self.file_weights[-1]),
                len(spec.images) - 1,
            )
        ]
        kind = routes.IMAGE
        if draws[3] < spec.image_gone_share:
            kind = routes.IMAGE_GONE
        elif draws[3] < spec.image_gone_share + spec.image_error_share:
            kind = routes.IMAGE_ERROR
        ext = EXTENSIONS[file.format]
        url = f"{spec.image_hosts[host]}/{kind}/{file.name}/{name}.{ext}"
        size_ok = draws[4] >= spec.mismatch_share
        height = file.height if size_ok else max(1, file.height // 2)
        failed = kind != routes.IMAGE or not size_ok
        return _Image(_Url(key, url, failed), file.width, height, size_ok)


def write_corpus(spec: CorpusSpec, out_dir: Path, urls_file: Path | None = None) -> CorpusStats:
    """Write ``spec.seeds`` seed files under ``out_dir`` (1,000 per folder) and count them.

    With ``urls_file``, also write each unique URL once, one a line, in first-seen order:
    the same URL set for the peer checkers, which read no seeds.
    """
    with contextlib.ExitStack() as stack:
        listing = stack.enter_context(urls_file.open("w")) if urls_file is not None else None
        return _write_seeds(spec, out_dir, listing)


def _write_seeds(spec: CorpusSpec, out_dir: Path, listing: TextIO | None) -> CorpusStats:
    world = _World(spec)
    stats = CorpusStats()
    seen: set[int] = set()
    failed_urls: set[int] = set()
    for article in range(spec.seeds):
        rng = random.Random(f"{spec.salt}:{article}")
        urls: list[_Url] = []
        text = _seed_text(world, article, rng, urls)
        folder = out_dir / f"{article // SEEDS_PER_FOLDER:03d}"
        if article % SEEDS_PER_FOLDER == 0:
            folder.mkdir(parents=True, exist_ok=True)
        data = text.encode()
        (folder / f"{article:06d}.txt").write_bytes(data)
        stats.seeds += 1
        stats.bytes_written += len(data)
        for url in urls:
            stats.checks += 1
            stats.expected_failed_checks += url.failed
            if url.key not in seen:
                seen.add(url.key)
                stats.unique_images += url.key % 4 >= 2
                stats.redirecting_urls += url.redirect
                if url.failed:
                    failed_urls.add(url.key)
                if listing is not None:
                    listing.write(url.url + "\n")
    stats.unique_urls = len(seen)
    stats.expected_failed_urls = len(failed_urls)
    return stats


def _seed_text(world: _World, article: int, rng: random.Random, urls: list[_Url]) -> str:
    """One seed's text; every checked URL is appended to ``urls`` with its expected outcome."""
    page, amp = world.page(article, False), world.page(article, True)
    urls += (page, amp)
    publisher = world.publisher(article)
    lines = [
        "---",
        "category: news",
        f"title: {_quote(_title(article))}",
        f"excerpt: {_quote(_excerpt(rng))}",
        f"publishedDateTime: {_date(article)}",
        f"originalUrl: {_quote(page.url)}",
        f"webUrl: {_quote(page.url)}",
        f"ampWebUrl: {_quote(amp.url)}",
        "type: article",
        f"quality: {rng.randrange(100)}",
        "heat: -1",
        "published: false",
        "",
        "provider:",
        f"  name: Publisher {publisher}",
        f"  domain: publisher{publisher}.example",
        "",
        "topics:",
        *(f"  - {topic}" for topic in rng.sample(_TOPICS, 2)),
        "",
        "images:",
    ]
    for index in range(world.image_count(article)):
        image = world.image(article, index)
        urls.append(image.url)
        lines += _image_lines(image, "  ")
    related = rng.choices((0, 1, 2), weights=(35, 45, 20))[0]
    if related:
        lines += ["", "related:"]
    for _ in range(related):
        other = world.popular_article(rng.random())
        if other == article:
            other = (other + 1) % world.articles
        other_page, other_amp = world.page(other, False), world.page(other, True)
        urls += (other_page, other_amp)
        other_publisher = world.publisher(other)
        lines += [
            f"  - title: {_quote(_title(other))}",
            f"    excerpt: {_quote(_excerpt(rng))}",
            f"    publishedDateTime: {_date(other)}",
            f"    webUrl: {_quote(other_page.url)}",
            f"    ampWebUrl: {_quote(other_amp.url)}",
            "    type: article",
            "    provider:",
            f"      name: Publisher {other_publisher}",
            f"      domain: publisher{other_publisher}.example",
            f"    quality: {rng.randrange(100)}",
        ]
        if rng.random() < 0.5:
            image = world.image(other, 0)
            urls.append(image.url)
            lines += ["    images:", *_image_lines(image, "      ")]
    lines += ["", f"secured: {_quote(rng.randbytes(240).hex())}", "---", "", _excerpt(rng), ""]
    return "\n".join(lines)


def _image_lines(image: _Image, indent: str) -> list[str]:
    return [
        f"{indent}- url: {_quote(image.url.url)}",
        f"{indent}  width: {image.width}",
        f"{indent}  height: {image.height}",
        f"{indent}  isCached: true",
    ]


def _quote(text: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(text, ensure_ascii=False)


def _slug(article: int) -> str:
    words = [_WORDS[(article * 31 + k * 17) % len(_WORDS)] for k in range(4)]
    return "-".join(words) + f"-{article}"


def _title(article: int) -> str:
    words = [_WORDS[(article * 13 + k * 7) % len(_WORDS)] for k in range(6)]
    return " ".join(words).capitalize() + f" ({article})"


def _excerpt(rng: random.Random) -> str:
    return " ".join(rng.choices(_WORDS, k=30)).capitalize() + "."


def _date(article: int) -> str:
    return f"2021-{1 + article % 12:02d}-{1 + article % 28:02d}T{article % 24:02d}:30:00Z"


def split_hosts(bases: Sequence[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Page hosts and image hosts: a third (at least one) serve images, like publisher CDNs."""
    if len(bases) == 1:
        return tuple(bases), tuple(bases)
    image_count = max(1, len(bases) // 3)
    return tuple(bases[image_count:]), tuple(bases[:image_count])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.corpus", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--seeds", type=int, default=2000)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--base", action="append", required=True, help="host base URL, repeatable")
    parser.add_argument("--images", choices=sorted(CATALOGUES), default="realistic")
    args = parser.parse_args(argv)
    pages, images = split_hosts(args.base)
    spec = CorpusSpec(args.seeds, pages, images, CATALOGUES[args.images])
    print(json.dumps(write_corpus(spec, args.out).to_dict(), indent=1))


if __name__ == "__main__":
    main()
