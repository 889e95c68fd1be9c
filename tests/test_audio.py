from __future__ import annotations

import hashlib
import wave
from pathlib import Path

import numpy as np
import pytest
from audio_factory import FORMATS, tone, truncate, write
from conftest import SHARED_AUDIO, needs_shared_audio

from pipeline import audio
from pipeline.config import AudioSettings
from pipeline.errors import AudioError

STEREO_LAYOUTS = ("stereo_agent_left", "stereo_agent_right")


def stereo(seconds: float = 2.0, rate: int = 16_000) -> list[np.ndarray]:
    # Distinct signals per channel, like two speakers on two lines.
    return [tone(seconds, rate, 300, seed=1), tone(seconds, rate, 700, seed=2)]


@pytest.mark.parametrize("suffix", sorted(FORMATS))
@pytest.mark.parametrize("rate", [8_000, 16_000, 44_100])
def test_reads_every_format_mono(tmp_path: Path, suffix: str, rate: int) -> None:
    path = write(tmp_path / f"call.{suffix}", [tone(2.0, rate)], rate)
    recording = audio.load(path, "mono")
    info = recording.info
    assert info.channels == 1
    assert info.duration_s == pytest.approx(2.0, abs=0.2)  # AAC priming at 8 kHz: 0.18 s
    assert info.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert info.size_bytes == path.stat().st_size
    (channel,) = recording.channels
    assert channel.speaker == "unknown"
    assert channel.samples.dtype == np.float32
    assert len(channel.samples) == round(info.duration_s * audio.SAMPLE_RATE)


@pytest.mark.parametrize("suffix", sorted(FORMATS))
def test_reads_every_format_stereo(tmp_path: Path, suffix: str) -> None:
    path = write(tmp_path / f"call.{suffix}", stereo())
    recording = audio.load(path, "stereo_agent_left")
    assert recording.info.channels == 2
    assert [c.speaker for c in recording.channels] == ["agent", "customer"]


@pytest.mark.parametrize("layout", STEREO_LAYOUTS)
def test_stereo_split_puts_each_channel_on_its_speaker(tmp_path: Path, layout: str) -> None:
    rate = 16_000
    left = tone(2.0, rate, 300, seed=1)
    right = np.zeros_like(left)
    right[rate // 2 : rate] = 0.3  # a burst only on the right channel
    path = write(tmp_path / "call.wav", [left, right], rate)
    recording = audio.load(path, layout)
    by_speaker = {c.speaker: c for c in recording.channels}
    left_speaker = "agent" if layout == "stereo_agent_left" else "customer"
    right_speaker = "customer" if left_speaker == "agent" else "agent"
    assert np.allclose(by_speaker[left_speaker].samples, left, atol=1e-3)
    assert np.allclose(by_speaker[right_speaker].samples, right, atol=1e-3)
    assert by_speaker[left_speaker].channel == 0


def test_mixdown_has_both_channels(tmp_path: Path) -> None:
    channels = stereo()
    recording = audio.load(write(tmp_path / "call.wav", channels), "stereo_agent_left")
    mixed = recording.mixdown()
    assert mixed.shape == recording.channels[0].samples.shape
    assert np.allclose(mixed, np.clip(channels[0] + channels[1], -1, 1), atol=1e-3)


def test_telephone_band_is_resampled_to_16k(tmp_path: Path) -> None:
    path = write(tmp_path / "call.wav", [tone(3.0, 8_000)], 8_000)
    recording = audio.load(path, "mono")
    assert recording.info.sample_rate == 8_000
    assert len(recording.channels[0].samples) == pytest.approx(3 * 16_000, abs=160)


# -- bad input: every case is a typed AudioError with a stable reason ----------------------


def reason_of(path: Path, layout: str = "mono", **settings: float) -> str:
    with pytest.raises(AudioError) as caught:
        audio.load(path, layout, AudioSettings(**settings))
    assert str(path) in str(caught.value)
    return caught.value.reason


def test_missing_file(tmp_path: Path) -> None:
    assert reason_of(tmp_path / "nope.wav") == "missing"


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    assert reason_of(path) == "empty"


@pytest.mark.parametrize("content", [b"hello, this is a text file\n" * 40, bytes(range(256)) * 20])
def test_not_audio(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "notes.mp3"
    path.write_bytes(content)
    assert reason_of(path) == "not_audio"


@pytest.mark.parametrize("suffix", sorted(FORMATS))
def test_truncated_file_is_corrupt(tmp_path: Path, suffix: str) -> None:
    path = truncate(write(tmp_path / f"call.{suffix}", [tone(4.0, 16_000)]), 0.4)
    assert reason_of(path) == "corrupt"


def test_damaged_header_is_corrupt(tmp_path: Path) -> None:
    path = write(tmp_path / "call.flac", [tone(2.0, 16_000)])
    data = bytearray(path.read_bytes())
    data[4:64] = bytes(60)  # wipe the stream info block
    path.write_bytes(bytes(data))
    assert reason_of(path) == "corrupt"


def test_zero_length(tmp_path: Path) -> None:
    path = tmp_path / "zero.wav"
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(16_000)
        handle.writeframes(b"")
    assert reason_of(path) == "zero_length"


@pytest.mark.parametrize("level", [0.0, 1e-4])
def test_all_silence(tmp_path: Path, level: float) -> None:
    noise = np.random.default_rng(0).normal(0, level, 32_000).astype(np.float32)
    path = write(tmp_path / "silence.wav", [noise, noise * 0.5])
    assert reason_of(path, "stereo_agent_left") == "silent"


def test_one_silent_channel_is_fine(tmp_path: Path) -> None:
    path = write(tmp_path / "call.wav", [tone(2.0, 16_000), np.zeros(32_000, np.float32)])
    recording = audio.load(path, "stereo_agent_left")
    assert len(recording.channels) == 2


def test_longer_than_the_maximum(tmp_path: Path) -> None:
    path = write(tmp_path / "long.ogg", [tone(5.0, 16_000)])
    assert reason_of(path, max_duration_s=3.0) == "too_long"
    assert audio.load(path, "mono", AudioSettings(max_duration_s=10.0)).info.duration_s > 4.5


def test_default_maximum_is_four_hours() -> None:
    assert AudioSettings().max_duration_s == 4 * 3600


@pytest.mark.parametrize("layout", STEREO_LAYOUTS)
def test_stereo_declared_but_mono_found(tmp_path: Path, layout: str) -> None:
    path = write(tmp_path / "mono.wav", [tone(2.0, 16_000)])
    assert reason_of(path, layout) == "layout_mismatch"


def test_stereo_declared_but_both_channels_are_the_same(tmp_path: Path) -> None:
    signal = tone(2.0, 16_000)
    path = write(tmp_path / "dual-mono.mp3", [signal, signal])
    assert reason_of(path, "stereo_agent_left") == "layout_mismatch"
    # ... which is a mono recording, and reads as one.
    assert len(audio.load(path, "mono").channels) == 1


def test_mono_declared_but_two_speakers_found(tmp_path: Path) -> None:
    path = write(tmp_path / "stereo.wav", stereo())
    assert reason_of(path, "mono") == "layout_mismatch"


def test_unknown_layout_is_a_programming_error(tmp_path: Path) -> None:
    path = write(tmp_path / "call.wav", [tone(1.0, 16_000)])
    with pytest.raises(ValueError, match="unknown channel layout"):
        audio.load(path, "quad")  # type: ignore[arg-type]


@needs_shared_audio()
@pytest.mark.shared_data
def test_real_recordings() -> None:
    stereo_call = audio.load(SHARED_AUDIO / "stereo_two_speakers.wav", "stereo_agent_left")
    assert stereo_call.info.duration_s == pytest.approx(5.0, abs=0.05)
    phone = audio.load(SHARED_AUDIO / "osr_us_000_0034_8k.wav", "mono")
    assert phone.info.sample_rate == 8_000
    assert phone.info.duration_s == pytest.approx(35.5, abs=0.2)
