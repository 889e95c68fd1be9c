"""Classifier inference: texts in, one probability per label out.

A trained model (a registry version directory) is per-label logistic heads over features:
``tfidf`` (char 1-3-grams), ``frozen`` (mean-pooled transformer layer) or ``hybrid`` (both).
Artifacts are safetensors (head weights) plus JSON (TF-IDF vocabulary and idf, the card), so
loading never unpickles code. Utterances are classified in batches; predictions are cached by
(model version, text), so a call scored again costs no model time.

``METHODS`` is the one place a method's name is interpreted: which feature blocks it uses and
the hyper-parameter grids training searches. Everything else asks a ``Method``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from safetensors.numpy import load_file, save_file
from sklearn.feature_extraction.text import TfidfVectorizer

from pipeline.errors import ConfigError, ModelNotFoundError
from pipeline.models.encoder import Encoder
from pipeline.models.features import features_for
from pipeline.models.tfidf import vectorizer_from_state, vectorizer_state
from pipeline.support.cache import DiskCache, stable_key


class UnknownMethodError(ConfigError, ValueError):
    """A classifier method name that is not in ``METHODS`` (a ValueError too, as it was)."""


@dataclass(frozen=True)
class Method:
    """A feature recipe and the grids its heads are tuned over.

    The first entry of each grid is the default, kept when there is too little data to choose.
    """

    name: str
    uses_sparse: bool  # TF-IDF char n-grams
    uses_dense: bool  # encoder features, scaled to unit mean norm
    c_grid: tuple[float, ...]  # logistic-regression C
    # The dense block's weight next to the n-grams; searched only when both are stacked.
    dense_weights: tuple[float, ...] = (1.0,)

    @property
    def weighs_dense(self) -> bool:
        """Both blocks stacked: the dense block's weight is a hyper-parameter (on the card)."""
        return self.uses_sparse and self.uses_dense


METHODS: dict[str, Method] = {m.name: m for m in (
    Method("tfidf", uses_sparse=True, uses_dense=False, c_grid=(4.0, 1.0, 16.0)),
    # Dense features alone want stronger regularisation.
    Method("frozen", uses_sparse=False, uses_dense=True, c_grid=(0.5, 0.125, 2.0)),
    Method("hybrid", uses_sparse=True, uses_dense=True, c_grid=(4.0, 1.0, 16.0),
           dense_weights=(1.5, 0.75, 3.0)),
)}


def method_named(name: str) -> Method:
    try:
        return METHODS[name]
    except KeyError:
        raise UnknownMethodError(
            f"unknown classifier method {name!r}: use one of {', '.join(METHODS)}") from None


@dataclass
class HeadWeights:
    bias: float
    threshold: float
    sparse: np.ndarray | None = None  # over the TF-IDF vocabulary
    dense: np.ndarray | None = None  # over the (scaled) encoder features


@dataclass
class LabelModel:
    """Everything needed to score texts; ``save``/``load`` round-trip a version directory."""

    version: str
    task: str
    method: str  # a METHODS name, as model.json stores it
    labels: list[str]
    heads: dict[str, HeadWeights]
    encoder_spec: dict | None = None  # {"base": name, "layer": k, "max_length": n, "scale": s}
    vectorizer: TfidfVectorizer | None = None
    card: dict = field(default_factory=dict)
    _encoder: Encoder | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        method_named(self.method)  # an unknown method fails on load, not at the first call

    @property
    def spec(self) -> Method:
        return METHODS[self.method]

    # -- features ---------------------------------------------------------------------------

    def attach_encoder(self, encoder: Encoder) -> None:
        self._encoder = encoder

    def encoder(self, model_dir: Path, cache_dir: Path | None) -> Encoder:
        if self._encoder is None:
            assert self.encoder_spec is not None
            self._encoder = features_for(self.encoder_spec["base"],
                                         int(self.encoder_spec["layer"]),
                                         int(self.encoder_spec["max_length"]), model_dir,
                                         cache_dir)
        return self._encoder

    def logits(self, texts: Sequence[str], model_dir: Path, cache_dir: Path | None = None
               ) -> np.ndarray:
        n = len(texts)
        out = np.zeros((n, len(self.labels)), dtype=np.float64)
        spec = self.spec
        sparse = self.vectorizer.transform(texts) if spec.uses_sparse else None
        dense = None
        if spec.uses_dense and n:
            assert self.encoder_spec is not None
            dense = (self.encoder(model_dir, cache_dir).encode(list(texts))
                     / float(self.encoder_spec["scale"]))
        for j, label in enumerate(self.labels):
            head = self.heads[label]
            value = np.full(n, head.bias)
            if sparse is not None and head.sparse is not None:
                value += sparse @ head.sparse
            if dense is not None and head.dense is not None:
                value += dense @ head.dense
            out[:, j] = value
        return out

    def predict(self, texts: Sequence[str], model_dir: Path, cache_dir: Path | None = None
                ) -> np.ndarray:
        """Probabilities, one column per label in ``self.labels``."""
        return 1.0 / (1.0 + np.exp(-self.logits(texts, model_dir, cache_dir)))

    # -- persistence ------------------------------------------------------------------------

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        tensors: dict[str, np.ndarray] = {}
        for label, head in self.heads.items():
            tensors[f"{label}/bias"] = np.array([head.bias, head.threshold], dtype=np.float32)
            if head.sparse is not None:
                tensors[f"{label}/sparse"] = head.sparse.astype(np.float32)
            if head.dense is not None:
                tensors[f"{label}/dense"] = head.dense.astype(np.float32)
        save_file(tensors, str(directory / "heads.safetensors"))
        if self.vectorizer is not None:
            (directory / "tfidf.json").write_text(json.dumps(
                vectorizer_state(self.vectorizer), ensure_ascii=False), encoding="utf-8")
        meta = {"version": self.version, "task": self.task, "method": self.method,
                "labels": self.labels, "encoder": self.encoder_spec}
        (directory / "model.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> LabelModel:
        meta_path = directory / "model.json"
        if not meta_path.is_file():
            raise ModelNotFoundError(f"{directory} is not a classifier version (no model.json)")
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        tensors = load_file(str(directory / "heads.safetensors"))
        heads = {}
        for label in meta["labels"]:
            bias, threshold = tensors[f"{label}/bias"].tolist()
            heads[label] = HeadWeights(float(bias), float(threshold),
                                       tensors.get(f"{label}/sparse"),
                                       tensors.get(f"{label}/dense"))
        vectorizer = None
        if (directory / "tfidf.json").is_file():
            vectorizer = vectorizer_from_state(
                json.loads((directory / "tfidf.json").read_text(encoding="utf-8")))
        card_path = directory / "card.json"
        card = json.loads(card_path.read_text(encoding="utf-8")) if card_path.is_file() else {}
        return cls(meta["version"], meta["task"], meta["method"], list(meta["labels"]), heads,
                   meta.get("encoder"), vectorizer, card)


class UtteranceClassifier:
    """Labels for a call's utterances with one model: batched, cached, speaker-aware."""

    def __init__(self, model: LabelModel, model_dir: Path, cache_dir: Path | None = None
                 ) -> None:
        if model.task != "utterance":
            raise ValueError(f"model {model.version} is a {model.task} model, not utterance")
        self.model = model
        self.model_dir = model_dir
        # Predictions are cached per (version, text). Features are not: the feature cache is a
        # single file rewritten on every save, which suits training, not one call at a time.
        self.cache = DiskCache(cache_dir / "predictions") if cache_dir is not None else None

    @property
    def version(self) -> str:
        return self.model.version

    def labels_for(self, speaker: str) -> list[str]:
        return [label for label in self.model.labels if label.split(".", 1)[0] == speaker]

    def classify(self, texts: Sequence[str], speakers: Sequence[str]) -> list[dict[str, float]]:
        """For each text, ``{qualified label: probability}`` over its speaker's labels.

        Turns of an unknown speaker (mono calls) get both speakers' labels.
        """
        results: list[dict[str, float] | None] = [None] * len(texts)
        keys = [stable_key("classify", self.version, t) for t in texts]
        todo: list[int] = []
        for i, key in enumerate(keys):
            cached = self.cache.get(key) if self.cache is not None else None
            if cached is not None:
                results[i] = cached
            else:
                todo.append(i)
        if todo:
            unique = list(dict.fromkeys(texts[i] for i in todo))
            probabilities = self.model.predict(unique, self.model_dir)
            by_text = {t: {label: round(float(p), 4)
                           for label, p in zip(self.model.labels, row, strict=True)}
                       for t, row in zip(unique, probabilities, strict=True)}
            for i in todo:
                results[i] = by_text[texts[i]]
                if self.cache is not None:
                    self.cache.put(keys[i], by_text[texts[i]])
        return [_for_speaker(r or {}, s) for r, s in zip(results, speakers, strict=True)]

    def label_frame(self, turns: pd.DataFrame) -> pd.DataFrame:
        """Long (idx, label, probability) rows for the rubric engine's ``label`` condition."""
        labelled = self.classify([str(t) for t in turns["raw_text"]],
                                 [str(s) for s in turns["speaker"]])
        rows = [{"idx": int(idx), "label": label, "probability": p}
                for idx, labels in zip(turns["idx"], labelled, strict=True)
                for label, p in labels.items()]
        return pd.DataFrame(rows, columns=["idx", "label", "probability"])


def _for_speaker(probabilities: dict[str, float], speaker: str) -> dict[str, float]:
    if speaker not in ("agent", "customer"):
        return dict(probabilities)
    return {k: v for k, v in probabilities.items() if k.split(".", 1)[0] == speaker}

