"""Call-level outcomes: resolution with evidence, dissatisfaction, contact reason."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

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


def tiny_model(threshold: float = 0.5) -> outcomes.OutcomeModel:
    """Resolved when the last customer turn thanks; dissatisfied when it complains."""
    resolved = np.zeros(DIM * len(outcomes.FEATURE_BLOCKS), dtype=np.float32)
    dissatisfied = resolved.copy()
    last_customer = outcomes.FEATURE_BLOCKS.index("last_customer") * DIM
    resolved[last_customer] = 6.0
    dissatisfied[last_customer + 1] = 6.0
    return outcomes.OutcomeModel("tiny", {"resolved": (resolved, -3.0),
                                          "dissatisfied": (dissatisfied, -3.0)},
                                 {"resolved": threshold}, {})


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


def test_handed_on_is_escalated_with_the_turn_as_evidence() -> None:
    outcome = judge(call(("customer", "扣费不对，我要投诉"),
                         ("agent", "请您私信提供号码，我们转交专员核实后联系您"),
                         ("customer", "还没人联系我")))
    assert outcome.resolution == "escalated"
    assert outcome.evidence["resolution"]["idx"] == 1
    assert "私信" in outcome.evidence["resolution"]["why"]
    assert outcome.dissatisfied_probability > 0.9


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
    (tmp_path / "outcomes.json").write_text(json.dumps({
        "encoder": "x", "dim": 4, "thresholds": {"resolved": 0.5},
        "heads": {"resolved": {"weights": [0.0] * 3, "bias": 0},
                  "dissatisfied": {"weights": [0.0] * 16, "bias": 0}}}))
    with pytest.raises(ModelIntegrityError, match="wrong shape"):
        outcomes.load_model(tmp_path)
    (tmp_path / "outcomes.json").write_text("{")
    with pytest.raises(ModelIntegrityError):
        outcomes.load_model(tmp_path)


def test_bundled_model_loads() -> None:
    model = outcomes.bundled_model()
    assert set(model.heads) == {"resolved", "dissatisfied"}
    assert 0 < model.thresholds["resolved"] < 1


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


def test_resolution_is_na_without_an_outcome() -> None:
    card = score_document(call(("customer", "快递还没到"), ("agent", "好的")), from_dict(RUBRIC))
    (row,) = card.items.to_dict("records")
    assert row["outcome"] == "na" and "no call outcome" in row["note"]
