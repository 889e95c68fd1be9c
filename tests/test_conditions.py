"""Every condition type, judged on one hand-built call."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline.conversation import measure, turns_from_document
from pipeline.rubric.conditions import CONDITIONS, CallContext, parse

CALL = {"call_id": "C1", "language": "zh", "turns": [
    {"speaker": "agent", "start": 0.5, "end": 3.0, "text": "您好，很高兴为您服务"},
    {"speaker": "customer", "start": 3.5, "end": 8.0, "text": "我的快递三天了还没收到，我要投诉"},
    {"speaker": "agent", "start": 8.5, "end": 12.0,
     "text": "非常抱歉，您的意思是快递一直没更新对吗"},
    {"speaker": "customer", "start": 12.5, "end": 13.0, "text": "对"},
    {"speaker": "agent", "start": 25.0, "end": 29.0,
     "text": "我马上帮您催促快递，这样处理您满意吗"},
    {"speaker": "customer", "start": 29.5, "end": 30.5, "text": "好吧"},
    {"speaker": "agent", "start": 31.0, "end": 33.0, "text": "感谢您的来电，再见"},
]}


@pytest.fixture
def ctx() -> CallContext:
    turns = turns_from_document(CALL)
    labels = pd.DataFrame([{"idx": 1, "label": "customer.complaint", "probability": 0.9},
                           {"idx": 2, "label": "agent.restate_problem", "probability": 0.8}])
    return CallContext("C1", "zh", turns, measure(turns, "zh", 34.0), labels)


def judge(spec: dict, ctx: CallContext):
    return parse(spec, "pass_if").evaluate(ctx)


def test_every_registered_type_is_tested_here() -> None:
    tested = {"any_phrase", "all_phrases", "no_phrase", "regex", "metric", "count", "label",
              "sequence", "all", "any", "not",
              "similar_to", "resolution", "outcome"}  # in test_similarity.py, test_outcomes.py
    assert set(CONDITIONS) == tested


def test_any_phrase_with_scope_and_evidence(ctx: CallContext) -> None:
    result = judge({"speaker": "agent", "within_first_s": 15, "any_phrase": ["您好"]}, ctx)
    assert result.value is True
    (evidence,) = result.evidence
    assert (evidence.idx, evidence.start, evidence.end) == (0, 0.5, 3.0)
    assert "您好" in evidence.why
    late = judge({"speaker": "agent", "within_first_s": 15, "any_phrase": ["感谢您的来电"]}, ctx)
    assert late.value is False and "first 15 s" in late.searched
    assert late.window.start == 0.5 and late.window.end == 12.0


def test_speaker_filter(ctx: CallContext) -> None:
    assert judge({"speaker": "customer", "any_phrase": ["投诉"]}, ctx).value is True
    assert judge({"speaker": "agent", "any_phrase": ["投诉"]}, ctx).value is False


def test_positions_and_last_seconds(ctx: CallContext) -> None:
    assert judge({"first_turns": 1, "any_phrase": ["您好"]}, ctx).value is True
    assert judge({"last_turns": 1, "any_phrase": ["再见"]}, ctx).value is True
    assert judge({"last_turns": 1, "any_phrase": ["您好"]}, ctx).value is False
    assert judge({"within_last_s": 10, "any_phrase": ["满意吗"]}, ctx).value is True
    assert judge({"within_last_s": 10, "any_phrase": ["抱歉"]}, ctx).value is False


def test_all_and_no_phrases(ctx: CallContext) -> None:
    assert judge({"all_phrases": ["您好", "再见"]}, ctx).value is True
    missing = judge({"all_phrases": ["您好", "工号"]}, ctx)
    assert missing.value is False and "工号" in missing.searched
    assert judge({"speaker": "agent", "no_phrase": ["不归我管"]}, ctx).value is True
    hit = judge({"speaker": "agent", "no_phrase": ["抱歉"]}, ctx)
    assert hit.value is False and hit.evidence[0].idx == 2


def test_fuzzy_modes_reach_asr_errors(ctx: CallContext) -> None:
    assert judge({"any_phrase": ["催cu快递"]}, ctx).value is False
    assert judge({"any_phrase": ["摧促快递"], "fuzzy": "pinyin"}, ctx).value is True


def test_regex(ctx: CallContext) -> None:
    result = judge({"speaker": "customer", "regex": r"\d+天|[一二三四五六七八九十]+天"}, ctx)
    assert result.value is True and "三天" in result.evidence[0].why


def test_metric(ctx: CallContext) -> None:
    dead_air = judge({"metric": "max_silence_s", "gt": 10}, ctx)
    assert dead_air.value is True  # 13.0 → 25.0
    assert (dead_air.evidence[0].start, dead_air.evidence[0].end) == (13.0, 25.0)
    assert judge({"metric": "max_silence_s", "gt": 15}, ctx).value is False
    assert judge({"metric": "agent.overtalk_count", "ge": 1}, ctx).value is False
    assert judge({"metric": "turns", "ge": 5, "le": 7}, ctx).value is True


def test_count(ctx: CallContext) -> None:
    assert judge({"count": {"speaker": "agent", "any_phrase": ["您"]}, "ge": 3}, ctx).value
    assert not judge({"count": {"speaker": "agent", "any_phrase": ["您"]}, "ge": 5}, ctx).value


def test_label(ctx: CallContext) -> None:
    assert judge({"label": "customer.complaint"}, ctx).value is True
    assert judge({"label": "customer.complaint", "min_prob": 0.95}, ctx).value is False
    assert judge({"speaker": "agent", "label": "customer.complaint"}, ctx).value is False


def test_label_on_a_turn_that_only_asks_does_not_count_when_told(ctx: CallContext) -> None:
    # Turn 2 restates by asking ("…对吗"); turn 4 offers, then asks ("…您满意吗"): only 2 asks.
    ctx.labels = pd.DataFrame([{"idx": 2, "label": "agent.offer_solution", "probability": 0.9}])
    spec = {"label": "agent.offer_solution", "substantive": True}
    result = judge(spec, ctx)
    assert result.value is False and "only ask" in result.searched
    assert judge({"label": "agent.offer_solution"}, ctx).value is True
    ctx.labels = pd.DataFrame([{"idx": 4, "label": "agent.offer_solution", "probability": 0.9}])
    assert [e.idx for e in judge(spec, ctx).evidence] == [4]


def test_label_without_classifier_output_is_not_judged(ctx: CallContext) -> None:
    ctx.labels = None
    result = judge({"label": "customer.complaint"}, ctx)
    assert result.value is None and "no classifier output" in result.reason


def test_sequence_in_order(ctx: CallContext) -> None:
    steps = {"sequence": [{"speaker": "agent", "any_phrase": ["您的意思是"]},
                          {"speaker": "agent", "any_phrase": ["帮您催促"]},
                          {"speaker": "agent", "any_phrase": ["满意吗"]}]}
    result = judge(steps, ctx)
    assert result.value is True
    assert [e.idx for e in result.evidence] == [2, 4, 4]
    assert [e.why[:6] for e in result.evidence] == ["step 1", "step 2", "step 3"]


def test_sequence_out_of_order_fails(ctx: CallContext) -> None:
    steps = {"sequence": [{"any_phrase": ["满意吗"]}, {"any_phrase": ["您的意思是"]}]}
    # 满意吗 is in turn 4, 您的意思是 only in turn 2: out of order.
    result = judge(steps, ctx)
    assert result.value is False and "step 2 of 2 not found after step 1" in result.searched


def test_sequence_label_shorthand(ctx: CallContext) -> None:
    assert judge({"sequence": ["customer.complaint", "agent.restate_problem"]}, ctx).value
    ctx.labels = None
    assert judge({"sequence": ["customer.complaint", "agent.restate_problem"]}, ctx).value is None


def test_combinators_judge_what_can_be_judged(ctx: CallContext) -> None:
    ctx.labels = None
    either = {"any": [{"label": "customer.complaint"}, {"any_phrase": ["投诉"]}]}
    assert judge(either, ctx).value is True  # the label cannot be judged; the phrase can
    both = {"all": [{"label": "customer.complaint"}, {"any_phrase": ["没有这句"]}]}
    assert judge(both, ctx).value is False
    assert judge({"all": [{"label": "customer.complaint"}]}, ctx).value is None
    assert judge({"not": {"any_phrase": ["投诉"]}}, ctx).value is False
    assert judge({"not": {"label": "customer.complaint"}}, ctx).value is None


def test_chat_log_time_windows_fall_back_to_turns() -> None:
    chat = {"call_id": "chat", "language": "zh", "turns": [
        {"speaker": "customer", "text": "在吗"}, {"speaker": "agent", "text": "您好，在的"},
        {"speaker": "customer", "text": "好的"}, {"speaker": "agent", "text": "再见"}]}
    turns = turns_from_document(chat)
    ctx = CallContext("chat", "zh", turns, measure(turns, "zh"))
    greeting = judge({"speaker": "agent", "within_first_s": 15, "any_phrase": ["您好"]}, ctx)
    assert greeting.value is True and "no timestamps" in greeting.searched
    silence = judge({"metric": "max_silence_s", "gt": 10}, ctx)
    assert silence.value is None and "no timestamps" in silence.reason


# -- speaker roles unknown (mono) and machine turns (chat bots) ------------------------------


def mono(labels: pd.DataFrame | None = None, roles: str | None = None) -> CallContext:
    """CALL as a mono recording gives it: the same words and times, every speaker unknown."""
    document = {**CALL, "turns": [{**turn, "speaker": "unknown"} for turn in CALL["turns"]]}
    turns = turns_from_document(document)
    return CallContext("C1", "zh", turns, measure(turns, "zh", 34.0, roles=roles), labels)


@pytest.mark.parametrize("spec", [
    {"speaker": "agent", "within_first_s": 15, "any_phrase": ["您好"]},
    {"speaker": "agent", "no_phrase": ["不归我管"]},
    {"speaker": "customer", "regex": "投诉"},
    {"count": {"speaker": "agent", "any_phrase": ["您"]}, "ge": 1},
    {"sequence": [{"speaker": "agent", "any_phrase": ["您的意思是"]},
                  {"speaker": "agent", "any_phrase": ["满意吗"]}]},
    {"label": "agent.restate_problem"},
    {"metric": "agent.overtalk_count", "ge": 2},
    {"metric": "agent.speech_rate", "gt": 280},
    {"metric": "first_response_latency_s", "gt": 5},
    {"any": [{"speaker": "agent", "any_phrase": ["再见"]},
             {"speaker": "agent", "regex": "还有"}]},
])
def test_role_conditions_cannot_be_judged_without_roles(spec: dict) -> None:
    labels = pd.DataFrame([{"idx": 2, "label": "agent.restate_problem", "probability": 0.8}])
    result = judge(spec, mono(labels))
    assert result.value is None  # na, not a fail for "no agent turns" nor a free pass
    assert result.reason.startswith("speaker roles unknown")
    assert result.reason.count("speaker roles unknown") == 1  # said once, not per part


def test_conditions_about_everyone_are_still_judged_without_roles() -> None:
    ctx = mono()
    assert ctx.roles == "unknown"
    assert judge({"any_phrase": ["不归我管"]}, ctx).value is False
    assert judge({"within_first_s": 15, "any_phrase": ["您好"]}, ctx).value is True
    assert judge({"metric": "max_silence_s", "gt": 10}, ctx).value is True


def test_overtalk_is_unmeasured_on_one_channel() -> None:
    ctx = mono()
    result = judge({"metric": "overtalk_total", "ge": 1}, ctx)
    assert result.value is None and "one channel" in result.reason
    assert ctx.metrics.overtalk_count == {"agent": None, "customer": None}
    assert ctx.metrics.talk_time_s == {"agent": None, "customer": None}


def test_uncertain_roles_are_not_judged_either() -> None:
    """The hook for a later role assigner: roles given over what the turns say."""
    ctx = CallContext("C1", "zh", turns_from_document(CALL),
                      measure(turns_from_document(CALL), "zh", 34.0, roles="uncertain"))
    assert judge({"speaker": "agent", "any_phrase": ["您好"]}, ctx).value is None
    assert judge({"metric": "overtalk_total", "ge": 0}, ctx).value is True  # two speakers


def test_a_bots_line_is_not_the_agents() -> None:
    chat = {"call_id": "chat", "language": "zh", "turns": [
        {"speaker": "bot", "text": "您好，很高兴为您服务"},
        {"speaker": "system", "text": "已为您转接人工客服"},
        {"speaker": "customer", "text": "我的快递怎么还没到"},
        {"speaker": "agent", "text": "我帮您查一下"}]}
    turns = turns_from_document(chat)
    labels = pd.DataFrame([{"idx": 0, "label": "agent.greeting", "probability": 0.99}])
    ctx = CallContext("chat", "zh", turns, measure(turns, "zh"), labels)
    assert ctx.roles == "known"
    assert judge({"speaker": "agent", "any_phrase": ["您好"]}, ctx).value is False
    assert judge({"label": "agent.greeting"}, ctx).value is False
    assert judge({"any_phrase": ["您好"]}, ctx).value is True  # said by anyone: the bot
