"""Turns and metrics on hand-built conversations with exactly known numbers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
import yaml

from pipeline.conversation import (
    METRICS,
    ConversationSettings,
    hold_phrase,
    measure,
    turns_from_document,
    unmeasured_reason,
)
from pipeline.conversation import turns_from_segments as build
from pipeline.rubric.loading import RUBRIC_DIR


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
        seg("agent", 7.0, 9.0, "好的我来看看情况"),            # starts 1.0 s over the customer
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


def test_announced_silence_is_a_hold_not_dead_air() -> None:
    t = turns(seg("agent", 0.0, 2.0, "好的，请您稍等"), seg("agent", 42.0, 44.0, "让您久等了"))
    m = measure(t, "zh")
    assert m.hold_count == 1 and m.max_hold_s == 40.0
    assert m.max_dead_air_s == 0.0 and m.dead_air_count == 0
    assert m.max_silence_s == 40.0 and m.silence_count == 1  # every silence, as before
    (hold,) = m.silences
    assert hold.kind == "hold" and hold.cue_turn == 0
    assert hold.describe() == "hold of 40.0 s (announced: “稍等”)"
    (where,) = METRICS["max_hold_s"].locate(m, t)
    assert (where.start, where.end) == (2.0, 42.0) and where.why.startswith("hold of 40.0 s")
    assert METRICS["max_dead_air_s"].locate(m, t) == []


def test_the_same_silence_unannounced_is_dead_air() -> None:
    t = turns(seg("agent", 0.0, 2.0, "好的"), seg("agent", 42.0, 44.0, "让您久等了"))
    m = measure(t, "zh")
    assert m.hold_count == 0 and m.max_hold_s == 0.0
    assert m.max_dead_air_s == 40.0 and m.dead_air_count == 1
    (where,) = METRICS["max_dead_air_s"].locate(m, t)
    assert where.why == "dead air of 40.0 s (no hold announced) between transcript turns"


def test_hold_phrase_must_end_just_before_the_silence() -> None:
    t = turns(seg("agent", 0.0, 2.0, "请稍等"), seg("agent", 3.5, 6.0, "您的订单已经发货了"),
              seg("customer", 30.0, 31.0, "好的"))
    m = measure(t, "zh")
    assert m.hold_count == 0 and m.max_dead_air_s == 24.0  # the wait was over by then


def test_customer_asking_to_wait_and_thanks_after_are_holds_too() -> None:
    t = turns(seg("agent", 0.0, 2.0, "请提供一下订单号"),
              seg("customer", 2.5, 5.0, "稍等我找一下订单号"),
              seg("customer", 25.0, 27.0, "找到了"),
              seg("agent", 28.0, 30.0, "好的"),
              seg("agent", 50.0, 53.0, "感谢您的耐心等待，已经帮您处理好了"))
    m = measure(t, "zh")
    assert [s.kind for s in m.silences] == ["hold", "hold"]
    assert m.hold_count == 2 and m.max_dead_air_s == 1.0


@pytest.mark.parametrize(("text", "language"), [
    ("Sure, please hold while I look into that.", "en"),
    ("One moment, please.", "en"),
    ("Baik, mohon tunggu sebentar ya.", "id"),
    ("Dạ, anh vui lòng chờ một chút.", "vi"),
    ("กรุณารอสักครู่นะคะ", "th"),
    ("Baik, sila tunggu sebentar.", "ms"),
])
def test_hold_phrases_in_each_language(text: str, language: str) -> None:
    t = build(pd.DataFrame([{**seg("agent", 0.0, 3.0, text), "language": language},
                            {**seg("customer", 40.0, 41.0, "ok"), "language": language}]))
    m = measure(t, language)
    assert m.hold_count == 1 and m.max_dead_air_s == 0.0, text


def test_hold_phrases_match_whole_words() -> None:
    assert hold_phrase("please hold the line", "announce") == "please hold"
    assert hold_phrase("someone moment", "announce") is None
    assert hold_phrase("Thank you for holding.", "thanks") == "Thank you for holding"
    assert hold_phrase("您的包裹正在派送", "announce") is None


def test_silences_from_speech_leave_out_what_the_asr_dropped() -> None:
    """VAD speech without words (the ASR dropped 45 s of talk) is an ASR gap, not a silence."""
    t = turns(seg("agent", 0.0, 5.0, "您好请问有什么可以帮您"),
              seg("customer", 55.0, 58.0, "好的谢谢"))
    speech = [(0.1, 4.9), (6.0, 20.0), (20.6, 35.0), (36.0, 51.0), (55.1, 57.8)]
    m = measure(t, "zh", 60.0, speech=speech)
    assert m.silence_source == "audio" and m.flat()["silences_from_audio"] == 1
    assert [(s.start, s.end) for s in m.silences] == [(51.0, 55.0)]
    assert m.max_dead_air_s == 4.0 and m.max_silence_s == 4.0
    assert m.asr_gap_count == 1 and m.max_asr_gap_s == 45.0 and m.asr_gap_s == 45.0
    (where,) = METRICS["max_asr_gap_s"].locate(m, t)
    assert (where.start, where.end, where.why) == (6.0, 51.0, "speech without words, 45.0 s")
    # Without the audio the same call shows the dropped speech as a 50 s silence.
    turns_only = measure(t, "zh", 60.0)
    assert turns_only.silence_source == "turns" and turns_only.max_silence_s == 50.0
    assert turns_only.asr_gap_count is None and turns_only.flat()["silences_from_audio"] == 0


def test_speech_and_turns_together_make_the_silences() -> None:
    """Words the VAD missed still count as speech; VAD padding at turn edges is no ASR gap."""
    t = turns(seg("agent", 0.0, 4.0, "您好"), seg("customer", 20.0, 22.0, "嗯"))
    speech = [(0.0, 4.2), (10.0, 11.0)]  # misses the customer's 嗯, pads the agent's turn
    m = measure(t, "zh", 22.0, speech=speech)
    assert [(s.start, s.end) for s in m.silences] == [(4.2, 10.0), (11.0, 20.0)]
    assert m.asr_gap_count == 0  # one second of speech without words: under asr_gap_min_s
    assert measure(t, "zh", 22.0, speech=speech,
                   settings=ConversationSettings(asr_gap_min_s=1.0)).asr_gap_count == 1


def test_asr_gaps_split_at_turns_and_at_silences() -> None:
    t = turns(seg("agent", 10.0, 12.0, "一"))
    speech = [(0.0, 3.0), (3.5, 6.0), (10.0, 12.0), (12.5, 15.0), (25.0, 28.0)]
    m = measure(t, "zh", 30.0, speech=speech)
    assert [(g.start, g.end) for g in m.asr_gaps] == [(0.0, 6.0), (12.5, 15.0), (25.0, 28.0)]
    assert m.asr_gap_s == 11.5


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


def test_mono_call_diarized_has_roles_but_no_overtalk() -> None:
    """One channel, two parties by diarization: talk and rate per role, overlaps unheard."""
    t = turns(seg("agent", 0.0, 6.0, "您好很高兴为您服务"), seg("customer", 5.0, 8.0, "我要退货"),
              seg("agent", 9.0, 10.0, "好的"))
    m = measure(t, "zh", single_stream=True)
    assert m.roles == "known" and not m.two_sided
    assert m.talk_time_s == {"agent": 7.0, "customer": 3.0}
    assert m.speech_rate["customer"] == 80.0
    assert m.first_response_latency_s == 1.0
    flat = m.flat()
    for name in ("overtalk_total", "agent.overtalk_count", "customer.overtalk_s"):
        assert flat[name] is None, name
    assert unmeasured_reason(m, METRICS["overtalk_total"]).startswith("one channel")
    assert unmeasured_reason(m, METRICS["max_asr_gap_s"]).startswith("no speech detection")
    stereo = measure(t, "zh")
    assert stereo.two_sided and stereo.flat()["overtalk_total"] == 1


def test_mono_overtalk_comes_from_the_overlaps_heard_in_the_audio() -> None:
    """One channel whose overlapping voices the audio model found: overtalk is measured from
    them (who started, how long), tied to the starter's nearest turn; short ones are not."""
    t = turns(seg("customer", 0.0, 6.0, "我的快递一直没到"), seg("agent", 5.8, 9.0, "您先别急"),
              seg("customer", 9.5, 12.0, "你听我说完"), seg("agent", 12.5, 14.0, "好的"))
    m = measure(t, "zh", single_stream=True,
                overlaps=[(5.7, 6.5, "agent"), (11.9, 12.1, "customer"), (3.0, 4.0, "unknown")])
    assert m.two_sided and m.overlaps_heard
    assert m.overtalk_count == {"agent": 1, "customer": 0}
    event = m.overtalks[0]
    assert (event.by, event.over, event.start, event.turn_idx) == ("agent", "customer", 5.7, 1)
    assert m.flat()["overtalk_total"] == 1
    none_heard = measure(t, "zh", single_stream=True, overlaps=[])
    assert none_heard.two_sided and none_heard.flat()["agent.overtalk_count"] == 0
    unsure = measure(t, "zh", roles="uncertain", single_stream=True, overlaps=[(5.7, 6.5, "agent")])
    assert unsure.flat()["agent.overtalk_count"] is None  # whose voice it was is not known


def test_uncertain_roles_leave_per_role_metrics_unmeasured() -> None:
    t = turns(seg("agent", 0.0, 6.0, "您好很高兴为您服务"), seg("customer", 5.0, 8.0, "我要退货"),
              seg("agent", 9.0, 10.0, "好的"))
    m = measure(t, "zh", roles="uncertain")
    flat = m.flat()
    for name in ("agent.talk_time_s", "customer.talk_ratio", "agent.speech_rate",
                 "agent.overtalk_count", "first_response_latency_s", "max_response_latency_s"):
        assert flat[name] is None, name
    assert flat["overtalk_total"] == 1  # two channels: overlaps are heard, whoever is whom
    assert flat["max_silence_s"] == 1.0 and flat["duration_s"] == 10.0


def _metric_names(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("metric"), str):
            yield node["metric"]
        for value in node.values():
            yield from _metric_names(value)
    elif isinstance(node, list):
        for value in node:
            yield from _metric_names(value)


def test_bundled_rubrics_use_only_registered_metrics() -> None:
    used = {name for path in sorted(RUBRIC_DIR.glob("*.yaml"))
            for name in _metric_names(yaml.safe_load(path.read_text(encoding="utf-8")))}
    assert "max_dead_air_s" in used and "max_silence_s" not in used  # holds are not dead air
    assert used <= set(METRICS), used - set(METRICS)
