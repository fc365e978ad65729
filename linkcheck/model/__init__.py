"""Pure records and rules: reasons, settings, targets, outcomes, checks and judging.

Nothing here does I/O or imports another layer of the package, so every
other layer (and another process) can share these records.
"""
