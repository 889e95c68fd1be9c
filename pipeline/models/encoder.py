"""Sentence features from a frozen transformer: mean-pooled hidden states of one layer.

The model is cut after the chosen layer (later layers are never run, so a middle layer is also
the cheaper one), texts are batched by length to waste little on padding, and the beginning-of-
sequence token is left out of the mean (its state is an attention sink, far larger than the
rest). Features are cached per text under the encoder's fingerprint, so retraining and scoring
the same utterances again cost nothing.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from pipeline.models.base import BaseCheckpoint
from pipeline.support import deadline
from pipeline.support.fsutil import atomic_open


class FeatureCache:
    """float16 vectors keyed by text hash, one ``.npz`` file per encoder fingerprint."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._index: dict[str, np.ndarray] = {}
        self._dirty = False
        if path.is_file():
            try:
                with np.load(path) as data:
                    self._index = dict(zip(data["keys"].tolist(), data["vectors"], strict=True))
            except (OSError, ValueError, KeyError):
                path.unlink(missing_ok=True)  # unreadable cache: start again

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha1(text.encode("utf-8")).hexdigest()

    def get(self, text: str) -> np.ndarray | None:
        return self._index.get(self.key(text))

    def put(self, text: str, vector: np.ndarray) -> None:
        self._index[self.key(text)] = vector.astype(np.float16)
        self._dirty = True

    def save(self) -> None:
        if not self._dirty:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = np.array(list(self._index))
        vectors = np.stack(list(self._index.values()))
        with atomic_open(self.path, "wb") as handle:
            np.savez(handle, keys=keys, vectors=vectors)
        self._dirty = False


class Encoder:
    def __init__(self, base: BaseCheckpoint, layer: int, max_length: int = 64, batch_size: int = 32,
                 cache_dir: Path | None = None, threads: int = 0) -> None:
        self.base = base
        self.layer = layer
        self.max_length = max_length
        self.batch_size = batch_size
        self.threads = threads or (os.cpu_count() or 1)
        self._model = None
        self._tokenizer = None
        self.cache = (FeatureCache(cache_dir / f"{_safe(self.fingerprint)}.npz")
                      if cache_dir is not None else None)

    @property
    def fingerprint(self) -> str:
        return f"{self.base.fingerprint}:L{self.layer}:T{self.max_length}:mean-nobos"

    @property
    def dim(self) -> int:
        self._load()
        return int(self._model.config.hidden_size)

    def _load(self) -> None:
        if self._model is not None:
            return
        import torch
        from transformers import AutoModel, AutoTokenizer

        torch.set_num_threads(self.threads)
        self._tokenizer = AutoTokenizer.from_pretrained(self.base.path)
        model = AutoModel.from_pretrained(self.base.path, dtype=torch.float32)
        text_model = getattr(model, "language_model", model)
        if self.layer < 1 or self.layer > len(text_model.layers):
            raise ValueError(f"layer {self.layer} outside 1..{len(text_model.layers)}")
        text_model.layers = text_model.layers[: self.layer]  # later layers are never needed
        text_model.config.num_hidden_layers = self.layer
        if hasattr(text_model.config, "layer_types"):
            text_model.config.layer_types = text_model.config.layer_types[: self.layer]
        self._model = model.eval()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """One float32 row per text, in order; cached rows are not recomputed."""
        out: list[np.ndarray | None] = [None] * len(texts)
        todo: dict[str, list[int]] = {}
        for i, text in enumerate(texts):
            hit = self.cache.get(text) if self.cache is not None else None
            if hit is not None:
                out[i] = hit.astype(np.float32)
            else:
                todo.setdefault(text, []).append(i)
        if todo:
            for text, vector in zip(todo, self._run(list(todo)), strict=True):
                for i in todo[text]:
                    out[i] = vector
                if self.cache is not None:
                    self.cache.put(text, vector)
            if self.cache is not None:
                self.cache.save()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack(out).astype(np.float32)  # type: ignore[arg-type]

    def _run(self, texts: list[str]) -> list[np.ndarray]:
        import torch

        self._load()
        assert self._model is not None and self._tokenizer is not None
        lengths = [len(t) for t in texts]
        order = sorted(range(len(texts)), key=lengths.__getitem__)
        vectors: list[np.ndarray | None] = [None] * len(texts)
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                deadline.check("classifying")
                chunk = order[start: start + self.batch_size]
                batch = self._tokenizer([texts[i] for i in chunk], padding=True,
                                        truncation=True, max_length=self.max_length,
                                        return_tensors="pt")
                states = self._model(**batch, output_hidden_states=True).hidden_states[-1]
                mask = batch["attention_mask"].clone()
                bos = self._tokenizer.bos_token_id
                if bos is not None:
                    mask[batch["input_ids"] == bos] = 0
                mask = mask.unsqueeze(-1).to(states.dtype)
                pooled = (states * mask).sum(1) / mask.sum(1).clamp(min=1.0)
                for row, i in zip(pooled.numpy(), chunk, strict=True):
                    vectors[i] = row
        return vectors  # type: ignore[return-value]


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-._" else "_" for c in text)
