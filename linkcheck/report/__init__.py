"""The report document, its JSON schema, progress display and output formats.

This layer reads records only: it imports nothing from net, probes or engine.
"""
