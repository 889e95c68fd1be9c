"""Classifier cost against the issue's budgets, on this machine (2 cores).

1. Per demo call: transcription time (base model, no cache) vs the time to classify all of
   that call's utterances with the champion (fresh caches). Budget: ≤ 10 % of ASR time.
2. Retraining: a challenger trained from scratch (cold feature cache) on ~10k samples with the
   configured method. Budget: ≤ 20 minutes.

    python bench/classify.py [--retrain-rows 10000] [--skip-retrain] [--out FILE.json]
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

from pipeline.asr import TranscribeOptions, Transcriber  # noqa: E402
from pipeline.classify import UtteranceClassifier  # noqa: E402
from pipeline.config import Settings, get_settings  # noqa: E402
from pipeline.conversation import turns_from_document  # noqa: E402
from pipeline.models.base import resolve_base  # noqa: E402
from pipeline.models.encoder import Encoder  # noqa: E402
from pipeline.models.registry import registry_for  # noqa: E402
from pipeline.training.datasets import build_all  # noqa: E402
from pipeline.training.train import train_model  # noqa: E402
from pipeline.transcript import from_transcription  # noqa: E402


def per_call(settings: Settings) -> list[dict]:
    model = registry_for(settings).load_champion("utterance")
    if model is None:
        raise SystemExit("no champion utterance model")
    fresh = Settings(home=Path(tempfile.mkdtemp(prefix="callqa-bench-")),
                     classify=settings.classify)
    (fresh.home / "models").symlink_to(settings.model_dir, target_is_directory=True)
    transcriber = Transcriber(fresh)
    classifier = UtteranceClassifier(model, settings.model_dir)  # no caches at all
    classifier.classify(["预热"], ["customer"])  # load the encoder once, as a worker would
    rows = []
    for audio in sorted((ROOT / "examples" / "calls").glob("*.ogg")):
        options = TranscribeOptions.from_settings(fresh, language=audio.stem[:2])
        tick = time.perf_counter()
        result = transcriber.transcribe_file(audio, audio.stem, options)
        asr_s = time.perf_counter() - tick
        turns = turns_from_document(from_transcription(result))
        tick = time.perf_counter()
        classifier.label_frame(turns)
        classify_s = time.perf_counter() - tick
        rows.append({"call": audio.stem, "utterances": len(turns), "asr_s": round(asr_s, 2),
                     "classify_s": round(classify_s, 3),
                     "share": round(classify_s / asr_s, 4)})
        print(rows[-1], flush=True)
    return rows


def retrain(settings: Settings, rows: int, data: Path) -> dict:
    samples = build_all(data, task="utterance")
    texts = samples["text"].drop_duplicates().sample(frac=1.0, random_state=3)
    keep = set(texts.head(rows))
    subset = samples[samples["text"].isin(keep)]
    config = settings.classify
    encoder = Encoder(resolve_base(config.base, settings.model_dir), config.layer,
                      config.max_length, cache_dir=Path(tempfile.mkdtemp()) / "features")
    tick = time.perf_counter()
    result = train_model(subset, "utterance", config.method, "bench-retrain", encoder)
    seconds = time.perf_counter() - tick
    report = {"unique_texts": len(keep), "rows": len(subset), "method": config.method,
              "layer": config.layer, "seconds": round(seconds, 1),
              "feature_seconds": result.card["feature_seconds"],
              "budget_s": 1200, "ratio_to_budget": round(seconds / 1200, 3)}
    print(report, flush=True)
    return report


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--retrain-rows", type=int, default=10_000)
    parser.add_argument("--skip-retrain", action="store_true")
    parser.add_argument("--skip-calls", action="store_true")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/classify.json")
    args = parser.parse_args()
    settings = get_settings()
    report: dict = {"machine": "2 CPU cores, no GPU", "method": settings.classify.method}
    if not args.skip_calls:
        calls = per_call(settings)
        report["calls"] = calls
        report["max_share"] = max(c["share"] for c in calls)
        report["total_share"] = round(sum(c["classify_s"] for c in calls)
                                      / sum(c["asr_s"] for c in calls), 4)
    if not args.skip_retrain:
        report["retrain"] = retrain(settings, args.retrain_rows, args.data)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
