from __future__ import annotations

from pathlib import Path

from pipeline.support.cache import DiskCache, stable_key
from pipeline.support.fsutil import atomic_open


def test_stable_key_depends_on_every_part() -> None:
    assert stable_key("a", {"x": 1, "y": 2}) == stable_key("a", {"y": 2, "x": 1})
    assert stable_key("a", {"x": 1}) != stable_key("a", {"x": 2})
    assert stable_key("a") != stable_key("b")


def test_round_trip_and_miss(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path)
    assert cache.get("ab" * 32) is None
    cache.put("ab" * 32, {"text": "您好", "n": 1})
    assert cache.get("ab" * 32) == {"text": "您好", "n": 1}


def test_unreadable_entry_is_dropped(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path)
    key = "cd" * 32
    cache.path_for(key).parent.mkdir(parents=True)
    cache.path_for(key).write_text("{half a json", encoding="utf-8")
    assert cache.get(key) is None
    assert not cache.path_for(key).exists()


def test_atomic_write_keeps_old_file_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "f.txt"
    target.write_text("old", encoding="utf-8")
    try:
        with atomic_open(target, "w") as handle:
            handle.write("new but unfinished")
            raise RuntimeError("crash mid-write")
    except RuntimeError:
        pass
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]
