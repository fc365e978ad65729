"""Splitting a run by host: shards of a CI matrix (and worker processes) own disjoint hosts.

The partition of a host is a stable hash of its lower-case name, the same on every
machine and Python version (never Python's salted ``hash()``), so shard K of N
checks the same hosts wherever it runs and two shards never ask the same host.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from linkcheck.model.settings import Rule


def host_partition(host: str, count: int) -> int:
    """The partition, 0 to ``count - 1``, that owns ``host`` (the requested, remapped host)."""
    if count < 1:
        raise ValueError(f"the partition count must be at least 1, not {count}")
    digest = hashlib.blake2b(host.lower().encode("utf-8", "surrogatepass"), digest_size=8)
    return int.from_bytes(digest.digest(), "big") % count


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count`` (1-based, as a CI matrix numbers its jobs)."""

    index: int
    count: int

    def owner(self, host: str) -> int:
        """The 1-based shard that checks URLs of ``host``."""
        return host_partition(host, self.count) + 1

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(spec: str) -> Shard:
    """``K/N``: shard K of N, with 1 <= K <= N."""
    index, slash, count = spec.strip().partition("/")
    try:
        if not slash:
            raise ValueError
        shard = Shard(int(index), int(count))
    except ValueError:
        raise ValueError(f"expected K/N such as 2/4, not {spec!r}") from None
    return check_shard(shard)


def check_shard(shard: Shard) -> Shard:
    """``shard`` when 1 <= index <= count; else ValueError saying what is wrong."""
    if isinstance(shard.index, bool) or isinstance(shard.count, bool):
        raise ValueError(f"expected K/N such as 2/4, not {shard!r}")
    if shard.count < 1:
        raise ValueError(f"the shard count must be at least 1, not {shard.count}")
    if not 1 <= shard.index <= shard.count:
        raise ValueError(f"the shard must be 1 to {shard.count}, not {shard.index}")
    return shard


SHARD: Rule[Shard] = Rule(parse_shard, Shard, check_shard, str, "K/N")
