"""Telemetry off and model hubs offline, wherever the project runs.

Kept apart from ``pipeline.config`` so that importing ``pipeline`` (which applies it) stays
cheap: ``callqa --help`` must not pay for pydantic-settings.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

OFFLINE_ENVIRONMENT = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "ORT_DISABLE_TELEMETRY": "1",
}


def apply_offline_environment() -> None:
    """Force the offline/no-telemetry variables (they must win over anything inherited)."""
    os.environ.update(OFFLINE_ENVIRONMENT)


@contextmanager
def environment_restored(name: str, value: str | None = None) -> Iterator[None]:
    """Run a block with ``name`` set to ``value`` (None: left as it is), and put the process's
    own value back afterwards, for libraries that read or set a variable while they load."""
    before = os.environ.get(name)
    if value is not None:
        os.environ[name] = value
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before
