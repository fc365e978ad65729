"""Output formats: each renders a finished :class:`~linkcheck.report.Report`."""
