"""What a worker process keeps between calls: the scorer (models loaded once) and the store."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pipeline.config import Settings, apply_offline_environment
from pipeline.scorecard import Scorer
from pipeline.store import Store

_lock = threading.Lock()


@dataclass
class Worker:
    settings: Settings
    scorer: Scorer
    store: Store


def settings_payload(settings: Settings) -> str:
    """Settings as JSON, the form they travel in to Dask workers."""
    return settings.model_dump_json()


@lru_cache(maxsize=4)
def _worker(payload: str) -> Worker:
    apply_offline_environment()
    settings = Settings(**json.loads(payload))
    store = Store(settings.store_url, settings.store.store_raw_text, settings.store.redact_pii,
                  upgrade=False)
    return Worker(settings, Scorer(settings), store)


def worker_for(payload: str) -> Worker:
    """This process's worker for these settings, built on first use."""
    with _lock:
        return _worker(payload)


def current_versions(settings: Settings) -> dict[str, Any]:
    """The rubric hashes and classifier version a call scored tonight would carry."""
    from pipeline import rubric as rubric_mod
    from pipeline.modelops import registry_for

    names = {settings.scoring.default_rubric, *settings.scoring.rubric_by_language.values()}
    hashes = sorted(rubric_mod.load(name).content_hash for name in names)
    champion = (registry_for(settings).champion("utterance")
                if settings.classify.enabled else None)
    return {"rubric_hashes": hashes, "classifier": champion}
