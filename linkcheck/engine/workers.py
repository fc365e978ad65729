"""Worker processes, so a run uses every core: hosts are split among them.

The parent reads seeds, keeps the results store, judges and writes the report; each
worker runs its own event loop and fetcher for the hosts it owns, and answers with
:class:`~linkcheck.model.records.Outcome` records. A host belongs to one worker, by the
stable hash that ``--shard`` uses (of the requested host, after ``--remap``), so each
host's concurrency, interval and Retry-After pauses hold exactly as in one process.

A worker is ``python -c`` importing this module (the same ``linkcheck`` as the parent's),
not a multiprocessing child: spawn and forkserver import the caller's main module again
in every worker, which breaks a library caller's script that has no ``__main__`` guard,
and fork is unsafe in a process with threads and an event loop. Messages are pickled
lists framed by a 4-byte length on a socket pair, the first one carrying the settings;
they are read and written by the event loops on both sides, so neither side ever
blocks on the other. Workers
ignore SIGINT and SIGTERM: the parent stops them (and they stop when the parent goes
away), so an interrupted run still gathers their request counts for the report. A
worker that dies fails the URLs it held with reason ``internal`` and a message naming
its exit; a fresh worker takes over its hosts.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import pickle
import signal
import socket
import struct
import subprocess
import sys
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from linkcheck.engine import memory
from linkcheck.model.config import Config
from linkcheck.model.reasons import Reason
from linkcheck.model.records import Outcome, host_name
from linkcheck.model.shards import host_partition
from linkcheck.net.hosts import Counters, HostStats

log = logging.getLogger("linkcheck")

#: The most worker processes a run starts unless ``--workers`` asks for more.
DEFAULT_MAX_WORKERS = 8
#: Fresh workers started in one slot after its worker died, before its hosts' URLs fail at once.
MAX_RESTARTS = 3
#: How long a worker may take to send its counts and exit once asked.
FINISH_SECONDS = 5.0

_HEADER = struct.Struct("!I")
# Messages: parent -> worker
_FETCH, _ASK, _RECHECK, _FINISH = "fetch", "ask", "recheck", "finish"
# Messages: worker -> parent
_DONE, _TALLY = "done", "tally"


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity), not the machine's count."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def worker_count(config: Config) -> int:
    """``--workers``, or by default one per usable CPU but one, at most 8, at least 1.

    The main process needs a core of its own (it reads seeds, judges and writes the
    report), so a worker per CPU would make the processes fight over cores; on a 2-CPU
    machine the default is one process (two workers measured slower there).
    """
    if config.workers is not None:
        return config.workers
    return max(1, min(DEFAULT_MAX_WORKERS, usable_cpus() - 1))


def owner(host: str, workers: int, config: Config) -> int:
    """The worker (0-based) that fetches ``host``'s URLs.

    The same hash as ``--shard``; inside a shard the hash is split again, so all the
    shard's hosts do not land on one worker: the host's partition of ``shards x
    workers`` is ``shard + shards x worker``.
    """
    shards = config.shard.count if config.shard is not None else 1
    return host_partition(host, shards * workers) // shards


@dataclass
class Tally:
    """What the fetching cost, for the report: run-wide counters and each host's figures."""

    counters: Counters = field(default_factory=Counters)
    hosts: dict[str, HostStats] = field(default_factory=dict)

    def add(self, other: Tally) -> None:
        """Add a worker's tally; a host two workers met (a redirect target) is summed."""
        mine, theirs = self.counters, other.counters
        mine.requests += theirs.requests
        mine.bytes_read += theirs.bytes_read
        mine.network_fetches += theirs.network_fetches
        mine.dns_failures += theirs.dns_failures
        mine.hosts_unresolved |= theirs.hosts_unresolved
        for name, stats in other.hosts.items():
            known = self.hosts.get(name)
            if known is None:
                self.hosts[name] = stats
                continue
            known.requests += stats.requests
            known.retries += stats.retries
            known.latencies_ms.extend(stats.latencies_ms)
            known.server_waits += stats.server_waits
            known.server_wait_s += stats.server_wait_s
            known.rate_limited += stats.rate_limited
            known.limit = min(known.limit, stats.limit)


class Fetches(Protocol):
    """What a worker serves: the fetching half of a run (the runner provides it)."""

    async def fetch_fresh(self, as_image: bool, url: str, once: bool = False) -> Outcome: ...

    async def ask(self, as_image: bool, url: str, headers: Mapping[str, str]) -> Outcome: ...

    def budget_spent(self, url: str) -> bool: ...

    def no_retries(self) -> None: ...

    def tally(self) -> Tally: ...

    async def aclose(self) -> None: ...


#: Makes a worker's fetching half from the run's Config; a module-level function, so that
#: it can be named to a spawned process.
MakeFetches = Callable[[Config], Fetches]


def local_fetches(config: Config) -> Fetches:
    """A worker process's fetching half; the HTTP client stack is imported there only."""
    from linkcheck.engine.fetching import LocalFetches

    return LocalFetches(config)


def share(total: int, workers: int, index: int) -> int:
    """Worker ``index``'s part of a run-wide limit (``--concurrency``): the parts sum to it,
    each at least one."""
    return max(1, total // workers + (1 if index < total % workers else 0))


# -- the worker's side ------------------------------------------------------------------------


def serve(descriptor: int) -> None:
    """A worker process's main: fetch what the parent sends until it says finish or leaves."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    memory.small_tls_buffers()
    with memory.collecting_rarely():
        asyncio.run(_serve(socket.socket(fileno=descriptor)))


async def _serve(channel: socket.socket) -> None:
    reader, writer = await asyncio.open_connection(sock=channel)
    first = await _read(reader)
    if not first:
        return
    (make, config), *early = first  # jobs given before the worker connected share its frame
    fetches = make(config)
    outbox = _Outbox(writer)
    tasks: set[asyncio.Task[None]] = set()
    trimming = asyncio.create_task(memory.trim_regularly())  # the fetching half's buffers

    async def run(kind: str, job: int, as_image: bool, url: str, headers: Any, once: bool) -> None:
        try:
            if kind == _FETCH:
                outcome = await fetches.fetch_fresh(as_image, url, once)
            else:
                outcome = await fetches.ask(as_image, url, headers)
        except Exception as exc:
            log.debug("fetching %s failed in a worker", url, exc_info=True)
            text = " ".join(str(exc).split())[:200]
            message = f"internal error: {type(exc).__name__}" + (f": {text}" if text else "")
            outcome = Outcome(url, error=Reason.INTERNAL, message=message)
        outbox.put((_DONE, job, outcome, fetches.budget_spent(url)))

    try:
        messages: list[tuple[Any, ...]] | None = early
        while messages is not None:
            for message in messages:
                kind = message[0]
                if kind in (_FETCH, _ASK):
                    task = asyncio.create_task(run(*message))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                elif kind == _RECHECK:
                    fetches.no_retries()
                elif kind == _FINISH:
                    for task in tasks:
                        task.cancel()
                    await asyncio.gather(*tasks, return_exceptions=True)
                    outbox.put((_TALLY, fetches.tally()))
                    outbox.flush()
                    await writer.drain()
                    return
            messages = await _read(reader)
    finally:
        trimming.cancel()
        for task in tasks:
            task.cancel()
        await fetches.aclose()
        writer.close()


# -- the parent's side ------------------------------------------------------------------------


class _Outbox:
    """Messages queued in one loop turn, written as one frame at its end (fewer syscalls)."""

    def __init__(self, writer: asyncio.StreamWriter | None) -> None:
        self.writer = writer
        self.messages: list[tuple[Any, ...]] = []

    def put(self, message: tuple[Any, ...]) -> None:
        self.messages.append(message)
        if len(self.messages) == 1 and self.writer is not None:
            asyncio.get_running_loop().call_soon(self.flush)

    def flush(self) -> None:
        if not self.messages or self.writer is None or self.writer.is_closing():
            return
        payload = pickle.dumps(self.messages, protocol=pickle.HIGHEST_PROTOCOL)
        self.messages = []
        self.writer.write(_HEADER.pack(len(payload)) + payload)


async def _read(reader: asyncio.StreamReader) -> list[tuple[Any, ...]] | None:
    """The next frame's messages; None when the other side has gone."""
    try:
        size = _HEADER.unpack(await reader.readexactly(_HEADER.size))[0]
        messages: list[tuple[Any, ...]] = pickle.loads(await reader.readexactly(size))
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    return messages


@dataclass
class _Worker:
    """One worker process as the parent sees it: what it was asked and not yet answered."""

    slot: int
    process: subprocess.Popen[bytes]
    outbox: _Outbox
    pending: dict[int, tuple[asyncio.Future[tuple[Outcome, bool]], str]] = field(
        default_factory=dict
    )
    reading: asyncio.Task[None] | None = None
    tally: asyncio.Future[Tally] | None = None
    gone: bool = False
    #: What became of it, once gone: "worker process 2 (pid 4242) was killed by SIGKILL".
    epitaph: str = ""


class WorkerPool:
    """The worker processes of one run and the jobs each has in hand.

    ``pids`` lists the live workers' process ids (tests kill one). ``notes`` says,
    for the report, which workers died and what that cost.
    """

    def __init__(self, config: Config, count: int, make: MakeFetches) -> None:
        self.config = config
        self.count = count
        self.make = make
        self.notes: list[str] = []
        self._workers: list[_Worker] = []
        self._restarts = [0] * count
        self._ids = itertools.count()
        self._spent: set[str] = set()
        self._rechecking = False
        self._finishing = False
        self._tally = Tally()

    @property
    def pids(self) -> list[int]:
        return [worker.process.pid for worker in self._workers if not worker.gone]

    def start(self) -> None:
        for slot in range(self.count):
            self._workers.append(self._start(slot))

    def _start(self, slot: int) -> _Worker:
        """Start the worker of ``slot``; jobs given before it is connected wait in its outbox."""
        ours, theirs = socket.socketpair()
        # The child starts with these blocked (exec keeps the mask), so Ctrl-C during its
        # start cannot kill it before it ignores them; the parent gets its own on unblocking.
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        try:
            process = subprocess.Popen(
                [sys.executable, "-c", _MAIN, str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                env=_child_environment(),
            )
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
            theirs.close()
        worker = _Worker(slot, process, _Outbox(None))
        worker.outbox.messages.append((self.make, self._worker_config(slot)))
        if self._rechecking:
            worker.outbox.put((_RECHECK,))
        worker.reading = asyncio.create_task(self._serve_replies(worker, ours))
        return worker

    def _worker_config(self, slot: int) -> Config:
        """The run's config with this worker's share of the run-wide limits."""
        return replace(
            self.config,
            max_concurrency=share(self.config.max_concurrency, self.count, slot),
            dns_concurrency=share(self.config.dns_concurrency, self.count, slot),
            workers=1,
        )

    async def fetch_fresh(self, as_image: bool, url: str, once: bool = False) -> Outcome:
        """The worker that owns ``url``'s host fetches it (see :class:`Fetches`)."""
        return await self._job((_FETCH, as_image, url, None, once), url)

    async def ask(self, as_image: bool, url: str, headers: Mapping[str, str]) -> Outcome:
        return await self._job((_ASK, as_image, url, dict(headers), False), url)

    def budget_spent(self, url: str) -> bool:
        return url in self._spent

    def no_retries(self) -> None:
        """The recheck pass: from now on each URL gets one try, in every worker."""
        self._rechecking = True
        for worker in self._workers:
            worker.outbox.put((_RECHECK,))

    async def _job(self, job: tuple[Any, ...], url: str) -> Outcome:
        worker = self._workers[owner(host_name(url), self.count, self.config)]
        if worker.gone:
            return _failed(url, worker.epitaph)
        number = next(self._ids)
        future: asyncio.Future[tuple[Outcome, bool]] = asyncio.get_running_loop().create_future()
        worker.pending[number] = (future, url)
        worker.outbox.put((job[0], number, *job[1:]))
        try:
            outcome, spent = await future
        finally:
            worker.pending.pop(number, None)
        if spent:
            self._spent.add(url)
        else:
            self._spent.discard(url)
        return outcome

    async def _serve_replies(self, worker: _Worker, channel: socket.socket) -> None:
        """Connect to the worker, send what waited, then hand each answer to its asker."""
        reader, writer = await asyncio.open_connection(sock=channel)
        worker.outbox.writer = writer
        worker.outbox.flush()
        while (messages := await _read(reader)) is not None:
            for message in messages:
                if message[0] == _DONE:
                    _, number, outcome, spent = message
                    waiting = worker.pending.get(number)
                    if waiting is not None and not waiting[0].done():
                        waiting[0].set_result((outcome, spent))
                elif message[0] == _TALLY and worker.tally and not worker.tally.done():
                    worker.tally.set_result(message[1])
        await self._lost(worker)

    async def _lost(self, worker: _Worker) -> None:
        """The worker's connection closed: unless asked to finish, it died."""
        worker.gone = True
        worker.outbox.writer = None
        if self._finishing and worker.tally is not None and worker.tally.done():
            return
        how = _exit_text(await asyncio.to_thread(_wait, worker.process))
        pid = worker.process.pid
        held = len(worker.pending)
        text = worker.epitaph = f"worker process {worker.slot + 1} (pid {pid}) {how}"
        log.warning("%s with %d URLs in hand", text, held)
        for future, url in worker.pending.values():
            if not future.done():
                future.set_result((_failed(url, text), False))
        worker.pending.clear()
        if worker.tally is not None and not worker.tally.done():
            worker.tally.set_result(Tally())
        if self._finishing:
            self.notes.append(f"{text} before reporting its hosts' request counts")
            return
        again = self._restarts[worker.slot] < MAX_RESTARTS
        taken = "a fresh worker took over its hosts" if again else "its hosts' URLs failed"
        self.notes.append(
            f"{text}: {held} URLs in its hands failed with reason internal, {taken}; "
            "its request counts are missing from this summary"
        )
        if again:
            self._restarts[worker.slot] += 1
            self._workers[worker.slot] = self._start(worker.slot)

    async def finish(self) -> Tally:
        """Ask every worker for its counts and to exit; wait for them, then make sure."""
        self._finishing = True
        loop = asyncio.get_running_loop()
        for worker in self._workers:
            worker.tally = loop.create_future()
            if worker.gone:
                worker.tally.set_result(Tally())
            else:
                worker.outbox.put((_FINISH,))
                worker.outbox.flush()
        for worker in self._workers:
            assert worker.tally is not None
            try:
                tally = await asyncio.wait_for(asyncio.shield(worker.tally), FINISH_SECONDS)
            except TimeoutError:
                tally = Tally()
                self.notes.append(
                    f"worker process {worker.slot + 1} did not report its counts in time"
                )
            self._tally.add(tally)
        await asyncio.to_thread(self._end_all)
        for worker in self._workers:
            if worker.reading is not None:
                worker.reading.cancel()
                with suppress(asyncio.CancelledError):
                    await worker.reading
        return self._tally

    def _end_all(self) -> None:
        for worker in self._workers:
            if _wait(worker.process) is None:
                worker.process.kill()
                _wait(worker.process)


#: A worker's command: import this module from the parent's ``linkcheck`` and serve.
_MAIN = "import sys; from linkcheck.engine.workers import serve; serve(int(sys.argv[1]))"


def _child_environment() -> dict[str, str]:
    """The environment, with the folder holding this ``linkcheck`` first on the import path."""
    here = str(Path(__file__).resolve().parents[2])
    environment = dict(os.environ)
    known = environment.get("PYTHONPATH")
    environment["PYTHONPATH"] = here + (os.pathsep + known if known else "")
    return environment


def _wait(process: subprocess.Popen[bytes]) -> int | None:
    """The process's exit status once it ends (negative: the signal), None if it lingers."""
    try:
        return process.wait(FINISH_SECONDS)
    except subprocess.TimeoutExpired:
        return None


def _failed(url: str, text: str) -> Outcome:
    return Outcome(url, error=Reason.INTERNAL, message=f"internal error: {text} before answering")


def _exit_text(code: int | None) -> str:
    if code is None:
        return "stopped answering"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"was killed by {name}"
    return f"exited with code {code}"
