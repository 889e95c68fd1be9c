from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.batch.manifest import read_manifest
from pipeline.errors import CallqaError

HEADER = ("call_id,audio_path,layout,language,agent_id,team,queue,started_at,customer_id,"
          "customer_rating,nps\n")


def write(tmp_path: Path, rows: str) -> Path:
    path = tmp_path / "manifest.csv"
    path.write_text(HEADER + rows, encoding="utf-8")
    return path


def test_good_rows_are_kept_and_paths_resolved(tmp_path: Path) -> None:
    path = write(tmp_path, "c1,calls/a.ogg,stereo_agent_left,zh,A1,物流组,logistics,"
                           "2026-11-20T09:00:00+08:00,U1,5,9\n"
                           "c2,calls/b.ogg,mono,auto,A2,t,q,,U2,,\n")
    manifest = read_manifest(path)
    assert manifest.problems == []
    assert list(manifest.calls.call_id) == ["c1", "c2"]
    assert manifest.calls.audio_path[0] == str(tmp_path / "calls" / "a.ogg")
    assert str(manifest.calls.started_at[0]) == "2026-11-20 01:00:00+00:00"
    assert manifest.calls.customer_rating.isna()[1]


def test_bad_rows_are_reported_with_line_numbers(tmp_path: Path) -> None:
    path = write(tmp_path, "c1,a.ogg,stereo_agent_left,zh,A1,t,q,2026-11-20T09:00:00+08:00,U1,5,9\n"
                           "c2,b.ogg,stereo_middle,zh,A1,t,q,,U1,7,9\n"
                           "c3,,mono,fr,A1,t,q,notadate,U1,,\n"
                           "c1,c.ogg,mono,zh,A1,t,q,,U1,,11\n"
                           "c4,d.ogg,,,A1,t,q,,U1,,\n")
    manifest = read_manifest(path)
    assert list(manifest.calls.call_id) == ["c1", "c4"]
    assert manifest.calls.layout[1] == "stereo_agent_left"  # default for an empty cell
    problems = {p.line: str(p) for p in manifest.problems}
    assert set(problems) == {3, 4, 5}
    assert "layout='stereo_middle'" in problems[3] and "customer_rating" in problems[3]
    assert "needs an audio_path or a transcript_path" in problems[4]
    assert "language='fr'" in problems[4] and "started_at" in problems[4]
    assert "duplicate call_id (first on line 2)" in problems[5]


def test_unreadable_manifest(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text("agent,team\nA1,t\n", encoding="utf-8")
    with pytest.raises(CallqaError, match="no call_id column"):
        read_manifest(path)
    with pytest.raises(CallqaError, match="cannot read"):
        read_manifest(tmp_path / "missing.csv")
