"""AMP checks: the AMP cache URL form, not_amp, canonical/amphtml links, the image cache."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from linkcheck.engine.runner import check
from linkcheck.model.amp import cache_subdomain, cache_url, cdn_problem, parse_cache_domain
from linkcheck.model.judge import Policy, judge_seed
from linkcheck.model.reasons import Reason, Verdict
from linkcheck.model.records import Check, Kind, Outcome, PageFacts, Target
from linkcheck.probes.page import page_facts
from linkcheck.report.document import SCHEMA_PATH
from tests.conftest import local_config, picture, write_seed
from tests.server import Answer, LoopbackServer

HTML = {"Content-Type": "text/html; charset=utf-8"}

# -- the cache URL form (pure); vectors from the AMP docs and ampproject/amp-toolbox ---------


@pytest.mark.parametrize(
    ("host", "subdomain"),
    [
        ("something.com", "something-com"),
        ("SOMETHING.COM", "something-com"),
        ("www.example.com", "www-example-com"),
        ("hello-world.com", "hello--world-com"),
        ("hello--world.com", "hello----world-com"),
        ("en-us.example.com", "0-en--us-example-com-0"),
        ("xn--bcher-kva.ch", "xn--bcher-ch-65a"),
        ("bücher.ch", "xn--bcher-ch-65a"),
        ("點看.com", "xn---com-k47jg78q"),
        (
            "xn--4gbrim.xn----rmckbbajlc6dj7bxne2c.xn--wgbh1c",
            "xn-------i5fvcbaopc6fkc0de0d9jybegt6cd",
        ),
        ("toplevelnohyphens", "qsgpfjzulvuaxb66z77vlhb5gu2irvcnyp6t67cz6tqo5ae6fysa"),
        ("no-dot-domain", "4lxc7wqq7b25walg4rdiil62veijrmqui5z3ept2lyfqqwpowryq"),
        (
            "hello.xn--4gbrim.xn----rmckbbajlc6dj7bxne2c.xn--wgbh1c",
            "a6h5moukddengbsjm77rvbosevwuduec2blkjva4223o4bgafgla",
        ),
        (
            "itwasadarkandstormynight.therainfellintorrents.exceptatoccasionalintervalswhenit"
            "wascheckedby.aviolentgustofwindwhichsweptupthestreets.com",
            "dgz4cnrxufaulnwku4ow5biptyqnenjievjht56hd7wqinbdbteq",
        ),
    ],
)
def test_cache_subdomain_follows_the_amp_cache_algorithm(host: str, subdomain: str) -> None:
    assert cache_subdomain(host) == subdomain


@pytest.mark.parametrize(
    ("url", "image", "expected"),
    [
        ("https://www.example.com/a/b.html", False,
         "https://www-example-com.cdn.ampproject.org/c/s/www.example.com/a/b.html"),
        ("http://www.example.com/a/b.html", False,
         "https://www-example-com.cdn.ampproject.org/c/www.example.com/a/b.html"),
        ("https://example.com/g?value=Hello%20World", False,
         "https://example-com.cdn.ampproject.org/c/s/example.com/g?value=Hello%20World"),
        ("https://www.example.com/image.png", True,
         "https://www-example-com.cdn.ampproject.org/i/s/www.example.com/image.png"),
        ("http://www.example.com/image.png", True,
         "https://www-example-com.cdn.ampproject.org/i/www.example.com/image.png"),
        ("https://news-site.co.uk/amp/x", False,
         "https://news--site-co-uk.cdn.ampproject.org/c/s/news-site.co.uk/amp/x"),
    ],
)  # fmt: skip
def test_cache_url_puts_documents_under_c_and_images_under_i(
    url: str, image: bool, expected: str
) -> None:
    assert cache_url(url, image=image) == expected


def test_cdn_problem_accepts_the_cache_form_in_any_host_spelling() -> None:
    amp = "https://xn--bcher-kva.ch/amp/a?x=1"
    for given in (
        "https://xn--bcher-ch-65a.cdn.ampproject.org/c/s/xn--bcher-kva.ch/amp/a?x=1",
        "https://XN--BCHER-CH-65A.cdn.ampproject.org/c/s/bücher.ch/amp/a?x=1",
        "https://xn--bcher-ch-65a.cdn.ampproject.org/c/s/b%C3%BCcher.ch/amp/a?x=1",
    ):
        assert cdn_problem(amp, given) is None, given


@pytest.mark.parametrize(
    "given",
    [
        "https://bcher-ch.cdn.ampproject.org/c/s/xn--bcher-kva.ch/amp/a",  # subdomain not IDN
        "https://xn--bcher-ch-65a.cdn.ampproject.org/c/xn--bcher-kva.ch/amp/a",  # http form
        "https://xn--bcher-ch-65a.cdn.ampproject.org/c/s/xn--bcher-kva.ch/amp/b",  # other page
        "https://xn--bcher-ch-65a.amp.cloudflare.com/c/s/xn--bcher-kva.ch/amp/a",  # other cache
    ],
)
def test_cdn_problem_names_the_expected_cache_url(given: str) -> None:
    problem = cdn_problem("https://xn--bcher-kva.ch/amp/a", given)
    assert problem is not None
    assert "https://xn--bcher-ch-65a.cdn.ampproject.org/c/s/xn--bcher-kva.ch/amp/a" in problem


def test_cache_domain_setting_takes_a_domain_name_only() -> None:
    assert parse_cache_domain("AMP.Mirror.Example.") == "amp.mirror.example"
    for bad in ("https://cdn.ampproject.org/", "cdn..org", "-x.org", "a b.org", ""):
        with pytest.raises(ValueError, match="not a domain name"):
            parse_cache_domain(bad)


# -- what the page parser reads ---------------------------------------------------------------


def test_page_facts_read_the_amp_attribute_links_title_and_first_heading() -> None:
    body = (
        b"<!doctype html>\n<html \xe2\x9a\xa1 lang=en><head><meta charset=utf-8>"
        b"<script>var s = '<link rel=canonical href=/wrong>';</script>"
        b"<style amp-custom>h1{color:red}</style>"
        b'<link rel="Canonical  preload" href="../story?id=7&amp;x=1#top">'
        b"<title> Budget &amp; tax </title></head><body><nav><h2>Menu</h2></nav>"
        b"<h1>Budget <em>2027</em></h1><link rel=amphtml href=/nope></body></html>"
    )
    facts = page_facts(body, "text/html", "https://news.test/amp/story/")
    assert facts == PageFacts(
        is_amp=True,
        canonical="https://news.test/amp/story?id=7&x=1",
        amphtml=None,
        title="Budget & tax",
        heading="Budget 2027",
        head_complete=True,
    )


def test_page_facts_decode_the_declared_charset_and_honour_base_href() -> None:
    body = (
        '<html amp><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1251">'
        '<base href="https://www.news.test/ru/"><link rel="canonical" href="statya-1">'
        "<title>Новости</title>"
    ).encode("cp1251")
    facts = page_facts(body, "text/html", "https://amp.news.test/a")
    assert (facts.title, facts.canonical, facts.head_complete) == (
        "Новости",
        "https://www.news.test/ru/statya-1",
        False,
    )


def test_a_pdf_is_not_html_and_so_not_amp() -> None:
    assert page_facts(b"%PDF-1.7\n", "application/pdf", "https://x.test/a") == PageFacts(html=False)


# -- seed-level rules, pure -------------------------------------------------------------------


def _page_check(field: str, url: str, kind: Kind, page: PageFacts | None, **outcome: Any) -> Check:
    target = Target(field, 3, url, kind)
    result = Outcome(url, status=200, final_url=outcome.pop("final_url", url), page=page, **outcome)
    return Check(target, Verdict.OK, Reason.OK, "HTTP 200", result)


def test_each_related_article_is_compared_with_its_own_urls() -> None:
    amp_page = PageFacts(is_amp=True, canonical="https://b.test/story", head_complete=True)
    checks = (
        _page_check("webUrl", "https://a.test/story", Kind.PAGE, PageFacts()),
        _page_check("ampWebUrl", "https://a.test/story.amp", Kind.AMP, amp_page),
        _page_check("related[0].webUrl", "https://b.test/story", Kind.PAGE, PageFacts()),
        _page_check("related[0].ampWebUrl", "https://b.test/story.amp", Kind.AMP, amp_page),
    )
    judged = judge_seed(checks)
    assert [(c.field, c.reason) for c in judged] == [
        ("webUrl", Reason.OK),
        ("ampWebUrl", Reason.CANONICAL_MISMATCH),
        ("related[0].webUrl", Reason.OK),
        ("related[0].ampWebUrl", Reason.OK),
    ]
    assert "names https://b.test/story, not the webUrl https://a.test/story" in judged[1].message


def test_canonical_rules_ignore_scheme_trailing_slash_and_tracking_parameters() -> None:
    canonical = "http://a.test/story/?utm_source=x&id=3"
    amp_page = PageFacts(is_amp=True, canonical=canonical, head_complete=True)
    checks = (
        _page_check("webUrl", "https://a.test/story?id=3&at_medium=rss", Kind.PAGE, None),
        _page_check("ampWebUrl", "https://a.test/amp", Kind.AMP, amp_page),
    )
    assert [c.reason for c in judge_seed(checks)] == [Reason.OK, Reason.OK]


def test_a_missing_canonical_is_reported_only_when_the_whole_head_was_read() -> None:
    web = _page_check("webUrl", "https://a.test/s", Kind.PAGE, None)
    cut = _page_check("ampWebUrl", "https://a.test/s.amp", Kind.AMP, PageFacts(is_amp=True))
    whole = _page_check(
        "ampWebUrl", "https://a.test/s.amp", Kind.AMP, PageFacts(is_amp=True, head_complete=True)
    )
    assert judge_seed((web, cut))[1].reason is Reason.OK
    missing = judge_seed((web, whole))[1]
    assert (missing.verdict, missing.reason) == (Verdict.WARNING, Reason.CANONICAL_MISMATCH)
    assert "no <link rel=canonical>" in missing.message


def test_a_failed_check_keeps_its_reason_and_gains_the_cdn_hint() -> None:
    amp = _page_check("ampWebUrl", "https://a.test/s.amp", Kind.AMP, None)
    cdn_target = Target(
        "cdnAmpWebUrl", 5, "https://a-test.cdn.ampproject.org/c/s/a.test/x", Kind.AMP
    )
    cdn = Check(cdn_target, Verdict.FAILED, Reason.HTTP_STATUS, "the server answered HTTP 404")
    judged = judge_seed((amp, cdn))[1]
    assert (judged.verdict, judged.reason) == (Verdict.FAILED, Reason.HTTP_STATUS)
    assert "should be https://a-test.cdn.ampproject.org/c/s/a.test/s.amp" in judged.message


def test_the_cache_domain_comes_from_the_policy() -> None:
    amp = _page_check("ampWebUrl", "https://a.test/s.amp", Kind.AMP, None)
    mirror = "https://a-test.amp.mirror.test/c/s/a.test/s.amp"
    cdn = _page_check("cdnAmpWebUrl", mirror, Kind.AMP, PageFacts(is_amp=True))
    assert judge_seed((amp, cdn))[1].reason is Reason.CDN_AMP_MISMATCH
    policy = Policy(amp_cache_domain="amp.mirror.test")
    assert judge_seed((amp, cdn), policy)[1].reason is Reason.OK


# -- on a loopback server: real-looking pages --------------------------------------------------


def article_html(
    title: str, *, amp: bool, canonical: str | None = None, amphtml: str | None = None
) -> bytes:
    html = '<html amp lang="en">' if amp else '<html lang="en" class="no-js">'
    links = ""
    if canonical is not None:
        links += f'<link rel="canonical" href="{canonical}">\n'
    if amphtml is not None:
        links += f'<link rel="amphtml" href="{amphtml}">\n'
    scripts = '<script async src="https://cdn.ampproject.org/v0.js"></script>\n' if amp else ""
    return f"""<!doctype html>
{html}
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,minimum-scale=1,initial-scale=1">
<title>{title} | Example News</title>
{links}{scripts}<meta property="og:title" content="{title}">
<style{" amp-custom" if amp else ""}>body{{font-family:Georgia,serif}}</style>
</head>
<body>
<header><a href="/">Example News</a><nav><h2>Sections</h2></nav></header>
<article><h1>{title}</h1><p>{"Lorem ipsum dolor sit amet. " * 40}</p></article>
</body>
</html>
""".encode()


def serve_article(
    server: LoopbackServer,
    slug: str,
    *,
    amp_canonical: str | None = None,
    web_amphtml: str | None = None,
    amp: bool = True,
) -> tuple[str, str]:
    """Serve /news/SLUG (the article) and /amp/news/SLUG (its AMP page); their URLs."""
    title = slug.replace("-", " ").capitalize()
    web = server.url(f"/news/{slug}")
    amp_url = server.url(f"/amp/news/{slug}")
    server.add(
        f"/news/{slug}",
        Answer(
            200, article_html(title, amp=False, canonical=web, amphtml=web_amphtml or amp_url), HTML
        ),
    )
    body = article_html(title, amp=amp, canonical=amp_canonical or web)
    server.add(f"/amp/news/{slug}", Answer(200, body, HTML))
    return web, amp_url


def run(
    tmp_path: Path, front_matter: str, **changes: Any
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    write_seed(tmp_path, "seed.txt", front_matter)
    report = check(local_config(tmp_path, **changes))
    try:
        report.save(tmp_path / "report.json")
        checks = [c for seed in report.seeds() for c in seed["checks"]]
    finally:
        report.discard()
    data = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    jsonschema.validate(data, json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))
    return checks, data


def verdicts(checks: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(c["field"], c["verdict"], c["reason"]) for c in checks]


def test_an_amp_article_with_matching_links_passes(tmp_path: Path, server: LoopbackServer) -> None:
    web, amp = serve_article(server, "budget-day")
    checks, _ = run(tmp_path, f'webUrl: "{web}"\nampWebUrl: "{amp}"')
    assert verdicts(checks) == [("webUrl", "ok", "ok"), ("ampWebUrl", "ok", "ok")]


def test_an_amp_url_serving_an_ordinary_page_fails_not_amp(
    tmp_path: Path, server: LoopbackServer
) -> None:
    web, amp = serve_article(server, "amp-retired", amp=False)
    checks, data = run(tmp_path, f'webUrl: "{web}"\nampWebUrl: "{amp}"')
    assert verdicts(checks)[1] == ("ampWebUrl", "failed", "not_amp")
    assert "no amp or \u26a1 attribute on <html>" in checks[1]["message"]
    assert data["summary"]["reasons"]["not_amp"] == 1


def test_an_amp_url_redirected_to_the_article_fails_not_amp(
    tmp_path: Path, server: LoopbackServer
) -> None:
    web, _ = serve_article(server, "no-more-amp")
    moved = server.redirect("/amp/news/no-more-amp.html", web, 301)
    checks, _ = run(tmp_path, f'webUrl: "{web}"\nampWebUrl: "{moved}"')
    assert verdicts(checks)[1] == ("ampWebUrl", "failed", "not_amp")
    assert checks[1]["final_url"] == web


def test_a_canonical_link_naming_another_article_is_a_warning(
    tmp_path: Path, server: LoopbackServer
) -> None:
    other = server.url("/news/another-story")
    web, amp = serve_article(server, "mixed-up", amp_canonical=other)
    checks, _ = run(tmp_path, f'webUrl: "{web}"\nampWebUrl: "{amp}"')
    assert verdicts(checks)[1] == ("ampWebUrl", "warning", "canonical_mismatch")
    assert other in checks[1]["message"] and web in checks[1]["message"]


def test_a_canonical_link_naming_where_weburl_redirects_passes(
    tmp_path: Path, server: LoopbackServer
) -> None:
    final, amp = serve_article(server, "moved-story")
    old = server.redirect("/2026/11/moved-story.html", final, 301)
    checks, _ = run(tmp_path, f'webUrl: "{old}"\nampWebUrl: "{amp}"')
    assert verdicts(checks) == [("webUrl", "ok", "ok"), ("ampWebUrl", "ok", "ok")]


def test_an_amphtml_link_naming_another_amp_page_is_a_warning(
    tmp_path: Path, server: LoopbackServer
) -> None:
    stale = server.url("/amp/news/old-slug")
    web, amp = serve_article(server, "renamed", web_amphtml=stale)
    checks, _ = run(tmp_path, f'webUrl: "{web}"\nampWebUrl: "{amp}"')
    assert verdicts(checks)[0] == ("webUrl", "warning", "amphtml_mismatch")
    assert stale in checks[0]["message"]


def test_a_cdn_amp_url_not_in_cache_form_is_a_warning_decided_without_a_request(
    tmp_path: Path, server: LoopbackServer
) -> None:
    web, amp = serve_article(server, "cache-form")
    wrong = "https://cdn.ampproject.org/c/s/127.0.0.1/amp/news/cache-form"
    checks, _ = run(
        tmp_path,
        f'webUrl: "{web}"\nampWebUrl: "{amp}"\ncdnAmpWebUrl: "{wrong}"',
        fields=frozenset({"webUrl", "ampWebUrl", "cdnAmpWebUrl"}),
        exclude=(r"ampproject\.org",),
    )
    assert verdicts(checks)[2] == ("cdnAmpWebUrl", "skipped", "excluded")
    checks, _ = run(
        tmp_path,
        f'webUrl: "{web}"\nampWebUrl: "{amp}"\ncdnAmpWebUrl: "{wrong}"',
        fields=frozenset({"webUrl", "ampWebUrl", "cdnAmpWebUrl"}),
        remap=(rf"^https://[^/]*ampproject\.org/c/s/[^/]+/(.*) {server.url('/')}\1",),
    )
    assert verdicts(checks)[2] == ("cdnAmpWebUrl", "warning", "cdn_amp_mismatch")
    assert "should be https://127-0-0-1.cdn.ampproject.org/c/" in checks[2]["message"]


def test_a_cdn_amp_url_in_cache_form_passes(tmp_path: Path, server: LoopbackServer) -> None:
    web, amp = serve_article(server, "cached")
    cdn = cache_url(amp)
    checks, _ = run(
        tmp_path,
        f'webUrl: "{web}"\nampWebUrl: "{amp}"\ncdnAmpWebUrl: "{cdn}"',
        fields=frozenset({"webUrl", "ampWebUrl", "cdnAmpWebUrl"}),
        remap=(rf"^https://[^/]*\.cdn\.ampproject\.org/c/(?:s/)?[^/]+/(.*) {server.url('/')}\1",),
    )
    assert verdicts(checks) == [
        ("webUrl", "ok", "ok"),
        ("ampWebUrl", "ok", "ok"),
        ("cdnAmpWebUrl", "ok", "ok"),
    ]


# -- the image cache (--check-image-cache) ----------------------------------------------------

#: Cache copies are requested at their real AMP-cache URLs, remapped here to the server's
#: /cache/ folder (as --remap points a run at a mirror).
CACHE_REMAP = r"^https://[^/]+\.cdn\.ampproject\.org/i/(?:s/)?[^/]+/(.*) {origin}cache/\1"


def image_article(server: LoopbackServer, images: list[tuple[str, bool]]) -> str:
    web, _ = serve_article(server, "pictures")
    lines = [f'webUrl: "{web}"', "images:"]
    for path, cached in images:
        lines += [f'  - url: "{server.url(path)}"', "    width: 40", "    height: 30"]
        lines.append(f"    isCached: {str(cached).lower()}")
    return "\n".join(lines)


def test_image_cache_copies_are_judged_against_the_original(
    tmp_path: Path, server: LoopbackServer
) -> None:
    for name in ("same", "gone", "resized", "uncached"):
        server.image(f"/img/{name}.jpg", picture(40, 30), ranges=True)
    server.image("/cache/img/same.jpg", picture(40, 30), ranges=True)
    server.image("/cache/img/resized.jpg", picture(20, 15), ranges=True)
    server.image("/cache/img/uncached.jpg", picture(40, 30), ranges=True)
    seed = image_article(
        server,
        [("/img/same.jpg", True), ("/img/gone.jpg", True), ("/img/resized.jpg", True),
         ("/img/uncached.jpg", False)],
    )  # fmt: skip
    checks, data = run(
        tmp_path,
        seed,
        check_image_cache=True,
        remap=(CACHE_REMAP.format(origin=server.url("/")),),
    )
    cache = [c for c in checks if c["field"].endswith(".cacheUrl")]
    assert verdicts(cache) == [
        ("images[0].cacheUrl", "ok", "ok"),
        ("images[1].cacheUrl", "warning", "cache_missing"),
        ("images[2].cacheUrl", "warning", "cache_stale"),
        ("images[3].cacheUrl", "ok", "ok"),
    ]
    assert cache[0]["url"] == cache_url(server.url("/img/same.jpg"), image=True)
    assert cache[0]["line"] == next(c["line"] for c in checks if c["field"] == "images[0].url")
    assert "serves jpeg 20x15 but the original is jpeg 40x30" in cache[2]["message"]
    assert "though the seed says isCached: false" in cache[3]["message"]
    split = data["summary"]["images"]["by_is_cached"]
    assert split["true"]["cache"] == {"checked": 3, "served": 2, "missing": 1, "stale": 1}
    assert split["false"]["cache"] == {"checked": 1, "served": 1, "missing": 0, "stale": 0}


def test_image_cache_copies_are_asked_once_however_many_seeds_name_the_image(
    tmp_path: Path, server: LoopbackServer
) -> None:
    server.image("/img/shared.jpg", picture(40, 30), ranges=True)
    server.image("/cache/img/shared.jpg", picture(40, 30), ranges=True)
    for name in ("a.txt", "b.txt"):
        write_seed(tmp_path, name, image_article(server, [("/img/shared.jpg", True)]))
    remap = (CACHE_REMAP.format(origin=server.url("/")),)
    report = check(local_config(tmp_path, check_image_cache=True, remap=remap))
    report.discard()
    assert server.count("/cache/img/shared.jpg") == server.count("/img/shared.jpg") >= 1
    assert report.summary.images["by_is_cached"]["true"]["cache"]["checked"] == 2


def test_without_the_option_no_cache_copy_is_requested(
    tmp_path: Path, server: LoopbackServer
) -> None:
    server.image("/img/a.jpg", picture(40, 30), ranges=True)
    checks, data = run(tmp_path, image_article(server, [("/img/a.jpg", True)]))
    assert [c["field"] for c in checks] == ["webUrl", "images[0].url"]
    assert "cache" not in data["summary"]["images"]["by_is_cached"]["true"]
