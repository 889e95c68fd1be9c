"""Hostile inputs: each attack is refused with a typed error, or handled, and never stalls,
crashes or escapes a batch (rubric patterns, YAML bombs, transcript documents, call ids,
output paths, cache entries, wall-clock budgets)."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from audio_factory import tone, write
from typer.testing import CliRunner

from pipeline import asr, cli, transcript
from pipeline.asr import TranscribeOptions, Transcriber
from pipeline.audio import file_sha256
from pipeline.batch.manifest import CallJob, read_manifest
from pipeline.cli import calls, textsafe
from pipeline.config import LimitsSettings, get_settings
from pipeline.conversation import measure, turns_from_document
from pipeline.errors import CallTimeoutError, InputLimitError, TranscriptError, UnsafePathError
from pipeline.models.whisper import ResolvedModel
from pipeline.rubric import RubricError, evaluate, from_dict, load
from pipeline.support import deadline, ids
from pipeline.support.cache import DiskCache

runner = CliRunner()

GOOD_CHAT = {"call_id": "chat-1", "language": "zh", "turns": [
    {"speaker": "customer", "text": "在吗？我的快递三天没更新了"},
    {"speaker": "agent", "text": "您好，这不归我管"}]}


def write_json(path: Path, document: object) -> Path:
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


def regex_rubric(pattern: str, **options: object) -> dict:
    return {"id": "r", "version": 1, "language": "en", "items": [
        {"id": "pattern-item", "points": 5, "pass_if": {"regex": pattern, **options}}]}


def context(document: dict):
    from pipeline.rubric.conditions import CallContext

    turns = turns_from_document(document)
    return CallContext(document["call_id"], document["language"], turns,
                       measure(turns, document["language"]))


# -- 1. regular expressions are linear-time (RE2) ---------------------------------------------


@pytest.mark.timeout(20)
def test_catastrophic_backtracking_pattern_finishes_on_a_long_turn() -> None:
    rubric = from_dict(regex_rubric("(a+)+$"))  # accepted: RE2 runs it in linear time
    document = {"call_id": "c", "language": "en",
                "turns": [{"speaker": "agent", "text": "a" * 50_000 + "!"}]}
    started = time.process_time()  # CPU time: the machine may be shared
    [judgement] = evaluate(rubric, context(document))
    assert judgement.outcome == "fail"
    assert time.process_time() - started < 5  # Python's re: longer than the universe's age


@pytest.mark.parametrize("pattern", [r"(a)\1", r"foo(?=bar)", r"(?<!x)y", r"(?!no)"])
def test_patterns_without_a_linear_time_algorithm_are_refused(pattern: str) -> None:
    with pytest.raises(RubricError) as caught:
        from_dict(regex_rubric(pattern), "r.yaml")
    message = str(caught.value)
    assert "item 'pattern-item': pass_if.regex" in message
    assert "only linear-time syntax (RE2) is accepted" in message


def test_rubric_check_refuses_a_backreference(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text("id: r\nversion: 1\nlanguage: en\nitems:\n  - id: echo\n    points: 5\n"
                    "    pass_if: {regex: '(\\w+) \\1'}\n", encoding="utf-8")
    result = runner.invoke(cli.app, ["rubric", "check", str(path)])
    assert result.exit_code == 1
    assert "item 'echo'" in result.output and "RE2" in result.output


def test_regex_keeps_python_semantics_that_rubrics_rely_on() -> None:
    turns = [{"speaker": "agent", "text": "HELLO　不知道"}]  # U+3000 ideographic space
    ctx = context({"call_id": "c", "language": "zh", "turns": turns})

    def value(pattern: str, **options: object) -> bool | None:
        [judged] = evaluate(from_dict(regex_rubric(pattern, **options)), ctx)
        return judged.outcome == "pass"

    assert value("hello") and not value("hello", ignore_case=False)
    assert value(r"O\s不知道$")  # \s is Unicode, as in Python
    assert value(r"^\w+\s\w+\Z")  # \w matches 汉字; \Z is the end of the text


# -- 2. YAML alias bombs and oversized rubrics ------------------------------------------------

BILLION_LAUGHS = """\
id: bomb
version: 1
language: en
description:
  a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
  b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
  c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
  d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
  e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
  f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
  g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
  h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
  i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
items:
  - {id: greeting, points: 5, pass_if: {any_phrase: [hello]}}
"""


@pytest.mark.timeout(20)
def test_billion_laughs_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(BILLION_LAUGHS, encoding="utf-8")
    with pytest.raises(RubricError, match="aliases are not allowed"):
        load(path)
    result = runner.invoke(cli.app, ["rubric", "check", str(path)])
    assert result.exit_code == 1 and "aliases are not allowed" in result.output


@pytest.mark.timeout(20)
def test_aliases_to_mappings_and_recursive_aliases_are_refused(tmp_path: Path) -> None:
    for n, body in enumerate(["x: &m {k: v}\ny: *m\n", "x: &r [a, *r]\n"]):
        path = tmp_path / f"r{n}.yaml"
        path.write_text(body, encoding="utf-8")
        with pytest.raises(RubricError, match="aliases are not allowed"):
            load(path)


def test_shared_phrase_lists_still_work(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text("id: r\nversion: 1\nlanguage: en\nphrases:\n  hi: &hi [hello, hi]\nitems:\n"
                    "  - {id: greeting, points: 5, pass_if: {any_phrase: *hi}}\n",
                    encoding="utf-8")
    assert load(path).items[0].pass_if is not None


def test_oversized_rubric_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("id: r\n" + "# padding\n" * 200, encoding="utf-8")
    with pytest.raises(InputLimitError, match="max_rubric_bytes") as caught:
        load(path, max_bytes=1000)
    assert caught.value.reason == "too_long"


# -- 3. hostile transcripts: a typed error each, the batch goes on ----------------------------


@pytest.mark.timeout(60)
def test_score_survives_every_bad_transcript(env_home: object, tmp_path: Path) -> None:
    good = write_json(tmp_path / "good.json", GOOD_CHAT)
    markup = write_json(tmp_path / "markup.json", {**GOOD_CHAT, "call_id": "markup", "turns": [
        GOOD_CHAT["turns"][0],
        {"speaker": "agent", "text": "您好，还有[/]\x1b[b问题吗？这不归我管"}]})
    bad = {
        "confidence.json": {**GOOD_CHAT, "turns": [
            {"speaker": "agent", "text": "您好", "confidence": 5}]},
        "long-id.json": {**GOOD_CHAT, "call_id": "x" * 300},
        "traversal.json": {**GOOD_CHAT, "call_id": "../../escaped"},
        "channel.json": {**GOOD_CHAT, "turns": [{"speaker": "agent", "text": "a", "channel": "L"}]},
        "negative.json": {**GOOD_CHAT, "turns": [{"speaker": "agent", "text": "a", "start": -1}]},
    }
    paths = [write_json(tmp_path / name, doc) for name, doc in bad.items()]
    nested = tmp_path / "nested.json"
    nested.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    out_dir = tmp_path / "out"
    result = runner.invoke(cli.app, ["score", *map(str, [*paths, nested, markup, good]),
                                     "--json", str(out_dir)])
    output = result.output
    assert result.exit_code == 1, output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in output and "internal error" not in output
    assert "6 input(s) failed" in output
    assert "confidence" in output and "less than or equal to 1" in output
    assert "at most 128" in output and "path separator" in output
    assert "nested too deeply" in output
    assert "还有[/]\ufffd[b问题" in output and "\x1b" not in output  # shown as written
    assert sorted(p.name for p in out_dir.iterdir()) == ["good.json", "markup.json"]
    assert not (tmp_path.parent / "escaped.json").exists()


@pytest.mark.timeout(60)
def test_per_call_limits_and_file_size(env_home: object, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLQA_LIMITS__MAX_TURNS", "3")
    monkeypatch.setenv("CALLQA_LIMITS__MAX_TURN_CHARS", "50")
    monkeypatch.setenv("CALLQA_LIMITS__MAX_TRANSCRIPT_BYTES", "2000")
    get_settings.cache_clear()
    many = write_json(tmp_path / "many.json", {**GOOD_CHAT, "turns": GOOD_CHAT["turns"] * 3})
    wordy = write_json(tmp_path / "wordy.json", {**GOOD_CHAT, "turns": [
        {"speaker": "agent", "text": "您好" * 40}]})
    huge = write_json(tmp_path / "huge.json", {**GOOD_CHAT, "padding": "x" * 5000})
    good = write_json(tmp_path / "good.json", GOOD_CHAT)
    result = runner.invoke(cli.app, ["score", str(many), str(wordy), str(huge), str(good),
                                     "--quiet"])
    assert result.exit_code == 1, result.output
    assert "6 turns (limit 3; limits.max_turns)" in result.output
    assert "limits.max_turn_chars" in result.output
    assert "limits.max_transcript_bytes" in result.output
    assert "3 input(s) failed" in result.output


def test_printed_text_is_escaped() -> None:
    assert textsafe.shown("[bold red]x[/] \x1b[2J\u202e") == "\\[bold red]x\\[/] \ufffd[2J\ufffd"


def test_limits_are_checked_where_a_document_enters_scoring() -> None:
    limits = LimitsSettings(max_chars=10)
    document = {**GOOD_CHAT, "turns": [{"speaker": "agent", "text": "您好" * 6}]}
    with pytest.raises(InputLimitError, match=r"limits\.max_chars") as caught:
        transcript.check_limits(document, limits)
    assert caught.value.reason == "too_long"


def test_an_unexpected_error_fails_one_input_only(env_home: object, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.batch import scorer as scorecard

    original = scorecard.Scorer.score

    def flaky(self: scorecard.Scorer, job: CallJob) -> object:
        if job.call_id == "boom":
            raise TypeError("unsupported operand")
        return original(self, job)

    monkeypatch.setattr(scorecard.Scorer, "score", flaky)
    boom = write_json(tmp_path / "boom.json", GOOD_CHAT)
    good = write_json(tmp_path / "good.json", GOOD_CHAT)
    out_dir = tmp_path / "out"
    result = runner.invoke(cli.app, ["score", str(boom), str(good), "--json", str(out_dir)])
    assert result.exit_code == 1, result.output
    assert "internal error: TypeError: unsupported operand" in result.output
    assert "Traceback" not in result.output
    assert [p.name for p in out_dir.iterdir()] == ["good.json"]


@pytest.mark.parametrize(("call_id", "problem"), [
    ("", "is empty"), ("x" * 129, "at most 128"), (".", "cannot be"), ("..", "cannot be"),
    ("a/b", "path separator"), ("a\\b", "path separator"), ("a\x00b", "control"),
    ("a\nb", "control"), ("a\u202eb", "control"),
])
def test_call_ids_are_checked_in_one_place(call_id: str, problem: str, tmp_path: Path) -> None:
    assert problem in (ids.call_id_problem(call_id) or "")
    with pytest.raises(TranscriptError, match="call_id"):
        transcript.validate({**GOOD_CHAT, "call_id": call_id})
    manifest = tmp_path / "m.csv"
    pd.DataFrame({"call_id": [call_id, "ok-1"], "audio_path": ["a.wav", "b.wav"]}).to_csv(
        manifest, index=False)
    read = read_manifest(manifest)
    assert list(read.calls.call_id) == ["ok-1"]  # the other rows are kept
    if call_id:  # an empty cell is a missing call_id, reported by the schema
        [bad] = read.problems
        assert bad.line == 2 and problem in bad.reason


def test_file_names_that_are_no_call_id_are_refused() -> None:
    with pytest.raises(UnsafePathError):
        CallJob.for_path(Path("calls") / ("x" * 200 + ".json"))
    assert CallJob.for_path(Path("calls/客服-01.json")).call_id == "客服-01"


# -- 4. output files stay inside the output folder --------------------------------------------


def test_output_names_are_derived_safely(tmp_path: Path) -> None:
    assert ids.file_stem("call-01_a.b") == "call-01_a.b"
    assert ids.file_stem("通话-01") == "通话-01"
    hostile = ["../../etc/x", "..", "a b", "a/b", "a\\b", "a_b", "x" * 300, "x" * 301,
               ".hidden", "_hidden"]
    stems = [ids.file_stem(call_id) for call_id in hostile]
    assert len(set(stems)) == len(stems)  # distinct ids never share a file
    assert all("/" not in s and "\\" not in s and not s.startswith(".") for s in stems)
    assert all(len(s) <= ids.MAX_FILE_STEM + 17 for s in stems)
    # A literal id that looks like a derived name gets its own hash too:
    assert ids.file_stem(ids.file_stem("a/b")) != ids.file_stem("a/b")
    for call_id in hostile:
        assert ids.output_path(tmp_path, call_id).parent == tmp_path.resolve()


def test_emit_never_writes_outside_the_folder(tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    calls._emit({"x": 1}, "../../escaped", str(out_dir), single=False)
    assert [p.parent for p in out_dir.iterdir()] == [out_dir]
    assert not (tmp_path / "escaped.json").exists()
    (out_dir / "linked.json").symlink_to(tmp_path / "outside.json")
    with pytest.raises(UnsafePathError):
        calls._emit({"x": 1}, "linked", str(out_dir), single=False)
    assert not (tmp_path / "outside.json").exists()


# -- 5. malformed ASR cache entries are a miss ------------------------------------------------


@pytest.fixture
def fake_transcriber(settings, monkeypatch: pytest.MonkeyPatch) -> Transcriber:
    """A Transcriber whose decoder is a stand-in: the cache logic is what is tested."""
    fake = Transcriber.__new__(Transcriber)
    fake.settings, fake.model_name = settings, "fake"
    fake.resolved = ResolvedModel("fake", Path("."), True, "f" * 64)
    fake.cache = DiskCache(settings.cache_dir / "asr")
    fake._model = fake._batched = None
    fake.decoded = []  # type: ignore[attr-defined]

    def decode(channel, language: str, options: TranscribeOptions, diarized=None) -> list[dict]:
        fake.decoded.append(channel.channel)  # type: ignore[attr-defined]
        return [{"channel": channel.channel, "speaker": channel.speaker, "start": 0.1,
                 "end": 1.0, "text": "hello", "avg_logprob": -0.1, "no_speech_prob": 0.01}]

    monkeypatch.setattr(fake, "_transcribe_channel", decode)
    return fake


VALID_AUDIO = {"path": "c.wav", "sha256": "ab" * 32, "size_bytes": 1, "container": "wav",
               "codec": "pcm", "sample_rate": 16000, "channels": 2, "duration_s": 1.5}


@pytest.mark.parametrize("entry", [
    {"language": "en"},
    [1, 2, 3],
    {"language": "en", "language_probability": None, "audio": "c.wav", "segments": []},
    {"language": "xx", "language_probability": None, "audio": VALID_AUDIO, "segments": []},
    {"language": "en", "language_probability": None, "audio": VALID_AUDIO, "segments": "s"},
    {"language": "en", "language_probability": None, "audio": VALID_AUDIO,
     "segments": [{"channel": 7, "speaker": "robot", "start": "soon", "text": None}]},
    {"language": "en", "language_probability": None, "audio": VALID_AUDIO,
     "segments": [{"channel": 0, "speaker": "agent", "start": 2.0, "end": 1.0, "text": "x",
                   "avg_logprob": -0.1, "no_speech_prob": 0.0, "language": "en"}]},
])
@pytest.mark.timeout(60)
def test_malformed_cache_entry_is_recomputed(fake_transcriber: Transcriber, tmp_path: Path,
                                             entry: object) -> None:
    call = write(tmp_path / "c.wav", [tone(1.5, 16_000, 300, seed=1),
                                      tone(1.5, 16_000, 700, seed=2)])
    options = replace(TranscribeOptions(), language="en", model="fake")
    key = fake_transcriber._key(file_sha256(call), fake_transcriber._effective(options))
    path = fake_transcriber.cache.path_for(key)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(entry), encoding="utf-8")
    first = fake_transcriber.transcribe_file(call, options=options)
    assert not first.cached and fake_transcriber.decoded == [0, 1]  # type: ignore[attr-defined]
    second = fake_transcriber.transcribe_file(call, options=options)  # the entry was replaced
    assert second.cached and second.segments.equals(first.segments)


# -- 6. wall-clock budget ------------------------------------------------------------------


@pytest.mark.timeout(20)
def test_endless_decoding_stops_at_the_budget() -> None:
    def endless():
        while True:
            yield object()

    with deadline.call_budget(0.05), pytest.raises(CallTimeoutError, match="transcribing"):
        for _ in asr._within_budget(endless()):
            pass


def test_rubric_items_check_the_budget() -> None:
    rubric = from_dict(regex_rubric("a"))
    with deadline.call_budget(1e-6):
        time.sleep(0.01)
        with pytest.raises(CallTimeoutError, match="pattern-item"):
            evaluate(rubric, context(GOOD_CHAT))
