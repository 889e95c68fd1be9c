"""Phrase matching, including real ASR-style errors."""

from __future__ import annotations

import pytest

from pipeline.phrases import Utterance, find


@pytest.mark.parametrize(("said", "phrase"), [
    ("市场停制了", "停滞"),            # 停滞 heard as 停制
    ("我要求三倍陪偿", "三倍赔偿"),      # 赔偿 heard as 陪偿
    ("感谢你的来电", "感谢您的来电"),    # 您 heard as 你 (inside the phrase)
    ("我要打一二三一五投訴", "12315"),   # numerals, Traditional script
    ("这个事情不规我管", "不归我管"),    # 归 heard as 规
])
def test_pinyin_matches_homophone_errors(said: str, phrase: str) -> None:
    assert find(Utterance(said), phrase, "exact") is None or phrase == "12315"
    match = find(Utterance(said), phrase, "pinyin")
    assert match is not None
    assert match.text in said


def test_pinyin_folds_accent_confusions() -> None:
    # zh/z and -ng/-n: 是 shi ~ 四 si; 请 qing ~ 亲 qin
    assert find(Utterance("亲问有什么可以帮您"), "请问", "pinyin") is not None


@pytest.mark.parametrize(("said", "phrase"), [
    ("请问有什么可以帮您", "还有什么可以帮您"),  # the distinguishing first syllable differs
    ("我知道了", "不知道"),                    # never drop a negation
    ("您好", "你好很高兴"),
])
def test_pinyin_does_not_overreach(said: str, phrase: str) -> None:
    assert find(Utterance(said), phrase, "pinyin") is None


def test_fuzzy_edit_distance() -> None:
    match = find(Utterance("你好很高兴为你服务"), "您好很高兴为您服务", "fuzzy")
    assert match is not None and match.distance == 2
    assert find(Utterance("我知道了"), "不知道", "fuzzy") is None  # 3 chars: exact only
    assert find(Utterance("thanks for calling"), "thank you for calling", "fuzzy") is not None
    assert find(Utterance("thanks for calling"), "thank you for calling", "fuzzy",
                max_edits=1) is None


def test_latin_words_match_whole_words() -> None:
    assert find(Utterance("this is his"), "hi") is None
    assert find(Utterance("Hi, thanks!"), "hi") is not None
    assert find(Utterance("123150"), "12315") is None
    assert find(Utterance("打12315投诉"), "12315") is not None


def test_match_points_at_the_raw_words() -> None:
    said = "好的，我要打一二三一五投诉！"
    match = find(Utterance(said), "12315")
    assert match is not None
    assert said[match.start:match.end] == "一二三一五" == match.text
