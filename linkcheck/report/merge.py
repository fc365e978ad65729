"""Joining the reports of ``check --shard K/N`` into the report one whole run would write.

Every shard report lists every seed and target; a shard checked only the targets
whose host it owns and reported the others ``skipped``/``not_in_shard``. So the
merge takes, per seed and target, the check of the shard that did it, recounts the
summary from those checks, and sums what the shards spent per host. Reports are
joined only when they are the N distinct shards of one run: same shard count,
same settings where a setting can change a verdict, same seed files, same version.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from linkcheck.model import codec
from linkcheck.model.reasons import Reason
from linkcheck.report.document import SavedReport
from linkcheck.report.formats._common import json_line

NOT_IN_SHARD = Reason.NOT_IN_SHARD.value
#: Reasons of checks that sent no request: a merged report counts them under no host.
_NOT_REQUESTED = frozenset(
    {Reason.INVALID_URL.value, Reason.UNSAFE_URL.value, Reason.EXCLUDED.value, NOT_IN_SHARD}
)
_VERDICTS = ("ok", "warning", "failed", "skipped")
#: Summary keys recounted from the merged checks, or combined by a rule of their own.
_RECOUNTED = frozenset(
    {"seeds", "invalid_seeds", "checks", *_VERDICTS, "reasons", "images",
     "images_end_not_checked", "no_host_resolved", "stopped", "skipped_files", "notes"}
)  # fmt: skip


class MergeError(ValueError):
    """Reports that cannot be joined; the message is one line saying why."""


def merge_reports(reports: Sequence[tuple[str, SavedReport]]) -> SavedReport:
    """The report of the whole run from its shard reports, each named for messages.

    Raises MergeError when the reports are not the N distinct shards of one run.
    """
    if not reports:
        raise MergeError("no report given")
    ordered = _in_shard_order(reports)
    spool = _SeedSpool()
    try:
        counted = _recount(map(spool.add, _merged_seeds(ordered)))
    except BaseException:
        spool.close()
        raise
    summaries = [report.data["summary"] for _, report in ordered]
    header = _timing(ordered)
    header["summary"] = _summary(summaries, counted)
    header["hosts"] = _hosts([report.data.get("hosts") or {} for _, report in ordered])
    header["merged"] = {"shards": len(ordered)}
    header["fingerprint"] = ordered[0][1].data["fingerprint"]
    return _MergedReport(header, spool)


class _SeedSpool:
    """The merged seeds as the JSON report's seed lines, in a temporary file that has no
    name (it is gone when closed or collected), so a merge holds one seed at a time."""

    def __init__(self) -> None:
        handle, name = tempfile.mkstemp(prefix="linkcheck-merge-", suffix=".jsonl")
        os.unlink(name)  # the open file stays readable until it is closed
        self._file = os.fdopen(handle, "w+", encoding="utf-8")

    def add(self, seed: dict[str, Any]) -> dict[str, Any]:
        self._file.write(json_line(seed) + "\n")
        return seed

    def texts(self) -> Iterator[str]:
        self._file.flush()
        self._file.seek(0)
        for line in self._file:
            yield line[:-1]

    def close(self) -> None:
        self._file.close()


class _MergedReport(SavedReport):
    """The merged report: its header in memory, its seeds read back from the spool."""

    def __init__(self, header: dict[str, Any], spool: _SeedSpool) -> None:
        super().__init__(header, lambda: map(codec.loads, spool.texts()))
        self._spool = spool

    def seed_texts(self) -> Iterator[str]:
        """The seed lines as the JSON format writes them: copied, not encoded again."""
        return self._spool.texts()


# -- refusing reports that are not the shards of one run -------------------------------------


def _in_shard_order(reports: Sequence[tuple[str, SavedReport]]) -> list[tuple[str, SavedReport]]:
    """The reports sorted by shard, once each is known to belong to the same run."""
    for name, report in reports:
        if "shard" not in report.data or "fingerprint" not in report.data:
            raise MergeError(
                f"{name} is not a shard report (merge joins reports of check --shard K/N)"
            )
    first_name, first = reports[0]
    count = first.data["shard"]["count"]
    by_index: dict[int, str] = {}
    for name, report in reports:
        shard = report.data["shard"]
        if shard["count"] != count:
            raise MergeError(
                f"{name} is shard {_shard(report)} but {first_name} is shard {_shard(first)}: "
                "different shard counts"
            )
        if shard["index"] > count:
            raise MergeError(f"{name} is shard {_shard(report)}: no such shard")
        _same_run(first_name, first, name, report)
        if shard["index"] in by_index:
            raise MergeError(
                f"{by_index[shard['index']]} and {name} are both shard {_shard(report)}"
            )
        by_index[shard["index"]] = name
    missing = [str(index) for index in range(1, count + 1) if index not in by_index]
    if missing:
        raise MergeError(
            f"shard {', '.join(missing)} of {count} is missing: give one report per shard"
        )
    return sorted(reports, key=lambda item: int(item[1].data["shard"]["index"]))


def _same_run(first_name: str, first: SavedReport, name: str, report: SavedReport) -> None:
    """Raise MergeError naming what differs when ``report`` is not of ``first``'s run."""
    version, first_version = report.data["tool"]["version"], first.data["tool"]["version"]
    if version != first_version:
        raise MergeError(
            f"{name} was written by linkcheck {version}, {first_name} by {first_version}"
        )
    settings = report.data["fingerprint"]["settings"]
    first_settings = first.data["fingerprint"]["settings"]
    for key in sorted(set(settings) | set(first_settings)):
        if settings.get(key) != first_settings.get(key):
            raise MergeError(
                f"{name} was checked with other settings than {first_name}: {key} is "
                f"{_shown(settings.get(key))} there, {_shown(first_settings.get(key))} in "
                f"{first_name}"
            )
    seeds, first_seeds = report.data["fingerprint"]["seeds"], first.data["fingerprint"]["seeds"]
    if seeds != first_seeds:
        raise MergeError(
            f"{name} checked other seed files than {first_name} ({seeds['files']} files, "
            f"sha256 {seeds['sha256'][:12]}, against {first_seeds['files']} files, "
            f"sha256 {first_seeds['sha256'][:12]})"
        )


def _shard(report: SavedReport) -> str:
    shard = report.data["shard"]
    return f"{shard['index']}/{shard['count']}"


def _shown(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "..."


# -- seeds: each target's check from the shard that made it -----------------------------------


def _merged_seeds(ordered: Sequence[tuple[str, SavedReport]]) -> Iterator[dict[str, Any]]:
    """The merged seeds, reading every shard's seeds side by side, one seed at a time."""
    names = [name for name, _ in ordered]
    counts = [report.data["summary"].get("seeds") for _, report in ordered]
    for name, count in zip(names[1:], counts[1:], strict=True):
        if count != counts[0]:
            raise MergeError(f"{name} lists {count} seeds, {names[0]} {counts[0]}")
    streams = [report.seeds() for _, report in ordered]
    done = object()
    while True:
        versions = [
            _next_seed(name, stream, done) for name, stream in zip(names, streams, strict=True)
        ]
        if all(version is done for version in versions):
            return
        if any(version is done for version in versions):
            short = names[versions.index(done)]
            raise MergeError(f"{short} lists fewer seeds than the other shard reports")
        yield _merged_seed(names, versions)  # type: ignore[arg-type]


def _next_seed(name: str, seeds: Iterator[dict[str, Any]], done: object) -> object:
    """The next seed of a shard report, or ``done``; a seed not valid is named with its report."""
    try:
        return next(seeds, done)
    except ValueError as exc:
        raise MergeError(f"{name}: {exc}") from None


def _merged_seed(names: Sequence[str], versions: Sequence[dict[str, Any]]) -> dict[str, Any]:
    first = versions[0]
    path = first["path"]
    for name, seed in zip(names[1:], versions[1:], strict=True):
        if seed["path"] != path or len(seed["checks"]) != len(first["checks"]):
            raise MergeError(f"{name} and {names[0]} differ at seed {path!r}")
    checks = [_owned(names, path, shard_checks) for shard_checks in _by_target(versions)]
    return {**first, "checks": checks}


def _by_target(versions: Sequence[dict[str, Any]]) -> Iterator[tuple[dict[str, Any], ...]]:
    yield from zip(*(seed["checks"] for seed in versions), strict=True)


def _owned(names: Sequence[str], path: str, checks: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The check made by the shard that owns the target; targets no shard requests agree."""
    first = checks[0]
    for name, check in zip(names, checks, strict=True):
        if (check["field"], check["url"]) != (first["field"], first["url"]):
            raise MergeError(f"{name} and {names[0]} differ at {path!r} {first['field']}")
        if check["reason"] != NOT_IN_SHARD:
            return check
    raise MergeError(
        f"no shard checked {path!r} {first['field']}: every report says {NOT_IN_SHARD}"
    )


# -- the summary and hosts of the whole run ----------------------------------------------------


def _summary(summaries: Sequence[dict[str, Any]], counted: dict[str, Any]) -> dict[str, Any]:
    """The first shard's summary with every count recounted or summed over the shards.

    Counts of checks come from the merged checks. What the shards spent (URLs,
    requests, bytes, unresolved hosts, and any count this version does not know)
    is summed: shards fetch disjoint URLs. Files skipped while walking the seed
    folders are the same in every shard, so they come from the first. ``counted``
    is :func:`_recount` of the merged seeds.
    """
    merged: dict[str, Any] = {}
    for key, value in summaries[0].items():
        if key in counted:
            merged[key] = counted[key]
        elif key in _RECOUNTED:
            merged[key] = value
        elif isinstance(value, int) and not isinstance(value, bool):
            merged[key] = sum(int(summary.get(key) or 0) for summary in summaries)
        else:
            merged[key] = value
    for key, value in counted.items():
        merged.setdefault(key, value)
    merged["stopped"] = _stopped(summaries)
    if "no_host_resolved" in merged:
        merged["no_host_resolved"] = _none_resolved(summaries)
    return merged


def _recount(seeds: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The summary counts of these seed results, as :class:`~linkcheck.report.document.Summary`,
    counted in one pass."""
    counts: dict[str, Any] = {"seeds": 0, "invalid_seeds": 0, "checks": 0}
    warned, warnings = False, 0
    counts.update(dict.fromkeys(_VERDICTS, 0))
    reasons: Counter[str] = Counter()
    split = {key: _verdict_counts() for key in _CACHED.values()}
    images: dict[str, Any] = {**_verdict_counts(), "by_is_cached": split}
    end_not_checked = 0
    for seed in seeds:
        counts["seeds"] += 1
        if "warnings" in seed:
            warned, warnings = True, warnings + len(seed["warnings"] or ())
        counts["invalid_seeds"] += 0 if seed["valid"] else 1
        for check in seed["checks"]:
            verdict = check["verdict"]
            counts["checks"] += 1
            counts[verdict] += 1
            reasons[check["reason"]] += 1
            image = check.get("image")
            if check["kind"] != "image" or image is None:
                continue
            cached = _CACHED.get(image.get("is_cached"), "unknown")
            for bucket in (images, images["by_is_cached"][cached]):
                bucket["checked"] += 1
                bucket[verdict] += 1
            if (
                verdict in ("ok", "warning")
                and image.get("integrity") == "not_checked"
                and image.get("notes")
            ):
                end_not_checked += 1
    if warned:
        counts["seed_warnings"] = warnings
    counts["reasons"] = dict(sorted(reasons.items()))
    counts["images"] = images
    counts["images_end_not_checked"] = end_not_checked
    return counts


_CACHED: dict[Any, str] = {True: "true", False: "false", None: "unknown"}


def _verdict_counts() -> dict[str, int]:
    return {"checked": 0, **dict.fromkeys(_VERDICTS, 0)}


def _stopped(summaries: Sequence[dict[str, Any]]) -> str | None:
    """Interrupted when any shard was, else timed out when any shard was, else None."""
    stops = {summary.get("stopped") for summary in summaries}
    for reason in ("interrupted", "timeout"):
        if reason in stops:
            return reason
    return next((str(stop) for stop in stops if stop), None)


def _none_resolved(summaries: Sequence[dict[str, Any]]) -> bool:
    """True when every shard that fetched anything could resolve no host (offline)."""
    fetching = [summary for summary in summaries if summary.get("urls")]
    return bool(fetching) and all(summary.get("no_host_resolved") for summary in fetching)


def _hosts(shards: Sequence[dict[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Each host's entry summed over the shards that asked it.

    Shards own disjoint hosts, so a host is in one shard's report unless a redirect
    led another shard to it. Its counts are then summed, its final concurrency is
    the lowest, and its median latency is the one of the shard that asked it most
    (a median cannot be combined from medians; that one is a real median).
    """
    merged: dict[str, dict[str, Any]] = {}
    for name in sorted({host for hosts in shards for host in hosts}):
        entries = [hosts[name] for hosts in shards if name in hosts]
        merged[name] = _host(entries)
    return merged


def _host(entries: Sequence[dict[str, Any]]) -> dict[str, Any]:
    busiest = max(entries, key=lambda entry: int(entry.get("requests") or 0))
    verdicts: Counter[str] = Counter()
    for entry in entries:
        verdicts.update(entry.get("verdicts") or {})
    host: dict[str, Any] = {}
    for key in dict.fromkeys(key for entry in entries for key in entry):
        values = [entry[key] for entry in entries if key in entry]
        if key == "verdicts":
            host[key] = {v: verdicts[v] for v in _VERDICTS if verdicts[v]}
        elif key == "median_latency_ms":
            host[key] = busiest.get(key)
        elif key == "final_concurrency":
            host[key] = min(values)
        elif key == "remapped_from":
            host[key] = sorted({name for value in values for name in value})
        elif key == "server_wait_s":
            host[key] = round(sum(values), 3)
        elif all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            host[key] = sum(values)
        else:
            host[key] = busiest.get(key, values[0])
    return host


def _timing(ordered: Sequence[tuple[str, SavedReport]]) -> dict[str, Any]:
    """The header's first keys: the earliest start, the latest end, the time between."""
    first = ordered[0][1].data
    started = min(_moment(report.data["started_at"]) for _, report in ordered)
    finished = max(_moment(report.data["finished_at"]) for _, report in ordered)
    return {
        "schema_version": first["schema_version"],
        "tool": first["tool"],
        "started_at": _iso(started),
        "finished_at": _iso(finished),
        "duration_s": round(max((finished - started).total_seconds(), 0.0), 3),
    }


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise MergeError(f"not a date and time: {text[:40]!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
