"""Find, read and validate a rubric file into a ``Rubric``.

Every error names the item and the field (``item 'greeting': pass_if.any_phrase must be a
non-empty list``).
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import yaml

from pipeline import bundled
from pipeline.bundled.labels import default_labels
from pipeline.config import LimitsSettings
from pipeline.rubric.conditions import Condition, ConditionError, parse
from pipeline.rubric.model import Rubric, RubricError, RubricItem
from pipeline.rubric.yaml_loader import AliasError, RubricLoader
from pipeline.support.fsutil import read_bounded

RUBRIC_DIR = bundled.path("rubrics")  # the rubrics callqa ships with
_TOP_KEYS = {"id", "version", "language", "name", "description", "phrases", "items"}
_ITEM_KEYS = {"id", "section", "description", "points", "fatal", "applies_if", "pass_if",
              "fail_if", "teaches"}
_TEACHABLE = re.compile(r"^(agent|customer)\.[a-z_]+$")


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
                         .decode("utf-8"), Loader=RubricLoader)
    except AliasError as exc:
        raise RubricError(f"{path}: {exc}") from exc
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise RubricError(f"{path}: cannot read YAML ({exc})") from exc
    except RecursionError as exc:
        raise RubricError(f"{path}: cannot read YAML (nested too deeply)") from exc
    return from_dict(data, str(path))


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
    passes: dict[str, Any] = {}  # item id → its raw pass_if, for later items' ``passes:``
    for number, raw in enumerate(data["items"]):
        if isinstance(raw, dict):
            raw = _with_passes_expanded(raw, passes, fail)
        item = _item(raw, number, fail)
        if item.id in seen:
            raise fail(f"item '{item.id}': id is used twice")
        seen.add(item.id)
        items.append(item)
        if "pass_if" in raw:
            passes[item.id] = raw["pass_if"]
    return Rubric(data["id"], data["version"], str(data["language"]),
                  str(data.get("name", data["id"])), tuple(items), content_hash(data), source)


def _with_passes_expanded(raw: dict[str, Any], passes: dict[str, Any], fail: Any
                          ) -> dict[str, Any]:
    """The item with every ``passes:`` replaced: its pass_if / fail_if may name earlier items,
    its applies_if also the item itself (an item whose pass condition is met applies)."""
    item_id = raw.get("id")
    out = dict(raw)
    for key in ("pass_if", "fail_if"):
        if key in out:
            out[key] = _expand_passes(out[key], passes, fail, item_id)
    if "applies_if" in out:
        own = {**passes, item_id: out["pass_if"]} if "pass_if" in out and isinstance(
            item_id, str) else passes
        out["applies_if"] = _expand_passes(out["applies_if"], own, fail, item_id)
    return out


def _expand_passes(value: Any, passes: dict[str, Any], fail: Any, item_id: Any) -> Any:
    """``{passes: restate-problem}`` stands for that earlier item's whole ``pass_if``, so a
    three-step sequence reuses the three items' conditions instead of repeating them."""
    if isinstance(value, dict):
        if "passes" in value:
            name = value["passes"]
            if len(value) != 1 or not isinstance(name, str):
                raise fail(f"item '{item_id}': passes takes one item id and nothing else")
            if name not in passes:
                raise fail(f"item '{item_id}': passes: {name!r} is not an earlier item with "
                           "a pass_if")
            return copy.deepcopy(passes[name])
        return {k: _expand_passes(v, passes, fail, item_id) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand_passes(v, passes, fail, item_id) for v in value]
    return value


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
