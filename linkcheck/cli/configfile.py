"""Config files: discovery, reading through the settings table, and the trust boundary.

A file found by walking up from the current folder may come from anyone who can
add a file to the repository, so the settings that widen what is reached or sent
(rows marked ``widens``) are honoured only from a file named with ``--config``.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from linkcheck.cli.options import ROWS, STDOUT, Output
from linkcheck.model.settings import FilePath, SettingError, from_table

#: Config files looked for in the current folder and each parent, nearest first.
CONFIG_FILES = ("linkcheck.toml", "pyproject.toml")


class UsageError(Exception):
    """A problem with the command line, a config file or a path (exit code 2)."""


@dataclass(frozen=True)
class FileSettings:
    """What a config file sets, by field name, and the widening keys it was refused."""

    path: Path
    values: dict[str, Any]
    ignored: tuple[str, ...] = ()


def find_config_file(start: Path) -> Path | None:
    """The nearest ``linkcheck.toml``, or ``pyproject.toml`` with a ``[tool.linkcheck]`` table."""
    for directory in (start, *start.parents):
        for name in CONFIG_FILES:
            candidate = directory / name
            if candidate.is_file() and (name != "pyproject.toml" or _has_tool_table(candidate)):
                return candidate
    return None


def read_config_file(path: Path) -> dict[str, Any]:
    """The settings table of a config file: all of ``linkcheck.toml``, or ``[tool.linkcheck]``."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"{path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"{path}: {exc}") from None
    if path.name == "pyproject.toml":
        tool = data.get("tool", {})
        table = tool.get("linkcheck", {}) if isinstance(tool, dict) else None
        if not isinstance(table, dict):
            raise UsageError(f"{path}: [tool.linkcheck] must be a table")
        return table
    return data


def load_config_file(path: Path, *, named: bool, folder: Path | None = None) -> FileSettings:
    """The settings of ``path``, checked by the table; relative file names from its folder.

    ``named`` says the user chose this file with ``--config``; otherwise widening
    settings that differ from their defaults are dropped and listed in ``ignored``.
    ``folder`` is the file's folder as relative names should be joined to (its own
    folder by default).
    """
    try:
        values = from_table(read_config_file(path), ROWS)
    except SettingError as exc:
        raise UsageError(f"{path}: {exc}") from None
    folder = path.parent if folder is None else folder
    for row in ROWS:
        if row.name in values and isinstance(row.type, FilePath):
            value = values[row.name]
            values[row.name] = (
                tuple(_from_folder(folder, item) for item in value)
                if row.repeat
                else _from_folder(folder, value)
            )
    if "formats" in values:
        values["formats"] = tuple(
            output
            if output.path is None
            else Output(output.name, _from_folder(folder, output.path))
            for output in values["formats"]
        )
    missing = [str(item) for item in values.get("paths", ()) if not item.exists()]
    if missing:
        raise UsageError(f"{path}: paths: no such file or folder: {', '.join(missing)}")
    ignored: list[str] = []
    if not named:
        for row in ROWS:
            if row.widens and row.name in values and values[row.name] != row.default:
                del values[row.name]
                ignored.append(row.key or row.name)
    return FileSettings(path, values, tuple(ignored))


def _from_folder(folder: Path, value: Path | None) -> Any:
    if value is None or value == STDOUT or value.is_absolute():
        return value
    return folder / value


def _has_tool_table(path: Path) -> bool:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False
    return isinstance(data.get("tool"), dict) and "linkcheck" in data["tool"]
