"""What several formats share: the problems of a seed, locations, hosts, counts, spooling.

Every helper reads the report's JSON dictionaries (schema v1) and tolerates keys it
does not know, so a newer report still renders. Every string in them came from a
seed, a server or a saved report, so text formats render them through :func:`inert`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any
from urllib.parse import urlsplit

from linkcheck.model import codec
from linkcheck.model.reasons import Reason
from linkcheck.model.records import host_name
from linkcheck.report.formats.interface import ReportView

#: Verdicts a reader must act on; ``ok`` and ``skipped`` are not problems.
PROBLEM_VERDICTS = ("failed", "warning")
#: The pseudo-field under which a seed's own errors are reported.
SEED_FIELD = "seed"
#: Text spooled in memory up to this size, then in a temporary file.
SPOOL_BYTES = 4 * 1024 * 1024

#: Characters a terminal, a CI log or a reader could act on or be misled by: C0 and C1
#: controls (ESC, BEL, CR, LF, CSI), DEL, bidirectional overrides, line and paragraph
#: separators, lone surrogates (undecodable file names) and the two non-characters.
_ACTIVE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e"
    "\u2066-\u2069\ud800-\udfff\ufffe\uffff]"
)
#: What JSON leaves raw of those: everything but the C0 controls, which it escapes itself.
_JSON_ACTIVE = re.compile(
    "[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]"
)
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}
#: The GitHub runner reads ``##[command]`` anywhere in a line, ``::command::`` at its start
#: (after any white space).
_LEGACY_COMMAND = re.compile(r"##\[")
_LEADING_COMMAND = re.compile(r"^(\s*):(?=:)")
_WORKFLOW_HINT = re.compile(r"##\[|^\s*::")


def _shown(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return _NAMED.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def inert(text: str) -> str:
    """``text`` with nothing a terminal, a CI log or a reader would act on; printable as is.

    Control and invisible-direction characters are shown as Python-style escapes
    (``\\x1b``, ``\\n``, ``\\u202e``), and the two ways the GitHub Actions runner spots a
    workflow command in a log line (``##[`` anywhere, ``::`` at the start) are broken by
    showing one character escaped, so a seed's text can only ever be read.
    """
    quiet_start = not text[:1].isspace() and not text.startswith("::")
    if quiet_start and text.isprintable() and "##[" not in text:
        return text  # the common case, found without a regular expression
    if _ACTIVE.search(text):
        text = _ACTIVE.sub(_shown, text)
    if _WORKFLOW_HINT.search(text):
        text = _LEADING_COMMAND.sub(r"\1\\x3a", _LEGACY_COMMAND.sub(r"#\\x23[", text))
    return text


def json_text(value: Any, indent: int | None = None) -> str:
    """``json.dumps`` (non-ASCII kept) with nothing a terminal or CI log acts on left raw.

    JSON already escapes C0 controls; C1 controls, bidirectional overrides, line
    separators and lone surrogates are written as ``\\uXXXX`` too, and ``##[`` as
    ``##\\u005b``. The value read back is the same, so this costs no fidelity.
    """
    return _inert_json(json.dumps(value, ensure_ascii=False, indent=indent))


def json_line(value: Any) -> str:
    """:func:`json_text` without spaces, for the JSON report's seed lines: a run writes one
    per seed, so they take the fast codec (see :mod:`linkcheck.model.codec`)."""
    return _inert_json(codec.dumps(value))


def _inert_json(text: str) -> str:
    if (not text.isascii() or "\x7f" in text) and _JSON_ACTIVE.search(text):
        text = _JSON_ACTIVE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)
    return text.replace("##[", "##\\u005b") if "##[" in text else text


_SCALARS = frozenset({type(None), bool, int, float})


def inert_data(value: Any) -> Any:
    """A copy of a report value (dicts, lists, strings, numbers) with every string :func:`inert`."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is str or isinstance(value, str):
        return inert(value)
    if kind is dict or isinstance(value, Mapping):
        return {inert(str(key)): inert_data(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [inert_data(item) for item in value]
    return value


class InertView:
    """A report whose header and seeds are :func:`inert`: what every text format renders."""

    def __init__(self, report: ReportView) -> None:
        self._report = report

    def header(self) -> dict[str, Any]:
        header: dict[str, Any] = inert_data(self._report.header())
        return header

    def seeds(self) -> Iterator[dict[str, Any]]:
        for seed in self._report.seeds():
            yield inert_data(seed)


def rebase(path: str, base: str) -> str:
    """``path`` relative to the folder ``base`` (forward slashes) when it lies inside it.

    A relative ``path`` is taken from the current folder, as the run read it. A path
    outside ``base`` is returned unchanged: no ``../`` chain is invented for it.
    """
    absolute = os.path.abspath(path)
    try:
        relative = os.path.relpath(absolute, base)
    except ValueError:  # another drive
        return path
    if relative == os.pardir or relative.startswith(os.pardir + os.sep):
        return path
    return relative.replace(os.sep, "/")


class RebasedView:
    """A report whose seed paths are relative to ``base`` (see :func:`rebase`).

    CI systems place annotations and code-scanning results only by repository-relative
    paths; a seed folder named by an absolute path (a config file's folder) would
    otherwise show up as the whole machine path. ``path_base`` is the absolute folder,
    which SARIF names as ``originalUriBaseIds``.
    """

    def __init__(self, report: ReportView, base: str) -> None:
        self._report: ReportView = report._report if isinstance(report, RebasedView) else report
        self.path_base = os.path.abspath(base)

    def header(self) -> dict[str, Any]:
        return self._report.header()

    def seed_texts(self) -> Iterator[str] | None:
        """The report's own seed texts with their paths rebased, when it has them."""
        texts = getattr(self._report, "seed_texts", None)
        if not callable(texts):
            return None
        return (_rebased_text(text, self.path_base) for text in texts())

    def seeds(self) -> Iterator[dict[str, Any]]:
        base = self.path_base
        for seed in self._report.seeds():
            path = seed.get("path")
            if isinstance(path, str):
                shown = rebase(path, base)
                if shown != path:
                    seed = {**seed, "path": shown}
            yield seed


_PATH_KEY = '{"path":'
_DECODER = json.JSONDecoder()


def _rebased_text(text: str, base: str) -> str:
    """A seed's JSON text (its ``"path"`` first, as the spool writes it) with the path
    rebased; only the path is decoded and written again."""
    if not text.startswith(_PATH_KEY):
        seed = codec.loads(text)
        return json_line({**seed, "path": rebase(str(seed["path"]), base)})
    path, end = _DECODER.raw_decode(text, len(_PATH_KEY))
    if not isinstance(path, str):
        return text
    shown = rebase(path, base)
    return text if shown == path else _PATH_KEY + json_line(shown) + text[end:]


def path_base(report: ReportView) -> str | None:
    """The absolute folder the report's seed paths are relative to, when a view says so."""
    base = getattr(report, "path_base", None)
    return base if isinstance(base, str) else None


@dataclass(frozen=True, slots=True)
class Problem:
    """A failed or warning check, or a seed error (``field`` "seed", no URL, "failed")."""

    path: str
    line: int | None
    field: str
    url: str
    verdict: str
    reason: str
    message: str
    #: Already present in the baseline report (``--baseline``): shown after new problems.
    known: bool = False

    @property
    def location(self) -> str:
        return location(self.path, self.line)

    @property
    def severity(self) -> str:
        """The SARIF level and GitHub command: "warning" for warnings, else "error"."""
        return "warning" if self.verdict == "warning" else "error"


def location(path: str, line: int | None) -> str:
    """``path:line``, or the path alone when the line is unknown."""
    return f"{path}:{line}" if line else path


def seed_errors(seed: dict[str, Any]) -> Iterator[Problem]:
    """The seed's own errors, each as a failed problem of field "seed"."""
    for error in seed.get("errors") or ():
        yield Problem(
            path=seed["path"],
            line=error.get("line"),
            field=SEED_FIELD,
            url="",
            verdict="failed",
            reason=error["reason"],
            message=error.get("message", ""),
            known=is_known(error),
        )


def seed_warnings(seed: dict[str, Any]) -> Iterator[Problem]:
    """The seed's lint findings, each a warning problem located at its field and line."""
    for warning in seed.get("warnings") or ():
        yield Problem(
            path=seed["path"],
            line=warning.get("line"),
            field=str(warning.get("field") or SEED_FIELD),
            url="",
            verdict="warning",
            reason=warning["reason"],
            message=warning.get("message", ""),
            known=is_known(warning),
        )


def problems(seed: dict[str, Any]) -> Iterator[Problem]:
    """Seed errors first, then seed lint warnings, then every failed or warning check."""
    yield from seed_errors(seed)
    yield from seed_warnings(seed)
    for check in seed.get("checks") or ():
        if check["verdict"] in PROBLEM_VERDICTS:
            yield Problem(
                path=seed["path"],
                line=check.get("line"),
                field=check["field"],
                url=check["url"],
                verdict=check["verdict"],
                reason=check["reason"],
                message=check.get("message", ""),
                known=is_known(check),
            )


def inert_problems(seed: dict[str, Any]) -> Iterator[Problem]:
    """``problems(inert_data(seed))``, walking only the texts a problem shows."""
    for problem in problems(seed):
        yield Problem(
            _inert_field(problem.path),
            problem.line,
            _inert_field(problem.field),
            _inert_field(problem.url),
            _inert_field(problem.verdict),
            _inert_field(problem.reason),
            _inert_field(problem.message),
            problem.known,
        )


def _inert_field(value: Any) -> Any:
    """:func:`inert_data` of one field, its common case (a quiet string) found inline:
    a report of 100,000 seeds has some 2 million of them."""
    if (
        type(value) is str
        and value.isprintable()
        and not value[:1].isspace()
        and not value.startswith("::")
        and "##[" not in value
    ):
        return value
    return inert_data(value)


#: The URL's lower-case host, "" when it has none or cannot be parsed (one rule for every layer).
host = host_name


def is_known(check: dict[str, Any]) -> bool:
    """Whether a check's problem was already in the baseline report (not new)."""
    return check.get("baseline") in ("known", "unchanged") or check.get("known") is True


def is_web_url(url: str | None) -> bool:
    """True for http(s) URLs only: the only ones a format may turn into a link or a fetch."""
    if not url:
        return False
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def explanation(reason: str) -> str:
    """The reason's one-line explanation; an unknown (newer) reason explains itself."""
    try:
        return Reason(reason).explanation
    except ValueError:
        return reason


def summary_counts(header: dict[str, Any]) -> list[tuple[str, int]]:
    """The headline counts, labelled, in the order every summary shows them."""
    summary = header.get("summary") or {}
    keys = (
        ("ok", "ok"),
        ("warning", "warning"),
        ("failed", "failed"),
        ("skipped", "skipped"),
        ("seeds", "seeds"),
        ("invalid seeds", "invalid_seeds"),
        ("URLs", "urls"),
    )
    return [(label, int(summary.get(key) or 0)) for label, key in keys]


def offline_note(header: dict[str, Any]) -> str | None:
    """The sentence to show when every request failed DNS, else None."""
    if (header.get("summary") or {}).get("no_host_resolved"):
        return "No host could be resolved: the machine that ran the check may be offline."
    return None


@contextmanager
def spool() -> Iterator[IO[str]]:
    """A text buffer for output that must come after something only known at the end."""
    with tempfile.SpooledTemporaryFile(SPOOL_BYTES, mode="w+", encoding="utf-8") as buffer:
        yield buffer


def copy_spool(buffer: IO[str], stream: IO[str]) -> None:
    """Write everything written to ``buffer`` so far to ``stream``."""
    buffer.seek(0)
    shutil.copyfileobj(buffer, stream)
