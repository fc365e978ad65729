"""What a shard's report records so that ``linkcheck merge`` can trust it.

Shard reports join into one report only when they come from the same run split N
ways: the same settings where a setting can change a verdict, and the same seed
files with the same bytes. Each shard report carries both, readable, so a refusal
can say what differs.
"""

from __future__ import annotations

import hashlib
from typing import Any

from linkcheck.model.config import SETTINGS, Config
from linkcheck.model.records import SeedError
from linkcheck.seeds.files import display_path, find_seed_files, read_seed_bytes

#: Settings that change neither which targets there are nor how one is judged, so the
#: jobs of a matrix may differ in them (``paths`` and ``patterns`` are covered by the
#: seed files themselves; ``workers`` defaults to the CPUs of each machine).
UNJUDGED = frozenset(
    {"paths", "patterns", "output", "shard", "fail_on", "seed_window", "max_concurrency", "workers"}
)


def shard_header(config: Config) -> dict[str, Any]:
    """The report's ``shard`` and ``fingerprint`` keys for a sharded run; empty otherwise."""
    if config.shard is None:
        return {}
    return {
        "shard": {"index": config.shard.index, "count": config.shard.count},
        "fingerprint": {"settings": judged_settings(config), "seeds": seed_digest(config)},
    }


def judged_settings(config: Config) -> dict[str, Any]:
    """Every setting that can change a verdict, by config-file key, as the file writes it."""
    return {
        row.key or row.name: row.to_file(getattr(config, row.name))
        for row in SETTINGS
        if row.name not in UNJUDGED
    }


def seed_digest(config: Config) -> dict[str, Any]:
    """How many seed files the run reads, and a SHA-256 over their names and bytes in order.

    Files are read as the run reads them (regular files only, at most the size
    limit); a file that cannot be read counts by the reason it cannot.
    """
    digest = hashlib.sha256()
    files = 0
    for path in find_seed_files(config.paths, config.patterns):
        files += 1
        data = read_seed_bytes(path, config.max_seed_bytes)
        content = data.reason.value.encode() if isinstance(data, SeedError) else data
        name = display_path(path).encode("utf-8")
        digest.update(len(name).to_bytes(8, "big") + name)
        digest.update(hashlib.sha256(content).digest())
    return {"files": files, "sha256": digest.hexdigest()}
