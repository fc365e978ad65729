"""The YAML node tree of a seed's front matter, shared by the reader, the lint and ``fix``.

Seeds are read as a node tree rather than as Python values: nodes keep the line
(and character offsets) of every value, and only the values that are used are
ever built. These helpers read that tree the way a YAML loader would.
"""

from __future__ import annotations

from typing import Any

import yaml

NULL_TAG = "tag:yaml.org,2002:null"
MERGE_TAG = "tag:yaml.org,2002:merge"
STR_TAG = "tag:yaml.org,2002:str"
INT_TAG = "tag:yaml.org,2002:int"
TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"

#: Characters real seeds carry in titles and excerpts (mojibake such as ``â€\x9d``, and
#: U+2028 from scraped JSON) that YAML either refuses (C1 controls) or reads as line
#: breaks (NEL, LS, PS), which would shift every line number after them. They are
#: swapped for private-use characters while YAML parses, and swapped back in values.
#: One character for one, so offsets in the stashed text are offsets in the original.
_AWKWARD = [*range(0x80, 0x85), *range(0x86, 0xA0), 0x85, 0x2028, 0x2029]
_STASH = {code: 0xF700 + index for index, code in enumerate(_AWKWARD)}
_UNSTASH = {stand_in: code for code, stand_in in _STASH.items()}


def stash(body: str) -> str:
    """The YAML text with awkward characters swapped out, unless it already holds stand-ins."""
    if body.isascii() or any(chr(stand_in) in body for stand_in in _UNSTASH):
        return body
    return body.translate(_STASH)


def restore(text: str) -> str:
    return text if text.isascii() else text.translate(_UNSTASH)


_BASE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
#: The tag of a plain scalar whose real tag is worked out only if it is ever read.
LAZY_TAG = "tag:linkcheck,2024:unresolved"
_RESOLVER = yaml.resolver.Resolver()


class LazyLoader(_BASE_LOADER):  # type: ignore[valid-type,misc]
    """The safe loader, leaving plain scalars' implicit tags to be resolved on first read.

    A seed's front matter has dozens of scalars and only a few are ever read; the
    implicit-tag regexes are the loader's main cost in Python. For a plain scalar
    the tag depends only on its value (no path resolvers are registered), so
    resolving it later gives exactly the tag the loader would have given.
    LibYAML's safe loader is used when PyYAML was built with it (about ten times
    faster, and it caps nesting depth itself); the node tree and its marks (lines,
    and offsets counted in characters) are the same either way.
    """

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is yaml.ScalarNode and implicit[0]:
            return LAZY_TAG
        return str(super().resolve(kind, value, implicit))

    # path resolvers: none are registered, so entering and leaving a node needs no bookkeeping
    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        pass

    def ascend_resolver(self) -> None:
        pass


def tag(node: yaml.Node) -> str:
    """The node's tag, resolving (once) a plain scalar's implicit tag."""
    if node.tag == LAZY_TAG:
        node.tag = _RESOLVER.resolve(yaml.ScalarNode, node.value, (True, False))  # type: ignore[no-untyped-call]
    return str(node.tag)


def entries(node: yaml.MappingNode) -> dict[str, yaml.Node]:
    """The mapping's string keys and value nodes, as a YAML loader would see them.

    The last of repeated keys wins; merge keys (``<<: *base`` or ``<<: [*a, *b]``)
    supply the keys the mapping does not set itself, earlier sources first.
    """
    found: dict[str, yaml.Node] = {}
    merged: dict[str, yaml.Node] = {}
    for key, value in node.value:
        if not isinstance(key, yaml.ScalarNode):
            continue
        if key.tag == MERGE_TAG or (key.tag == LAZY_TAG and key.value == "<<"):
            sources = value.value if isinstance(value, yaml.SequenceNode) else [value]
            for source in sources:
                if isinstance(source, yaml.MappingNode):
                    for name, inherited in entries(source).items():
                        merged.setdefault(name, inherited)
        else:
            found[str(key.value)] = value
    return merged | found if merged else found


def is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and tag(node) == NULL_TAG


def text_of(node: yaml.Node | None) -> str | None:
    """A string scalar's text as written (stand-ins swapped back); None for anything else."""
    if not isinstance(node, yaml.ScalarNode) or tag(node) != STR_TAG:
        return None
    return restore(str(node.value))


def mappings(node: yaml.Node | None) -> list[tuple[int, yaml.MappingNode]]:
    """The mapping items of a sequence node with their indexes; [] for anything else."""
    if not isinstance(node, yaml.SequenceNode):
        return []
    return [
        (index, item) for index, item in enumerate(node.value) if isinstance(item, yaml.MappingNode)
    ]
