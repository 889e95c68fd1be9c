"""The data callqa ships with: the QA rubrics, the label set and the bundled classifier registry.

In the repository these are links to the top-level ``rubrics/`` and ``models/`` folders, where
people edit them; a wheel carries the files themselves (the build follows the links), so an
installed callqa finds them here through its own package, wherever it is installed.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from pipeline.errors import ConfigError


def path(name: str) -> Path:
    """The bundled ``rubrics``, ``labels.yaml`` or ``registry``; ConfigError if it is missing
    (an install that lost its package data must say so, not score without it)."""
    found = Path(str(files(__package__) / name))
    if not found.exists():
        raise ConfigError(f"callqa's bundled {name} is missing at {found}: reinstall callqa")
    return found
