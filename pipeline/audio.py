"""Read call recordings: decode, check, and split into one signal per speaker.

Decoding uses PyAV (bundled FFmpeg, no system ffmpeg). Everything is resampled to 16 kHz
float32, what Whisper expects. Stereo recordings are split by channel, one speaker each, as
call centres record them. Every unusable input raises ``AudioError`` with a stable ``reason``.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np

from pipeline.config import AudioSettings, ChannelLayout
from pipeline.errors import AudioError

SAMPLE_RATE = 16_000
_LEVEL_WINDOW_S = 0.05
# Magic bytes of the containers we read; a file that starts with one of these but fails to
# decode is corrupt, anything else is not audio.
_AUDIO_MAGIC = (b"RIFF", b"OggS", b"fLaC", b"ID3", b"\xff\xfb", b"\xff\xf3", b"\xff\xf2")

LAYOUT_SPEAKERS: dict[str, tuple[str, ...]] = {
    "stereo_agent_left": ("agent", "customer"),
    "stereo_agent_right": ("customer", "agent"),
    "mono": ("unknown",),
}


@dataclass(frozen=True)
class AudioInfo:
    """What a recording is, before any judgement about its content."""

    path: str
    sha256: str
    size_bytes: int
    container: str
    codec: str
    sample_rate: int
    channels: int
    duration_s: float


@dataclass(frozen=True)
class ChannelAudio:
    """One speaker's signal: 16 kHz mono float32."""

    speaker: str
    channel: int
    samples: np.ndarray = field(repr=False)

    @property
    def duration_s(self) -> float:
        return len(self.samples) / SAMPLE_RATE


@dataclass(frozen=True)
class Recording:
    info: AudioInfo
    layout: ChannelLayout
    channels: tuple[ChannelAudio, ...]

    def mixdown(self) -> np.ndarray:
        """All channels summed to one signal (what a mono recorder would have captured)."""
        stacked = np.stack([c.samples for c in self.channels])
        return np.clip(stacked.sum(axis=0), -1.0, 1.0).astype(np.float32)


def file_sha256(path: str | Path, chunk_size: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def load(
    path: str | Path,
    layout: ChannelLayout = "stereo_agent_left",
    settings: AudioSettings | None = None,
) -> Recording:
    """Decode ``path``, check it is usable, and split it by ``layout`` into speakers."""
    settings = settings or AudioSettings()
    if layout not in LAYOUT_SPEAKERS:
        raise ValueError(f"unknown channel layout {layout!r}; one of {sorted(LAYOUT_SPEAKERS)}")
    info, signal = decode(path, max_duration_s=settings.max_duration_s)
    _check_level(path, signal, settings.silence_dbfs)
    signal = _match_layout(path, signal, layout, settings.duplicate_channel_correlation)
    speakers = LAYOUT_SPEAKERS[layout]
    channels = tuple(
        ChannelAudio(speaker=speaker, channel=idx, samples=np.ascontiguousarray(signal[idx]))
        for idx, speaker in enumerate(speakers)
    )
    return Recording(info=info, layout=layout, channels=channels)


def decode(path: str | Path, max_duration_s: float = 4 * 3600) -> tuple[AudioInfo, np.ndarray]:
    """Decode to a (channels, samples) float32 array at 16 kHz; checks file-level problems."""
    path = Path(path)
    if not path.is_file():
        raise AudioError("missing", path, "no such file")
    size = path.stat().st_size
    if size == 0:
        raise AudioError("empty", path, "the file is empty (0 bytes)")
    try:
        container = av.open(str(path))
    except av.error.FFmpegError as exc:
        raise _unreadable(path, exc) from exc
    with container:
        stream = next(iter(container.streams.audio), None)
        if stream is None:
            raise AudioError("not_audio", path, "the file has no audio stream")
        n_channels = stream.codec_context.layout.nb_channels
        declared_s = _declared_duration(container, stream)
        if declared_s is not None and declared_s > max_duration_s:
            raise AudioError(
                "too_long", path,
                f"{declared_s:.0f} s is longer than the {max_duration_s:.0f} s limit",
            )
        signal = _decode_stream(path, container, stream, n_channels, max_duration_s)
        info = AudioInfo(
            path=str(path),
            sha256=file_sha256(path),
            size_bytes=size,
            container=container.format.name,
            codec=stream.codec_context.name,
            sample_rate=stream.codec_context.sample_rate,
            channels=n_channels,
            duration_s=signal.shape[1] / SAMPLE_RATE,
        )
    if signal.shape[1] == 0:
        raise AudioError("zero_length", path, "the recording holds no samples")
    _check_complete(path, info, declared_s)
    return info, signal


def _decode_stream(
    path: Path, container: av.container.InputContainer, stream: av.AudioStream,
    n_channels: int, max_duration_s: float,
) -> np.ndarray:
    if n_channels not in (1, 2):
        raise AudioError(
            "layout_mismatch", path, f"{n_channels} channels; callqa reads mono or stereo calls"
        )
    resampler = av.AudioResampler(
        format="fltp", layout="mono" if n_channels == 1 else "stereo", rate=SAMPLE_RATE
    )
    chunks: list[np.ndarray] = []
    total = 0
    limit = int(max_duration_s * SAMPLE_RATE)
    try:
        for frame in container.decode(stream):
            frame.pts = None  # let the resampler keep its own clock across odd timestamps
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray())
                total += out.samples
            if total > limit:
                raise AudioError(
                    "too_long", path, f"longer than the {max_duration_s:.0f} s limit"
                )
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray())
    except av.error.FFmpegError as exc:
        raise AudioError("corrupt", path, f"decoding failed part-way ({exc})") from exc
    if not chunks:
        return np.zeros((n_channels, 0), dtype=np.float32)
    return np.concatenate(chunks, axis=1).astype(np.float32, copy=False)


def _unreadable(path: Path, exc: Exception) -> AudioError:
    with open(path, "rb") as handle:
        head = handle.read(12)
    looks_like_audio = head.startswith(_AUDIO_MAGIC) or head[4:8] == b"ftyp"
    if looks_like_audio:
        return AudioError("corrupt", path, f"audio container is damaged ({exc})")
    return AudioError("not_audio", path, "not an audio file callqa can read")


def _declared_duration(
    container: av.container.InputContainer, stream: av.AudioStream
) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return None


def _check_complete(path: Path, info: AudioInfo, declared_s: float | None) -> None:
    """Catch truncated files: less audio than the header promised, or a missing end marker."""
    decoded = info.duration_s
    if declared_s and decoded < 0.9 * declared_s - 0.5:
        raise AudioError(
            "corrupt", path, f"truncated: header says {declared_s:.1f} s, decoded {decoded:.1f} s"
        )
    if info.container == "wav":
        promised = _wav_data_bytes(path)
        if promised is not None and promised > info.size_bytes:
            raise AudioError(
                "corrupt", path, f"truncated: WAV header promises {promised} bytes of data, "
                f"file has {info.size_bytes}"
            )
    if info.container == "ogg" and not _ogg_has_end(path):
        raise AudioError("corrupt", path, "truncated: the Ogg stream has no end-of-stream page")


def _wav_data_bytes(path: Path) -> int | None:
    """Offset of the end of the 'data' chunk as the RIFF header declares it."""
    with open(path, "rb") as handle:
        header = handle.read(12)
        if len(header) < 12 or header[:4] != b"RIFF" or header[8:12] != b"WAVE":
            return None
        while chunk := handle.read(8):
            if len(chunk) < 8:
                return None
            name, length = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if name == b"data":
                if length in (0, 0xFFFFFFFF):  # streaming writers leave the size open
                    return None
                return handle.tell() + length
            handle.seek(length + (length & 1), 1)
    return None


def _ogg_has_end(path: Path) -> bool:
    """True when the last Ogg page carries the end-of-stream flag."""
    with open(path, "rb") as handle:
        handle.seek(0, 2)
        size = handle.tell()
        handle.seek(max(0, size - 65_536))
        tail = handle.read()
    last = tail.rfind(b"OggS")
    return last >= 0 and len(tail) > last + 5 and bool(tail[last + 5] & 0x04)


def window_levels_dbfs(samples: np.ndarray, window_s: float = _LEVEL_WINDOW_S) -> np.ndarray:
    """RMS level of consecutive windows, in dBFS."""
    width = max(1, int(window_s * SAMPLE_RATE))
    usable = len(samples) - len(samples) % width
    if usable == 0:
        return np.array([20 * np.log10(np.sqrt(np.mean(samples**2)) + 1e-10)])
    frames = samples[:usable].reshape(-1, width)
    return 20 * np.log10(np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1)) + 1e-10)


def _check_level(path: Path | str, signal: np.ndarray, silence_dbfs: float) -> None:
    peak = max(float(window_levels_dbfs(channel).max()) for channel in signal)
    if peak < silence_dbfs:
        raise AudioError(
            "silent", path, f"all silence: loudest moment is {peak:.0f} dBFS "
            f"(speech needs at least {silence_dbfs:.0f} dBFS)"
        )


def _match_layout(
    path: Path | str, signal: np.ndarray, layout: ChannelLayout, min_correlation: float
) -> np.ndarray:
    """Check the declared layout against what the file holds; return the channels to use."""
    stereo_declared = layout != "mono"
    if signal.shape[0] == 1:
        if stereo_declared:
            raise AudioError(
                "layout_mismatch", path,
                f"layout {layout} declared but the file is mono; use --layout mono",
            )
        return signal
    duplicated = _channels_identical(signal, min_correlation)
    if stereo_declared and duplicated:
        raise AudioError(
            "layout_mismatch", path,
            f"layout {layout} declared but both channels carry the same signal (mono saved as "
            "stereo); use --layout mono",
        )
    if not stereo_declared:
        if not duplicated:
            raise AudioError(
                "layout_mismatch", path,
                "layout mono declared but the file has two different channels; use "
                "--layout stereo_agent_left or stereo_agent_right",
            )
        return signal[:1]
    return signal


def _channels_identical(signal: np.ndarray, min_correlation: float) -> bool:
    """One signal on both channels (lossy codecs leave small differences, hence correlation)."""
    left, right = signal[0].astype(np.float64), signal[1].astype(np.float64)
    if left.std() == 0 or right.std() == 0:
        return bool(np.array_equal(left, right))
    return float(np.corrcoef(left, right)[0, 1]) >= min_correlation
