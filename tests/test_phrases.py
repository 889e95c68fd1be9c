"""Phrase matching, including real ASR-style errors."""

from __future__ import annotations

import pytest

from pipeline.phrases import Utterance, find


@pytest.mark.parametrize(("said", "phrase"), [
    ("要求陪偿金额", "赔偿金额"),        # 赔偿 heard as 陪偿 (after the exact first two)
    ("我要求三倍陪偿", "三倍赔偿"),      # 赔偿 heard as 陪偿
    ("请问有什么可以邦您", "请问有什么可以帮您"),  # 帮 heard as 邦
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
    # zh/z and -ng/-n after the first two syllables: 是 shi ~ 四 si, 请 qing ~ 亲 qin
    assert find(Utterance("您反映的四"), "您反映的是", "pinyin") is not None
    assert find(Utterance("请您亲稍等"), "请您请稍等", "pinyin") is not None


@pytest.mark.parametrize(("said", "phrase"), [
    ("请问有什么可以帮您", "还有什么可以帮您"),  # the distinguishing first syllable differs
    ("我知道了", "不知道"),                    # never drop a negation
    ("您好", "你好很高兴"),
    ("您方便的时候", "您反映的是"),            # fang ~ fan folded, but the first two differ
    ("市场停制了", "停滞"),                    # under four syllables: exact only
    ("亲问有什么", "请问有什么"),              # the first two syllables must be exact
])
def test_pinyin_does_not_overreach(said: str, phrase: str) -> None:
    assert find(Utterance(said), phrase, "pinyin") is None


def test_fuzzy_edit_distance() -> None:
    match = find(Utterance("你好很高兴为你服务"), "您好很高兴为您服务", "fuzzy")
    assert match is not None and match.distance == 2
    assert find(Utterance("我知道了"), "不知道", "fuzzy") is None  # 3 chars: exact only
    assert find(Utterance("i apologize for the delay"), "i apologise for the delay",
                "fuzzy") is not None
    assert find(Utterance("i apologize for the delay"), "i apologise for the delay", "fuzzy",
                max_edits=0) is None


@pytest.mark.parametrize(("said", "phrase"), [
    ("they mentioned that it is responsible", "you mentioned that"),  # another word, short
    ("i understand how", "you understand what"),
    ("i will take it", "fake"),                   # a single word is never fuzzy
    ("let me make sure", "fake"),
    ("thanks for calling", "thank you for calling"),  # a word missing is not an ASR slip
    ("we well see", "we will see"),               # short words must be exact
])
def test_latin_fuzzy_is_word_by_word(said: str, phrase: str) -> None:
    assert find(Utterance(said), phrase, "fuzzy") is None


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
