from __future__ import annotations

import pytest

from pipeline.text import (
    TURN_BREAK,
    fuzzy_syllable,
    normalize,
    normalize_text,
    numeral_value,
    query_grams,
    search_grams,
    substantive,
    syllables,
    to_halfwidth,
    to_simplified,
    tokens,
)


@pytest.mark.parametrize(("raw", "expected"), [
    ("您好，很高兴为您服务！", "您好很高兴为您服务"),
    ("這不歸我管", "这不归我管"),
    ("我要打一二三一五投诉", "我要打12315投诉"),
    ("十二点到", "12点到"),
    ("三倍赔偿", "3倍赔偿"),
    ("一百零五块", "105块"),
    ("两千元", "2000元"),
    ("等一下", "等一下"),  # 一 as a word stays
    ("统一处理", "统一处理"),
    ("Ｈｅｌｌｏ，ＷＯＲＬＤ！ 123", "hello world 123"),
    ("Thank you  for calling.", "thank you for calling"),
])
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw).text == expected


def test_normalized_positions_point_back_at_raw_text() -> None:
    n = normalize("好的，我要打一二三一五投诉！")
    start = n.text.index("12315")
    assert n.raw_text(start, start + 5) == "一二三一五"
    assert n.raw_text(0, len(n.text)) == "好的，我要打一二三一五投诉"


@pytest.mark.parametrize(("numeral", "value"), [
    ("十", 10), ("十二", 12), ("二十", 20), ("一百零五", 105), ("三万五千", 35000),
    ("两千", 2000), ("一二三一五", 12315), ("一亿", 100_000_000), ("abc", None),
])
def test_numeral_value(numeral: str, value: int | None) -> None:
    assert numeral_value(numeral) == value


def test_width_and_script() -> None:
    assert to_halfwidth("ＡＢＣ　１２３") == "ABC 123"
    assert to_simplified("請問還有甚麼可以幫您") == "请问还有甚么可以帮您"


def test_homophones_share_pinyin() -> None:
    # Real ASR confusions: 停滞 → 停制, 赔偿 → 陪偿.
    assert syllables(normalize("停滞")).items == syllables(normalize("停制")).items
    assert syllables(normalize("赔偿")).items == syllables(normalize("陪偿")).items
    assert syllables(normalize("12315")).items == ("1", "2", "3", "1", "5")


def test_fuzzy_syllables_fold_southern_accent_confusions() -> None:
    assert fuzzy_syllable("zhi") == fuzzy_syllable("zi")
    assert fuzzy_syllable("shang") == fuzzy_syllable("san")
    assert fuzzy_syllable("ting") == fuzzy_syllable("tin")
    assert fuzzy_syllable("nan") == fuzzy_syllable("lan")
    assert fuzzy_syllable("ma") != fuzzy_syllable("mo")


def test_tokens() -> None:
    assert tokens("我的快递三天没更新了") == ["我", "的", "快递", "3", "天", "没", "更新", "了"]


def _substring_by_grams(query: str, turns: list[str]) -> bool:
    """What the search index answers: the query's grams contiguous in one call's grams."""
    wanted = query_grams(query)
    tokens = search_grams(turns).split(" ")
    if len(wanted) == 1:  # one character: a prefix of some token
        return any(token.startswith(wanted) for token in tokens)
    needle = wanted.split(" ")
    return any(tokens[i:i + len(needle)] == needle for i in range(len(tokens)))


@pytest.mark.parametrize("query", ["投诉", "12315", "一二三一五", "投訴电话", "诉", "话", "好的",
                                   "Refund now", "refundnow", "电话好的", "要打", "ôi"])
def test_search_grams_match_exactly_the_normalised_substrings(query: str) -> None:
    turns = ["我要打一二三一五投诉电话！", "好的。", "REFUND, now!", "Trời ơi"]
    expected = any(normalize_text(query).replace(" ", "") in normalize_text(t).replace(" ", "")
                   for t in turns)
    assert _substring_by_grams(query, turns) == expected
    assert search_grams(turns).count(TURN_BREAK) == 3


def test_search_grams_shapes() -> None:
    assert search_grams(["投诉!", "好"]) == f"投诉 诉 {TURN_BREAK} 好"
    assert search_grams(["。", ""]) == ""
    assert query_grams("打12315") == "打1 12 23 31 15"
    assert query_grams("，诉") == "诉"


@pytest.mark.parametrize(("turn", "says_more"), [
    ("Hello! What is the system version of your phone?", False),
    ("We are sorry for any inconvenience. Which province are you in?", False),
    ("亲亲是这个订单吗", False),
    ("您好，请问您的订单号是多少？", False),
    ("您好,很抱歉给您的使用造成不便.请问您这里在哪些应用中会崩溃呢？谢谢！", False),
    ("很抱歉，给您带来不好的体验了", False),
    ("亲亲确实是非常抱歉了，给您带来这么不好的消费体验了", False),
    ("谢谢！", False),
    ("您好,关于您提及的问题,请问有没有在当地营业厅咨询核实具体的情况呢？谢谢！", False),
    ("十分抱歉给您带来不好的体验,请问之前是通过什么渠道反馈的呢？", False),
    ("您好,我是中国电信广东客服小编,已关注到您的问题,请问您的手机型号是？", False),
    ("Could you tell me who told you that? Please tell me and I am glad to help you.", False),
    ("关于您反映的问题，我们已为您补发", True),  # the topic, then the solution
    ("If the payment is not received, did your bank account receive the refund?", False),
    ("If the payment is not received, we will refund you in full.", True),
    ("如实为您反馈到相关部门，您看可以吗？", True),  # 如实 is no condition
    ("我是专员小李负责为您处理退款", True),  # an introduction that goes on to offer
    ("您好,我是本次为您服务的客服小美_113239", False),
    ("", False),
    ("We are sorry for that. You may open the shortcuts on the lock screen. Does it occur "
     "repeatedly?", True),
    ("我帮您转给专员处理，二十四小时内给您回电，好吗？", True),  # an offer, then a check
    ("我马上帮您催促快递，这样处理您满意吗", True),
    ("I will send a replacement today, okay?", True),
    ("非常抱歉，我们马上为您补发。", True),
    ("您好：请提供下订单号以便查询", False),  # a request for details solves nothing yet
    ("您私信一下您的手机型号和系统版本", False),
    ("您还在线吗亲亲", False),
    ("Please DM us your order number.", False),
    ("Please send the item back and we will refund you in full.", True),
    ("您私信一下订单号，我帮您查询处理", True),
    ("请您重启一下手机试试", True),  # an instruction, not a request for details
])
def test_a_turn_is_substantive_when_it_says_more_than_asking_or_courtesy(
        turn: str, says_more: bool) -> None:
    assert substantive(turn) is says_more
