"""The pipeline: seed files -> targets -> unique URLs fetched once -> checks -> report.

Seeds stream through a bounded window: at most ``seed_window`` seeds are in
flight, their results leave in input order, and each unique URL is fetched
once however many seeds name it. Seeds whose checks failed transiently are
checked again in one recheck pass at the end, so a blip in a long run does not
fail it. A run-wide time limit or a signal stops the run cleanly: unfinished
checks are reported ``skipped`` and the report is still written.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Coroutine, Iterable, Iterator
from contextlib import suppress
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from linkcheck.engine.filters import UrlFilter
from linkcheck.model.config import Config
from linkcheck.model.judge import Policy, judge, judge_skipped, judge_unrequestable
from linkcheck.model.records import Check, Kind, Outcome, Seed, SeedError, SeedResult, Target
from linkcheck.net.fetch import Fetcher, read_and_count
from linkcheck.probes.images import ImageProber
from linkcheck.report.document import Report, Spool, now
from linkcheck.seeds.reader import find_seed_files, read_seed

if TYPE_CHECKING:
    from linkcheck.report.progress import ProgressSink
from linkcheck.model.reasons import Reason, Verdict

FetchKey = tuple[bool, str]
Entry = asyncio.Task[Outcome] | Outcome
Window = asyncio.Queue[tuple[Path, asyncio.Task[tuple[SeedResult, bool]]] | None]

log = logging.getLogger("linkcheck")

_STOP_MESSAGES = {
    Reason.TIMEOUT: "not checked: the run reached its --max-duration",
    Reason.INTERRUPTED: "not checked: the run was interrupted",
}


class Runner:
    """Runs one check of a set of seed files; one instance per run."""

    def __init__(
        self,
        config: Config,
        transport: httpx.AsyncBaseTransport | None = None,
        progress: ProgressSink | None = None,
    ) -> None:
        self.config = config
        self.progress = progress
        self.fetcher = Fetcher(config, transport)
        self.filter = UrlFilter.from_config(config)
        self.policy = Policy.from_config(config)
        self.images = ImageProber(self.fetcher, config)
        self.stopped: Reason | None = None
        self._fetches = _Outcomes()
        self._held: list[tuple[int, Path]] = []

    def stop(self, reason: Reason) -> None:
        """End the run early: no new request starts and unfinished ones are abandoned."""
        if self.stopped is not None:
            return
        self.stopped = reason
        for entry in self._fetches.values():
            if isinstance(entry, asyncio.Task):
                entry.cancel()

    async def run(self, seed_files: Iterable[Path], spool: Spool) -> None:
        """Check every seed and add its result to ``spool`` in input order."""
        loop = asyncio.get_running_loop()
        timer = None
        if self.config.max_duration is not None:
            timer = loop.call_later(self.config.max_duration, self.stop, Reason.TIMEOUT)
        handled = _on_signals(loop, lambda: self.stop(Reason.INTERRUPTED))
        try:
            await self._main_pass(seed_files, spool)
            if self._held and self.stopped is None and self.config.recheck:
                await self._recheck_pass(spool)
        finally:
            if timer is not None:
                timer.cancel()
            for signum in handled:
                loop.remove_signal_handler(signum)
            await self.fetcher.aclose()
        self._summarise(spool)

    async def _main_pass(self, seed_files: Iterable[Path], spool: Spool) -> None:
        window: Window = asyncio.Queue(maxsize=self.config.seed_window)
        writer = asyncio.create_task(self._drain(window, spool))
        try:
            for path in seed_files:
                if self.stopped is not None:
                    break
                seed = self._read(path)
                await window.put((path, asyncio.create_task(self._check_seed(seed))))
                await asyncio.sleep(0)  # let the first fetches start while seeds are read
            await window.put(None)
            await writer
        finally:
            writer.cancel()

    async def _drain(self, window: Window, spool: Spool) -> None:
        index = 0
        while (entry := await window.get()) is not None:
            path, task = entry
            result, transient = await task
            spool.add(result)
            if self.progress is not None:
                self.progress.update(spool.summary)
            if transient:
                self._held.append((index, path))
            index += 1

    async def _recheck_pass(self, spool: Spool) -> None:
        """Fetch every transiently failed URL once more and re-judge the seeds that named it.

        One more try each, without retries: those were spent in the main pass.
        Only the held seeds' paths were kept; they are read again a window at a
        time, so a run with many failures holds no more seeds than any other.
        """
        self.fetcher.retries = 0
        earlier = {
            key: entry
            for key, entry in list(self._fetches.items())
            if isinstance(entry, Outcome) and entry.transient
        }
        for key in earlier:
            del self._fetches[key]
        size = self.config.seed_window
        for start in range(0, len(self._held), size):
            batch = [
                (index, self._read(path)) for index, path in self._held[start : start + size]
            ]
            rechecked = await asyncio.gather(*(self._check_seed(seed) for _, seed in batch))
            if self.stopped is not None:
                return
            for (index, seed), (new, _) in zip(batch, rechecked, strict=True):
                spool.replace(index, self._judge_again(seed, earlier), new)

    def _judge_again(self, seed: Seed, earlier: dict[FetchKey, Outcome]) -> SeedResult:
        """The seed's main-pass result, rebuilt from the outcomes it was judged on."""
        checks = []
        for target in seed.targets:
            check = self._judge_unfetched(target)
            if check is None:
                key = self._key(target)
                entry = earlier.get(key) or self._fetches.get(key)
                assert entry is not None, "every requested URL has an outcome after the main pass"
                fetched = entry if isinstance(entry, Outcome) else entry.result()
                check = self._judge(target, fetched)
            checks.append(check)
        return SeedResult.of(seed, tuple(checks))

    async def _check_seed(self, seed: Seed) -> tuple[SeedResult, bool]:
        """The seed's result, and whether any of its checks failed transiently."""
        outcomes = await asyncio.gather(*(self._check_target(t) for t in seed.targets))
        checks = tuple(check for check, _ in outcomes)
        return SeedResult.of(seed, checks), any(transient for _, transient in outcomes)

    def _judge_unfetched(self, target: Target) -> Check | None:
        """The check of a target that is not requested (bad URL, excluded, run stopped)."""
        if target.problem is not None:
            return judge_unrequestable(target)
        excluded = self.filter.excluded(target.url)
        if excluded is not None:
            return judge_skipped(target, Reason.EXCLUDED, excluded)
        if self.stopped is not None:
            return judge_skipped(target, self.stopped, _STOP_MESSAGES[self.stopped])
        return None

    def _read(self, path: Path) -> Seed:
        """Read one seed; whatever goes wrong becomes that seed's error, never the run's."""
        try:
            return read_seed(path, self.config)
        except Exception as exc:
            log.debug("reading %s failed", path, exc_info=True)
            name = str(path).encode("utf-8", "backslashreplace").decode("utf-8")
            error = SeedError(Reason.INTERNAL, f"internal error: {_one_line(exc)}", None)
            return Seed(name, (), (error,))

    def _judge(self, target: Target, outcome: Outcome) -> Check:
        """Judge one target; a failure of judging becomes that check's verdict."""
        try:
            return judge(target, outcome, self.policy)
        except Exception as exc:
            log.debug("judging %s failed", target.url, exc_info=True)
            return _internal(target, exc, outcome)

    async def _check_target(self, target: Target) -> tuple[Check, bool]:
        """One target's check; no exception of one URL ever leaves this boundary."""
        try:
            return await self._check_target_unguarded(target)
        except Exception as exc:
            log.debug("checking %s failed", target.url, exc_info=True)
            return _internal(target, exc), False

    async def _check_target_unguarded(self, target: Target) -> tuple[Check, bool]:
        unfetched = self._judge_unfetched(target)
        if unfetched is not None:
            return unfetched, False
        entry = self._fetch_once(target)
        if isinstance(entry, Outcome):
            fetched = entry
        else:
            try:
                fetched = await entry
            except asyncio.CancelledError:
                if self.stopped is None or not entry.cancelled():
                    raise
                return judge_skipped(target, self.stopped, _STOP_MESSAGES[self.stopped]), False
        return self._judge(target, fetched), fetched.transient

    def _key(self, target: Target) -> FetchKey:
        return (target.kind is Kind.IMAGE, self.filter.remapped(target.url))

    def _fetch_once(self, target: Target) -> Entry:
        """The outcome for the target's URL, or the one fetch of it under way.

        A finished fetch is kept as its small outcome, not as a task, since
        every unique URL of the run stays in this table.
        """
        key = self._key(target)
        as_image, url = key
        entry = self._fetches.get(key)
        if entry is None:
            fetch: Coroutine[Any, Any, Outcome]
            fetch = self.images.probe(url) if as_image else self._fetch_page(url)
            task = self._fetches[key] = asyncio.create_task(_contained(url, fetch))
            task.add_done_callback(partial(self._settle, key))
            return task
        return entry

    async def _fetch_page(self, url: str) -> Outcome:
        fetched = await self.fetcher.fetch(url, read_and_count, self.config.page_body_bytes)
        return fetched.outcome()

    def _settle(self, key: FetchKey, task: asyncio.Task[Outcome]) -> None:
        if not task.cancelled() and task.exception() is None and self._fetches.get(key) is task:
            self._fetches[key] = task.result()

    def _summarise(self, spool: Spool) -> None:
        counters = self.fetcher.counters
        summary = spool.summary
        summary.urls = len(self._fetches)
        summary.requests = counters.requests
        summary.bytes_downloaded = counters.bytes_read
        summary.hosts_unresolved = len(counters.hosts_unresolved)
        summary.no_host_resolved = (
            counters.network_fetches > 0 and counters.dns_failures == counters.network_fetches
        )
        summary.stopped = self.stopped.value if self.stopped is not None else None
        for name, host in self.fetcher.hosts.hosts.items():
            summary.host(name).update(host.stats.to_dict())


class _Outcomes:
    """Every unique URL's fetch under way, or its outcome once finished.

    Pages and images are kept apart, keyed by the URL alone: at 300,000 URLs a
    key tuple per URL is memory worth sparing.
    """

    def __init__(self) -> None:
        self._tables: tuple[dict[str, Entry], dict[str, Entry]] = ({}, {})

    def get(self, key: FetchKey) -> Entry | None:
        return self._tables[key[0]].get(key[1])

    def __setitem__(self, key: FetchKey, entry: Entry) -> None:
        self._tables[key[0]][key[1]] = entry

    def __delitem__(self, key: FetchKey) -> None:
        del self._tables[key[0]][key[1]]

    def __len__(self) -> int:
        return sum(len(table) for table in self._tables)

    def items(self) -> Iterator[tuple[FetchKey, Entry]]:
        for as_image, table in enumerate(self._tables):
            for url, entry in table.items():
                yield (bool(as_image), url), entry

    def values(self) -> Iterator[Entry]:
        for table in self._tables:
            yield from table.values()


async def _contained(url: str, fetch: Coroutine[Any, Any, Outcome]) -> Outcome:
    """The fetch's outcome; an exception inside becomes an ``internal`` outcome of that URL."""
    try:
        return await fetch
    except Exception as exc:
        log.debug("fetching %s failed", url, exc_info=True)
        return Outcome(url, error=Reason.INTERNAL, message=f"internal error: {_one_line(exc)}")


def _internal(target: Target, exc: BaseException, outcome: Outcome | None = None) -> Check:
    """The failed check of a target whose checking raised ``exc`` (a bug of ours)."""
    return Check(
        target, Verdict.FAILED, Reason.INTERNAL, f"internal error: {_one_line(exc)}", outcome
    )


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())[:200]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _on_signals(loop: asyncio.AbstractEventLoop, stop: Callable[[], None]) -> list[int]:
    """Route SIGINT and SIGTERM to ``stop`` where the platform allows; returns those handled."""
    handled: list[int] = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        with suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, stop)
            handled.append(signum)
    return handled


async def check_async(
    config: Config,
    transport: httpx.AsyncBaseTransport | None = None,
    progress: ProgressSink | None = None,
) -> Report:
    """Check the seeds named by ``config`` and return the report (its spool still readable)."""
    started = now()
    spool = Spool()
    try:
        runner = Runner(config, transport, progress)
        files = find_seed_files(config.paths, config.patterns, on_skip=spool.summary.skip_file)
        await runner.run(files, spool)
    except BaseException:
        spool.close()
        spool.discard()
        raise
    spool.close()
    return Report(started, now(), spool.summary, spool.path, spool.late_path)


def check(
    config: Config,
    transport: httpx.AsyncBaseTransport | None = None,
    progress: ProgressSink | None = None,
) -> Report:
    """Synchronous entry point: run the whole check in a fresh event loop."""
    return asyncio.run(check_async(config, transport, progress))
