"""A content-addressed JSON cache on disk (results keyed by a hash of their inputs)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pipeline.fsutil import write_json


def stable_key(*parts: Any) -> str:
    """A hash of JSON-serialisable parts, stable across runs and machines."""
    blob = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class DiskCache:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path_for(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        path = self.path_for(key)
        try:
            with open(path, encoding="utf-8") as handle:
                return json.load(handle)
        except FileNotFoundError:
            return None
        except (json.JSONDecodeError, UnicodeDecodeError):
            path.unlink(missing_ok=True)  # unreadable entry: drop it and recompute
            return None

    def put(self, key: str, value: dict[str, Any]) -> None:
        write_json(self.path_for(key), value)
