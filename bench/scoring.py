"""Cost of everything after transcription (turns, metrics, rubric) vs transcription itself,
and how far scoring the ASR transcript agrees with scoring the call's ground-truth script.

Goal: post-transcription work for one call ≤ 5 % of that call's transcription time.
Agreement: per rubric item, the share of demo calls where the outcome on the ASR transcript
equals the outcome on the script the audio was made from (ASR tolerance of the rubric).

    python bench/scoring.py [--repeats 5] [--out bench/results/scoring.json]

Transcription is timed with an empty cache (full decode); scoring is timed on the resulting
transcript, median of ``--repeats`` runs after one warm-up (rubric loaded once, as in a batch).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pipeline import transcript
from pipeline.asr import TranscribeOptions, Transcriber, Transcription
from pipeline.batch.manifest import read_manifest
from pipeline.config import Settings
from pipeline.rubric import load
from pipeline.scoring import score_document

ROOT = Path(__file__).resolve().parents[1]


def transcribed_calls(manifest: Path) -> Iterator[tuple[Any, Transcription, float]]:
    """(manifest row, transcription, seconds) per call, decoded with an empty ASR cache."""
    calls = read_manifest(manifest).calls
    with tempfile.TemporaryDirectory() as home:
        transcriber = Transcriber(Settings(home=Path(home)))
        for call in calls.itertuples(index=False):
            options = TranscribeOptions.from_settings(transcriber.settings,
                                                      language=call.language, layout=call.layout)
            started = time.perf_counter()
            result = transcriber.transcribe_file(call.audio_path, call.call_id, options)
            yield call, result, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", type=Path, default=ROOT / "examples" / "manifest.csv")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "scoring.json")
    args = parser.parse_args()

    rubrics = {"zh": load("ecommerce-zh"), "en": load("ecommerce-en")}
    rows = []
    for call, result, asr_s in transcribed_calls(args.manifest):
        document = transcript.from_transcription(result)
        rubric = rubrics[result.language]
        score_document(document, rubric)  # warm-up: pinyin tables, regex caches
        times = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            score_document(document, rubric)
            times.append(time.perf_counter() - started)
        score_s = statistics.median(times)
        outcomes = _outcomes(score_document(document, rubric))
        script = Path(call.audio_path).with_suffix(".json")
        truth = (_outcomes(score_document(transcript.load(script), rubric))
                 if script.is_file() else {})
        rows.append({"call_id": call.call_id, "audio_s": round(result.audio.duration_s, 1),
                     "turns": len(document["turns"]), "asr_s": round(asr_s, 2),
                     "score_s": round(score_s, 4),
                     "ratio": round(score_s / asr_s, 4),
                     "asr_outcomes": outcomes, "script_outcomes": truth})
        print(f"{call.call_id:28s} audio {rows[-1]['audio_s']:6.1f}s  asr {asr_s:6.2f}s  "
              f"score {score_s * 1000:7.1f}ms  ratio {100 * score_s / asr_s:5.2f}%")
    agreement = _agreement(rows)
    print("\nper item: outcome on the ASR transcript = outcome on the script")
    for item, (same, n) in sorted(agreement.items()):
        print(f"  {item:26s} {same}/{n}")
    total = sum(r["score_s"] for r in rows) / sum(r["asr_s"] for r in rows)
    worst = max(r["ratio"] for r in rows)
    print(f"\noverall {100 * total:.2f}% of transcription time (worst call {100 * worst:.2f}%); "
          f"goal ≤ 5%")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(
        {"calls": rows, "overall_ratio": round(total, 4), "worst_ratio": worst,
         "agreement": {k: {"same": v[0], "calls": v[1]} for k, v in agreement.items()}},
        indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _outcomes(card: object) -> dict[str, str]:
    items = card.items  # type: ignore[attr-defined]
    return dict(zip(items.item_id, items.outcome, strict=True))


def _agreement(rows: list[dict]) -> dict[str, tuple[int, int]]:
    counts: dict[str, list[int]] = {}
    for row in rows:
        for item, truth in row["script_outcomes"].items():
            same = row["asr_outcomes"].get(item) == truth
            counts.setdefault(item, [0, 0])
            counts[item][0] += same
            counts[item][1] += 1
    return {item: (same, n) for item, (same, n) in counts.items()}


if __name__ == "__main__":
    main()
