"""Transcription with the real packaged Whisper base model."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from conftest import EXAMPLES, SHARED_AUDIO, needs_shared_audio
from rapidfuzz.distance import Levenshtein

from pipeline import asr
from pipeline.asr import TranscribeOptions, Transcriber
from pipeline.config import Settings
from pipeline.errors import ConfigError
from pipeline.schemas import SEGMENT_COLUMNS
from pipeline.text import to_simplified

# Measured with model base, int8, beam 5, VAD (1000 ms / 400 ms) on 2026-11-23; the thresholds
# leave a margin over the measured values (bench/README.md has the full table).
MANDARIN = {  # clip: (reference, measured CER, threshold)
    "aishell_BAC009S0724W0121.wav": ("广州市房地产中介协会分析", 0.167, 0.25),
    "nst_ID001.wav": ("作为一个男人最起码的这个担当", 0.214, 0.30),
    "nst_ID002.wav": ("但是对他们是很大的刺激的这些事情", 0.0, 0.10),
}
ENGLISH = {  # clip: (reference, measured WER, threshold)
    "librispeech_1995-1837-0001.wav": (
        "IT WAS THE FIRST GREAT SORROW OF HIS LIFE IT WAS NOT SO MUCH THE LOSS OF THE COTTON "
        "ITSELF BUT THE FANTASY THE HOPES THE DREAMS BUILT AROUND IT", 0.0, 0.10),
    "jfk.flac": ("And so, my fellow Americans, ask not what your country can do for you, ask "
                 "what you can do for your country.", 0.0, 0.10),
    "osr_us_000_0034_8k.wav": (
        "A gold ring will please most any girl. The long journey home took a year. She saw a cat "
        "in the neighbor's house. A pink shell was found on the sandy beach. Small children came "
        "to see him. The grass and bushes were wet with dew. The blind man counted his old coins. "
        "A severe storm tore down the barn. She called his name many times. When you hear the "
        "bell, come quickly.", 0.0, 0.10),
}
DEMO_CALL = EXAMPLES / "calls" / "en-model-call.ogg"


def edit_distance(a: list[str] | str, b: list[str] | str) -> int:
    return Levenshtein.distance(a, b)


def cer(hypothesis: str, reference: str) -> float:
    clean = lambda s: re.sub(r"[\W_]", "", s)  # noqa: E731
    return edit_distance(clean(hypothesis), clean(reference)) / len(clean(reference))


def wer(hypothesis: str, reference: str) -> float:
    words = lambda s: re.sub(r"[^\w' ]", " ", s.lower()).split()  # noqa: E731
    return edit_distance(words(hypothesis), words(reference)) / len(words(reference))


def mono(language: str = "auto", **overrides: object) -> TranscribeOptions:
    return replace(TranscribeOptions(), layout="mono", language=language, **overrides)


@needs_shared_audio()
@pytest.mark.shared_data
def test_stereo_call_gives_each_speaker_their_own_words(transcriber: Transcriber) -> None:
    result = transcriber.transcribe_file(SHARED_AUDIO / "stereo_two_speakers.wav")
    segments = result.segments
    assert list(segments.columns) == SEGMENT_COLUMNS
    agent = " ".join(segments[segments.speaker == "agent"].text).lower()
    customer = " ".join(segments[segments.speaker == "customer"].text).lower()
    assert wer(agent, "He began a confused complaint against the wizard, who had vanished "
               "behind the curtain on the left.") <= 0.1
    assert wer(customer, "The horizon seems extremely distant.") <= 0.1
    assert "horizon" not in agent and "wizard" not in customer
    assert list(segments.start) == sorted(segments.start)


@needs_shared_audio()
@pytest.mark.shared_data
@pytest.mark.parametrize("clip", sorted(MANDARIN))
def test_mandarin_character_error_rate(transcriber: Transcriber, clip: str) -> None:
    reference, _measured, threshold = MANDARIN[clip]
    result = transcriber.transcribe_file(SHARED_AUDIO / clip, options=mono("zh"))
    text = "".join(result.segments.text)
    assert to_simplified(text) == text  # Simplified characters only
    assert cer(text, reference) <= threshold, text


@needs_shared_audio()
@pytest.mark.shared_data
@pytest.mark.parametrize("clip", sorted(ENGLISH))
def test_english_word_error_rate(transcriber: Transcriber, clip: str) -> None:
    reference, _measured, threshold = ENGLISH[clip]
    result = transcriber.transcribe_file(SHARED_AUDIO / clip, options=mono("en"))
    assert wer(" ".join(result.segments.text), reference) <= threshold


@needs_shared_audio()
@pytest.mark.shared_data
def test_language_detection_is_restricted_to_the_allowed_set(transcriber: Transcriber) -> None:
    zh = transcriber.transcribe_file(SHARED_AUDIO / "aishell_BAC009S0724W0121.wav",
                                     options=mono(allowed_languages=("zh", "en")))
    assert zh.language == "zh" and zh.language_probability > 0.5
    en = transcriber.transcribe_file(SHARED_AUDIO / "jfk.flac",
                                     options=mono(allowed_languages=("zh", "en")))
    assert en.language == "en"
    # English speech, but English is not allowed: the answer stays inside the set.
    recording_options = mono(allowed_languages=("vi", "th"))
    from pipeline import audio

    language, _ = transcriber.detect_language(
        audio.load(SHARED_AUDIO / "jfk.flac", "mono"), recording_options)
    assert language in {"vi", "th"}


def test_cache_skips_the_model_on_a_rerun(settings: Settings, transcriber: Transcriber,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    if not DEMO_CALL.is_file():
        pytest.skip(f"demo call {DEMO_CALL} not generated")
    fresh = Transcriber(settings)
    fresh._model = transcriber.model  # share the loaded weights, keep this test's empty cache
    first = fresh.transcribe_file(DEMO_CALL)
    assert not first.cached and len(first.segments) > 0

    def no_decoding(*args: object, **kwargs: object) -> None:
        raise AssertionError("the model ran although the result was cached")

    monkeypatch.setattr(fresh._model, "transcribe", no_decoding)
    monkeypatch.setattr(asr.audio_io, "load", no_decoding)  # not even the audio is decoded
    second = fresh.transcribe_file(DEMO_CALL)
    assert second.cached
    assert second.segments.equals(first.segments)
    assert second.language == first.language
    assert second.audio.sha256 == first.audio.sha256
    monkeypatch.undo()
    # (a decoder that has decoded is reloaded before the next recording: DECODE_SEED)
    monkeypatch.setattr(fresh, "_transcribe_channel", no_decoding)
    # Other options are another result: the cache must miss (and so reach the model).
    with pytest.raises(AssertionError, match="cached"):
        fresh.transcribe_file(DEMO_CALL, options=replace(TranscribeOptions(), beam_size=1))


def test_turn_times_match_the_script(transcriber: Transcriber) -> None:
    """Turn starts land near where the demo script placed them (metrics depend on it)."""
    script = EXAMPLES / "calls" / "en-model-call.json"
    if not DEMO_CALL.is_file():
        pytest.skip(f"demo call {DEMO_CALL} not generated")
    import json

    truth = json.loads(script.read_text(encoding="utf-8"))["turns"]
    result = transcriber.transcribe_file(DEMO_CALL, options=replace(TranscribeOptions(),
                                                                    language="en"))
    segments = list(result.segments.itertuples())
    errors = []
    for turn in truth:
        same_side = [s for s in segments if s.speaker == turn["speaker"]]
        errors.append(min(abs(s.start - turn["start"]) for s in same_side))
    within = sum(error <= 0.5 for error in errors) / len(errors)
    assert within >= 0.8, f"turn starts within 0.5 s: {within:.0%} ({errors})"


def test_joint_channel_decoding_still_works(transcriber: Transcriber) -> None:
    if not DEMO_CALL.is_file():
        pytest.skip(f"demo call {DEMO_CALL} not generated")
    result = transcriber.transcribe_file(
        DEMO_CALL, options=replace(TranscribeOptions(), language="en", channels="joint"))
    assert set(result.segments.speaker) == {"agent", "customer"}


def test_english_only_model_refuses_other_languages(settings: Settings) -> None:
    tiny = Transcriber(settings, model="tiny.en")
    with pytest.raises(ConfigError, match="English-only"):
        tiny._choose_language(None, mono("zh"))  # type: ignore[arg-type]


def test_unsupported_language_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="not supported"):
        mono("fr").validate()


def test_queue_vocabulary_comes_from_settings() -> None:
    settings = Settings.model_validate(
        {"asr": {"vocabulary": {"logistics": {"hotwords": "快递 物流"}}}}
    )
    options = TranscribeOptions.from_settings(settings, queue="logistics", language="zh")
    assert options.hotwords == "快递 物流" and options.language == "zh"
    assert TranscribeOptions.from_settings(settings, queue="billing").hotwords is None


def test_demo_call_is_transcribed_per_speaker(transcriber: Transcriber) -> None:
    if not DEMO_CALL.is_file():
        pytest.skip(f"demo call {DEMO_CALL} not generated")
    result = transcriber.transcribe_file(DEMO_CALL, options=replace(TranscribeOptions(),
                                                                    language="en"))
    speakers = set(result.segments.speaker)
    assert speakers == {"agent", "customer"}
    agent_text = " ".join(result.segments[result.segments.speaker == "agent"].text).lower()
    assert "thank you for calling" in agent_text
