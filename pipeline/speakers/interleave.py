"""Decode both channels of a call in one pass, and give every word back to its speaker.

Decoding each channel separately pads each one's last 30-second Whisper window, so a short
dual-channel call costs up to two windows more than its mono mix. Here the speech of both
channels (found by VAD per channel) is laid end to end in time order — each stretch taken
from its own channel, so nobody is mixed with anybody — decoded once with word timestamps,
and each word is mapped back to the stretch, channel and original time it came from.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Any

import numpy as np

from pipeline.audio import SAMPLE_RATE


@dataclass(frozen=True)
class Stretch:
    """One stretch of speech of one channel, and where it sits in the joined signal."""

    channel: int
    speaker: str
    start_s: float  # in the call
    end_s: float
    joined_start_s: float  # in the joined signal

    def to_call_time(self, joined_s: float) -> float:
        offset = min(max(joined_s - self.joined_start_s, 0.0), self.end_s - self.start_s)
        return round(self.start_s + offset, 3)


def join_speech(channels: list[tuple[int, str, np.ndarray, list[dict[str, int]]]],
                gap_s: float = 0.3) -> tuple[np.ndarray, list[Stretch]]:
    """Lay the VAD stretches of every channel end to end, ordered by when they start.

    ``channels``: (channel index, speaker, samples, VAD timestamps in samples). A short
    silence where the speaker changes keeps their words apart; none elsewhere (measured: a
    trailing silence changes what Whisper hears on short clips).
    """
    pieces = sorted(
        ((stamp["start"], index, speaker, samples, stamp["end"])
         for index, speaker, samples, stamps in channels for stamp in stamps),
        key=lambda piece: (piece[0], piece[1]),
    )
    gap = np.zeros(int(gap_s * SAMPLE_RATE), dtype=np.float32)
    parts: list[np.ndarray] = []
    stretches: list[Stretch] = []
    cursor = 0
    for start, index, speaker, samples, end in pieces:
        if stretches and stretches[-1].channel != index:
            parts.append(gap)
            cursor += len(gap)
        stretches.append(Stretch(index, speaker, start / SAMPLE_RATE, end / SAMPLE_RATE,
                                 cursor / SAMPLE_RATE))
        parts.append(samples[start:end])
        cursor += end - start
    joined = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
    return joined, stretches


def assign_words(segments: list[Any], stretches: list[Stretch]) -> list[dict[str, Any]]:
    """Split decoded segments at stretch boundaries; one row per run of words of a stretch."""
    starts = [s.joined_start_s for s in stretches]
    rows: list[dict[str, Any]] = []
    for segment in segments:
        run: list[Any] = []
        run_stretch: int | None = None
        for word in segment.words or []:
            middle = (word.start + word.end) / 2
            which = max(0, bisect.bisect_right(starts, middle) - 1)
            if run and which != run_stretch:
                rows.append(_row(run, stretches[run_stretch], segment))  # type: ignore[index]
                run = []
            run.append(word)
            run_stretch = which
        if run:
            rows.append(_row(run, stretches[run_stretch], segment))  # type: ignore[index]
    return rows


def _row(words: list[Any], stretch: Stretch, segment: Any) -> dict[str, Any]:
    return {
        "channel": stretch.channel,
        "speaker": stretch.speaker,
        "start": stretch.to_call_time(words[0].start),
        "end": stretch.to_call_time(words[-1].end),
        "text": "".join(word.word for word in words).strip(),
        "avg_logprob": min(0.0, float(segment.avg_logprob)),
        "no_speech_prob": float(segment.no_speech_prob),
    }
