"""QA rubrics: load and validate the YAML, then judge a call item by item.

Every error names the item and the field (``item 'greeting': pass_if.any_phrase must be a
non-empty list``). Every rubric carries a hash of its content, stored with every result, so
an edited rubric is a new version even if nobody bumped ``version``.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from pipeline import bundled
from pipeline.bundled.labels import default_labels
from pipeline.config import LimitsSettings
from pipeline.errors import CallqaError
from pipeline.rubric.conditions import (
    CallContext,
    Condition,
    ConditionError,
    Evidence,
    Result,
    parse,
)
from pipeline.support import deadline
from pipeline.support.fsutil import read_bounded

RUBRIC_DIR = bundled.path("rubrics")  # the rubrics callqa ships with
Outcome = Literal["pass", "fail", "na"]
_TOP_KEYS = {"id", "version", "language", "name", "description", "phrases", "items"}
_ITEM_KEYS = {"id", "section", "description", "points", "fatal", "applies_if", "pass_if",
              "fail_if", "teaches"}
_TEACHABLE = re.compile(r"^(agent|customer)\.[a-z_]+$")


class RubricError(CallqaError):
    """A rubric file is invalid; the message says where."""


@dataclass(frozen=True)
class RubricItem:
    id: str
    section: str
    description: str
    points: float
    fatal: bool
    applies_if: Condition | None
    pass_if: Condition | None
    fail_if: Condition | None
    # The utterance label this item's evidence is an example of: a reviewer confirming or
    # overriding the item labels those utterances for retraining (review/decisions.py).
    teaches: str | None = None


@dataclass(frozen=True)
class Rubric:
    id: str
    version: int
    language: str
    name: str
    items: tuple[RubricItem, ...]
    content_hash: str
    source: str

    @property
    def max_points(self) -> float:
        return sum(item.points for item in self.items)


@dataclass(frozen=True)
class ItemJudgement:
    item: RubricItem
    outcome: Outcome
    points: float
    evidence: tuple[Evidence, ...]
    note: str  # what was searched, or why the item does not apply

    @property
    def fatal(self) -> bool:
        return self.item.fatal and self.outcome == "fail"


# -- loading ------------------------------------------------------------------------------


def resolve_path(name_or_path: str | Path) -> Path:
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise RubricError(f"rubric file {path} not found")
        return path
    candidate = RUBRIC_DIR / f"{name_or_path}.yaml"
    if not candidate.is_file():
        known = ", ".join(sorted(p.stem for p in RUBRIC_DIR.glob("*.yaml")))
        raise RubricError(f"unknown rubric {name_or_path!r}; bundled rubrics: {known}")
    return candidate


def load(name_or_path: str | Path, *, max_bytes: int | None = None) -> Rubric:
    """Load and validate a rubric; files over ``max_bytes`` (default
    ``limits.max_rubric_bytes``) are refused before they are parsed."""
    path = resolve_path(name_or_path)
    limit = LimitsSettings().max_rubric_bytes if max_bytes is None else max_bytes
    try:
        data = yaml.load(read_bounded(path, limit, "rubric", "limits.max_rubric_bytes")
                         .decode("utf-8"), Loader=_RubricLoader)
    except _AliasError as exc:
        raise RubricError(f"{path}: {exc}") from exc
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise RubricError(f"{path}: cannot read YAML ({exc})") from exc
    except RecursionError as exc:
        raise RubricError(f"{path}: cannot read YAML (nested too deeply)") from exc
    return from_dict(data, str(path))


# -- YAML without alias bombs --------------------------------------------------------------

# Each use of an alias copies its list into what the rubric says (the content hash, the
# items): a bound on the copies keeps a hostile file from costing more than a large honest one.
MAX_ALIASED_VALUES = 100_000


class _AliasError(yaml.YAMLError):
    """An anchor/alias the rubric format does not allow (would expand without bound)."""


class _RubricLoader(yaml.SafeLoader):
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
                raise _AliasError(f"aliases are not allowed except for a flat list of phrases "
                                  f"(line {mark.line + 1}: *{anchor} names {kind})")
            copied += len(target.value) if isinstance(target, yaml.SequenceNode) else 1
            if copied > MAX_ALIASED_VALUES:
                raise _AliasError(f"aliases are not allowed to expand to more than "
                                  f"{MAX_ALIASED_VALUES} values (line {mark.line + 1})")
        self._aliases.clear()


def _flat(node: yaml.Node) -> bool:
    if isinstance(node, yaml.ScalarNode):
        return True
    return isinstance(node, yaml.SequenceNode) and all(
        isinstance(child, yaml.ScalarNode) for child in node.value)


def content_hash(data: Any) -> str:
    """Hash of what the rubric says, not how it is formatted (comments and order aside).
    ``teaches`` is left out: it changes what reviews teach, never a score."""
    if isinstance(data, dict) and isinstance(data.get("items"), list):
        data = {**data, "items": [{k: v for k, v in item.items() if k != "teaches"}
                                  if isinstance(item, dict) else item
                                  for item in data["items"]]}
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def from_dict(data: Any, source: str = "<rubric>") -> Rubric:
    def fail(message: str) -> RubricError:
        return RubricError(f"{source}: {message}")

    if not isinstance(data, dict):
        raise fail("a rubric must be a mapping with id, version, language and items")
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise fail(f"unknown top-level key(s): {', '.join(sorted(unknown))}")
    for key in ("id", "version", "language", "items"):
        if key not in data:
            raise fail(f"'{key}' is required")
    if not isinstance(data["id"], str) or not data["id"]:
        raise fail("'id' must be a non-empty string")
    if not isinstance(data["version"], int) or data["version"] < 1:
        raise fail("'version' must be a positive integer")
    if not isinstance(data["items"], list) or not data["items"]:
        raise fail("'items' must be a non-empty list")
    for name, phrases in (data.get("phrases") or {}).items():
        if not isinstance(phrases, list) or not phrases or not all(
            isinstance(p, str | int) and str(p) for p in phrases
        ):
            raise fail(f"phrases.{name} must be a non-empty list of phrases")
    items, seen = [], set()
    for number, raw in enumerate(data["items"]):
        item = _item(raw, number, fail)
        if item.id in seen:
            raise fail(f"item '{item.id}': id is used twice")
        seen.add(item.id)
        items.append(item)
    return Rubric(data["id"], data["version"], str(data["language"]),
                  str(data.get("name", data["id"])), tuple(items), content_hash(data), source)


def _item(raw: Any, number: int, fail: Any) -> RubricItem:
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or not raw["id"]:
        raise fail(f"item #{number + 1}: must be a mapping with a non-empty string 'id'")
    item_id = raw["id"]

    def item_error(message: str) -> RubricError:
        return fail(f"item '{item_id}': {message}")

    unknown = set(raw) - _ITEM_KEYS
    if unknown:
        raise item_error(f"unknown key(s): {', '.join(sorted(unknown))}")
    points = raw.get("points", 0)
    if isinstance(points, bool) or not isinstance(points, int | float) or points < 0:
        raise item_error("points must be a number ≥ 0")
    fatal = raw.get("fatal", False)
    if not isinstance(fatal, bool):
        raise item_error("fatal must be true or false")
    if ("pass_if" in raw) == ("fail_if" in raw):
        raise item_error("needs exactly one of pass_if or fail_if")
    if points == 0 and not fatal:
        raise item_error("an item with 0 points must be fatal (otherwise it cannot matter)")
    teaches = raw.get("teaches")
    if teaches is not None and (not isinstance(teaches, str) or not _TEACHABLE.match(teaches)
                                or teaches not in default_labels().names()):
        raise item_error(f"teaches: {teaches!r} is not an utterance label in models/labels.yaml")
    conditions: dict[str, Condition | None] = {}
    for key in ("applies_if", "pass_if", "fail_if"):
        try:
            conditions[key] = parse(raw[key], key) if key in raw else None
        except ConditionError as exc:
            raise item_error(str(exc)) from None
    return RubricItem(
        id=item_id, section=str(raw.get("section", "")),
        description=str(raw.get("description", "")).strip(), points=float(points), fatal=fatal,
        teaches=teaches, **conditions,
    )


# -- judging --------------------------------------------------------------------------------


def evaluate(rubric: Rubric, ctx: CallContext) -> list[ItemJudgement]:
    judgements = []
    for item in rubric.items:
        deadline.check(f"judging rubric item {item.id!r}")
        judgements.append(judge(item, ctx))
    return judgements


def judge(item: RubricItem, ctx: CallContext) -> ItemJudgement:
    if item.applies_if is not None:
        applies = item.applies_if.evaluate(ctx)
        if applies.value is None:
            return ItemJudgement(item, "na", 0.0, (), f"cannot tell if it applies: "
                                 f"{applies.reason}")
        if not applies.value:
            return ItemJudgement(item, "na", 0.0, (), f"does not apply ({applies.searched})")
    condition = item.pass_if or item.fail_if
    assert condition is not None
    result = condition.evaluate(ctx)
    if result.value is None:
        return ItemJudgement(item, "na", 0.0, result.evidence, result.reason)
    passed = result.value if item.pass_if is not None else not result.value
    evidence = result.evidence or (_searched(result),)
    return ItemJudgement(item, "pass" if passed else "fail", item.points if passed else 0.0,
                         evidence, result.searched)


def _searched(result: Result) -> Evidence:
    """Evidence for an outcome decided by absence: the window that was searched."""
    window = result.window
    start, end = (window.start, window.end) if window else (None, None)
    return Evidence(None, start, end, "", f"nothing found; searched {result.searched}")
