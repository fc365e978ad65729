"""The benchmark at toy size, so the harness cannot rot (the full runs are not part of CI).

The peers (lychee, linkinator) are not needed here: their outputs are read from samples of
the JSON they write. The floors (bench.floor) need nothing more, so they run for real.
"""

from __future__ import annotations

import json
from pathlib import Path

from bench.peers import FLOORS, PeerRun, read_peer_output, write_links_page
from bench.run import smoke
from bench.server import Answer, host_specs, not_modified

_URLS = (
    "https://127.0.0.3:8443/n/1/ok",
    "https://127.0.0.3:8443/g/2/gone",
    "https://127.0.0.4:8443/e/3/error",
    "http://127.0.0.2:8443/i/jpeg/a1-0.jpg",
)


def test_the_benchmark_runs_end_to_end_and_its_accounting_adds_up(tmp_path: Path) -> None:
    figures = smoke(tmp_path)
    assert figures["seeds"] == 20
    assert figures["timed_out"] is False
    assert figures["unique_urls"] == figures["corpus_unique_urls"]
    assert figures["requests"] == figures["server_requests"], "the server saw what we counted"
    assert figures["unexpected_verdicts"] == 0
    assert figures["image_bytes_read"] > 0
    assert figures["peak_rss_mb"] > 0
    assert figures["https_hosts"] == 2, "most hosts speak HTTPS, one plain HTTP"
    assert 0 < figures["https_requests"] < figures["server_requests"]
    assert "peers" not in figures, "CI needs neither lychee nor linkinator"


def test_the_floors_make_linkchecks_requests_and_agree_with_the_corpus(tmp_path: Path) -> None:
    figures = smoke(tmp_path, peers=FLOORS)
    images = sum(1 for url in _listed(tmp_path) if "/i/" in url)  # served, not 404 or 500
    for name in FLOORS:
        floor = figures["peers"][name]
        counted = json.loads((tmp_path / "work" / f"{name}.json").read_text())["requests"]
        assert floor["exit_code"] == 0 and floor["timed_out"] is False, floor
        assert floor["checked"] == figures["unique_urls"], "every unique URL, once"
        assert floor["unexpected_verdicts"] == 0, floor["unexpected_examples"]
        assert floor["server_requests"] == counted, "the server saw what the floor counted"
        # each URL once, each redirect hop linkcheck followed, and a tail for each image
        assert counted == figures["unique_urls"] + figures["redirect_hops"] + images
        assert floor["cpu_s"] > 0 and floor["peak_in_flight_per_host"] >= 1
    aio, hx = (figures["peers"][name]["server_requests"] for name in FLOORS)
    assert aio == hx, "both clients make the same requests"


def _listed(tmp_path: Path) -> list[str]:
    return (tmp_path / "work" / "urls.txt").read_text().split()


def test_a_second_and_a_stale_run_reuse_the_results_store_with_the_same_verdicts(
    tmp_path: Path,
) -> None:
    runs = smoke(tmp_path, cache_runs=True)["cache_runs"]
    cold, warm, stale = runs["cold"], runs["warm"], runs["stale"]
    assert cold["store"]["miss"] > 0 and cold["server_bytes_sent"] > 0
    assert warm["server_requests"] < cold["server_requests"], "fresh entries need no request"
    assert warm["store"]["hit"] > 0
    assert stale["server_304s"] > 0 and stale["store"]["revalidated"] > 0
    assert stale["server_bytes_sent"] < 0.1 * cold["server_bytes_sent"], "304s carry no body"
    assert all(run["verdicts_equal_cold"] for run in (cold, warm, stale))
    assert all(run["unexpected_verdicts"] == 0 for run in (cold, warm, stale))


def test_shard_runs_merge_to_the_full_runs_verdicts_and_never_share_a_host(
    tmp_path: Path,
) -> None:
    result = smoke(tmp_path, shards=3)
    shards = result["shards"]
    assert [shard["shard"] for shard in shards] == ["1/3", "2/3", "3/3"]
    assert result["merge"]["error"] is None, "merge took the shard reports"
    assert result["merged_verdicts_equal_single"], result["differing_examples"]
    assert result["summaries_equal"], (result["summary_single"], result["summary_merged"])
    assert result["shared_host_count"] == 0, result["shared_hosts"]
    checked = [host for shard in shards for host in shard["hosts_checked"]]
    assert sorted(checked) == sorted(set(checked)), "each host is checked by one shard"
    assert len(set(checked)) == 3, "the three hosts are all checked by some shard"
    assert sum(1 for shard in shards if shard["server_requests"]) >= 2, "work is split"
    for shard in shards:
        if shard["hosts_checked"]:
            assert shard["server_requests"] > 0, shard
            assert set(shard["hosts_checked"]) <= set(shard["hosts_requested"]), shard
    assert sum(shard["checks_done"] for shard in shards) == result["single"]["checks"]
    assert result["single"]["unexpected_verdicts"] == 0


def test_the_bench_server_answers_a_matching_condition_with_304_even_with_range() -> None:
    headers = (("Content-Type", "image/jpeg"), ("ETag", '"abc"'), ("Last-Modified", "x"))
    partial = Answer(206, (*headers, ("Content-Range", "bytes 0-9/100")), b"0123456789", True)
    answer = not_modified(partial, {"if-none-match": '"abc"', "range": "bytes=0-9"})
    assert (answer.status, bytes(answer.body)) == (304, b"")
    assert ("ETag", '"abc"') in answer.headers
    assert not_modified(partial, {"if-none-match": '"other"'}) is partial
    since = {"if-modified-since": "Mon, 02 Nov 2026 00:00:00 GMT"}
    assert not_modified(Answer(200, headers, b"page"), since).status == 304
    before = {"if-modified-since": "Sat, 31 Oct 2026 00:00:00 GMT"}
    assert not_modified(Answer(200, headers, b"page"), before).status == 200
    assert not_modified(Answer(404, headers, b"gone"), since).status == 404


def test_hosts_get_varied_latencies_and_most_speak_https() -> None:
    hosts = host_specs(40, 20, 1.0, 16, tls_share=0.8, latency_max_ms=60)
    latencies = sorted(host.latency_s for host in hosts)
    assert latencies[0] == 0.02 and latencies[-1] == 0.06
    assert len(set(latencies)) > 30
    assert sum(host.tls for host in hosts) == 32


def test_a_lychee_report_is_read_as_failed_urls_against_the_paths(tmp_path: Path) -> None:
    output = tmp_path / "lychee.json"
    output.write_text(
        json.dumps(
            {
                "total": 4,
                "error_map": {"urls.txt": [{"url": _URLS[1], "status": {"code": 404}}]},
                "timeout_map": {"urls.txt": [{"url": _URLS[3], "status": {"text": "timeout"}}]},
            }
        )
    )
    run = PeerRun("lychee", ("lychee",), {}, output, stdout_is_output=False)
    verdicts = read_peer_output(run, _URLS)
    assert (verdicts.checked, verdicts.failed) == (4, 2)
    assert verdicts.unexpected == 2, "the 500 passed and the image timed out"
    assert verdicts.examples == (f"{_URLS[2]}: ok", f"{_URLS[3]}: failed")


def test_a_linkinator_report_counts_links_of_the_page_not_the_page(tmp_path: Path) -> None:
    urls_file = tmp_path / "urls.txt"
    urls_file.write_text("\n".join(_URLS) + "\n")
    page = tmp_path / "index.html"
    write_links_page(urls_file, page)
    assert all(f'href="{url}"' in page.read_text() for url in _URLS)
    links = [{"url": "index.html", "state": "OK"}]
    links += [
        {"url": url, "state": "BROKEN" if "/n/" not in url and "/i/" not in url else "OK",
         "parent": "index.html"}
        for url in _URLS
    ]  # fmt: skip
    output = tmp_path / "linkinator.json"
    output.write_text(json.dumps({"links": links, "passed": False}))
    run = PeerRun("linkinator", ("node",), {}, output, stdout_is_output=True)
    verdicts = read_peer_output(run, _URLS)
    assert (verdicts.checked, verdicts.failed, verdicts.unexpected) == (4, 2, 0)
