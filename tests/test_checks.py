"""Verdicts for pages and images, with HTTP mocked by respx (no network)."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from linkcheck.engine.runner import check
from linkcheck.model.config import Config
from linkcheck.report.document import Report
from tests.conftest import picture, write_seed


def run(
    tmp_path: Path, router: respx.MockRouter, front_matter: str, **changes: object
) -> list[dict[str, Any]]:
    write_seed(tmp_path, "seed.txt", front_matter)
    config = Config(paths=(tmp_path,), output=tmp_path / "r.json", **changes)  # type: ignore[arg-type]
    report: Report = check(config, transport=httpx.MockTransport(router.async_handler))
    try:
        return [c for seed in report.seeds() for c in seed["checks"]]
    finally:
        report.discard()


@pytest.fixture
def router() -> respx.MockRouter:
    return respx.MockRouter(assert_all_called=False)


def test_page_with_2xx_is_ok(tmp_path: Path, router: respx.MockRouter) -> None:
    router.get("https://news.test/a").respond(200, html="<html></html>")
    [page] = run(tmp_path, router, 'webUrl: "https://news.test/a"')
    assert (page["verdict"], page["reason"], page["http_status"]) == ("ok", "ok", 200)
    assert page["final_url"] == "https://news.test/a"


def test_page_with_404_fails_with_http_status(tmp_path: Path, router: respx.MockRouter) -> None:
    router.get("https://news.test/gone").respond(404)
    [page] = run(tmp_path, router, 'webUrl: "https://news.test/gone"')
    assert (page["verdict"], page["reason"], page["http_status"]) == ("failed", "http_status", 404)
    assert "404" in page["message"]


def test_redirect_chain_is_recorded_hop_by_hop(tmp_path: Path, router: respx.MockRouter) -> None:
    router.get("http://news.test/a").respond(301, headers={"Location": "https://news.test/a"})
    router.get("https://news.test/a").respond(302, headers={"Location": "/b"})
    router.get("https://news.test/b").respond(200)
    [page] = run(tmp_path, router, 'webUrl: "http://news.test/a"')
    assert page["verdict"] == "ok"
    assert page["redirects"] == [
        {"url": "http://news.test/a", "status": 301},
        {"url": "https://news.test/a", "status": 302},
    ]
    assert page["final_url"] == "https://news.test/b"


def test_redirect_loop_is_named(tmp_path: Path, router: respx.MockRouter) -> None:
    router.get("https://news.test/a").respond(302, headers={"Location": "/b"})
    router.get("https://news.test/b").respond(302, headers={"Location": "/a"})
    [page] = run(tmp_path, router, 'webUrl: "https://news.test/a"')
    assert (page["verdict"], page["reason"]) == ("failed", "redirect_loop")
    assert len(router.calls) == 2


def test_too_many_redirects(tmp_path: Path, router: respx.MockRouter) -> None:
    for hop in range(10):
        router.get(f"https://news.test/{hop}").respond(302, headers={"Location": f"/{hop + 1}"})
    [page] = run(tmp_path, router, 'webUrl: "https://news.test/0"', max_redirects=3)
    assert (page["verdict"], page["reason"]) == ("failed", "too_many_redirects")
    assert len(page["redirects"]) == 4


def test_redirect_to_javascript_is_unsafe(tmp_path: Path, router: respx.MockRouter) -> None:
    router.get("https://news.test/a").respond(302, headers={"Location": "javascript:alert(1)"})
    [page] = run(tmp_path, router, 'webUrl: "https://news.test/a"')
    assert (page["verdict"], page["reason"]) == ("failed", "unsafe_url")


def test_image_of_claimed_size_is_ok(tmp_path: Path, router: respx.MockRouter) -> None:
    router.get("https://news.test/").respond(200)
    router.get("https://img.test/a.jpg").respond(200, content=picture(120, 80))
    checks = run(
        tmp_path,
        router,
        """
webUrl: "https://news.test/"
images:
  - url: "https://img.test/a.jpg"
    width: 120
    height: 80
    isCached: true
""",
    )
    image = checks[1]
    assert (image["verdict"], image["reason"]) == ("ok", "ok")
    assert image["image"]["format"] == "jpeg"
    assert (image["image"]["width"], image["image"]["height"]) == (120, 80)
    assert image["image"]["is_cached"] is True


def test_image_of_another_size_is_a_size_mismatch(tmp_path: Path, router: respx.MockRouter) -> None:
    router.get("https://news.test/").respond(200)
    router.get("https://img.test/a.png").respond(200, content=picture(300, 200, "PNG"))
    checks = run(
        tmp_path,
        router,
        """
webUrl: "https://news.test/"
images:
  - url: "https://img.test/a.png"
    width: 120
    height: 80
""",
    )
    image = checks[1]
    assert (image["verdict"], image["reason"]) == ("failed", "size_mismatch")
    assert "120x80" in image["message"] and "300x200" in image["message"]


def test_html_error_page_served_as_image_is_not_an_image(
    tmp_path: Path, router: respx.MockRouter
) -> None:
    router.get("https://news.test/").respond(200)
    router.get("https://img.test/a.jpg").respond(
        200, html="<!doctype html><title>Oops</title>", headers={"Content-Type": "image/jpeg"}
    )
    checks = run(
        tmp_path,
        router,
        """
webUrl: "https://news.test/"
images:
  - url: "https://img.test/a.jpg"
    width: 120
    height: 80
""",
    )
    image = checks[1]
    assert (image["verdict"], image["reason"]) == ("failed", "not_image")
    assert "HTML" in image["message"]


def test_truncated_image_is_corrupt(tmp_path: Path, router: respx.MockRouter) -> None:
    router.get("https://news.test/").respond(200)
    router.get("https://img.test/a.png").respond(200, content=picture(50, 50, "PNG")[:20])
    checks = run(
        tmp_path, router, 'webUrl: "https://news.test/"\nimages:\n  - url: "https://img.test/a.png"'
    )
    assert (checks[1]["verdict"], checks[1]["reason"]) == ("failed", "corrupt_image")


def test_image_without_claim_is_ok_with_its_real_size(
    tmp_path: Path, router: respx.MockRouter
) -> None:
    router.get("https://news.test/").respond(200)
    router.get("https://img.test/a.gif").respond(200, content=picture(33, 44, "GIF"))
    checks = run(
        tmp_path, router, 'webUrl: "https://news.test/"\nimages:\n  - url: "https://img.test/a.gif"'
    )
    assert checks[1]["verdict"] == "ok"
    assert (checks[1]["image"]["width"], checks[1]["image"]["height"]) == (33, 44)


class NoDns(httpx.AsyncBaseTransport):
    """Fails every request the way the aiohttp bridge does when a lookup fails."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("lookup failed") from socket.gaierror(-2, "Name not known")


def test_dns_failure_is_named_and_reported_as_offline(tmp_path: Path) -> None:
    write_seed(tmp_path, "seed.txt", 'webUrl: "https://a.test/"\nampWebUrl: "https://b.test/"')
    config = Config(paths=(tmp_path,), output=tmp_path / "r.json")
    report = check(config, transport=NoDns())
    try:
        checks = [c for seed in report.seeds() for c in seed["checks"]]
        assert {(c["verdict"], c["reason"]) for c in checks} == {("failed", "dns")}
        assert report.summary.no_host_resolved is True
        assert report.summary.hosts_unresolved == 2
    finally:
        report.discard()


def test_one_resolved_host_means_not_offline(tmp_path: Path, router: respx.MockRouter) -> None:
    router.get("https://a.test/").respond(200)
    router.get("https://b.test/").mock(side_effect=httpx.ConnectError("x").with_traceback(None))
    write_seed(tmp_path, "seed.txt", 'webUrl: "https://a.test/"\nampWebUrl: "https://b.test/"')
    report = check(
        Config(paths=(tmp_path,), output=tmp_path / "r.json"),
        transport=httpx.MockTransport(router.async_handler),
    )
    report.discard()
    assert report.summary.no_host_resolved is False
    assert report.summary.failed == 1


def test_the_schema_lists_exactly_the_reasons_in_code() -> None:
    import json

    from linkcheck.model.reasons import Reason
    from linkcheck.report.document import SCHEMA_PATH

    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert set(schema["$defs"]["reason"]["enum"]) == {reason.value for reason in Reason}
    assert all(reason.explanation for reason in Reason)
