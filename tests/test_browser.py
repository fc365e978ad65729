"""The HTML report opened in a real headless Chromium: rows, filters, and no injected script."""

from __future__ import annotations

import ipaddress
import shutil
import subprocess
from pathlib import Path

import pytest
from lxml import html as lxml_html

from linkcheck.engine.runner import check
from linkcheck.report.document import write_atomically
from linkcheck.report.formats import get_format
from tests.conftest import local_config, picture, write_seed
from tests.server import LoopbackServer, ServerFactory

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
INJECTED = "<script>document.documentElement.dataset.pwned = 'yes'</script>"


def dump_dom(
    page: Path, fragment: str, profile: Path, *, images: bool = False
) -> lxml_html.HtmlElement:
    """The DOM after the page's own script ran, as Chromium serialises it.

    With ``images``, Chromium loads images and waits for the network to settle.
    """
    assert CHROMIUM is not None
    loading = ["--virtual-time-budget=5000"] if images else ["--blink-settings=imagesEnabled=false"]
    result = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={profile}", *loading,
         "--dump-dom", f"{page.as_uri()}#{fragment}"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    return lxml_html.fromstring(result.stdout)


@pytest.fixture
def page(tmp_path: Path, server: LoopbackServer) -> Path:
    good = server.image("/good.jpg", picture(40, 30), ranges=True)
    bad = server.image("/bad.jpg", picture(40, 30), ranges=True)
    write_seed(
        tmp_path,
        "a.txt",
        f"""
title: "Fine"
webUrl: "{server.page("/a")}"
images:
  - url: "{good}"
    width: 40
    height: 30
""",
    )
    write_seed(
        tmp_path,
        "b.txt",
        f"""
title: "{INJECTED}"
webUrl: "{server.url("/missing")}"
images:
  - url: "{bad}"
    width: 99
    height: 30
""",
    )
    report = check(local_config(tmp_path))
    target = tmp_path / "report.html"
    try:
        write_atomically(target, lambda stream: get_format("html").render(report, stream))
    finally:
        report.discard()
    return target


def visible_rows(dom: lxml_html.HtmlElement) -> list[lxml_html.HtmlElement]:
    rows = dom.xpath('//tr[contains(concat(" ", @class, " "), " check ")]')
    return [row for row in rows if row.get("hidden") is None]


def test_rows_and_counter_without_filters(page: Path, tmp_path: Path) -> None:
    dom = dump_dom(page, "", tmp_path / "profile")
    rows = visible_rows(dom)
    assert len(rows) == 4
    assert dom.get_element_by_id("shown-count").text_content() == "4"
    assert dom.get("data-pwned") is None, "the injected script must not run"
    assert INJECTED in dom.text_content(), "the title is shown as text"


@pytest.mark.parametrize(
    ("fragment", "expected"),
    [
        ("verdict=failed", {("failed", "page"), ("failed", "image")}),
        ("kind=image", {("ok", "image"), ("failed", "image")}),
        ("verdict=ok&kind=page", {("ok", "page")}),
        ("q=missing", {("failed", "page")}),
    ],
)
def test_filters_and_search_hide_rows(
    page: Path, tmp_path: Path, fragment: str, expected: set[tuple[str, str]]
) -> None:
    dom = dump_dom(page, fragment, tmp_path / "profile")
    rows = visible_rows(dom)
    assert {(row.get("data-verdict"), row.get("data-kind")) for row in rows} == expected
    assert dom.get_element_by_id("shown-count").text_content() == str(len(rows))
    assert dom.get("data-pwned") is None


def test_filter_by_seed(page: Path, tmp_path: Path) -> None:
    seed = str(page.parent / "b.txt")
    dom = dump_dom(page, f"seed={seed}", tmp_path / "profile")
    assert {row.get("data-seed") for row in visible_rows(dom)} == {seed}


@pytest.fixture
def refusing_server(server_factory: ServerFactory) -> LoopbackServer:
    """A second loopback server, on an address the test's safety policy refuses."""
    return server_factory(host="127.0.0.2")


def test_opening_the_report_requests_no_refused_or_failed_url(
    tmp_path: Path, server: LoopbackServer, refusing_server: LoopbackServer
) -> None:
    """Only the image that was fetched and served an image is loaded by the reader's browser."""
    good = server.image("/good.jpg", picture(40, 30), ranges=True)
    refused = refusing_server.image("/refused.jpg", picture(40, 30), ranges=True)
    write_seed(
        tmp_path,
        "a.txt",
        f"""
webUrl: "{server.page("/a")}"
images:
  - url: "{good}"
    width: 40
    height: 30
  - url: "{refused}"
  - url: "{server.page("/cgi-bin/reboot")}"
  - url: "{server.url("/missing.jpg")}"
""",
    )
    only_first = (ipaddress.ip_network("127.0.0.1/32"),)
    report = check(local_config(tmp_path, allow_networks=only_first))
    target = tmp_path / "report.html"
    try:
        checks = [item for seed in report.seeds() for item in seed["checks"]]
        write_atomically(target, lambda stream: get_format("html").render(report, stream))
    finally:
        report.discard()
    assert [item["reason"] for item in checks] == [
        "ok", "ok", "unsafe_url", "not_image", "http_status"
    ]  # fmt: skip
    server.hits.clear()
    dom = dump_dom(target, "", tmp_path / "profile", images=True)
    assert refusing_server.hits == [], "the refused URL is never requested"
    assert [hit.path for hit in server.hits] == ["/good.jpg"], "nor one that was not an image"
    assert refused in dom.text_content(), "the refused URL is shown as text"
    assert not dom.xpath(f'//*[@src="{refused}" or @href="{refused}"]')
