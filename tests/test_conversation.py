"""Turns and metrics on hand-built conversations with exactly known numbers."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline.conversation import ConversationSettings, measure, turns_from_document
from pipeline.conversation import turns_from_segments as build


def seg(speaker: str, start: float, end: float, text: str) -> dict:
    return {"call_id": "C1", "channel": 0 if speaker == "agent" else 1, "speaker": speaker,
            "start": start, "end": end, "text": text, "avg_logprob": -0.1,
            "no_speech_prob": 0.0, "language": "zh"}


def turns(*segments: dict) -> pd.DataFrame:
    return build(pd.DataFrame(list(segments)))


def test_consecutive_segments_merge_across_short_pauses() -> None:
    t = turns(seg("agent", 0.5, 2.5, "您好，很高兴为您服务"),
              seg("agent", 2.8, 4.0, "请问有什么可以帮您"),
              seg("customer", 5.0, 8.0, "我的快递三天没更新了"))
    assert list(t.speaker) == ["agent", "customer"]
    assert t.loc[0, "start"] == 0.5 and t.loc[0, "end"] == 4.0
    assert t.loc[0, "raw_text"] == "您好，很高兴为您服务 请问有什么可以帮您"
    assert t.loc[0, "text"] == "您好很高兴为您服务请问有什么可以帮您"
    assert t.loc[1, "text"] == "我的快递3天没更新了"


def test_long_pause_or_other_speaker_ends_the_turn() -> None:
    t = turns(seg("agent", 0.0, 1.0, "一"), seg("agent", 2.5, 3.0, "二"))
    assert len(t) == 2  # 1.5 s pause > 1.0 s
    t = turns(seg("agent", 0.0, 1.0, "a"), seg("customer", 1.1, 1.4, "嗯"),
              seg("agent", 1.5, 2.0, "b"))
    assert list(t.speaker) == ["agent", "customer", "agent"]


def test_silence_overtalk_latency_and_rate() -> None:
    t = turns(
        seg("agent", 0.5, 4.0, "您好很高兴为您服务"),          # 9 chars
        seg("customer", 5.0, 8.0, "我的快递三天没更新了"),       # 10 chars
        seg("agent", 7.0, 9.0, "好的我帮您查一下"),            # starts 1.0 s over the customer
        seg("customer", 21.0, 23.0, "好的"),                  # 12 s of dead air before
        seg("agent", 23.5, 25.0, "感谢您的来电"),
    )
    m = measure(t, "zh", duration_s=26.0)
    assert m.timed and m.duration_s == 26.0
    assert m.talk_time_s == {"agent": 7.0, "customer": 5.0}
    assert m.talk_ratio["agent"] == pytest.approx(7 / 12, abs=1e-4)
    assert m.max_silence_s == 12.0
    assert [(s.start, s.end) for s in m.silences] == [(9.0, 21.0)]
    assert m.silence_count == 1 and m.hold_count == 0
    assert len(m.overtalks) == 1
    event = m.overtalks[0]
    assert (event.by, event.over, event.start, event.overlap_s) == ("agent", "customer", 7.0, 1.0)
    assert m.overtalk_count == {"agent": 1, "customer": 0}
    assert m.first_response_latency_s == 0.0  # the agent started before the customer stopped
    assert m.response_latencies_s == [0.0, 0.5]
    assert m.max_response_latency_s == 0.5
    # agent: 9 + 8 + 6 = 23 chars in 7 s → 197.1 per minute
    assert m.speech_rate["agent"] == pytest.approx(23 / (7 / 60), abs=0.1)
    flat = m.flat()
    assert flat["max_silence_s"] == 12.0 and flat["agent.overtalk_count"] == 1


def test_backchannel_is_not_overtalk() -> None:
    t = turns(seg("customer", 0.0, 5.0, "我想问一下退款的事情"), seg("agent", 2.0, 2.3, "嗯"))
    m = measure(t, "zh", settings=ConversationSettings(min_overtalk_s=0.5))
    assert m.overtalks == []


def test_hold_is_a_long_silence() -> None:
    t = turns(seg("agent", 0.0, 2.0, "请稍等"), seg("agent", 40.0, 42.0, "让您久等了"))
    m = measure(t, "zh")
    assert m.hold_count == 1 and m.max_silence_s == 38.0


def test_english_speech_rate_is_words_per_minute() -> None:
    t = build(pd.DataFrame([{**seg("agent", 0.0, 6.0, "Thank you for calling, how can I help?"),
                             "language": "en"}]))
    m = measure(t, "en")
    assert m.speech_rate_unit == "words_per_min"
    assert m.speech_rate["agent"] == 80.0  # 8 words in 6 s


def test_chat_log_has_no_timed_metrics() -> None:
    doc = {"call_id": "chat", "language": "zh", "turns": [
        {"speaker": "customer", "text": "在吗？我的订单还没发货"},
        {"speaker": "agent", "text": "您好，在的"}]}
    t = turns_from_document(doc)
    assert list(t.idx) == [0, 1] and t.start.isna().all()
    m = measure(t, "zh")
    assert not m.timed
    assert m.max_silence_s is None and m.first_response_latency_s is None
    assert m.talk_ratio == {"agent": None, "customer": None}
    assert m.turns == 2


def test_mono_call_has_no_per_role_or_overtalk_metrics() -> None:
    doc = {"call_id": "mono", "language": "zh", "turns": [
        {"speaker": "unknown", "start": 0.0, "end": 5.0, "text": "您好请问有什么可以帮您"},
        {"speaker": "unknown", "start": 4.0, "end": 8.0, "text": "我的快递三天没更新了"},
        {"speaker": "unknown", "start": 20.0, "end": 22.0, "text": "好的"}]}
    m = measure(turns_from_document(doc), "zh")
    assert m.roles == "unknown" and not m.two_sided
    assert m.max_silence_s == 12.0 and m.duration_s == 22.0  # no role needed
    flat = m.flat()
    for name in ("agent.talk_time_s", "agent.overtalk_count", "customer.overtalk_s",
                 "overtalk_total", "agent.speech_rate", "first_response_latency_s"):
        assert flat[name] is None, name
