"""``linkcheck fix``: rewrite seeds from what a report found, changing only the values fixed.

A fix is made only from evidence in the report that stays true: an image's
displayed size (a size_mismatch, never a failure that may pass next time), a
permanent redirect (301/308), an https URL that checked ok, and mojibake that
ftfy repairs. A seed whose bytes are not those the report was made from
(``sha256``) is left alone with a note. Without ``--write`` nothing is written:
the changes are printed as a unified diff.
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import os
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from linkcheck.model.config import Config
from linkcheck.report.document import SavedReport
from linkcheck.report.formats._common import inert
from linkcheck.seeds.files import display_path
from linkcheck.seeds.lint import repair_mojibake
from linkcheck.seeds.reader import find_seed_files
from linkcheck.seeds.rewrite import Edit, NotRewritable, apply_edits, current_value, split_lines

#: The kinds of fix, in the order they are tried on one value.
KINDS = ("sizes", "redirects", "https", "mojibake")
#: Redirect statuses that say the old URL is gone for good.
PERMANENT = frozenset({301, 308})
_MOVED = ("ok", "warning")


def add_fix_command(commands: Any) -> None:
    """The ``fix`` command, on the main parser's subcommands."""
    fix = commands.add_parser(
        "fix",
        help="rewrite seeds from a report: image sizes, permanent redirects, https, mojibake",
        allow_abbrev=False,
        description="Rewrite seed values from what a report of check found, changing nothing "
        "else in the files. Prints a unified diff; --write applies it.",
    )
    fix.add_argument(
        "paths", nargs="*", type=Path, metavar="PATH", help="seed files or folders [the report's]"
    )
    fix.add_argument(
        "--from", dest="report", type=Path, required=True, metavar="REPORT.json",
        help="the JSON report of check to take the fixes from",
    )  # fmt: skip
    fix.add_argument("--write", action="store_true", help="write the changes (atomically)")
    fix.add_argument(
        "--only", type=_kinds, default=KINDS, metavar="KINDS",
        help=f"comma list of the fixes to make [{','.join(KINDS)}]",
    )  # fmt: skip
    fix.add_argument("-q", "--quiet", action="store_true", help="print only the diff")


def _kinds(text: str) -> tuple[str, ...]:
    chosen = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [kind for kind in chosen if kind not in KINDS]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(
            f"invalid fix {', '.join(unknown) or repr(text)} (known: {', '.join(KINDS)})"
        )
    return chosen


def fix_command(args: argparse.Namespace) -> int:
    """Plan, print and (with --write) apply the fixes; exit 0, or raise UsageError (exit 2)."""
    from linkcheck.cli.configfile import UsageError  # cli.options imports this module

    try:
        report = SavedReport.load(args.report)
    except OSError as exc:
        raise UsageError(f"cannot read {args.report}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise UsageError(f"{args.report}: {exc}") from None
    seeds = {_key(str(seed.get("path", ""))): seed for seed in report.seeds()}
    if seeds and not any(seed.get("sha256") for seed in seeds.values()):
        raise UsageError(f"{args.report} carries no seed hashes: run check again to make one")
    files = _files(args.paths, seeds)
    named = [(path, seeds[_key(str(path))]) for path in files if _key(str(path)) in seeds]
    if not named:
        where = " ".join(str(path) for path in args.paths) or "the report's own paths"
        raise UsageError(
            f"{args.report} names none of the seeds in {where}: it is a report of another "
            "seed set (run fix from the folder check ran in)"
        )
    quiet: bool = args.quiet
    note = _Notes(quiet)
    for path in files:
        if _key(str(path)) not in seeds:
            note(path, "not in the report, left alone")
    ok_urls = {
        check["url"]
        for seed in seeds.values()
        for check in seed.get("checks") or ()
        if check.get("verdict") == "ok"
    }
    changed = changes = 0
    for path, seed in named:
        try:
            data = path.read_bytes()
        except OSError as exc:
            note(path, f"cannot be read: {exc.strerror or exc}")
            continue
        if hashlib.sha256(data).hexdigest() != seed.get("sha256"):
            note(path, "skipped: edited since the report was made (its sha256 differs)")
            continue
        edits = tuple(plan_edits(seed, args.only, ok_urls, data))
        if not edits:
            continue
        try:
            result = apply_edits(data, edits)
        except NotRewritable as exc:
            note(path, f"skipped: {exc}")
            continue
        for text in result.notes:
            note(path, text)
        if not result.made:
            continue
        sys.stdout.write(_diff(display_path(path), data, result.data))
        changed += 1
        changes += len(result.made)
        if args.write:
            _write(path, data, result.data)
    if not quiet:
        done = "written" if args.write else "not written: --write applies them"
        plural = "s" if changes != 1 else ""
        sys.stderr.write(
            f"linkcheck fix: {changes} value{plural} in {changed} seed files, {done}\n"
        )
    return 0


class _Notes:
    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet

    def __call__(self, path: Path, text: str) -> None:
        if not self.quiet:
            sys.stderr.write(f"linkcheck fix: {inert(display_path(path))}: {inert(text)}\n")


def _key(path: str) -> str:
    return os.path.normcase(os.path.abspath(path))


def _files(paths: list[Path], seeds: dict[str, dict[str, Any]]) -> list[Path]:
    """The seed files to fix: those under PATH (as check finds them), else the report's."""
    if paths:
        missing = [str(path) for path in paths if not path.exists()]
        if missing:
            from linkcheck.cli.configfile import UsageError

            raise UsageError(f"PATH {', '.join(missing)}: no such file or folder")
        return list(find_seed_files(paths, Config.patterns))
    return [Path(str(seed["path"])) for seed in seeds.values() if Path(str(seed["path"])).is_file()]


def plan_edits(
    seed: dict[str, Any], kinds: Iterable[str], ok_urls: set[str], data: bytes
) -> Iterator[Edit]:
    """The edits a report's seed result calls for, one per value, the first kind winning."""
    kinds = frozenset(kinds)
    planned: set[str] = set()
    for check in seed.get("checks") or ():
        for edit in _check_edits(check, kinds, ok_urls):
            if edit.field not in planned:
                planned.add(edit.field)
                yield edit
    if "mojibake" in kinds:
        for warning in seed.get("warnings") or ():
            replacement = warning.get("replacement")
            if warning.get("reason") != "mojibake" or not isinstance(replacement, str):
                continue
            old = _unrepaired(replacement, data, warning)
            if old is not None and warning["field"] not in planned:
                planned.add(warning["field"])
                why = "mojibake repaired"
                yield Edit(warning["field"], old, replacement, "mojibake", why)


def _unrepaired(replacement: str, data: bytes, warning: dict[str, Any]) -> str | None:
    """The text as it stands in the seed, found again by reading it (the report keeps only
    the repair); None when it is no longer there."""
    current = current_value(data, str(warning["field"]))
    if isinstance(current, str) and repair_mojibake(current) == replacement:
        return current
    return None


def _check_edits(check: dict[str, Any], kinds: frozenset[str], ok_urls: set[str]) -> list[Edit]:
    url = str(check.get("url") or "")
    field = str(check.get("field") or "")
    if field.endswith(".cacheUrl"):
        return []  # a derived AMP-cache target (--check-image-cache): not a value of the seed
    edits: list[Edit] = []
    image = check.get("image") or {}
    if "sizes" in kinds and check.get("reason") == "size_mismatch" and field.endswith(".url"):
        base = field.removesuffix(".url")
        for side in ("width", "height"):
            claimed, shown = image.get(f"claimed_{side}"), image.get(f"displayed_{side}")
            if isinstance(claimed, int) and isinstance(shown, int) and claimed != shown:
                why = f"the image {url} is displayed {shown} px {side}, not {claimed}"
                edits.append(Edit(f"{base}.{side}", claimed, shown, "sizes", why))
    if "redirects" in kinds:
        moved = permanent_location(check)
        if moved is not None:
            why = f"{url} moved permanently to {moved}"
            edits.append(Edit(field, url, moved, "redirects", why, url=True))
    if "https" in kinds and url.startswith("http://"):
        secure = "https://" + url.removeprefix("http://")
        if secure in ok_urls:
            why = f"{secure} checked ok in the same report"
            edits.append(Edit(field, url, secure, "https", why, url=True))
    return edits


def permanent_location(check: dict[str, Any]) -> str | None:
    """Where a URL moved for good: the end of its leading run of 301/308 redirects.

    Only from a check that ended well (ok, or a warning about the page itself), so a
    redirect to an error page, or one that failed on the way, is never written in.
    A temporary redirect later in the chain is not followed: that URL may change.
    """
    hops = check.get("redirects") or ()
    if not hops or check.get("verdict") not in _MOVED or hops[0].get("url") != check.get("url"):
        return None
    status = check.get("http_status")
    if not isinstance(status, int) or not 200 <= status < 300:
        return None
    moved: str | None = None
    for index, hop in enumerate(hops):
        if hop.get("status") not in PERMANENT:
            break
        following = hops[index + 1]["url"] if index + 1 < len(hops) else check.get("final_url")
        moved = str(following) if following else None
    return moved if moved != check.get("url") else None


def _diff(name: str, old: bytes, new: bytes) -> str:
    """A unified diff, each line shown inert (a seed's text cannot drive the terminal)."""
    before = split_lines(old.decode("utf-8-sig"))
    after = split_lines(new.decode("utf-8-sig"))
    lines = difflib.unified_diff(before, after, f"a/{inert(name)}", f"b/{inert(name)}")
    return "".join(inert(line.rstrip("\r\n")) + "\n" for line in lines)


def _write(path: Path, expected: bytes, data: bytes) -> None:
    """Replace the file atomically, keeping its mode; not if it changed since it was read."""
    from linkcheck.cli.configfile import UsageError

    if path.read_bytes() != expected:
        raise UsageError(f"{path} changed while fix ran: nothing written to it")
    mode = path.stat().st_mode & 0o7777
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(name, mode)
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
