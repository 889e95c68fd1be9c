"""Rubric loading: every way a rubric can be invalid says where."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pipeline.rubric import RUBRIC_DIR, RubricError, from_dict, load


def rubric(*items: dict, **top: object) -> dict:
    return {"id": "r", "version": 1, "language": "zh", "items": list(items), **top}


GREETING = {"id": "greeting", "points": 5,
            "pass_if": {"speaker": "agent", "any_phrase": ["您好"]}}


@pytest.mark.parametrize(("data", "message"), [
    ([], "must be a mapping"),
    ({"version": 1, "language": "zh", "items": [GREETING]}, "'id' is required"),
    (rubric(GREETING, version=0), "'version' must be a positive integer"),
    (rubric(GREETING, owner="x"), "unknown top-level key(s): owner"),
    (rubric(), "'items' must be a non-empty list"),
    (rubric(GREETING, phrases={"x": []}), "phrases.x must be a non-empty list"),
    (rubric({"points": 5, "pass_if": {"any_phrase": ["a"]}}), "item #1: must be a mapping"),
    (rubric(GREETING, GREETING), "item 'greeting': id is used twice"),
    (rubric({**GREETING, "weight": 2}), "item 'greeting': unknown key(s): weight"),
    (rubric({**GREETING, "points": -1}), "item 'greeting': points must be a number ≥ 0"),
    (rubric({**GREETING, "fatal": "yes"}), "item 'greeting': fatal must be true or false"),
    (rubric({"id": "x", "points": 5}), "item 'x': needs exactly one of pass_if or fail_if"),
    (rubric({**GREETING, "fail_if": {"any_phrase": ["a"]}}), "exactly one of pass_if or fail_if"),
    (rubric({"id": "x", "points": 0, "fail_if": {"any_phrase": ["a"]}}), "must be fatal"),
    (rubric({"id": "greeting", "points": 5, "pass_if": {"any_phrase": []}}),
     "item 'greeting': pass_if.any_phrase must be a non-empty list"),
    (rubric({"id": "g", "points": 5, "pass_if": {"any_phrase": "您好"}}),
     "item 'g': pass_if.any_phrase must be a valid list"),
    (rubric({"id": "g", "points": 5, "pass_if": {"speaker": "robot", "any_phrase": ["a"]}}),
     "item 'g': pass_if.speaker must be"),
    (rubric({"id": "g", "points": 5, "pass_if": {"any_phrase": ["a"], "fuzzy": "soundex"}}),
     "item 'g': pass_if.fuzzy must be"),
    (rubric({"id": "g", "points": 5, "pass_if": {"speaker": "agent"}}),
     "item 'g': pass_if must have exactly one test"),
    (rubric({"id": "g", "points": 5, "pass_if": {"any_phrase": ["a"], "regex": "b"}}),
     "found any_phrase, regex"),
    (rubric({"id": "g", "points": 5, "pass_if": {"anyphrase": ["a"]}}),
     "unknown key(s): anyphrase"),
    (rubric({"id": "g", "points": 5, "pass_if": {"regex": "(unclosed"}}),
     "item 'g': pass_if.regex is not a valid regular expression"),
    (rubric({"id": "d", "points": 5, "fail_if": {"metric": "max_silence"}}),
     "item 'd': fail_if.metric unknown metric 'max_silence'"),
    (rubric({"id": "d", "points": 5, "fail_if": {"metric": "max_silence_s"}}),
     "item 'd': fail_if needs a comparison"),
    (rubric({"id": "l", "points": 5, "pass_if": {"label": "complaint"}}),
     "item 'l': pass_if.label"),
    (rubric({"id": "s", "points": 5, "pass_if": {"sequence": ["agent.restate_problem"]}}),
     "item 's': pass_if.sequence must be a non-empty list"),
    (rubric({"id": "s", "points": 5, "pass_if": {"sequence": [
        "agent.restate_problem", {"any_phrase": []}]}}),
     "item 's': pass_if.sequence[1].any_phrase must be a non-empty list"),
    (rubric({"id": "n", "points": 5, "pass_if": {"all": [{"not": {"regex": "("}}]}}),
     "item 'n': pass_if.all[0].not.regex is not a valid regular expression"),
    (rubric({"id": "c", "points": 5, "pass_if": {"count": {"any_phrase": ["a"]}}}),
     "item 'c': pass_if needs a comparison"),
    (rubric({"id": "w", "points": 5, "pass_if": {"within_first_s": -3, "any_phrase": ["a"]}}),
     "item 'w': pass_if.within_first_s"),
])
def test_invalid_rubrics_say_where(data: object, message: str) -> None:
    with pytest.raises(RubricError) as caught:
        from_dict(data, "test.yaml")
    assert message in str(caught.value)
    assert str(caught.value).startswith("test.yaml: ")


def test_bundled_rubrics_load() -> None:
    for path in sorted(RUBRIC_DIR.glob("*.yaml")):
        loaded = load(path.stem)
        assert loaded.items and loaded.max_points > 0
        assert any(item.fatal for item in loaded.items)
        assert all(item.description for item in loaded.items)


def test_content_hash_changes_with_content_not_formatting(tmp_path: Path) -> None:
    data = rubric(GREETING)
    first = from_dict(data)
    reformatted = tmp_path / "r.yaml"
    reformatted.write_text("# a comment\n" + yaml.safe_dump(data, indent=4), encoding="utf-8")
    assert load(reformatted).content_hash == first.content_hash
    changed = rubric({**GREETING, "points": 6})
    assert from_dict(changed).content_hash != first.content_hash


def test_unknown_rubric_name() -> None:
    with pytest.raises(RubricError, match="bundled rubrics: ecommerce-en, ecommerce-zh"):
        load("ecommerce-fr")
