"""The results store: one SQLite file of outcomes, per-URL history and parsed seeds,
shared between runs.

SQLite through the standard library, in WAL mode with a busy timeout, so two runs
(two CI jobs on one runner, say) can read and write it at once. Writes are buffered
and committed in batches, so a run killed mid-way leaves every batch before it. The
file carries an application id and a schema version: a newer version, or a file
that is damaged, is moved aside with a warning and the run goes on uncached; a file
that is not a SQLite database at all is never touched. Nothing here raises into a
run: a store that fails becomes no store.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from linkcheck.model import codec
from linkcheck.model.config import HISTORY_RUNS
from linkcheck.model.records import Outcome, Seed

Warn = Callable[[str], None]

SCHEMA_VERSION = 2
#: ``PRAGMA application_id``: "LKCH", so another program's database is never taken for ours.
APPLICATION_ID = 0x4C4B4348
SQLITE_MAGIC = b"SQLite format 3\x00"
#: Reads through a memory map this large: a third less time per look-up than copying
#: pages through SQLite's cache (measured on a 17 MB store of 6,101 outcomes).
MMAP_BYTES = 256 * 1024 * 1024
#: Pending writes committed at once; a batch is also committed every FLUSH_SECONDS.
BATCH = 256
FLUSH_SECONDS = 1.0
BUSY_SECONDS = 15.0
#: SQLite primary result codes that mean the file is damaged or not a database.
_CORRUPT_CODES = frozenset({11, 26})  # SQLITE_CORRUPT, SQLITE_NOTADB

#: Step i takes the schema from version i to i + 1.
_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE outcomes (
            image INTEGER NOT NULL, url TEXT NOT NULL, probe TEXT NOT NULL,
            fetched_at REAL NOT NULL, outcome TEXT NOT NULL,
            PRIMARY KEY (image, url)) WITHOUT ROWID""",
        """CREATE TABLE history (
            image INTEGER NOT NULL, url TEXT NOT NULL, run_at REAL NOT NULL,
            verdict TEXT NOT NULL, reason TEXT NOT NULL,
            PRIMARY KEY (image, url, run_at)) WITHOUT ROWID""",
        "CREATE TABLE runs (run_at REAL PRIMARY KEY, finished_at REAL, urls INTEGER)",
    ),
    (
        # One parsed seed per path, under the key of its bytes, settings and code.
        """CREATE TABLE seeds (
            name TEXT PRIMARY KEY, key TEXT NOT NULL, parsed_at REAL NOT NULL,
            seed TEXT NOT NULL) WITHOUT ROWID""",
    ),
)

#: History verdicts that end a failure streak.
_PASSED = ("ok", "warning")


class StoreUnusable(Exception):
    """The file cannot serve as a results store; the message says why."""


#: What fetching an outcome cost (the fetching run's figures, not facts about the URL).
_COSTS = ("requests", "retries", "bytes_read", "elapsed_ms", "queued_ms")
_IMAGE_COSTS = ("requests", "bytes_read")


def _facts_only(data: dict[str, Any]) -> dict[str, Any]:
    """An outcome's dict without its costs (changed in place): a stored outcome is kept and
    read back without them, so serving it from the store costs this run nothing."""
    for name in _COSTS:
        data.pop(name, None)
    image = data.get("image")
    if image is not None:
        for name in _IMAGE_COSTS:
            image.pop(name, None)
    return data


@dataclass(frozen=True, slots=True)
class Stored:
    """One stored outcome: the raw record without costs (:func:`_facts_only`), when it was
    fetched, under which probe settings."""

    outcome: Outcome
    fetched_at: float
    probe: str

    def fresh(self, now: float, max_age: float) -> bool:
        return 0 <= now - self.fetched_at < max_age

    @property
    def has_validators(self) -> bool:
        return bool(self.outcome.etag or self.outcome.last_modified)


@dataclass(frozen=True, slots=True)
class Streak:
    """A URL's runs before this one, newest first: how many failed in a row, and since when."""

    failures: int = 0
    since: float | None = None
    passed_before: bool = False


@dataclass(frozen=True, slots=True)
class Stats:
    """What ``linkcheck cache stats`` shows."""

    path: Path
    bytes: int
    pages: int
    images: int
    oldest: float | None
    newest: float | None
    history_rows: int
    runs: int
    last_run: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "bytes": self.bytes,
            "pages": self.pages,
            "images": self.images,
            "oldest": self.oldest,
            "newest": self.newest,
            "history_rows": self.history_rows,
            "runs": self.runs,
            "last_run": self.last_run,
        }


T = TypeVar("T")

#: Values per statement when reading ahead (SQLite allows 32,766; older builds 999).
_AHEAD_CHUNK = 500


def _chunks(items: list[T], size: int) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _corrupt(exc: BaseException) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(code, int) and code & 0xFF in _CORRUPT_CODES


def move_aside(path: Path) -> Path:
    """Rename the store and its WAL files out of the way; returns the new name of the file."""
    stamp = time.strftime("%Y%m%dT%H%M%S")
    aside = path.with_name(f"{path.name}.broken-{stamp}")
    for suffix in ("", "-wal", "-shm"):
        source = Path(f"{path}{suffix}")
        if source.exists():
            source.replace(Path(f"{aside}{suffix}"))
    return aside


class Store:
    """An open results store. Reads go straight to SQLite; writes wait for the next batch."""

    def __init__(self, connection: sqlite3.Connection, path: Path, warn: Warn) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = connection
        self._warn = warn
        #: Statements not yet committed, with their values (a list: one row each).
        self._pending: list[tuple[str, tuple[Any, ...] | list[tuple[Any, ...]]]] = []
        self._flushed = time.monotonic()
        self._busy_warned = False
        #: Rows read ahead (:meth:`read_seeds_ahead`, :meth:`read_outcomes_ahead`) for the
        #: next look-ups; None: known absent.
        self._outcomes_ahead: dict[tuple[bool, str], tuple[Any, ...] | None] = {}
        self._seeds_ahead: dict[str, tuple[Any, ...] | None] = {}

    # -- opening ------------------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path, warn: Warn, *, busy_seconds: float = BUSY_SECONDS) -> Store | None:
        """The store at ``path`` (made when missing), or None, with a warning, when unusable."""
        try:
            return cls.open_or_raise(path, warn, busy_seconds=busy_seconds)
        except StoreUnusable as exc:
            warn(f"results store {path}: {exc}; this run is not cached")
            return None

    @classmethod
    def open_or_raise(
        cls, path: Path, warn: Warn, *, busy_seconds: float = BUSY_SECONDS, create: bool = True
    ) -> Store:
        """As :meth:`open`, raising StoreUnusable; damaged and newer files are moved aside."""
        _refuse_foreign_file(path)
        if not create and not path.exists():
            raise StoreUnusable("there is no results store here")
        connection: sqlite3.Connection | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            connection = _prepared(path, busy_seconds)
        except StoreUnusable:
            if connection is not None:
                connection.close()
            raise
        except _Newer as exc:
            aside = move_aside(path)
            raise StoreUnusable(f"{exc}; it was moved aside to {aside.name}") from None
        except sqlite3.DatabaseError as exc:
            if connection is not None:
                connection.close()
            if _corrupt(exc):
                aside = move_aside(path)
                raise StoreUnusable(
                    f"the file is damaged ({exc}); moved aside to {aside.name}"
                ) from None
            raise StoreUnusable(f"cannot be used: {exc}") from None
        except OSError as exc:
            if connection is not None:
                connection.close()
            raise StoreUnusable(f"cannot be opened: {exc.strerror or exc}") from None
        return cls(connection, path, warn)

    @property
    def usable(self) -> bool:
        return self._db is not None

    # -- outcomes -----------------------------------------------------------------------------

    def read_seeds_ahead(self, names: Iterable[str]) -> None:
        """Read the parsed seeds of these files with a statement per 500, for :meth:`seed`
        to serve; what an earlier call read and nobody asked for is dropped. (A warm run
        of 2,000 seeds made 8,300 single look-ups; each statement cost more than its row.)"""
        self._seeds_ahead = dict.fromkeys(names)
        for chunk in _chunks(list(self._seeds_ahead), _AHEAD_CHUNK):
            marks = ",".join("?" * len(chunk))
            statement = f"SELECT name, key, seed FROM seeds WHERE name IN ({marks})"
            for name, *row in self._read_all(statement, tuple(chunk)):
                self._seeds_ahead[name] = tuple(row)

    def read_outcomes_ahead(self, keys: Iterable[tuple[bool, str]]) -> None:
        """As :meth:`read_seeds_ahead`, for the outcomes of ``(image, url)`` keys."""
        self._outcomes_ahead = dict.fromkeys(keys)
        for image in (False, True):
            wanted = [url for as_image, url in self._outcomes_ahead if as_image is image]
            for chunk in _chunks(wanted, _AHEAD_CHUNK):
                marks = ",".join("?" * len(chunk))
                statement = (
                    "SELECT url, outcome, fetched_at, probe FROM outcomes "
                    f"WHERE image = ? AND url IN ({marks})"
                )
                for url, *row in self._read_all(statement, (int(image), *chunk)):
                    self._outcomes_ahead[(image, url)] = tuple(row)

    def get(self, image: bool, url: str) -> Stored | None:
        """The stored outcome of a URL probed as an image or not, or None."""
        key = (image, url)
        if key in self._outcomes_ahead:
            row = self._outcomes_ahead.pop(key)
        else:
            row = self._read(
                "SELECT outcome, fetched_at, probe FROM outcomes WHERE image = ? AND url = ?",
                (int(image), url),
            )
        if row is None:
            return None
        try:
            outcome = Outcome.from_dict(_facts_only(codec.loads(row[0])))
        except (ValueError, KeyError, TypeError, AttributeError):
            return None  # a row no reader of this version understands is just a miss
        return Stored(outcome, float(row[1]), str(row[2]))

    def put(self, image: bool, url: str, outcome: Outcome, probe: str, fetched_at: float) -> None:
        data = _facts_only(outcome.to_dict())
        text = codec.dumps(data)
        self._write(
            "INSERT OR REPLACE INTO outcomes (image, url, probe, fetched_at, outcome) "
            "VALUES (?, ?, ?, ?, ?)",
            (int(image), url, probe, fetched_at, text),
        )

    def forget(self, image: bool, url: str) -> None:
        self._write("DELETE FROM outcomes WHERE image = ? AND url = ?", (int(image), url))

    # -- parsed seeds -------------------------------------------------------------------------

    def seed(self, name: str, key: str) -> Seed | None:
        """The seed parsed from the file ``name`` when its key (bytes, settings, code) is
        still ``key``, or None: reading it back is ten times cheaper than parsing it."""
        if name in self._seeds_ahead:
            ahead = self._seeds_ahead.pop(name)
            row = (ahead[1],) if ahead is not None and ahead[0] == key else None
        else:
            row = self._read("SELECT seed FROM seeds WHERE name = ? AND key = ?", (name, key))
        if row is None:
            return None
        try:
            return Seed.from_dict(codec.loads(row[0]))
        except (ValueError, KeyError, TypeError):
            return None

    def keep_seed(self, name: str, key: str, seed: Seed) -> None:
        text = codec.dumps(seed.to_dict())
        self._write(
            "INSERT OR REPLACE INTO seeds (name, key, parsed_at, seed) VALUES (?, ?, ?, ?)",
            (name, key, time.time(), text),
        )

    # -- history ------------------------------------------------------------------------------

    def streak(self, image: bool, url: str) -> Streak:
        """The URL's failure streak over the runs recorded before this one."""
        rows = self._read_all(
            "SELECT run_at, verdict FROM history WHERE image = ? AND url = ? "
            "ORDER BY run_at DESC LIMIT ?",
            (int(image), url, HISTORY_RUNS),
        )
        failures, since = 0, None
        for run_at, verdict in rows:
            if verdict != "failed":
                return Streak(failures, since, verdict in _PASSED)
            failures, since = failures + 1, float(run_at)
        return Streak(failures, since, False)

    def record_run(
        self, run_at: float, verdicts: Iterable[tuple[bool, str, str, str]], finished_at: float
    ) -> None:
        """Append each URL's verdict of this run, keeping the last HISTORY_RUNS per URL."""
        rows = [
            (int(image), url, run_at, verdict, reason) for image, url, verdict, reason in verdicts
        ]
        self._write(
            "INSERT OR REPLACE INTO history (image, url, run_at, verdict, reason) "
            "VALUES (?, ?, ?, ?, ?)",
            rows,
        )
        self.flush()
        # Rows past a URL's newest HISTORY_RUNS go: one scan in key order finds the URLs
        # that have more, and only theirs are trimmed.
        over = self._read_all(
            "SELECT image, url FROM history GROUP BY image, url HAVING count(*) > ?",
            (HISTORY_RUNS,),
        )
        if over:
            self._write(
                "DELETE FROM history WHERE image = ? AND url = ? AND run_at <= ("
                "SELECT run_at FROM history WHERE image = ? AND url = ? "
                "ORDER BY run_at DESC LIMIT 1 OFFSET ?)",
                [(image, url, image, url, HISTORY_RUNS) for image, url in over],
            )
        self._write(
            "INSERT OR REPLACE INTO runs (run_at, finished_at, urls) VALUES (?, ?, ?)",
            (run_at, finished_at, len(rows)),
        )
        self.flush()

    # -- maintenance (linkcheck cache) --------------------------------------------------------

    def stats(self) -> Stats:
        db = self._need()
        pages, images, oldest, newest = db.execute(
            "SELECT coalesce(sum(image = 0), 0), coalesce(sum(image = 1), 0), "
            "min(fetched_at), max(fetched_at) FROM outcomes"
        ).fetchone()
        history = db.execute("SELECT count(*) FROM history").fetchone()[0]
        runs, last = db.execute("SELECT count(*), max(run_at) FROM runs").fetchone()
        size = sum(
            Path(f"{self.path}{suffix}").stat().st_size
            for suffix in ("", "-wal")
            if Path(f"{self.path}{suffix}").exists()
        )
        return Stats(self.path, size, pages, images, oldest, newest, history, runs, last)

    def prune(self, older_than: float, now: float) -> tuple[int, int]:
        """Drop outcomes fetched and history recorded before ``now - older_than``; counts."""
        cutoff = now - older_than
        with self._transaction() as db:
            outcomes = db.execute("DELETE FROM outcomes WHERE fetched_at < ?", (cutoff,)).rowcount
            history = db.execute("DELETE FROM history WHERE run_at < ?", (cutoff,)).rowcount
            db.execute("DELETE FROM runs WHERE run_at < ?", (cutoff,))
            db.execute("DELETE FROM seeds WHERE parsed_at < ?", (cutoff,))
        self._compact()
        return outcomes, history

    def clear(self) -> int:
        """Drop every outcome, history row and run; returns the outcomes dropped."""
        with self._transaction() as db:
            outcomes = db.execute("DELETE FROM outcomes").rowcount
            db.execute("DELETE FROM history")
            db.execute("DELETE FROM runs")
            db.execute("DELETE FROM seeds")
        self._compact()
        return outcomes

    def _compact(self) -> None:
        db = self._need()
        try:
            db.execute("VACUUM")
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.OperationalError:
            pass  # another run has it open: the space is reused later instead

    # -- batching -----------------------------------------------------------------------------

    def flush_if_due(self) -> None:
        if self._pending and (
            len(self._pending) >= BATCH or time.monotonic() - self._flushed >= FLUSH_SECONDS
        ):
            self.flush()

    def flush(self) -> None:
        """Commit the pending writes in one transaction; when the file stays busy, later."""
        self._flushed = time.monotonic()
        if not self._pending or self._db is None:
            return
        pending, self._pending = self._pending, []
        try:
            with self._transaction() as db:
                for statement, values in pending:
                    if isinstance(values, list):
                        db.executemany(statement, values)
                    else:
                        db.execute(statement, values)
        except sqlite3.OperationalError as exc:
            if _corrupt(exc):
                self._fail(exc)
                return
            self._pending = pending + self._pending
            if not self._busy_warned:
                self._busy_warned = True
                self._warn(f"results store {self.path}: busy ({exc}); writing later")
        except sqlite3.DatabaseError as exc:
            self._fail(exc)

    def close(self) -> None:
        """Commit what is pending (waiting for a busy file once more) and close."""
        if self._db is None:
            return
        self.flush()
        if self._pending:
            self._warn(
                f"results store {self.path}: {len(self._pending)} writes were dropped: "
                "the file stayed busy"
            )
        try:
            self._db.close()
        finally:
            self._db = None

    # -- plumbing -----------------------------------------------------------------------------

    def _need(self) -> sqlite3.Connection:
        if self._db is None:
            raise StoreUnusable("the results store is closed")
        return self._db

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        db = self._need()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def _write(self, statement: str, values: tuple[Any, ...] | list[tuple[Any, ...]]) -> None:
        if self._db is None:
            return
        self._pending.append((statement, values))
        self.flush_if_due()

    def _read(self, statement: str, values: tuple[Any, ...]) -> tuple[Any, ...] | None:
        rows = self._read_all(statement, values, one=True)
        return rows[0] if rows else None

    def _read_all(
        self, statement: str, values: tuple[Any, ...], one: bool = False
    ) -> list[tuple[Any, ...]]:
        if self._db is None:
            return []
        try:
            cursor = self._db.execute(statement, values)
            return [cursor.fetchone()] if one else cursor.fetchall()
        except sqlite3.OperationalError as exc:
            if _corrupt(exc):
                self._fail(exc)
            return []  # busy beyond the timeout: this URL is a miss, the run goes on
        except sqlite3.DatabaseError as exc:
            self._fail(exc)
            return []

    def _fail(self, exc: BaseException) -> None:
        """The file broke under this run: stop using it, move it aside if damaged, say so."""
        db, self._db = self._db, None
        self._pending = []
        if db is not None:
            db.close()
        if _corrupt(exc):
            aside = move_aside(self.path)
            self._warn(
                f"results store {self.path}: the file is damaged ({exc}); moved aside to "
                f"{aside.name}; the rest of this run is not cached"
            )
        else:
            self._warn(f"results store {self.path}: {exc}; the rest of this run is not cached")


class _Newer(Exception):
    """The file was written by a newer linkcheck."""


def _refuse_foreign_file(path: Path) -> None:
    """Raise StoreUnusable unless ``path`` is missing, empty, or a SQLite file."""
    try:
        if not path.exists():
            return
        if not path.is_file():
            raise StoreUnusable("not a regular file; left untouched")
        with path.open("rb") as handle:
            head = handle.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise StoreUnusable(f"cannot be read: {exc.strerror or exc}") from None
    if head and head != SQLITE_MAGIC:
        raise StoreUnusable("not a SQLite file; left untouched")


def _prepared(path: Path, busy_seconds: float) -> sqlite3.Connection:
    """A connection to a prepared store, waiting out another run that is preparing it too.

    Switching a new file to WAL takes a lock that SQLite does not wait for through
    its busy handler, so two runs creating the same store at once would see
    "database is locked" at once; the preparation is tried again until the busy
    timeout is spent.
    """
    deadline = time.monotonic() + busy_seconds
    pause = 0.02
    while True:
        connection = sqlite3.connect(
            path, timeout=busy_seconds, isolation_level=None, check_same_thread=False
        )
        try:
            _prepare(connection)
            return connection
        except sqlite3.OperationalError as exc:
            connection.close()
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            if time.monotonic() + pause > deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 0.5)
        except BaseException:
            connection.close()
            raise


def _prepare(db: sqlite3.Connection) -> None:
    """Check the file is ours and current, migrate it, and switch it to WAL mode."""
    # one statement, so one snapshot: read apart, another run's migration could commit
    # between them and its new tables look like another program's under application_id 0
    application, version, tables = db.execute(
        "SELECT (SELECT * FROM pragma_application_id), (SELECT * FROM pragma_user_version), "
        "(SELECT count(*) FROM sqlite_master)"
    ).fetchone()
    if application != APPLICATION_ID and (application != 0 or tables):
        raise StoreUnusable("another program's SQLite database; left untouched")
    if version > SCHEMA_VERSION:
        raise _Newer(
            f"written by a newer linkcheck (schema {version}, this one reads {SCHEMA_VERSION})"
        )
    if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
    if version == SCHEMA_VERSION:
        db.execute("SELECT 1 FROM outcomes LIMIT 1").fetchall()
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        version = db.execute("PRAGMA user_version").fetchone()[0]  # another run may have won
        for step in range(version, SCHEMA_VERSION):
            for statement in _MIGRATIONS[step]:
                db.execute(statement)
        db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
