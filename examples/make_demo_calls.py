#!/usr/bin/env python3
"""Generate the synthetic demo calls: stereo Ogg/Opus recordings, ground truth and a manifest.

Reads every hand-written call script ``examples/scripts/<call_id>.json`` (the project's
transcript JSON plus generation directives), speaks each turn with offline TTS, places the turns
on two channels (agent LEFT, customer RIGHT) by their ``pause_before`` directives, and writes:

* ``examples/calls/<call_id>.ogg``   stereo Opus, 16 kHz, agent left / customer right;
* ``examples/calls/<call_id>.json``  ground truth: the script with the realised ``start``/``end``
  of every turn (seconds, speech only, as placed in the audio), directives dropped;
* ``examples/manifest.csv``          one row per call, from each script's ``manifest`` directive.

Script directives: ``pause_before`` per turn (seconds of silence after the previous turn ends;
negative = this turn starts while the previous one is still speaking, i.e. overtalk) and
``manifest`` per call (that call's row of manifest.csv).

TTS is espeak-ng (Debian package ``espeak-ng``; nothing else from the system, no ffmpeg):
English with ``en-us`` voices, Mandarin as tone-numbered pinyin (pypinyin) spoken by
``cmn-latn-pinyin``, because the ``cmn`` voice reads Latin digits in tone numbers as English.
Python needs numpy, av (PyAV, bundled FFmpeg with libopus), pypinyin and jieba (all callqa
dependencies).

Deterministic: same scripts, same timings (and, with one espeak-ng/libopus build, same bytes).

    python examples/make_demo_calls.py              # everything
    python examples/make_demo_calls.py --only zh-dead-air
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import logging
import re
import subprocess
import sys
import wave
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import jieba
import numpy as np
from pypinyin import Style, lazy_pinyin

jieba.setLogLevel(logging.WARNING)

HERE = Path(__file__).resolve().parent
SCRIPTS_DIR = HERE / "scripts"
CALLS_DIR = HERE / "calls"
MANIFEST = HERE / "manifest.csv"
MANIFEST_COLUMNS = ("call_id", "audio_path", "layout", "language", "agent_id", "team", "queue",
                    "started_at", "customer_id", "customer_rating", "nps")
DIRECTIVES = ("pause_before",)  # per-turn keys that only steer generation

SAMPLE_RATE = 16_000
OPUS_BIT_RATE = 32_000  # stereo total; speech-only channels need no more
NOISE_DBFS = -55.0  # RMS of the background hiss, so silence is never digital zero
TAIL_S = 0.8  # silence after the last word
SAME_SPEAKER_GAP_S = 0.2  # a speaker never overlaps their own previous turn


@dataclass(frozen=True)
class Voice:
    espeak: str  # espeak-ng voice+variant
    speed: int  # words per minute (-s)
    pitch: int  # 0..99 (-p)
    gap: int  # extra pause between words, in 10 ms units (-g)
    peak_dbfs: float  # each turn is normalised to this peak level


VOICES: dict[tuple[str, str], Voice] = {
    ("zh", "agent"): Voice("cmn-latn-pinyin+Annie", 150, 50, 1, -4.0),
    ("zh", "customer"): Voice("cmn-latn-pinyin+Nguyen", 150, 50, 1, -6.0),
    ("en", "agent"): Voice("en-us+steph", 155, 50, 0, -4.0),
    ("en", "customer"): Voice("en-us+rob", 160, 40, 0, -6.0),
}
CHANNEL = {"agent": 0, "customer": 1}  # stereo_agent_left

# --- text to speakable form ------------------------------------------------------------------

_ZH_DIGITS = "零一二三四五六七八九"
# A number right before one of these is a quantity (五十五条, 二十元); anything else is read
# digit by digit (12315, order and phone numbers, years).
_ZH_COUNTED = set("元块倍天个件次条号分秒岁台单位张周月小")
_PUNCT_TO_ESPEAK = {"，": ",", "、": ",", "；": ",", "：": ",", "。": ".", "！": ".", "？": "?",
                    "…": ",", "—": ","}
_PINYIN = re.compile(r"[a-z]+[1-5]")
_EN_ONES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def zh_cardinal(n: int) -> str:
    """0 <= n < 10000 as a Chinese numeral: 55 → 五十五, 105 → 一百零五, 20 → 二十."""
    if n == 0:
        return "零"
    out, zero_pending = "", False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit = n // value % 10
        if digit == 0:
            zero_pending = bool(out)
            continue
        if zero_pending:
            out += "零"
            zero_pending = False
        out += ("" if (digit == 1 and unit == "十" and not out) else _ZH_DIGITS[digit]) + unit
    return out


def zh_numbers(text: str) -> str:
    """Arabic numbers → how a Mandarin speaker reads them aloud."""

    def spoken(match: re.Match[str]) -> str:
        digits, after = match.group(0), text[match.end(): match.end() + 1]
        if len(digits) <= 4 and after in _ZH_COUNTED:
            if digits == "2" and after != "号" and text[match.start() - 1: match.start()] != "第":
                return "两"
            return zh_cardinal(int(digits))
        return "".join(_ZH_DIGITS[int(d)] for d in digits)

    return re.sub(r"\d+", spoken, text)


def zh_to_pinyin(text: str) -> str:
    """Hanzi → tone-numbered pinyin for ``cmn-latn-pinyin``; punctuation kept as pauses.

    The syllables of a word (jieba) are written together (``gao1xing4``), which gives espeak
    word stress and sandhi instead of one isolated syllable after another; Whisper recognises
    that markedly better.
    """
    text = zh_numbers(text)
    # Pinyin from the whole sentence (pypinyin picks polyphone readings from its context), then
    # grouped by jieba's words; a non-hanzi run comes back as one item of its own length.
    per_char: list[str] = []
    for item in lazy_pinyin(text, style=Style.TONE3, neutral_tone_with_five=True):
        per_char.extend([item] if _PINYIN.fullmatch(item) else list(item))
    if len(per_char) != len(text):  # e.g. a syllable outside plain a-z (ê): spell it out
        raise ValueError(f"cannot align pinyin with {text!r}")
    out: list[str] = []
    position = 0
    for word in jieba.lcut(text):
        items, position = per_char[position: position + len(word)], position + len(word)
        if all(_PINYIN.fullmatch(s) for s in items):
            out.append("".join(items))
            continue
        for item in items:  # punctuation (Latin letters and the like are dropped)
            if _PINYIN.fullmatch(item):
                out.append(item)
            elif (mark := _PUNCT_TO_ESPEAK.get(item)) and out and out[-1] not in ",.?":
                out.append(mark)
    return re.sub(r" ([,.?])", r"\1", " ".join(out))


def en_speakable(text: str) -> str:
    """Read numbers of three or more digits digit by digit, as people read order numbers."""
    return re.sub(r"\d{3,}", lambda m: " ".join(_EN_ONES[int(d)] for d in m.group(0)), text)


def speakable(text: str, language: str) -> str:
    return zh_to_pinyin(text) if language == "zh" else en_speakable(text)


# --- TTS and signal helpers --------------------------------------------------------------------


def espeak(text: str, voice: Voice) -> np.ndarray:
    """Speak ``text``; 16 kHz float32, leading/trailing silence trimmed."""
    command = ["espeak-ng", "-v", voice.espeak, "-s", str(voice.speed), "-p", str(voice.pitch),
               "-g", str(voice.gap), "--stdout", text]
    wav = subprocess.run(command, capture_output=True, check=True).stdout
    with wave.open(io.BytesIO(wav)) as reader:
        rate = reader.getframerate()
        pcm = np.frombuffer(reader.readframes(reader.getnframes()), dtype=np.int16)
    samples = trim(resample(pcm, rate))
    peak = float(np.abs(samples).max())
    return samples * (10 ** (voice.peak_dbfs / 20) / peak) if peak > 0 else samples


def resample(pcm: np.ndarray, rate: int) -> np.ndarray:
    """int16 mono at ``rate`` → float32 at 16 kHz with FFmpeg's resampler (via PyAV)."""
    frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate = rate
    resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
    frames = [*resampler.resample(frame), *resampler.resample(None)]
    return np.concatenate([f.to_ndarray()[0] for f in frames]).astype(np.float32)


def trim(samples: np.ndarray, threshold: float = 10 ** (-50 / 20)) -> np.ndarray:
    loud = np.flatnonzero(np.abs(samples) > threshold)
    if loud.size == 0:
        return samples[:0]
    margin = SAMPLE_RATE // 100  # keep 10 ms around the speech
    return samples[max(0, loud[0] - margin): loud[-1] + margin]


def write_opus(path: Path, stereo: np.ndarray) -> None:
    """(2, n) float32 at 16 kHz → Ogg/Opus, bit-exact container (fixed stream serial)."""
    with av.open(str(path), "w", format="ogg", options={"fflags": "+bitexact"}) as container:
        stream = container.add_stream("libopus", rate=SAMPLE_RATE, layout="stereo")
        stream.bit_rate = OPUS_BIT_RATE
        stream.codec_context.options = {"application": "voip"}
        interleaved = np.ascontiguousarray(stereo.T, dtype=np.float32).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(interleaved, format="flt", layout="stereo")
        frame.sample_rate = SAMPLE_RATE
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


# --- one call ------------------------------------------------------------------------------------


def render(script: dict[str, Any]) -> tuple[np.ndarray, dict[str, Any]]:
    """Speak and place every turn; return the stereo signal and the ground-truth document."""
    language = script["language"]
    placed: list[tuple[int, int, np.ndarray]] = []  # (channel, first sample, audio)
    turns: list[dict[str, Any]] = []
    prev_end = 0.0
    speaker_end: dict[str, float] = {}
    for turn in script["turns"]:
        speaker = turn["speaker"]
        audio = espeak(speakable(turn["text"], language), VOICES[language, speaker])
        start = max(0.0, prev_end + float(turn.get("pause_before", 0.5)))
        if speaker in speaker_end:  # one voice per channel: never over its own last turn
            start = max(start, speaker_end[speaker] + SAME_SPEAKER_GAP_S)
        first = round(start * SAMPLE_RATE)
        start, end = first / SAMPLE_RATE, (first + len(audio)) / SAMPLE_RATE
        placed.append((CHANNEL[speaker], first, audio))
        prev_end = speaker_end[speaker] = end
        truth = {k: v for k, v in turn.items() if k not in DIRECTIVES}
        turns.append({**truth, "start": round(start, 3), "end": round(end, 3)})
    length = max(first + len(audio) for _, first, audio in placed) + round(TAIL_S * SAMPLE_RATE)
    stereo = np.zeros((2, length), dtype=np.float32)
    for channel, first, audio in placed:
        stereo[channel, first: first + len(audio)] += audio
    rng = np.random.default_rng(zlib.crc32(script["call_id"].encode()))
    stereo += rng.normal(0.0, 10 ** (NOISE_DBFS / 20), stereo.shape).astype(np.float32)
    truth_doc = {k: v for k, v in script.items() if k not in ("turns", "manifest")}
    return np.clip(stereo, -1.0, 1.0), {**truth_doc, "turns": turns}


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def to_json(doc: dict[str, Any]) -> str:
    """Readable JSON: one line per top-level key and one per turn."""
    lines = [f"  {_dump(k)}: {_dump(v)}" for k, v in doc.items() if k != "turns"]
    turns = ",\n".join(f"    {_dump(t)}" for t in doc["turns"])
    return "{\n" + ",\n".join([*lines, f'  "turns": [\n{turns}\n  ]']) + "\n}\n"


def manifest_row(script: dict[str, Any]) -> dict[str, str]:
    meta = script.get("manifest", {})
    row = {column: "" if meta.get(column) is None else str(meta.get(column))
           for column in MANIFEST_COLUMNS}
    row.update(call_id=script["call_id"], audio_path=f"calls/{script['call_id']}.ogg",
               layout="stereo_agent_left", language=script["language"])
    return row


def load_scripts() -> list[dict[str, Any]]:
    scripts = []
    for path in sorted(SCRIPTS_DIR.glob("*.json")):
        script = json.loads(path.read_text(encoding="utf-8"))
        if script.get("call_id") != path.stem:
            sys.exit(f"{path}: call_id {script.get('call_id')!r} does not match the file name")
        scripts.append(script)
    return scripts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", metavar="CALL_ID", action="append",
                        help="regenerate only this call (repeatable); the manifest is always full")
    args = parser.parse_args(argv)
    scripts = load_scripts()
    unknown = set(args.only or []) - {s["call_id"] for s in scripts}
    if unknown:
        sys.exit(f"no script for {sorted(unknown)} in {SCRIPTS_DIR}")
    CALLS_DIR.mkdir(exist_ok=True)
    for script in scripts:
        if args.only and script["call_id"] not in args.only:
            continue
        stereo, truth = render(script)
        audio_path = CALLS_DIR / f"{script['call_id']}.ogg"
        write_opus(audio_path, stereo)
        (CALLS_DIR / f"{script['call_id']}.json").write_text(to_json(truth), encoding="utf-8")
        print(f"{audio_path.relative_to(HERE)}: {stereo.shape[1] / SAMPLE_RATE:5.1f} s, "
              f"{len(truth['turns'])} turns, {audio_path.stat().st_size / 1024:.0f} KiB")
    with open(MANIFEST, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=MANIFEST_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(manifest_row(s) for s in scripts)
    print(f"{MANIFEST.relative_to(HERE)}: {len(scripts)} calls")


if __name__ == "__main__":
    main()
