"""Command line: argv and config file -> Config -> run -> outputs -> exit code; nothing else.

``linkcheck.cli:console`` is the console script (:func:`main`, then a quick exit). The
options, the config-file keys and ``linkcheck config``'s output are all derived from the
settings tables
(:data:`linkcheck.model.config.SETTINGS` and :class:`~linkcheck.cli.options.Presentation`).
"""

from __future__ import annotations

from linkcheck.cli.app import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, console, main

__all__ = ["EXIT_FAILED", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_USAGE", "console", "main"]
