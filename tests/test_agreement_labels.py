"""The hand labels the agreement bench rests on stay well-formed: every value is one the guide
allows, each dialogue sits in the half its key hashes to, the second labelling covers the same
dialogues, and a third reader's decision settles only a field the two labellers disputed, with
one of their two answers. Labels only: no shared data or models needed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import labelled_dialogues as ld  # noqa: E402
from labeller_agreement import SECOND_DIR, compare, disputes  # noqa: E402


def _check(record: dict) -> None:
    key = record["key"]
    assert record["half"] == ld.half_of(key), key
    assert set(record["items"]) == set(ld.ITEMS), key
    assert set(record["items"].values()) <= ld.ITEM_VALUES, key
    for name, values in ld.OUTCOME_VALUES.items():
        assert record["outcome"][name] in values, (key, name)
    # The guide: three-step needs a complaint; nothing to confirm without a solution.
    if not record["outcome"]["complaint"]:
        assert record["items"]["three-step-confirmation"] == "na", key


@pytest.mark.parametrize("directory", [ld.LABELS_DIR, SECOND_DIR], ids=["first", "second"])
def test_every_label_is_one_the_guide_allows(directory: Path) -> None:
    labels = ld.load_labels(directory)
    assert len(labels) >= 150
    for record in labels.values():
        _check(record)


def test_second_labelling_covers_the_first() -> None:
    first, second = ld.load_labels(), ld.load_labels(SECOND_DIR)
    assert second.keys() == first.keys()
    assert compare(first, second)["dialogues"] == len(first)


def test_decisions_settle_only_disputes_with_one_of_the_two_answers() -> None:
    first, second = ld.load_labels(), ld.load_labels(SECOND_DIR)
    adjudicated = ld.adjudicated_labels()
    decided = {k for k, r in adjudicated.items() if r["labeller"] == "adjudicated"}
    assert decided, "no adjudicated decisions"
    for key, record in adjudicated.items():
        _check(record)
        disputed = set(disputes(first[key], second[key]))
        for part in ("items", "outcome"):
            for name, value in record[part].items():
                field = f"{part}.{name}"
                if field in disputed:
                    assert value in (first[key][part][name], second[key][part][name]), field
                else:
                    assert value == first[key][part][name], (key, field)
    assert all(disputes(first[k], second[k]) for k in decided)


def test_an_unknown_decision_is_refused(tmp_path: Path) -> None:
    for path in ld.LABELS_DIR.glob("*.jsonl"):
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    key = next(iter(ld.load_labels()))
    (tmp_path / "adjudicated").mkdir()
    bad = tmp_path / "adjudicated" / "x.jsonl"
    bad.write_text(f'{{"key": "{key}", "decisions": {{"items.greeting": "maybe"}}}}\n',
                   encoding="utf-8")
    with pytest.raises(ValueError, match="not allowed"):
        ld.adjudicated_labels(tmp_path)
    bad.write_text(f'{{"key": "{key}", "decisions": {{"outcome.mood": "ok"}}}}\n',
                   encoding="utf-8")
    with pytest.raises(ValueError, match="unknown field"):
        ld.adjudicated_labels(tmp_path)


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_derived_item_is_scored_as_the_bundled_rubric_scores_it(language: str) -> None:
    from agreement import RESOLUTION_ITEM

    from pipeline.rubric import load

    (item,) = [i for i in load(f"ecommerce-{language}").items if i.id == "problem-resolved"]
    test = item.pass_if.params
    rubric = {r: "na" if r in test.na_when else "pass" if r in test.resolution else "fail"
              for r in ld.RESOLUTIONS}
    assert rubric == RESOLUTION_ITEM
