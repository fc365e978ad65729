"""The retry policy: what is worth another try, and how long to wait before it.

Transient failures (resets, timeouts, 408, 429, 5xx gateway errors) are retried
with exponential backoff and full jitter; nothing else is. This is the only
place that decides.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from linkcheck.model.records import RETRY_REASONS, RETRY_STATUSES, is_transient
from linkcheck.net.headers import retry_after

__all__ = ["RETRY_REASONS", "RETRY_STATUSES", "RetryPolicy", "is_transient", "retry_after"]


@dataclass(frozen=True)
class RetryPolicy:
    """Waits before a retry grow from ``base`` up to ``cap``; how many retries is Config's."""

    base: float = 0.5
    cap: float = 8.0

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Full jitter: a uniform wait in [0, min(cap, base * 2**attempt)]."""
        return rng.uniform(0.0, min(self.cap, self.base * 2**attempt))
