"""What judging by meaning costs: classifying and matching a call's utterances (the champion
classifier, ``similar_to``, the call outcome, the rubric) against its transcription, and per
turn on long real chat logs. Everything runs as the nightly Scorer runs it, on this machine.

1. Demo calls: transcription with an empty cache vs everything after it
   (``Scorer.score_transcribed``, in a fresh home: no cached predictions or features; the
   rubric's own example sentences are encoded once, as in a batch). Goal: ≤ 10 %.
2. Long real chat logs (the longest MUSIED validation dialogues; texts never seen before by
   the caches): milliseconds per turn. Goal: ≤ 20 ms per turn.

    python bench/meaning_cost.py [--chats 20] [--out bench/results/meaning_cost.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from labelled_dialogues import DATA, validation_dialogues  # noqa: E402
from scoring import transcribed_calls  # noqa: E402

from pipeline import transcript  # noqa: E402
from pipeline.batch.manifest import CallJob  # noqa: E402
from pipeline.batch.scorer import Scorer  # noqa: E402
from pipeline.config import Settings  # noqa: E402

GOAL_RATIO = 0.10
GOAL_MS_PER_TURN = 20.0


def _job(call_id: str, language: str) -> CallJob:
    return CallJob(call_id=call_id, source=Path(f"{call_id}.json"), language=language)


def demo_calls(scorer: Scorer) -> list[dict]:
    rows = []
    for call, result, asr_s in transcribed_calls(ROOT / "examples" / "manifest.csv"):
        document = transcript.from_transcription(result)
        started = time.perf_counter()
        scorer.score_transcribed(_job(call.call_id, result.language), document, {})
        after_s = time.perf_counter() - started
        rows.append({"call_id": call.call_id, "turns": len(document["turns"]),
                     "audio_s": round(result.audio.duration_s, 1),
                     "asr_s": round(asr_s, 2), "after_asr_s": round(after_s, 3),
                     "ratio": round(after_s / asr_s, 4)})
        print(f"{call.call_id:28s} asr {asr_s:6.2f}s  after {after_s:6.3f}s  "
              f"{100 * after_s / asr_s:5.1f}%", flush=True)
    return rows


def long_chats(scorer: Scorer, n: int) -> list[dict]:
    dialogues = [d for d in validation_dialogues(DATA) if d.source.startswith("musied")]
    dialogues.sort(key=lambda d: -len(d.turns))
    rows = []
    for d in dialogues[:n]:
        started = time.perf_counter()
        scorer.score_transcribed(_job(d.key.replace(":", "-"), d.language), d.document(), {})
        seconds = time.perf_counter() - started
        rows.append({"key": d.key, "turns": len(d.turns), "seconds": round(seconds, 3),
                     "ms_per_turn": round(1000 * seconds / len(d.turns), 2)})
        print(f"{d.key:28s} {len(d.turns):4d} turns  {1000 * seconds / len(d.turns):6.1f} "
              "ms/turn", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=20)
    parser.add_argument("--skip-demo", action="store_true")
    parser.add_argument("--out", type=Path,
                        default=ROOT / "bench" / "results" / "meaning_cost.json")
    args = parser.parse_args()
    home = tempfile.TemporaryDirectory()
    scorer = Scorer(Settings(home=Path(home.name)))
    warm = validation_dialogues(DATA)[0]
    scorer.score_transcribed(_job("warm-up", warm.language), warm.document(), {})  # loads
    report: dict = {}
    if not args.skip_demo:
        calls = demo_calls(scorer)
        total = sum(r["after_asr_s"] for r in calls) / sum(r["asr_s"] for r in calls)
        report["demo_calls"] = {"calls": calls, "overall_ratio": round(total, 4),
                                "worst_ratio": max(r["ratio"] for r in calls),
                                "goal_ratio": GOAL_RATIO}
        print(f"demo calls: after-ASR work {100 * total:.1f}% of transcription "
              f"(worst {100 * report['demo_calls']['worst_ratio']:.1f}%); goal ≤ 10%")
    if (DATA / "musied").is_dir():
        chats = long_chats(scorer, args.chats)
        turns = sum(r["turns"] for r in chats)
        per_turn = 1000 * sum(r["seconds"] for r in chats) / turns
        report["long_chats"] = {"dialogues": chats, "turns": turns,
                                "ms_per_turn": round(per_turn, 2),
                                "worst_ms_per_turn": max(r["ms_per_turn"] for r in chats),
                                "goal_ms_per_turn": GOAL_MS_PER_TURN}
        print(f"long chat logs: {per_turn:.1f} ms per turn over {turns} turns; goal ≤ 20 ms")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
