"""Role assignment (pipeline.speakers.roles) on the validation dialogues: accuracy, calibration,
robustness, a stress test harder than real chat text, swapped-channel detection, demo scripts,
cost.

    .venv/bin/python bench/roles.py [--data ../shared/data] [--out bench/results/roles.json]

Validation = ``split_of(group) == "validation"``: dialogues the model and its thresholds never
saw. Speaker labels are hidden: parties become S1/S2 in order of appearance.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import platform
import random
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from pypinyin import lazy_pinyin

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.speakers.roles import (  # noqa: E402
    PartyTurn,
    RoleAssignment,
    RoleModel,
    assign_roles,
    bundled_model,
    check_declared,
)
from pipeline.training.roles import Dialogue, load_dialogues, noisy  # noqa: E402

SOURCES = ("stc3_zh", "stc3_en", "musied_call", "musied_chat", "mobilecs")
THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999)
MIN_ROLE = 0.9  # the thresholds recommended in models/roles.md
SWAP = 0.98
BINS = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999, 1.0001)


def anonymous(d: Dialogue) -> tuple[list[PartyTurn], dict[str, str]]:
    """S1/S2 in order of appearance; returns the turns and the true role of each name."""
    names: dict[str, str] = {}
    for t in d.turns:
        names.setdefault(t.party, f"S{len(names) + 1}")
    turns = [dataclasses.replace(t, party=names[t.party]) for t in d.turns]
    return turns, {v: k for k, v in names.items()}


def transform(d: Dialogue, text: Callable[[str], str] | None = None,
              first: int | None = None) -> Dialogue:
    turns = list(d.turns[:first] if first else d.turns)
    if text is not None:
        turns = [dataclasses.replace(t, text=text(t.text)) for t in turns]
    return dataclasses.replace(d, turns=tuple(turns))


def homophones(dialogues: Sequence[Dialogue]) -> Callable[[str, random.Random, float], str]:
    """Mandarin ASR-like noise: each Han character replaced, with probability ``rate``, by a
    character of the same toneless pinyin seen in ``dialogues`` ("订单号" -> "顶贪号"), after
    punctuation is dropped and 3 % of characters are deleted."""
    chars = sorted({c for d in dialogues for t in d.turns for c in t.text
                    if "\u4e00" <= c <= "\u9fff"})
    sound = {c: lazy_pinyin(c)[0] for c in chars}
    groups: dict[str, list[str]] = defaultdict(list)
    for char in chars:
        groups[sound[char]].append(char)

    def change(text: str, rng: random.Random, rate: float) -> str:
        return "".join(rng.choice(groups[sound[c]]) if c in sound and rng.random() < rate
                       else c for c in noisy(text, rng, 0.03))
    return change


def outcomes(dialogues: Sequence[Dialogue], model: RoleModel) -> list[dict]:
    rows = []
    for d in dialogues:
        turns, truth = anonymous(d)
        if len(truth) < 2:  # first-N cuts can leave one party: counted apart
            rows.append({"source": d.source, "right": None, "confidence": 0.0})
            continue
        found = assign_roles(turns, d.language, d.medium, model)
        right = all(found.roles[name] == role for name, role in truth.items())
        rows.append({"source": d.source, "right": right, "confidence": found.confidence})
    return rows


def summary(rows: list[dict], threshold: float = MIN_ROLE) -> dict:
    scored = [r for r in rows if r["right"] is not None]
    known = [r for r in scored if r["confidence"] >= threshold]
    return {
        "n": len(scored),
        "one_party": len(rows) - len(scored),
        "accuracy": _ratio(sum(r["right"] for r in scored), len(scored)),
        "uncertain": _ratio(len(scored) - len(known), len(scored)),
        "known_accuracy": _ratio(sum(r["right"] for r in known), len(known)),
        "known_wrong": sum(not r["right"] for r in known),
    }


def by_source(rows: list[dict], threshold: float = MIN_ROLE) -> dict:
    out = {s: summary([r for r in rows if r["source"] == s], threshold) for s in SOURCES}
    out["all"] = summary(rows, threshold)
    return out


def reliability(rows: list[dict]) -> list[dict]:
    scored = [r for r in rows if r["right"] is not None]
    out = []
    for low, high in itertools.pairwise(BINS):
        inside = [r for r in scored if low <= r["confidence"] < high]
        if inside:
            out.append({"bin": f"[{low}, {min(high, 1.0)}]", "n": len(inside),
                        "mean_confidence": round(statistics.mean(r["confidence"]
                                                                 for r in inside), 4),
                        "accuracy": _ratio(sum(r["right"] for r in inside), len(inside))})
    return out


def swap_check(dialogues: Sequence[Dialogue], model: RoleModel) -> dict:
    result = {}
    for layout in ("correct", "swapped"):
        counts = {"holds": 0, "swapped": 0, "uncertain": 0}
        for d in dialogues:
            flip = {"agent": "customer", "customer": "agent"}
            turns = [t if layout == "correct" else dataclasses.replace(t, party=flip[t.party])
                     for t in d.turns]
            found = check_declared(turns, d.language, d.medium, model)
            counts[_verdict(found)] += 1
        n = len(dialogues)
        result[layout] = {k: _ratio(v, n) for k, v in counts.items()} | {"n": n}
    return result


def _verdict(found: RoleAssignment) -> str:
    if len(found.roles) < 2:
        return "uncertain"
    if found.swapped:
        return "swapped" if found.confidence >= SWAP else "uncertain"
    return "holds" if found.confidence >= MIN_ROLE else "uncertain"


def demos(model: RoleModel) -> dict:
    out = {}
    for path in sorted((ROOT / "examples" / "scripts").glob("*.json")):
        script = json.loads(path.read_text(encoding="utf-8"))
        declared = [PartyTurn(t["speaker"], t["text"]) for t in script["turns"]
                    if t["speaker"] in ("agent", "customer")]
        names = {"agent": "S2", "customer": "S1"}  # the agent is *not* S1 here
        anon = [dataclasses.replace(t, party=names[t.party]) for t in declared]
        found = assign_roles(anon, script["language"], "call", model)
        check = check_declared(declared, script["language"], "call", model)
        swapped = check_declared(
            [dataclasses.replace(t, party="customer" if t.party == "agent" else "agent")
             for t in declared], script["language"], "call", model)
        out[path.stem] = {
            "right": found.roles.get("S2") == "agent", "confidence": round(found.confidence, 4),
            "known": found.confidence >= MIN_ROLE,
            "correct_layout": _verdict(check), "swapped_layout": _verdict(swapped),
            "as_untrained_language": round(assign_roles(anon, "id", "call", model).confidence,
                                           4),
        }
    return out


def cost(dialogues: Sequence[Dialogue], model: RoleModel) -> dict:
    times = []
    for d in dialogues:
        turns, _ = anonymous(d)
        start = time.perf_counter()
        assign_roles(turns, d.language, d.medium, model)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return {"median_ms": round(statistics.median(times), 3),
            "p95_ms": round(times[int(0.95 * (len(times) - 1))], 3),
            "max_ms": round(times[-1], 3),
            "mean_turns": round(statistics.mean(len(d.turns) for d in dialogues), 1)}


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 4) if b else None


def _line(name: str, s: dict) -> str:
    def pct(v: float | None) -> str:
        return "   -  " if v is None else f"{100 * v:6.2f}"

    return (f"  {name:<12} n={s['n']:4d}  acc {pct(s['accuracy'])}%  uncertain "
            f"{pct(s['uncertain'])}%  known acc {pct(s['known_accuracy'])}%  "
            f"known wrong {s['known_wrong']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "roles.json")
    args = parser.parse_args()
    started = time.perf_counter()
    load_start = time.perf_counter()
    model = bundled_model()
    load_ms = (time.perf_counter() - load_start) * 1000
    results: dict = {"machine": f"{platform.machine()}, Python {platform.python_version()}",
                     "model": {k: model.meta.get(k) for k in ("sha256", "size", "ngrams",
                                                              "party_weights", "trained_on")},
                     "load_ms": round(load_ms, 1), "thresholds": {"min_role_confidence":
                                                                 MIN_ROLE,
                                                                 "swap_confidence": SWAP}}
    validation = [d for d in load_dialogues(args.data) if d.split == "validation"]
    if not validation:
        print(f"no data under {args.data}: only the demo scripts are checked")
    else:
        rows = outcomes(validation, model)
        results["validation"] = by_source(rows)
        results["reliability"] = reliability(rows)
        results["threshold_sweep"] = {str(t): summary(rows, t) for t in THRESHOLDS}
        print(f"validation dialogues, labels hidden (min_role_confidence {MIN_ROLE}):")
        for name, s in results["validation"].items():
            print(_line(name, s))
        print("reliability (all sources):")
        for b in results["reliability"]:
            print(f"  {b['bin']:<16} n={b['n']:4d}  mean conf {b['mean_confidence']:.4f}  "
                  f"accuracy {b['accuracy']:.4f}")
        print("threshold sweep (all sources):")
        for t, s in results["threshold_sweep"].items():
            print(_line(f">= {t}", s))
        behaviour_off = dataclasses.replace(
            model, party_weights=model.party_weights * np.array([1, 0, 0, 1, 1, 1]))
        results["content_only_accuracy"] = by_source(outcomes(validation, behaviour_off))
        print("content only (first-speaker weights zeroed, not recalibrated):")
        print(_line("all", results["content_only_accuracy"]["all"]))

        rng = random.Random(7)
        variants: dict[str, Callable[[Dialogue], Dialogue]] = {
            "first_2_turns": lambda d: transform(d, first=2),
            "first_4_turns": lambda d: transform(d, first=4),
            "first_6_turns": lambda d: transform(d, first=6),
            "no_punctuation": lambda d: transform(d, lambda s: noisy(s, rng, 0.0)),
            "asr_noise_5pct": lambda d: transform(d, lambda s: noisy(s, rng, 0.05)),
            "asr_noise_15pct": lambda d: transform(d, lambda s: noisy(s, rng, 0.15)),
        }
        results["robustness"] = {}
        print("robustness:")
        for name, change in variants.items():
            changed = [change(d) for d in validation]
            results["robustness"][name] = by_source(outcomes(changed, model))
            print(f" {name}")
            for source, s in results["robustness"][name].items():
                print(_line(source, s))

        # Harder than any source: where do wrong answers start, and are the low bins honest?
        change = homophones(validation)
        results["stress"] = {}
        print("stress (homophones 30 %, first N turns): known-wrong by threshold")
        for first in (4, 6):
            changed = [transform(d, lambda s: change(s, rng, 0.3), first=first)
                       for d in validation]
            rows = outcomes(changed, model)
            name = f"homophones_30pct_first_{first}_turns"
            sweep = {str(t): summary(rows, t) for t in THRESHOLDS}
            results["stress"][name] = {"threshold_sweep": sweep,
                                       "reliability": reliability(rows)}
            print(f"  {name}: " + ", ".join(
                f"{t}: {s['known_wrong']}" for t, s in sweep.items()))

        results["swap"] = {"clean": swap_check(validation, model),
                           "asr_noise_5pct": swap_check(
                               [variants["asr_noise_5pct"](d) for d in validation], model),
                           "first_4_turns": swap_check(
                               [variants["first_4_turns"](d) for d in validation], model)}
        print(f"declared layouts (swap_confidence {SWAP}):")
        for name, s in results["swap"].items():
            c, w = s["correct"], s["swapped"]
            print(f"  {name:<16} correct: swapped {c['swapped']:.4f} uncertain "
                  f"{c['uncertain']:.4f} | swapped: detected {w['swapped']:.4f} uncertain "
                  f"{w['uncertain']:.4f} missed {w['holds']:.4f}  (n={c['n']})")
        results["cost"] = cost(validation, model)
        print(f"cost per dialogue: {results['cost']}; model load {load_ms:.0f} ms")

    results["demos"] = demos(model)
    right = sum(v["right"] and v["known"] for v in results["demos"].values())
    flipped = sum(v["correct_layout"] == "swapped" for v in results["demos"].values())
    caught = sum(v["swapped_layout"] == "swapped" for v in results["demos"].values())
    n = len(results["demos"])
    print(f"demo scripts: {right}/{n} right and known, {flipped}/{n} correct layouts called "
          f"swapped, {caught}/{n} swapped layouts caught; as untrained language max conf "
          f"{max((v['as_untrained_language'] for v in results['demos'].values()), default=0)}")
    results["wall_s"] = round(time.perf_counter() - started, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n",
                        encoding="utf-8")
    print(f"wrote {args.out} ({results['wall_s']} s)")


if __name__ == "__main__":
    main()
