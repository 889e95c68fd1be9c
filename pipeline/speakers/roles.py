"""Which party is the agent: role assignment by what each party says and how it behaves.

Diarization gives anonymous parties ("S1", "S2"), a chat log may come without labels and a
stereo call's declared channel layout may be wrong. Here each turn gets an "agent-likeness"
logit from a character 1-4-gram logistic regression (trained on STC-3 zh/en, MUSIED and
MobileCS by ``pipeline.training.roles``), each party a few features (its mean turn logit, whether
it speaks first — per medium, since on inbound calls the agent answers first and on Weibo
chats the customer writes first), and the parties a conditional logit over those features:
P(party i is the agent) = softmax(w · g_i). The weights were fitted on out-of-fold turn scores,
so ``confidence`` is a calibrated probability that the whole mapping is right
(models/roles.md has the reliability table and the measured thresholds).

Callers remove bot and system parties (IVR prompts, "正在为您转接人工服务") before calling:
the model knows two human roles only, and a bot's templated lines look like an agent's.
Pure numpy at inference: the artifact is a vocabulary and its weights (``models/roles/``),
checked against its recorded size and SHA-256, loaded once per process on first use.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np

from pipeline.errors import ModelNotFoundError, RoleModelError

Role = Literal["agent", "customer"]
Medium = Literal["call", "chat"]
MODEL_NAME = "roles"
# Party features, in the order of the artifact's ``party_weights``. Zero weight = not used.
PARTY_FEATURES = ("content", "first_call", "first_chat", "share_call", "share_chat",
                  "question")
# Languages with training data; elsewhere the n-grams are mostly unknown and the model has
# never been checked, so its confidence is capped below any sensible threshold.
TRAINED_LANGUAGES = ("zh", "en")
UNTRAINED_CAP = 0.75
ONE_PARTY_CAP = 0.8  # one party only: usually a diarization failure, never "known"
NO_TEXT_CAP = 0.6  # behaviour alone (who speaks first) is too weak to act on
MAX_TURN_CHARS = 300  # one turn's n-grams are capped: cost stays linear and small
MAX_PARTY_CHARS = 4000  # per party; the first few minutes decide, later turns add little
_QUESTION = re.compile(r"[?？]|吗|请问|what|how|could you|can i|may i", re.IGNORECASE)
_DIGITS = re.compile(r"\d+")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class PartyTurn:
    party: str
    text: str
    start: float | None = None
    end: float | None = None


@dataclass(frozen=True)
class RoleAssignment:
    roles: dict[str, Role]  # party -> role; exactly one agent when there are >= 2 parties
    confidence: float  # calibrated P(this mapping is right), 0.5..1
    evidence: tuple[str, ...]  # short reasons, for people reviewing the call

    def status(self, min_confidence: float) -> Literal["known", "uncertain"]:
        return "known" if self.roles and self.confidence >= min_confidence else "uncertain"

    @property
    def swapped(self) -> bool:
        """For ``check_declared``: the declared agent is the customer (or vice versa)."""
        return any(party in ("agent", "customer") and role != party
                   for party, role in self.roles.items())


# -- features -------------------------------------------------------------------------------------


def normalize(text: str) -> str:
    """NFKC, lower case, every number one token: digits are order ids and agent ids here,
    which the model must not learn."""
    text = unicodedata.normalize("NFKC", text).lower()
    return _SPACES.sub(" ", _DIGITS.sub("0", text)).strip()


def grams(text: str) -> list[str]:
    """Distinct character 1-4-grams of a turn, with a space at each end so that a turn's
    opening and ending ("^您好", "谢谢^") are features of their own."""
    padded = f" {normalize(text)[:MAX_TURN_CHARS]} "
    if len(padded) <= 2:
        return []
    out = {padded[i:i + n] for n in (1, 2, 3, 4) for i in range(len(padded) - n + 1)}
    out.discard(" ")
    return list(out)


def party_features(turns: Sequence[PartyTurn], logits: np.ndarray, medium: Medium
                   ) -> tuple[list[str], np.ndarray]:
    """Parties in order of appearance and their feature rows (``PARTY_FEATURES``)."""
    parties: list[str] = []
    for turn in turns:
        if turn.party not in parties:
            parties.append(turn.party)
    index = {p: i for i, p in enumerate(parties)}
    table = np.zeros((len(parties), len(PARTY_FEATURES)))
    if not parties:
        return parties, table
    first = _first_party(turns)
    chars = np.zeros(len(parties))
    sums, weights = np.zeros(len(parties)), np.zeros(len(parties))
    questions, counted = np.zeros(len(parties)), np.zeros(len(parties))
    for turn, logit in zip(turns, logits, strict=True):
        i = index[turn.party]
        size = len(turn.text.strip())
        if size == 0:
            continue
        chars[i] += size
        # Length-weighted, with the weight capped: a one-character "嗯" says little, a long
        # turn says more, but one long turn must not drown the rest.
        weight = min(size, 20)
        sums[i] += weight * logit
        weights[i] += weight
        counted[i] += 1
        questions[i] += bool(_QUESTION.search(turn.text))
    table[:, 0] = np.divide(sums, weights, out=np.zeros_like(sums), where=weights > 0)
    column = 1 if medium == "call" else 2
    table[index[first], column] = 1.0
    share = chars / chars.sum() if chars.sum() > 0 else chars
    table[:, 3 if medium == "call" else 4] = share
    table[:, 5] = np.divide(questions, counted, out=np.zeros_like(questions), where=counted > 0)
    return parties, table


def _first_party(turns: Sequence[PartyTurn]) -> str:
    spoken = [t for t in turns if t.text.strip()] or list(turns)
    if all(t.start is not None for t in spoken):
        return min(spoken, key=lambda t: t.start or 0.0).party
    return spoken[0].party


# -- the model ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RoleModel:
    vocab: dict[str, int]
    weights: np.ndarray  # float32, one per vocabulary n-gram
    bias: float
    party_weights: np.ndarray  # one per PARTY_FEATURES
    single: tuple[float, float]  # one party: P(agent) = sigmoid(a * content + b)
    meta: dict

    def turn_logits(self, texts: Sequence[str]) -> np.ndarray:
        out = np.empty(len(texts))
        for row, text in enumerate(texts):
            found = grams(text)
            if not found:
                out[row] = 0.0
                continue
            known = [self.vocab[g] for g in found if g in self.vocab]
            # Unknown n-grams still count in the norm: text the model has never seen (another
            # language) gets a logit near the bias, not a confident one.
            out[row] = self.bias + float(self.weights[known].sum()) / math.sqrt(len(found))
        return out


def artifact_dir() -> Path:
    from pipeline import bundled

    return bundled.path(MODEL_NAME)


def load_model(directory: Path) -> RoleModel:
    """Read and verify a role model folder (``roles.json`` + the ``.npz`` it names)."""
    meta_path = directory / "roles.json"
    if not meta_path.is_file():
        raise ModelNotFoundError(f"role model metadata {meta_path} is missing: reinstall callqa")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        data_path = directory / str(meta["file"])
        size, sha = int(meta["size"]), str(meta["sha256"])
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, ValueError) as exc:
        raise RoleModelError("bad_format", meta_path, f"unreadable metadata: {exc}") from exc
    if not data_path.is_file():
        raise ModelNotFoundError(f"role model weights {data_path} are missing: reinstall callqa")
    blob = data_path.read_bytes()
    if len(blob) != size:
        raise RoleModelError("size_mismatch", data_path,
                             f"{len(blob)} bytes, expected {size}; reinstall callqa")
    digest = hashlib.sha256(blob).hexdigest()
    if digest != sha:
        raise RoleModelError("checksum_mismatch", data_path,
                             f"SHA-256 {digest}, expected {sha}; reinstall callqa")
    try:
        with np.load(data_path, allow_pickle=False) as arrays:
            vocab = [str(g) for g in arrays["vocab"]]
            weights = arrays["weights"].astype(np.float32)
        party = np.array([float(meta["party_weights"][name]) for name in PARTY_FEATURES])
        single = (float(meta["single"]["a"]), float(meta["single"]["b"]))
        bias = float(meta["turn_bias"])
    except (ValueError, KeyError, TypeError, OSError) as exc:
        raise RoleModelError("bad_format", data_path, f"unreadable weights: {exc}") from exc
    if len(vocab) != len(weights):
        raise RoleModelError("bad_format", data_path, "vocabulary and weights differ in length")
    return RoleModel({g: i for i, g in enumerate(vocab)}, weights, bias, party, single, meta)


@lru_cache(maxsize=1)
def bundled_model() -> RoleModel:
    """The shipped model, loaded once per process on first use (~50 ms)."""
    return load_model(artifact_dir())


# -- assignment -----------------------------------------------------------------------------------


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(min(x, 50.0), -50.0)))


def _snippet(text: str, limit: int = 40) -> str:
    text = _SPACES.sub(" ", text).strip()
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _budgeted(turns: Sequence[PartyTurn]) -> list[PartyTurn]:
    """The turns that are scored: each party's first MAX_PARTY_CHARS characters."""
    used: dict[str, int] = {}
    kept = []
    for turn in turns:
        if used.get(turn.party, 0) < MAX_PARTY_CHARS:
            kept.append(turn)
            used[turn.party] = used.get(turn.party, 0) + len(turn.text)
    return kept


def assign_roles(turns: Sequence[PartyTurn], language: str, medium: Medium = "call",
                 model: RoleModel | None = None) -> RoleAssignment:
    """Which party is the agent. Bot/system parties must be removed first (module doc)."""
    model = model or bundled_model()
    turns = _budgeted(turns)
    logits = model.turn_logits([t.text for t in turns])
    parties, table = party_features(turns, logits, medium)
    lang = language.lower().split("-")[0].split("_")[0]
    trained = lang in TRAINED_LANGUAGES
    has_text = any(t.text.strip() for t in turns)
    evidence: list[str] = []
    if not parties:
        return RoleAssignment({}, 0.5, ("no turns",))
    if len(parties) == 1:
        p_agent = _sigmoid(model.single[0] * table[0, 0] + model.single[1])
        role: Role = "agent" if p_agent >= 0.5 else "customer"
        confidence = min(max(p_agent, 1 - p_agent), ONE_PARTY_CAP)
        evidence.append(f"only one party ({parties[0]}): its role is judged by its words alone")
    else:
        scores = table @ model.party_weights
        scores = scores - scores.max()
        probs = np.exp(scores) / np.exp(scores).sum()
        best = int(np.argmax(probs))
        confidence = float(probs[best])
        roles = {p: ("agent" if i == best else "customer") for i, p in enumerate(parties)}
        evidence += _evidence(turns, logits, parties, table, best, medium, model)
    if not has_text:
        confidence = min(confidence, NO_TEXT_CAP)
        evidence.append("no words to judge by")
    if not trained:
        confidence = min(confidence, UNTRAINED_CAP)
        evidence.append(f"no training data in language {language!r}: the roles are a guess")
    confidence = max(0.5, min(confidence, 1.0))
    if len(parties) == 1:
        return RoleAssignment({parties[0]: role}, confidence, tuple(evidence))
    return RoleAssignment(roles, confidence, tuple(evidence))


def _evidence(turns: Sequence[PartyTurn], logits: np.ndarray, parties: list[str],
              table: np.ndarray, best: int, medium: Medium, model: RoleModel) -> list[str]:
    out = []
    agent = parties[best]
    agent_turns = [(lg, t) for lg, t in zip(logits, turns, strict=True)
                   if t.party == agent and t.text.strip()]
    other_turns = [(lg, t) for lg, t in zip(logits, turns, strict=True)
                   if t.party != agent and t.text.strip()]
    if agent_turns:
        logit, turn = max(agent_turns, key=lambda item: item[0])
        out.append(f'{agent} sounds like the agent: "{_snippet(turn.text)}" '
                   f"({_sigmoid(logit):.2f})")
    if other_turns:
        logit, turn = min(other_turns, key=lambda item: item[0])
        out.append(f'{turn.party} sounds like the customer: "{_snippet(turn.text)}" '
                   f"({1 - _sigmoid(logit):.2f})")
    column = 1 if medium == "call" else 2
    first = parties[int(np.argmax(table[:, column]))]
    if model.party_weights[column] != 0:
        usual = "agent" if model.party_weights[column] > 0 else "customer"
        out.append(f"{first} speaks first (on a {medium}, usually the {usual})")
    return out


def check_declared(turns: Sequence[PartyTurn], language: str, medium: Medium = "call",
                   model: RoleModel | None = None) -> RoleAssignment:
    """Turns whose party is the declared role ("agent"/"customer", e.g. from the stereo
    channel layout). ``roles`` maps each declared role to the role found: identity when the
    declaration holds, swapped (``.swapped``) when it does not, with ``confidence``."""
    unknown = {t.party for t in turns} - {"agent", "customer"}
    if unknown:
        raise ValueError(f"declared parties must be 'agent' or 'customer', not {sorted(unknown)}")
    found = assign_roles(turns, language, medium, model)
    if len(found.roles) == 1:
        # One declared side only: its own words say whether it is what it claims to be.
        return found
    if not found.roles:
        return RoleAssignment({"agent": "agent", "customer": "customer"}, 0.5, found.evidence)
    verdict = ("the declared layout holds" if not found.swapped
               else "the declared layout looks swapped")
    return RoleAssignment(found.roles, found.confidence, (verdict, *found.evidence))
