"""Choose each item's ``similar_to`` threshold (and label ``min_prob``) on the tune half.

For every item of the default rubrics that has ``similar_to`` parts (or ``label`` parts), the
item is re-judged on the *tune* half of the hand-labelled dialogues with each candidate
threshold (all such parts of the item at once) and its agreement with the supervisor labels is
reported; the best value is what the rubric should say. Where several values tie, the middle
one of them: a flat stretch means the labelled dialogues cannot tell those values apart. The
test half is never read.

    python bench/tune_similarity.py [--language zh|en] [--item ID]
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from agreement import System, _agreement  # noqa: E402
from labelled_dialogues import adjudicated_labels, evaluation_set  # noqa: E402

from pipeline.conversation import measure, turns_from_document  # noqa: E402
from pipeline.models.sentence import similarity_space  # noqa: E402
from pipeline.rubric import from_dict, judge, resolve_path  # noqa: E402
from pipeline.rubric.conditions import CallContext  # noqa: E402

SIMILARITY_GRID = [round(0.40 + 0.04 * i, 2) for i in range(14)]  # 0.40 … 0.92
PROBABILITY_GRID = [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]


def _set(node: Any, key: str, value: float) -> int:
    """Set ``key`` on every condition of ``node`` that has its test; how many were set."""
    count = 0
    if isinstance(node, dict):
        test = "similar_to" if key == "min_similarity" else "label"
        if test in node:
            node[key] = value
            count += 1
        for child in node.values():
            count += _set(child, key, value)
    elif isinstance(node, list):
        for child in node:
            count += _set(child, key, value)
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--language", choices=("zh", "en"), action="append")
    parser.add_argument("--item", action="append")
    args = parser.parse_args()
    labels = adjudicated_labels()
    system = System(None, similarity_space())
    for language in args.language or ["zh", "en"]:
        raw = yaml.safe_load(resolve_path(f"ecommerce-{language}").read_text(encoding="utf-8"))
        dialogues = [d for d in evaluation_set() if d.key in labels and d.half == "tune"
                     and d.language == language]
        prepared = []  # each dialogue's context, built once: only the item is judged again
        for d in dialogues:
            turns = turns_from_document(d.document())
            metrics = measure(turns, language, None)
            prepared.append((d, CallContext(d.key, language, turns, metrics,
                                            system.classifier.label_frame(turns),
                                            system.similarity)))
        print(f"# {language}: {len(prepared)} tune dialogues")
        for item in raw["items"]:
            if args.item and item["id"] not in args.item:
                continue
            for key, grid in (("min_similarity", SIMILARITY_GRID),
                              ("min_prob", PROBABILITY_GRID)):
                results = []
                for value in grid:
                    data = copy.deepcopy(raw)
                    target = next(i for i in data["items"] if i["id"] == item["id"])
                    if not _set(target, key, value):
                        break
                    judged = next(i for i in from_dict(data).items if i.id == item["id"])
                    pairs = [(labels[d.key]["items"].get(item["id"], "na"),
                              judge(judged, ctx).outcome) for d, ctx in prepared]
                    results.append((value, _agreement(pairs)))
                if not results:
                    continue
                top = max(r[1]["agreement"] or 0 for r in results)
                tied = [r for r in results if (r[1]["agreement"] or 0) == top]
                best = tied[len(tied) // 2]
                row = "  ".join(f"{v:g}:{r['agreement']:.3f}" for v, r in results)
                print(f"{item['id']:26} {key:15} best {best[0]:g} "
                      f"({best[1]['agreement']:.3f})  {row}", flush=True)


if __name__ == "__main__":
    main()
