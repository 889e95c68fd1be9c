"""A content-addressed JSON cache on disk (results keyed by a hash of their inputs)."""

from __future__ import annotations

import contextlib
import hashlib
import json
from pathlib import Path
from typing import Any

from pipeline.support.fsutil import write_json


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
        """The entry for ``key``, or None: a missing, unreadable or non-object entry is a miss
        (and a broken one is dropped, so it is recomputed). Callers check the entry's shape."""
        path = self.path_for(key)
        try:
            with open(path, encoding="utf-8") as handle:
                value = json.load(handle)
        except FileNotFoundError:
            return None
        except OSError:
            return None  # unreadable here (permissions, a directory): recompute, keep it
        except (ValueError, RecursionError, MemoryError):  # not JSON, not UTF-8, too deep
            self.drop(key)
            return None
        if not isinstance(value, dict):
            self.drop(key)
            return None
        return value

    def drop(self, key: str) -> None:
        """Forget an entry (one that turned out to be malformed)."""
        with contextlib.suppress(OSError):  # already gone, or not ours to remove
            self.path_for(key).unlink()

    def put(self, key: str, value: dict[str, Any]) -> None:
        write_json(self.path_for(key), value)
