"""Run the benchmark: start the local web, write a corpus, time ``linkcheck check``, print ratios.

    python -m bench.run [--seeds N] [--latency MS|MIN-MAX] [--tls-share F] [--peers] ...

The checker runs as its own process, so its CPU time and peak RSS (from ``os.wait4``) are
its alone; the server runs in another. With ``--peers``, lychee and linkinator then check
the same unique URLs against the same server, one after another, measured the same way;
with ``--floors``, so do two bare clients (:mod:`bench.floor`: aiohttp, and httpx on
aiohttp), which make linkcheck's requests and nothing else: the HTTP stack's own cost.
With ``--shards N``, a full run is followed by N ``--shard K/N`` runs and their
``linkcheck merge``, checked against the full run and for hosts two shards asked.
The latency lower bound is computed from the server's own per-host request counts and
latencies: max over hosts of ceil(n_h / c) * L_h. Nothing here asserts on time: the output
is figures and ratios. Every wait is bounded, and every child process is ended on exit,
Ctrl-C included.
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import json
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench import server as routes
from bench.corpus import CorpusSpec, CorpusStats, split_hosts, write_corpus
from bench.images import CACHE_DIR, CATALOGUES, ImageFile, load_catalogue
from bench.peers import (
    FLOORS,
    PEERS,
    PeerSettings,
    find_peer,
    peer_run,
    peer_version,
    read_peer_output,
)
from bench.tls import TlsFiles, write_tls_files

ROOT = Path(__file__).resolve().parent.parent
_READY_TIMEOUT_S = 60.0
_STOP_GRACE_S = 10.0


@dataclass(frozen=True)
class BenchConfig:
    """One benchmark run; the CLI and :func:`smoke` build it."""

    seeds: int = 2000
    latency_ms: float = 50.0
    latency_max_ms: float | None = None
    range_share: float = 1.0
    tls_share: float = 0.8
    hosts: int = 30
    host_concurrency: int = 8
    concurrency: int = 128
    retries: int | None = None
    cap: int = 16
    images: str = "realistic"
    cache_dir: Path = CACHE_DIR
    work_dir: Path | None = None
    keep: bool = False
    timeout_s: float = 1800.0
    profiler: str | None = None
    profile_out: Path | None = None
    checker_args: tuple[str, ...] = ()
    checker_pythonpath: Path | None = None
    peers: tuple[str, ...] = ()
    peer_paths: tuple[tuple[str, str], ...] = ()
    #: Shard runs after the full run (``--shards``); 0 for none.
    shards: int = 0
    quiet: bool = False


@dataclass
class ReportFacts:
    """What the harness takes from the checker's JSON report."""

    summary: dict[str, Any] = field(default_factory=dict)
    duration_s: float = 0.0
    retries: int = 0
    rate_limited_answers: int = 0
    redirect_hops: int = 0
    image_follow_ups: int = 0
    unexpected: int = 0
    unexpected_examples: list[str] = field(default_factory=list)
    image_urls: int = 0
    image_bytes_read: int = 0
    image_bytes_total: int = 0
    total_bytes_from_report: bool = False


@dataclass(frozen=True)
class ChildUsage:
    """How the checker process ended and what it cost."""

    exit_code: int
    wall_s: float
    cpu_s: float
    max_rss_mb: float
    timed_out: bool
    started_at: float
    ended_at: float
    load_before: float
    load_after: float


@dataclass(frozen=True)
class BenchWeb:
    """A running server and the corpus written against its ports."""

    work: Path
    tls: TlsFiles | None
    seeds_dir: Path
    corpus: CorpusStats
    stats_url: str
    images: tuple[ImageFile, ...]


@contextlib.contextmanager
def _bench_web(config: BenchConfig) -> Iterator[BenchWeb]:
    """Start the server, write the corpus; on exit stop the server and drop a temp work dir."""
    work = config.work_dir or Path(tempfile.mkdtemp(prefix="linkcheck-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    _compile_checker(config)
    images = load_catalogue(config.images, config.cache_dir)
    specs = _host_specs(config)
    tls_hosts = [spec.address for spec in specs if spec.tls]
    tls = write_tls_files(tls_hosts, work / "tls") if tls_hosts else None
    server: subprocess.Popen[bytes] | None = None
    try:
        server, ports = _start_server(config, work, tls)
        bases = [f"{spec.scheme}://{spec.address}:{ports['port']}" for spec in specs]
        pages, image_hosts = split_hosts(bases)
        spec = CorpusSpec(config.seeds, pages, image_hosts, tuple(item.spec for item in images))
        seeds_dir = work / "seeds"
        shutil.rmtree(seeds_dir, ignore_errors=True)
        corpus = write_corpus(spec, seeds_dir, work / "urls.txt")
        stats_url = f"http://127.0.0.1:{ports['control_port']}"
        yield BenchWeb(work, tls, seeds_dir, corpus, stats_url, images)
    finally:
        if server is not None:
            _stop(server)
        if config.work_dir is None and not config.keep:
            shutil.rmtree(work, ignore_errors=True)


def _compile_checker(config: BenchConfig) -> None:
    """Byte-compile the checker's package, as pip does when it installs one, so that no
    measured run pays for compiling it (an editable install under PYTHONDONTWRITEBYTECODE,
    as on this machine, would compile every module on every run: ~0.17 s)."""
    package = (config.checker_pythonpath or ROOT) / "linkcheck"
    if package.is_dir():
        compileall.compile_dir(package, quiet=1)


def _measured_run(
    config: BenchConfig, web: BenchWeb, name: str = ""
) -> tuple[dict[str, Any], Path]:
    """One checker run against the running web: its metrics and its report's path."""
    metrics, report_path, _ = _measured_pass(config, web, name)
    return metrics, report_path


def _measured_pass(
    config: BenchConfig, web: BenchWeb, name: str = ""
) -> tuple[dict[str, Any], Path, dict[str, Any]]:
    """:func:`_measured_run` plus the server's per-host counts of this run alone."""
    suffix = f"-{name}" if name else ""
    before = _get_json(f"{web.stats_url}/reset")
    report_path = web.work / f"report{suffix}.json"
    report_path.unlink(missing_ok=True)
    log = web.work / f"checker{suffix}.log"
    usage = _run_checker(config, web.seeds_dir, report_path, web.work, web.tls, log)
    after = _get_json(f"{web.stats_url}/stats")
    files = {
        item.spec.name: (after["files"][item.spec.name], item.spec.width, item.spec.height)
        for item in web.images
    }
    if not report_path.exists():
        tail = log.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"the checker wrote no report (exit {usage.exit_code}):\n{tail}")
    facts = read_report(report_path, files)
    cpu = after["cpu_s"] - before["cpu_s"]
    metrics = _metrics(config, web.corpus, usage, facts, after, cpu)
    return metrics, report_path, after["hosts"]


def run_benchmark(config: BenchConfig) -> dict[str, Any]:
    """Run one benchmark and return its metrics (the printed figures, by name)."""
    paths = dict(config.peer_paths)
    peers = {name: find_peer(name, paths.get(name)) for name in config.peers}
    with _bench_web(config) as web:
        metrics, _ = _measured_run(config, web)
        if peers:
            metrics["peers"] = {
                name: _run_peer(config, name, prefix, web.work, web.tls, web.stats_url, metrics)
                for name, prefix in peers.items()
            }
    if not config.quiet:
        print(format_table(metrics))
        if config.work_dir is not None or config.keep:
            print(f"seeds, report and logs kept in {web.work}")
    return metrics


#: The results-store runs: name and the checker arguments added to ``--cache=PATH``.
CACHE_RUNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("cold", ()),
    ("warm", ()),
    ("stale", ("--cache-max-age=0s",)),
)


def run_cache_benchmark(config: BenchConfig) -> dict[str, Any]:
    """Three checker runs on one corpus against ONE server (so URLs stay the same): cold
    (empty store), warm (fresh entries) and stale (every entry revalidated), with each
    run's requests, wall time and body bytes beside the cold run's, and whether its
    verdicts are the cold run's."""
    runs: dict[str, dict[str, Any]] = {}
    with _bench_web(config) as web:
        store = web.work / "cache.sqlite"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{store}{suffix}").unlink(missing_ok=True)
        cold_verdicts: dict[tuple[str, str, str], tuple[str, str]] = {}
        for name, extra in CACHE_RUNS:
            args = (*config.checker_args, f"--cache={store}", *extra)
            metrics, report = _measured_run(replace(config, checker_args=args), web, name)
            verdicts = report_verdicts(report)
            if name == "cold":
                cold_verdicts = verdicts
            runs[name] = _cache_figures(metrics, runs.get("cold"), verdicts, cold_verdicts)
    result = {"cache_runs": runs, "seeds": config.seeds, "latency_ms": config.latency_ms}
    result["latency_max_ms"] = config.latency_max_ms
    if not config.quiet:
        print(format_cache_table(result))
        if config.work_dir is not None or config.keep:
            print(f"seeds, reports, store and logs kept in {web.work}")
    return result


def report_verdicts(path: Path) -> dict[tuple[str, str, str], tuple[str, str]]:
    """Each check's (seed path, field, url) -> (verdict, reason) from a JSON report."""
    _, seeds = _stream_report(path)
    return {
        (str(seed.get("path")), str(check.get("field")), str(check.get("url"))): (
            str(check.get("verdict")),
            str(check.get("reason")),
        )
        for seed in seeds
        for check in seed.get("checks", [])
    }


def _cache_figures(
    metrics: dict[str, Any],
    cold: dict[str, Any] | None,
    verdicts: dict[tuple[str, str, str], tuple[str, str]],
    cold_verdicts: dict[tuple[str, str, str], tuple[str, str]],
) -> dict[str, Any]:
    bytes_sent = metrics["server_bytes_sent"]
    cold = cold or {
        "server_requests": metrics["server_requests"],
        "wall_s": metrics["wall_s"],
        "server_bytes_sent": bytes_sent,
    }

    def share(key: str, value: float) -> float | None:
        return round(value / cold[key], 4) if cold[key] else None

    differing, examples = _verdict_differences(cold_verdicts, verdicts)
    return {
        "server_requests": metrics["server_requests"],
        "requests_share": share("server_requests", metrics["server_requests"]),
        "wall_s": metrics["wall_s"],
        "wall_share": share("wall_s", metrics["wall_s"]),
        "server_bytes_sent": bytes_sent,
        "bytes_share": share("server_bytes_sent", bytes_sent),
        "server_304s": metrics["server_statuses"].get("304", 0),
        "store": metrics["store"],
        "checks": metrics["checks"],
        "failed": metrics["failed"],
        "unexpected_verdicts": metrics["unexpected_verdicts"],
        "verdicts_equal_cold": not differing,
        "verdicts_differing": differing,
        "differing_examples": examples,
        "exit_code": metrics["exit_code"],
        "timed_out": metrics["timed_out"],
    }


def _verdict_differences(
    expected: dict[tuple[str, str, str], tuple[str, str]],
    actual: dict[tuple[str, str, str], tuple[str, str]],
) -> tuple[int, list[str]]:
    """How many checks differ (or are missing on one side), and up to five of them."""
    differing = [key for key, value in expected.items() if actual.get(key) != value]
    differing += [key for key in actual if key not in expected]
    examples = [
        f"{url} ({field}): {expected.get((path, field, url))} -> {actual.get((path, field, url))}"
        for path, field, url in differing[:5]
    ]
    return len(differing), examples


def format_cache_table(result: dict[str, Any]) -> str:
    """One row per results-store run; shares are of the cold run."""
    mb = 1_000_000
    latency = _latency_text(result)
    lines = [
        f"results store: {result['seeds']:,} seeds, latency {latency}, one server for all runs",
        f"{'run':<6} {'requests':>9} {'share':>7} {'wall s':>8} {'share':>7} "
        f"{'body MB':>9} {'share':>7} {'304s':>6} {'hit/reval/miss':>18} {'verdicts':>9}",
    ]
    for name, run in result["cache_runs"].items():
        store = run["store"] or {}
        sources = (
            f"{store.get('hit', '-')}/{store.get('revalidated', '-')}/{store.get('miss', '-')}"
        )
        same = "= cold" if run["verdicts_equal_cold"] else f"{run['verdicts_differing']} differ"
        lines.append(
            f"{name:<6} {run['server_requests']:>9,} {_pct(run['requests_share']):>7} "
            f"{run['wall_s']:>8.2f} {_pct(run['wall_share']):>7} "
            f"{run['server_bytes_sent'] / mb:>9.2f} {_pct(run['bytes_share']):>7} "
            f"{run['server_304s']:>6,} {sources:>18} {same:>9}"
        )
    for name, run in result["cache_runs"].items():
        lines += [f"  {name} differs: {example}" for example in run["differing_examples"]]
        if run["unexpected_verdicts"]:
            lines.append(f"  {name}: {run['unexpected_verdicts']} verdicts not as corpus implies")
        if run["timed_out"]:
            lines.append(f"  {name}: the checker hit the harness timeout and was killed")
    lines.append(
        "(requests and body bytes as the server counted them; hit/reval/miss from the "
        "report's summary)"
    )
    return "\n".join(lines)


#: Reasons of checks a run answers without a request: they say nothing of who owns a host.
_NOT_REQUESTED = frozenset({"not_in_shard", "invalid_url", "unsafe_url", "excluded"})
#: The summary counts a merged report must share with the single run.
_SUMMARY_COUNTS = ("seeds", "checks", "ok", "warning", "failed", "skipped")


def run_shard_benchmark(config: BenchConfig) -> dict[str, Any]:
    """A full run, then ``--shard K/N`` runs one after another on ONE server and corpus,
    then ``linkcheck merge`` of their reports: the merged verdicts and summary against the
    full run's, and the hosts that more than one shard sent requests to (there must be none)."""
    count = config.shards
    with _bench_web(config) as web:
        single, single_report, hosts = _measured_pass(config, web, "single")
        single["hosts_requested"] = sum(1 for host in hosts.values() if host["requests"])
        shards: list[dict[str, Any]] = []
        reports: list[Path] = []
        for index in range(1, count + 1):
            args = (*config.checker_args, f"--shard={index}/{count}")
            shard_config = replace(config, checker_args=args)
            metrics, report, hosts = _measured_pass(shard_config, web, f"shard{index}")
            shards.append(_shard_figures(f"{index}/{count}", metrics, report, hosts))
            reports.append(report)
        merge, merged = _run_merge(config, web, reports)
        result = _shard_result(config, single, single_report, shards, merge, merged)
    if not config.quiet:
        print(format_shard_table(result))
        if config.work_dir is not None or config.keep:
            print(f"seeds, reports and logs kept in {web.work}")
    return result


def _shard_figures(
    shard: str, metrics: dict[str, Any], report: Path, hosts: dict[str, Any]
) -> dict[str, Any]:
    """One shard run: what it cost, which hosts the server saw it ask, which it checked."""
    checked = [
        url for (_, _, url), (_, reason) in report_verdicts(report).items()
        if reason not in _NOT_REQUESTED
    ]  # fmt: skip
    return {
        "shard": shard,
        "wall_s": metrics["wall_s"],
        "server_requests": metrics["server_requests"],
        "hosts_requested": sorted(name for name, host in hosts.items() if host["requests"]),
        "checks_done": len(checked),
        "hosts_checked": sorted({urlsplit(url).hostname or "" for url in checked}),
        "exit_code": metrics["exit_code"],
        "timed_out": metrics["timed_out"],
    }


def _run_merge(
    config: BenchConfig, web: BenchWeb, reports: list[Path]
) -> tuple[dict[str, Any], Path | None]:
    """``linkcheck merge`` as its own process, timed; the merged report's path unless refused."""
    merged = web.work / "merged.json"
    merged.unlink(missing_ok=True)
    log = web.work / "merge.log"
    command = [sys.executable, "-m", "linkcheck", "merge", *map(str, reports)]
    command += ["-o", str(merged), "-q"]
    usage = _run_child(command, web.work, _checker_env(config), log, config.timeout_s)
    figures: dict[str, Any] = {
        "wall_s": round(usage.wall_s, 3),
        "exit_code": usage.exit_code,
        "timed_out": usage.timed_out,
        "error": None,
    }
    if not merged.exists():
        figures["error"] = log.read_text(errors="replace")[-2000:].strip() or "no report"
        return figures, None
    return figures, merged


def _summary_counts(report: Path) -> dict[str, int]:
    summary = _stream_report(report)[0].get("summary", {})
    return {key: summary.get(key, 0) for key in _SUMMARY_COUNTS}


def _shard_result(
    config: BenchConfig,
    single: dict[str, Any],
    single_report: Path,
    shards: list[dict[str, Any]],
    merge: dict[str, Any],
    merged: Path | None,
) -> dict[str, Any]:
    """The figures of :func:`run_shard_benchmark`; sums and shares are of the single run."""
    expected = report_verdicts(single_report)
    if merged is not None:
        differing, examples = _verdict_differences(expected, report_verdicts(merged))
    else:
        differing, examples = len(expected), ["the merge wrote no report"]
    askers: dict[str, list[str]] = {}
    for shard in shards:
        for host in shard["hosts_requested"]:
            askers.setdefault(host, []).append(shard["shard"])
    shared = {host: names for host, names in sorted(askers.items()) if len(names) > 1}
    wall_sum = round(sum(shard["wall_s"] for shard in shards), 3)
    requests_sum = sum(shard["server_requests"] for shard in shards)
    single_counts = _summary_counts(single_report)
    merged_counts = _summary_counts(merged) if merged is not None else None
    return {
        "seeds": config.seeds,
        "hosts": config.hosts,
        "latency_ms": config.latency_ms,
        "latency_max_ms": config.latency_max_ms,
        "shard_count": config.shards,
        "single": {
            "wall_s": single["wall_s"],
            "server_requests": single["server_requests"],
            "hosts_requested": single["hosts_requested"],
            "checks": single["checks"],
            "unexpected_verdicts": single["unexpected_verdicts"],
            "exit_code": single["exit_code"],
            "timed_out": single["timed_out"],
        },
        "shards": shards,
        "shard_wall_sum_s": wall_sum,
        "wall_sum_share": round(wall_sum / single["wall_s"], 4) if single["wall_s"] else None,
        "shard_requests_sum": requests_sum,
        "requests_sum_share": round(requests_sum / single["server_requests"], 4)
        if single["server_requests"]
        else None,
        "merge": merge,
        "merged_verdicts_equal_single": merged is not None and not differing,
        "verdicts_differing": differing,
        "differing_examples": examples,
        "summary_single": single_counts,
        "summary_merged": merged_counts,
        "summaries_equal": merged_counts == single_counts,
        "shared_hosts": shared,
        "shared_host_count": len(shared),
        "load_before": single["load_before"],
        "load_after": os.getloadavg()[0],
        "linkcheck": single["linkcheck"],
    }


def format_shard_table(result: dict[str, Any]) -> str:
    """One row per run (the single one, each shard, their sum), then the merge's checks."""
    single = result["single"]
    lines = [
        f"shards: {result['seeds']:,} seeds, {result['hosts']} hosts, latency "
        f"{_latency_text(result)}, one server for all runs, shards one after another",
        f"{'run':<10} {'wall s':>8} {'requests':>9} {'hosts asked':>11} {'checks done':>11} "
        f"{'exit':>4}",
        f"{'single':<10} {single['wall_s']:>8.2f} {single['server_requests']:>9,} "
        f"{single['hosts_requested']:>11} {single['checks']:>11,} {single['exit_code']:>4}",
    ]
    for shard in result["shards"]:
        lines.append(
            f"{'shard ' + shard['shard']:<10} {shard['wall_s']:>8.2f} "
            f"{shard['server_requests']:>9,} {len(shard['hosts_requested']):>11} "
            f"{shard['checks_done']:>11,} {shard['exit_code']:>4}"
        )
    lines.append(
        f"{'shard sum':<10} {result['shard_wall_sum_s']:>8.2f} "
        f"{result['shard_requests_sum']:>9,}   ({_pct(result['wall_sum_share'])} of the single "
        f"wall time, {_pct(result['requests_sum_share'])} of its requests)"
    )
    merge = result["merge"]
    lines.append(f"merge: {merge['wall_s']:.2f} s, exit {merge['exit_code']}")
    if merge["error"]:
        lines.append(f"  the merge wrote no report: {merge['error']}")
    same = "yes" if result["merged_verdicts_equal_single"] else "NO"
    lines.append(
        f"merged verdicts = single run's? {same} ({result['verdicts_differing']:,} differ)"
    )
    lines += [f"  differs: {example}" for example in result["differing_examples"]]
    counts = ", ".join(f"{key} {value:,}" for key, value in result["summary_single"].items())
    if result["summaries_equal"]:
        lines.append(f"merged summary = single run's? yes: {counts}")
    else:
        lines.append(f"merged summary = single run's? NO: single {counts}")
        lines.append(f"  merged {result['summary_merged']}")
    lines.append(f"hosts asked by more than one shard: {result['shared_host_count']}")
    lines += [
        f"  {host}: shards {', '.join(names)}" for host, names in result["shared_hosts"].items()
    ]
    for run in (single, *result["shards"]):
        if run["timed_out"]:
            lines.append(f"  {run.get('shard', 'single')}: hit the harness timeout and was killed")
    if single["unexpected_verdicts"]:
        lines.append(f"  single: {single['unexpected_verdicts']} verdicts not as corpus implies")
    lines.append(
        f"machine: 1-min load average {result['load_before']} before, "
        f"{result['load_after']:.2f} after; linkcheck: {result['linkcheck']}"
    )
    lines.append("(requests and hosts asked as the server counted them, reset before each run)")
    return "\n".join(lines)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _host_specs(config: BenchConfig) -> tuple[routes.HostSpec, ...]:
    return routes.host_specs(
        config.hosts,
        config.latency_ms,
        config.range_share,
        config.cap,
        config.tls_share,
        config.latency_max_ms,
    )


def _start_server(
    config: BenchConfig, work: Path, tls: TlsFiles | None
) -> tuple[subprocess.Popen[bytes], dict[str, int]]:
    ready = work / "server-ready.json"
    ready.unlink(missing_ok=True)
    command = [
        sys.executable,
        "-m",
        "bench.server",
        f"--hosts={config.hosts}",
        f"--latency={config.latency_ms}",
        f"--range-share={config.range_share}",
        f"--tls-share={config.tls_share}",
        f"--cap={config.cap}",
        f"--images={config.images}",
        f"--cache-dir={config.cache_dir}",
        f"--ready-file={ready}",
        f"--stats-file={work / 'server-stats.json'}",
        f"--max-lifetime={config.timeout_s * (1 + len(config.peers) + config.shards) + 600}",
    ]
    if config.latency_max_ms is not None:
        command.append(f"--latency-max={config.latency_max_ms}")
    if tls is not None:
        command += [f"--cert-file={tls.cert_chain}", f"--key-file={tls.key}"]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    log = (work / "server.log").open("wb")
    server = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log, stderr=log, start_new_session=True
    )
    log.close()
    deadline = time.monotonic() + _READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if ready.exists():
            return server, json.loads(ready.read_text())
        if server.poll() is not None:
            break
        time.sleep(0.05)
    _stop(server)
    detail = (work / "server.log").read_text(errors="replace")[-2000:]
    raise RuntimeError(f"the benchmark server did not start:\n{detail}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, a grace period, then SIGKILL; the process group goes with it."""
    if process.poll() is not None:
        return
    for signum, grace in ((signal.SIGTERM, _STOP_GRACE_S), (signal.SIGKILL, _STOP_GRACE_S)):
        try:
            os.killpg(process.pid, signum)
        except ProcessLookupError:
            return
        try:
            process.wait(grace)
            return
        except subprocess.TimeoutExpired:
            continue


def _checker_command(
    config: BenchConfig, seeds_dir: Path, report: Path, tls: TlsFiles | None
) -> list[str]:
    command = [
        "check",
        str(seeds_dir),
        "--allow-network",
        "127.0.0.0/8",
        "--no-env-proxy",
        "-o",
        str(report),
        "-q",
        f"--concurrency={config.concurrency}",
        f"--host-concurrency={config.host_concurrency}",
    ]
    if config.retries is not None:
        command.append(f"--retries={config.retries}")
    if tls is not None:
        command.append(f"--ca-bundle={tls.ca}")
    command += config.checker_args
    checker = [sys.executable, "-m", "linkcheck", *command]
    if config.profiler == "py-spy":
        out = config.profile_out or Path.cwd() / "profile.svg"
        spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        kind = {".txt": "raw", ".json": "speedscope"}.get(out.suffix, "flamegraph")
        return [spy, "record", "-o", str(out), "-f", kind, "-r", "200", "--", *checker]
    if config.profiler == "pyinstrument":
        out = config.profile_out or Path.cwd() / "profile.txt"
        renderer = "html" if out.suffix == ".html" else "text"
        return [sys.executable, "-m", "pyinstrument", "-r", renderer, "-o", str(out), *checker[1:]]
    return checker


def _checker_env(config: BenchConfig) -> dict[str, str]:
    """The environment without proxy settings; ``checker_pythonpath`` first on the path."""
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    if config.checker_pythonpath is not None:
        env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(config.checker_pythonpath), env.get("PYTHONPATH")])
        )
    return env


def _run_checker(
    config: BenchConfig,
    seeds_dir: Path,
    report: Path,
    work: Path,
    tls: TlsFiles | None,
    log: Path | None = None,
) -> ChildUsage:
    """Run the checker to its end (or the timeout) and take its rusage from ``wait4``."""
    command = _checker_command(config, seeds_dir, report, tls)
    log = log or work / "checker.log"
    return _run_child(command, work, _checker_env(config), log, config.timeout_s)


def _run_child(
    command: list[str],
    cwd: Path,
    env: dict[str, str],
    log_path: Path,
    timeout_s: float,
    stdout_path: Path | None = None,
) -> ChildUsage:
    """Run one measured process in its own session; stdout to ``stdout_path`` or the log."""
    log = log_path.open("wb")
    out = stdout_path.open("wb") if stdout_path is not None else log
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    try:
        process = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=out, stderr=log, start_new_session=True
        )
    finally:
        log.close()
        out.close()
    waited: list[tuple[int, int, Any]] = []
    waiter = threading.Thread(target=lambda: waited.append(os.wait4(process.pid, 0)), daemon=True)
    waiter.start()
    timed_out = False
    try:
        waiter.join(timeout_s)
        if waiter.is_alive():
            timed_out = True
            for signum in (signal.SIGTERM, signal.SIGKILL):
                os.killpg(process.pid, signum)
                waiter.join(_STOP_GRACE_S)
                if not waiter.is_alive():
                    break
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        waiter.join(_STOP_GRACE_S)
        raise
    ended = time.monotonic()
    wall = ended - started
    if not waited:
        raise RuntimeError(f"the checker (pid {process.pid}) could not be reaped")
    _, status, rusage = waited[0]
    process.returncode = os.waitstatus_to_exitcode(status)
    return ChildUsage(
        exit_code=process.returncode,
        wall_s=wall,
        cpu_s=rusage.ru_utime + rusage.ru_stime,
        max_rss_mb=rusage.ru_maxrss / 1024,
        timed_out=timed_out,
        started_at=started,
        ended_at=ended,
        load_before=load_before,
        load_after=os.getloadavg()[0],
    )


def _run_peer(
    config: BenchConfig,
    name: str,
    prefix: list[str],
    work: Path,
    tls: TlsFiles | None,
    stats_url: str,
    ours: dict[str, Any],
) -> dict[str, Any]:
    """One peer over ``urls.txt`` against the same server, with its own server counts."""
    settings = PeerSettings(
        concurrency=config.concurrency,
        host_concurrency=config.host_concurrency,
        retries=2 if config.retries is None else config.retries,
        ca=tls.ca if tls is not None else None,
    )
    run = peer_run(name, prefix, settings, work)
    run.output.unlink(missing_ok=True)
    env = {**{k: v for k, v in os.environ.items() if "proxy" not in k.lower()}, **run.env}
    _get_json(f"{stats_url}/reset")
    usage = _run_child(
        list(run.command),
        work,
        env,
        work / f"{name}.log",
        config.timeout_s,
        run.output if run.stdout_is_output else None,
    )
    hosts = _get_json(f"{stats_url}/stats")["hosts"]
    urls = ours["unique_urls"] or 1
    figures: dict[str, Any] = {
        "version": peer_version(prefix),
        "command": " ".join(run.command),
        "exit_code": usage.exit_code,
        "timed_out": usage.timed_out,
        "wall_s": round(usage.wall_s, 3),
        "cpu_s": round(usage.cpu_s, 3),
        "cpu_ms_per_url": round(usage.cpu_s * 1000 / urls, 3),
        "peak_rss_mb": round(usage.max_rss_mb, 1),
        "wall_ratio": round(usage.wall_s / ours["wall_s"], 2) if ours["wall_s"] else None,
        "cpu_ratio": round(usage.cpu_s / ours["cpu_s"], 2) if ours["cpu_s"] else None,
        "server_requests": sum(host["requests"] for host in hosts.values()),
        "server_429s": sum(host["statuses"].get("429", 0) for host in hosts.values()),
        "peak_in_flight_per_host": max((h["peak_in_flight"] for h in hosts.values()), default=0),
        "server_connections": sum(host["connections"] for host in hosts.values()),
        "load_before": round(usage.load_before, 2),
        "load_after": round(usage.load_after, 2),
        "checked": None,
        "failed": None,
        "unexpected_verdicts": None,
        "unexpected_examples": [],
    }
    if run.output.exists() and run.output.stat().st_size:
        with (work / "urls.txt").open() as listing:
            verdicts = read_peer_output(run, (line.strip() for line in listing if line.strip()))
        figures.update(
            checked=verdicts.checked,
            failed=verdicts.failed,
            unexpected_verdicts=verdicts.unexpected,
            unexpected_examples=list(verdicts.examples),
        )
    return figures


def linkcheck_version(pythonpath: Path | None = None) -> str:
    """The checked-out commit of the package and whether ``linkcheck/`` has local edits."""
    if pythonpath is not None:
        return f"imported from {pythonpath}"

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(ROOT), *args], capture_output=True, text=True, timeout=30
        )
        return done.stdout.strip() if done.returncode == 0 else ""

    try:
        commit = git("rev-parse", "--short", "HEAD") or "unknown"
        dirty = bool(git("status", "--porcelain", "--", "linkcheck"))
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + (" + local edits" if dirty else "")


def _get_json(url: str) -> dict[str, Any]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=30) as answer:
        data: dict[str, Any] = json.load(answer)
    return data


def read_report(path: Path, files: dict[str, tuple[int, int, int]]) -> ReportFacts:
    """Summary figures, per-unique-URL image bytes and unexpected verdicts, seed by seed.

    ``files`` maps a catalogue name to its (size, width, height). A check is expected to
    fail when its path says 404/500 or its claimed size is not the file's.
    """
    header, seeds = _stream_report(path)
    facts = ReportFacts(summary=header.get("summary", {}), duration_s=header.get("duration_s", 0))
    for host in header.get("hosts", {}).values():
        facts.retries += host.get("retries", 0)
        facts.rate_limited_answers += host.get("rate_limited_answers", 0)
    seen: set[str] = set()
    for seed in seeds:
        checks = seed.get("checks", [])
        for check in checks:
            _expectation(check, files, facts, _link_warning_expected(check, checks))
            url = check.get("url")
            if url in seen or check.get("reason") in ("invalid_url", "unsafe_url", "excluded"):
                continue
            seen.add(url)
            facts.redirect_hops += len(check.get("redirects") or [])
            image = check.get("image")
            if image is None:
                continue
            facts.image_follow_ups += max(0, (image.get("requests") or 0) - 1)
            parts = urlsplit(url).path.split("/")
            if len(parts) < 3 or parts[1] != routes.IMAGE:
                continue
            facts.image_urls += 1
            facts.image_bytes_read += image.get("bytes_read") or 0
            if image.get("total_bytes"):
                facts.image_bytes_total += image["total_bytes"]
                facts.total_bytes_from_report = True
            else:
                facts.image_bytes_total += files.get(parts[2], (0, 0, 0))[0]
    return facts


def _breaks(url: str) -> bool:
    """Whether the corpus made this URL fail on purpose (a 404 or 500 path)."""
    parts = urlsplit(url).path.split("/")
    kind = parts[1] if len(parts) > 2 else ""
    broken = (routes.GONE, routes.ERROR, routes.IMAGE_GONE, routes.IMAGE_ERROR, routes.HOME)
    return kind in (*broken, routes.NOT_FOUND, routes.PLAIN)


def _link_warning_expected(check: dict[str, Any], checks: list[dict[str, Any]]) -> bool:
    """An article's AMP page names its canonical page and the page its AMP version; when
    the seed's other URL of the pair is one the corpus breaks, the link cannot match it,
    so canonical_mismatch (on ampWebUrl) or amphtml_mismatch (on webUrl) is expected."""
    field = str(check.get("field", ""))
    prefix, _, name = field.rpartition(".")
    expected = {
        "ampWebUrl": ("webUrl", "canonical_mismatch"),
        "webUrl": ("ampWebUrl", "amphtml_mismatch"),
    }
    if name not in expected or check.get("reason") != expected[name][1]:
        return False
    partner = f"{prefix}.{expected[name][0]}" if prefix else expected[name][0]
    return any(other.get("field") == partner and _breaks(other.get("url", "")) for other in checks)


def _expectation(
    check: dict[str, Any],
    files: dict[str, tuple[int, int, int]],
    facts: ReportFacts,
    link_warning: bool = False,
) -> None:
    """Count (and keep a few examples of) checks whose verdict is not what the URL implies.

    Warnings are unexpected too, except the link warnings the corpus implies.
    """
    parts = urlsplit(check.get("url", "")).path.split("/")
    kind = parts[1] if len(parts) > 2 else ""
    failing = _breaks(check.get("url", ""))
    image = check.get("image")
    if kind == routes.IMAGE and image is not None and parts[2] in files:
        _, width, height = files[parts[2]]
        failing = (image.get("claimed_width"), image.get("claimed_height")) != (width, height)
    verdict = check.get("verdict")
    warned = verdict == "warning" and not link_warning
    if (verdict == "failed") != failing or verdict == "skipped" or warned:
        facts.unexpected += 1
        if len(facts.unexpected_examples) < 5:
            facts.unexpected_examples.append(
                f"{check.get('url')}: {verdict} {check.get('reason')} ({check.get('message')})"
            )


def _stream_report(path: Path) -> tuple[dict[str, Any], Iterator[dict[str, Any]]]:
    """The header and an iterator over seeds; one seed per line as written, else ``json.load``."""
    with path.open(encoding="utf-8") as stream:
        head: list[str] = []
        for line in stream:
            if line.strip() == '"seeds": [':
                break
            head.append(line)
            if len(head) > 100_000:
                break
        try:
            text = "".join(head).rstrip().rstrip(",") + "\n}"
            header = json.loads(text)
        except json.JSONDecodeError:
            header = None
    if header is None:
        data = json.loads(path.read_text(encoding="utf-8"))
        seeds = data.pop("seeds", [])
        return data, iter(seeds)
    return header, _seed_lines(path, len(head) + 1)


def _seed_lines(path: Path, skip: int) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as stream:
        for index, line in enumerate(stream):
            if index < skip:
                continue
            text = line.strip().rstrip(",")
            if text.startswith("{"):
                yield json.loads(text)
            elif text == "]":
                return


def _metrics(
    config: BenchConfig,
    corpus: CorpusStats,
    usage: ChildUsage,
    facts: ReportFacts,
    stats: dict[str, Any],
    server_cpu_s: float,
) -> dict[str, Any]:
    summary = facts.summary
    hosts = stats["hosts"]
    server_requests = sum(host["requests"] for host in hosts.values())
    statuses: dict[str, int] = {}
    for host in hosts.values():
        for status, count in host["statuses"].items():
            statuses[status] = statuses.get(status, 0) + count

    def host_bound(host: dict[str, Any]) -> float:
        return float(math.ceil(host["requests"] / config.host_concurrency) * host["latency_ms"])

    bounding: dict[str, Any] = max(hosts.values(), key=host_bound, default={})
    bound = host_bound(bounding) / 1000 if bounding else 0.0
    busiest: dict[str, Any] = max(hosts.values(), key=lambda host: host["requests"], default={})
    firsts = [host["started_at"] for host in hosts.values() if host["started_at"] is not None]
    lasts = [host["started_at"] + host["active_s"] for host in hosts.values() if host["started_at"]]
    urls = summary.get("urls", 0)
    requests = summary.get("requests", 0)
    explained = urls + facts.retries + facts.redirect_hops + facts.image_follow_ups
    wall = usage.wall_s
    total = facts.image_bytes_total
    return {
        "seeds": summary.get("seeds", 0),
        "checks": summary.get("checks", 0),
        "unique_urls": urls,
        "corpus_unique_urls": corpus.unique_urls,
        "requests": requests,
        "server_requests": server_requests,
        "retries": facts.retries,
        "redirect_hops": facts.redirect_hops,
        "image_follow_up_requests": facts.image_follow_ups,
        "requests_unexplained": requests - explained,
        "requests_equal_urls_plus_retries": requests == urls + facts.retries,
        "requests_fully_explained": requests == explained,
        "unexpected_verdicts": facts.unexpected,
        "unexpected_examples": facts.unexpected_examples,
        "ok": summary.get("ok", 0),
        "failed": summary.get("failed", 0),
        "warning": summary.get("warning", 0),
        "skipped": summary.get("skipped", 0),
        "expected_failed": corpus.expected_failed_checks,
        "exit_code": usage.exit_code,
        "timed_out": usage.timed_out,
        "wall_s": round(wall, 3),
        "report_duration_s": facts.duration_s,
        "first_request_after_s": round(min(firsts) - usage.started_at, 3) if firsts else None,
        "exit_after_last_answer_s": round(usage.ended_at - max(lasts), 3) if lasts else None,
        "requests_per_s": round(server_requests / wall, 1) if wall else 0.0,
        "checks_per_s": round(summary.get("checks", 0) / wall, 1) if wall else 0.0,
        "cpu_s": round(usage.cpu_s, 3),
        "cpu_ms_per_url": round(usage.cpu_s * 1000 / urls, 3) if urls else None,
        "cpu_busy_share": round(usage.cpu_s / wall, 3) if wall else 0.0,
        "server_cpu_s": round(server_cpu_s, 3),
        "peak_rss_mb": round(usage.max_rss_mb, 1),
        "image_urls": facts.image_urls,
        "image_bytes_read": facts.image_bytes_read,
        "image_bytes_total": total,
        "image_read_share": round(facts.image_bytes_read / total, 5) if total else None,
        "image_total_from_report": facts.total_bytes_from_report,
        "server_bytes_sent": sum(host["bytes_sent"] for host in hosts.values()),
        "store": summary.get("cache"),
        "server_image_bytes_sent": sum(host["image_bytes_sent"] for host in hosts.values()),
        "server_range_requests": sum(host["range_requests"] for host in hosts.values()),
        "server_statuses": dict(sorted(statuses.items())),
        "server_429s": statuses.get("429", 0),
        "peak_in_flight_per_host": max((h["peak_in_flight"] for h in hosts.values()), default=0),
        "server_connections": sum(host["connections"] for host in hosts.values()),
        "busiest_host_requests": busiest.get("requests", 0),
        "busiest_host_active_s": busiest.get("active_s", 0.0),
        "busiest_host_mean_in_flight": busiest.get("mean_in_flight", 0.0),
        "latency_ms": config.latency_ms,
        "latency_max_ms": config.latency_max_ms,
        "host_concurrency": config.host_concurrency,
        "concurrency": config.concurrency,
        "hosts": config.hosts,
        "range_share": config.range_share,
        "tls_share": config.tls_share,
        "https_hosts": sum(1 for host in hosts.values() if host.get("tls")),
        "https_requests": sum(host["requests"] for host in hosts.values() if host.get("tls")),
        "lower_bound_s": round(bound, 3),
        "bound_host_requests": bounding.get("requests", 0),
        "bound_host_latency_ms": bounding.get("latency_ms", 0.0),
        "efficiency": round(bound / wall, 3) if wall and bound else None,
        "efficiency_in_run": round(bound / facts.duration_s, 3)
        if facts.duration_s and bound
        else None,
        "profiler": config.profiler,
        "load_before": round(usage.load_before, 2),
        "load_after": round(usage.load_after, 2),
        "cpus": os.cpu_count(),
        "linkcheck": linkcheck_version(config.checker_pythonpath),
        "checker_args": list(config.checker_args),
    }


def format_table(m: dict[str, Any]) -> str:
    """The metrics as an aligned two-column table, then the check lines."""

    def share(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.2%}"

    mb = 1_000_000
    rows = [
        ("seeds", f"{m['seeds']:,}"),
        ("checks", f"{m['checks']:,}"),
        ("unique URLs", f"{m['unique_urls']:,} (corpus says {m['corpus_unique_urls']:,})"),
        ("requests", f"{m['requests']:,} (server counted {m['server_requests']:,})"),
        (
            "hosts",
            f"{m['hosts']} ({m['https_hosts']} on HTTPS, {m['https_requests']:,} requests; "
            f"latency {_latency_text(m)}; c={m['host_concurrency']}, "
            f"total {m['concurrency']})",
        ),
        ("wall time", f"{m['wall_s']:.2f} s (report duration {m['report_duration_s']:.2f} s)"),
        (
            "traffic window",
            f"first request {m['first_request_after_s']} s after start, exit "
            f"{m['exit_after_last_answer_s']} s after the last answer",
        ),
        ("requests/s", f"{m['requests_per_s']:,.0f}"),
        ("checks/s", f"{m['checks_per_s']:,.0f}"),
        (
            "CPU time",
            f"{m['cpu_s']:.2f} s ({m['cpu_ms_per_url']} ms per unique URL; busy "
            f"{m['cpu_busy_share']:.0%} of the wall time)",
        ),
        ("server CPU", f"{m['server_cpu_s']:.2f} s"),
        ("peak RSS (checker)", f"{m['peak_rss_mb']:.0f} MB"),
        (
            "image bytes read",
            f"{m['image_bytes_read'] / mb:,.1f} MB of {m['image_bytes_total'] / mb:,.1f} MB "
            f"= {share(m['image_read_share'])} ({m['image_urls']:,} images; server sent "
            f"{m['server_image_bytes_sent'] / mb:,.1f} MB, {m['server_range_requests']:,} ranges)",
        ),
        (
            "latency lower bound",
            f"{m['lower_bound_s']:.2f} s (set by a host with {m['bound_host_requests']:,} "
            f"requests, c={m['host_concurrency']}, L={m['bound_host_latency_ms']:g} ms)",
        ),
        ("efficiency", f"{m['efficiency']} (in-run: {m['efficiency_in_run']})"),
        (
            "busiest host",
            f"active {m['busiest_host_active_s']:.2f} s, mean "
            f"{m['busiest_host_mean_in_flight']:.2f} in flight (limit {m['host_concurrency']})",
        ),
    ]
    width = max(len(name) for name, _ in rows)
    lines = [f"{name:<{width}}  {value}" for name, value in rows]
    lines.append("")
    verdict = "yes" if m["requests_equal_urls_plus_retries"] else "no"
    lines.append(
        f"requests = unique URLs + retries? {verdict}: {m['requests']:,} vs "
        f"{m['unique_urls']:,} + {m['retries']:,}; the rest: redirect hops "
        f"{m['redirect_hops']:,}, image follow-up ranges {m['image_follow_up_requests']:,}, "
        f"other {m['requests_unexplained']:,} (first tries of the recheck pass)"
    )
    lines.append(
        f"verdicts as the corpus implies? {m['unexpected_verdicts']:,} unexpected; failed "
        f"{m['failed']:,} (corpus expects {m['expected_failed']:,}), warning "
        f"{m['warning']:,}, skipped {m['skipped']:,}"
    )
    lines += [f"  unexpected: {example}" for example in m["unexpected_examples"]]
    lines.append(
        f"politeness: peak in flight per host {m['peak_in_flight_per_host']} "
        f"(limit {m['host_concurrency']}), 429 answers {m['server_429s']:,}; "
        f"{m['server_connections']:,} connections opened"
    )
    lines.append(f"server statuses: {m['server_statuses']}; checker exit code {m['exit_code']}")
    if m["timed_out"]:
        lines.append("the checker hit the harness timeout and was killed")
    lines.append(
        f"machine: 1-min load average {m['load_before']} before, {m['load_after']} after "
        f"({m['cpus']} CPUs; other work on the machine skews wall and CPU time)"
    )
    lines.append(f"linkcheck: {m['linkcheck']}")
    if m["profiler"]:
        lines.append(f"profiled with {m['profiler']}: time and CPU figures include its overhead")
    if m.get("peers"):
        lines += ["", *format_peers(m)]
    return "\n".join(lines)


def _latency_text(m: dict[str, Any]) -> str:
    top = m.get("latency_max_ms")
    if top is not None and top != m["latency_ms"]:
        return f"{m['latency_ms']:g}-{top:g} ms per host"
    return f"{m['latency_ms']:g} ms"


def format_peers(m: dict[str, Any]) -> list[str]:
    """One row per peer beside linkcheck's own; ratios are peer / linkcheck."""
    header = (
        f"{'checker':<13} {'wall s':>8} {'ratio':>6} {'CPU s':>7} {'ratio':>6} {'ms/URL':>7} "
        f"{'RSS MB':>7} {'requests':>9} {'conns':>6} {'429s':>6} {'peak/host':>9} "
        f"{'failed':>7} {'unexpected':>10}"
    )
    rows = [
        "peers on the same unique URLs (status only; ratio = peer / linkcheck)",
        header,
        f"{'linkcheck':<13} {m['wall_s']:>8.2f} {1:>6.2f} {m['cpu_s']:>7.2f} {1:>6.2f} "
        f"{m['cpu_ms_per_url'] or 0:>7.3f} {m['peak_rss_mb']:>7.0f} {m['server_requests']:>9,} "
        f"{m['server_connections']:>6,} {m['server_429s']:>6,} "
        f"{m['peak_in_flight_per_host']:>9} {m['failed']:>7,} {m['unexpected_verdicts']:>10}",
    ]
    for name, p in m["peers"].items():
        failed = "-" if p["failed"] is None else f"{p['failed']:,}"
        unexpected = "-" if p["unexpected_verdicts"] is None else str(p["unexpected_verdicts"])
        rows.append(
            f"{name:<13} {p['wall_s']:>8.2f} {p['wall_ratio'] or 0:>6.2f} {p['cpu_s']:>7.2f} "
            f"{p['cpu_ratio'] or 0:>6.2f} {p['cpu_ms_per_url']:>7.3f} {p['peak_rss_mb']:>7.0f} "
            f"{p['server_requests']:>9,} {p['server_connections']:>6,} {p['server_429s']:>6,} "
            f"{p['peak_in_flight_per_host']:>9} {failed:>7} {unexpected:>10}"
        )
    rows.append(
        "(linkcheck's failed counts checks, size claims included; a peer's counts URLs by "
        "status alone)"
    )
    for name, p in m["peers"].items():
        rows.append(f"{name} {p['version']}: exit {p['exit_code']}; load {p['load_before']}")
        if p["timed_out"]:
            rows.append(f"  {name} hit the harness timeout and was killed")
        rows += [f"  unexpected: {example}" for example in p["unexpected_examples"]]
        rows.append(f"  {p['command']}")
    return rows


def smoke(
    tmp_dir: Path | str, cache_runs: bool = False, shards: int = 0, peers: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The whole benchmark at toy size (20 seeds, no latency, 3 hosts, tiny images);
    with ``cache_runs``, its cold, warm and stale results-store runs instead; with
    ``shards``, a full run beside that many shard runs and their merge; ``peers`` as
    ``--peer`` (the floors need no install)."""
    tmp = Path(tmp_dir)
    config = BenchConfig(
        seeds=20,
        latency_ms=0.0,
        hosts=3,
        images="tiny",
        cache_dir=tmp / "cache",
        work_dir=tmp / "work",
        timeout_s=25.0,
        shards=shards,
        peers=peers,
    )
    if shards:
        return run_shard_benchmark(config)
    return run_cache_benchmark(config) if cache_runs else run_benchmark(config)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=2000, help="seed files [2000]")
    parser.add_argument(
        "--latency",
        type=_latency_range,
        default=(50.0, None),
        help="ms per answer, or MIN-MAX to vary it per host [50]",
    )
    parser.add_argument(
        "--range",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="hosts honour HTTP Range [yes]",
    )
    parser.add_argument("--range-share", type=float, help="share of hosts honouring Range")
    parser.add_argument(
        "--tls-share", type=float, default=0.8, help="share of hosts on HTTPS, the rest HTTP [0.8]"
    )
    parser.add_argument("--hosts", type=int, default=30, help="hosts, 1 to 250 [30]")
    parser.add_argument("--host-concurrency", type=int, default=8, help="checker's c [8]")
    parser.add_argument("--concurrency", type=int, default=128, help="checker's total [128]")
    parser.add_argument("--retries", type=int, help="checker's --retries [its default]")
    parser.add_argument("--cap", type=int, default=16, help="server's 429 threshold [16]")
    parser.add_argument("--images", choices=sorted(CATALOGUES), default="realistic")
    parser.add_argument("--cache-dir", type=Path, default=CACHE_DIR)
    parser.add_argument("--work-dir", type=Path, help="keep seeds, report and logs here")
    parser.add_argument("--keep", action="store_true", help="keep the temporary work dir")
    parser.add_argument(
        "--timeout", type=float, default=1800.0, help="kill the checker after [1800 s]"
    )
    parser.add_argument(
        "--profile", choices=("py-spy", "pyinstrument"), help="run under a profiler"
    )
    parser.add_argument("--profile-out", type=Path, help="profile file [profile.svg|profile.txt]")
    parser.add_argument(
        "--cache-runs",
        action="store_true",
        help="three runs on one server and corpus with a results store: cold, warm, stale",
    )
    parser.add_argument(
        "--shards",
        type=int,
        metavar="N",
        help="a full run, then N --shard K/N runs one after another on one server, merged",
    )
    parser.add_argument("--json", type=Path, help="also write the metrics here")
    parser.add_argument("--repeat", type=int, default=1, help="runs; medians are printed [1]")
    parser.add_argument(
        "--checker-arg", action="append", default=[], help="extra linkcheck argument, repeatable"
    )
    parser.add_argument(
        "--checker-pythonpath",
        type=Path,
        help="import linkcheck from here (e.g. a `git archive` of a commit)",
    )
    parser.add_argument(
        "--peers", action="store_true", help="also run lychee and linkinator on the same URLs"
    )
    parser.add_argument(
        "--floors",
        action="store_true",
        help="also run the bare aiohttp and httpx clients on the same URLs (bench.floor)",
    )
    parser.add_argument(
        "--peer",
        action="append",
        choices=PEERS + FLOORS,
        default=[],
        help="run this peer or floor, repeatable",
    )
    parser.add_argument("--lychee", help="lychee executable [PATH, then the venv]")
    parser.add_argument(
        "--linkinator", help="linkinator executable or cli.js [bench/.cache/peers, then PATH]"
    )
    args = parser.parse_args(argv)
    chosen = [*(PEERS if args.peers else ()), *(FLOORS if args.floors else ()), *args.peer]
    peers = tuple(dict.fromkeys(chosen))
    peer_paths = tuple(
        (name, path)
        for name, path in (("lychee", args.lychee), ("linkinator", args.linkinator))
        if path
    )
    range_share = args.range_share if args.range_share is not None else float(args.range)
    config = BenchConfig(
        seeds=args.seeds,
        latency_ms=args.latency[0],
        latency_max_ms=args.latency[1],
        range_share=range_share,
        tls_share=args.tls_share,
        hosts=args.hosts,
        host_concurrency=args.host_concurrency,
        concurrency=args.concurrency,
        retries=args.retries,
        cap=args.cap,
        images=args.images,
        cache_dir=args.cache_dir,
        work_dir=args.work_dir,
        keep=args.keep,
        timeout_s=args.timeout,
        profiler=args.profile,
        profile_out=args.profile_out.resolve() if args.profile_out else None,
        checker_args=tuple(args.checker_arg),
        checker_pythonpath=args.checker_pythonpath.resolve() if args.checker_pythonpath else None,
        peers=peers,
        peer_paths=peer_paths,
        shards=args.shards or 0,
    )
    runs: list[dict[str, Any]] = []
    signal.signal(signal.SIGTERM, _raise_interrupt)
    if args.shards is not None:
        if args.shards < 1:
            parser.error("--shards must be at least 1")
        if peers or args.repeat > 1 or args.cache_runs:
            parser.error("--shards runs neither peers, repeats nor results-store runs")
        return _run_and_write(run_shard_benchmark, config, args.json)
    if args.cache_runs:
        if peers or args.repeat > 1:
            parser.error("--cache-runs runs neither peers nor repeats")
        return _run_and_write(run_cache_benchmark, config, args.json)
    try:
        for _ in range(max(1, args.repeat)):
            runs.append(run_benchmark(config))
            print()
    except KeyboardInterrupt:
        print("interrupted; the server and the checker were stopped", file=sys.stderr)
        return 130
    result: dict[str, Any] = runs[0]
    if len(runs) > 1:
        result = median_metrics(runs)
        print(f"median of {len(runs)} runs\n{format_table(result)}")
        result = {**result, "runs": runs}
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return 0


def _run_and_write(
    run: Callable[[BenchConfig], dict[str, Any]], config: BenchConfig, out: Path | None
) -> int:
    """One run of a multi-run mode; its figures to ``out`` when given; 130 on Ctrl-C."""
    try:
        result = run(config)
    except KeyboardInterrupt:
        print("interrupted; the server and the checker were stopped", file=sys.stderr)
        return 130
    if out:
        out.write_text(json.dumps(result, indent=1))
    return 0


def _latency_range(text: str) -> tuple[float, float | None]:
    """``50`` or ``20-60`` (milliseconds) as (low, high or None)."""
    low, dash, high = text.partition("-")
    try:
        values = (float(low), float(high) if dash else None)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not MS or MIN-MAX: {text!r}") from None
    if values[0] < 0 or (values[1] is not None and values[1] < values[0]):
        raise argparse.ArgumentTypeError(f"not a latency range: {text!r}")
    return values


def _raise_interrupt(signum: int, frame: object) -> None:
    """SIGTERM ends the run like Ctrl-C: children stopped, work dir removed."""
    raise KeyboardInterrupt


def median_metrics(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Each numeric figure's median over ``runs`` (peers' too); other values from the first."""
    merged = dict(runs[0])
    for key, value in runs[0].items():
        if isinstance(value, dict) and all(isinstance(run.get(key), dict) for run in runs):
            nested: list[dict[str, Any]] = [run[key] for run in runs]
            if all(isinstance(v, dict) for inner in nested for v in inner.values()):
                merged[key] = {
                    name: median_metrics([inner[name] for inner in nested if name in inner])
                    for name in value
                }
            continue
        values = [run[key] for run in runs]
        numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
        if numeric and isinstance(value, int | float):
            merged[key] = statistics.median(values)
    return merged


if __name__ == "__main__":
    sys.exit(main())
