"""Finding seed files and reading their bytes without ever blocking or over-reading.

Only regular files are read. A FIFO, device or socket in a seed folder is skipped
with a note; one named explicitly, or one that appears after the folder was
listed, is refused by :func:`read_seed_bytes` (opened non-blocking, checked with
``fstat``), so a pipe never blocks the run and ``/dev/zero`` never fills memory.
"""

from __future__ import annotations

import fnmatch
import os
import stat
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from linkcheck.model.reasons import Reason
from linkcheck.model.records import SeedError

#: Called with (escaped path, why) for each candidate seed file that is skipped.
OnSkip = Callable[[str, str], None]

_CHUNK = 1 << 16


def display_path(path: Path | str) -> str:
    """The path as text that is always valid UTF-8: undecodable name bytes become ``\\xNN``.

    Reports and spools need a string they can encode; the real path (which may
    hold surrogate escapes) is still the one used for reading.
    """
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def find_seed_files(
    paths: Iterable[Path], patterns: Iterable[str], on_skip: OnSkip | None = None
) -> Iterator[Path]:
    """Yield seed files: each path as given, and matching files below each folder.

    Folders are walked depth first in sorted order so reports are reproducible;
    hidden folders (``.git``) are skipped and links to folders are not followed.
    A folder that cannot be listed is yielded itself, so reading it reports why.
    Matching names that are not regular files (FIFOs, devices, sockets) and links
    to folders are skipped, and ``on_skip`` hears of each.
    """
    globs = tuple(patterns)
    for path in paths:
        if os.path.isdir(path):
            yield from _walk(path, globs, on_skip)
        else:
            yield path


def _list_folder(folder: Path) -> list[os.DirEntry[str]]:
    """The folder's entries; raises OSError when it cannot be listed."""
    with os.scandir(folder) as entries:
        return list(entries)


def _walk(top: Path, globs: tuple[str, ...], on_skip: OnSkip | None) -> Iterator[Path]:
    pending = [top]
    while pending:
        folder = pending.pop()
        try:
            entries = sorted(_list_folder(folder), key=lambda entry: entry.name)
        except OSError:
            yield folder
            continue
        folders: list[Path] = []
        for entry in entries:
            hidden = entry.name.startswith(".")
            try:
                if entry.is_dir(follow_symlinks=False):
                    if not hidden:
                        folders.append(Path(entry.path))
                    continue
                if entry.is_symlink() and os.path.isdir(entry.path):
                    if not hidden and on_skip is not None:
                        on_skip(display_path(entry.path), "a link to a folder, not followed")
                    continue
            except OSError:
                pass  # fall through: reading the entry reports what is wrong with it
            if not any(fnmatch.fnmatch(entry.name, pattern) for pattern in globs):
                continue
            kind = None if _plain_file(entry) else _special_kind(entry.path)
            if kind is None:
                yield Path(entry.path)
            elif on_skip is not None:
                on_skip(display_path(entry.path), f"{kind}, not a regular file")
        pending.extend(reversed(folders))


def _plain_file(entry: os.DirEntry[str]) -> bool:
    """Whether the folder listing itself says the entry is a regular file (no ``stat``:
    the type comes with the listing on most file systems; links are left to ``stat``)."""
    try:
        return not entry.is_symlink() and entry.is_file(follow_symlinks=False)
    except OSError:
        return False


def _special_kind(path: str) -> str | None:
    """What a path names when that is not a regular file; None for files and for errors."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    return None if stat.S_ISREG(mode) else _kind(mode)


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


def read_seed_bytes(path: Path, limit: int) -> bytes | SeedError:
    """The file's bytes, or why they cannot be had; never blocks, never reads past ``limit + 1``.

    The path is checked with ``stat`` before opening (so no device is opened) and
    the opened descriptor with ``fstat`` (so a file swapped for a pipe in between
    is still refused); the size cap is enforced on the bytes read, not on what
    ``stat`` claims, since ``/proc`` files and some links report a size of 0.
    """
    try:
        mode = os.stat(path).st_mode
        if stat.S_ISDIR(mode):
            return _folder_error(path)
        if not stat.S_ISREG(mode):
            return _not_regular(mode)
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                return _not_regular(info.st_mode)
            if info.st_size > limit:
                return _too_large(f"the file has {info.st_size} bytes", limit)
            data = _read_at_most(fd, limit + 1, info.st_size)
        finally:
            os.close(fd)
    except OSError as exc:
        return SeedError(Reason.UNREADABLE, f"cannot read the file: {_why(exc)}", None)
    if len(data) > limit:
        return _too_large("the file holds more bytes than its size said", limit)
    return data


def _read_at_most(fd: int, most: int, expected: int) -> bytes:
    """Up to ``most`` bytes; the first read asks for the ``expected`` size and one byte more
    (a 1 MiB buffer per small file costs more than reading it), later reads a chunk each."""
    chunks: list[bytes] = []
    left = most
    want = expected + 1 if expected > 0 else _CHUNK
    while left > 0:
        chunk = os.read(fd, min(left, want))
        want = _CHUNK
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _folder_error(path: Path) -> SeedError:
    try:
        _list_folder(path)
    except OSError as exc:
        return SeedError(Reason.UNREADABLE, f"cannot read the folder: {_why(exc)}", None)
    return SeedError(Reason.UNREADABLE, "not a regular file (a folder)", None)


def _not_regular(mode: int) -> SeedError:
    return SeedError(Reason.UNREADABLE, f"not a regular file ({_kind(mode)})", None)


def _too_large(what: str, limit: int) -> SeedError:
    return SeedError(Reason.TOO_LARGE, f"{what}, over the limit of {limit}", None)


def _why(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__
