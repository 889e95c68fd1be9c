"""Hand-labelled complaint categories: which real dialogues were drawn, and their labels.

MUSIED is nearly all product quality, so the users' other categories need labelled data. The
dialogues are drawn from ../shared/data (STC-3 zh, MUSIED calls and chats, MobileCS) and
stratified by a broad keyword *guess* of their category (``GUESSES``, wider and looser than
anything the model uses), so that rare categories get enough rows; the label itself is a
person's reading of the whole dialogue (``bench/labels/agreement/GUIDE.md``, "Call outcomes").

- ``train``: dialogues of the project's *training* split; the category and complaint heads
  (``pipeline.training.outcomes``) learn from them. Labels in
  ``models/outcome_labels/*.jsonl``.
- ``eval``: dialogues of the *validation* split that are not in the agreement set; with the
  agreement set's own labels they measure per-category precision and recall
  (``bench/agreement.py``). Labels in ``bench/labels/category/*.jsonl``.

STC-3 en translates STC-3 zh: only zh is drawn; a zh label also holds for its translation.

    python bench/category_dialogues.py --dump DIR   # the dialogues as text, for labelling
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from labelled_dialogues import (  # noqa: E402
    DATA,
    LabelledDialogue,
    _hash,
    evaluation_set,
    validation_dialogues,
)

from pipeline.training.datasets import split_of  # noqa: E402
from pipeline.training.roles import load_dialogues  # noqa: E402

TRAIN_LABELS = ROOT / "models" / "outcome_labels"
EVAL_LABELS = ROOT / "bench" / "labels" / "category"
SOURCES = ("stc3_zh", "musied_call", "musied_chat", "mobilecs")
# A broad guess from the customer's words, only to stratify the draw (first match wins).
GUESSES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("logistics_delay", re.compile(r"快递|物流|发货|配送|送到|到货|没收到|派送|签收|运单|包裹|"
                                   r"送货|还没到|迟迟|餐凉|超时|送餐|骑手")),
    ("service_attitude", re.compile(r"态度|骂|不理|敷衍|没人回|没人理|不回复|不回答|爱理不理|"
                                    r"服务差|服务太差|什么服务|推脱|推卸|踢皮球|挂我电话")),
    ("price_dispute", re.compile(r"扣费|扣钱|扣了|话费|资费|收费|费用|价格|价钱|差价|保价|降价|"
                                 r"优惠|返现|多扣|账单|流量费|关税|税费|运费|多收|贵了|涨价|"
                                 r"积分|红包|券")),
    ("after_sales", re.compile(r"退货|退款|换货|维修|保修|售后|返修|退回|取消订单|退订|"
                               r"换一个|换新|检测")),
    ("product_quality", re.compile(r"质量|坏了|故障|不能用|没信号|信号|死机|黑屏|破损|异物|"
                                   r"不新鲜|变质|头发|虫|网络|卡顿|闪退|打不开|充不进")),
)
# Per round of training labels: the second asks for more of the categories the first was short
# of, from dialogues the first did not draw; the third takes every dialogue left (None).
TRAIN_QUOTAS = ({"service_attitude": 90, "price_dispute": 110, "logistics_delay": 110,
                 "after_sales": 100, "product_quality": 70, "none": 60},
                {"service_attitude": 130, "price_dispute": 80, "logistics_delay": 110,
                 "after_sales": 140, "product_quality": 60, "none": 130},
                None)
EVAL_QUOTA = {"service_attitude": 35, "price_dispute": 35, "logistics_delay": 35,
              "after_sales": 35, "product_quality": 20, "none": 20}


def guess(d: LabelledDialogue) -> str:
    text = " ".join(t for who, t in d.turns if who == "customer")
    return next((name for name, cue in GUESSES if cue.search(text)), "none")


def _pool(split: str, data: Path) -> list[LabelledDialogue]:
    if split == "validation":
        taken = {d.key.split(":", 1)[1] for d in evaluation_set(data)}
        return [d for d in validation_dialogues(data)
                if d.source in SOURCES and d.key.split(":", 1)[1] not in taken]
    out = []
    for d in load_dialogues(data):
        if d.source in SOURCES and split_of(d.group) == "train":
            out.append(LabelledDialogue(f"{d.source}:{d.group.split(':', 1)[1]}", d.source,
                                        "random", d.language, d.medium,
                                        tuple((t.party, t.text) for t in d.turns), None))
    return out


def drawn(split: str, data: Path = DATA, round_: int = 1) -> list[LabelledDialogue]:
    """The dialogues drawn for ``split`` (``train`` or ``validation``) in training round
    ``round_`` (1-3; validation has one), in hash order per guess."""
    quota = TRAIN_QUOTAS[round_ - 1] if split == "train" else EVAL_QUOTA
    if quota is None:
        quota = dict.fromkeys(EVAL_QUOTA, 10**9)
    earlier = {d.key for r in range(1, round_) for d in drawn(split, data, r)}
    salt = f"category-{split}" + (f"-{round_}" if round_ > 1 else "")
    by_guess: dict[str, list[LabelledDialogue]] = {}
    for d in _pool(split, data):
        if d.key not in earlier:
            by_guess.setdefault(guess(d), []).append(d)
    out = []
    for name, n in quota.items():
        pool = sorted(by_guess.get(name, []), key=lambda d: _hash(salt, d.key))
        out.extend(pool[:n])
    return sorted(out, key=lambda d: _hash("category-order", d.key))


def _write(dialogues: list[LabelledDialogue], path: Path) -> None:
    lines = []
    for d in dialogues:
        lines.append(f"=== {d.key}  ({d.language}, {d.medium})")
        for n, (who, text) in enumerate(d.turns, 1):
            lines.append(f"[{n}] {'AGENT' if who == 'agent' else 'CUSTOMER'}: {text[:600]}")
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    print(f"{path.name}: {len(dialogues)} dialogues, {path.stat().st_size // 1000} kB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--dump", type=Path, required=True)
    parser.add_argument("--batches", type=int, default=4, help="training batches per round")
    parser.add_argument("--round", type=int, default=1, choices=(1, 2, 3))
    args = parser.parse_args()
    args.dump.mkdir(parents=True, exist_ok=True)
    train = drawn("train", args.data, args.round)
    for b in range(args.batches):
        _write(train[b::args.batches], args.dump / f"train_{args.round}_{b + 1}.txt")
    if args.round == 1:
        _write(drawn("validation", args.data), args.dump / "eval_1.txt")


if __name__ == "__main__":
    main()


def load_category_labels(directory: Path = EVAL_LABELS) -> dict[str, dict]:
    """The evaluation labels by key ({key, complaint, category, why}); a key labelled twice
    in ``directory`` (not its sub-folders: ``second/`` holds a second labeller's) is an error."""
    out: dict[str, dict] = {}
    for path in sorted(directory.glob("*.jsonl")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                record = json.loads(line)
                if record["key"] in out:
                    raise ValueError(f"{path.name}:{number}: {record['key']} is labelled twice")
                out[record["key"]] = record
    return out
