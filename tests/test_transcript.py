from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from pipeline import transcript
from pipeline.asr import TranscribeOptions, Transcription
from pipeline.audio import AudioInfo
from pipeline.errors import TranscriptError
from pipeline.schemas import SegmentSchema, empty_segments


def segment(speaker: str, start: float, end: float, text: str, channel: int) -> dict:
    return {"call_id": "C1", "channel": channel, "speaker": speaker, "start": start, "end": end,
            "text": text, "avg_logprob": -0.1, "no_speech_prob": 0.01, "language": "zh"}


def result(rows: list[dict]) -> Transcription:
    info = AudioInfo("c.ogg", "ab" * 32, 10, "ogg", "opus", 48_000, 2, 7.0)
    frame = SegmentSchema.validate(pd.DataFrame(rows)) if rows else empty_segments()
    return Transcription("C1", info, "stereo_agent_left", "zh", None, "base",
                         TranscribeOptions(), frame, 1.0, False)


def test_document_follows_the_contract(tmp_path: Path) -> None:
    doc = transcript.from_transcription(result([
        segment("agent", 0.0, 2.4, "您好，很高兴为您服务", 0),
        segment("customer", 2.9, 6.1, "我的快递三天没更新了", 1),
    ]))
    assert doc["call_id"] == "C1" and doc["language"] == "zh"
    assert [t["speaker"] for t in doc["turns"]] == ["agent", "customer"]
    assert doc["turns"][0]["confidence"] == pytest.approx(0.9048, abs=1e-3)
    assert doc["audio"]["sha256"] == "ab" * 32
    path = tmp_path / "C1.json"
    transcript.save(path, doc)
    assert transcript.load(path) == json.loads(path.read_text(encoding="utf-8"))


def test_a_speakers_fragments_across_a_short_pause_are_one_turn() -> None:
    """ASR cuts at breaths: three fragments of one agent sentence, a customer backchannel
    after it, then a long pause: three turns, each on its speaker's channel."""
    doc = transcript.from_transcription(result([
        segment("agent", 0.0, 1.2, "您好", 0),
        segment("agent", 1.5, 2.8, "请问有什么", 0),
        segment("agent", 3.0, 4.0, "可以帮您", 0),
        segment("customer", 4.4, 5.0, "我的快递", 1),
        segment("agent", 8.0, 9.0, "好的", 0),
    ]))
    turns = [(t["speaker"], t["start"], t["end"], t["text"], t["channel"]) for t in doc["turns"]]
    assert turns == [("agent", 0.0, 4.0, "您好 请问有什么 可以帮您", 0),
                     ("customer", 4.4, 5.0, "我的快递", 1),
                     ("agent", 8.0, 9.0, "好的", 0)]
    assert transcript.validate(doc) is doc


def test_no_speech_is_an_empty_transcript() -> None:
    assert transcript.from_transcription(result([]))["turns"] == []


def test_chat_log_without_times_is_valid() -> None:
    chat = {"call_id": "chat-1", "language": "zh",
            "turns": [{"speaker": "customer", "text": "在吗"},
                      {"speaker": "agent", "text": "在的"}]}
    assert transcript.validate(chat) is chat


@pytest.mark.parametrize(("document", "message"), [
    ({"language": "zh", "turns": []}, "call_id"),
    ({"call_id": "x", "language": "zh", "turns": [{"speaker": "robot", "text": "hi"}]}, "speaker"),
    ({"call_id": "x", "language": "zh",
      "turns": [{"speaker": "agent", "text": "hi", "start": 3.0, "end": 1.0}]}, "before start"),
    ({"call_id": "x", "language": "zh", "turns": [{"speaker": "agent"}]}, "text"),
])
def test_invalid_documents_say_what_is_wrong(document: dict, message: str) -> None:
    with pytest.raises(TranscriptError, match=message):
        transcript.validate(document)


def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(TranscriptError, match="cannot read"):
        transcript.load(path)


def test_segment_schema_rejects_bad_rows() -> None:
    bad = pd.DataFrame([segment("agent", 2.0, 1.0, "x", 0)])
    with pytest.raises(Exception, match="ends_after_start"):
        SegmentSchema.validate(bad)
    with pytest.raises(Exception, match="speaker"):
        SegmentSchema.validate(pd.DataFrame([segment("robot", 0.0, 1.0, "x", 0)]))
    with pytest.raises(Exception, match="extra"):
        SegmentSchema.validate(pd.DataFrame([{**segment("agent", 0, 1, "x", 0), "extra": 1}]))


@pytest.mark.parametrize("speech", [[[-1.0, 2.0]], [[0.0, float("nan")]], [[0.0]], "everywhere"])
def test_speech_spans_must_be_times(speech: object) -> None:
    document = {"call_id": "C1", "language": "zh", "speech": speech,
                "turns": [{"speaker": "agent", "text": "您好", "start": 0.0, "end": 1.0}]}
    with pytest.raises(TranscriptError, match="speech"):
        transcript.validate(document)


@pytest.mark.parametrize("overlaps", [[{"start": 1.0, "end": 2.0, "by": "boss"}],
                                      [{"start": -1.0, "end": 2.0, "by": "agent"}],
                                      [{"start": 2.0, "end": 1.0, "by": "agent"}],
                                      [{"start": 1.0, "by": "agent"}], "sometimes"])
def test_overlaps_must_be_times_with_a_role(overlaps: object) -> None:
    document = {"call_id": "C1", "language": "zh", "overlaps": overlaps,
                "turns": [{"speaker": "agent", "text": "您好", "start": 0.0, "end": 1.0}]}
    with pytest.raises(TranscriptError, match="overlaps"):
        transcript.validate(document)
    document["overlaps"] = [{"start": 1.0, "end": 2.0, "by": "unknown"}]
    assert transcript.validate(document) is document
