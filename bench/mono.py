"""A mono recording scored like the stereo one: the demo calls mixed to one channel.

For each demo call (stereo, agent on one channel), the same call mixed to mono (and through
an 8 kHz telephone round trip) is transcribed with layout ``mono``: diarized into parties,
the parties given roles by what they say, then scored. Reports, per call and overall:

* roles: the mono call's roles status and confidence, and the share of its words (by time)
  whose role matches the stereo call's channel at that moment (goal ≥ 95 %);
* items: the share of rubric items with the same outcome on mono as on stereo (goal ≥ 95 %);
* cost: diarization + role assignment time over transcription time (goal ≤ 15 %; CPU time).

    python bench/mono.py [--manifest examples/manifest.csv] [--out bench/results/mono.json]

Transcripts are cached under a temporary home, so each variant is decoded once per run.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import av
import numpy as np

from pipeline import audio as audio_io
from pipeline.batch.manifest import CallJob, read_manifest
from pipeline.batch.scorer import Scorer
from pipeline.config import Settings

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", type=Path, default=ROOT / "examples" / "manifest.csv")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "mono.json")
    parser.add_argument("--variants", default="mono16k,tel8k")
    args = parser.parse_args()
    variants = args.variants.split(",")
    calls = read_manifest(args.manifest).calls
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(home=Path(home))
        scorer = Scorer(settings)
        first = calls.iloc[0]
        load_s = _warm_up(settings, audio_io.load(first.audio_path, first.layout,
                                                  settings.audio).mixdown())
        print(f"models loaded in {load_s:.1f} s (once per worker; not counted per call)")
        for call in calls.itertuples(index=False):
            stereo_job = CallJob(call.call_id, Path(call.audio_path), call.layout, call.language)
            stereo = scorer.score(stereo_job)
            recording = audio_io.load(call.audio_path, call.layout, settings.audio)
            for variant in variants:
                path = Path(home) / f"{call.call_id}.{variant}.wav"
                _write_mono(recording.mixdown(), path, telephone=variant.startswith("tel"))
                rows.append(_compare(scorer, stereo, call, path, variant))
                _print_row(rows[-1])
    summary = _summary(rows, variants)
    for variant, figures in summary.items():
        print(f"\n{variant}: words to the right role {figures['words_right']:.1%} (goal ≥ 95 %), "
              f"items agreeing {figures['items_same']:.1%} (goal ≥ 95 %), roles known "
              f"{figures['roles_known']}/{figures['calls']} (items agreeing on those "
              f"{figures['items_same_known_roles']:.1%}), cost {figures['cost']:.1%} of "
              f"transcription CPU, worst call {figures['max_cost']:.1%} (goal ≤ 15 %)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"calls": rows, "summary": summary,
                                    "load_s": round(load_s, 2)}, indent=2,
                                   ensure_ascii=False) + "\n")
    print(f"wrote {args.out}")


def _compare(scorer: Scorer, stereo: Any, call: Any, path: Path, variant: str) -> dict[str, Any]:
    job = CallJob(call.call_id, path, "mono", call.language)
    started, cpu = time.perf_counter(), time.process_time()
    transcribed = _transcribe(scorer, job)  # decoded and diarized now; the scorer's is cached
    asr_cpu = time.process_time() - cpu
    wall = time.perf_counter() - started
    document, versions = scorer.document(job)
    role_cpu = _role_cpu(scorer, job)
    mono = scorer.score_transcribed(job, document, versions)
    diarization = (document.get("asr") or {}).get("diarization") or {}
    same = _same_outcomes(stereo.items, mono.items)
    roles = document.get("roles") or {}
    diar_s = transcribed.diarization_cpu_s
    transcribe_cpu = max(asr_cpu - diar_s, 1e-9)
    return {
        "call_id": call.call_id, "variant": variant, "wall_s": round(wall, 2),
        "roles": roles.get("status"), "role_confidence": roles.get("confidence"),
        "parties": diarization.get("parties"),
        "words_right": round(_words_right(stereo.turns, mono.turns), 4),
        "items_same": same[0], "items": same[1], "differences": same[2],
        "diarization_s": round(diar_s, 3), "roles_s": round(role_cpu, 4),
        "transcription_cpu_s": round(transcribe_cpu, 3),
        "cost": round((diar_s + role_cpu) / transcribe_cpu, 4),
    }


def _warm_up(settings: Settings, samples: np.ndarray) -> float:
    """Load the diarization and role models once, as a worker does before its first call,
    so that the first call's cost is its own; returns the seconds it took."""
    from pipeline.speakers import diarize, roles

    started = time.perf_counter()
    diarize.diarizer(settings.speakers, settings.cache_dir).diarize(samples[:20 * 16_000])
    roles.bundled_model()
    return time.perf_counter() - started


def _transcribe(scorer: Scorer, job: CallJob) -> Any:
    """The scorer's own transcription of ``job`` (same options, so its cache entry)."""
    from pipeline.asr import TranscribeOptions

    options = TranscribeOptions.from_settings(scorer.settings, language=job.language,
                                              layout=job.layout)
    return scorer._transcriber.transcribe_file(job.source, job.call_id, options)


def _role_cpu(scorer: Scorer, job: CallJob) -> float:
    """CPU seconds of role assignment alone, on the cached transcription's rows."""
    from pipeline.speakers import attribution

    result = _transcribe(scorer, job)
    assert result.cached, "the scorer's transcription should be cached"
    cpu = time.process_time()
    for _ in range(5):
        attribution.attribute(result.segments, result.layout, result.language,
                              scorer.settings.speakers)
    return (time.process_time() - cpu) / 5


def _same_outcomes(stereo: Any, mono: Any) -> tuple[int, int, list[str]]:
    left = dict(zip(stereo["item_id"], stereo["outcome"], strict=True))
    right = dict(zip(mono["item_id"], mono["outcome"], strict=True))
    differences = [f"{item}: {left[item]} → {right.get(item)}" for item in left
                   if right.get(item) != left[item]]
    return len(left) - len(differences), len(left), differences


def _words_right(stereo_turns: Any, mono_turns: Any) -> float:
    """Share of the mono call's talk time (by turn) whose role is the stereo call's speaker
    there: sampled every 0.1 s inside mono turns, against the stereo turns holding that time."""
    truth = [(t.start, t.end, t.speaker) for t in stereo_turns.itertuples() if t.start == t.start]
    right = total = 0
    for turn in mono_turns.itertuples():
        if turn.start != turn.start:
            continue
        for moment in np.arange(turn.start, turn.end, 0.1):
            holders = {speaker for start, end, speaker in truth if start <= moment <= end}
            if len(holders) != 1:
                continue  # silence or overlap in the stereo call: no single truth
            total += 1
            right += turn.speaker in holders
    return right / total if total else 0.0


def _write_mono(samples: np.ndarray, path: Path, telephone: bool) -> None:
    """A 16 kHz mono WAV of the mixed call; ``telephone`` passes it through 8 kHz first."""
    if telephone:
        samples = _resample(_resample(samples, 16_000, 8_000), 8_000, 16_000)
    pcm = (np.clip(samples, -1, 1) * 32767).astype(np.int16)
    with av.open(str(path), "w", format="wav") as container:
        stream = container.add_stream("pcm_s16le", rate=16_000, layout="mono")
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.rate = 16_000
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def _resample(samples: np.ndarray, rate: int, to: int) -> np.ndarray:
    resampler = av.AudioResampler(format="flt", layout="mono", rate=to)
    frame = av.AudioFrame.from_ndarray(samples.astype(np.float32).reshape(1, -1), format="flt",
                                       layout="mono")
    frame.rate = rate
    out = [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
    out += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    return np.concatenate(out).astype(np.float32)


def _print_row(row: dict[str, Any]) -> None:
    print(f"{row['call_id']:28s} {row['variant']:8s} roles {row['roles']:9s} "
          f"conf {row['role_confidence'] or 0:.2f}  words right {row['words_right']:.1%}  "
          f"items {row['items_same']}/{row['items']}  cost {row['cost']:.1%}")
    for difference in row["differences"]:
        print(f"    {difference}")


def _summary(rows: list[dict[str, Any]], variants: list[str]) -> dict[str, dict[str, Any]]:
    summary = {}
    for variant in variants:
        chosen = [r for r in rows if r["variant"] == variant]
        if not chosen:
            continue
        known = [r for r in chosen if r["roles"] == "known"]
        summary[variant] = {
            "calls": len(chosen),
            "roles_known": len(known),
            "words_right": sum(r["words_right"] for r in chosen) / len(chosen),
            "items_same": sum(r["items_same"] for r in chosen) / sum(r["items"] for r in chosen),
            "items_same_known_roles": (sum(r["items_same"] for r in known)
                                       / max(sum(r["items"] for r in known), 1)),
            "cost": (sum(r["diarization_s"] + r["roles_s"] for r in chosen)
                     / sum(r["transcription_cpu_s"] for r in chosen)),
            "max_cost": max(r["cost"] for r in chosen),
        }
    return summary


if __name__ == "__main__":
    main()
