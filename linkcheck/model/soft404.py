"""Soft 404s: error pages served with 200, told from the outcome alone; pure.

Two kinds of evidence, each kept narrow so that a real article never matches:

- **Where the redirects ended.** A deep link (a path other than the site's root)
  that was redirected to the root (``/``, ``/index.html``, a language root such as
  ``/en/``) with no query, or to a known "not found" path (``/404``, ``/404.html``,
  ``/not-found``, ``/page-not-found``, ``/error/404``, ASP.NET's ``?aspxerrorpath=``).
- **What the page calls itself.** The ``<title>``, or one of its parts between
  separators (``404 | Site``, ``Page not found - Site``), or the first ``<h1>`` is
  *entirely* a not-found phrase: ``404``, ``Error 404``, ``Not Found``, ``Page not
  found``, ``The page you requested could not be found``, ``Oops! That page can't be
  found.``, ``Page unavailable``... in English, German, French, Spanish, Italian,
  Portuguese, Dutch, Polish, Russian, Turkish, Swedish, Arabic, Japanese, Chinese
  and Korean (the largest news markets, and the strings WordPress themes and common
  CMS templates ship). A headline that merely *mentions* 404 or "not found"
  (``Flight 404 lands safely``, ``Page not found: why links rot``) never matches.
"""

from __future__ import annotations

import functools
import re
from urllib.parse import SplitResult, urlsplit

from linkcheck.model.records import Outcome

_ROOT_PATH = re.compile(
    r"/?(?:(?:index|default|home)(?:\.[a-z]{2,5})?|[a-z]{2}(?:[-_][a-z]{2})?/?)?", re.IGNORECASE
)
_NOT_FOUND_PATH = re.compile(
    r"(?:^|/)(?:404|error[-_]?404|404[-_]?error|errors?/404|(?:page[-_]?)?not[-_]?found"
    r"|pagenotfound|notfound|seite[-_]nicht[-_]gefunden|page[-_]introuvable)"
    r"(?:\.[a-z]{2,5})?/?$",
    re.IGNORECASE,
)
_NOT_FOUND_QUERY = re.compile(r"(?:^|&)aspxerrorpath=", re.IGNORECASE)

_ERROR_404 = (
    r"(?:(?:http|error|erreur|fehler|errore|erro|fout|ошибка|błąd|hata|código)\s*)?"
    r"404(?:\s*(?:error|erreur|fehler))?"
)
_SUBJECT = r"(?:(?:the|this|that)\s+)?(?:page|file|content|article|story|document|url|video)"
_LOST = (
    r"(?:not\s+found|(?:could\s*not|couldn't|cannot|can't|can\s+not)\s+be\s+found"
    r"|(?:is\s+)?(?:no\s+longer\s+|not\s+|un)available|(?:does\s+not|doesn't)\s+exist"
    r"|(?:no\s+longer\s+exists))"
)
_PHRASES = (
    rf"{_SUBJECT}\s+(?:(?:you\s+(?:are|were)\s+looking\s+for|you\s+requested|requested)\s+)?"
    rf"(?:is\s+|was\s+)?{_LOST}",
    r"not\s+found",
    r"(?:we\s+)?(?:can't|cannot|couldn't|could\s+not)\s+find\s+(?:that|this|the|your)\s+page"
    r"(?:\s+you\s+(?:are|were)\s+looking\s+for)?",
    # German
    r"(?:die\s+|diese\s+)?seite\s+(?:wurde\s+)?nicht\s+gefunden",
    r"(?:die\s+|diese\s+)?seite\s+(?:existiert\s+nicht|ist\s+nicht\s+(?:mehr\s+)?verfügbar)",
    r"diese\s+seite\s+kann\s+nicht\s+gefunden\s+werden",
    # French
    r"(?:la\s+|cette\s+)?page\s+(?:demandée\s+)?(?:est\s+)?(?:introuvable|non\s+trouvée"
    r"|n'existe\s+pas|(?:non|pas)\s+disponible|indisponible)",
    # Spanish, Portuguese, Italian
    r"(?:la\s+|esta\s+|a\s+)?página\s+(?:no\s+encontrada|no\s+existe|no\s+disponible"
    r"|não\s+encontrada|não\s+existe|indisponível)",
    r"no\s+se\s+(?:ha\s+)?(?:encontró|encontrado|puede\s+encontrar)\s+(?:la|esa|esta)\s+página",
    r"(?:la\s+)?pagina\s+(?:non\s+trovata|non\s+esiste|non\s+disponibile)",
    # Dutch, Polish, Russian, Turkish, Swedish, Arabic
    r"(?:deze\s+)?pagina\s+(?:niet\s+gevonden|bestaat\s+niet)",
    r"nie\s+znaleziono\s+strony|strona\s+nie\s+(?:została\s+znaleziona|istnieje)",
    r"страница\s+не\s+найдена|страница\s+не\s+существует",
    r"sayfa\s+bulunamad\u0131",
    r"sidan\s+(?:kunde\s+inte\s+hittas|hittades\s+inte)",
    r"الصفحة\s+غير\s+موجودة",
    # Japanese, Chinese, Korean
    r"(?:お探しの)?ページが見つかりません(?:でした)?|ページが存在しません",
    r"(?:抱歉\W*)?(?:您(?:访问|訪問|要找)的)?(?:页面|頁面|网页|網頁)(?:不存在|未找到|找不到|無法找到)",
    r"找不到(?:该|該|此)?(?:页面|頁面|网页|網頁)",
    r"페이지를\s*찾을\s*수\s*없습니다",
)
_INTERJECTION = r"(?:oops|whoops|sorry|hoppla|oups|vaya|ops|ups|ой)\W*"
_NOT_FOUND_TEXT = re.compile(
    rf"(?:{_INTERJECTION})?(?P<code>{_ERROR_404})?\W*(?P<phrase>{'|'.join(_PHRASES)})?",
    re.IGNORECASE,
)
_SEPARATORS = re.compile(r"\s+[-\u2013\u2014~:]{1,2}\s+|\s*[|·•»]\s*")
_TRIM = " \t.!?¡¿:;,\"'«»\u201c\u201d\u2018\u2019()[]"


def soft_404(outcome: Outcome) -> str | None:
    """Why a 2xx page answer is really an error page, or None when nothing says so."""
    moved = _redirect_evidence(outcome)
    if moved is not None:
        return moved
    page = outcome.page
    if page is None:
        return None
    if page.title is not None and says_not_found(page.title, parts=True):
        return f"the page's title says {_quoted(page.title)}: an error page served with 200"
    if page.heading is not None and says_not_found(page.heading):
        return (
            f"the page's first heading says {_quoted(page.heading)}: an error page served with 200"
        )
    return None


@functools.lru_cache(maxsize=4096)
def says_not_found(text: str, *, parts: bool = False) -> bool:
    """Whether ``text`` (or, with ``parts``, one part between title separators) is wholly
    a not-found phrase. Remembered (4,096 texts): a page many seeds name is matched once."""
    cleaned = " ".join(text.replace("\u2019", "'").split()).casefold()
    candidates = [cleaned, *(_SEPARATORS.split(cleaned) if parts else ())]
    return any(_wholly_not_found(candidate.strip(_TRIM)) for candidate in candidates)


def _wholly_not_found(text: str) -> bool:
    match = _NOT_FOUND_TEXT.fullmatch(text)
    return match is not None and bool(match.group("code") or match.group("phrase"))


def _redirect_evidence(outcome: Outcome) -> str | None:
    if not outcome.redirects or not outcome.final_url:
        return None
    try:
        start, end = urlsplit(outcome.url), urlsplit(outcome.final_url)
    except ValueError:
        return None
    if _is_root(start):
        return None
    if _is_root(end) and not end.query:
        return f"the deep link was redirected to the site's front page {outcome.final_url}"
    if _NOT_FOUND_PATH.search(end.path) or _NOT_FOUND_QUERY.search(end.query):
        return f"the link was redirected to a 'not found' page {outcome.final_url}"
    return None


def _is_root(parts: SplitResult) -> bool:
    return _ROOT_PATH.fullmatch(parts.path) is not None


def _quoted(text: str) -> str:
    shown = " ".join(text.split())
    return f"'{shown[:80]}…'" if len(shown) > 80 else f"'{shown}'"
