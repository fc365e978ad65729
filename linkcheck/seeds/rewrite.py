"""Changing values in a seed file while every other byte stays as it was.

A seed is edited by the offsets of its scalars in the YAML node tree: the text
of one scalar is replaced and nothing else is touched, so comments, key order,
quoting, line endings and a byte-order mark all survive. The new text keeps the
scalar's style when it can (the URL inside ``"..."`` replaced, a plain number
rewritten) and is double-quoted only when the old style cannot hold the new
value. Every edit is verified by reading the edited text back: an edit that does
not read back as the intended value is not made, and a note says why.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import yaml

from linkcheck.net.urls import BadUrl, normalize
from linkcheck.seeds import nodes

_LINE_END = re.compile(r"\r\n|\r|\n")
_STEP = re.compile(r"\[(\d+)\]|([^.\[\]]+)")
#: Characters a double-quoted YAML scalar must hold escaped.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff]")


@dataclass(frozen=True, slots=True)
class Edit:
    """One value to change: the scalar at ``field``, which must now read ``old``.

    ``old`` is compared as written, except that a URL (``url=True``) matches when
    it requests the same URL (``normalize``), since reports hold requested URLs.
    ``kind`` (sizes, redirects, https, mojibake) and ``why`` are for the user.
    """

    field: str
    old: str | int
    new: str | int
    kind: str
    why: str
    url: bool = False


@dataclass(frozen=True, slots=True)
class Rewritten:
    """The file's new bytes, the edits made, and a note for each edit left undone."""

    data: bytes
    made: tuple[Edit, ...]
    notes: tuple[str, ...]


class NotRewritable(ValueError):
    """The file cannot be edited at all (not UTF-8, no front matter, not YAML)."""


def front_matter_span(text: str) -> tuple[int, int]:
    """Start and end offsets of the YAML between the ``---`` lines; NotRewritable if none."""
    lines = iter(_line_spans(text))
    first = next(lines, None)
    if first is None or text[first[0] : first[1]].rstrip() != "---":
        raise NotRewritable("the file does not start with a '---' front matter line")
    start = first[2]
    for begin, end, _ in lines:
        if text[begin:end].rstrip() in ("---", "..."):
            return start, begin
    raise NotRewritable("the front matter is never closed by a '---' line")


def _line_spans(text: str) -> Iterator[tuple[int, int, int]]:
    """(start, end of content, start of next line) for each line; CR, LF and CRLF end lines."""
    position = 0
    for match in _LINE_END.finditer(text):
        yield position, match.start(), match.end()
        position = match.end()
    if position < len(text):
        yield position, len(text), len(text)


def apply_edits(data: bytes, edits: Sequence[Edit]) -> Rewritten:
    """``data`` with each edit made that reads back as intended; the others noted.

    Raises NotRewritable when the file is not UTF-8 or has no readable front matter.
    """
    bom = data.startswith(codecs.BOM_UTF8)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise NotRewritable(f"not UTF-8: {exc.reason}") from None
    start, end = front_matter_span(text)
    body = text[start:end]
    made: list[Edit] = []
    notes: list[str] = []
    for edit in edits:
        edited, why = _apply(body, edit)
        if edited is None:
            notes.append(f"{edit.field}: {edit.kind} fix not made: {why}")
            continue
        body = edited
        made.append(edit)
    new_text = text[:start] + body + text[end:]
    encoded = (codecs.BOM_UTF8 if bom else b"") + new_text.encode("utf-8")
    return Rewritten(encoded if made else data, tuple(made), tuple(notes))


def current_value(data: bytes, field: str) -> object:
    """The value at ``field`` in a seed file as it reads now; None when there is none."""
    try:
        text = data.decode("utf-8-sig")
        start, end = front_matter_span(text)
        found = _find(_compose(text[start:end]), field)
    except (UnicodeDecodeError, NotRewritable):
        return None
    return None if isinstance(found, str) else _value(found)


def split_lines(text: str) -> list[str]:
    """The text's lines with their ends, split only at CR, LF and CRLF (as editors do)."""
    return [text[begin:following] for begin, _, following in _line_spans(text)]


def _compose(body: str) -> yaml.Node:
    loader = nodes.LazyLoader(nodes.stash(body))
    try:
        node = loader.get_single_node()
    except yaml.YAMLError as exc:
        raise NotRewritable(f"invalid YAML: {' '.join(str(exc).split())[:120]}") from None
    finally:
        loader.dispose()
    if node is None:
        raise NotRewritable("the front matter is empty")
    return node  # type: ignore[no-any-return]


def _apply(body: str, edit: Edit) -> tuple[str | None, str]:
    """The body with the edit made, or None and why it was not."""
    root = _compose(body)
    found = _find(root, edit.field)
    if isinstance(found, str):
        return None, found
    if id(found) in _shared(root):
        return None, "the value is shared through a YAML alias"
    current = _value(found)
    if not _same(current, edit):
        return None, f"it now reads {current!r}, not {edit.old!r}"
    begin, finish = int(found.start_mark.index), int(found.end_mark.index)
    raw = body[begin:finish]
    for candidate in _candidates(raw, found, current, edit.new):
        edited = body[:begin] + candidate + body[finish:]
        try:
            again = _find(_compose(edited), edit.field)
        except NotRewritable:
            continue
        if not isinstance(again, str) and _value(again) == edit.new:
            return edited, ""
    return None, "no way of writing the new value reads back as it"


def _same(current: object, edit: Edit) -> bool:
    if current == edit.old:
        return True
    if not (edit.url and isinstance(current, str) and isinstance(edit.old, str)):
        return False
    try:
        return normalize(current) == normalize(edit.old)
    except BadUrl:
        return False


def _candidates(raw: str, node: yaml.ScalarNode, current: object, new: str | int) -> Iterator[str]:
    """Texts for the scalar, the least change first: the old style kept, then double quotes."""
    if isinstance(new, int):
        if node.style in (None, "") and str(current) in raw:
            yield raw.replace(str(current), str(new), 1)
        return
    if not isinstance(current, str):
        return  # a number or date does not become text
    escape = _ESCAPES.get(node.style or "", _as_is)
    if current and raw.count(current) == 1:
        yield raw.replace(current, escape(new))
    was, becomes = _changed_part(current, new)
    if was and raw.count(was) == 1:  # a change inside one line of a folded or block scalar
        yield raw.replace(was, escape(becomes))
    if node.style in ("|", ">") or raw.startswith(("&", "!")):
        return  # a block scalar or an anchored or tagged one: only edited in place
    yield _double_quoted(new)


def _changed_part(old: str, new: str) -> tuple[str, str]:
    """The span of ``old`` that differs from ``new``, and what ``new`` has there instead."""
    start = 0
    while start < min(len(old), len(new)) and old[start] == new[start]:
        start += 1
    end = 0
    while end < min(len(old), len(new)) - start and old[-1 - end] == new[-1 - end]:
        end += 1
    return old[start : len(old) - end], new[start : len(new) - end]


def _as_is(text: str) -> str:
    return text


def _double_quoted(text: str) -> str:
    """A YAML double-quoted scalar (JSON's escapes are YAML's too), nothing unprintable raw."""
    quoted = json.dumps(text, ensure_ascii=False)
    return _UNPRINTABLE.sub(lambda match: f"\\u{ord(match.group()):04x}", quoted)


_ESCAPES: dict[str, Callable[[str], str]] = {
    '"': lambda text: _double_quoted(text)[1:-1],
    "'": lambda text: text.replace("'", "''"),
}


def _value(node: yaml.ScalarNode) -> object:
    """The scalar's value as the safe loader builds it (strings with stand-ins restored)."""
    if nodes.tag(node) == nodes.STR_TAG:
        return nodes.restore(str(node.value))
    try:
        value = yaml.constructor.SafeConstructor().construct_object(node, deep=True)
    except Exception:  # an unreadable value is one that does not match
        return None
    return nodes.restore(value) if isinstance(value, str) else value


def _find(root: yaml.Node, field: str) -> yaml.ScalarNode | str:
    """The scalar at a field path (``related[0].images[1].width``), or why there is none."""
    node = root
    for match in _STEP.finditer(field):
        index, key = match.groups()
        if index is not None:
            if not isinstance(node, yaml.SequenceNode) or int(index) >= len(node.value):
                return f"{field} is not in the seed"
            node = node.value[int(index)]
        else:
            if not isinstance(node, yaml.MappingNode) or key not in nodes.entries(node):
                return f"{field} is not in the seed"
            value = nodes.entries(node)[key]
            if not any(item is value for _, item in node.value):
                return "the value comes from a YAML merge key"
            node = value
    if not isinstance(node, yaml.ScalarNode):
        return f"{field} is not a single value"
    return node


def _shared(root: yaml.Node) -> set[int]:
    """The ids of nodes that appear in more than one place (anchored and aliased)."""
    seen: set[int] = set()
    shared: set[int] = set()
    pending = [root]
    while pending:
        node = pending.pop()
        if id(node) in seen:
            shared.add(id(node))
            continue
        seen.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            pending.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                pending.extend((key, value))
    return shared
