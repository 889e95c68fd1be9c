from __future__ import annotations

import sys
from pathlib import Path

import pytest

from pipeline.config import Settings, get_settings

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
SHARED_AUDIO = SHARED_DATA / "audio"
EXAMPLES = ROOT / "examples"

sys.path.insert(0, str(Path(__file__).parent))  # audio_factory


def needs_shared_audio() -> pytest.MarkDecorator:
    return pytest.mark.skipif(
        not SHARED_AUDIO.is_dir(), reason=f"shared audio clips not found at {SHARED_AUDIO}"
    )


@pytest.fixture(scope="session")
def model_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One callqa home per test session: the base model is assembled there once."""
    return tmp_path_factory.mktemp("callqa-home")


@pytest.fixture
def settings(model_home: Path, tmp_path: Path) -> Settings:
    """Settings with the shared model directory but a fresh cache for every test.

    The classifier registry is an empty one of the test's own (tests that need the bundled
    champion or a trained model say so), so scoring tests judge rubrics by words alone.
    """
    home = tmp_path / "home"
    home.mkdir()
    (model_home / "models").mkdir(exist_ok=True)
    (home / "models").symlink_to(model_home / "models", target_is_directory=True)
    (home / "registry").mkdir()
    return Settings(home=home, classify={"registry": home / "registry"})


@pytest.fixture
def env_home(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Point the process-wide settings (what the CLI uses) at the test's home."""
    monkeypatch.setenv("CALLQA_HOME", str(settings.home))
    monkeypatch.setenv("CALLQA_CLASSIFY__REGISTRY", str(settings.classify.registry))
    monkeypatch.delenv("CALLQA_CONFIG", raising=False)
    get_settings.cache_clear()
    yield settings
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def transcriber(model_home: Path, tmp_path_factory: pytest.TempPathFactory):
    """One loaded base model for the session (loading costs seconds)."""
    from pipeline.asr import Transcriber

    home = tmp_path_factory.mktemp("transcriber-home")
    (model_home / "models").mkdir(exist_ok=True)
    (home / "models").symlink_to(model_home / "models", target_is_directory=True)
    return Transcriber(Settings(home=home))


@pytest.fixture
def app_store(settings: Settings):
    """(settings, a store with four scored demo calls, two teams and one account per role)."""
    from review_fixtures import build_store

    return settings, build_store(settings)


@pytest.fixture
def client_for(app_store):
    """``client_for("sup1")``: a test client of the review app signed in as that user
    (``client_for()``: signed out)."""
    from fastapi.testclient import TestClient
    from review_fixtures import sign_in

    from review.app import create_app

    settings, store = app_store
    app = create_app(settings, store)

    def make(username: str | None = None) -> TestClient:
        client = TestClient(app)
        return sign_in(client, username) if username else client

    return make
