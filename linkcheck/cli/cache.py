"""``linkcheck cache stats|prune|clear``: look after the results store that ``--cache`` keeps.

The store is the one ``check`` would use: ``--cache PATH``, else the ``cache`` key of
the config file (named with ``--config`` or found as ``check`` finds it), else the
default ``.linkcheck/cache.sqlite``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from linkcheck.model.config import DEFAULT_CACHE, duration_text, parse_duration
from linkcheck.store import Store, StoreUnusable

#: ``prune`` drops what is older than this unless told otherwise.
PRUNE_AGE = 30 * 86400.0


def add_cache_command(commands: Any) -> None:
    """The ``cache`` command and its three actions, on the main parser's subcommands."""
    cache = commands.add_parser(
        "cache",
        help="show, prune or clear the results store that --cache keeps",
        allow_abbrev=False,
        description="Look after the results store of check --cache.",
    )
    actions = cache.add_subparsers(dest="action", required=True, metavar="ACTION")
    helps = {
        "stats": "show what the store holds",
        "prune": "drop outcomes, history and parsed seeds older than --older-than",
        "clear": "drop every outcome, all history and every parsed seed",
    }
    for name, text in helps.items():
        action = actions.add_parser(name, help=text, description=text, allow_abbrev=False)
        action.add_argument(
            "--cache",
            type=_file,
            metavar="PATH",
            help=f"the store [the config file's cache, else {DEFAULT_CACHE}]",
        )
        action.add_argument(
            "--config", type=_file, metavar="FILE", help="config file [nearest, as for check]"
        )
        if name == "prune":
            action.add_argument(
                "--older-than",
                type=_duration,
                default=PRUNE_AGE,
                metavar="AGE",
                help=f"drop what is older than this, e.g. 12h or 7d [{duration_text(PRUNE_AGE)}]",
            )


def cache_command(args: argparse.Namespace) -> int:
    """Run one cache action; a store that cannot be used is a usage error (exit 2)."""
    from linkcheck.cli.configfile import UsageError  # cli.options imports this module

    path = store_path(args)
    if not path.exists():
        print(f"No results store at {path}.")
        return 0
    try:
        store = Store.open_or_raise(path, _warn, create=False)
    except StoreUnusable as exc:
        raise UsageError(f"results store {path}: {exc}") from None
    try:
        if args.action == "stats":
            _print_stats(store)
        elif args.action == "prune":
            outcomes, history = store.prune(args.older_than, time.time())
            print(
                f"Dropped {outcomes} outcomes and {history} history rows older than "
                f"{duration_text(args.older_than)} from {path}."
            )
        else:
            print(f"Dropped {store.clear()} outcomes and all history from {path}.")
    finally:
        store.close()
    return 0


def store_path(args: argparse.Namespace) -> Path:
    """``--cache``, else the config file's ``cache``, else the default path."""
    from linkcheck.cli.configfile import find_config_file, load_config_file

    given: Path | None = args.cache
    if given is not None:
        return given
    named: Path | None = args.config
    found = named if named is not None else find_config_file(Path.cwd())
    if found is not None:
        configured = load_config_file(found, named=named is not None).values.get("cache")
        if isinstance(configured, Path):
            return configured
    return DEFAULT_CACHE


def _print_stats(store: Store) -> None:
    stats = store.stats()
    print(f"Results store {stats.path}: {stats.bytes / 1e6:.1f} MB")
    print(
        f"  outcomes: {stats.pages + stats.images} ({stats.pages} pages, {stats.images} images)"
        + (f", fetched {_when(stats.oldest)} to {_when(stats.newest)}" if stats.oldest else "")
    )
    last = f", the last at {_when(stats.last_run)}" if stats.last_run else ""
    print(f"  history: {stats.history_rows} rows from {stats.runs} runs{last}")


def _when(moment: float | None) -> str:
    if moment is None:
        return "never"
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(moment))


def _warn(text: str) -> None:
    sys.stderr.write(f"linkcheck: warning: {text}\n")


def _file(text: str) -> Path:
    if not text:
        raise argparse.ArgumentTypeError("expected a file name, not an empty string")
    return Path(text)


def _duration(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
