"""Role assignment by content and behaviour (pipeline.speakers.roles)."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from pipeline.config import Settings
from pipeline.errors import ModelIntegrityError
from pipeline.speakers.roles import (
    NO_TEXT_CAP,
    UNTRAINED_CAP,
    PartyTurn,
    RoleModelError,
    artifact_dir,
    assign_roles,
    bundled_model,
    check_declared,
    load_model,
)

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
MIN = Settings().speakers.min_role_confidence
SWAP = Settings().speakers.swap_confidence

ZH = [
    ("S1", "您好，这里是顺丰速运客服，请问有什么可以帮您？"),
    ("S2", "我的快递三天了还没到，怎么回事啊"),
    ("S1", "非常抱歉给您带来不便，麻烦您提供一下运单号，我帮您查询一下。"),
    ("S2", "单号是SF1234567890"),
    ("S1", "好的，请您稍等，我这边马上为您核实。"),
]
EN = [
    ("S1", "Thank you for calling customer service, my name is Anna. How can I help you today?"),
    ("S2", "Hi, I was charged twice on my bill this month and I want my money back."),
    ("S1", "I'm sorry to hear that. Could you please confirm your account number for me?"),
    ("S2", "Sure, it's 4417 2290."),
    ("S1", "Thank you. I can see the duplicate charge, and I will refund it today."),
]


def turns(pairs: list[tuple[str, str]], rename: dict[str, str] | None = None) -> list[PartyTurn]:
    rename = rename or {}
    return [PartyTurn(rename.get(p, p), text) for p, text in pairs]


def test_bundled_artifact_loads_and_matches_its_checksum() -> None:
    model = bundled_model()
    meta = json.loads((artifact_dir() / "roles.json").read_text(encoding="utf-8"))
    assert len(model.vocab) == meta["ngrams"] > 10_000
    assert (artifact_dir() / meta["file"]).stat().st_size == meta["size"]


@pytest.mark.parametrize(("damage", "reason"), [
    (lambda b: b[:-10] + bytes(reversed(b[-10:])), "checksum_mismatch"),
    (lambda b: b[:-1], "size_mismatch"),
])
def test_a_tampered_artifact_is_refused(tmp_path: Path, damage, reason: str) -> None:
    copy = tmp_path / "roles"
    shutil.copytree(artifact_dir(), copy)
    weights = copy / "roles.npz"
    weights.write_bytes(damage(weights.read_bytes()))
    with pytest.raises(RoleModelError) as caught:
        load_model(copy)
    assert caught.value.reason == reason
    assert isinstance(caught.value, ModelIntegrityError)


def test_unreadable_metadata_is_refused(tmp_path: Path) -> None:
    copy = tmp_path / "roles"
    shutil.copytree(artifact_dir(), copy)
    (copy / "roles.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(RoleModelError) as caught:
        load_model(copy)
    assert caught.value.reason == "bad_format"


@pytest.mark.parametrize(("pairs", "language"), [(ZH, "zh"), (EN, "en")])
@pytest.mark.parametrize("agent_name", ["S1", "S2"])
def test_a_clear_call_gets_the_right_roles(pairs: list[tuple[str, str]], language: str,
                                           agent_name: str) -> None:
    rename = {} if agent_name == "S1" else {"S1": "S2", "S2": "S1"}
    found = assign_roles(turns(pairs, rename), language, "call")
    assert found.roles == {agent_name: "agent", ("S2" if agent_name == "S1" else "S1"):
                           "customer"}
    assert found.confidence >= MIN
    assert found.status(MIN) == "known"
    assert any("sounds like the agent" in e for e in found.evidence)


@pytest.mark.parametrize(("pairs", "language"), [(ZH, "zh"), (EN, "en")])
def test_declared_layouts_hold_or_are_caught_swapped(pairs: list[tuple[str, str]],
                                                     language: str) -> None:
    declared = {"S1": "agent", "S2": "customer"}
    holds = check_declared(turns(pairs, declared), language, "call")
    assert not holds.swapped and holds.roles == {"agent": "agent", "customer": "customer"}
    swapped = check_declared(turns(pairs, {"S1": "customer", "S2": "agent"}), language, "call")
    assert swapped.swapped and swapped.roles == {"agent": "customer", "customer": "agent"}
    if language == "zh":
        assert swapped.confidence >= SWAP
    with pytest.raises(ValueError):
        check_declared(turns(pairs), language)


def test_one_party_empty_and_wordless_inputs_are_uncertain_not_errors() -> None:
    one = assign_roles(turns(ZH[:1]), "zh")
    assert one.roles == {"S1": "agent"} and one.status(MIN) == "uncertain"
    empty = assign_roles([], "zh")
    assert empty.roles == {} and empty.confidence == 0.5 and empty.status(MIN) == "uncertain"
    silent = assign_roles([PartyTurn("S1", ""), PartyTurn("S2", "  ")], "zh")
    assert len(silent.roles) == 2 and silent.confidence <= NO_TEXT_CAP
    assert check_declared([], "zh").confidence == 0.5


def test_untrained_languages_are_never_confident() -> None:
    found = assign_roles(turns(ZH), "id")
    assert found.confidence <= UNTRAINED_CAP < MIN
    assert any("no training data" in e for e in found.evidence)


def test_start_times_decide_who_speaks_first() -> None:
    # Listed out of order (two channels concatenated); the agent answers first on the clock.
    listed = [PartyTurn("S2", "我的快递还没到", 3.0, 4.0), PartyTurn("S1", "您好", 0.5, 1.0)]
    found = assign_roles(listed, "zh", "call")
    assert "S1 speaks first" in " ".join(found.evidence)


def test_many_turns_cost_little() -> None:
    bundled_model()
    long_call = turns(ZH * 400)
    start = time.perf_counter()
    found = assign_roles(long_call, "zh")
    assert time.perf_counter() - start < 0.5  # a few ms; generous for a busy machine
    assert found.roles["S1"] == "agent"


@pytest.mark.shared_data
@pytest.mark.skipif(not (SHARED_DATA / "stc3").is_dir(),
                    reason=f"shared data not found at {SHARED_DATA}")
def test_validation_dialogues_with_hidden_labels() -> None:
    from pipeline.training.roles import load_dialogues

    validation = [d for d in load_dialogues(SHARED_DATA) if d.split == "validation"][::5]
    right = 0
    for d in validation:
        names = {"agent": "S2", "customer": "S1"}
        found = assign_roles(turns([(names[t.party], t.text) for t in d.turns]), d.language,
                             d.medium)
        right += found.roles.get("S2") == "agent"
    assert right / len(validation) >= 0.98
