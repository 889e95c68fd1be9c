"""The centre of the ``similar_to`` space: the mean sentence vector of ordinary service dialogues.

    python -m pipeline.training.similarity [--data ../shared/data] [--out models/similarity]

Sentences (cut as ``similar_to`` cuts turns) of both parties from the *training* dialogues of
STC-3 zh and en, MUSIED calls and chats and MobileCS (``split_of``), drawn with a fixed seed.
Subtracting their mean from every vector removes what all service sentences share, so the
cosine between two sentences says how alike they are *as service sentences*.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

from pipeline.models.sentence import SentenceEncoder, write_center
from pipeline.text import sentence_spans
from pipeline.training.roles import load_dialogues

SAMPLE = 4000
SEED = 16


def centre_sentences(data: Path, sample: int = SAMPLE, seed: int = SEED) -> list[str]:
    pool = []
    for dialogue in load_dialogues(data):
        if dialogue.split != "train":
            continue
        for turn in dialogue.turns:
            pool.extend(turn.text[a:b] for a, b in sentence_spans(turn.text))
    pool = sorted(set(pool))
    random.Random(seed).shuffle(pool)
    return pool[:sample]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=Path("models/similarity"))
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    texts = centre_sentences(args.data)
    vectors = SentenceEncoder(args.threads).encode(texts)
    write_center(args.out, vectors.mean(axis=0), len(texts),
                 "training-split sentences of STC-3 zh/en, MUSIED, MobileCS "
                 f"(seed {SEED})")
    print(f"centre of {len(texts)} sentences written to {args.out}")


if __name__ == "__main__":
    main()
