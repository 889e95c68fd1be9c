"""How fast does ``callqa`` start? ``--help`` and ``version`` against the 0.5 s target.

    .venv/bin/python bench/startup.py [--repeats 9] [--out bench/results/startup.json]

Each command runs as a fresh process (the console script of the running interpreter's
environment), after one untimed warm-up run so the file cache is hot; the table gives the
median and the fastest run, and the ratio of the median to the target.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 0.5
COMMANDS = (["--help"], ["version"])


def timed(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True,
                   env={**os.environ, "HF_HUB_OFFLINE": "1", "DO_NOT_TRACK": "1"})
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "startup.json")
    args = parser.parse_args()
    callqa = str(Path(sys.executable).with_name("callqa"))
    rows = []
    print(f"| command | median s | fastest s | median / {TARGET_S} s target |")
    print("|---|---:|---:|---:|")
    for command in COMMANDS:
        argv = [callqa, *command]
        timed(argv)  # warm-up
        runs = [timed(argv) for _ in range(args.repeats)]
        median = statistics.median(runs)
        rows.append({"command": " ".join(command), "median_s": round(median, 3),
                     "fastest_s": round(min(runs), 3),
                     "ratio_to_target": round(median / TARGET_S, 3),
                     "runs_s": [round(r, 3) for r in runs]})
        print(f"| callqa {' '.join(command)} | {median:.3f} | {min(runs):.3f} | "
              f"{median / TARGET_S:.2f} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"target_s": TARGET_S, "repeats": args.repeats,
                                    "cpus": os.cpu_count(), "results": rows}, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
