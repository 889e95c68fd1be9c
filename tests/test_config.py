from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipeline.config import Settings
from pipeline.errors import ConfigError
from pipeline.support.offline import OFFLINE_ENVIRONMENT, apply_offline_environment


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("CALLQA_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_defaults() -> None:
    settings = Settings()
    assert settings.asr.model == "base"
    assert settings.asr.batched is False
    assert settings.audio.max_duration_s == 4 * 3600
    assert settings.default_language == "auto"
    assert set(settings.asr.languages) == {"zh", "en", "id", "vi", "th", "ms"}


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CALLQA_HOME", str(tmp_path / "h"))
    monkeypatch.setenv("CALLQA_ASR__BEAM_SIZE", "2")
    monkeypatch.setenv("CALLQA_ASR__LANGUAGES", '["zh", "en"]')
    monkeypatch.setenv("CALLQA_AUDIO__MAX_DURATION_S", "60")
    settings = Settings()
    assert settings.home == tmp_path / "h"
    assert settings.cache_dir == tmp_path / "h" / "cache"
    assert settings.asr.beam_size == 2
    assert settings.asr.languages == ["zh", "en"]
    assert settings.audio.max_duration_s == 60


def test_toml_file_with_queue_vocabulary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "callqa.toml").write_text(
        '[asr]\nbeam_size = 3\n[asr.vocabulary.logistics]\nhotwords = "快递 物流 顺丰"\n',
        encoding="utf-8",
    )
    settings = Settings()
    assert settings.asr.beam_size == 3
    assert settings.asr.vocabulary["logistics"].hotwords == "快递 物流 顺丰"
    monkeypatch.setenv("CALLQA_ASR__BEAM_SIZE", "4")  # the environment wins over the file
    assert Settings().asr.beam_size == 4


def test_explicit_config_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "site.toml"
    config.write_text('default_language = "zh"\n', encoding="utf-8")
    monkeypatch.setenv("CALLQA_CONFIG", str(config))
    assert Settings().default_language == "zh"
    monkeypatch.setenv("CALLQA_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError, match=r"missing\.toml"):
        Settings()


def test_invalid_values_are_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLQA_DEFAULT_LANGUAGE", "fr")
    with pytest.raises(ValueError, match="default_language"):
        Settings()


def test_offline_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    apply_offline_environment()
    for name, value in OFFLINE_ENVIRONMENT.items():
        assert os.environ[name] == value
    assert os.environ["HF_HUB_OFFLINE"] == "1"
