"""The HTML report opened in a real headless Chromium: rows, filters, and no injected script."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from lxml import html as lxml_html

from linkcheck.engine.runner import check
from linkcheck.report.document import write_atomically
from linkcheck.report.formats import get_format
from tests.conftest import local_config, picture, write_seed
from tests.server import LoopbackServer

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
INJECTED = "<script>document.documentElement.dataset.pwned = 'yes'</script>"


def dump_dom(page: Path, fragment: str, profile: Path) -> lxml_html.HtmlElement:
    """The DOM after the page's own script ran, as Chromium serialises it."""
    assert CHROMIUM is not None
    result = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={profile}", "--blink-settings=imagesEnabled=false",
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
