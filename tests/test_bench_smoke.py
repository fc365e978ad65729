"""The benchmark at toy size, so the harness cannot rot (the full runs are not part of CI)."""

from __future__ import annotations

from pathlib import Path

from bench.run import smoke


def test_the_benchmark_runs_end_to_end_and_its_accounting_adds_up(tmp_path: Path) -> None:
    figures = smoke(tmp_path)
    assert figures["seeds"] == 20
    assert figures["timed_out"] is False
    assert figures["unique_urls"] == figures["corpus_unique_urls"]
    assert figures["requests"] == figures["server_requests"], "the server saw what we counted"
    assert figures["unexpected_verdicts"] == 0
    assert figures["image_bytes_read"] > 0
    assert figures["peak_rss_mb"] > 0
