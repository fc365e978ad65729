"""linkcheck: check that the pages, AMP pages and images named by seed documents are healthy.

The public API: :func:`check` runs a check and returns a :class:`Report`;
:class:`Config` holds every setting; :class:`Verdict` and :class:`Reason` are
the closed vocabularies of outcomes. Names are loaded on first use, so
importing one layer (the report, say) does not load the HTTP stack.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from linkcheck._version import __version__

if TYPE_CHECKING:
    from linkcheck.engine.runner import check
    from linkcheck.model.config import Config
    from linkcheck.model.reasons import Reason, Verdict
    from linkcheck.report.document import Report

_PUBLIC = {
    "Config": "linkcheck.model.config",
    "Reason": "linkcheck.model.reasons",
    "Verdict": "linkcheck.model.reasons",
    "Report": "linkcheck.report.document",
    "check": "linkcheck.engine.runner",
}

__all__ = ["Config", "Reason", "Report", "Verdict", "__version__", "check"]


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'linkcheck' has no attribute {name!r}")
    return getattr(import_module(module), name)
