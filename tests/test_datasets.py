"""Dataset builders (label mapping per source, on small fixtures), the written weak-label
rules, and the labelled-sample import."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
import pytest
from conftest import SHARED_DATA

from pipeline.bundled.labels import default_labels
from pipeline.store import Store
from pipeline.training.datasets import (
    build_all,
    build_cold,
    build_mobilecs,
    build_musied,
    build_stc3,
    split_of,
)
from pipeline.training.samples import read_samples, training_rows
from pipeline.training.weak_rules import label_text, text_key


def _value(frame: pd.DataFrame, text: str, label: str) -> int:
    return int(frame[(frame.text == text) & (frame.label == label)].value.iloc[0])


def test_labels_yaml_lists_every_label_of_the_issue() -> None:
    labels = default_labels()
    assert [s.short for s in labels.for_speaker("agent")] == [
        "greeting", "identity_check", "restate_problem", "apology_empathy", "offer_solution",
        "confirm_satisfaction", "closing", "rude_or_forbidden"]
    assert [s.short for s in labels.for_speaker("customer")] == [
        "complaint", "dissatisfaction", "threat_escalation", "compensation_demand", "abuse",
        "satisfied"]
    assert "call.category.tariff_dispute" in labels and "call.dissatisfied" in labels


def test_stc3_mapping(tmp_path: Path) -> None:
    dialogue = {"id": "7", "turns": [
        {"sender": "customer", "utterances": ["快递一直不到"]},
        {"sender": "helpdesk", "utterances": ["已为您催促"]},
        {"sender": "customer", "utterances": ["好的谢谢"]}],
        "annotations": [{"quality": {"A": 0, "S": -2, "E": 0},
                         "nugget": ["CNUG0", "HNUG*", "CNUG*"]},
                        {"quality": {"A": 0, "S": 1, "E": 0},
                         "nugget": ["CNUG0", "HNaN", "CNUG*"]},
                        {"quality": {"A": 0, "S": -1, "E": 0},
                         "nugget": ["CNUG", "HNUG", "CNaN"]}]}
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps(dialogue, ensure_ascii=False) + "\n", encoding="utf-8")
    rows = build_stc3(path)
    assert _value(rows, "快递一直不到", "customer.complaint") == 1  # 2 of 3 say CNUG0
    assert _value(rows, "好的谢谢", "customer.satisfied") == 1
    assert _value(rows, "好的谢谢", "customer.complaint") == 0
    assert _value(rows, "已为您催促", "agent.offer_solution") == 1  # HNUG* / HNUG majority
    assert _value(rows, "快递一直不到", "customer.dissatisfaction") == 1  # mean S = -2/3
    call = rows[rows.label == "call.dissatisfied"]
    assert len(call) == 1 and call.value.iloc[0] == 1 and "客服：已为您催促" in call.text.iloc[0]
    assert set(rows.split) == {split_of("stc3:7")}  # the whole dialogue on one side


def test_musied_mapping(tmp_path: Path) -> None:
    docs = [{"id": 1, "domain": "Phone Conversations", "content": [
                "客服:您好,", "用户:饭里有头发,", "用户:而且送来都凉了,"],
             "events": [{"type": "异物", "sent_id": 1}, {"type": "餐凉", "sent_id": 2},
                        {"type": "异物", "sent_id": 1}]},
            {"id": 2, "domain": "Phone Conversations", "content": ["用户:我想改地址,"],
             "events": []}]
    path = tmp_path / "m.json"
    path.write_text(json.dumps(docs, ensure_ascii=False), encoding="utf-8")
    rows = build_musied(path)
    assert _value(rows, "饭里有头发", "customer.complaint") == 1
    assert _value(rows, "我想改地址", "customer.complaint") == 0
    assert "您好" not in set(rows.text)  # agent lines carry no customer label
    category = rows[rows.label.str.startswith("call.category")]
    assert category[category.value == 1].label.tolist() == ["call.category.product_quality"]


def test_mobilecs_and_cold_mapping(tmp_path: Path) -> None:
    calls = [{"id": "a", "content": [
        {"[SPEAKER 1]": "你好很高兴为您服务", "[SPEAKER 2]": "喂", "客服意图": "问候"},
        {"[SPEAKER 1]": "您是说路由器连不上是吧", "[SPEAKER 2]": "对", "客服意图": "主动确认"},
        {"[SPEAKER 1]": "不客气再见", "[SPEAKER 2]": "好", "客服意图": "客套,再见"}]}]
    path = tmp_path / "mobilecs.json"
    path.write_text(json.dumps(calls, ensure_ascii=False), encoding="utf-8")
    rows = build_mobilecs(path)
    assert _value(rows, "你好很高兴为您服务", "agent.greeting") == 1
    assert _value(rows, "你好很高兴为您服务", "agent.closing") == 0
    assert _value(rows, "您是说路由器连不上是吧", "agent.restate_problem") == 1
    assert _value(rows, "不客气再见", "agent.closing") == 1
    cold = tmp_path / "cold"
    cold.mkdir()
    for name in ("train.csv", "dev.csv"):
        with open(cold / name, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["", "split", "topic", "label", "TEXT"])
            writer.writerow([1, "x", "race", 1, f"冒犯的话{name}"])
            writer.writerow([2, "x", "race", 0, f"普通的话{name}"])
    rows = build_cold(cold)
    assert _value(rows, "冒犯的话train.csv", "customer.abuse") == 1
    assert set(rows[rows.text.str.contains("dev")].split) == {"validation"}


@pytest.mark.parametrize(("text", "threat", "compensation"), [
    ("再不处理我就打12315投诉你们", 1, 0),
    ("我要找记者曝光你们", 1, 0),
    ("我已经请了律师准备起诉", 1, 0),
    ("我不会打12315的，你们尽快处理就行", 0, 0),  # negated: a near miss that must not fire
    ("我不想找媒体，只想解决问题", 0, 0),
    ("我要求三倍赔偿", 0, 1),
    ("假一赔十，你们看着办", 0, 1),
    ("我不要赔偿，给我换一个就行", 0, 0),
    ("麻烦帮我退款", 0, 0),  # a refund alone is routine
    ("I will call my lawyer", 1, 0),
    ("I won't sue you, just fix it", 0, 0),
    ("I expect compensation for this", 0, 1),
])
def test_weak_rules(text: str, threat: int, compensation: int) -> None:
    assert label_text(text) == {"customer.threat_escalation": threat,
                                "customer.compensation_demand": compensation}


def test_sample_import_keeps_good_rows_and_reports_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "samples.csv"
    path.write_text("text,label,value,speaker\n"
                    "我要投诉,customer.complaint,1,\n"
                    "您好,greeting,yes,agent\n"
                    ",customer.abuse,1,\n"
                    "嗯,customer.no_such_label,1,\n"
                    "好的,customer.satisfied,maybe,\n", encoding="utf-8")
    result = read_samples(path)
    assert result.kept[["text", "label", "value"]].values.tolist() == [
        ["我要投诉", "customer.complaint", 1], ["您好", "agent.greeting", 1]]
    lines = {p.line: p.reason for p in result.problems}
    assert set(lines) == {4, 5, 6}
    assert "unknown label" in lines[5] and "not 0/1" in lines[6]
    store = Store(f"sqlite:///{tmp_path / 'callqa.db'}")
    assert store.add_samples(result.kept, "import") == 2
    assert store.add_samples(result.kept, "import") == 0  # de-duplicated
    flipped = result.kept.assign(value=1 - result.kept["value"]).iloc[:1]
    assert store.add_samples(flipped, "import") == 0  # replaced: the later value wins
    assert store.add_samples(flipped, "review") == 1  # another origin is kept apart
    rows = training_rows(store.samples(("import",)))
    assert set(rows.task) == {"utterance"} and len(rows) == 2
    assert rows.set_index("text").loc["我要投诉", "value"] == 0


def test_jsonl_import_reports_broken_lines(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text('{"text": "傻逼", "label": "abuse", "speaker": "customer", "value": 1}\n'
                    "not json\n", encoding="utf-8")
    result = read_samples(path)
    assert result.kept.label.tolist() == ["customer.abuse"]
    assert [p.line for p in result.problems] == [2]


@pytest.mark.shared_data
@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=f"{SHARED_DATA} not found")
def test_rule_precision_on_hand_checked_rows() -> None:
    """The hand-checked rows (models/rule_checks.csv) still match the data, and the rules'
    precision on them is what models/README.md reports (threat 26/30, compensation 25/30)."""
    checks = pd.read_csv(Path(__file__).parents[1] / "models" / "rule_checks.csv")
    texts = build_all(SHARED_DATA, task="utterance")
    rules = texts[texts.source == "rules"]
    keyed = {(g, text_key(t)) for g, t in zip(rules.group, rules.text, strict=True)}
    assert all((g, k) in keyed for g, k in zip(checks.group, checks.text_key, strict=True))
    precision = checks.groupby("label").human.mean()
    assert precision["customer.threat_escalation"] == pytest.approx(26 / 30)
    assert precision["customer.compensation_demand"] == pytest.approx(25 / 30)
    # Train and validation never share a dialogue.
    split_per_group = texts.groupby("group").split.nunique()
    assert (split_per_group == 1).all()
