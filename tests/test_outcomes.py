"""Call-level outcomes: resolution with evidence, dissatisfaction, contact reason."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from pipeline import outcomes
from pipeline.conversation import turns_from_document
from pipeline.errors import ModelIntegrityError, ModelNotFoundError
from pipeline.rubric import from_dict
from pipeline.scoring import score_document

DIM = 8


class TinySpace:
    """Sentence vectors that only say whether a text thanks (dim 0) or complains (dim 1)."""

    version = "tiny"

    def vectors(self, texts):
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for row, text in enumerate(texts):
            out[row, 0] = float(any(w in text for w in ("谢谢", "好的", "thanks")))
            out[row, 1] = float(any(w in text for w in ("还没", "投诉", "不行")))
            out[row, 2] = 1.0
        return out


def tiny_category() -> outcomes.CategoryHead:
    """logistics_delay on 快递, price_dispute on 扣费, else other (n-grams only)."""
    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 2), dtype=np.float32)
    vectorizer.fit(["快递", "扣费"])
    sparse = np.zeros((len(outcomes.CATEGORIES), len(vectorizer.vocabulary_)), np.float32)
    for category, term in (("logistics_delay", "快递"), ("price_dispute", "扣费")):
        sparse[outcomes.CATEGORIES.index(category), vectorizer.vocabulary_[term]] = 8.0
    bias = np.zeros(len(outcomes.CATEGORIES), np.float32)
    bias[outcomes.CATEGORIES.index("other")] = 1.0
    dense = np.zeros((len(outcomes.CATEGORIES), DIM * len(outcomes.CUSTOMER_BLOCKS)),
                     np.float32)
    return outcomes.CategoryHead(vectorizer, sparse, dense, bias)


def tiny_model(threshold: float = 0.5) -> outcomes.OutcomeModel:
    """Resolved when the last customer turn thanks; dissatisfied when it complains; a
    complaint when the customer side complains; categories from ``tiny_category``."""
    resolved = np.zeros(DIM * len(outcomes.FEATURE_BLOCKS), dtype=np.float32)
    dissatisfied = resolved.copy()
    last_customer = outcomes.FEATURE_BLOCKS.index("last_customer") * DIM
    resolved[last_customer] = 6.0
    dissatisfied[last_customer + 1] = 6.0
    complaint = np.zeros(DIM * len(outcomes.CUSTOMER_BLOCKS), dtype=np.float32)
    complaint[DIM + 1] = 12.0  # the mean customer turn complains
    return outcomes.OutcomeModel("tiny", {"resolved": (resolved, -3.0),
                                          "escalated": (resolved * 0, 3.0),  # if handed on
                                          "dissatisfied": (dissatisfied, -3.0),
                                          "complaint": (complaint, -3.0)},
                                 {"resolved": threshold, "escalated": 0.5, "complaint": 0.5}, {},
                                 category=tiny_category())


def call(*turns: tuple[str, str]) -> dict:
    return {"call_id": "O1", "language": "zh",
            "turns": [{"speaker": s, "text": t} for s, t in turns]}


def judge(document: dict, roles: str = "known"):
    return outcomes.judge_outcome(turns_from_document(document), roles, TinySpace(),
                                  tiny_model())


def test_resolved_when_the_customer_ends_content() -> None:
    outcome = judge(call(("customer", "@某客服 我的快递三天了还没到"),
                         ("agent", "已为您催促，今天送达"), ("customer", "好的谢谢")))
    assert outcome.resolution == "resolved" and outcome.resolved_probability > 0.9
    assert outcome.dissatisfied_probability < 0.1
    assert outcome.contact_reason == "我的快递三天了还没到"  # the @mention is not the reason
    assert outcome.evidence["resolution"]["idx"] == 2


def test_handed_on_is_escalated_only_when_the_escalated_head_agrees() -> None:
    model = tiny_model()
    weights, _ = model.heads["escalated"]
    model.heads["escalated"] = (weights, -3.0)
    outcome = outcomes.judge_outcome(
        turns_from_document(call(("customer", "扣费不对"), ("agent", "已退款，后续有问题请私信"),
                                 ("customer", "好的谢谢"))), "known", TinySpace(), model)
    assert outcome.resolution == "resolved"  # 私信 is an offer here, not where it was left


def test_handed_on_is_escalated_with_the_turn_as_evidence() -> None:
    outcome = judge(call(("customer", "扣费不对，我要投诉"),
                         ("agent", "请您私信提供号码，我们转交专员核实后联系您"),
                         ("customer", "还没人联系我")))
    assert outcome.resolution == "escalated"
    assert outcome.evidence["resolution"]["idx"] == 1
    assert "私信" in outcome.evidence["resolution"]["why"]
    assert outcome.dissatisfied_probability > 0.9
    assert outcome.evidence["dissatisfied"]["idx"] == 2  # the customer's last word


def test_left_open_is_not_resolved() -> None:
    outcome = judge(call(("customer", "手机充不进电"), ("agent", "请问您用的是原装充电器吗"),
                         ("customer", "是的，还是不行")))
    assert outcome.resolution == "not_resolved"


def test_no_outcome_without_roles_or_parties() -> None:
    document = call(("customer", "快递还没到"), ("agent", "好的"))
    assert judge(document, roles="uncertain") is None
    assert judge(call(("customer", "快递还没到"))) is None
    assert outcomes.judge_outcome(turns_from_document(document), "known", None) is None


def test_a_model_for_another_encoder_is_refused() -> None:
    model = tiny_model()
    other = outcomes.OutcomeModel("other-encoder", model.heads, model.thresholds, {})
    with pytest.raises(ModelIntegrityError, match="retrain"):
        outcomes.judge_outcome(turns_from_document(call(("customer", "a"), ("agent", "b"))),
                               "known", TinySpace(), other)


def test_model_file_is_checked(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError):
        outcomes.load_model(tmp_path)
    written = {"encoder": "x", "dim": 4, "blocks": list(outcomes.FEATURE_BLOCKS),
               "thresholds": {"resolved": 0.5},
               "heads": {"resolved": {"weights": [0.0] * 3, "bias": 0},
                         "dissatisfied": {"weights": [0.0] * 24, "bias": 0}}}
    (tmp_path / "outcomes.json").write_text(json.dumps(written))
    with pytest.raises(ModelIntegrityError, match="wrong shape"):
        outcomes.load_model(tmp_path)
    # Heads trained on other feature blocks (an older artifact) would read the wrong vectors.
    written["blocks"] = list(outcomes.FEATURE_BLOCKS[:4])
    (tmp_path / "outcomes.json").write_text(json.dumps(written))
    with pytest.raises(ModelIntegrityError, match="feature blocks"):
        outcomes.load_model(tmp_path)
    (tmp_path / "outcomes.json").write_text("{")
    with pytest.raises(ModelIntegrityError):
        outcomes.load_model(tmp_path)


def test_bundled_model_loads() -> None:
    model = outcomes.bundled_model()
    assert set(model.heads) == {"resolved", "escalated", "dissatisfied", "complaint"}
    assert 0 < model.thresholds["resolved"] < 1 and 0 < model.thresholds["escalated"] < 1
    assert 0 < model.thresholds["complaint"] < 1
    assert model.category is not None


def test_complaint_and_category_with_the_turn_that_says_most() -> None:
    outcome = judge(call(("customer", "你好"), ("agent", "您好，请讲"),
                         ("customer", "快递三天了还没到，我要投诉"), ("agent", "马上为您催促")))
    assert outcome.complaint_probability > 0.9
    assert outcome.evidence["complaint"]["idx"] == 2
    assert outcome.category == "logistics_delay" and outcome.category_probability > 0.5
    assert outcome.evidence["category"]["idx"] == 2
    assert "logistics_delay" in outcome.evidence["category"]["why"]
    calm = judge(call(("customer", "请问怎么查询积分"), ("agent", "在App里查询")))
    assert calm.complaint_probability < 0.1 and calm.category == "other"
    stored = outcome.as_dict()
    assert stored["category"] == "logistics_delay" and stored["complaint_probability"] > 0.9


def test_a_category_head_of_the_wrong_shape_is_refused(tmp_path: Path) -> None:
    bundled = json.loads((outcomes.bundled.path("outcomes") / "outcomes.json").read_text())
    bundled["category"]["bias"] = bundled["category"]["bias"][:-1]
    (tmp_path / "outcomes.json").write_text(json.dumps(bundled))
    with pytest.raises(ModelIntegrityError, match="category head"):
        outcomes.load_model(tmp_path)


RUBRIC = {"id": "r", "version": 1, "language": "zh", "items": [
    {"id": "resolved", "points": 20,
     "pass_if": {"resolution": ["resolved"], "na_when": ["escalated"]}}]}


@pytest.mark.parametrize(("last_agent", "last_customer", "expected"), [
    ("已为您补发", "好的谢谢", "pass"),
    ("请问您用的是原装充电器吗", "还是不行", "fail"),
    ("我们转交专员核实后联系您", "还是不行", "na"),
])
def test_resolution_condition(monkeypatch: pytest.MonkeyPatch, last_agent: str,
                              last_customer: str, expected: str) -> None:
    monkeypatch.setattr(outcomes, "bundled_model", tiny_model)
    document = call(("customer", "快递还没到"), ("agent", last_agent),
                    ("customer", last_customer))
    card = score_document(document, from_dict(RUBRIC), similarity=TinySpace())
    (row,) = card.items.to_dict("records")
    assert row["outcome"] == expected
    assert card.as_json()["outcome"]["resolution"] in outcomes.RESOLUTIONS
    if expected == "na":
        assert "follow-up" in row["note"]


COMPLAINT_RUBRIC = {"id": "c", "version": 1, "language": "zh", "items": [
    {"id": "apology", "points": 5, "applies_if": {"outcome": "complaint"},
     "pass_if": {"speaker": "agent", "any_phrase": ["抱歉"]}}]}


@pytest.mark.parametrize(("customer", "expected"), [
    ("快递还没到，我要投诉", "pass"),
    ("请问积分怎么查", "na"),
])
def test_an_item_for_complaints_says_why_it_applied(monkeypatch: pytest.MonkeyPatch,
                                                    customer: str, expected: str) -> None:
    monkeypatch.setattr(outcomes, "bundled_model", tiny_model)
    document = call(("customer", customer), ("agent", "抱歉，马上为您处理"))
    card = score_document(document, from_dict(COMPLAINT_RUBRIC), similarity=TinySpace())
    (row,) = card.items.to_dict("records")
    assert row["outcome"] == expected
    applied = [e for e in row["evidence"] if e.get("applies")]
    assert len(applied) == 1 and applied[0]["idx"] == 0
    assert "complaint p=" in applied[0]["why"]
    found = [e for e in row["evidence"] if not e.get("applies")]
    assert (expected == "pass") == bool(found)


def test_an_item_for_complaints_is_na_without_an_outcome() -> None:
    card = score_document(call(("customer", "快递还没到"), ("agent", "抱歉")),
                          from_dict(COMPLAINT_RUBRIC))
    (row,) = card.items.to_dict("records")
    assert row["outcome"] == "na" and "no call-level complaint" in row["note"]


def test_resolution_is_na_without_an_outcome() -> None:
    card = score_document(call(("customer", "快递还没到"), ("agent", "好的")), from_dict(RUBRIC))
    (row,) = card.items.to_dict("records")
    assert row["outcome"] == "na" and "no call outcome" in row["note"]


def _labels(directory: Path, name: str, records: list[dict]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_text("".join(json.dumps(r) + "\n" for r in records),
                                  encoding="utf-8")


def test_the_heads_learn_how_a_dialogue_ended_from_hand_labels(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch
                                                               ) -> None:
    from types import SimpleNamespace

    from pipeline.training import outcomes as training

    turns = [SimpleNamespace(party="customer", text="还没到"), SimpleNamespace(party="agent",
                                                                               text="已催促")]
    dialogues = [SimpleNamespace(source=s, group=f"{s.split('_')[0]}:{k}", turns=turns)
                 for s, k in (("stc3_zh", "1"), ("stc3_en", "1"), ("musied_call", "2"),
                              ("musied_call", "3"))]
    monkeypatch.setattr(training, "load_dialogues", lambda data: dialogues)
    monkeypatch.setattr(training, "split_of", lambda group: "train")
    labels = tmp_path / "labels"
    _labels(labels, "a.jsonl", [{"key": k, "complaint": True, "category": "logistics_delay"}
                                for k in ("stc3_zh:1", "musied_call:2", "musied_call:3")])
    _labels(labels / training.ENDINGS, "a.jsonl",
            [{"key": "stc3_zh:1", "resolution": "escalated", "dissatisfied": True},
             {"key": "musied_call:2", "resolution": "resolved", "dissatisfied": False}])
    rows = training.labelled_rows(tmp_path, labels)
    assert [(r["group"], r["resolved"], r["escalated"], r["dissatisfied"]) for r in rows] == [
        ("stc3:1", False, True, True), ("stc3:1", False, True, True),  # zh's label holds for en
        ("musied:2", True, False, False), ("musied:3", None, None, None)]  # ending not labelled
    _labels(labels / training.ENDINGS, "a.jsonl",
            [{"key": "musied_call:2", "resolution": "solved", "dissatisfied": False}])
    with pytest.raises(ValueError, match="unknown resolution"):
        training.labelled_rows(tmp_path, labels)
