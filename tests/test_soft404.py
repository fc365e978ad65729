# ruff: noqa: RUF001  (real templates use typographic dashes, quotes and CJK punctuation)
"""Soft 404s: error pages served with 200, on a loopback server with real-looking pages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from linkcheck.engine.runner import check
from linkcheck.model.soft404 import says_not_found
from tests.conftest import local_config, write_seed
from tests.server import Answer, LoopbackServer


def page(title: str, heading: str, *, charset: str = "utf-8", lang: str = "en") -> bytes:
    """A CMS-style page: long head (meta, styles, scripts), nav headings, then the h1."""
    return f"""<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="{charset}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="/wp-content/themes/news/style.css?ver=6.4">
<script>window.dataLayer = window.dataLayer || []; /* <h1>not this</h1> */</script>
<meta name="robots" content="noindex, follow">
</head>
<body class="error404 hfeed">
<header class="site-header"><p class="site-title"><a href="/">Example News</a></p>
<nav><h2 class="screen-reader-text">Primary menu</h2><ul><li>World</li></ul></nav></header>
<main><section class="error-404 not-found"><header class="page-header">
<h1 class="page-title">{heading}</h1></header>
<div class="page-content"><p>It looks like nothing was found at this location.</p></div>
</section></main></body></html>
""".encode(charset)


def html_answer(body: bytes, charset: str = "utf-8") -> Answer:
    return Answer(200, body, {"Content-Type": f"text/html; charset={charset}"})


def run(tmp_path: Path, url: str, **changes: Any) -> dict[str, Any]:
    write_seed(tmp_path, "seed.txt", f'title: "A story"\nwebUrl: "{url}"')
    report = check(local_config(tmp_path, **changes))
    try:
        [result] = [c for seed in report.seeds() for c in seed["checks"]]
    finally:
        report.discard()
    return dict(result)


def article(server: LoopbackServer, path: str, title: str) -> str:
    return server.add(path, html_answer(page(f"{title} | Example News", title)))


# -- redirects ---------------------------------------------------------------------------------


def test_a_deep_link_redirected_to_the_front_page_fails_soft_404(
    tmp_path: Path, server: LoopbackServer
) -> None:
    article(server, "/", "Example News: latest headlines")
    moved = server.redirect("/2026/11/30/council-budget-vote", server.url("/"), 301)
    result = run(tmp_path, moved)
    assert (result["verdict"], result["reason"]) == ("failed", "soft_404")
    assert "redirected to the site's front page" in result["message"]


@pytest.mark.parametrize("home", ["/en/", "/index.html", "/de"])
def test_a_deep_link_redirected_to_a_language_or_index_root_fails_soft_404(
    tmp_path: Path, server: LoopbackServer, home: str
) -> None:
    article(server, home, "Example News")
    moved = server.redirect("/en/world/story-123", server.url(home), 302)
    assert run(tmp_path, moved)["reason"] == "soft_404"


@pytest.mark.parametrize(
    "target", ["/404.html", "/not-found", "/error/404", "/Error.aspx?aspxerrorpath=/story"]
)
def test_a_link_redirected_to_a_not_found_path_fails_soft_404(
    tmp_path: Path, server: LoopbackServer, target: str
) -> None:
    article(server, target, "Example News")
    moved = server.redirect("/world/old-story", server.url(target), 302)
    result = run(tmp_path, moved)
    assert (result["verdict"], result["reason"]) == ("failed", "soft_404")
    assert "'not found' page" in result["message"]


def test_ordinary_redirects_of_an_article_pass(tmp_path: Path, server: LoopbackServer) -> None:
    final = article(server, "/world/story-123/", "Storm closes schools")
    slash = server.redirect("/world/story-123", final, 301)
    old = server.redirect("/2026/story-123.html", server.url("/world/story-123"), 301)
    result = run(tmp_path, old)
    assert (result["verdict"], result["reason"]) == ("ok", "ok"), result["message"]
    assert slash and len(result["redirects"]) == 2


def test_the_front_page_itself_is_no_soft_404(tmp_path: Path, server: LoopbackServer) -> None:
    article(server, "/en/", "Example News")
    start = server.redirect("/", server.url("/en/"), 302)
    assert run(tmp_path, start)["reason"] == "ok"


# -- error templates served with 200 -----------------------------------------------------------

#: The not-found titles and headings of common templates: WordPress core themes (and their
#: translations), Drupal, Ghost, generic CMS and server defaults, in the languages of the
#: largest news markets.
TEMPLATES = [
    ("Page not found – Example News", "Oops! That page can’t be found.", "en"),
    ("Page Not Found | Example News", "Page not found", "en"),
    ("404 Not Found", "Not Found", "en"),
    ("Example News", "404", "en"),
    ("Error 404 - Example News", "Sorry, we couldn't find that page", "en"),
    ("Example News", "The page you requested could not be found.", "en"),
    ("Page unavailable | Example News", "This page is no longer available", "en"),
    (
        "Seite nicht gefunden – Beispiel Zeitung",
        "Hoppla! Diese Seite kann nicht gefunden werden.",
        "de",
    ),
    ("Fehler 404: Seite nicht gefunden", "Die Seite wurde nicht gefunden", "de"),
    ("Page introuvable – Le Journal", "Oups ! Cette page est introuvable.", "fr"),
    ("Erreur 404 | Le Journal", "La page demandée n'existe pas", "fr"),
    ("Página no encontrada – El Diario", "Esta página no existe", "es"),
    ("Pagina non trovata - Il Giornale", "Pagina non trovata", "it"),
    ("Página não encontrada – O Jornal", "Erro 404", "pt"),
    ("Pagina niet gevonden | De Krant", "Deze pagina bestaat niet", "nl"),
    ("Nie znaleziono strony – Gazeta", "Błąd 404", "pl"),
    ("Страница не найдена — Газета", "Ошибка 404", "ru"),
    ("ページが見つかりません | 新聞", "お探しのページは見つかりませんでした", "ja"),
    ("页面不存在 - 新闻网", "抱歉，您访问的页面不存在", "zh"),
]


@pytest.mark.parametrize(("title", "heading", "lang"), TEMPLATES, ids=[t[0] for t in TEMPLATES])
def test_a_not_found_template_served_with_200_fails_soft_404(
    tmp_path: Path, server: LoopbackServer, title: str, heading: str, lang: str
) -> None:
    url = server.add("/world/story-42", html_answer(page(title, heading, lang=lang)))
    result = run(tmp_path, url)
    assert (result["verdict"], result["reason"], result["http_status"]) == (
        "failed",
        "soft_404",
        200,
    )
    assert "an error page served with 200" in result["message"]


def test_the_heading_alone_can_tell_a_not_found_page(
    tmp_path: Path, server: LoopbackServer
) -> None:
    body = page("Example News – Just another news site", "Nothing here: 404 — page not found")
    url = server.add("/a", html_answer(body))
    assert run(tmp_path, url)["reason"] == "ok", "the heading is not wholly a not-found phrase"
    body = page("Example News – Just another news site", "Oops! That page can’t be found.")
    url = server.add("/b", html_answer(body))
    result = run(tmp_path, url)
    assert result["reason"] == "soft_404"
    assert "first heading says 'Oops! That page can’t be found.'" in result["message"]


def test_a_template_in_a_legacy_charset_is_read_in_that_charset(
    tmp_path: Path, server: LoopbackServer
) -> None:
    body = page("Страница не найдена", "Страница не найдена", charset="windows-1251", lang="ru")
    url = server.add("/ru/story", html_answer(body, "windows-1251"))
    assert run(tmp_path, url)["reason"] == "soft_404"


#: Real headlines that mention errors, 404s or things not found: none is an error page.
HEADLINES = [
    "Flight 404 lands safely after engine scare",
    "Page not found: why the web is forgetting itself",
    "The 404 error that cost a retailer millions",
    "Missing hiker found alive after five days",
    "Not found in translation: a review",
    "Fehler im System: Bahn streicht 404 Verbindungen",
    "La page se tourne pour le Premier ministre",
    "Unavailable: the drugs patients cannot get",
    "Arsenal 4-0 Spurs: five things we learned",
    "404 días sin respuesta",
]


@pytest.mark.parametrize("headline", HEADLINES)
def test_articles_about_errors_are_no_soft_404(
    tmp_path: Path, server: LoopbackServer, headline: str
) -> None:
    url = server.add("/news/story", html_answer(page(f"{headline} | Example News", headline)))
    result = run(tmp_path, url)
    assert (result["verdict"], result["reason"]) == ("ok", "ok"), result["message"]


@pytest.mark.parametrize("headline", HEADLINES)
def test_no_headline_reads_as_a_not_found_phrase(headline: str) -> None:
    assert not says_not_found(f"{headline} | Example News", parts=True)
    assert not says_not_found(headline)


def test_an_error_status_stays_http_status_not_soft_404(
    tmp_path: Path, server: LoopbackServer
) -> None:
    url = server.add(
        "/gone", Answer(404, page("Page not found", "404"), {"Content-Type": "text/html"})
    )
    result = run(tmp_path, url)
    assert (result["verdict"], result["reason"]) == ("failed", "http_status")
