"""Which seeds a run checks when only some changed: ``--files-from`` and ``--changed-since``.

Both name files; the run checks the seed files found under its paths (by its
patterns) that are named, in the usual order. Named paths that are no such seed
(code, deleted files, files outside the paths) are ignored, each with a note.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from linkcheck.model.config import Config
from linkcheck.seeds.reader import find_seed_files

#: Notes kept about ignored paths; the rest are counted.
MAX_NOTES = 20
_GIT_SECONDS = 60.0


class SelectionError(ValueError):
    """The list of changed files cannot be had: not a git work tree, unknown ref, no file."""


@dataclass(frozen=True)
class Selection:
    """The seed files to check, and one note per named path that is not one of them."""

    files: tuple[Path, ...]
    notes: tuple[str, ...] = ()
    ignored: int = 0
    named: int = 0
    sources: tuple[str, ...] = field(default=())

    def summary_line(self) -> str:
        origin = " and ".join(self.sources)
        return (
            f"{origin}: {len(self.files)} seed files to check; "
            f"{self.ignored} other named paths ignored"
        )


def select_seeds(
    config: Config,
    stdin: Callable[[], Iterable[str]] = lambda: sys.stdin,
    cwd: Path | None = None,
) -> Selection | None:
    """The seeds named by ``--files-from`` and/or ``--changed-since``; None when neither is set.

    With both, a seed must be named by both. Raises SelectionError (exit 2 in the CLI).
    """
    if config.files_from is None and config.changed_since is None:
        return None
    here = cwd or Path.cwd()
    named: set[str] | None = None
    sources = []
    if config.files_from is not None:
        named = _listed(config.files_from, stdin, here)
        sources.append(f"--files-from {config.files_from}")
    if config.changed_since is not None:
        changed = changed_files(config.changed_since, here)
        named = changed if named is None else named & changed
        sources.append(f"--changed-since {config.changed_since}")
    assert named is not None
    files = []
    found: set[str] = set()
    for path in find_seed_files(config.paths, config.patterns):
        key = _key(path, here)
        if key in named:
            files.append(path)
            found.add(key)
    others = sorted(named - found)
    notes = [f"{os.path.relpath(name, here)}: not a seed file under the checked paths; ignored"
             for name in others[:MAX_NOTES]]  # fmt: skip
    if len(others) > MAX_NOTES:
        notes.append(f"{len(others) - MAX_NOTES} more named paths were ignored")
    return Selection(tuple(files), tuple(notes), len(others), len(named), tuple(sources))


def _key(path: Path | str, here: Path) -> str:
    return os.path.normpath(os.path.join(here, path))


def _listed(source: Path, stdin: Callable[[], Iterable[str]], here: Path) -> set[str]:
    if str(source) == "-":
        lines: Iterable[str] = stdin()
    else:
        try:
            lines = source.read_text(encoding="utf-8", errors="surrogateescape").splitlines()
        except OSError as exc:
            raise SelectionError(
                f"--files-from {source}: cannot read it: {exc.strerror or exc}"
            ) from None
    return {_key(line.rstrip("\r\n"), here) for line in lines if line.strip()}


def changed_files(ref: str, here: Path) -> set[str]:
    """The files ``git diff --name-only REF`` names (deleted ones left out), as absolute paths."""
    if not ref or ref.startswith("-"):
        raise SelectionError(f"--changed-since: not a git ref: {ref!r}")
    top = _git(["rev-parse", "--show-toplevel"], here, "not inside a git work tree").strip()
    _git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], here, f"unknown ref {ref!r}")
    listing = _git(
        ["diff", "--name-only", "-z", "--no-renames", "--diff-filter=d", ref, "--"],
        here,
        f"git diff {ref} failed",
    )
    return {_key(name, Path(top)) for name in listing.split("\0") if name}


def _git(arguments: list[str], here: Path, problem: str) -> str:
    try:
        done = subprocess.run(
            ["git", *arguments],
            cwd=here,
            capture_output=True,
            timeout=_GIT_SECONDS,
            check=False,
        )
    except FileNotFoundError:
        raise SelectionError("--changed-since needs git, which is not installed") from None
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SelectionError(f"--changed-since: git failed: {exc}") from None
    if done.returncode != 0:
        detail = " ".join(done.stderr.decode("utf-8", "replace").split())[:200]
        raise SelectionError(f"--changed-since: {problem}" + (f" ({detail})" if detail else ""))
    return done.stdout.decode("utf-8", "surrogateescape")
