"""One self-contained HTML page for a person auditing a run, opened straight from disk.

Summary counts, a filterable table of every check, and a card per image check
showing the image beside its claimed and actual sizes. All text from seeds or
servers is made inert and HTML-escaped. Opening the report must not make the
reader's browser request anything the check itself did not: an image is shown
only when its http(s) URL was fetched and served an image (so never a URL the
safety policy refused, nor one skipped, failing or unreachable), and only http(s)
URLs of checks that were not refused become links (``rel="noopener noreferrer"``,
no DNS prefetch). Styles and the filter script are inline, and a
Content-Security-Policy allows no other script (the filter script is pinned by its
hash) and nothing else to load but images.
Filters read ``data-*`` attributes: rows are ``tr.check`` and cards ``figure.card``,
each with ``data-verdict``, ``data-kind``, ``data-host`` and ``data-seed``.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from contextlib import ExitStack
from html import escape
from typing import IO, Any

from linkcheck.report.formats._common import (
    InertView,
    copy_spool,
    host,
    is_web_url,
    location,
    offline_note,
    seed_errors,
    seed_warnings,
    spool,
    summary_counts,
)
from linkcheck.report.formats.interface import ReportView

VERDICTS = ("failed", "warning", "skipped", "ok")
KINDS = ("page", "amp", "image")
#: Width in CSS pixels of the aspect-ratio boxes; heights follow each ratio, within bounds.
BOX_WIDTH = 160
BOX_HEIGHT_RANGE = (2, 320)
#: Reasons of checks whose URL was refused without a request: never a link, never loaded.
REFUSED = frozenset({"unsafe_url", "invalid_url"})
#: Reasons of image checks whose URL answered with a decodable image: the only ones shown.
#: A size or type mismatch still served an image through every check of the safety policy.
SHOWN_IMAGE_REASONS = frozenset({"ok", "size_mismatch", "content_type_mismatch"})

_STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #1f2328; }
h1 { font-size: 1.5rem; margin: 0 0 .25rem; }
.meta { color: #59636e; margin: 0 0 1rem; }
.offline { background: #fff8c5; padding: .5rem .75rem; border-radius: 6px; }
.counts { display: flex; flex-wrap: wrap; gap: .5rem; padding: 0; list-style: none; }
.counts li { border: 1px solid #d1d9e0; border-radius: 6px; padding: .4rem .8rem; }
.counts .n { font-size: 1.3rem; font-weight: 600; display: block; }
.filters { display: flex; flex-wrap: wrap; gap: .75rem; align-items: end; margin: .5rem 0; }
.filters label { display: flex; flex-direction: column; font-size: 12px; color: #59636e; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: .3rem .5rem; }
thead th { position: sticky; top: 0; background: #f6f8fa; }
tbody tr { border-top: 1px solid #d1d9e0; }
td.url { word-break: break-all; max-width: 32rem; }
.hops { color: #59636e; font-size: 12px; }
.badge { border-radius: 1em; padding: 0 .5em; font-size: 12px; font-weight: 600; }
.verdict-failed .badge { background: #ffebe9; color: #a40e26; }
.verdict-warning .badge { background: #fff8c5; color: #7d4e00; }
.verdict-skipped .badge { background: #eaeef2; color: #59636e; }
.verdict-ok .badge { background: #dafbe1; color: #116329; }
.cards { display: flex; flex-wrap: wrap; gap: 1rem; }
.card { border: 1px solid #d1d9e0; border-radius: 6px; padding: .75rem; margin: 0; width: 20rem; }
.card .picture { height: 160px; display: flex; align-items: center; justify-content: center;
  background: #f6f8fa; overflow: hidden; }
.card img { max-width: 100%; max-height: 160px; }
.card .where { word-break: break-all; font-size: 12px; color: #59636e; }
.sizes td, .sizes th { padding: 0 .5rem 0 0; }
.ratio { position: relative; margin-top: .5rem; }
.box { position: absolute; top: 0; left: 0; box-sizing: border-box; }
.box.actual { background: rgba(9, 105, 218, .15); border: 2px solid #0969da; }
.box.claimed { border: 2px dashed #cf222e; }
.legend-actual { color: #0969da; }
.legend-claimed { color: #cf222e; }
[hidden] { display: none !important; }
.title { color: #57606a; font-size: 0.85em; max-width: 28em; }
"""

_SCRIPT = """
(function () {
  "use strict";
  var PAGE = 200;
  var keys = ["verdict", "kind", "host", "seed"];
  var controls = keys.map(function (key) {
    return document.getElementById("filter-" + key);
  });
  var search = document.getElementById("search");
  var counter = document.getElementById("shown-count");
  var lists = ["checks", "images", "seed-errors"].map(function (name) {
    var section = document.getElementById(name);
    var selector = name === "seed-errors" ? "tr.seed-error" : "tr.check, figure.card";
    var items = section ? Array.prototype.slice.call(section.querySelectorAll(selector)) : [];
    return {
      items: items, texts: null, matching: items, page: 0, filtered: name !== "seed-errors",
      pager: section ? section.querySelector(".pager") : null
    };
  });
  function matches(list, index, wanted, needle) {
    var item = list.items[index];
    if (!keys.every(function (key, i) { return !wanted[i] || item.dataset[key] === wanted[i]; })) {
      return false;
    }
    if (!needle) { return true; }
    if (!list.texts) {
      list.texts = list.items.map(function (each) { return each.textContent.toLowerCase(); });
    }
    return list.texts[index].indexOf(needle) !== -1;
  }
  function show(list) {
    var start = list.page * PAGE;
    list.items.forEach(function (item) { item.hidden = true; });
    list.matching.slice(start, start + PAGE).forEach(function (item) { item.hidden = false; });
    if (!list.pager) { return; }
    var pages = Math.max(1, Math.ceil(list.matching.length / PAGE));
    list.pager.hidden = pages < 2;
    list.pager.querySelector(".page").textContent = (list.page + 1) + " of " + pages;
    list.pager.querySelector(".previous").disabled = list.page === 0;
    list.pager.querySelector(".next").disabled = list.page + 1 >= pages;
  }
  function apply() {
    var wanted = controls.map(function (control) { return control.value; });
    var needle = search.value.trim().toLowerCase();
    lists.forEach(function (list) {
      if (list.filtered) {
        list.matching = list.items.filter(function (item, index) {
          return matches(list, index, wanted, needle);
        });
      }
      list.page = 0;
      show(list);
    });
    counter.textContent = String(lists[0].matching.length);
  }
  function remember() {
    var state = new URLSearchParams();
    controls.forEach(function (control, i) {
      if (control.value) { state.set(keys[i], control.value); }
    });
    if (search.value) { state.set("q", search.value); }
    try { history.replaceState(null, "", "#" + state.toString()); } catch (e) { /* file: */ }
  }
  lists.forEach(function (list) {
    if (!list.pager) { return; }
    [[".previous", -1], [".next", 1]].forEach(function (pair) {
      list.pager.querySelector(pair[0]).addEventListener("click", function () {
        list.page += pair[1];
        show(list);
      });
    });
  });
  var initial = new URLSearchParams(location.hash.slice(1));
  controls.forEach(function (control, i) {
    if (initial.has(keys[i])) { control.value = initial.get(keys[i]); }
  });
  if (initial.has("q")) { search.value = initial.get("q"); }
  controls.forEach(function (control) {
    control.addEventListener("change", function () { apply(); remember(); });
  });
  search.addEventListener("input", function () { apply(); remember(); });
  apply();
})();
"""

_SCRIPT_HASH = base64.b64encode(hashlib.sha256(_SCRIPT.encode()).digest()).decode()
_POLICY = (
    "default-src 'none'; img-src http: https:; style-src 'unsafe-inline'; "
    f"script-src 'sha256-{_SCRIPT_HASH}'; base-uri 'none'; form-action 'none'"
)
_COLUMNS = ("seed", "field", "kind", "URL", "verdict", "reason", "message", "HTTP", "ms")


def _e(value: object) -> str:
    return escape("" if value is None else str(value), quote=True)


def _linkable(url: str) -> bool:
    """An http(s) URL with nothing shown escaped by ``inert`` (its text is the real URL)."""
    return is_web_url(url) and "\\" not in url and not any(char.isspace() for char in url)


def _link(url: str, refused: bool = False) -> str:
    """A link for http(s) URLs of checks that were not refused, plain escaped text otherwise."""
    if not refused and _linkable(url):
        return f'<a href="{_e(url)}" rel="noopener noreferrer" target="_blank">{_e(url)}</a>'
    return _e(url)


def shows_image(check: dict[str, Any]) -> bool:
    """Whether the card may load the image: fetched, answered 2xx, and the bytes were one."""
    image = check.get("image") or {}
    status = check.get("http_status")
    return (
        check.get("reason") in SHOWN_IMAGE_REASONS
        and _linkable(str(check.get("url")))
        and isinstance(status, int)
        and 200 <= status < 300
        and bool(image.get("format"))
    )


def _filter_attributes(verdict: str, kind: str, url: str, path: str) -> str:
    return (
        f'data-verdict="{_e(verdict)}" data-kind="{_e(kind)}" '
        f'data-host="{_e(host(url))}" data-seed="{_e(path)}"'
    )


def _select(key: str, label: str, values: Iterable[str]) -> str:
    options = "".join(f'<option value="{_e(value)}">{_e(value)}</option>' for value in values)
    return (
        f'<label for="filter-{key}">{label}<select id="filter-{key}">'
        f'<option value="">all</option>{options}</select></label>'
    )


def _where(path: str, line: object, title: object) -> str:
    """The seed location, with the article title under it when the seed has one."""
    shown = _e(location(path, line if isinstance(line, int) else None))
    if title:
        shown += f'<div class="title">{_e(title)}</div>'
    return shown


def _check_row(path: str, check: dict[str, Any], title: object = None) -> str:
    verdict, url = str(check["verdict"]), str(check["url"])
    refused = check.get("reason") in REFUSED
    hops = "".join(
        f'<div class="hops">{_link(str(hop.get("url")), refused)} &rarr; '
        f"{_e(hop.get('status'))}</div>"
        for hop in check.get("redirects") or ()
    )
    final_url = check.get("final_url")
    if final_url and final_url != url:
        hops += f'<div class="hops">final: {_link(str(final_url), refused)}</div>'
    cells = (
        _where(path, check.get("line"), title),
        f"<code>{_e(check['field'])}</code>",
        _e(check["kind"]),
        _link(url, refused) + hops,
        f'<span class="badge">{_e(verdict)}</span>',
        _e(check["reason"]),
        _e(check.get("message")),
        _e(check.get("http_status")),
        _e(check.get("elapsed_ms")),
    )
    classes = ("where", "field", "kind", "url", "verdict", "reason", "message", "http", "ms")
    tds = "".join(
        f'<td class="{name}">{cell}</td>' for name, cell in zip(classes, cells, strict=True)
    )
    attributes = _filter_attributes(verdict, str(check["kind"]), url, path)
    return f'<tr class="check verdict-{_e(verdict)}" {attributes}>{tds}</tr>\n'


def _size(width: object, height: object, missing: str) -> str:
    if width is None and height is None:
        return missing
    return " &times; ".join(_e("?" if side is None else side) for side in (width, height))


def _box(name: str, width: object, height: object) -> tuple[str, int]:
    """A box of the image's aspect ratio at :data:`BOX_WIDTH`, and its height (0 if unknown)."""
    if not (isinstance(width, int) and isinstance(height, int) and width > 0 and height > 0):
        return "", 0
    low, high = BOX_HEIGHT_RANGE
    box_height = min(max(round(BOX_WIDTH * height / width), low), high)
    style = f"width:{BOX_WIDTH}px;height:{box_height}px"
    return f'<div class="box {name}" style="{style}"></div>', box_height


def _image_card(path: str, check: dict[str, Any], title: object = None) -> str:
    image = check.get("image") or {}
    verdict, url = str(check["verdict"]), str(check["url"])
    if shows_image(check):
        picture = (
            f'<img loading="lazy" src="{_e(url)}" alt="{_e(check["field"])}" '
            'referrerpolicy="no-referrer">'
        )
    elif check.get("reason") in REFUSED:
        picture = "<span>refused by the safety policy or not an http(s) URL: not shown</span>"
    else:
        picture = "<span>no image was served: not shown</span>"
    claimed_w, claimed_h = image.get("claimed_width"), image.get("claimed_height")
    actual_w, actual_h = image.get("width"), image.get("height")
    actual_box, actual_height = _box("actual", actual_w, actual_h)
    claimed_box, claimed_height = _box("claimed", claimed_w, claimed_h)
    ratio = ""
    if actual_box or claimed_box:
        style = f"width:{BOX_WIDTH}px;height:{max(actual_height, claimed_height)}px"
        ratio = f'<div class="ratio" style="{style}">{actual_box}{claimed_box}</div>'
    attributes = _filter_attributes(verdict, str(check["kind"]), url, path)
    return (
        f'<figure class="card verdict-{_e(verdict)}" {attributes}>'
        f'<div class="picture">{picture}</div><figcaption>'
        f'<div class="where">{_where(path, check.get("line"), title)} '
        f"<code>{_e(check['field'])}</code></div>"
        f'<div><span class="badge">{_e(verdict)}</span> {_e(check["reason"])}: '
        f"{_e(check.get('message'))}</div>"
        '<table class="sizes"><tr><th class="legend-claimed">claimed</th>'
        f'<td class="claimed-size">{_size(claimed_w, claimed_h, "not claimed")}</td></tr>'
        '<tr><th class="legend-actual">actual</th>'
        f'<td class="actual-size">{_size(actual_w, actual_h, "unknown")}</td>'
        f"<td>{_e(image.get('format') or '')}</td></tr></table>"
        f"{ratio}</figcaption></figure>\n"
    )


def _error_row(path: str, line: int | None, reason: str, message: str, field: str = "") -> str:
    where = location(path, line) + (f" {field}" if field else "")
    return (
        f'<tr class="seed-error" data-seed="{_e(path)}"><td>{_e(where)}</td>'
        f"<td>{_e(reason)}</td><td>{_e(message)}</td></tr>\n"
    )


def _head(header: dict[str, Any]) -> str:
    tool = header.get("tool") or {}
    counts = "".join(
        f'<li class="count-{_e(label.replace(" ", "-").lower())}">'
        f'<span class="n">{count}</span>{_e(label)}</li>'
        for label, count in summary_counts(header)
    )
    note = offline_note(header)
    offline = f'<p class="offline">{_e(note)}</p>' if note else ""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_e(_POLICY)}">\n'
        '<meta http-equiv="x-dns-prefetch-control" content="off">\n'
        '<meta name="referrer" content="no-referrer">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        "<title>linkcheck report</title>\n"
        f"<style>{_STYLE}</style>\n</head>\n<body>\n"
        "<h1>linkcheck report</h1>\n"
        f'<p class="meta">{_e(tool.get("name") or "linkcheck")} {_e(tool.get("version"))}, '
        f"started {_e(header.get('started_at'))}, {_e(header.get('duration_s'))} s</p>\n"
        f'<ul class="counts">{counts}</ul>\n{offline}\n'
    )


#: Rows (and cards) of one page; the script shows one page at a time and the HTML
#: hides the others from the start, so the browser lays out one page, not 10,000 rows.
PAGE_SIZE = 200


def _pager(count: int) -> str:
    hidden = "" if count > PAGE_SIZE else " hidden"
    pages = max(1, -(-count // PAGE_SIZE))
    return (
        f'<div class="pager"{hidden}><button type="button" class="previous">previous</button> '
        f'page <span class="page">1 of {pages}</span> '
        '<button type="button" class="next">next</button></div>\n'
    )


def _paged(html: str, index: int) -> str:
    """The element's HTML, hidden when it is past the first page."""
    if index < PAGE_SIZE:
        return html
    opening = html.index(">")
    return html[:opening] + " hidden" + html[opening:]


class HtmlFormat:
    """A single HTML file: counts, invalid seeds, a filterable table of checks, image cards.

    What needs attention comes first: invalid seeds, then failed, warning, skipped and
    ok checks (report order within each), and tables are paged.
    """

    name = "html"

    def render(self, report: ReportView, stream: IO[str]) -> None:
        report = InertView(report)
        header = report.header()
        hosts: set[str] = set()
        seeds: set[str] = set()
        checks = invalid = images = warned = 0
        with ExitStack() as stack:
            rows = {verdict: stack.enter_context(spool()) for verdict in VERDICTS}
            cards = {verdict: stack.enter_context(spool()) for verdict in VERDICTS}
            errors = stack.enter_context(spool())
            for seed in report.seeds():
                path = str(seed["path"])
                seeds.add(path)
                for error in seed_errors(seed):
                    html = _error_row(path, error.line, error.reason, error.message)
                    errors.write(_paged(html, invalid))
                    invalid += 1
                for warning in seed_warnings(seed):
                    reason = f"{warning.reason} (warning)"
                    html = _error_row(path, warning.line, reason, warning.message, warning.field)
                    errors.write(_paged(html, invalid))
                    invalid += 1
                    warned += 1
                for check in seed.get("checks") or ():
                    checks += 1
                    hosts.add(host(str(check["url"])))
                    verdict = str(check["verdict"])
                    verdict = verdict if verdict in rows else "ok"
                    rows[verdict].write(_check_row(path, check, seed.get("title")))
                    if check.get("kind") == "image":
                        images += 1
                        cards[verdict].write(_image_card(path, check, seed.get("title")))
            stream.write(_head(header))
            if invalid:
                stream.write(
                    '<section id="seed-errors">\n<h2>'
                    + ("Seed errors and warnings" if warned else "Invalid seeds")
                    + "</h2>\n"
                    + _pager(invalid)
                    + "<table>\n<thead><tr><th>seed</th><th>reason</th><th>message</th></tr>"
                    "</thead>\n<tbody>\n"
                )
                copy_spool(errors, stream)
                stream.write("</tbody>\n</table>\n</section>\n")
            stream.write(
                '<section id="checks">\n<h2>Checks</h2>\n<div class="filters">'
                + _select("verdict", "verdict", VERDICTS)
                + _select("kind", "kind", KINDS)
                + _select("host", "host", sorted(hosts - {""}))
                + _select("seed", "seed", sorted(seeds))
                + '<label for="search">search<input id="search" type="search"></label>'
                + f'<span><span id="shown-count">{checks}</span> of {checks} checks shown</span>'
                + "</div>\n"
                + _pager(checks)
                + "<table>\n<thead><tr>"
                + "".join(f"<th>{name}</th>" for name in _COLUMNS)
                + "</tr></thead>\n<tbody>\n"
            )
            _copy_paged(rows, stream)
            stream.write("</tbody>\n</table>\n</section>\n")
            stream.write(
                '<section id="images">\n<h2>Images</h2>\n'
                + _pager(images)
                + '<div class="cards">\n'
            )
            _copy_paged(cards, stream)
            stream.write("</div>\n</section>\n")
        stream.write(f"<script>{_SCRIPT}</script>\n</body>\n</html>\n")


def _copy_paged(spools: dict[str, IO[str]], stream: IO[str]) -> None:
    """The spooled elements, most urgent verdict first, those past the first page hidden."""
    index = 0
    for verdict in VERDICTS:
        buffer = spools[verdict]
        buffer.seek(0)
        for line in buffer:
            stream.write(_paged(line, index) if line.strip() else line)
            index += 1


FORMAT = HtmlFormat()
