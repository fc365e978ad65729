"""Reading a seed's YAML front matter into checkable targets.

Reading one seed is a boundary: whatever goes wrong becomes that seed's
:class:`SeedError` (with a line where one is known) and the run goes on. Only
the checked fields are ever turned into Python values, each one guarded, so an
impossible date or a bad tag elsewhere in the front matter is never even built.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, Final, Protocol

import yaml

from linkcheck.model.amp import cache_targets
from linkcheck.model.config import Config
from linkcheck.model.reasons import Reason
from linkcheck.model.records import Kind, Seed, SeedError, SeedWarning, Target
from linkcheck.net.urls import BadUrl, normalize
from linkcheck.seeds.files import display_path, find_seed_files, read_seed_bytes
from linkcheck.seeds.lint import lint_front_matter
from linkcheck.seeds.nodes import STR_TAG as _STR_TAG
from linkcheck.seeds.nodes import LazyLoader
from linkcheck.seeds.nodes import entries as _entries
from linkcheck.seeds.nodes import is_null as _is_null
from linkcheck.seeds.nodes import restore as _restore
from linkcheck.seeds.nodes import stash as _stash
from linkcheck.seeds.nodes import tag as _tag

__all__ = ["Kind", "Seed", "find_seed_files", "parse_seed", "read_seed"]

#: The most nodes aliases may add to the front matter once expanded. Real seeds add
#: none or a few; an alias bomb ("billion laughs") adds billions. Only what aliases
#: add is counted, so a long plain list (14,000 images) is never mistaken for one.
MAX_ALIAS_NODES = 100_000
#: The largest pixel size a seed may claim for one side (PNG's own limit).
MAX_DIMENSION = 2**31 - 1
_PAGE_FIELDS = (("webUrl", "page"), ("ampWebUrl", "amp"), ("cdnAmpWebUrl", "amp"))
_ORIGINAL = ("originalUrl", "page")
_SHOWN_CHARS = 60
_LINE_END = re.compile(r"\r\n|\r|\n")
#: Where a line that may close the front matter starts (its rest is checked apart).
_FENCE = re.compile(r"^(?:---|\.\.\.)", re.MULTILINE)

_log = logging.getLogger("linkcheck")
#: The loader of the front matter's node tree (see :class:`LazyLoader`).
_LOADER: type[yaml.SafeLoader] = LazyLoader


class _Unreadable:
    """The value of a scalar that could not be constructed (already reported)."""


_UNREADABLE: Final = _Unreadable()


class ParsedSeeds(Protocol):
    """Seeds parsed on earlier runs (the results store), by file name and parse key."""

    def seed(self, name: str, key: str) -> Seed | None: ...

    def keep_seed(self, name: str, key: str, seed: Seed) -> None: ...


def read_seed(path: Path, config: Config, parsed: ParsedSeeds | None = None) -> Seed:
    """Read one seed file; every problem is returned as a seed error, never raised.

    With ``parsed``, a file whose bytes, parse settings and linkcheck code are those of
    an earlier run (its :func:`parse_key`) is not parsed again.
    """
    name = display_path(path)
    try:
        data = read_seed_bytes(path, config.max_seed_bytes)
    except Exception as exc:  # the boundary: one seed never ends the run
        return _internal(name, exc)
    if isinstance(data, SeedError):
        return Seed(name, (), (data,))
    if parsed is None:
        return parse_seed(name, data, config)
    key = parse_key(data, config)
    seed = parsed.seed(name, key)
    if seed is None:
        seed = parse_seed(name, data, config)
        parsed.keep_seed(name, key, seed)
    return seed


def parse_key(data: bytes, config: Config) -> str:
    """What a parse of ``data`` depends on: the bytes, the settings that shape targets,
    and the linkcheck code itself (so a reader fixed since is never bypassed)."""
    settings = (sorted(config.fields), config.check_image_cache, config.amp_cache_domain)
    digest = hashlib.sha256(_code_digest().encode())
    digest.update(repr((settings, config.max_seed_bytes)).encode())
    digest.update(data)
    return digest.hexdigest()


@functools.cache
def _code_digest() -> str:
    """SHA-256 of the linkcheck package's Python sources (about 2 ms, once per process)."""
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parents[1]
    for source in sorted(package.rglob("*.py")):
        digest.update(str(source.relative_to(package)).encode())
        digest.update(source.read_bytes())
    return digest.hexdigest()


def parse_seed(name: str, data: bytes, config: Config) -> Seed:
    """Parse seed bytes (front matter between ``---`` lines) into targets, errors and warnings.

    The seed carries the SHA-256 of ``data``, so ``fix`` can tell a seed edited since.
    """
    try:
        seed = _parse(name, data, config)
    except Exception as exc:  # the boundary: one seed never ends the run
        seed = _internal(name, exc)
    return replace(seed, sha256=hashlib.sha256(data).hexdigest())


def _internal(name: str, exc: BaseException) -> Seed:
    _log.debug("reading the seed %s failed", name, exc_info=exc)
    return _broken(name, Reason.INTERNAL, f"linkcheck failed reading this seed: {_one_line(exc)}")


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    detail = f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
    return detail if len(detail) <= 200 else detail[:199] + "…"


def _parse(name: str, data: bytes, config: Config) -> Seed:
    if len(data) > config.max_seed_bytes:
        return _broken(
            name,
            Reason.TOO_LARGE,
            f"the file has {len(data)} bytes, over the limit of {config.max_seed_bytes}",
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return _broken(name, Reason.NOT_UTF8, f"byte 0x{data[exc.start]:02x} is not UTF-8", line)
    front = _front_matter(text)
    if isinstance(front, SeedError):
        return Seed(name, (), (front,))
    body, first_line = front
    loaded = _load_yaml(body, first_line)
    if isinstance(loaded, SeedError):
        return Seed(name, (), (loaded,))
    if not isinstance(loaded, yaml.MappingNode):
        kind = "empty" if loaded is None else f"a {_node_kind(loaded)}"
        where = None if loaded is None else int(loaded.start_mark.line) + first_line
        return _broken(
            name, Reason.NOT_A_MAPPING, f"the front matter is {kind}, not a mapping", where
        )
    reader = _ArticleReader(name, config.fields, first_line)
    reader.read_article(loaded, prefix="", top_level=True)
    targets = tuple(reader.targets)
    if config.check_image_cache:
        targets = tuple(cache_targets(targets, config.amp_cache_domain))
    return Seed(
        name,
        targets,
        tuple(reader.errors),
        _title(_entries(loaded).get("title")),
        _lint(name, loaded, first_line),
    )


def _lint(name: str, root: yaml.MappingNode, first_line: int) -> tuple[SeedWarning, ...]:
    """The seed's lint findings; a failure of the lint costs its findings, never the seed."""
    try:
        return lint_front_matter(root, first_line)
    except Exception:
        _log.debug("linting the seed %s failed", name, exc_info=True)
        return ()


def _broken(name: str, reason: Reason, message: str, line: int | None = None) -> Seed:
    return Seed(name, (), (SeedError(reason, message, line),))


def _title(node: yaml.Node | None) -> str | None:
    """The title as written: it is only shown, so it is never typed (``2021-02-29`` stays text)."""
    if not isinstance(node, yaml.ScalarNode) or _is_null(node):
        return None
    return _restore(str(node.value))


def _front_matter(text: str) -> tuple[str, int] | SeedError:
    """Return the YAML text and the file line number of its first line.

    Lines end only at CR, LF or CRLF, as editors and ``grep -n`` count them, not at
    the NEL, LS and PS characters that ``str.splitlines`` also splits on.
    """
    if "\r" not in text:
        return _front_matter_lf(text)
    lines = _LINE_END.split(text)
    if lines[0].rstrip() != "---":
        return SeedError(
            Reason.NO_FRONT_MATTER, "the file does not start with a '---' front matter line", 1
        )
    for index in range(1, len(lines)):
        if lines[index].rstrip() in ("---", "..."):
            return "".join(line + "\n" for line in lines[1:index]), 2
    return SeedError(
        Reason.NO_FRONT_MATTER,
        "the front matter opened at line 1 is never closed by a '---' line",
        1,
    )


def _front_matter_lf(text: str) -> tuple[str, int] | SeedError:
    """:func:`_front_matter` for text whose lines all end in LF: no splitting into lines."""
    first = text.partition("\n")[0]
    if first.rstrip() != "---":
        return SeedError(
            Reason.NO_FRONT_MATTER, "the file does not start with a '---' front matter line", 1
        )
    start = len(first) + 1
    for fence in _FENCE.finditer(text, start):
        end = text.find("\n", fence.start())
        if text[fence.start() : end if end >= 0 else len(text)].rstrip() in ("---", "..."):
            return text[start : fence.start()], 2
    return SeedError(
        Reason.NO_FRONT_MATTER,
        "the front matter opened at line 1 is never closed by a '---' line",
        1,
    )


def _distinct_nodes(root: yaml.Node) -> int:
    """The nodes actually written in the document, each anchored node counted once."""
    seen: set[int] = set()
    pending = [root]
    while pending:
        node = pending.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            pending.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                pending.append(key_node)
                pending.append(value_node)
    return len(seen)


def _expanded_size(node: yaml.Node, sizes: dict[int, int], limit: int) -> int:
    """Count the nodes a loader would build with every alias expanded, stopping at ``limit``.

    Shared nodes are counted once per reference but computed once, so an alias
    bomb is measured in linear time instead of being expanded.
    """
    key = id(node)
    if key in sizes:
        if sizes[key] < 0:
            raise ValueError("a recursive alias")
        return sizes[key]
    sizes[key] = -1
    total = 1
    if isinstance(node, yaml.SequenceNode):
        for item in node.value:
            total += _expanded_size(item, sizes, limit)
            if total > limit:
                break
    elif isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            total += _expanded_size(key_node, sizes, limit)
            total += _expanded_size(value_node, sizes, limit)
            if total > limit:
                break
    sizes[key] = min(total, limit + 1)
    return sizes[key]


def _alias_growth(root: yaml.Node) -> int:
    """How many nodes expanding the aliases adds, counted up to just past the limit."""
    written = _distinct_nodes(root)
    return _expanded_size(root, {}, written + MAX_ALIAS_NODES) - written


def _load_yaml(body: str, first_line: int) -> yaml.Node | SeedError | None:
    """Compose the YAML node tree, which keeps line numbers, or explain why not."""
    loader: yaml.SafeLoader | None = None
    try:
        loader = _LOADER(_stash(body))
        node = loader.get_single_node()
        # aliases need an anchor (&) and an alias (*); most front matter has neither
        maybe_aliases = "*" in body and "&" in body
        if node is not None and maybe_aliases and _alias_growth(node) > MAX_ALIAS_NODES:
            return SeedError(
                Reason.INVALID_YAML,
                f"invalid YAML: aliases add more than {MAX_ALIAS_NODES} nodes (an alias bomb?)",
                None,
            )
        return node
    except ValueError as exc:
        return SeedError(Reason.INVALID_YAML, f"invalid YAML: {_one_line(exc)}", None)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + first_line if mark else None
        problem = exc.problem or exc.context or "invalid YAML"
        return SeedError(Reason.INVALID_YAML, f"invalid YAML: {_restore(problem)}", line)
    except yaml.reader.ReaderError as exc:
        line = body.count("\n", 0, max(exc.position, 0)) + first_line
        message = f"invalid YAML: the character U+{exc.character:04X} is not allowed in YAML"
        return SeedError(Reason.INVALID_YAML, message, line)
    except (yaml.YAMLError, RecursionError) as exc:
        detail = "nested too deeply" if isinstance(exc, RecursionError) else _one_line(exc)
        return SeedError(Reason.INVALID_YAML, f"invalid YAML: {detail}", None)
    finally:
        if loader is not None:
            loader.dispose()


def _node_kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.SequenceNode):
        return "list"
    if isinstance(node, yaml.ScalarNode):
        return "scalar"
    return "mapping"


def _shown(value: object) -> str:
    """A value for a message: its repr, cut short so a huge literal stays one short line."""
    if isinstance(value, int) and value.bit_length() > 64:  # repr() of 4,300+ digits raises
        return f"a {value.bit_length()}-bit integer"
    text = repr(value)
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 1] + "…"


def _tag_name(tag: str) -> str:
    return tag.removeprefix("tag:yaml.org,2002:")


def _construct_problem(exc: Exception) -> str:
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem:
        return str(exc.problem)
    if isinstance(exc, KeyError):
        return "not a value of that type"
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


class _ArticleReader:
    """Walks the checked fields of an article node, collecting targets and errors."""

    def __init__(self, seed: str, fields: frozenset[str], first_line: int) -> None:
        self.seed = seed
        self.fields = fields
        self.first_line = first_line
        self.targets: list[Target] = []
        self.errors: list[SeedError] = []
        self._constructor = yaml.constructor.SafeConstructor()

    def scalar(self, node: yaml.ScalarNode, path: str) -> Any:
        """The scalar's Python value as the safe loader types it, or ``_UNREADABLE``.

        PyYAML's constructors raise ValueError, KeyError, AttributeError, IndexError,
        OverflowError and more for values they cannot build (``2021-02-29``,
        ``!!int foo``, ``!!bool maybe``); each becomes a ``bad_value`` error here.
        """
        try:
            if _tag(node) == _STR_TAG:  # what the constructor would give, without it
                value: Any = node.value
            else:
                value = self._constructor.construct_object(node, deep=True)
        except Exception as exc:
            self._constructor = yaml.constructor.SafeConstructor()  # its state may be half-built
            _log.debug("%s: %s cannot be constructed", self.seed, path, exc_info=exc)
            message = (
                f"{path}: {_shown(_restore(node.value))} cannot be read as {_tag_name(node.tag)}"
                f" ({_construct_problem(exc)})"
            )
            self.error(Reason.BAD_VALUE, message, node)
            return _UNREADABLE
        return _restore(value) if isinstance(value, str) else value

    def line(self, node: yaml.Node) -> int:
        return int(node.start_mark.line) + self.first_line

    def error(self, reason: Reason, message: str, node: yaml.Node) -> None:
        self.errors.append(SeedError(reason, message, self.line(node)))

    def read_article(self, node: yaml.MappingNode, prefix: str, *, top_level: bool) -> None:
        entries = _entries(node)
        if "webUrl" not in entries:
            self.error(Reason.MISSING_FIELD, f"{prefix}webUrl is missing", node)
        for key, kind in (*_PAGE_FIELDS, _ORIGINAL):
            value = entries.get(key)
            if value is not None and key in self.fields:
                self.read_url(value, prefix + key, Kind(kind), required=key == "webUrl")
        images = entries.get("images")
        if images is not None and "images" in self.fields:
            for index, item in enumerate(self.items(images, prefix + "images")):
                self.read_image(item, f"{prefix}images[{index}]")
        related = entries.get("related")
        if related is not None and top_level:
            for index, item in enumerate(self.items(related, "related")):
                self.read_article(item, f"related[{index}].", top_level=False)

    def items(self, node: yaml.Node, path: str) -> Iterator[yaml.MappingNode]:
        if _is_null(node):
            return
        if not isinstance(node, yaml.SequenceNode):
            self.error(Reason.BAD_TYPE, f"{path} must be a list, not a {_node_kind(node)}", node)
            return
        for index, item in enumerate(node.value):
            if isinstance(item, yaml.MappingNode):
                yield item
            else:
                message = f"{path}[{index}] must be a mapping, not a {_node_kind(item)}"
                self.error(Reason.BAD_TYPE, message, item)

    def read_url(
        self, node: yaml.Node, path: str, kind: Kind, *, required: bool, **claims: Any
    ) -> None:
        if not isinstance(node, yaml.ScalarNode):
            message = f"{path} must be a string URL, not a {_node_kind(node)}"
            self.error(Reason.BAD_TYPE, message, node)
            return
        value = self.scalar(node, path)
        if value is _UNREADABLE:
            return
        if value is None or value == "":
            if required:
                self.error(Reason.MISSING_FIELD, f"{path} is empty", node)
            return
        if not isinstance(value, str):
            message = f"{path} must be a string URL, not {_shown(value)}"
            self.error(Reason.BAD_TYPE, message, node)
            return
        try:
            url, problem, why = normalize(value), None, ""
        except BadUrl as exc:
            url, problem, why = value, exc.reason, str(exc)
        self.targets.append(
            Target(
                path,
                self.line(node),
                url,
                kind,
                problem=problem,
                problem_message=why,
                seed=self.seed,
                column=int(node.start_mark.column) + 1,
                **claims,
            )
        )

    def read_image(self, node: yaml.MappingNode, path: str) -> None:
        entries = _entries(node)
        width = self.dimension(entries.get("width"), f"{path}.width")
        height = self.dimension(entries.get("height"), f"{path}.height")
        is_cached = self.flag(entries.get("isCached"), f"{path}.isCached")
        url = entries.get("url")
        if url is None:
            self.error(Reason.MISSING_FIELD, f"{path}.url is missing", node)
            return
        self.read_url(
            url,
            f"{path}.url",
            Kind.IMAGE,
            required=True,
            claimed_width=width,
            claimed_height=height,
            is_cached=is_cached,
        )

    def flag(self, node: yaml.Node | None, path: str) -> bool | None:
        if node is None or _is_null(node):
            return None
        value = self.scalar(node, path) if isinstance(node, yaml.ScalarNode) else None
        if isinstance(value, bool):
            return value
        if value is not _UNREADABLE:
            self.error(Reason.BAD_TYPE, f"{path} must be true or false", node)
        return None

    def dimension(self, node: yaml.Node | None, path: str) -> int | None:
        if node is None or _is_null(node):
            return None
        value = self.scalar(node, path) if isinstance(node, yaml.ScalarNode) else None
        if value is _UNREADABLE:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            shown = _shown(value) if value is not None else f"a {_node_kind(node)}"
            self.error(
                Reason.BAD_TYPE, f"{path} must be a whole number of pixels, not {shown}", node
            )
            return None
        if not 0 < value <= MAX_DIMENSION:
            self.error(
                Reason.BAD_TYPE,
                f"{path} must be a positive number of pixels up to {MAX_DIMENSION},"
                f" not {_shown(value)}",
                node,
            )
            return None
        return value
