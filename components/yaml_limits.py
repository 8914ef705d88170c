"""YAML read within bounds: every YAML file Quire reads comes from someone else's folder.

An alias (`*name`) repeats a node without copying it, so nine levels of nine aliases are
a few hundred bytes that stand for 9^9 values: harmless to parse, ruinous to walk (a
list of tags made a string, a value compared). A document is refused when, with every
alias followed, it would hold more than MAX_NODES nodes, or when an alias holds itself.
Counting is done on the parsed nodes, each counted once, so the check costs no more than
the parse.
"""

from __future__ import annotations

from typing import Any

import yaml

# Front matter of a few hundred keys and tags, or a backup's comment list of a large blog,
# stays far below; a document past it is an attack or a mistake.
MAX_NODES = 2_000_000
MAX_FRONT_MATTER_NODES = 10_000


class TooLarge(yaml.MarkedYAMLError):
    """A document that would expand past the limit, or holds itself."""


class BoundedLoader(yaml.SafeLoader):
    """The safe loader, refusing documents that expand past `max_nodes` nodes."""

    max_nodes = MAX_NODES

    def get_single_node(self) -> yaml.Node | None:
        try:
            node = super().get_single_node()
        except RecursionError:
            raise TooLarge(None, None, "nested too deeply", None) from None
        if node is not None:
            expanded_size(node, self.max_nodes)
        return node


def expanded_size(root: yaml.Node, limit: int) -> int:
    """How many nodes `root` holds with every alias followed; TooLarge past `limit`."""
    sizes: dict[int, int] = {}
    # Depth first, without recursion: (node, children counted yet?)
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    open_nodes: set[int] = set()
    while stack:
        node, counted = stack.pop()
        key = id(node)
        if counted:
            size = 1 + sum(sizes[id(child)] for child in _children(node))
            if size > limit:
                raise TooLarge(
                    None,
                    None,
                    f"its aliases expand to more than {limit:,} values",
                    node.start_mark,
                )
            sizes[key] = size
            open_nodes.discard(key)
            continue
        if key in sizes:
            continue
        if key in open_nodes:
            raise TooLarge(None, None, "an alias refers to the value holding it", node.start_mark)
        open_nodes.add(key)
        stack.append((node, True))
        for child in _children(node):
            if id(child) in open_nodes:
                raise TooLarge(
                    None, None, "an alias refers to the value holding it", child.start_mark
                )
            if id(child) not in sizes:
                stack.append((child, False))
    return sizes[id(root)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def safe_load(text: str) -> Any:
    """`yaml.safe_load`, within MAX_NODES."""
    return yaml.load(text, Loader=BoundedLoader)  # noqa: S506 (BoundedLoader is a SafeLoader)


class NotYaml(ValueError):
    """A data file that does not read as YAML: says the line, when the parser knows it."""


def load_data(text: str) -> Any:
    """A backup's data file (components/site_backup.py, media/backup.py, comments/backup.py),
    read as `safe_load` reads it; NotYaml says where it broke."""
    try:
        return safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        raise NotYaml(f"not YAML{line}") from None
