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


# -- score and rubric ----------------------------------------------------------------------

CHAT = {"call_id": "chat-1", "language": "zh", "turns": [
    {"speaker": "customer", "text": "在吗？我的快递三天没更新了"},
    {"speaker": "agent", "text": "您好，这不归我管"}]}


@pytest.fixture
def chat(tmp_path: Path) -> Path:
    path = tmp_path / "chat-1.json"
    path.write_text(json.dumps(CHAT, ensure_ascii=False), encoding="utf-8")
    return path


def test_score_a_transcript(env_home: object, chat: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["score", str(chat), "--json", str(tmp_path / "o.json")])
    assert result.exit_code == 0, result.output
    assert "FATAL" in result.output and "forbidden-phrases" in result.output
    saved = json.loads((tmp_path / "o.json").read_text(encoding="utf-8"))
    assert saved["inspection"]["fatal"] is True and saved["inspection"]["score"] == 0
    assert {item["item_id"] for item in saved["items"]} >= {"greeting", "forbidden-phrases"}


def test_score_bad_inputs(env_home: object, chat: Path, tmp_path: Path) -> None:
    assert runner.invoke(app, ["score", str(chat), "--rubric", "nope"]).exit_code == 2
    broken = tmp_path / "broken.json"
    broken.write_text('{"call_id": "x", "turns": [{"speaker": "bot"}]}', encoding="utf-8")
    result = runner.invoke(app, ["score", str(broken), str(chat), "--quiet"])
    assert result.exit_code == 1
    assert "broken.json" in result.output


def test_rubric_check(tmp_path: Path) -> None:
    good = runner.invoke(app, ["rubric", "check", "ecommerce-zh"])
    assert good.exit_code == 0 and "three-step-confirmation" in good.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\nversion: 1\nlanguage: zh\nitems:\n  - id: g\n    points: 5\n"
                   "    pass_if: {any_phrase: []}\n", encoding="utf-8")
    result = runner.invoke(app, ["rubric", "check", str(bad)])
    assert result.exit_code == 1
    assert "item 'g': pass_if.any_phrase must be a non-empty list" in result.output


def test_rubric_backtest(tmp_path: Path) -> None:
    cases = tmp_path / "cases"
    cases.mkdir()
    document = {**CHAT, "expected": {"forbidden-phrases": "fail", "greeting": "fail"}}
    (cases / "c1.json").write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    result = runner.invoke(app, ["rubric", "test", "ecommerce-zh", "--cases", str(cases)])
    assert result.exit_code == 0, result.output
    assert "1 cases" in result.output
    # 您好 is said in the first two turns of the chat, so the rubric passes the greeting:
    assert "disagree c1 · greeting: expected fail, rubric says pass" in result.output


def test_the_command_line_starts_without_heavy_imports() -> None:
    """`callqa --help` and `callqa version` load no model, dataframe, database or orchestrator
    code: every command imports what it needs when it runs."""
    import subprocess
    import sys

    heavy = ["pandas", "numpy", "torch", "faster_whisper", "av", "prefect", "sqlalchemy",
             "pandera", "dask", "transformers", "fastapi", "matplotlib", "sklearn",
             "pydantic_settings"]  # settings are read when a command runs, not for --help
    probe = ("import sys, pipeline.cli; "
             f"print(','.join(m for m in {heavy!r} if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True).stdout.strip()
    assert loaded == "", f"imported at start-up: {loaded}"
