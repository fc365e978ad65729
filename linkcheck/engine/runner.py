"""The pipeline: seed files -> targets -> unique URLs fetched once -> checks -> report.

Seeds stream through a bounded window: at most ``seed_window`` seeds are in
flight, their results leave in input order, and each unique URL is fetched
once however many seeds name it. Seeds whose checks failed transiently are
checked again in one recheck pass at the end, so a blip in a long run does not
fail it. A run-wide time limit or a signal stops the run cleanly: unfinished
checks are reported ``skipped`` and the report is still written.

With ``--workers N`` (N > 1) the fetching is done by worker processes
(:mod:`linkcheck.engine.workers`), each running a Runner of its own as its fetching
half (:meth:`Runner.fetch_fresh`, :meth:`Runner.ask`); this process still reads,
dedupes, consults the results store, judges and writes, so reports do not change.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Callable, Coroutine, Iterable, Iterator
from contextlib import suppress
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from linkcheck.engine import memory
from linkcheck.engine.filters import UrlFilter
from linkcheck.engine.outcomes import Entry, FetchKey, Outcomes
from linkcheck.engine.selection import Selection, select_seeds
from linkcheck.engine.workers import Tally, WorkerPool, local_fetches, worker_count
from linkcheck.model.config import Config
from linkcheck.model.judge import Policy, judge, judge_seed, judge_skipped, judge_unrequestable
from linkcheck.model.records import Check, Kind, Outcome, Seed, SeedError, SeedResult, Target
from linkcheck.report.baseline import MAX_RESOLVED, Baseline
from linkcheck.report.document import (
    CheckNotes,
    Report,
    SeedNotes,
    Spool,
    baseline_counts,
    cache_counts,
    now,
)
from linkcheck.seeds.files import display_path
from linkcheck.seeds.reader import find_seed_files, read_seed
from linkcheck.store import Freshness, Store, Streak, probe_key, servable, transient
from linkcheck.store.policy import conditional_headers, revalidated

if TYPE_CHECKING:
    from linkcheck.engine.fetching import LocalFetches
    from linkcheck.report.progress import ProgressSink
from linkcheck.model.reasons import Reason, Verdict

Window = asyncio.Queue[tuple[Path, asyncio.Future[tuple[SeedResult, bool]]] | None]
#: A target's check and whether it failed transiently.
Done = tuple[Check, bool]
#: The fetch a target's check waits for.
Pending = asyncio.Task[Outcome]
Warn = Callable[[str], None]
#: Where a check's outcome came from, with a results store: stored, confirmed by a 304, fetched.
HIT, REVALIDATED, MISS = "hit", "revalidated", "miss"
_WORSE = {Verdict.OK: 0, Verdict.WARNING: 1, Verdict.FAILED: 2}
#: Notes are frozen, so every check shares these (one per check cost 4% of a warm run).
_NO_NOTES = CheckNotes()
_SOURCE_NOTES = {source: CheckNotes(cache=source) for source in (HIT, REVALIDATED, MISS)}

log = logging.getLogger("linkcheck")
#: Seed files read together: with a results store (see Runner._seeds), and the held seeds
#: the recheck pass reads again.
READ_AHEAD = 64

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
        *,
        store: Store | None = None,
        baseline: Baseline | None = None,
    ) -> None:
        self.config = config
        self.progress = progress
        self.store = store
        self.baseline = baseline
        self.run_at = time.time()
        self.freshness = Freshness.from_config(config)
        self._probes = (probe_key(config, image=False), probe_key(config, image=True))
        #: With a store: where each URL's outcome came from, its failure streak before this
        #: run, and its worst verdict of this run (for the history).
        self._sources: dict[FetchKey, str] = {}
        self._streaks: dict[FetchKey, Streak] = {}
        self._verdicts: dict[FetchKey, tuple[Verdict, Reason]] = {}
        self.filter = UrlFilter.from_config(config)
        self.policy = Policy.from_config(config)
        self.stopped: Reason | None = None
        #: The worker processes that fetch, when there are several and no transport is given
        #: (an injected transport, as tests use, cannot cross to another process).
        self.pool: WorkerPool | None = None
        self.fetches: WorkerPool | LocalFetches
        if transport is None and worker_count(config) > 1:
            self.pool = self.fetches = WorkerPool(config, worker_count(config), local_fetches)
        else:  # imported here: a parent of workers needs no HTTP client stack
            from linkcheck.engine.fetching import LocalFetches

            self.fetches = LocalFetches(config, transport)
        self._fetches = Outcomes()
        self._held: list[tuple[int, Path]] = []
        self._rechecking = False

    def stop(self, reason: Reason) -> None:
        """End the run early: no new request starts and unfinished ones are abandoned."""
        if self.stopped is not None:
            return
        self.stopped = reason
        for task in self._fetches.under_way():
            task.cancel()

    async def run(self, seed_files: Iterable[Path], spool: Spool) -> None:
        """Check every seed and add its result to ``spool`` in input order."""
        with memory.collecting_rarely():
            try:
                await self._run(seed_files, spool)
            finally:
                self._fetches.close()

    async def _run(self, seed_files: Iterable[Path], spool: Spool) -> None:
        loop = asyncio.get_running_loop()
        timer = None
        if self.config.max_duration is not None:
            timer = loop.call_later(self.config.max_duration, self.stop, Reason.TIMEOUT)
        handled = _on_signals(loop, lambda: self.stop(Reason.INTERRUPTED))
        if self.store is not None:
            spool.summary.cache = cache_counts()
        if self.baseline is not None:
            spool.summary.baseline = baseline_counts(str(self.baseline.source))
        flusher = asyncio.create_task(self._flush_regularly()) if self.store else None
        trimming = asyncio.create_task(memory.trim_regularly())
        try:
            if self.pool is not None:
                self.pool.start()
            await self._main_pass(seed_files, spool)
            if self._held and self.stopped is None and self.config.recheck:
                await self._recheck_pass(spool)
            self._record_history()
        finally:
            if flusher is not None:
                flusher.cancel()
            trimming.cancel()
            if timer is not None:
                timer.cancel()
            try:
                tally = await self._finish_fetching()
            finally:
                for signum in handled:
                    loop.remove_signal_handler(signum)
        self._summarise(spool, tally)

    async def _finish_fetching(self) -> Tally:
        """Close the fetcher, or stop the workers; what the fetching cost, for the summary."""
        return await self.fetches.finish()

    async def _main_pass(self, seed_files: Iterable[Path], spool: Spool) -> None:
        window: Window = asyncio.Queue(maxsize=self.config.seed_window)
        writer = asyncio.create_task(self._drain(window, spool))
        try:
            for path, seed in self._seeds(seed_files):
                if self.stopped is not None:
                    break
                if self.progress is not None:
                    self.progress.planned(len(seed.targets))
                done = [self._check_target_now(target) for target in seed.targets]
                if not any(isinstance(entry, asyncio.Task) for entry in done):  # no waiting
                    ready = asyncio.get_running_loop().create_future()
                    ready.set_result(self._seed_result(seed, done))
                    await window.put((path, ready))
                    continue
                await window.put((path, asyncio.create_task(self._check_seed(seed, done))))
                await asyncio.sleep(0)  # let the first fetches start while seeds are read
            await window.put(None)
            await writer
        finally:
            writer.cancel()

    def _seeds(self, seed_files: Iterable[Path]) -> Iterator[tuple[Path, Seed]]:
        """Each seed file with its seed, in order. With a store, :data:`READ_AHEAD` files
        at a time: their parsed seeds, then their URLs' outcomes, are asked for at once."""
        if self.store is None:
            for path in seed_files:
                yield path, self._read(path)
            return
        files = iter(seed_files)
        while batch := list(islice(files, READ_AHEAD)):
            self.store.read_seeds_ahead(display_path(path) for path in batch)
            seeds = [self._read(path) for path in batch]
            self.store.read_outcomes_ahead(
                key
                for seed in seeds
                for target in seed.targets
                if target.problem is None and self._fetches.get(key := self._key(target)) is None
            )
            yield from zip(batch, seeds, strict=True)

    async def _drain(self, window: Window, spool: Spool) -> None:
        index = 0
        while (entry := await window.get()) is not None:
            path, task = entry
            result, transient = await task
            result, notes = self._annotate(result)
            spool.add(result, notes)
            if self.progress is not None:
                self.progress.update(spool.summary)
            if transient:
                self._held.append((index, path))
            index += 1

    async def _recheck_pass(self, spool: Spool) -> None:
        """Fetch every transiently failed URL once more and re-judge the seeds that named it.

        One more try each, without retries: those were spent in the main pass. Every
        URL's try starts at once (each host's limits hold as ever); meanwhile the held
        seeds, of which only the paths were kept, are read again :data:`READ_AHEAD` at a
        time and judged as their URLs answer, so a run with many failures holds no more
        seeds than any other and their reading overlaps the waiting.
        """
        self._rechecking = True
        self.fetches.no_retries()
        earlier = {
            key: entry
            for key, entry in list(self._fetches.transient())
            if not self.fetches.budget_spent(key[1])
        }
        if not earlier:
            return  # every transient failure was asked once or spent its budget
        sources = {key: self._sources.get(key, MISS) for key in earlier}
        for key in earlier:
            del self._fetches[key]
            self._verdicts.pop(key, None)
        asked = [self._fetch_key(key) for key in earlier]
        for start in range(0, len(self._held), READ_AHEAD):
            read = [
                (index, self._read(path)) for index, path in self._held[start : start + READ_AHEAD]
            ]
            batch = [
                (index, seed)
                for index, seed in read
                if any(self._key(target) in earlier for target in seed.targets)
            ]
            rechecked = await asyncio.gather(*(self._check_seed(seed) for _, seed in batch))
            if self.stopped is not None:
                return
            for (index, seed), (new, _) in zip(batch, rechecked, strict=True):
                old, old_notes = self._annotate(
                    self._judge_again(seed, earlier), sources, record=False
                )
                new, new_notes = self._annotate(new)
                spool.replace(index, old, new, old_notes, new_notes)
        # none is left running into the fetcher's close, even one no held seed named
        await asyncio.gather(
            *(t for t in asked if isinstance(t, asyncio.Task)), return_exceptions=True
        )

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
        return SeedResult.of(seed, judge_seed(checks, self.policy))

    async def _check_seed(
        self, seed: Seed, done: list[Done | Pending] | None = None
    ) -> tuple[SeedResult, bool]:
        """The seed's result, and whether any of its checks failed transiently.

        ``done`` holds what :meth:`_check_target_now` gave each target: its check, or the
        fetch under way to wait for (a task each only for those).
        """
        if done is None:
            done = [self._check_target_now(target) for target in seed.targets]
        waiting = [(i, entry) for i, entry in enumerate(done) if isinstance(entry, asyncio.Task)]
        if waiting:
            found = await asyncio.gather(
                *(self._check_awaited(seed.targets[i], fetch) for i, fetch in waiting)
            )
            for (index, _), check in zip(waiting, found, strict=True):
                done[index] = check
        return self._seed_result(seed, done)

    def _seed_result(self, seed: Seed, done: list[Done | Pending]) -> tuple[SeedResult, bool]:
        checks = [entry for entry in done if not isinstance(entry, asyncio.Task)]
        result = SeedResult.of(seed, judge_seed((check for check, _ in checks), self.policy))
        return result, any(transient for _, transient in checks)

    def _judge_unfetched(self, target: Target) -> Check | None:
        """The check of a target that is not requested (bad URL, excluded, run stopped)."""
        if target.problem is not None:
            return judge_unrequestable(target)
        excluded = self.filter.excluded(target.url)
        if excluded is not None:
            return judge_skipped(target, Reason.EXCLUDED, excluded)
        elsewhere = self.filter.elsewhere(target.url)
        if elsewhere is not None:
            return judge_skipped(target, Reason.NOT_IN_SHARD, elsewhere)
        if self.stopped is not None:
            return judge_skipped(target, self.stopped, _STOP_MESSAGES[self.stopped])
        return None

    def _read(self, path: Path) -> Seed:
        """Read one seed; whatever goes wrong becomes that seed's error, never the run's."""
        try:
            return read_seed(path, self.config, self.store)
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

    def _check_target_now(self, target: Target) -> Done | Pending:
        """The target's check when it needs no waiting (not requested, or its URL's outcome
        is known or stored), else the fetch under way. A boundary: no exception of one URL
        leaves it (nor :meth:`_check_awaited`)."""
        try:
            unfetched = self._judge_unfetched(target)
            if unfetched is not None:
                return self._counted((unfetched, False))
            entry = self._fetch_once(target)
            if not isinstance(entry, Outcome):
                return entry
            return self._counted((self._judge(target, entry), entry.transient))
        except Exception as exc:
            return self._counted(_failed_check(target, exc))

    async def _check_awaited(self, target: Target, fetch: Pending) -> Done:
        """The target's check once the fetch :meth:`_check_target_now` found is done."""
        try:
            try:
                fetched = await fetch
            except asyncio.CancelledError:
                if self.stopped is None or not fetch.cancelled():
                    raise
                skipped = judge_skipped(target, self.stopped, _STOP_MESSAGES[self.stopped])
                return self._counted((skipped, False))
            return self._counted((self._judge(target, fetched), fetched.transient))
        except Exception as exc:
            return self._counted(_failed_check(target, exc))

    def _counted(self, done: Done) -> Done:
        """``done``, counted by the progress display (the recheck pass is not counted)."""
        if self.progress is not None and not self._rechecking:
            self.progress.checked()
        return done

    def _key(self, target: Target) -> FetchKey:
        return (target.kind is Kind.IMAGE, self.filter.remapped(target.url))

    def _fetch_once(self, target: Target) -> Entry:
        """The outcome for the target's URL, or the one fetch of it under way.

        A finished fetch is kept as its small outcome, not as a task, since
        every unique URL of the run stays in this table.
        """
        return self._fetch_key(self._key(target))

    def _fetch_key(self, key: FetchKey) -> Entry:
        """:meth:`_fetch_once` for a URL's fetch key (remapped URL, page or image)."""
        as_image, url = key
        entry = self._fetches.get(key)
        if entry is None:
            fetch: Coroutine[Any, Any, Outcome]
            if self.store is not None:
                stored = self._from_store(key)
                if isinstance(stored, Outcome):
                    self._fetches[key] = stored
                    return stored
                fetch = stored
            else:
                fetch = self.fetches.fetch_fresh(as_image, url)
            task = self._fetches[key] = asyncio.create_task(_contained(url, fetch))
            task.add_done_callback(partial(self._settle, key))
            return task
        return entry

    def _from_store(self, key: FetchKey) -> Outcome | Coroutine[Any, Any, Outcome]:
        """The URL's outcome from the store when fresh; else the coroutine that confirms
        it with a conditional request or fetches it anew.

        Outcomes that may be transient are never served (:func:`~linkcheck.store.servable`);
        a stale one with validators is asked for with If-None-Match /
        If-Modified-Since, and a 304 keeps its facts (an image's size) with no body read.
        """
        as_image, url = key
        assert self.store is not None
        stored = self.store.get(as_image, url)
        started = time.time()
        usable = stored is not None and stored.probe == self._probes[as_image]
        if stored is not None and usable and servable(stored.outcome):
            if stored.fresh(started, self.freshness.max_age(as_image)):
                self._sources[key] = HIT
                return stored.outcome  # read back without costs: it cost no request
            if stored.has_validators:
                return self._revalidate(key, stored.outcome, started)
        return self._fetch_missing(key, started)

    async def _fetch_missing(self, key: FetchKey, started: float) -> Outcome:
        """A URL the store cannot serve, fetched now and kept."""
        as_image, url = key
        fetched = await self.fetches.fetch_fresh(as_image, url, self._failed_last_run(key))
        self._sources[key] = MISS
        self._keep(key, fetched, started)
        return fetched

    async def _revalidate(self, key: FetchKey, stored: Outcome, started: float) -> Outcome:
        as_image, url = key
        headers = conditional_headers(stored)
        if as_image:
            headers["Range"] = f"bytes=0-{self.config.image_first_bytes - 1}"
        answer = await self.fetches.ask(as_image, url, headers)
        same_place = answer.final_url == (stored.final_url or stored.url)
        if answer.status == 304 and answer.error is None and same_place:
            confirmed = revalidated(stored, answer)
            self._sources[key] = REVALIDATED
            self._keep(key, confirmed, started)
            return confirmed
        if not as_image and answer.status != 304:
            fetched = answer  # the conditional GET was the whole fetch
        else:
            probed = await self.fetches.fetch_fresh(as_image, url, self._failed_last_run(key))
            fetched = replace(
                probed,
                requests=probed.requests + answer.requests,
                retries=probed.retries + answer.retries,
                bytes_read=probed.bytes_read + answer.bytes_read,
                elapsed_ms=round(probed.elapsed_ms + answer.elapsed_ms, 1),
            )
        self._sources[key] = MISS
        self._keep(key, fetched, started)
        return fetched

    def _keep(self, key: FetchKey, outcome: Outcome, fetched_at: float) -> None:
        """Store a final outcome; over one that may be transient keep the older entry (it
        can still be revalidated next time); forget one whose probe itself failed."""
        assert self.store is not None
        as_image, url = key
        if servable(outcome):
            self.store.put(as_image, url, outcome, self._probes[as_image], fetched_at)
        elif not transient(outcome):
            self.store.forget(as_image, url)

    async def _flush_regularly(self) -> None:
        """Commit stored outcomes every second, so a run killed mid-way keeps what it learnt."""
        assert self.store is not None
        while True:
            await asyncio.sleep(1.0)
            self.store.flush_if_due()

    def _annotate(
        self, result: SeedResult, sources: dict[FetchKey, str] | None = None, record: bool = True
    ) -> tuple[SeedResult, SeedNotes | None]:
        """The result with history applied (flaky), and the notes the report adds to it.

        ``sources`` overrides where outcomes came from (the main pass's, for a result
        the recheck pass replaces); ``record`` False leaves this run's history alone.
        """
        if self.store is None and self.baseline is None:
            return result, None
        checks: list[Check] = []
        notes: list[CheckNotes] = []
        for check in result.checks:
            note = _NO_NOTES
            if self.store is not None and check.outcome is not None:
                key = self._key(check.target)
                source = sources.get(key) if sources and key in sources else None
                note = _SOURCE_NOTES[source or self._sources.get(key, MISS)]
                if record:
                    self._remember(key, check)
                if check.verdict is Verdict.FAILED:
                    check, note = self._with_history(key, check, note)
            checks.append(check)
            notes.append(note)
        annotated = replace(result, checks=tuple(checks))
        errors: tuple[str | None, ...] = ()
        if self.baseline is not None:
            states, errors = self.baseline.states(annotated, meet=record)
            notes = [
                replace(note, baseline=state) for note, state in zip(notes, states, strict=True)
            ]
        return annotated, SeedNotes(tuple(notes), errors)

    def _streak(self, key: FetchKey) -> Streak:
        """The URL's failure streak before this run, read from the store once per run."""
        streak = self._streaks.get(key)
        if streak is None:
            assert self.store is not None
            streak = self._streaks[key] = self.store.streak(*key)
        return streak

    def _failed_last_run(self, key: FetchKey) -> bool:
        """Whether the URL failed on the previous run too: it is then asked once, since
        the runs before stand in for retries (a stored outcome is never a failure that
        may be transient, so such a URL always comes here to be fetched)."""
        return self._streak(key).failures > 0

    def _with_history(
        self, key: FetchKey, check: Check, note: CheckNotes
    ) -> tuple[Check, CheckNotes]:
        """A failed check with its streak; a warning ``flaky`` while under --fail-after."""
        streak = self._streak(key)
        count = streak.failures + 1
        since = streak.since if streak.since is not None else self.run_at
        note = replace(note, failing_since=_timestamp(since), consecutive_failures=count)
        limit = self.config.fail_after
        if streak.passed_before and count < limit:
            runs = "run" if count == 1 else f"{count} runs in a row"
            message = (
                f"failed this {runs} after passing, under --fail-after {limit}: "
                f"{check.reason.value}: {check.message}"
            )
            check = Check(check.target, Verdict.WARNING, Reason.FLAKY, message, check.outcome)
        return check, note

    def _remember(self, key: FetchKey, check: Check) -> None:
        """Keep the URL's worst verdict of this run for its history (skipped ones say nothing)."""
        rank = _WORSE.get(check.verdict)
        if rank is None:
            return
        known = self._verdicts.get(key)
        if known is None or rank > _WORSE[known[0]]:
            self._verdicts[key] = (check.verdict, check.reason)

    def _record_history(self) -> None:
        if self.store is None:
            return
        rows = (
            (as_image, url, verdict.value, reason.value)
            for (as_image, url), (verdict, reason) in self._verdicts.items()
        )
        self.store.record_run(self.run_at, rows, time.time())

    def _settle(self, key: FetchKey, task: asyncio.Task[Outcome]) -> None:
        if not task.cancelled() and task.exception() is None and self._fetches.get(key) is task:
            self._fetches[key] = task.result()

    def _summarise(self, spool: Spool, tally: Tally) -> None:
        counters = tally.counters
        summary = spool.summary
        summary.urls = len(self._fetches)
        summary.requests = counters.requests
        summary.bytes_downloaded = counters.bytes_read
        summary.hosts_unresolved = len(counters.hosts_unresolved)
        summary.no_host_resolved = (
            counters.network_fetches > 0 and counters.dns_failures == counters.network_fetches
        )
        summary.stopped = self.stopped.value if self.stopped is not None else None
        if self.baseline is not None and summary.baseline is not None:
            resolved = self.baseline.resolved() if self.stopped is None else []
            summary.baseline["resolved"] = resolved[:MAX_RESOLVED]
            if len(resolved) > MAX_RESOLVED:
                summary.note(f"{len(resolved) - MAX_RESOLVED} more resolved problems not listed")
        for name, stats in tally.hosts.items():
            summary.host(name).update(stats.to_dict())
        if self.pool is not None:
            for note in self.pool.notes:
                summary.note(f"warning: {note}")


def _timestamp(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _failed_check(target: Target, exc: Exception) -> Done:
    """The check of a target whose checking raised: reason ``internal``, logged at -v."""
    log.debug("checking %s failed", target.url, exc_info=True)
    return _internal(target, exc), False


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
    *,
    selection: Selection | None = None,
    baseline: Baseline | None = None,
    warn: Warn | None = None,
) -> Report:
    """Check the seeds named by ``config`` and return the report (its spool still readable).

    ``selection`` and ``baseline`` are read from ``config`` unless given (the CLI reads
    them first, to fail early); ``warn`` hears of a results store that cannot be used.
    Raises SelectionError, or OSError/ValueError for an unreadable baseline, before
    any request.
    """
    started = now()
    if selection is None:
        selection = select_seeds(config)
    if baseline is None and config.baseline is not None:
        baseline = Baseline.load(config.baseline)
    spool = Spool()
    store: Store | None = None

    def warned(text: str) -> None:
        spool.summary.note(f"warning: {text}")
        if warn is not None:
            warn(text)

    try:
        if config.cache is not None and config.use_cache:
            store = Store.open(config.cache, warned)
        runner = Runner(config, transport, progress, store=store, baseline=baseline)
        files: Iterable[Path]
        if selection is not None:
            files = selection.files
            for note in selection.notes:
                spool.summary.note(note)
        else:
            files = find_seed_files(config.paths, config.patterns, on_skip=spool.summary.skip_file)
        await runner.run(files, spool)
    except BaseException:
        spool.close()
        spool.discard()
        raise
    finally:
        if store is not None:
            store.close()
    spool.close()
    return Report(started, now(), spool.summary, spool.path, spool.late_path)


def check(
    config: Config,
    transport: httpx.AsyncBaseTransport | None = None,
    progress: ProgressSink | None = None,
    *,
    selection: Selection | None = None,
    baseline: Baseline | None = None,
    warn: Warn | None = None,
) -> Report:
    """Synchronous entry point: run the whole check in a fresh event loop."""
    return asyncio.run(
        check_async(config, transport, progress, selection=selection, baseline=baseline, warn=warn)
    )
