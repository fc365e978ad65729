"""Every unique URL's fetch in a run: the task under way, then the outcome it gave.

A run asks each URL once however many seeds name it, so it keeps every URL's outcome
until the end. Beyond :data:`KEPT` finished outcomes, the least recently used are moved
out of memory into a private temporary SQLite database (SQLite deletes it when the run
closes it) as JSON rows; a later seed naming such a URL reads its outcome back, and it
is among the recently used again. Tasks under way and transient failures always stay in
memory: the recheck pass goes through those. A run of a few thousand seeds never moves
anything.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections import OrderedDict
from collections.abc import Iterator

from linkcheck.model import codec
from linkcheck.model.records import Outcome

FetchKey = tuple[bool, str]
Entry = asyncio.Task[Outcome] | Outcome

#: Finished outcomes kept in memory (about 1 KB each with their URL and table entry).
KEPT = 20_000
#: Outcomes moved out together, the oldest first.
MOVED_AT_ONCE = 5_000


class Outcomes:
    """The run's table of fetches, by (is an image, URL); pages and images apart, keyed
    by the URL alone, since at 300,000 URLs a key tuple per URL is memory worth sparing."""

    def __init__(self, kept: int | None = None, moved_at_once: int | None = None) -> None:
        self._tables: tuple[dict[str, Entry], dict[str, Entry]] = ({}, {})
        self._recent: OrderedDict[FetchKey, None] = OrderedDict()  # may move out, LRU first
        self._kept = KEPT if kept is None else kept
        self._moved_at_once = max(1, min(moved_at_once or MOVED_AT_ONCE, self._kept))
        self._moved: sqlite3.Connection | None = None
        self._moved_count = 0

    def get(self, key: FetchKey) -> Entry | None:
        entry = self._tables[key[0]].get(key[1])
        if entry is not None:
            if key in self._recent:
                self._recent.move_to_end(key)
            return entry
        if self._moved is None:
            return None
        where = (int(key[0]), key[1])
        row = self._moved.execute(
            "SELECT outcome FROM moved WHERE image = ? AND url = ?", where
        ).fetchone()
        if row is None:
            return None
        self._moved.execute("DELETE FROM moved WHERE image = ? AND url = ?", where)
        self._moved_count -= 1
        outcome = Outcome.from_dict(codec.loads(row[0]))
        self[key] = outcome  # named again: likely to be named once more soon
        return outcome

    def __setitem__(self, key: FetchKey, entry: Entry) -> None:
        self._tables[key[0]][key[1]] = entry
        if isinstance(entry, Outcome) and not entry.transient:
            self._recent[key] = None
            if len(self._recent) > self._kept:
                self._move_out()

    def __delitem__(self, key: FetchKey) -> None:
        """Forget a URL held in memory (a transient failure the recheck pass asks again)."""
        del self._tables[key[0]][key[1]]
        self._recent.pop(key, None)

    def __len__(self) -> int:
        return sum(len(table) for table in self._tables) + self._moved_count

    def under_way(self) -> Iterator[asyncio.Task[Outcome]]:
        """The fetches not finished yet."""
        for table in self._tables:
            for entry in table.values():
                if isinstance(entry, asyncio.Task):
                    yield entry

    def transient(self) -> Iterator[tuple[FetchKey, Outcome]]:
        """The finished fetches that failed in a way another try may change."""
        for as_image, table in enumerate(self._tables):
            for url, entry in table.items():
                if isinstance(entry, Outcome) and entry.transient:
                    yield (bool(as_image), url), entry

    def close(self) -> None:
        """Drop the outcomes moved out (SQLite removes their file)."""
        if self._moved is not None:
            self._moved.close()
            self._moved = None

    def _move_out(self) -> None:
        rows: list[tuple[int, str, str]] = []
        while self._recent and len(rows) < self._moved_at_once:
            (as_image, url), _ = self._recent.popitem(last=False)
            entry = self._tables[as_image].pop(url, None)
            if isinstance(entry, Outcome):
                rows.append((int(as_image), url, codec.dumps(entry.to_dict())))
        if self._moved is None:
            self._moved = _scratch_database()
        self._moved.executemany("INSERT OR REPLACE INTO moved VALUES (?, ?, ?)", rows)
        self._moved_count += len(rows)


def _scratch_database() -> sqlite3.Connection:
    """A private temporary database on disk: no journal, no syncing, gone when closed."""
    db = sqlite3.connect("", isolation_level=None)
    db.execute("PRAGMA journal_mode = OFF")
    db.execute("PRAGMA synchronous = OFF")
    db.execute(
        "CREATE TABLE moved (image INTEGER NOT NULL, url TEXT NOT NULL, outcome TEXT NOT NULL,"
        " PRIMARY KEY (image, url)) WITHOUT ROWID"
    )
    return db
