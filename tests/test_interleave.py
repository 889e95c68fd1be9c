from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.speakers.interleave import SAMPLE_RATE, Stretch, assign_words, join_speech


@dataclass
class Word:
    start: float
    end: float
    word: str


@dataclass
class Segment:
    words: list[Word]
    avg_logprob: float = -0.2
    no_speech_prob: float = 0.01


def test_stretches_are_laid_in_time_order_with_gaps_only_at_speaker_changes() -> None:
    agent = np.full(10 * SAMPLE_RATE, 0.1, dtype=np.float32)
    customer = np.full(10 * SAMPLE_RATE, 0.2, dtype=np.float32)
    s = SAMPLE_RATE
    joined, stretches = join_speech([
        (0, "agent", agent, [{"start": 0, "end": 2 * s}, {"start": 3 * s, "end": 4 * s}]),
        (1, "customer", customer, [{"start": 5 * s, "end": 7 * s}]),
    ], gap_s=0.5)
    assert [(x.speaker, x.start_s, x.end_s) for x in stretches] == [
        ("agent", 0.0, 2.0), ("agent", 3.0, 4.0), ("customer", 5.0, 7.0)]
    assert [x.joined_start_s for x in stretches] == [0.0, 2.0, 3.5]  # gap before the customer
    assert len(joined) == int(5.5 * s)  # 2 + 1 + 0.5 gap + 2, nothing trailing
    assert joined[int(3.2 * s)] == 0.0 and joined[int(4 * s)] == np.float32(0.2)


def test_words_go_back_to_their_speaker_and_time() -> None:
    stretches = [Stretch(0, "agent", 10.0, 12.0, 0.0), Stretch(1, "customer", 11.5, 14.0, 2.5)]
    segment = Segment([Word(0.1, 0.9, " Hello"), Word(1.0, 1.8, " there"),
                       Word(2.6, 3.4, " Hi"), Word(3.5, 4.2, " back")])
    rows = assign_words([segment], stretches)
    assert [(r["speaker"], r["text"], r["start"], r["end"]) for r in rows] == [
        ("agent", "Hello there", 10.1, 11.8), ("customer", "Hi back", 11.6, 13.2)]
    assert rows[0]["avg_logprob"] == -0.2


def test_times_are_clamped_inside_the_stretch() -> None:
    stretch = Stretch(0, "agent", 5.0, 6.0, 10.0)
    assert stretch.to_call_time(9.0) == 5.0
    assert stretch.to_call_time(20.0) == 6.0
