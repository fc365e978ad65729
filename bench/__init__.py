"""Offline benchmark of linkcheck: a local multi-host web, a seed corpus and one runner."""
