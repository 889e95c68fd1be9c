"""The command line: outputs and exit codes (0 all done, 1 some input failed, 2 usage)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from audio_factory import tone, write
from conftest import EXAMPLES
from typer.testing import CliRunner

from pipeline.cli import app

runner = CliRunner()


@pytest.fixture
def call(tmp_path: Path) -> Path:
    """A short stereo file: fast to transcribe, enough to exercise the command."""
    return write(tmp_path / "short-call.wav",
                 [tone(1.5, 16_000, 300, seed=1), tone(1.5, 16_000, 700, seed=2)])


def invoke(*args: str):
    return runner.invoke(app, ["transcribe", *args])


def test_no_input_is_a_usage_error(env_home: object) -> None:
    result = invoke()
    assert result.exit_code == 2
    assert "nothing to transcribe" in result.output


def test_unsupported_language_is_a_usage_error(env_home: object, call: Path) -> None:
    result = invoke(str(call), "--language", "fr")
    assert result.exit_code == 2
    assert "not supported" in result.output


def test_unknown_model_is_a_usage_error(env_home: object, call: Path) -> None:
    result = invoke(str(call), "--model", "huge-v9")
    assert result.exit_code == 2
    assert "unknown Whisper model" in result.output


def test_bad_file_fails_but_the_others_are_done(env_home: object, call: Path,
                                                tmp_path: Path) -> None:
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"not audio at all" * 100)
    out_dir = tmp_path / "out"
    result = invoke(str(junk), str(call), "--language", "en", "--json", str(out_dir))
    assert result.exit_code == 1
    assert "junk.wav: not an audio file" in result.output
    written = json.loads((out_dir / "short-call.json").read_text(encoding="utf-8"))
    assert written["call_id"] == "short-call"
    assert written["audio"]["layout"] == "stereo_agent_left"


def test_layout_mismatch_exit_code(env_home: object, call: Path) -> None:
    result = invoke(str(call), "--layout", "mono", "--language", "en")
    assert result.exit_code == 1
    assert "two different channels" in result.output


def test_json_to_stdout_is_one_object_per_line(env_home: object, call: Path,
                                               tmp_path: Path) -> None:
    second = write(tmp_path / "other.wav", [tone(1.0, 16_000, 500), np.zeros(16_000, np.float32)])
    result = invoke(str(call), str(second), "--language", "en", "--json", "-", "--quiet")
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    documents = [json.loads(line) for line in lines]
    assert [d["call_id"] for d in documents] == ["short-call", "other"]


def test_single_json_file_output(env_home: object, call: Path, tmp_path: Path) -> None:
    target = tmp_path / "t.json"
    result = invoke(str(call), "--language", "en", "--json", str(target))
    assert result.exit_code == 0, result.output
    assert json.loads(target.read_text(encoding="utf-8"))["language"] == "en"


def test_manifest_bad_rows_are_skipped(env_home: object, call: Path, tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(
        "call_id,audio_path,layout,language\n"
        f"good,{call.name},stereo_agent_left,en\n"
        f"bad,{call.name},stereo_middle,en\n", encoding="utf-8")
    result = invoke("--manifest", str(manifest), "--json", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert "line 3 (bad)" in result.output
    assert (tmp_path / "out" / "good.json").is_file()


def test_readable_transcript_of_a_demo_call(env_home: object) -> None:
    demo = EXAMPLES / "calls" / "zh-model-call.ogg"
    if not demo.is_file():
        pytest.skip(f"demo call {demo} not generated")
    result = invoke(str(demo), "--language", "zh")
    assert result.exit_code == 0, result.output
    assert "zh-model-call" in result.output
    assert "agent" in result.output and "customer" in result.output
    assert "00:0" in result.output  # timestamps
