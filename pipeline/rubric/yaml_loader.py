"""YAML without alias bombs: the loader rubric files are read with."""

from __future__ import annotations

import yaml

# Each use of an alias copies its list into what the rubric says (the content hash, the
# items): a bound on the copies keeps a hostile file from costing more than a large honest one.
MAX_ALIASED_VALUES = 100_000


class AliasError(yaml.YAMLError):
    """An anchor/alias the rubric format does not allow (would expand without bound)."""


class RubricLoader(yaml.SafeLoader):
    """SafeLoader where an alias (``*name``) may only stand for a scalar or a flat list of
    scalars, the documented way to share a phrase list. Aliases to mappings or to lists that
    hold other lists or aliases are what "billion laughs" bombs are built of: refused."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._aliases: list[tuple[str, yaml.Node, yaml.Mark]] = []

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            if event.anchor in self.anchors:  # an unknown one is the composer's error
                self._aliases.append((event.anchor, self.anchors[event.anchor],
                                      event.start_mark))
        return super().compose_node(parent, index)

    def compose_document(self) -> yaml.Node:
        node = super().compose_document()
        self._check_aliases()  # now, when every anchored node is complete
        return node

    def _check_aliases(self) -> None:
        copied = 0
        for anchor, target, mark in self._aliases:
            if not _flat(target):
                kind = "a mapping" if isinstance(target, yaml.MappingNode) else "a nested list"
                raise AliasError(f"aliases are not allowed except for a flat list of phrases "
                                 f"(line {mark.line + 1}: *{anchor} names {kind})")
            copied += len(target.value) if isinstance(target, yaml.SequenceNode) else 1
            if copied > MAX_ALIASED_VALUES:
                raise AliasError(f"aliases are not allowed to expand to more than "
                                 f"{MAX_ALIASED_VALUES} values (line {mark.line + 1})")
        self._aliases.clear()


def _flat(node: yaml.Node) -> bool:
    if isinstance(node, yaml.ScalarNode):
        return True
    return isinstance(node, yaml.SequenceNode) and all(
        isinstance(child, yaml.ScalarNode) for child in node.value)
