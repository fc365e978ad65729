"""linkcheck: check that the pages, AMP pages and images named by seed documents are healthy.

The public API: :func:`check` runs a check and returns a :class:`Report`;
:class:`Config` holds every setting; :class:`Verdict` and :class:`Reason` are
the closed vocabularies of outcomes.
"""

from __future__ import annotations

from linkcheck._version import __version__
from linkcheck.engine.runner import check
from linkcheck.model.config import Config
from linkcheck.model.reasons import Reason, Verdict
from linkcheck.report.document import Report

__all__ = ["Config", "Reason", "Report", "Verdict", "__version__", "check"]
