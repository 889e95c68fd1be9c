"""Write test recordings in every container callqa reads, with PyAV (no system ffmpeg)."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

FORMATS = {  # suffix -> (container format, codec)
    "wav": ("wav", "pcm_s16le"),
    "mp3": ("mp3", "libmp3lame"),
    "ogg": ("ogg", "libopus"),
    "opus": ("ogg", "libopus"),
    "flac": ("flac", "flac"),
    "m4a": ("ipod", "aac"),
}


def tone(seconds: float, rate: int, freq: float = 440.0, level: float = 0.3,
         seed: int = 0) -> np.ndarray:
    """A tone with a little noise: loud enough to count as signal, decodes to the same length."""
    t = np.arange(int(seconds * rate)) / rate
    noise = np.random.default_rng(seed).normal(0, 0.01, len(t))
    return (level * np.sin(2 * np.pi * freq * t) + noise).astype(np.float32)


def write(path: Path, channels: list[np.ndarray], rate: int = 16_000) -> Path:
    """Encode float32 channels (-1..1) into ``path``; the suffix picks the format."""
    container_format, codec = FORMATS[path.suffix.lstrip(".")]
    layout = "mono" if len(channels) == 1 else "stereo"
    pcm = (np.clip(np.stack(channels), -1, 1) * 32767).astype(np.int16)
    interleaved = pcm.T.reshape(1, -1)
    out_rate = 48_000 if codec == "libopus" else rate
    with av.open(str(path), "w", format=container_format) as container:
        stream = container.add_stream(codec, rate=out_rate, layout=layout)
        frame = av.AudioFrame.from_ndarray(interleaved, format="s16", layout=layout)
        frame.sample_rate = rate
        resampler = av.AudioResampler(
            format=stream.codec_context.format.name, layout=layout, rate=out_rate
        )
        for resampled in [*resampler.resample(frame), *resampler.resample(None)]:
            for packet in stream.encode(resampled):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def truncate(path: Path, fraction: float = 0.5) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])
    return path
