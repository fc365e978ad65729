"""Finding seed files and reading their YAML front matter into checkable targets.

A seed that cannot be read is never fatal: it becomes a :class:`Seed` whose
``errors`` say why, with a line number where one is known, and the run goes on.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import yaml

from linkcheck.model.config import Config
from linkcheck.model.reasons import Reason
from linkcheck.model.records import Kind, Seed, SeedError, Target
from linkcheck.net.urls import BadUrl, normalize

#: Far more YAML nodes than any real seed holds, once aliases are expanded; an alias
#: bomb ("billion laughs") expands to billions.
MAX_NODES = 100_000
_PAGE_FIELDS = (("webUrl", "page"), ("ampWebUrl", "amp"), ("cdnAmpWebUrl", "amp"))
_ORIGINAL = ("originalUrl", "page")


def find_seed_files(paths: Iterable[Path], patterns: Iterable[str]) -> Iterator[Path]:
    """Yield seed files: each file path as given, and matching files below each directory.

    Directories are walked recursively in sorted order so reports are reproducible;
    hidden directories (``.git``) are skipped.
    """
    globs = tuple(patterns)
    for path in paths:
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if any(fnmatch.fnmatch(name, pattern) for pattern in globs):
                        yield Path(root) / name
        else:
            yield path


def read_seed(path: Path, config: Config) -> Seed:
    """Read one seed file; every problem is returned as a seed error, never raised."""
    name = str(path)
    try:
        size = path.stat().st_size
        if size > config.max_seed_bytes:
            return _broken(
                name,
                Reason.TOO_LARGE,
                f"the file has {size} bytes, over the limit of {config.max_seed_bytes}",
                None,
            )
        data = path.read_bytes()
    except OSError as exc:
        return _broken(name, Reason.UNREADABLE, f"cannot read the file: {exc.strerror}", None)
    return parse_seed(name, data, config)


def parse_seed(name: str, data: bytes, config: Config) -> Seed:
    """Parse seed bytes (front matter between ``---`` lines) into targets and errors."""
    if len(data) > config.max_seed_bytes:
        return _broken(
            name,
            Reason.TOO_LARGE,
            f"the file has {len(data)} bytes, over the limit of {config.max_seed_bytes}",
            None,
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
    title = reader.scalar(_entries(loaded)["title"]) if "title" in _entries(loaded) else None
    return Seed(
        name,
        tuple(reader.targets),
        tuple(reader.errors),
        title if isinstance(title, str) else None,
    )


def _broken(name: str, reason: Reason, message: str, line: int | None) -> Seed:
    return Seed(name, (), (SeedError(reason, message, line),))


def _front_matter(text: str) -> tuple[str, int] | SeedError:
    """Return the YAML text and the file line number of its first line."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].rstrip() != "---":
        return SeedError(
            Reason.NO_FRONT_MATTER, "the file does not start with a '---' front matter line", 1
        )
    for index in range(1, len(lines)):
        if lines[index].rstrip() in ("---", "..."):
            return "".join(lines[1:index]), 2
    return SeedError(
        Reason.NO_FRONT_MATTER,
        "the front matter opened at line 1 is never closed by a '---' line",
        1,
    )


#: LibYAML's safe loader when PyYAML was built with it (about ten times faster, and it
#: caps nesting depth itself); the same node tree, with the same line marks, either way.
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


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


def _load_yaml(body: str, first_line: int) -> yaml.Node | SeedError | None:
    """Compose the YAML node tree, which keeps line numbers, or explain why not."""
    loader = _LOADER(body)
    try:
        node = loader.get_single_node()
        if node is not None and _expanded_size(node, {}, MAX_NODES) > MAX_NODES:
            return SeedError(
                Reason.INVALID_YAML,
                f"invalid YAML: aliases expand it to more than {MAX_NODES} nodes (an alias bomb?)",
                None,
            )
        return node
    except ValueError as exc:
        return SeedError(Reason.INVALID_YAML, f"invalid YAML: {exc}", None)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + first_line if mark else None
        problem = exc.problem or exc.context or "invalid YAML"
        return SeedError(Reason.INVALID_YAML, f"invalid YAML: {problem}", line)
    except (yaml.YAMLError, RecursionError) as exc:
        detail = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        return SeedError(Reason.INVALID_YAML, f"invalid YAML: {detail}", None)
    finally:
        loader.dispose()


def _node_kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.SequenceNode):
        return "list"
    if isinstance(node, yaml.ScalarNode):
        return "scalar"
    return "mapping"


class _ArticleReader:
    """Walks the checked fields of an article node, collecting targets and errors."""

    def __init__(self, seed: str, fields: frozenset[str], first_line: int) -> None:
        self.seed = seed
        self.fields = fields
        self.first_line = first_line
        self.targets: list[Target] = []
        self.errors: list[SeedError] = []
        self._constructor = yaml.constructor.SafeConstructor()

    def scalar(self, node: yaml.Node) -> Any:
        """The Python value of a scalar node as the safe loader types it; None for others."""
        if not isinstance(node, yaml.ScalarNode):
            return None
        try:
            return self._constructor.construct_object(node)
        except yaml.YAMLError:
            return node.value

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
        value = self.scalar(node)
        if value is None or value == "":
            if required:
                self.error(Reason.MISSING_FIELD, f"{path} is empty", node)
            return
        if not isinstance(value, str):
            message = f"{path} must be a string URL, not {value!r}"
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
        cached_node = entries.get("isCached")
        is_cached = None
        if cached_node is not None and not _is_null(cached_node):
            value = self.scalar(cached_node)
            if isinstance(value, bool):
                is_cached = value
            else:
                self.error(Reason.BAD_TYPE, f"{path}.isCached must be true or false", cached_node)
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

    def dimension(self, node: yaml.Node | None, path: str) -> int | None:
        if node is None or _is_null(node):
            return None
        value = self.scalar(node)
        if isinstance(value, bool) or not isinstance(value, int):
            shown = repr(value) if value is not None else f"a {_node_kind(node)}"
            self.error(
                Reason.BAD_TYPE, f"{path} must be a whole number of pixels, not {shown}", node
            )
            return None
        if value <= 0:
            self.error(
                Reason.BAD_TYPE, f"{path} must be a positive number of pixels, not {value}", node
            )
            return None
        return value


def _entries(node: yaml.MappingNode) -> dict[str, yaml.Node]:
    """The mapping's string keys and value nodes (the last one wins, as in YAML loaders)."""
    entries: dict[str, yaml.Node] = {}
    for key, value in node.value:
        if isinstance(key, yaml.ScalarNode):
            entries[str(key.value)] = value
    return entries


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"
