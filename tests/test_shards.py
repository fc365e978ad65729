"""Shards for CI matrices: ``check --shard K/N`` splits a run by host, ``merge`` joins it again.

The integration test runs four shards one after another against eight loopback hosts
(two per shard), merges them, and compares the merged report with a single run of
the same seeds; every host's request log shows which shards asked it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from linkcheck.model.records import host_name
from linkcheck.model.shards import Shard, host_partition, parse_shard
from linkcheck.report.document import SavedReport, validate_report
from linkcheck.report.formats import FORMATS
from linkcheck.report.merge import merge_reports
from tests.conftest import Invoke, picture, write_seed
from tests.server import LoopbackServer

SHARDS = 4


# -- the partition ----------------------------------------------------------------------------


def test_a_host_belongs_to_the_same_partition_on_every_machine_and_in_any_case() -> None:
    # Pinned: shard reports written by another process or machine must agree on owners.
    assert [host_partition(f"127.0.0.{i}", 4) for i in range(2, 10)] == [3, 3, 1, 2, 2, 3, 1, 2]
    assert host_partition("Example.ORG", 4) == host_partition("example.org", 4)
    assert host_partition("example.org", 1) == 0


def test_hosts_spread_evenly_over_the_partitions() -> None:
    counts = [0] * 4
    for index in range(4000):
        counts[host_partition(f"host{index}.example.org", 4)] += 1
    assert all(900 <= count <= 1100 for count in counts), counts


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("0/4", "the shard must be 1 to 4, not 0"),
        ("5/4", "the shard must be 1 to 4, not 5"),
        ("1/0", "the shard count must be at least 1"),
        ("2", "expected K/N such as 2/4, not '2'"),
        ("a/b", "expected K/N such as 2/4, not 'a/b'"),
    ],
)
def test_a_bad_shard_is_refused_with_what_is_wrong(text: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        parse_shard(text)


def test_a_shard_is_written_as_k_slash_n() -> None:
    assert str(parse_shard(" 2/4 ")) == "2/4"
    assert parse_shard("3/3") == Shard(3, 3)


# -- four shards and their merge equal one run ------------------------------------------------


@pytest.fixture(scope="module")
def hosts() -> Iterator[list[LoopbackServer]]:
    """Eight loopback hosts (127.0.0.x, one server each), two owned by each of four shards."""
    chosen: list[LoopbackServer] = []
    per_shard = [0] * SHARDS
    for last in range(2, 200):
        address = f"127.0.0.{last}"
        shard = host_partition(address, SHARDS)
        if per_shard[shard] < 2:
            per_shard[shard] += 1
            chosen.append(LoopbackServer(address).start())
        if len(chosen) == 2 * SHARDS:
            break
    yield chosen
    for server in chosen:
        server.stop()


def _site(tmp_path: Path, servers: list[LoopbackServer]) -> Path:
    """Seeds naming pages, AMP pages and images on every host, and the usual trouble."""
    for server in servers:
        server.routes.clear()
        server.hits.clear()
        server.page("/p")
        server.page("/gone", 404)
        server.image("/i.jpg", picture(40, 30), ranges=True)
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    count = len(servers)
    for index, server in enumerate(servers):
        other, third = servers[(index + 1) % count], servers[(index + 3) % count]
        write_seed(
            seeds,
            f"s{index}.txt",
            f"""
title: "Seed {index}"
webUrl: "{server.url("/gone" if index % 3 == 0 else "/p")}"
ampWebUrl: "{other.url("/p")}"
images:
  - url: "{server.url("/i.jpg")}"
    width: 40
    height: 30
    isCached: {"true" if index % 2 else "false"}
  - url: "{third.url("/i.jpg")}"
    width: 10
    height: 10
""",
        )
    write_seed(
        seeds,
        "trouble.txt",
        f"""
title: "Trouble"
webUrl: "http://staging.test/p"
ampWebUrl: "not a url"
images:
  - url: "{servers[0].url("/skip")}"
""",
    )
    (seeds / "broken.txt").write_text("---\nwebUrl: [unclosed\n---\n", encoding="utf-8")
    return seeds


def _options(servers: list[LoopbackServer]) -> list[str]:
    target = servers[-1]
    return [
        "--allow-network", "127.0.0.0/8", "--timeout", "5", "--exclude", "/skip$",
        "--remap", rf"^http://staging\.test/ http://{target.host}:{target.port}/", "-q",
    ]  # fmt: skip


def _without_timings(report: dict[str, Any]) -> dict[str, Any]:
    """The report minus what depends on the clock (and on being a shard or a merge)."""
    dropped = {"started_at", "finished_at", "duration_s", "shard", "merged", "fingerprint"}
    data = {key: value for key, value in report.items() if key not in dropped}
    data["hosts"] = {
        name: {k: v for k, v in host.items() if k not in ("median_latency_ms", "server_wait_s")}
        for name, host in report["hosts"].items()
    }
    data["seeds"] = [
        {**seed, "checks": [{**c, "elapsed_ms": None, "queued_ms": None} for c in seed["checks"]]}
        for seed in report["seeds"]
    ]
    return data


@pytest.mark.integration
def test_four_shards_merged_equal_one_run_and_never_share_a_host(
    tmp_path: Path, hosts: list[LoopbackServer], invoke: Invoke
) -> None:
    seeds = _site(tmp_path, hosts)
    options = _options(hosts)
    single = tmp_path / "single.json"
    single_code, _, err = invoke("check", str(seeds), "-o", str(single), *options)
    assert single_code == 1, err
    for server in hosts:
        server.hits.clear()

    asked_by: dict[str, set[int]] = {server.host: set() for server in hosts}
    shard_reports = []
    for index in range(1, SHARDS + 1):
        path = tmp_path / f"shard-{index}.json"
        code, _, err = invoke("check", str(seeds), "--shard", f"{index}/{SHARDS}", "-o", str(path),
                              *options)  # fmt: skip
        assert code in (0, 1), err
        for server in hosts:
            if server.hits:
                asked_by[server.host].add(index)
            server.hits.clear()
        shard_reports.append(path)

    owners = {server.host: {Shard(1, SHARDS).owner(server.host)} for server in hosts}
    # the remapped URL goes to the shard of the host it is remapped to, not of staging.test
    assert Shard(1, SHARDS).owner("staging.test") != Shard(1, SHARDS).owner(hosts[-1].host)
    assert asked_by == owners  # every host asked, by the shard that owns it and no other

    merged = tmp_path / "merged.json"
    code, _, err = invoke("merge", *map(str, shard_reports), "-o", str(merged), "-q")
    assert code == single_code, err
    merged_data = json.loads(merged.read_text(encoding="utf-8"))
    single_data = json.loads(single.read_text(encoding="utf-8"))
    assert _without_timings(merged_data) == _without_timings(single_data)
    assert merged_data["merged"] == {"shards": SHARDS}
    reasons = merged_data["summary"]["reasons"]
    expected = {"ok", "http_status", "size_mismatch", "invalid_url", "excluded", "not_amp"}
    assert set(reasons) == expected  # not_amp: the seeds' ampWebUrl is a plain page
    assert merged_data["summary"]["invalid_seeds"] == 1
    validate_report(merged_data)


@pytest.mark.integration
def test_every_shard_lists_every_seed_and_skips_the_hosts_of_the_others(
    tmp_path: Path, hosts: list[LoopbackServer], invoke: Invoke
) -> None:
    seeds = _site(tmp_path, hosts)
    report = tmp_path / "shard-2.json"
    invoke("check", str(seeds), "--shard", f"2/{SHARDS}", "-o", str(report), *_options(hosts))
    data = validate_report(json.loads(report.read_text(encoding="utf-8")))
    assert data["shard"] == {"index": 2, "count": SHARDS}
    assert data["fingerprint"]["seeds"]["files"] == len(hosts) + 2
    assert data["fingerprint"]["settings"]["timeout"] == 5.0
    assert [seed["path"] for seed in data["seeds"]] == sorted(str(path) for path in seeds.iterdir())
    skipped = [c for seed in data["seeds"] for c in seed["checks"] if c["reason"] == "not_in_shard"]
    assert skipped and all(check["verdict"] == "skipped" for check in skipped)
    assert all("belongs to shard " in check["message"] for check in skipped)
    others = [host_name(check["url"]) for check in skipped if "staging" not in check["url"]]
    assert others and all(host_partition(host, SHARDS) != 1 for host in others)
    assert data["hosts"] and all(host_partition(host, SHARDS) == 1 for host in data["hosts"])


@pytest.mark.integration
def test_a_merged_report_renders_in_every_format_and_reads_back(
    tmp_path: Path, hosts: list[LoopbackServer], invoke: Invoke
) -> None:
    seeds = _site(tmp_path, hosts)
    paths = []
    for index in (1, 2):
        paths.append(str(tmp_path / f"r{index}.json"))
        invoke("check", str(seeds), "--shard", f"{index}/2", "-o", paths[-1], *_options(hosts))
    formats = [arg for name in sorted(FORMATS) for arg in ("--format", f"{name}:{tmp_path / name}")]
    code, _, err = invoke("merge", *paths, "-o", str(tmp_path / "m.json"), *formats)
    assert code == 1, err
    for name in FORMATS:
        assert (tmp_path / name).stat().st_size > 0, name
    assert "gone" in (tmp_path / "markdown").read_text(encoding="utf-8")
    assert invoke("report", str(tmp_path / "m.json"), "-q")[0] == 1


# -- merge refuses reports that are not the shards of one run --------------------------------


@pytest.fixture
def offline_seeds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Seeds whose URLs are refused without a packet sent (loopback is not allowed)."""
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "seeds"
    folder.mkdir()
    for index in range(6):
        write_seed(folder, f"s{index}.txt", f'webUrl: "http://127.0.0.{index + 1}:9/x"')
    return Path("seeds")


def _shard(invoke: Invoke, seeds: Path, shard: str, name: str, *extra: str) -> str:
    code, _, err = invoke("check", str(seeds), "--shard", shard, "-o", name, "-q", *extra)
    assert code in (0, 1), err
    return name


def _refused(invoke: Invoke, *reports: str) -> str:
    code, out, err = invoke("merge", *reports, "-o", "merged.json")
    assert code == 2
    assert out == ""
    assert err.startswith("linkcheck: error: ") and err.count("\n") == 1, err
    assert not Path("merged.json").exists()
    return err


def test_merge_joins_the_shards_of_one_run(invoke: Invoke, offline_seeds: Path) -> None:
    reports = [_shard(invoke, offline_seeds, f"{k}/3", f"r{k}.json") for k in (3, 1, 2)]
    code, _, err = invoke("merge", *reports, "-o", "merged.json", "-q")
    assert code == 1, err
    data = json.loads(Path("merged.json").read_text(encoding="utf-8"))
    assert data["summary"]["checks"] == 6
    assert data["summary"]["reasons"] == {"unsafe_url": 6}
    assert [seed["path"] for seed in data["seeds"]] == [f"seeds/s{i}.txt" for i in range(6)]


def test_merge_refuses_reports_checked_with_other_settings(
    invoke: Invoke, offline_seeds: Path
) -> None:
    one = _shard(invoke, offline_seeds, "1/2", "r1.json", "--retries", "1")
    two = _shard(invoke, offline_seeds, "2/2", "r2.json", "--retries", "3")
    err = _refused(invoke, one, two)
    assert "r2.json was checked with other settings than r1.json: retries is 3 there, 1 in" in err


def test_merge_ignores_settings_that_cannot_change_a_verdict(
    invoke: Invoke, offline_seeds: Path
) -> None:
    one = _shard(invoke, offline_seeds, "1/2", "r1.json", "--fail-on", "warning")
    two = _shard(invoke, offline_seeds, "2/2", "r2.json", "--concurrency", "3")
    assert invoke("merge", one, two, "-o", "merged.json", "-q")[0] == 1


def test_merge_refuses_different_shard_counts(invoke: Invoke, offline_seeds: Path) -> None:
    one = _shard(invoke, offline_seeds, "1/2", "r1.json")
    two = _shard(invoke, offline_seeds, "2/3", "r2.json")
    err = _refused(invoke, one, two)
    assert "r2.json is shard 2/3 but r1.json is shard 1/2: different shard counts" in err


def test_merge_refuses_other_seed_sets(invoke: Invoke, offline_seeds: Path) -> None:
    one = _shard(invoke, offline_seeds, "1/2", "r1.json")
    write_seed(offline_seeds, "s0.txt", 'webUrl: "http://127.0.0.1:9/changed"')
    two = _shard(invoke, offline_seeds, "2/2", "r2.json")
    err = _refused(invoke, one, two)
    assert "r2.json checked other seed files than r1.json (6 files" in err


def test_merge_refuses_a_missing_shard(invoke: Invoke, offline_seeds: Path) -> None:
    one = _shard(invoke, offline_seeds, "1/3", "r1.json")
    three = _shard(invoke, offline_seeds, "3/3", "r3.json")
    err = _refused(invoke, one, three)
    assert "shard 2 of 3 is missing" in err


def test_merge_refuses_a_shard_given_twice(invoke: Invoke, offline_seeds: Path) -> None:
    one = _shard(invoke, offline_seeds, "1/2", "r1.json")
    again = _shard(invoke, offline_seeds, "1/2", "again.json")
    err = _refused(invoke, one, again, _shard(invoke, offline_seeds, "2/2", "r2.json"))
    assert "r1.json and again.json are both shard 1/2" in err


def test_merge_refuses_a_report_that_is_not_a_shard(invoke: Invoke, offline_seeds: Path) -> None:
    code, _, _ = invoke("check", str(offline_seeds), "-o", "whole.json", "-q")
    assert code == 1
    err = _refused(invoke, "whole.json", _shard(invoke, offline_seeds, "1/2", "r1.json"))
    assert "whole.json is not a shard report" in err


def test_merge_refuses_a_malformed_report(invoke: Invoke, offline_seeds: Path) -> None:
    Path("bad.json").write_text('{"schema_version": 1}', encoding="utf-8")
    err = _refused(invoke, "bad.json")
    assert "bad.json: not a linkcheck report of schema version 1" in err


def test_merge_never_writes_over_one_of_its_reports(invoke: Invoke, offline_seeds: Path) -> None:
    one = _shard(invoke, offline_seeds, "1/2", "r1.json")
    two = _shard(invoke, offline_seeds, "2/2", "r2.json")
    before = Path(one).read_bytes()
    code, _, err = invoke("merge", one, two, "-o", one)
    assert code == 2 and "is an input" in err
    assert Path(one).read_bytes() == before


def test_a_host_asked_by_two_shards_sums_its_costs_and_keeps_the_busier_median(
    invoke: Invoke, offline_seeds: Path
) -> None:
    """A redirect can lead a shard to another shard's host: its entries are combined."""
    reports = []
    for index, (requests, median, limit) in enumerate([(3, 12.5, 8), (5, 40.0, 4)], start=1):
        report = SavedReport.load(
            Path(_shard(invoke, offline_seeds, f"{index}/2", f"r{index}.json"))
        )
        report.data["hosts"]["cdn.test"] = {
            "verdicts": {"ok": requests}, "requests": requests, "retries": 1,
            "median_latency_ms": median, "server_waits": 0, "server_wait_s": 0.25,
            "rate_limited_answers": index, "final_concurrency": limit,
        }  # fmt: skip
        reports.append((f"r{index}.json", report))
    merged = merge_reports(reports).data["hosts"]["cdn.test"]
    assert merged == {
        "verdicts": {"ok": 8}, "requests": 8, "retries": 2, "median_latency_ms": 40.0,
        "server_waits": 0, "server_wait_s": 0.5, "rate_limited_answers": 3, "final_concurrency": 4,
    }  # fmt: skip


# -- merge reads shard reports one seed at a time ----------------------------------------------


def _grown(report: str, copies: int) -> None:
    """The shard report with each seed line repeated ``copies`` times under other paths,
    its checks turned into skipped ones (so the terminal summary stays one line)."""
    lines = Path(report).read_text(encoding="utf-8").split("\n")
    start = lines.index(' "seeds": [') + 1
    skipped = '"verdict":"skipped","reason":"excluded"'
    seeds = [
        line.rstrip(",").replace('"verdict":"failed","reason":"unsafe_url"', skipped)
        for line in lines[start:-3]
    ]
    assert not any('"verdict":"failed"' in seed for seed in seeds)
    grown = [
        seed.replace('{"path":"seeds/', f'{{"path":"seeds/c{copy}/', 1)
        for copy in range(copies)
        for seed in seeds
    ]
    data = json.loads("\n".join(lines[:start]) + "]}")
    data["summary"].update(seeds=len(grown), failed=0)
    header = json.dumps({k: v for k, v in data.items() if k != "seeds"}, indent=1)
    text = header[:-2] + ',\n "seeds": [\n' + ",\n".join(grown) + "\n ]\n}\n"
    Path(report).write_text(text, encoding="utf-8")


def test_a_merge_holds_one_seed_at_a_time_not_the_shard_reports(
    invoke: Invoke, offline_seeds: Path
) -> None:
    import tracemalloc

    names = [_shard(invoke, offline_seeds, f"{k}/2", f"r{k}.json") for k in (1, 2)]
    for name in names:
        _grown(name, 2000)  # 12,000 seeds
    size = sum(Path(name).stat().st_size for name in names)
    tracemalloc.start()
    try:
        code, _, err = invoke("merge", *names, "-o", "merged.json", "--format", "markdown:m.md")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert code == 0, err
    data = json.loads(Path("merged.json").read_text(encoding="utf-8"))
    assert data["summary"]["seeds"] == len(data["seeds"]) == 12000
    assert data["summary"]["checks"] == data["summary"]["skipped"] == 12000
    assert peak < size / 4, f"peak {peak:,} bytes for {size:,} bytes of shard reports"


def test_a_streamed_report_reads_as_the_loaded_one(invoke: Invoke, offline_seeds: Path) -> None:
    name = _shard(invoke, offline_seeds, "1/2", "r1.json")
    loaded, streamed = SavedReport.load(Path(name)), SavedReport.stream(Path(name))
    assert "seeds" not in streamed.data, "the seeds stay on disk"
    assert streamed.header() == loaded.header()
    assert list(streamed.seeds()) == list(loaded.seeds()) == list(streamed.seeds())


def test_merge_takes_a_report_in_another_json_layout(invoke: Invoke, offline_seeds: Path) -> None:
    names = [_shard(invoke, offline_seeds, f"{k}/2", f"r{k}.json") for k in (1, 2)]
    assert invoke("merge", *names, "-o", "plain.json", "-q")[0] == 1
    data = json.loads(Path(names[1]).read_text(encoding="utf-8"))
    Path(names[1]).write_text(json.dumps(data, indent=4), encoding="utf-8")  # as jq would
    assert invoke("merge", *names, "-o", "relaid.json", "-q")[0] == 1
    assert Path("relaid.json").read_bytes() == Path("plain.json").read_bytes()


def test_merge_names_the_report_and_seed_that_breaks_the_schema(
    invoke: Invoke, offline_seeds: Path
) -> None:
    one = _shard(invoke, offline_seeds, "1/2", "r1.json")
    two = _shard(invoke, offline_seeds, "2/2", "r2.json")
    text = Path(two).read_text(encoding="utf-8")
    lines = text.split("\n")
    fourth = lines.index(' "seeds": [') + 4
    lines[fourth] = lines[fourth].replace('"verdict":"failed"', '"verdict":"maybe"', 1)
    assert lines != text.split("\n")
    Path(two).write_text("\n".join(lines), encoding="utf-8")
    err = _refused(invoke, one, two)
    assert "r2.json: not a linkcheck report of schema version 1: $.seeds[3].checks[0]" in err
    assert "'maybe' is not one of" in err


def test_merge_refuses_a_shard_report_cut_short(invoke: Invoke, offline_seeds: Path) -> None:
    one = _shard(invoke, offline_seeds, "1/2", "r1.json")
    two = _shard(invoke, offline_seeds, "2/2", "r2.json")
    lines = Path(two).read_text(encoding="utf-8").split("\n")
    Path(two).write_text("\n".join(lines[:-5]) + "\n", encoding="utf-8")  # two seeds and the end
    err = _refused(invoke, one, two)
    assert "r2.json" in err and "not a linkcheck report" in err


def test_report_renders_a_large_report_one_seed_at_a_time(
    invoke: Invoke, offline_seeds: Path
) -> None:
    import tracemalloc

    name = _shard(invoke, offline_seeds, "1/2", "r1.json")
    _grown(name, 2000)  # 12,000 seeds
    size = Path(name).stat().st_size
    tracemalloc.start()
    try:
        code, _, err = invoke("report", name, "--format", "markdown:m.md", "--format", "csv:c.csv")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert code == 0, err
    assert len(Path("c.csv").read_text(encoding="utf-8").splitlines()) == 1 + 12000, "a row each"
    assert "| 12000 |" in Path("m.md").read_text(encoding="utf-8").replace(",", "")
    assert peak < size / 4, f"peak {peak:,} bytes for a {size:,}-byte report"
