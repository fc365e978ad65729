"""The results store between runs: outcomes with validators, and per-URL history."""

from linkcheck.store.policy import Freshness, probe_key, servable, transient
from linkcheck.store.results import Stats, Store, Stored, StoreUnusable, Streak

__all__ = [
    "Freshness",
    "Stats",
    "Store",
    "StoreUnusable",
    "Stored",
    "Streak",
    "probe_key",
    "servable",
    "transient",
]
