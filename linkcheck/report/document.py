"""The report: per-seed results, the run summary, and the versioned JSON form.

Seed results are spooled to a temporary JSON-lines file as they arrive, so a
run over 100,000 seeds never holds them all in memory; the final JSON report is
streamed from that spool and written atomically (temporary file + rename).
"""

from __future__ import annotations

import functools
import json
import os
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from linkcheck._version import __version__
from linkcheck.model import codec
from linkcheck.model.amp import cache_served, is_cache_target
from linkcheck.model.reasons import Reason, Verdict
from linkcheck.model.records import Check, ImageFacts, Integrity, Kind, SeedResult, host_name
from linkcheck.report.formats._common import json_line
from linkcheck.report.formats.json import FORMAT as json_format

#: Reasons of checks that sent no request, so they say nothing about a host.
_NOT_REQUESTED = frozenset(
    {Reason.INVALID_URL, Reason.UNSAFE_URL, Reason.EXCLUDED, Reason.NOT_IN_SHARD}
)

SCHEMA_VERSION = 1
SCHEMA_PATH = Path(__file__).with_name("schema") / "report-v1.schema.json"


#: Notes kept in the report; a folder of 100,000 FIFOs must not make a 100,000-line report.
MAX_NOTES = 100


def _end_not_checked(check: Check) -> bool:
    """Whether an image that passed still has an unchecked file end (a server ignoring Range)."""
    facts = check.outcome.image if check.outcome is not None else None
    return (
        facts is not None
        and check.verdict in (Verdict.OK, Verdict.WARNING)
        and facts.integrity is Integrity.NOT_CHECKED
        and bool(facts.notes)
    )


@dataclass(frozen=True, slots=True)
class CheckNotes:
    """What a run knows of a check beyond its record; each key is in the report only when set.

    ``cache`` says where the outcome came from (``hit``, ``revalidated``, ``miss``) when
    a results store is in use; ``failing_since`` and ``consecutive_failures`` come from
    the store's history; ``baseline`` is ``new`` or ``known`` with ``--baseline``.
    """

    cache: str | None = None
    failing_since: str | None = None
    consecutive_failures: int | None = None
    baseline: str | None = None

    def to_dict(self) -> dict[str, Any]:
        items = (
            ("cache", self.cache),
            ("failing_since", self.failing_since),
            ("consecutive_failures", self.consecutive_failures),
            ("baseline", self.baseline),
        )
        return {key: value for key, value in items if value is not None}


@dataclass(frozen=True, slots=True)
class SeedNotes:
    """The notes of a seed result's checks, and the baseline state of each seed error."""

    checks: tuple[CheckNotes, ...] = ()
    errors: tuple[str | None, ...] = ()


def cache_counts() -> dict[str, int]:
    return {"hit": 0, "revalidated": 0, "miss": 0}


def baseline_counts(report: str) -> dict[str, Any]:
    """The summary's ``baseline`` block: problems new and known, and those since resolved."""
    return {
        "report": report,
        "new": 0,
        "known": 0,
        "known_failed": 0,
        "known_warning": 0,
        "known_invalid_seeds": 0,
        "resolved": [],
    }


def _count_cache_copy(counts: dict[str, Any], check: Check, sign: int) -> None:
    """Count an image's AMP-cache copy (--check-image-cache): asked, served, missing, stale."""
    if check.verdict is Verdict.SKIPPED:
        return
    cache = counts.setdefault("cache", {"checked": 0, "served": 0, "missing": 0, "stale": 0})
    cache["checked"] += sign
    cache["served"] += sign if cache_served(check.outcome) else 0
    cache["missing"] += sign if check.reason is Reason.CACHE_MISSING else 0
    cache["stale"] += sign if check.reason is Reason.CACHE_STALE else 0


#: Seed hosts named beside a host that --remap sent their URLs to; a few are enough.
MAX_REMAPPED_FROM = 20


def _name_seed_host(entry: dict[str, Any], check: Check) -> None:
    """Under --remap, name the seed's own host beside the host actually requested."""
    seed_host = host_name(check.url)
    if seed_host == check.requested_host:
        return
    named: list[str] = entry.setdefault("remapped_from", [])
    if seed_host not in named and len(named) < MAX_REMAPPED_FROM:
        named.append(seed_host)
        named.sort()


def _verdict_counts() -> dict[str, int]:
    return {"checked": 0, "ok": 0, "warning": 0, "failed": 0, "skipped": 0}


def _image_counts() -> dict[str, Any]:
    """Image checks by verdict, in all and split by the seed's isCached claim."""
    split = {key: _verdict_counts() for key in ("true", "false", "unknown")}
    return {**_verdict_counts(), "by_is_cached": split}


@dataclass(slots=True)
class Summary:
    """Run-wide counts; the exit code and every summary line derive from these."""

    seeds: int = 0
    invalid_seeds: int = 0
    #: Lint findings of the seeds (warnings: they fail the run with --fail-on warning).
    seed_warnings: int = 0
    urls: int = 0
    checks: int = 0
    ok: int = 0
    warning: int = 0
    failed: int = 0
    skipped: int = 0
    requests: int = 0
    bytes_downloaded: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    hosts_unresolved: int = 0
    no_host_resolved: bool = False
    stopped: str | None = None
    images: dict[str, Any] = field(default_factory=_image_counts)
    images_end_not_checked: int = 0
    skipped_files: int = 0
    notes: list[str] = field(default_factory=list)
    hosts: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Checks by where their outcome came from; None when no results store was used.
    cache: dict[str, int] | None = None
    #: New, known and resolved problems; None without --baseline.
    baseline: dict[str, Any] | None = None

    def add(self, result: SeedResult, sign: int = 1, notes: SeedNotes | None = None) -> None:
        """Count a seed result in (or, with ``sign=-1``, out again)."""
        self.seeds += sign
        self.invalid_seeds += 0 if result.valid else sign
        self.seed_warnings += sign * len(result.warnings)
        if notes is not None:
            self._add_notes(result, sign, notes)
        for check in result.checks:
            self.checks += sign
            self.reasons[check.reason.value] += sign
            verdict = check.verdict.value
            setattr(self, verdict, getattr(self, verdict) + sign)
            if check.kind is Kind.IMAGE:
                if _end_not_checked(check):
                    self.images_end_not_checked += sign
                is_cached = check.target.is_cached
                cached = "unknown" if is_cached is None else str(is_cached).lower()
                for counts in (self.images, self.images["by_is_cached"][cached]):
                    counts["checked"] += sign
                    counts[verdict] += sign
                if is_cache_target(check.target):
                    _count_cache_copy(self.images["by_is_cached"][cached], check, sign)
            if check.reason not in _NOT_REQUESTED:
                entry = self.host(check.requested_host)
                verdicts = entry["verdicts"]
                verdicts[verdict] = verdicts.get(verdict, 0) + sign
                _name_seed_host(entry, check)
        if sign < 0:
            self.reasons += Counter()  # drops reasons counted out to zero

    def _add_notes(self, result: SeedResult, sign: int, notes: SeedNotes) -> None:
        for check, note in zip(result.checks, notes.checks, strict=False):
            if note.cache is not None and self.cache is not None:
                self.cache[note.cache] = self.cache.get(note.cache, 0) + sign
            if note.baseline is not None and self.baseline is not None:
                self.baseline[note.baseline] += sign
                if note.baseline == "known" and check.verdict.value in ("failed", "warning"):
                    self.baseline[f"known_{check.verdict.value}"] += sign
        if self.baseline is not None:
            for state in notes.errors:
                if state is not None:
                    self.baseline[state] += sign
            if notes.errors and all(state == "known" for state in notes.errors):
                self.baseline["known_invalid_seeds"] += sign

    def note(self, text: str) -> None:
        """Keep one line about something the run chose not to do (bounded)."""
        if len(self.notes) < MAX_NOTES:
            self.notes.append(text)
        elif len(self.notes) == MAX_NOTES:
            self.notes.append("more notes were left out")

    def skip_file(self, path: str, why: str) -> None:
        """Note a file that matched a seed pattern but was not read (a FIFO, a device...)."""
        self.skipped_files += 1
        if len(self.notes) < MAX_NOTES:
            self.notes.append(f"{path}: skipped, {why}")
        elif len(self.notes) == MAX_NOTES:
            self.notes.append("more files were skipped; the count is in skipped_files")

    def host(self, name: str) -> dict[str, Any]:
        """The report entry of one host, made on first use."""
        entry = self.hosts.get(name)
        if entry is None:
            entry = self.hosts[name] = {"verdicts": {}}
        return entry

    def failing(self, fail_on: str = "failed") -> bool:
        """Whether the run should exit non-zero: failures, invalid seeds (and warnings if asked)."""
        return failing(self.to_dict(), fail_on)

    @property
    def passed(self) -> bool:
        return not self.failing()

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        del data["hosts"]
        for key in ("cache", "baseline"):
            if data[key] is None:
                del data[key]
        data["reasons"] = dict(sorted(self.reasons.items()))
        return data


def failing(summary: dict[str, Any], fail_on: str = "failed") -> bool:
    """Whether a run with this summary exits non-zero: new failures, new invalid seeds, and
    new warnings (of checks, and seed lint findings) with ``fail_on`` warning; problems
    known from a baseline do not count."""
    known = summary.get("baseline") or {}
    failed = summary["failed"] - known.get("known_failed", 0)
    invalid = summary["invalid_seeds"] - known.get("known_invalid_seeds", 0)
    warnings = summary["warning"] - known.get("known_warning", 0)
    warned = fail_on == "warning" and warnings + int(summary.get("seed_warnings") or 0) > 0
    return failed > 0 or invalid > 0 or warned


def check_to_dict(check: Check, notes: CheckNotes | None = None) -> dict[str, Any]:
    """A check as the report (schema v1) shows it."""
    outcome = check.outcome
    extra = notes.to_dict() if notes is not None else {}
    return {
        "field": check.field,
        "line": check.line,
        "url": check.url,
        "kind": check.kind.value,
        "verdict": check.verdict.value,
        "reason": check.reason.value,
        "message": check.message,
        "http_status": outcome.status if outcome else None,
        "final_url": outcome.final_url if outcome else None,
        "redirects": [hop.to_dict() for hop in outcome.redirects] if outcome else [],
        "elapsed_ms": outcome.elapsed_ms if outcome else 0.0,
        "queued_ms": outcome.queued_ms if outcome else 0.0,
        "image": image_block(check),
        **extra,
    }


def image_block(check: Check) -> dict[str, Any] | None:
    """The image facts of an image check beside what its seed claims; None for pages."""
    target = check.target
    if target.kind is not Kind.IMAGE:
        return None
    outcome = check.outcome
    facts = (outcome.image if outcome else None) or ImageFacts()
    return {
        "format": facts.format,
        "width": facts.width,
        "height": facts.height,
        "claimed_width": target.claimed_width,
        "claimed_height": target.claimed_height,
        "is_cached": target.is_cached,
        "bytes_read": outcome.bytes_read if outcome else 0,
        "displayed_width": facts.displayed_width,
        "displayed_height": facts.displayed_height,
        "orientation": facts.orientation,
        "content_type": facts.content_type,
        "requests": facts.requests,
        "range_honoured": facts.range_honoured,
        "total_bytes": facts.total_bytes,
        "integrity": facts.integrity.value,
        "notes": list(facts.notes),
    }


def seed_to_dict(result: SeedResult, notes: SeedNotes | None = None) -> dict[str, Any]:
    checks = notes.checks if notes is not None else ()
    states = notes.errors if notes is not None else ()
    errors = []
    for index, error in enumerate(result.errors):
        shown: dict[str, Any] = {
            "reason": error.reason.value, "message": error.message, "line": error.line
        }  # fmt: skip
        state = states[index] if index < len(states) else None
        if state is not None:
            shown["baseline"] = state
        errors.append(shown)
    shown_seed: dict[str, Any] = {
        "path": result.path,
        "title": result.title,
        "valid": result.valid,
        "errors": errors,
        "warnings": [warning.to_dict() for warning in result.warnings],
        "checks": [
            check_to_dict(check, checks[index] if index < len(checks) else None)
            for index, check in enumerate(result.checks)
        ],
    }
    if result.sha256 is not None:
        shown_seed["sha256"] = result.sha256
    return shown_seed


@dataclass
class Report:
    """A finished (or stopped) run: metadata, summary and the spooled seed results.

    ``late`` holds seed results replaced by the recheck pass, each line prefixed
    by the index of the seed it replaces, in index order.
    """

    started_at: datetime
    finished_at: datetime
    summary: Summary
    spool: Path
    late: Path | None = None
    #: More top-level keys of the report (``shard``, ``fingerprint`` of a sharded run).
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        return round((self.finished_at - self.started_at).total_seconds(), 3)

    def seeds(self) -> Iterator[dict[str, Any]]:
        """The seed results in input order, as their JSON objects."""
        for line in self._lines():
            yield codec.loads(line)

    def seed_texts(self) -> Iterator[str]:
        """The seed results as the JSON report writes them (:func:`json_line`, one line each):
        the spool holds them so, and the report copies them rather than decode and encode."""
        return self._lines()

    def _lines(self) -> Iterator[str]:
        """Spooled JSON lines in input order, rechecked results in place of the first ones."""
        with ExitStack() as stack:
            lines = stack.enter_context(self.spool.open(encoding="utf-8"))
            late = stack.enter_context(self.late.open(encoding="utf-8")) if self.late else None
            pending = _late_entry(late)
            for index, line in enumerate(lines):
                if pending is not None and pending[0] == index:
                    yield pending[1]
                    pending = _late_entry(late)
                else:
                    yield line.rstrip("\n")

    def header(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "tool": {"name": "linkcheck", "version": __version__},
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
            "duration_s": self.duration_s,
            "summary": self.summary.to_dict(),
            "hosts": dict(sorted(self.summary.hosts.items())),
            **self.extra,
        }

    def save(self, path: Path) -> None:
        """Write the JSON report to ``path`` atomically."""
        write_atomically(path, lambda stream: json_format.render(self, stream))

    def discard(self) -> None:
        """Remove the spool files; the report cannot be read afterwards."""
        self.spool.unlink(missing_ok=True)
        if self.late is not None:
            self.late.unlink(missing_ok=True)


def _late_entry(lines: IO[str] | None) -> tuple[int, str] | None:
    line = lines.readline() if lines is not None else ""
    if not line:
        return None
    index, _, text = line.partition("\t")
    return int(index), text.rstrip("\n")


class Spool:
    """Appends seed results as JSON lines while keeping the summary up to date."""

    def __init__(self, directory: Path | None = None) -> None:
        handle, name = tempfile.mkstemp(prefix="linkcheck-", suffix=".jsonl", dir=directory)
        self.path = Path(name)
        self._file = os.fdopen(handle, "w", encoding="utf-8")
        self._late: IO[str] | None = None
        self.late_path: Path | None = None
        self.summary = Summary()

    def add(self, result: SeedResult, notes: SeedNotes | None = None) -> None:
        self.summary.add(result, notes=notes)
        self._file.write(json_line(seed_to_dict(result, notes)))
        self._file.write("\n")

    def replace(
        self,
        index: int,
        old: SeedResult,
        new: SeedResult,
        old_notes: SeedNotes | None = None,
        new_notes: SeedNotes | None = None,
    ) -> None:
        """Put ``new`` in place of the result at ``index``; calls must come in index order."""
        if self._late is None:
            handle, name = tempfile.mkstemp(prefix="linkcheck-late-", suffix=".jsonl")
            self.late_path = Path(name)
            self._late = os.fdopen(handle, "w", encoding="utf-8")
        self.summary.add(old, sign=-1, notes=old_notes)
        self.summary.add(new, notes=new_notes)
        text = json_line(seed_to_dict(new, new_notes))
        self._late.write(f"{index}\t{text}\n")

    def close(self) -> None:
        self._file.close()
        if self._late is not None:
            self._late.close()

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)
        if self.late_path is not None:
            self.late_path.unlink(missing_ok=True)


def write_atomically(path: Path, write: Callable[[IO[str]], None]) -> None:
    """Create ``path`` through a temporary file and a rename, so readers never see half of it."""
    directory = path.parent if str(path.parent) else Path(".")
    directory.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            write(stream)
        os.chmod(name, 0o644)
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def now() -> datetime:
    return datetime.now(UTC)


@dataclass
class SavedReport:
    """A JSON report read back from disk, for ``linkcheck report`` (no network access).

    ``data`` is the whole report, or only its header when the seeds are read from
    ``seed_source`` each time :meth:`seeds` is called (:meth:`stream`, and a merge).
    """

    data: dict[str, Any]
    seed_source: Callable[[], Iterator[dict[str, Any]]] | None = field(default=None, repr=False)

    @classmethod
    def load(cls, path: Path) -> SavedReport:
        """Read and validate a report against the shipped schema before anything uses it.

        Raises OSError when it cannot be read and ValueError, in one line naming the
        first schema error, when it is not a linkcheck report of this schema version.
        """
        text = path.read_bytes()
        try:
            data = json.loads(text.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise ValueError(f"not a linkcheck report: not UTF-8 ({exc.reason})") from None
        except RecursionError:
            raise ValueError("not a linkcheck report: JSON nested too deeply") from None
        except ValueError as exc:
            raise ValueError(f"not a linkcheck report: not JSON ({exc})") from None
        return cls(validate_report(data))

    @classmethod
    def stream(cls, path: Path) -> SavedReport:
        """The report with its header read and validated now, and its seeds read one at a
        time, each validated, whenever :meth:`seeds` is iterated: memory stays that of one
        seed, whatever the report's size.

        That takes the layout linkcheck writes (one seed per line); any other layout of
        valid JSON is read whole by :meth:`load`. Iterating the seeds raises ValueError,
        naming the seed, at the first one that is not valid.
        """
        layout = _seed_lines_layout(path)
        if layout is None:
            return cls.load(path)
        header, offset = layout
        validate_report({**header, "seeds": []})
        return cls(header, lambda: _streamed_seeds(path, offset))

    @property
    def stopped(self) -> str | None:
        """Why the saved run stopped early (``interrupted``, ``timeout``), or None."""
        stopped = self.data["summary"].get("stopped")
        return stopped if isinstance(stopped, str) else None

    def header(self) -> dict[str, Any]:
        return {key: value for key, value in self.data.items() if key != "seeds"}

    def seeds(self) -> Iterator[dict[str, Any]]:
        if self.seed_source is not None:
            yield from self.seed_source()
            return
        yield from self.data.get("seeds") or ()

    def failing(self, fail_on: str = "failed") -> bool:
        """Whether ``check`` exited non-zero for this run (:meth:`Summary.failing`)."""
        return failing(self.data["summary"], fail_on)


#: How the JSON format lays out the seeds: this line, then one seed per line, then the end.
_SEEDS_OPEN, _SEEDS_CLOSE, _SEED_INDENT = b' "seeds": [\n', (b" ]\n", b"}\n"), b"  "


def _seed_lines_layout(path: Path) -> tuple[dict[str, Any], int] | None:
    """The header and the byte offset of the first seed line, when ``path`` is laid out as
    linkcheck writes a report; None for any other layout (or text that is not JSON)."""
    head: list[bytes] = []
    with path.open("rb") as stream:
        for line in stream:
            if line == _SEEDS_OPEN:
                break
            head.append(line)
        else:
            return None
        offset = stream.tell()
    if not head or not head[-1].endswith(b",\n"):
        return None
    head[-1] = head[-1][:-2] + b"\n"
    try:
        header = json.loads(b"".join(head).decode("utf-8") + "}")
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    return (header, offset) if isinstance(header, dict) and "seeds" not in header else None


def _streamed_seeds(path: Path, offset: int) -> Iterator[dict[str, Any]]:
    check = _SeedCheck()
    with path.open("rb") as stream:
        stream.seek(offset)
        index = 0
        for line in stream:
            if line.startswith(_SEED_INDENT):
                text = line[len(_SEED_INDENT) :].rstrip(b"\n")
                text = text[:-1] if text.endswith(b",") else text
                try:
                    seed = codec.loads(text)
                except (ValueError, RecursionError):
                    raise ValueError(f"not a linkcheck report: seed {index} is not JSON") from None
                yield check(seed, index)
                index += 1
            elif line == _SEEDS_CLOSE[0]:
                if stream.readline() == _SEEDS_CLOSE[1] and not stream.read(1):
                    return
                break
            else:
                break
    raise ValueError("not a linkcheck report: its seeds end without closing the report")


class _SeedCheck:
    """One seed of a streamed report against the schema's seed definition."""

    def __init__(self) -> None:
        import jsonschema_rs

        schema = _schema()
        self.schema = {key: schema[key] for key in ("$schema", "$defs")}
        self.schema["$ref"] = "#/$defs/seed"
        self.fast = jsonschema_rs.validator_for(self.schema, validate_formats=False)

    def __call__(self, seed: Any, index: int) -> dict[str, Any]:
        try:
            if self.fast.is_valid(seed) and isinstance(seed, dict):
                return seed
        except ValueError:
            pass  # a value jsonschema-rs cannot take: the jsonschema package judges it
        error = _first_error(self.schema, seed)
        if error is None:
            assert isinstance(seed, dict)
            return seed
        where, message = error
        raise ValueError(
            f"not a linkcheck report of schema version {SCHEMA_VERSION}: "
            f"$.seeds[{index}]{where[1:]}: {message}"
        )


def validate_report(data: object) -> dict[str, Any]:
    """``data`` when it is a report of the shipped schema; else ValueError with the first error."""
    if isinstance(data, dict) and data.get("schema_version") not in (None, SCHEMA_VERSION):
        version = str(data["schema_version"])[:20]
        raise ValueError(
            f"not a linkcheck report of schema version {SCHEMA_VERSION} (it says {version})"
        )
    schema = _schema()
    error = None if _shown_valid(schema, data) else _first_error(schema, data)
    if error is not None:
        where, message = error
        raise ValueError(
            f"not a linkcheck report of schema version {SCHEMA_VERSION}: {where}: {message}"
        )
    assert isinstance(data, dict)
    return data


@functools.cache
def _schema() -> dict[str, Any]:
    """The shipped report schema, read once per process (callers do not change it)."""
    schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return schema


def _first_error(schema: dict[str, Any], data: object) -> tuple[str, str] | None:
    """Where and what the first schema error is, by the ``jsonschema`` package; None if valid."""
    import jsonschema  # imported here: only a report that may be invalid needs it

    schema = _inline_refs(schema, schema.get("$defs", {}), ())
    validator = jsonschema.validators.validator_for(schema)(schema)
    try:
        if validator.is_valid(data):  # errors are gathered only when needed
            return None
        error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    except RecursionError:
        raise ValueError("not a linkcheck report: nested too deeply") from None
    if error is None:
        return None
    message = " ".join(error.message.split())
    if len(message) > 160:
        message = message[:157] + "..."
    return error.json_path, message


def _shown_valid(schema: dict[str, Any], data: object) -> bool:
    """Whether jsonschema-rs finds ``data`` valid: about a hundred times faster than the
    ``jsonschema`` package on a large report (3.3 s -> 0.03 s at 2,000 seeds).

    False is not a verdict: the ``jsonschema`` package then decides and names the error,
    so messages stay its own, and a value jsonschema-rs cannot take (a lone surrogate
    in a key, say) is judged there too. Formats are not asserted, as there.
    """
    import jsonschema_rs

    try:
        return bool(jsonschema_rs.validator_for(schema, validate_formats=False).is_valid(data))
    except ValueError:
        return False


def _inline_refs(node: Any, defs: dict[str, Any], inside: tuple[str, ...]) -> Any:
    """The schema with each bare ``$ref`` to ``#/$defs/NAME`` replaced by its target.

    The validator then resolves no reference per node, which makes validating a
    100,000-seed report about a third faster; recursive definitions stay references.
    """
    if isinstance(node, list):
        return [_inline_refs(item, defs, inside) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if len(node) == 1 and isinstance(ref, str) and ref.startswith("#/$defs/"):
        name = ref.removeprefix("#/$defs/")
        if name in defs and name not in inside:
            return _inline_refs(defs[name], defs, (*inside, name))
        return node
    return {key: _inline_refs(value, defs, inside) for key, value in node.items()}
