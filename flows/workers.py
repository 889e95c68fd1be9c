"""What a worker process keeps between calls: the scorer (models loaded once) and the store."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pipeline.batch.scorer import Scorer
from pipeline.config import Settings, from_public_json, public_json
from pipeline.store import Store
from pipeline.support.offline import apply_offline_environment

_lock = threading.Lock()


@dataclass
class Worker:
    settings: Settings
    scorer: Scorer
    store: Store


# Settings this process turned into payloads, secrets included: a flow or task running in the
# same process gets them back whole; any other process completes the payload from its own
# environment and callqa.toml (``from_public_json``).
_made_here: dict[str, Settings] = {}
_made_here_lock = threading.Lock()  # apart from _lock: worker_for holds that one


def settings_payload(settings: Settings) -> str:
    """Settings as flow parameters and Dask workers receive them: JSON without secrets, so
    nothing secret is written into Prefect's database."""
    payload = public_json(settings)
    with _made_here_lock:
        _made_here[payload] = settings
    return payload


def settings_from_payload(payload: str) -> Settings:
    with _made_here_lock:
        local = _made_here.get(payload)
    return local if local is not None else from_public_json(payload)


@lru_cache(maxsize=4)
def _worker(payload: str) -> Worker:
    apply_offline_environment()
    settings = settings_from_payload(payload)
    store = Store.from_settings(settings, upgrade=False)
    return Worker(settings, Scorer(settings), store)


def worker_for(payload: str) -> Worker:
    """This process's worker for these settings, built on first use."""
    with _lock:
        return _worker(payload)


def current_versions(settings: Settings) -> dict[str, Any]:
    """The rubric hashes and classifier version a call scored tonight would carry."""
    from pipeline import rubric as rubric_mod
    from pipeline.models.registry import registry_for

    names = {settings.scoring.default_rubric, *settings.scoring.rubric_by_language.values()}
    hashes = sorted(rubric_mod.load(name).content_hash for name in names)
    champion = (registry_for(settings).champion("utterance")
                if settings.classify.enabled else None)
    return {"rubric_hashes": hashes, "classifier": champion}
