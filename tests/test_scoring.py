"""Scores: na out of the denominator, fatal zeroes, evidence for every pass and fail."""

from __future__ import annotations

import pytest

from pipeline.config import ScoringSettings
from pipeline.rubric import from_dict, load
from pipeline.scoring import composite, score_document

RUBRIC = from_dict({"id": "t", "version": 1, "language": "zh", "items": [
    {"id": "greeting", "points": 10, "pass_if": {"speaker": "agent", "any_phrase": ["您好"]}},
    {"id": "apology", "points": 30,
     "applies_if": {"speaker": "customer", "any_phrase": ["投诉"]},
     "pass_if": {"speaker": "agent", "any_phrase": ["抱歉"]}},
    {"id": "closing", "points": 10, "pass_if": {"speaker": "agent", "any_phrase": ["再见"]}},
    {"id": "forbidden", "points": 0, "fatal": True,
     "fail_if": {"speaker": "agent", "any_phrase": ["不归我管"]}},
    {"id": "dead-air", "points": 10, "fail_if": {"metric": "max_silence_s", "gt": 10}},
]})


def call(*turns: tuple[str, str], timed: bool = True) -> dict:
    rows = []
    for number, (speaker, text) in enumerate(turns):
        row = {"speaker": speaker, "text": text}
        if timed:
            row.update(start=number * 3.0, end=number * 3.0 + 2.5)
        rows.append(row)
    return {"call_id": "C", "language": "zh", "turns": rows}


def outcomes(card) -> dict[str, str]:
    return dict(zip(card.items.item_id, card.items.outcome, strict=True))


def test_na_items_are_out_of_the_denominator() -> None:
    card = score_document(call(("agent", "您好"), ("customer", "快递到了吗")), RUBRIC)
    assert outcomes(card) == {"greeting": "pass", "apology": "na", "closing": "fail",
                              "forbidden": "pass", "dead-air": "pass"}
    # greeting 10 + dead-air 10 earned, of greeting + closing + dead-air = 30 available
    assert card.inspection["score"] == pytest.approx(100 * 20 / 30, abs=0.01)
    assert card.inspection["fatal"] is False


def test_fatal_failure_zeroes_the_score_and_flags_the_call() -> None:
    card = score_document(call(("agent", "您好"), ("customer", "我要投诉"),
                               ("agent", "抱歉，这不归我管"), ("agent", "再见")), RUBRIC)
    assert outcomes(card)["forbidden"] == "fail"
    assert card.inspection["score"] == 0.0 and card.inspection["fatal"] is True
    assert card.inspection["flags"] == ["fatal:forbidden"]
    row = card.items.set_index("item_id").loc["forbidden"]
    assert row["fatal"] and row["evidence"][0]["idx"] == 2


BAD_CALL = (("agent", "喂"), ("customer", "我要投诉"), ("agent", "好的"))


def test_every_pass_and_fail_has_evidence() -> None:
    card = score_document(call(*BAD_CALL), RUBRIC)
    for row in card.items.itertuples():
        if row.outcome != "na":
            assert row.evidence, row.item_id
    greeting = card.items.set_index("item_id").loc["greeting"]
    assert greeting["outcome"] == "fail"
    miss = greeting["evidence"][0]
    assert miss["idx"] is None and "nothing found" in miss["why"]
    assert (miss["start"], miss["end"]) == (0.0, 8.5)  # the window that was searched


def test_low_score_is_flagged() -> None:
    card = score_document(call(*BAD_CALL), RUBRIC, settings=ScoringSettings(review_below=60))
    assert card.inspection["score"] < 60
    assert card.inspection["flags"][0].startswith("low_score:")


def test_chat_log_scores_without_timed_items() -> None:
    card = score_document(call(("agent", "您好"), ("agent", "再见"), timed=False), RUBRIC)
    assert outcomes(card)["dead-air"] == "na"
    assert card.inspection["score"] == 100.0


def test_composite_default_weights() -> None:
    # rating 5 → 100, QA 80, NPS 9 → 90: 0.4·100 + 0.3·80 + 0.3·90
    assert composite(80, 5, 9) == (pytest.approx(91.0), "rating+qa+nps")


def test_composite_rescales_over_what_is_present() -> None:
    value, basis = composite(80, None, 9)
    assert basis == "qa+nps" and value == pytest.approx((0.3 * 80 + 0.3 * 90) / 0.6)
    assert composite(80, None, None) == (80.0, "qa")
    assert composite(None, None, None) == (None, "none")
    assert composite(80, float("nan"), None) == (80.0, "qa")


def test_composite_weights_are_configurable() -> None:
    settings = ScoringSettings(weight_rating=0.5, weight_qa=0.5, weight_nps=0.0)
    assert composite(60, 3, 10, settings) == (pytest.approx(55.0), "rating+qa+nps")


def test_labels_written_into_the_transcript_feed_label_conditions() -> None:
    rubric = load("ecommerce-zh")
    document = call(("agent", "您好"), ("customer", "快递怎么还没到"), ("agent", "嗯嗯"))
    document["turns"][2]["labels"] = {"agent.offer_solution": 0.95}
    card = score_document(document, rubric)
    offer = card.items.set_index("item_id").loc["offer-solution"]
    assert offer["outcome"] == "pass"  # no phrase says so: the written label does
    assert any("agent.offer_solution" in e["why"] for e in offer["evidence"])


def test_mono_call_is_not_assessed_but_flagged() -> None:
    """All-unknown turns (mono): the agent's items are na with the reason, none fails."""
    turns = (("unknown", "您好"), ("unknown", "我要投诉"), ("unknown", "抱歉，再见"))
    card = score_document(call(*turns), RUBRIC)
    items = card.items.set_index("item_id")
    for item in ("greeting", "apology", "closing", "forbidden"):
        assert items.at[item, "outcome"] == "na", item
        assert "speaker roles unknown" in items.at[item, "note"], item
    assert "fail" not in set(items["outcome"])
    assert items.at["dead-air", "outcome"] == "pass"  # needs no role
    assert "roles_unknown" in card.inspection["flags"]
    # What is left (dead air) is not the agent's score: none, not a free 100.
    assert card.inspection["score"] is None and card.inspection["composite"] is None
    assert not any(flag.startswith("low_score") for flag in card.inspection["flags"])


def test_mono_call_gets_no_free_overtalk_pass() -> None:
    turns = (("unknown", "您好"), ("unknown", "我要投诉"), ("unknown", "抱歉"))
    card = score_document(call(*turns), load("ecommerce-zh"))
    items = card.items.set_index("item_id")
    for item in ("no-overtalk", "greeting", "closing", "forbidden-phrases", "first-response"):
        assert items.at[item, "outcome"] == "na", item
    assert card.inspection["metrics"]["agent.overtalk_count"] is None


def test_stereo_call_has_no_roles_flag() -> None:
    card = score_document(call(("agent", "您好"), ("customer", "快递到了吗")), RUBRIC)
    assert not any(flag.startswith("roles_") for flag in card.inspection["flags"])


def test_a_bots_greeting_is_not_the_silent_agents() -> None:
    chat = call(("bot", "您好，很高兴为您服务"), ("system", "已转人工"),
                ("customer", "快递到了吗"), ("agent", "再见"), timed=False)
    card = score_document(chat, RUBRIC)
    assert outcomes(card)["greeting"] == "fail"
    assert list(card.turns["speaker"])[:2] == ["bot", "system"]  # kept, just not the agent
    assert "roles_unknown" not in card.inspection["flags"]


def test_every_flag_is_a_reason_the_review_queue_can_filter_on() -> None:
    from pipeline.conversation import turns_from_document
    from pipeline.scoring import FLAG_REASONS, BatchChecks, score_turns

    mono = call(("unknown", "我要投诉，打12315，找媒体曝光"), ("unknown", "再见"))
    cards = [score_document(call(*BAD_CALL), RUBRIC), score_document(mono, load("ecommerce-zh")),
             score_turns("c1", "zh", turns_from_document(call(*BAD_CALL)), RUBRIC,
                         batch=BatchChecks(low_asr_confidence=1.0, calibration_share=1.0))]
    flags = {flag.split(":")[0] for card in cards for flag in card.inspection["flags"]}
    assert {"low_score", "roles_unknown", "calibration_sample"} <= flags
    assert flags <= set(FLAG_REASONS)


def test_speech_the_asr_wrote_nothing_for_flags_the_call_and_is_no_silence() -> None:
    """A 45 s stretch of speech with no words (the ASR dropped it) is an asr_gap, shown
    where it is, and not the call's dead air."""
    from pipeline.rubric import load
    from pipeline.scoring import score_document

    document = {
        "call_id": "GAP", "language": "zh",
        "turns": [{"speaker": "agent", "start": 0.0, "end": 3.0, "text": "您好，请问有什么可以帮"},
                  {"speaker": "customer", "start": 3.5, "end": 6.0, "text": "我的快递没到"},
                  {"speaker": "agent", "start": 52.0, "end": 55.0, "text": "好的，感谢来电，再见"}],
        "speech": [[0.0, 6.0], [6.5, 51.5], [52.0, 55.0]],
        "audio": {"channels": 2, "layout": "stereo_agent_left", "duration_s": 55.0},
    }
    card = score_document(document, load("ecommerce-zh"))
    assert "asr_gap:45s" in card.inspection["flags"]
    assert card.inspection["metrics"]["asr_gaps"] == [[6.5, 51.5]]
    assert card.inspection["metrics"]["max_dead_air_s"] < 1
    assert card.items.set_index("item_id").loc["dead-air"].outcome == "pass"


@pytest.mark.parametrize(("agent", "expected"), [
    ("食用后身体不适是吗亲亲", "pass"),  # a tag question on the customer's problem
    ("然后联系商家商家态度很恶劣的对吗", "pass"),
    ("您的订单尾号是1234是吧", "fail"),  # an identity read-back, not the problem
    ("****的是吧", "fail"),
    ("是什么问题呢", "fail"),  # a new question restates nothing
])
def test_zh_restate_problem_passes_on_a_tag_question(agent: str, expected: str) -> None:
    card = score_document(call(("agent", "您好"), ("customer", "昨天的外卖吃完拉肚子了"),
                               ("agent", agent), timed=False), load("ecommerce-zh"))
    assert outcomes(card)["restate-problem"] == expected


@pytest.mark.parametrize(("turns", "expected"), [
    # The agent closed and the customer only thanks: judged, and passed.
    ((("customer", "快递还没到"), ("agent", "已为您催促"), ("customer", "好的"),
      ("agent", "不客气，祝您生活愉快"), ("customer", "谢谢")), "pass"),
    # The agent answered twice and has the last word without closing: judged, and failed.
    ((("customer", "快递还没到"), ("agent", "您好"), ("customer", "三天了"),
      ("agent", "已为您催促快递")), "fail"),
    # One answer in a short exchange, no closing words: not the end of a conversation.
    ((("customer", "快递还没到"), ("agent", "已为您催促快递")), "na"),
    # The agent asks the customer to hold: the call goes on after the log.
    ((("customer", "快递还没到"), ("agent", "您好"), ("customer", "三天了"),
      ("agent", "我联系一下商家，请您稍等")), "na"),
    # A courtesy, then the customer raises something new: the conversation is still open.
    ((("customer", "快递还没到"), ("agent", "已为您催促，谢谢"),
      ("customer", "那运费怎么算？")), "na"),
    # The chat system says the customer left after the agent's answers: judged.
    ((("customer", "快递还没到"), ("agent", "您好"), ("customer", "三天了"),
      ("agent", "已为您催促快递"), ("customer", "离开人工会话")), "fail"),
])
def test_zh_closing_is_judged_only_where_the_conversation_ended(turns, expected) -> None:
    card = score_document(call(*turns, timed=False), load("ecommerce-zh"))
    assert outcomes(card)["closing"] == expected


@pytest.mark.parametrize(("turns", "expected"), [
    ((("customer", "My parcel is late"), ("agent", "I have chased the courier"),
      ("customer", "ok"), ("agent", "You are welcome, have a nice day")), "pass"),
    ((("customer", "My parcel is late"), ("agent", "I have chased the courier")), "na"),
    ((("customer", "My parcel is late"), ("agent", "I have chased the courier, thanks"),
      ("customer", "And what about the fee?")), "na"),
])
def test_en_closing_is_judged_only_where_the_conversation_ended(turns, expected) -> None:
    document = call(*turns, timed=False) | {"language": "en"}
    card = score_document(document, load("ecommerce-en"))
    assert outcomes(card)["closing"] == expected
