"""DNS as a shared service: one lookup per host, bounded, failures kept, offline seen early."""

from __future__ import annotations

import asyncio
import socket
from collections import Counter
from pathlib import Path

import httpx
from aiohttp.abc import AbstractResolver, ResolveResult

from linkcheck.engine.runner import check
from linkcheck.model.config import Config
from linkcheck.model.reasons import Reason
from linkcheck.net.dns import ResolverUnreachable, SharedResolver
from linkcheck.net.fetch import Fetcher, classify, read_prefix
from linkcheck.net.safety import AddressPolicy
from linkcheck.net.transports import make_transport
from tests.conftest import local_config
from tests.server import LoopbackServer


class FakeResolver(AbstractResolver):
    """Answers from a table after ``delay`` seconds, counting lookups and those in flight.

    A name missing from the table is NXDOMAIN; ``flaky`` names fail with EAI_AGAIN
    that many times first.
    """

    def __init__(
        self,
        table: dict[str, str],
        *,
        delay: float = 0.0,
        flaky: dict[str, int] | None = None,
    ) -> None:
        self.table = table
        self.delay = delay
        self.flaky = dict(flaky or {})
        self.lookups: Counter[str] = Counter()
        self.in_flight = 0
        self.peak = 0

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.lookups[host] += 1
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.in_flight -= 1
        if self.flaky.get(host, 0) > 0:
            self.flaky[host] -= 1
            raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
        if host not in self.table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        address = self.table[host]
        return [
            ResolveResult(
                hostname=host, host=address, port=port, family=socket.AF_INET, proto=0, flags=0
            )
        ]

    async def close(self) -> None:
        pass


def _resolve_all(resolver: SharedResolver, names: list[str], port: int = 443) -> list[object]:
    async def main() -> list[object]:
        tasks = [resolver.resolve(name, port, socket.AF_INET) for name in names]
        return list(await asyncio.gather(*tasks, return_exceptions=True))

    return asyncio.run(main())


def test_many_askers_of_one_host_cause_one_lookup() -> None:
    fake = FakeResolver({"a.example": "93.184.216.34"}, delay=0.05)
    resolver = SharedResolver(fake)

    answers = _resolve_all(resolver, ["a.example"] * 20 + ["A.example"])

    assert fake.lookups == {"a.example": 1}
    assert all(isinstance(a, list) and a[0]["host"] == "93.184.216.34" for a in answers)


def test_an_answer_keeps_the_port_each_asker_wants() -> None:
    fake = FakeResolver({"a.example": "93.184.216.34"})
    resolver = SharedResolver(fake)

    async def main() -> tuple[list[ResolveResult], list[ResolveResult]]:
        https = await resolver.resolve("a.example", 443, socket.AF_INET)
        http = await resolver.resolve("a.example", 80, socket.AF_INET)
        return https, http

    https, http = asyncio.run(main())
    assert (https[0]["port"], http[0]["port"]) == (443, 80)
    assert fake.lookups == {"a.example": 1}


def test_a_failure_is_kept_for_the_run_and_not_asked_again() -> None:
    fake = FakeResolver({})
    resolver = SharedResolver(fake, give_up_after=100)

    first = _resolve_all(resolver, ["gone.example"])
    again = _resolve_all(resolver, ["gone.example"] * 5)

    assert fake.lookups == {"gone.example": 1}
    for failure in first + again:
        assert isinstance(failure, socket.gaierror)
        assert failure.errno == socket.EAI_NONAME


def test_kept_answers_expire_after_the_ttl() -> None:
    now = [0.0]
    fake = FakeResolver({"a.example": "93.184.216.34"})
    resolver = SharedResolver(fake, ttl=60, clock=lambda: now[0])

    _resolve_all(resolver, ["a.example"])
    now[0] = 59.0
    _resolve_all(resolver, ["a.example"])
    assert fake.lookups["a.example"] == 1
    now[0] = 61.0
    _resolve_all(resolver, ["a.example"])
    assert fake.lookups["a.example"] == 2


def test_lookups_in_flight_never_exceed_the_setting() -> None:
    names = [f"h{i}.example" for i in range(30)]
    fake = FakeResolver(dict.fromkeys(names, "93.184.216.34"), delay=0.02)
    resolver = SharedResolver(fake, in_flight=3)

    answers = _resolve_all(resolver, names)

    assert all(isinstance(answer, list) for answer in answers)
    assert fake.peak == 3
    assert sum(fake.lookups.values()) == 30


def test_a_temporary_failure_is_asked_once_more() -> None:
    fake = FakeResolver({"busy.example": "93.184.216.34"}, flaky={"busy.example": 1})
    resolver = SharedResolver(fake, retry_pause=0)

    (answer,) = _resolve_all(resolver, ["busy.example"])

    assert isinstance(answer, list) and answer[0]["host"] == "93.184.216.34"
    assert fake.lookups == {"busy.example": 2}


def test_a_temporary_failure_twice_in_a_row_is_a_failure() -> None:
    fake = FakeResolver({"busy.example": "93.184.216.34"}, flaky={"busy.example": 5})
    resolver = SharedResolver(fake, retry_pause=0)

    (answer,) = _resolve_all(resolver, ["busy.example"])

    assert isinstance(answer, socket.gaierror) and answer.errno == socket.EAI_AGAIN
    assert fake.lookups == {"busy.example": 2}


def test_a_name_that_does_not_exist_is_never_asked_again() -> None:
    fake = FakeResolver({})
    resolver = SharedResolver(fake, retry_pause=0)

    _resolve_all(resolver, ["nxdomain.example"])

    assert fake.lookups == {"nxdomain.example": 1}


def test_when_the_first_hosts_all_fail_the_rest_fail_at_once_without_lookups() -> None:
    names = [f"h{i}.example" for i in range(40)]
    fake = FakeResolver({}, delay=0.01)
    resolver = SharedResolver(fake, in_flight=2, give_up_after=5)

    answers = _resolve_all(resolver, names)

    assert sum(fake.lookups.values()) <= 5 + 2, "only the first few (and those in flight) asked"
    unreachable = [a for a in answers if isinstance(a, ResolverUnreachable)]
    assert len(unreachable) >= 40 - 7
    assert "the resolver looks unreachable" in str(unreachable[0])
    assert "first 5 host names" in str(unreachable[0])


def test_one_resolved_host_means_the_resolver_is_never_given_up_on() -> None:
    names = ["ok.example"] + [f"h{i}.example" for i in range(20)]
    fake = FakeResolver({"ok.example": "93.184.216.34"})
    resolver = SharedResolver(fake, in_flight=1, give_up_after=3)

    answers = _resolve_all(resolver, names)

    assert not any(isinstance(a, ResolverUnreachable) for a in answers)
    assert sum(fake.lookups.values()) == 21


def test_the_unreachable_diagnosis_is_a_dns_failure_with_its_own_message() -> None:
    wrapped = httpx.ConnectError("cannot connect")
    wrapped.__cause__ = ResolverUnreachable(12)

    reason, message = classify(wrapped)

    assert reason is Reason.DNS
    assert message.startswith("not looked up: the resolver looks unreachable")


def test_a_run_resolves_each_host_once_through_the_real_transport(
    server: LoopbackServer, tmp_path: Path
) -> None:
    """Names of the loopback server, through aiohttp's connector: one lookup per host."""
    for index in range(12):
        server.page(f"/p{index}")
    fake = FakeResolver({"one.test": "127.0.0.1", "two.test": "127.0.0.1"})
    config = local_config(tmp_path, allow_hosts=("*.test",))
    policy = AddressPolicy(config.allow_hosts, config.allow_networks)
    transport = make_transport(config, policy, resolver=fake)

    async def main() -> list[int | None]:
        fetcher = Fetcher(config, transport)
        try:
            urls = [
                f"http://{name}:{server.port}/p{index}"
                for index in range(12)
                for name in ("one.test", "two.test")
            ]
            fetched = await asyncio.gather(*(fetcher.fetch(u, read_prefix, 100) for u in urls))
            return [f.status for f in fetched]
        finally:
            await fetcher.aclose()

    statuses = asyncio.run(main())
    assert statuses == [200] * 24
    assert fake.lookups == {"one.test": 1, "two.test": 1}


def test_seeds_on_an_offline_machine_end_quickly_with_the_offline_diagnosis(
    tmp_path: Path,
) -> None:
    """Forty seeds on forty hosts no name of which resolves: a dozen lookups, the rest at once."""
    for index in range(40):
        (tmp_path / f"s{index:02}.txt").write_text(
            f"---\nwebUrl: https://h{index}.offline.test/a\n---\n", encoding="utf-8"
        )
    config = Config(paths=(tmp_path,), output=tmp_path / "report.json", recheck=False)
    fake = FakeResolver({}, delay=0.01)
    transport = make_transport(config, AddressPolicy(), resolver=fake)

    report = check(config, transport)
    try:
        checks = [c for seed in report.seeds() for c in seed["checks"]]
    finally:
        report.discard()

    assert len(checks) == 40
    assert {(c["verdict"], c["reason"]) for c in checks} == {("failed", "dns")}
    assert report.summary.no_host_resolved
    assert sum(fake.lookups.values()) <= 12 + config.dns_concurrency
    offline = [c for c in checks if "resolver looks unreachable" in c["message"]]
    assert len(offline) >= 40 - 12 - config.dns_concurrency
