"""ASR benchmark: callqa's cost over bare faster-whisper, speed, accuracy, decoding options.

Run from the project root (needs the shared clips in ../shared/data/audio)::

    python bench/asr.py [--quick] [--repeats N] [--out bench/results/asr.json]

Sections: (1) overhead of ``Transcriber.transcribe_file`` over ``WhisperModel.transcribe``,
(2) real-time factor, (3) dual-channel vs mono mix, (4) CER/WER, (5) batched vs sequential
decoding on Mandarin, (6) domain vocabulary (hotwords / initial prompt) and prompt leakage.

Every A/B timing is interleaved (A B, B A, A B, ...) on the same loaded model and summarised by
medians, because the machine is shared. callqa's cache is pointed at a fresh empty folder
before every timed call, so each call does its full work (decode, checks, SHA-256, VAD,
decoding, OpenCC, row validation, cache write). Temperature fallbacks (extra decodes) are
counted per run. Results and their interpretation: bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rapidfuzz.distance import Levenshtein
from rich.console import Console
from rich.table import Table

from pipeline import audio as audio_io
from pipeline.asr import TranscribeOptions, Transcriber, Transcription, _segments_frame
from pipeline.config import Settings
from pipeline.support.cache import DiskCache
from pipeline.support.offline import apply_offline_environment
from pipeline.text import to_simplified

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "audio"
EXAMPLES = ROOT / "examples"
DEFAULT_OUT = ROOT / "bench" / "results" / "asr.json"
GAP_S = 1.0  # silence between the Mandarin clips in the concatenated signal
CONCAT_TIMES = 3  # the Mandarin clips, joined, repeated: ~43 s, more than one 30 s window
NOISE_S = 10.0
NOISE_DBFS = -40.0  # above callqa's -45 dBFS silence gate, so the file is accepted

# A realistic e-commerce after-sales vocabulary (section 6).
PHRASES = ("您好", "很高兴为您服务", "快递", "物流", "退款", "赔偿", "12315", "投诉", "订单号",
           "感谢您的来电")
HOTWORDS = " ".join(PHRASES)
INITIAL_PROMPT = ("您好，很高兴为您服务。请问是快递物流、退款还是赔偿的问题？"
                  "投诉可以拨打12315，请提供订单号。感谢您的来电。")

console = Console(width=None if sys.stdout.isatty() else 160)


# -- audio under test -----------------------------------------------------------------------

@dataclass(frozen=True)
class Clip:
    file: str
    language: str
    reference: str  # mono: the text; stereo: the left (agent) channel
    right: str | None = None  # stereo: the right (customer) channel
    scored: bool = True  # False: too short to score, report only


CLIPS = (
    Clip("aishell_BAC009S0724W0121.wav", "zh", "广州市房地产中介协会分析"),
    Clip("nst_ID001.wav", "zh", "作为一个男人最起码的这个担当"),
    Clip("nst_ID002.wav", "zh", "但是对他们是很大的刺激的这些事情"),
    Clip("nst_ID003.wav", "zh", "哦嗯", scored=False),
    Clip("librispeech_1995-1837-0001.wav", "en",
         "IT WAS THE FIRST GREAT SORROW OF HIS LIFE IT WAS NOT SO MUCH THE LOSS OF THE COTTON "
         "ITSELF BUT THE FANTASY THE HOPES THE DREAMS BUILT AROUND IT"),
    Clip("jfk.flac", "en", "And so, my fellow Americans, ask not what your country can do for "
         "you, ask what you can do for your country."),
    Clip("osr_us_000_0034_8k.wav", "en",
         "A gold ring will please most any girl. The long journey home took a year. She saw a "
         "cat in the neighbor's house. A pink shell was found on the sandy beach. Small children "
         "came to see him. The grass and bushes were wet with dew. The blind man counted his old "
         "coins. A severe storm tore down the barn. She called his name many times. When you "
         "hear the bell, come quickly."),
    Clip("stereo_two_speakers.wav", "en",
         "He began a confused complaint against the wizard, who had vanished behind the curtain "
         "on the left.", right="The horizon seems extremely distant."),
)


@dataclass(frozen=True)
class Item:
    """One recording to transcribe, with what we know about it."""

    name: str
    path: Path
    language: str
    layout: str
    duration_s: float
    references: dict[str, str] | None  # speaker -> reference text; None when unknown
    scored: bool = True
    demo: bool = False
    timeline: str | None = None  # all speakers' reference in time order, when known

    @property
    def stereo(self) -> bool:
        return self.layout != "mono"


def clip_items(data: Path) -> list[Item]:
    items = []
    for clip in CLIPS:
        path = data / clip.file
        if not path.is_file():
            console.print(f"[yellow]note:[/] {path} missing, skipped")
            continue
        if clip.right is None:
            layout, refs = "mono", {"unknown": clip.reference}
        else:
            layout, refs = "stereo_agent_left", {"agent": clip.reference, "customer": clip.right}
        items.append(Item(path.stem, path, clip.language, layout, _duration(path), refs,
                          clip.scored))
    return items


def demo_items(transcriber: Transcriber, examples: Path) -> list[Item]:
    """Stereo demo calls from examples/manifest.csv, with their scripts when present."""
    manifest = examples / "manifest.csv"
    if not manifest.is_file():
        console.print(f"[yellow]note:[/] {manifest} not found: demo calls skipped")
        return []
    rows = pd.read_csv(manifest, dtype=str, keep_default_na=False)
    items = []
    for row in rows.to_dict("records"):
        raw = row.get("audio_path") or ""
        path = (manifest.parent / raw) if raw else None
        layout = row.get("layout") or "stereo_agent_left"
        if path is None or not path.is_file() or layout == "mono":
            continue
        language = row.get("language") or "auto"
        if language == "auto":  # decide once, outside any timing, then force it
            recording = audio_io.load(path, layout, transcriber.settings.audio)
            language, _ = transcriber.detect_language(recording)
        call_id = row["call_id"]
        script, timeline = _load_script(examples / "calls" / f"{call_id}.json")
        items.append(Item(call_id, path, language, layout, _duration(path), script, demo=True,
                          timeline=timeline))
    if not items:
        console.print("[yellow]note:[/] the manifest lists no stereo demo call on disk: skipped")
    return items


def _load_script(path: Path) -> tuple[dict[str, str] | None, str | None]:
    """A demo call's ground truth: reference text per speaker, and all turns in time order."""
    if not path.is_file():
        return None, None
    data = json.loads(path.read_text(encoding="utf-8"))
    turns = data if isinstance(data, list) else next(
        (data[k] for k in ("turns", "script", "segments") if isinstance(data.get(k), list)), [])
    spoken = sorted(
        (float(t.get("start") or 0.0), t["speaker"], str(t.get("text", "")))
        for t in turns if isinstance(t, dict) and t.get("speaker") in ("agent", "customer")
    )
    if not spoken:
        return None, None
    by_speaker: dict[str, str] = {}
    for _, speaker, text in spoken:
        by_speaker[speaker] = by_speaker.get(speaker, "") + " " + text
    return by_speaker, " ".join(text for _, _, text in spoken)


def _duration(path: Path) -> float:
    return audio_io.decode(path)[0].duration_s


def write_wav(path: Path, samples: np.ndarray) -> Path:
    """16 kHz mono 16-bit PCM."""
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(audio_io.SAMPLE_RATE)
        out.writeframes(pcm.tobytes())
    return path


def mandarin_concat(items: Sequence[Item], scratch: Path) -> Item:
    """The Mandarin clips joined with 1 s gaps, repeated: a longer Mandarin signal."""
    zh = [i for i in items if i.language == "zh" and not i.demo]
    gap = np.zeros(int(GAP_S * audio_io.SAMPLE_RATE), dtype=np.float32)
    parts, refs = [], []
    for _ in range(CONCAT_TIMES):
        for item in zh:
            parts += [audio_io.load(item.path, "mono").channels[0].samples, gap]
            refs.append(item.references["unknown"] if item.references else "")
    signal = np.concatenate(parts)
    path = write_wav(scratch / "zh_concat.wav", signal)
    return Item(f"zh_concat_x{CONCAT_TIMES}", path, "zh", "mono",
                len(signal) / audio_io.SAMPLE_RATE, {"unknown": "".join(refs)})


def noise_item(scratch: Path) -> Item:
    """White noise at -40 dBFS: no speech, but loud enough to pass callqa's silence check."""
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(int(NOISE_S * audio_io.SAMPLE_RATE)).astype(np.float32)
    noise *= 10 ** (NOISE_DBFS / 20)
    path = write_wav(scratch / "noise.wav", noise)
    return Item("noise_-40dBFS", path, "zh", "mono", NOISE_S, {"unknown": ""}, scored=False)


# -- scoring --------------------------------------------------------------------------------

def normalise(text: str, language: str) -> list[str]:
    """Characters (zh) or words (other languages), punctuation and case removed."""
    text = to_simplified(text).lower().replace("'", "").replace("’", "")
    text = re.sub(r"[^\w\s]|_", " ", text)
    return list("".join(text.split())) if language == "zh" else text.split()


def edit_distance(ref: Sequence[str], hyp: Sequence[str]) -> int:
    return Levenshtein.distance(ref, hyp)


def speaker_texts(result: Transcription) -> dict[str, str]:
    frame = result.segments.sort_values(["start", "channel"])
    sep = "" if result.language == "zh" else " "
    return {spk: sep.join(group["text"]) for spk, group in frame.groupby("speaker")}


def score(item: Item, hyps: dict[str, str]) -> dict[str, Any] | None:
    """Error rate over all speakers (sum of edits / sum of reference tokens)."""
    if not item.references:
        return None
    edits = length = 0
    per_speaker = {}
    for speaker, ref in item.references.items():
        r = normalise(ref, item.language)
        h = normalise(hyps.get(speaker, ""), item.language)
        e = edit_distance(r, h)
        per_speaker[speaker] = round(e / max(1, len(r)), 4)
        edits, length = edits + e, length + len(r)
    return {"metric": "CER" if item.language == "zh" else "WER", "edits": edits,
            "ref_tokens": length, "rate": round(edits / max(1, length), 4),
            "per_speaker": per_speaker}


def leaks(item: Item, hyps: dict[str, str]) -> list[str]:
    """Vocabulary phrases in the output more often than in the reference (not spoken)."""
    out = "".join(normalise("".join(hyps.values()), "zh"))
    ref = "".join(normalise("".join((item.references or {}).values()), "zh"))
    found = []
    for phrase in PHRASES:
        found += [phrase] * max(0, out.count(phrase) - ref.count(phrase))
    return found


def term_hits(item: Item, hyps: dict[str, str]) -> tuple[int, int]:
    """Vocabulary terms spoken (in the reference) and how many of them the output has."""
    out = "".join(normalise("".join(hyps.values()), "zh"))
    ref = "".join(normalise("".join((item.references or {}).values()), "zh"))
    spoken = {p: ref.count(p) for p in PHRASES}
    return sum(min(out.count(p), n) for p, n in spoken.items()), sum(spoken.values())


def missing_speakers(item: Item, hyps: dict[str, str]) -> list[str]:
    """Speakers who said something (per the reference) but got no text at all."""
    refs = item.references or {}
    return [spk for spk, ref in refs.items() if ref.strip() and not hyps.get(spk, "").strip()]


def _trigrams(text: str) -> list[str]:
    """Character 3-grams within each piece of text between punctuation and spaces."""
    pieces = re.split(r"[^\w]+|_", to_simplified(text).lower())
    return [p[i:i + 3] for p in pieces for i in range(len(p) - 2)]


VOCAB_TRIGRAMS = frozenset(_trigrams(f"{HOTWORDS} {INITIAL_PROMPT}"))


def leaked_trigrams(item: Item, hyps: dict[str, str]) -> list[str]:
    """Output 3-grams copied from the vocabulary text and absent from the reference.

    Catches partial copies of the prompt (a rephrased sentence) that whole phrases miss.
    """
    spoken = set(_trigrams(" ".join((item.references or {}).values())))
    return [g for g in _trigrams(" ".join(hyps.values()))
            if g in VOCAB_TRIGRAMS and g not in spoken]


# -- timing ---------------------------------------------------------------------------------

@dataclass
class Context:
    transcriber: Transcriber
    bare: Any  # faster_whisper.WhisperModel, same weights and settings
    scratch: Path
    repeats: int
    demo_repeats: int
    overhead_repeats: int
    # Last result per (file, options): lets a later section reuse an identical transcription.
    memo: dict[tuple[str, TranscribeOptions], Transcription] = field(default_factory=dict)

    def repeats_for(self, item: Item) -> int:
        return self.demo_repeats if item.demo else self.repeats


def base_options(item: Item, **changes: Any) -> TranscribeOptions:
    return replace(TranscribeOptions(language=item.language, layout=item.layout), **changes)


@dataclass(frozen=True)
class Run:
    wall_s: float
    cpu_s: float  # this process, all threads: less sensitive to other load than wall time
    result: Any
    fallbacks: int = 0  # decodes repeated at a higher temperature (see FallbackCounter)


class FallbackCounter(logging.Handler):
    """Counts faster-whisper's temperature fallbacks: a window decoded again because its text
    was too repetitive or too unlikely. Each one costs a full extra decode of that window."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "threshold is not met" in str(record.msg):
            self.count += 1


FALLBACKS = FallbackCounter()


def count_fallbacks() -> None:
    """Attach the counter; faster-whisper logs fallbacks at DEBUG level."""
    logger = logging.getLogger("faster_whisper")
    logger.setLevel(logging.DEBUG)
    logger.addHandler(FALLBACKS)
    logger.propagate = False  # keep its DEBUG chatter off the console


def measure(fn: Callable[[], Any]) -> Run:
    before = FALLBACKS.count
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    elapsed, cpu_s = time.perf_counter() - wall, time.process_time() - cpu
    return Run(elapsed, cpu_s, result, FALLBACKS.count - before)


def callqa_once(ctx: Context, path: Path, options: TranscribeOptions) -> Run:
    """One full, uncached callqa transcription: a fresh empty cache folder every call."""
    ctx.transcriber.cache = DiskCache(Path(tempfile.mkdtemp(dir=ctx.scratch)))
    run = measure(partial(ctx.transcriber.transcribe_file, path, options=options))
    assert not run.result.cached
    ctx.memo[(str(path), options)] = run.result
    return run


def bare_once(
    ctx: Context, path: Path, options: TranscribeOptions, word_timestamps: bool = False
) -> Run:
    """faster-whisper on the file path, same settings, consuming every segment."""
    return measure(partial(_bare, ctx.bare, path, options, word_timestamps))


def _bare(model: Any, path: Path, options: TranscribeOptions, word_timestamps: bool
          ) -> list[str]:
    segments, _ = model.transcribe(
        str(path), language=options.language, beam_size=options.beam_size,
        vad_filter=options.vad,
        vad_parameters={"min_silence_duration_ms": options.vad_min_silence_ms,
                        "speech_pad_ms": options.vad_speech_pad_ms},
        condition_on_previous_text=options.condition_on_previous_text,
        word_timestamps=word_timestamps,
    )
    return [segment.text for segment in segments]


def has_channel_modes() -> bool:
    """True when callqa can decode a stereo call's channels jointly or separately."""
    return hasattr(TranscribeOptions(), "channels")


@dataclass
class Series:
    """Repeated runs of one variant: wall and CPU seconds, and the last result."""

    wall: list[float]
    cpu: list[float]
    fallbacks: list[int] = field(default_factory=list)
    last: Any = None

    @property
    def wall_s(self) -> float:
        return median(self.wall)

    @property
    def cpu_s(self) -> float:
        return median(self.cpu)

    def as_json(self) -> dict[str, list[float] | list[int]]:
        return {"wall": self.wall, "cpu": self.cpu, "fallbacks": self.fallbacks}


def interleave(runs: dict[str, Callable[[], Run]], repeats: int) -> dict[str, Series]:
    """Run the variants in turn, reversing the order every repetition (A B, B A, ...)."""
    names = list(runs)
    series = {name: Series([], []) for name in names}
    for rep in range(repeats):
        for name in names if rep % 2 == 0 else names[::-1]:
            run = runs[name]()
            series[name].wall.append(round(run.wall_s, 4))
            series[name].cpu.append(round(run.cpu_s, 4))
            series[name].fallbacks.append(run.fallbacks)
            series[name].last = run.result
    return series


def paired(a: Series, b: Series) -> tuple[float, float]:
    """Median of per-repetition ratios a/b and differences a-b (adjacent runs, same load)."""
    ratios = [x / y for x, y in zip(a.wall, b.wall, strict=True) if y > 0]
    diffs = [x - y for x, y in zip(a.wall, b.wall, strict=True)]
    return round(statistics.median(ratios), 3), round(statistics.median(diffs), 4)


def median(values: Sequence[float]) -> float:
    return round(statistics.median(values), 4)


def ratio(a: float, b: float) -> float:
    return round(a / b, 3) if b > 0 else float("nan")


# -- sections -------------------------------------------------------------------------------

def compare_words(callqa: str, bare: str, language: str) -> dict[str, Any]:
    """Whether both gave the same words; both texts kept when not."""
    same = normalise(callqa, language) == normalise(bare, language)
    return {"same_words": same} if same else {"same_words": False, "callqa_text": callqa,
                                               "bare_text": bare}


def bench_overhead(ctx: Context, items: Sequence[Item]) -> dict[str, Any]:
    """Section 1: callqa vs bare faster-whisper on mono files.

    Two bare references: plain (the brief's settings) and with word timestamps, which callqa's
    joint channel mode asks for (it needs word times to give words back to speakers).
    """
    rows = []
    for item in items:
        options = base_options(item)
        runs = interleave({
            "callqa": partial(callqa_once, ctx, item.path, options),
            "bare": partial(bare_once, ctx, item.path, options),
            "bare_words": partial(bare_once, ctx, item.path, options, True),
        }, ctx.overhead_repeats)
        progress(item, runs)
        callqa = runs["callqa"]
        row: dict[str, Any] = {"file": item.name, "duration_s": round(item.duration_s, 2),
                               "callqa_s": callqa.wall_s, "callqa_cpu_s": callqa.cpu_s,
                               "callqa": callqa.as_json(), "_result": callqa.last}
        for ref in ("bare", "bare_words"):
            base = runs[ref]
            paired_ratio, paired_diff = paired(callqa, base)
            row[ref] = {"wall_s": base.wall_s, "cpu_s": base.cpu_s, **base.as_json(),
                        "ratio": ratio(callqa.wall_s, base.wall_s),
                        "cpu_ratio": ratio(callqa.cpu_s, base.cpu_s),
                        "paired_ratio": paired_ratio, "paired_diff_s": paired_diff}
        bare_text = " ".join(t.strip() for t in runs["bare"].last)
        row |= compare_words(" ".join(callqa.last.segments["text"]), bare_text, item.language)
        rows.append(row)
    result: dict[str, Any] = {"rows": rows,
                              "callqa_s": round(sum(r["callqa_s"] for r in rows), 4),
                              "callqa_cpu_s": round(sum(r["callqa_cpu_s"] for r in rows), 4)}
    for ref in ("bare", "bare_words"):
        wall = round(sum(r[ref]["wall_s"] for r in rows), 4)
        cpu = round(sum(r[ref]["cpu_s"] for r in rows), 4)
        result[ref] = {"wall_s": wall, "cpu_s": cpu, "ratio": ratio(result["callqa_s"], wall),
                       "cpu_ratio": ratio(result["callqa_cpu_s"], cpu)}
    result["breakdown"] = overhead_breakdown(ctx, items)
    return result


def overhead_breakdown(ctx: Context, items: Sequence[Item]) -> list[dict[str, Any]]:
    """Where callqa's extra time goes: file loading and checks vs faster-whisper's decode."""
    from faster_whisper.audio import decode_audio

    settings = ctx.transcriber.settings.audio
    rows = []
    for item in items:
        runs = interleave({
            "callqa_load": partial(measure, partial(audio_io.load, item.path, "mono", settings)),
            "fw_decode": partial(measure, partial(decode_audio, str(item.path))),
        }, 3 * ctx.repeats)
        rows.append({"file": item.name, "callqa_load_s": runs["callqa_load"].wall_s,
                     "fw_decode_s": runs["fw_decode"].wall_s})
    return rows


def frame_cost(results: Sequence[Transcription]) -> float:
    """Median time to build and validate the segment table (pandera), per call."""
    times = []
    for result in results:
        rows = result.segments.drop(columns="call_id").to_dict("records")
        times.append(measure(partial(_segments_frame, "x", rows)).wall_s)
    return median(times)


def bench_stereo(ctx: Context, items: Sequence[Item]) -> dict[str, Any]:
    """Section 3: each stereo file as two channels vs its mono mix.

    Mandarin calls also get a batched run in the same interleaved group, for section 5.
    """
    rows = []
    for item in items:
        recording = audio_io.load(item.path, item.layout)
        mix = write_wav(ctx.scratch / f"{item.name}_mix.wav", recording.mixdown())
        variants = {
            "stereo": partial(callqa_once, ctx, item.path, base_options(item)),
            "mono_mix": partial(callqa_once, ctx, mix, base_options(item, layout="mono")),
        }
        if has_channel_modes():  # the default is joint: also time one pass per channel
            variants["separate"] = partial(callqa_once, ctx, item.path,
                                           base_options(item, channels="separate"))
        if item.language == "zh":
            variants["batched"] = partial(callqa_once, ctx, item.path,
                                          base_options(item, batched=True))
        runs = interleave(variants, ctx.repeats_for(item))
        progress(item, runs)
        stereo, mono = runs["stereo"], runs["mono_mix"]
        mixed = " ".join(speaker_texts(mono.last).values())
        rows.append({
            "file": item.name, "duration_s": round(item.duration_s, 2),
            "stereo_s": stereo.wall_s, "mono_mix_s": mono.wall_s,
            "ratio": ratio(stereo.wall_s, mono.wall_s),
            "stereo_cpu_s": stereo.cpu_s, "mono_mix_cpu_s": mono.cpu_s,
            "cpu_ratio": ratio(stereo.cpu_s, mono.cpu_s),
            "mix_score": mix_score(item, mixed), "mix_text": mixed,
            "stereo": stereo.as_json(), "mono_mix": mono.as_json(), "_result": stereo.last,
            "_runs": runs,
        })
        if "separate" in runs:
            sep = runs["separate"]
            rows[-1] |= {"separate_s": sep.wall_s, "separate_cpu_s": sep.cpu_s,
                         "separate_ratio": ratio(sep.wall_s, mono.wall_s),
                         "separate": sep.as_json(),
                         "separate_score": score(item, speaker_texts(sep.last))}
    keys = ["stereo_s", "mono_mix_s", "stereo_cpu_s", "mono_mix_cpu_s"]
    if rows and "separate_s" in rows[0]:
        keys += ["separate_s", "separate_cpu_s"]
    totals = {k: round(sum(r[k] for r in rows), 4) for k in keys}
    result = {"rows": rows, **totals,
              "ratio": ratio(totals["stereo_s"], totals["mono_mix_s"]) if rows else None,
              "cpu_ratio": ratio(totals["stereo_cpu_s"], totals["mono_mix_cpu_s"]) if rows
              else None}
    if "separate_s" in totals:
        result["separate_ratio"] = ratio(totals["separate_s"], totals["mono_mix_s"])
        result["separate_cpu_ratio"] = ratio(totals["separate_cpu_s"], totals["mono_mix_cpu_s"])
    return result


def mix_score(item: Item, hyp: str) -> dict[str, Any] | None:
    """Error rate of the mono-mix transcript against all turns in time order.

    Without turn times (overlapping speakers), against both speakers joined, in the better order.
    """
    if not item.references:
        return None
    refs = list(item.references.values())
    orders = [item.timeline] if item.timeline else [" ".join(refs), " ".join(refs[::-1])]
    scores = [score(replace(item, references={"unknown": ref}), {"unknown": hyp})
              for ref in orders]
    return min((s for s in scores if s), key=lambda s: s["rate"])


def bench_batched(ctx: Context, items: Sequence[Item]) -> list[dict[str, Any]]:
    """Section 5: BatchedInferencePipeline vs sequential decoding, Mandarin only."""
    rows = []
    for item in items:
        runs = interleave({
            "sequential": partial(callqa_once, ctx, item.path, base_options(item, batched=False)),
            "batched": partial(callqa_once, ctx, item.path, base_options(item, batched=True)),
        }, ctx.repeats_for(item))
        progress(item, runs)
        rows.append(batched_row(item, runs["sequential"], runs["batched"]))
    return rows


def batched_row(item: Item, sequential: Series, batched: Series) -> dict[str, Any]:
    row: dict[str, Any] = {"file": item.name, "duration_s": round(item.duration_s, 2)}
    for mode, series in (("sequential", sequential), ("batched", batched)):
        hyps = speaker_texts(series.last)
        row[mode] = {
            "time_s": series.wall_s, "cpu_s": series.cpu_s, **series.as_json(),
            "chars": len(normalise("".join(hyps.values()), "zh")),
            "score": score(item, hyps) if item.scored else None,
            "missing_speakers": missing_speakers(item, hyps),
            "text": hyps,
        }
    seq, bat = row["sequential"], row["batched"]
    row["time_ratio"] = ratio(bat["time_s"], seq["time_s"])
    row["char_ratio"] = ratio(bat["chars"], seq["chars"])
    row["drops_content"] = bat["chars"] < 0.9 * seq["chars"] or (
        len(bat["missing_speakers"]) > len(seq["missing_speakers"]))
    row["less_accurate"] = bool(seq["score"]) and (
        bat["score"]["rate"] > seq["score"]["rate"] + 0.05)
    return row


VOCAB_MODES: dict[str, dict[str, str | None]] = {
    "none": {"hotwords": None, "initial_prompt": None},
    "hotwords": {"hotwords": HOTWORDS, "initial_prompt": None},
    "initial_prompt": {"hotwords": None, "initial_prompt": INITIAL_PROMPT},
}


def bench_vocabulary(ctx: Context, items: Sequence[Item]) -> list[dict[str, Any]]:
    """Section 6: no vocabulary vs hotwords vs initial prompt; score and leaked phrases."""
    rows = []
    for item in items:
        row: dict[str, Any] = {"file": item.name, "language": item.language}
        for mode, vocab in VOCAB_MODES.items():
            options = base_options(item, **vocab)
            reused = ctx.memo.get((str(item.path), options))  # same options ran already
            run = Run(0.0, 0.0, reused) if reused else callqa_once(ctx, item.path, options)
            hyps = speaker_texts(run.result)
            row[mode] = {"time_s": None if reused else round(run.wall_s, 4),
                         "fallbacks": None if reused else run.fallbacks,
                         "reused": bool(reused), "text": hyps,
                         "score": score(item, hyps) if item.scored else None,
                         "leaks": leaks(item, hyps),
                         "leaked_trigrams": leaked_trigrams(item, hyps),
                         "terms": term_hits(item, hyps),
                         "missing_speakers": missing_speakers(item, hyps)}
        rows.append(row)
        console.print(f"  {item.name}: done", markup=False)
    return rows


def vocabulary_demos(demos: Sequence[Item], limit: int) -> list[Item]:
    """The Mandarin demo calls whose scripts use the vocabulary most (they would gain most)."""
    def uses(item: Item) -> int:
        text = "".join((item.references or {}).values())
        return sum(text.count(p) for p in PHRASES)

    zh = [i for i in demos if i.language == "zh"]
    ranked = sorted(zh, key=lambda i: (-uses(i), i.duration_s))
    return ranked if limit < 0 else ranked[:limit]


def progress(item: Item, runs: dict[str, Series]) -> None:
    times = ", ".join(f"{name} {series.wall_s:.2f} s ({sum(series.fallbacks)} fallbacks)"
                      for name, series in runs.items())
    console.print(f"  {item.name} ({item.duration_s:.1f} s audio): {times}", markup=False)


# -- report ---------------------------------------------------------------------------------

def _fmt_score(s: dict[str, Any] | None) -> str:
    return "-" if not s else f"{s['metric']} {s['rate']:.3f} ({s['edits']}/{s['ref_tokens']})"


def _table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    table = Table(title=title, title_justify="left")
    for i, column in enumerate(columns):
        table.add_column(column, justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*(str(v) for v in row))
    console.print(table)


def report(results: dict[str, Any]) -> None:
    """Print a table per section that ran, then the summary."""
    if "overhead" in results:
        report_overhead(results["overhead"], results["meta"]["overhead_repeats"])
    if "frame_cost_s" in results:
        console.print(f"segment table build + pandera validation: {results['frame_cost_s']} s "
                      "per call (median)")
    if "rtf" in results:
        _table("2. real-time factor (callqa median / audio duration)",
               ["file", "layout", "audio s", "callqa s", "RTF"],
               [(r["file"], r["layout"], r["duration_s"], r["time_s"], r["rtf"])
                for r in results["rtf"]])
    if "stereo" in results:
        report_stereo(results["stereo"])
    if "accuracy" in results:
        _table("4. accuracy (callqa defaults, sequential, no vocabulary; stereo: also with one "
               "pass per channel)",
               ["file", "score", "per channel", "separate-pass score", "hypothesis"],
               [(r["file"], _fmt_score(r["score"]) + ("" if r["scored"] else " (report only)"),
                 r["per_speaker"], _fmt_score(r["separate_score"]), r["text"][:60])
                for r in results["accuracy"]])
    if "batched" in results:
        report_batched(results["batched"])
    if "vocabulary" in results:
        report_vocabulary(results["vocabulary"])
    console.print(results["summary"])


def report_overhead(over: dict[str, Any], repeats: int) -> None:
    refs = ("bare", "bare_words")
    _table(f"1. callqa vs bare faster-whisper, mono (medians of {repeats} interleaved runs; "
           "bare_words = bare + word_timestamps)",
           ["file", "audio s", "callqa s", "bare s", "bare_words s",
            *(f"{x} {k}" for x in refs for k in ("ratio", "paired", "diff s", "cpu ratio")),
            "same words"],
           [(r["file"], r["duration_s"], r["callqa_s"], r["bare"]["wall_s"],
             r["bare_words"]["wall_s"],
             *(r[x][k] for x in refs
               for k in ("ratio", "paired_ratio", "paired_diff_s", "cpu_ratio")),
             r["same_words"]) for r in over["rows"]]
           + [("TOTAL (sum of medians)", "", over["callqa_s"], over["bare"]["wall_s"],
               over["bare_words"]["wall_s"],
               *(v for x in refs for v in (over[x]["ratio"], "", "", over[x]["cpu_ratio"])),
               "")])
    _table("1b. file reading (median s)",
           ["file", "callqa load+checks+sha256", "faster-whisper decode_audio"],
           [(r["file"], r["callqa_load_s"], r["fw_decode_s"]) for r in over["breakdown"]])


def report_stereo(st: dict[str, Any]) -> None:
    sep = "separate_s" in st
    modes = ("stereo", "separate", "mono_mix") if sep else ("stereo", "mono_mix")
    _table("3. dual-channel vs mono mix (callqa, median; stereo = default channel mode"
           + (", separate = one pass per channel)" if sep else ")")
           + "; fallbacks = temperature re-decodes in the timed runs",
           ["file", "audio s", "stereo s", "mono mix s", "ratio", "cpu ratio",
            *(["separate s", "separate ratio"] if sep else []),
            "fallbacks " + "/".join(modes), "mix transcript"],
           [(r["file"], r["duration_s"], r["stereo_s"], r["mono_mix_s"], r["ratio"],
             r["cpu_ratio"], *([r["separate_s"], r["separate_ratio"]] if sep else []),
             "/".join(str(sum(r[m]["fallbacks"])) for m in modes),
             _fmt_score(r["mix_score"])) for r in st["rows"]]
           + [("TOTAL (sum of medians)", "", st["stereo_s"], st["mono_mix_s"], st["ratio"],
               st["cpu_ratio"], *([st["separate_s"], st["separate_ratio"]] if sep else []),
               "/".join(str(sum(sum(r[m]["fallbacks"]) for r in st["rows"])) for m in modes),
               "")])


def report_batched(rows: list[dict[str, Any]]) -> None:
    _table("5. batched vs sequential, Mandarin (callqa); ! = a speaker got no text",
           ["file", "audio s", "seq score", "batched score", "seq chars", "batched chars",
            "seq s", "batched s", "time ratio", "fallbacks seq/bat", "drops?", "worse?"],
           [(r["file"], r["duration_s"], _fmt_score(r["sequential"]["score"]),
             _fmt_score(r["batched"]["score"]) + (" !" if r["batched"]["missing_speakers"] else ""),
             r["sequential"]["chars"], r["batched"]["chars"],
             r["sequential"]["time_s"], r["batched"]["time_s"], r["time_ratio"],
             f"{sum(r['sequential']['fallbacks'])}/{sum(r['batched']['fallbacks'])}",
             r["drops_content"], r["less_accurate"]) for r in rows])


def report_vocabulary(rows: list[dict[str, Any]]) -> None:
    _table("6. domain vocabulary: score; terms found/spoken; leaked phrases / copied 3-grams "
           "(not in the reference); ! = a speaker got no text",
           ["file", *(f"{m} score" for m in VOCAB_MODES), *(f"{m} terms" for m in VOCAB_MODES),
            *(f"{m} leaks" for m in VOCAB_MODES)],
           [(r["file"],
             *(_fmt_score(r[m]["score"]) + (" !" if r[m]["missing_speakers"] else "")
               for m in VOCAB_MODES),
             *("{}/{}".format(*r[m]["terms"]) if r[m]["terms"][1] else "-" for m in VOCAB_MODES),
             *(f"{len(r[m]['leaks'])} / {len(r[m]['leaked_trigrams'])}" for m in VOCAB_MODES))
            for r in rows])
    for r in rows:
        for mode in VOCAB_MODES:
            if r[mode]["leaks"] or r[mode]["leaked_trigrams"]:
                console.print(f"  leak {r['file']} ({mode}): {r[mode]['leaks']} "
                              f"{r[mode]['leaked_trigrams']} -> "
                              f"{' | '.join(r[mode]['text'].values())[:90]!r}", markup=False)


def accuracy_rows(items: Sequence[Item], results: dict[str, Transcription],
                  separate: dict[str, Any]) -> list[dict]:
    rows = []
    for item in items:
        hyps = speaker_texts(results[item.name])
        s = score(item, hyps)
        rows.append({"file": item.name, "scored": item.scored, "score": s,
                     "separate_score": separate.get(item.name),
                     "per_speaker": s["per_speaker"] if s and item.stereo else "",
                     "text": " | ".join(hyps.values()), "hyps": hyps})
    return rows


def rtf_rows(items: Sequence[Item], times: dict[str, float]) -> list[dict[str, Any]]:
    return [{"file": i.name, "layout": i.layout, "duration_s": round(i.duration_s, 2),
             "time_s": times[i.name], "rtf": round(times[i.name] / i.duration_s, 3)}
            for i in items if i.name in times]


def summarise(results: dict[str, Any]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    if over := results.get("overhead"):
        for ref in ("bare", "bare_words"):
            summary[f"overhead_ratio_vs_{ref}"] = over[ref]["ratio"]
            summary[f"overhead_cpu_ratio_vs_{ref}"] = over[ref]["cpu_ratio"]
    if stereo := results.get("stereo"):
        summary |= {"stereo_ratio": stereo["ratio"], "stereo_cpu_ratio": stereo["cpu_ratio"],
                    "stereo_separate_ratio": stereo.get("separate_ratio")}
    if batched := results.get("batched"):
        summary["batched_drops_content_on"] = [r["file"] for r in batched if r["drops_content"]]
        summary["batched_less_accurate_on"] = [r["file"] for r in batched if r["less_accurate"]]
    if vocab := results.get("vocabulary"):
        summary |= {
            "leaked_phrases": {m: sum(len(r[m]["leaks"]) for r in vocab) for m in VOCAB_MODES},
            "leaked_trigrams": {m: sum(len(r[m]["leaked_trigrams"]) for r in vocab)
                                for m in VOCAB_MODES},
            "terms_found_of_spoken": {m: [sum(r[m]["terms"][i] for r in vocab) for i in (0, 1)]
                                      for m in VOCAB_MODES},
            "speakers_lost": {m: [r["file"] for r in vocab if r[m]["missing_speakers"]]
                              for m in VOCAB_MODES},
        }
    return summary


# -- main -----------------------------------------------------------------------------------

SECTIONS = ("overhead", "stereo", "batched", "vocabulary")

def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 repeat, shared clips only")
    parser.add_argument("--sections", default=",".join(SECTIONS),
                        help=f"comma-separated subset of {','.join(SECTIONS)}")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per variant")
    parser.add_argument("--overhead-repeats", type=int, default=None,
                        help="timed runs per variant in section 1 (default: --repeats)")
    parser.add_argument("--vocab-demos", type=int, default=2,
                        help="Mandarin demo calls in the vocabulary section (-1: all)")
    parser.add_argument("--demo-repeats", type=int, default=1,
                        help="timed runs per variant on the (longer) demo calls")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON results file")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="shared audio folder")
    parser.add_argument("--examples", type=Path, default=EXAMPLES,
                        help="folder with manifest.csv and calls/ (the demo calls)")
    args = parser.parse_args(argv)
    args.sections = [x.strip() for x in args.sections.split(",") if x.strip()]
    unknown = set(args.sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}; choose from {SECTIONS}")
    if args.quick:
        args.repeats = 1
    if args.overhead_repeats is None:
        args.overhead_repeats = args.repeats
    return args


def load_models(settings: Settings) -> tuple[Transcriber, Any, int]:
    """callqa's Transcriber and a bare WhisperModel with the same weights and settings."""
    from faster_whisper import WhisperModel

    transcriber = Transcriber(settings)
    threads = settings.asr.cpu_threads or os.cpu_count() or 1
    bare = WhisperModel(str(transcriber.resolved.path), device="cpu",
                        compute_type=settings.asr.compute_type, cpu_threads=threads,
                        num_workers=settings.asr.num_workers, local_files_only=True)
    _ = transcriber.model  # load outside any timing
    return transcriber, bare, threads


def warm_up(ctx: Context, item: Item) -> None:
    """First calls pay one-off costs (VAD session, OpenCC, batched pipeline): not timed."""
    callqa_once(ctx, item.path, base_options(item))
    callqa_once(ctx, item.path, base_options(item, batched=True))
    bare_once(ctx, item.path, base_options(item))
    bare_once(ctx, item.path, base_options(item), word_timestamps=True)


def meta(args: argparse.Namespace, threads: int, settings: Settings) -> dict[str, Any]:
    import ctranslate2
    import faster_whisper

    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{os.cpu_count()} CPU cores, no GPU, {platform.machine()}",
        "python": sys.version.split()[0], "faster_whisper": faster_whisper.__version__,
        "ctranslate2": ctranslate2.__version__, "model": settings.asr.model,
        "compute_type": settings.asr.compute_type, "cpu_threads": threads,
        "repeats": args.repeats, "overhead_repeats": args.overhead_repeats,
        "demo_repeats": args.demo_repeats, "vocab_demos": args.vocab_demos, "quick": args.quick,
        "sections": args.sections,
        "hotwords": HOTWORDS, "initial_prompt": INITIAL_PROMPT,
        "callqa_commit": _commit(), "callqa_defaults": asdict(TranscribeOptions()),
    }


def _commit() -> str | None:
    """The project commit measured (read-only git query), with a mark for local changes."""
    try:
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "pipeline"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+local changes in pipeline/" if dirty else "")


def strip_private(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: strip_private(v) for k, v in value.items() if not k.startswith("_")}
    if isinstance(value, list):
        return [strip_private(v) for v in value]
    return value


def main(argv: Sequence[str] | None = None) -> int:
    started = time.perf_counter()
    args = parse_args(argv)
    apply_offline_environment()
    count_fallbacks()
    settings = Settings()
    transcriber, bare, threads = load_models(settings)
    with tempfile.TemporaryDirectory(prefix="callqa-bench-") as tmp:
        scratch = Path(tmp)
        ctx = Context(transcriber, bare, scratch, args.repeats, args.demo_repeats,
                      args.overhead_repeats)
        clips = clip_items(args.data)
        if not clips:
            console.print(f"[red]no shared clips under {args.data}[/]")
            return 1
        demos = [] if args.quick else demo_items(transcriber, args.examples)
        if args.quick:
            console.print("[yellow]note:[/] --quick: demo calls skipped")
        warm_up(ctx, clips[0])
        results: dict[str, Any] = {"meta": meta(args, threads, settings)}
        run_sections(ctx, args, clips, demos, results)
        results["summary"] = summarise(results)
        results["meta"]["wall_s"] = round(time.perf_counter() - started, 1)
        results["meta"]["process_cpu_s"] = round(time.process_time(), 1)
    console.print("report")
    report(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(strip_private(results), ensure_ascii=False, indent=1,
                                   default=_json_default), encoding="utf-8")
    console.print(f"wrote {args.out} in {results['meta']['wall_s']} s")
    return 0


def run_sections(ctx: Context, args: argparse.Namespace, clips: list[Item], demos: list[Item],
                 results: dict[str, Any]) -> None:
    """Run the chosen sections into ``results`` (RTF and accuracy come from sections 1 and 3)."""
    wanted = args.sections
    mono = [i for i in clips if not i.stereo]
    stereo = [i for i in [*clips, *demos] if i.stereo]
    zh = [i for i in [*clips, *demos] if i.language == "zh"]
    concat = mandarin_concat(clips, ctx.scratch)
    if "overhead" in wanted:
        console.print("[bold]overhead vs bare faster-whisper[/] ...")
        results["overhead"] = bench_overhead(ctx, mono)
    if "stereo" in wanted:
        console.print("[bold]dual-channel vs mono mix[/] (and batched, Mandarin calls) ...")
        results["stereo"] = bench_stereo(ctx, stereo)
    timed = [row for key in ("overhead", "stereo") for row in results.get(key, {}).get("rows", [])]
    if timed:
        last = {r["file"]: r["_result"] for r in timed}
        results["frame_cost_s"] = frame_cost(list(last.values()))
        times = {r["file"]: r.get("callqa_s", r.get("stereo_s")) for r in timed}
        results["rtf"] = rtf_rows([*clips, *demos], times)
        separate = {r["file"]: r.get("separate_score") for r in timed}
        results["accuracy"] = accuracy_rows([i for i in [*clips, *demos] if i.name in last],
                                            last, separate)
    if "batched" in wanted:
        console.print("[bold]batched vs sequential (Mandarin)[/] ...")
        done = {r["file"]: r["_runs"] for r in results.get("stereo", {}).get("rows", [])
                if "batched" in r["_runs"]}  # stereo Mandarin calls: timed with section 3
        results["batched"] = bench_batched(ctx, [i for i in zh if i.name not in done] + [concat])
        for item in (i for i in zh if i.name in done):
            runs = done[item.name]
            results["batched"].append(batched_row(item, runs["stereo"], runs["batched"]))
    if "vocabulary" in wanted:
        console.print("[bold]domain vocabulary[/] ...")
        english = [i for i in clips if i.name == "jfk"]
        items = [*(i for i in zh if not i.demo), concat,
                 *vocabulary_demos(demos, args.vocab_demos), *english, noise_item(ctx.scratch)]
        results["vocabulary"] = bench_vocabulary(ctx, items)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if hasattr(value, "__dataclass_fields__"):
        return asdict(value)
    return str(value)


if __name__ == "__main__":
    sys.exit(main())
