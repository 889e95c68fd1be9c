"""Classifier code paths with a tiny random-weight transformer: train, save, load, registry,
promotion refusal, rollback, batched cached inference, the CLI, and the rubric/risk wiring."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tiny_models import make_tiny_base
from typer.testing import CliRunner

from pipeline.classify import LabelModel, UtteranceClassifier
from pipeline.cli import app
from pipeline.config import Settings
from pipeline.models.base import resolve_base
from pipeline.models.encoder import Encoder
from pipeline.models.registry import Registry
from pipeline.risk import assess
from pipeline.training.datasets import SAMPLE_COLUMNS
from pipeline.training.heads import choose_by_group_cv
from pipeline.training.train import comparison_table, train_model

POSITIVE = ["我要投诉你们", "我要去12315投诉", "太差了我要投诉", "再不处理就投诉到底",
            "我要投诉快递", "投诉你们客服", "必须投诉", "我一定投诉"]
NEGATIVE = ["谢谢你", "好的没问题", "您好", "嗯嗯", "收到了谢谢", "很满意", "好的再见", "可以的"]


def samples(copies: int = 4) -> pd.DataFrame:
    """Separable toy rows for two labels; every dialogue (group) is wholly in one split."""
    rows = []
    for k in range(copies):
        for i, text in enumerate(POSITIVE + NEGATIVE):
            value = int(i < len(POSITIVE))
            split = "validation" if k == 0 else "train"
            group = f"g{k}-{i}"
            rows.append((f"{text}{'!' * k}", "utterance", "customer.complaint", value, "toy",
                         group, split))
            rows.append((f"{text}{'!' * k}", "utterance", "agent.greeting", 1 - value, "toy",
                         group, split))
    return pd.DataFrame(rows, columns=SAMPLE_COLUMNS)


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_base(tmp_path_factory.mktemp("tiny") / "base")


@pytest.fixture
def encoder(tiny_base: Path, tmp_path: Path) -> Encoder:
    return Encoder(resolve_base(str(tiny_base), tmp_path), layer=2, max_length=16,
                   cache_dir=tmp_path / "features")


@pytest.mark.parametrize("method", ["tfidf", "frozen", "hybrid"])
def test_train_save_load_predicts_the_same(method: str, encoder: Encoder, tmp_path: Path
                                           ) -> None:
    result = train_model(samples(), "utterance", method, "utterance-t1",
                         None if method == "tfidf" else encoder)
    model = result.model
    assert model.labels == ["agent.greeting", "customer.complaint"]
    metrics = result.card["metrics"]["customer.complaint"]
    assert metrics["model"]["n"] == 16 and metrics["baseline"]["auroc"] >= 0.9
    if method != "frozen":  # char n-grams separate the toy rows; random features need not
        assert metrics["model"]["auroc"] >= 0.9
    texts = ["我要投诉你们", "谢谢你"]
    before = model.predict(texts, tmp_path)
    model.save(tmp_path / "v")
    loaded = LabelModel.load(tmp_path / "v")
    if method != "tfidf":
        loaded.attach_encoder(encoder)
    np.testing.assert_allclose(loaded.predict(texts, tmp_path), before, atol=1e-4)
    assert loaded.method == method and loaded.task == "utterance"


def test_labels_without_enough_rows_are_skipped_with_a_reason(encoder: Encoder) -> None:
    rows = samples()
    rare = rows[rows["label"] == "customer.complaint"].assign(label="customer.abuse")
    rare.loc[rare.index[3:], "value"] = 0
    result = train_model(pd.concat([rows, rare]), "utterance", "tfidf", "v", None)
    assert "customer.abuse" in result.skipped and "customer.abuse" not in result.model.labels
    table = comparison_table(result.card)
    assert set(table["label"]) == {"agent.greeting", "customer.complaint"}


def test_classifier_batches_caches_and_filters_by_speaker(encoder: Encoder, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    model = train_model(samples(), "utterance", "hybrid", "utterance-t1", encoder).model
    classifier = UtteranceClassifier(model, tmp_path, tmp_path / "cache")
    calls: list[int] = []
    original = model.predict

    def counting(texts, *args, **kwargs):
        calls.append(len(texts))
        return original(texts, *args, **kwargs)

    monkeypatch.setattr(model, "predict", counting)
    texts = ["我要投诉你们", "您好", "我要投诉你们"]
    first = classifier.classify(texts, ["customer", "agent", "unknown"])
    assert calls == [2]  # one batch, duplicates classified once
    assert set(first[0]) == {"customer.complaint"} and set(first[1]) == {"agent.greeting"}
    assert set(first[2]) == {"customer.complaint", "agent.greeting"}  # unknown speaker: both
    assert first[0]["customer.complaint"] > 0.5
    again = UtteranceClassifier(model, tmp_path, tmp_path / "cache").classify(
        texts, ["customer", "agent", "unknown"])
    assert calls == [2] and again == first  # served from the cache


def _registered(registry: Registry, version: str, auroc: float, champion: str | None) -> None:
    model = train_model(samples(), "utterance", "tfidf", version, None).model
    card = {**model.card, "version": version, "champion": champion}
    for entry in card["metrics"].values():
        entry["model"] = {**entry["model"], "auroc": auroc}
        if champion:
            entry["champion"] = {**entry["model"], "auroc": 0.9}
    model.version = version
    registry.add(model, card)


def test_registry_promotes_refuses_worse_and_rolls_back(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "registry")
    _registered(registry, "utterance-a", 0.9, None)
    assert registry.promote("utterance-a").promoted
    _registered(registry, "utterance-b", 0.85, "utterance-a")
    refused = registry.promote("utterance-b")
    assert not refused.promoted and "< champion" in refused.reason
    assert registry.champion("utterance") == "utterance-a"
    assert registry.promote("utterance-b", force=True).promoted
    assert registry.champion("utterance") == "utterance-b"
    assert registry.rollback("utterance") == "utterance-a"
    assert registry.champion("utterance") == "utterance-a"
    _registered(registry, "utterance-c", 0.95, "utterance-a")
    assert registry.promote("utterance-c").promoted
    events = [json.loads(line)["event"] for line in
              (tmp_path / "registry" / "history.jsonl").read_text().splitlines()]
    assert events.count("promoted") == 3 and "rollback" in events
    assert (tmp_path / "registry" / "utterance-c" / "CARD.md").read_text().startswith("# utter")


def test_a_challenger_never_compared_with_the_champion_is_refused(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "registry")
    _registered(registry, "utterance-a", 0.9, None)
    registry.promote("utterance-a")
    _registered(registry, "utterance-b", 0.99, None)  # trained before a champion existed
    decision = registry.promote("utterance-b")
    assert not decision.promoted and "not compared" in decision.reason


def test_train_classify_and_models_cli(env_home: Settings, tmp_path: Path) -> None:
    runner = CliRunner()
    data = tmp_path / "samples.csv"
    samples().rename(columns={}).drop(columns=["task", "split"]).to_csv(data, index=False)
    result = runner.invoke(app, ["train", "--method", "tfidf", "--import", str(data),
                                 "--data", str(tmp_path / "no-public-data")])
    assert result.exit_code == 0, result.output
    assert "promoted: no champion yet" in result.output
    listing = runner.invoke(app, ["models", "list"])
    assert listing.exit_code == 0 and "*" in listing.output
    version = Registry(env_home.classify.registry).champion("utterance")
    assert Registry(env_home.classify.registry).card(version)["labels"] == [
        "agent.greeting", "customer.complaint"]
    shown = runner.invoke(app, ["models", "show", version])
    assert "TF-IDF baseline" in shown.output
    lines = tmp_path / "in.jsonl"
    lines.write_text('{"text": "我要投诉你们", "speaker": "customer"}\n'
                     '{"text": "您好", "speaker": "agent"}\n'
                     '{"text": 5, "speaker": "robot"}\n', encoding="utf-8")
    outfile = tmp_path / "out.jsonl"
    classified = runner.invoke(app, ["classify", "--input", str(lines), "--output", str(outfile)])
    assert classified.exit_code == 1 and "line 3" in classified.output  # bad line reported
    rows = [json.loads(line) for line in outfile.read_text(encoding="utf-8").splitlines()]
    assert list(rows[0]["labels"]) == ["complaint"] and rows[0]["labels"]["complaint"] > 0.5
    assert list(rows[1]["labels"]) == ["greeting"]
    # A second identical run: same rows, same metrics — not worse, so it is promoted.
    again = runner.invoke(app, ["train", "--method", "tfidf", "--import", str(data),
                                "--data", str(tmp_path / "no-public-data")])
    assert again.exit_code == 0, again.output
    assert "promoted: mean AUROC" in again.output
    assert runner.invoke(app, ["models", "rollback"]).exit_code == 0
    assert Registry(env_home.classify.registry).champion("utterance") == version


def test_scorer_uses_the_champion_for_label_conditions_and_risk(env_home: Settings,
                                                                tmp_path: Path) -> None:
    from pipeline.batch.manifest import CallJob
    from pipeline.batch.scorer import Scorer
    from pipeline.models.registry import registry_for

    registry = registry_for(env_home)
    rows = samples()
    threat = rows[rows["label"] == "customer.complaint"].assign(
        label="customer.threat_escalation")
    model = train_model(pd.concat([rows, threat]), "utterance", "tfidf", "utterance-x",
                        None).model
    registry.add(model, model.card)
    registry.promote("utterance-x")
    call = {"call_id": "c1", "language": "zh", "turns": [
        {"speaker": "agent", "text": "您好", "start": 0.0, "end": 1.0},
        {"speaker": "customer", "text": "我要投诉你们", "start": 1.5, "end": 3.0},
    ]}
    path = tmp_path / "c1.json"
    path.write_text(json.dumps(call, ensure_ascii=False), encoding="utf-8")
    card = Scorer(env_home).score(CallJob("c1", path))
    assert card.inspection["model_versions"]["classifier"] == "utterance-x"
    reasons = [r["rule"] for r in card.inspection["risk_reasons"]]
    assert "model:customer.threat_escalation" in reasons


def test_model_risk_reason_is_not_double_counted_with_a_rule() -> None:
    turns = pd.DataFrame([{"idx": 0, "speaker": "customer", "start": 0.0, "end": 2.0,
                           "raw_text": "我要打12315投诉你们"}])
    labels = pd.DataFrame([{"idx": 0, "label": "customer.threat_escalation",
                            "probability": 0.99}])
    risk = assess(turns, labels=labels)
    assert [r.category for r in risk.reasons] == ["threat_regulator"]
    calm = pd.DataFrame([{"idx": 0, "speaker": "customer", "start": 0.0, "end": 2.0,
                          "raw_text": "这事没完"}])
    risk = assess(calm, labels=labels)
    assert [r.rule for r in risk.reasons] == ["model:customer.threat_escalation"]
    assert risk.reasons[0].evidence[0].text == "这事没完"


def test_group_cv_picks_the_informative_candidate_and_keeps_the_default_when_data_is_thin(
) -> None:
    rng = np.random.default_rng(0)
    y = np.array([0, 1] * 60)
    groups = np.repeat(np.arange(30), 4)
    signal = np.c_[y + rng.normal(0, 0.5, len(y)), rng.normal(size=len(y))]
    noise = rng.normal(size=(len(y), 2))

    def features(candidate: str, rows: np.ndarray) -> np.ndarray:
        return (noise if candidate == "noise" else signal)[rows]

    chosen, score = choose_by_group_cv(["noise", "signal"], features, y, groups,
                                       c_of=lambda _: 1.0)
    assert chosen == "signal" and score is not None and score > 0.8
    few = np.r_[np.ones(5, dtype=int), np.zeros(len(y) - 5, dtype=int)]
    assert choose_by_group_cv(["noise", "signal"], features, few, groups,
                              c_of=lambda _: 1.0) == ("noise", None)


def test_a_missing_registry_is_an_error_not_silence(tmp_path: Path) -> None:
    from pipeline.config import Settings
    from pipeline.errors import ConfigError
    from pipeline.models.registry import load_classifier

    lost = {"registry": tmp_path / "no-such-registry"}
    with pytest.raises(ConfigError, match=r"classify\.registry"):
        load_classifier(Settings(home=tmp_path, classify=lost))
    assert load_classifier(Settings(home=tmp_path, classify={**lost, "enabled": False})) is None


def test_the_default_registry_and_rubrics_come_with_the_package() -> None:
    from pipeline import bundled
    from pipeline.config import Settings

    assert Settings().classify.registry == bundled.path("registry")
    assert (bundled.path("registry") / "registry.json").is_file()
    assert {p.stem for p in bundled.path("rubrics").glob("*.yaml")} >= {"ecommerce-zh",
                                                                       "ecommerce-en"}


def test_the_method_setting_offers_exactly_the_registered_methods() -> None:
    """``classify.method`` is spelled out in config (importing classify there would pull in
    scikit-learn); this keeps the two lists in step."""
    from typing import get_args

    from pipeline.classify import METHODS
    from pipeline.config import ClassifySettings

    assert set(get_args(ClassifySettings.model_fields["method"].annotation)) == set(METHODS)
