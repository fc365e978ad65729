"""linkcheck: check that the pages, AMP pages and images named by seed documents are healthy."""

from __future__ import annotations

__version__ = "0.1.0"
