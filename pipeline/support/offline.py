"""Telemetry off and model hubs offline, wherever the project runs.

Kept apart from ``pipeline.config`` so that importing ``pipeline`` (which applies it) stays
cheap: ``callqa --help`` must not pay for pydantic-settings.
"""

from __future__ import annotations

import os

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
