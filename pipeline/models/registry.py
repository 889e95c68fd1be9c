"""Model registry: every trained classifier is a version; one per task is the champion.

Layout under the registry root::

    registry.json           {"utterance": {"champion": V, "history": [V0, V1, ...]}, ...}
    <version>/model.json    what LabelModel.load needs
    <version>/heads.safetensors, tfidf.json
    <version>/card.json     base, method, data, per-label metrics, training time
    <version>/CARD.md       the same, for people

Promotion rule: a challenger is refused when, on the validation rows both were scored on, its
mean AUROC over the labels both predict is below the champion's, or any such label drops by
more than ``max_label_drop``; ``force`` overrides. ``rollback`` re-instates the previous
champion. Every change is appended to ``history.jsonl`` with a time and a reason.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from filelock import FileLock

from pipeline.classify import LabelModel, UtteranceClassifier
from pipeline.config import Settings
from pipeline.errors import CallqaError, ConfigError
from pipeline.support.fsutil import atomic_open, write_json


class RegistryError(CallqaError):
    pass


log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Decision:
    promoted: bool
    reason: str


class Registry:
    def __init__(self, root: Path, max_label_drop: float = 0.02) -> None:
        self.root = root
        self.max_label_drop = max_label_drop

    # -- state ------------------------------------------------------------------------------

    def _state(self) -> dict:
        path = self.root / "registry.json"
        if not path.is_file():
            return {}
        return json.loads(path.read_text(encoding="utf-8"))

    def _write_state(self, state: dict, event: dict) -> None:
        write_json(self.root / "registry.json", state)
        event = {"at": datetime.now(UTC).isoformat(timespec="seconds"), **event}
        with open(self.root / "history.jsonl", "a", encoding="utf-8") as handle:
            handle.write(json.dumps(event, ensure_ascii=False) + "\n")

    def _lock(self) -> FileLock:
        self.root.mkdir(parents=True, exist_ok=True)
        return FileLock(str(self.root / ".registry.lock"))

    def versions(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if (p / "model.json").is_file())

    def card(self, version: str) -> dict:
        path = self.root / version / "card.json"
        if not path.is_file():
            raise RegistryError(f"no model version {version!r} in {self.root}")
        return json.loads(path.read_text(encoding="utf-8"))

    def champion(self, task: str) -> str | None:
        return self._state().get(task, {}).get("champion")

    def load(self, version: str) -> LabelModel:
        if version not in self.versions():
            raise RegistryError(f"no model version {version!r} in {self.root}")
        return LabelModel.load(self.root / version)

    def load_champion(self, task: str) -> LabelModel | None:
        version = self.champion(task)
        return self.load(version) if version else None

    # -- changes ----------------------------------------------------------------------------

    def add(self, model: LabelModel, card: dict) -> Path:
        """Save a trained model as a new (not promoted) version."""
        with self._lock():
            target = self.root / model.version
            if target.exists():
                raise RegistryError(f"version {model.version!r} already exists")
            staging = self.root / f".{model.version}.partial"
            shutil.rmtree(staging, ignore_errors=True)
            model.save(staging)
            write_json(staging / "card.json", card)
            with atomic_open(staging / "CARD.md", "w") as handle:
                handle.write(render_card(card))
            staging.rename(target)
            self._write_state(self._state(), {"event": "added", "version": model.version})
        return target

    def decide(self, version: str) -> Decision:
        """Would ``version`` be promoted over its task's champion? (No change is made.)"""
        card = self.card(version)
        champion = self.champion(card["task"])
        if champion is None:
            return Decision(True, "no champion yet")
        if champion == version:
            return Decision(False, f"{version} is already the champion")
        pairs = [(label, m["model"]["auroc"], m["champion"]["auroc"])
                 for label, m in card["metrics"].items()
                 if "model" in m and "champion" in m and card.get("champion") == champion
                 and not math.isnan(m["model"]["auroc"]) and not math.isnan(m["champion"]["auroc"])]
        if not pairs:
            return Decision(False, f"{version} was not compared with the champion {champion} on "
                                   "the same validation rows; retrain it or use --force")
        mine = sum(p[1] for p in pairs) / len(pairs)
        theirs = sum(p[2] for p in pairs) / len(pairs)
        drops = [f"{label} {a:.3f} < {b:.3f}" for label, a, b in pairs
                 if a < b - self.max_label_drop]
        if mine < theirs:
            return Decision(False, f"mean AUROC {mine:.4f} < champion {champion} {theirs:.4f} "
                                   f"over {len(pairs)} label(s)")
        if drops:
            return Decision(False, "worse than the champion on " + "; ".join(drops))
        return Decision(True, f"mean AUROC {mine:.4f} ≥ champion {champion} {theirs:.4f} over "
                              f"{len(pairs)} label(s), no label drops more than "
                              f"{self.max_label_drop:g}")

    def promote(self, version: str, force: bool = False) -> Decision:
        with self._lock():
            decision = self.decide(version)
            if not decision.promoted and not force:
                return decision
            task = self.card(version)["task"]
            state = self._state()
            entry = state.setdefault(task, {"champion": None, "history": []})
            entry["champion"] = version
            entry["history"].append(version)
            reason = decision.reason if decision.promoted else f"forced: {decision.reason}"
            self._write_state(state, {"event": "promoted", "version": version, "task": task,
                                      "reason": reason})
            return Decision(True, reason)

    def rollback(self, task: str) -> str:
        """Make the previous champion of ``task`` the champion again; returns it."""
        with self._lock():
            state = self._state()
            history = state.get(task, {}).get("history", [])
            if len(history) < 2:
                raise RegistryError(f"no earlier {task} champion to roll back to")
            dropped = history.pop()
            state[task]["champion"] = history[-1]
            self._write_state(state, {"event": "rollback", "task": task, "from": dropped,
                                      "to": history[-1]})
            return history[-1]


def new_version(task: str, taken: list[str] | None = None) -> str:
    """``<task>-<UTC time>``, with a counter when that second is already taken."""
    stem = f"{task}-{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}"
    taken_set = set(taken or ())
    version, n = stem, 1
    while version in taken_set:
        n += 1
        version = f"{stem}-{n}"
    return version


def render_card(card: dict) -> str:
    lines = [f"# {card['version']}", "",
             f"- task: {card['task']}", f"- method: {card['method']}",
             f"- base: {json.dumps(card.get('base'), ensure_ascii=False)}",
             f"- created: {card['created_at']}",
             f"- training time: {card['training_seconds']} s "
             f"(features {card.get('feature_seconds', 0)} s)",
             f"- compared with champion: {card.get('champion')}", "", "## Data", ""]
    for source, info in card["data"]["sources"].items():
        lines.append(f"- {source}: {info['rows']} rows, {info['texts']} texts — "
                     f"{', '.join(info['labels'])}")
    lines += ["", f"Rows: {card['data']['rows']}", "",
              "## Validation metrics (AUROC / F1; other dialogues than training)", "",
              "| label | val n (pos) | model | TF-IDF baseline | champion | reliable | chosen |",
              "|---|---|---|---|---|---|---|"]
    for label, m in card["metrics"].items():
        def cell(who: str, m: dict = m) -> str:
            x = m.get(who)
            return f"{x['auroc']:.3f} / {x['f1']:.3f}" if x else "–"
        n = m.get("model", {})
        lines.append(f"| {label} | {n.get('n', 0)} ({n.get('positives', 0)}) | {cell('model')} "
                     f"| {cell('baseline')} | {cell('champion')} | "
                     f"{'yes' if m.get('reliable') else 'no'} | {_chosen(m)} |")
    if card.get("skipped"):
        lines += ["", "## Labels without a head", ""]
        lines += [f"- {label}: {why}" for label, why in card["skipped"].items()]
    return "\n".join(lines) + "\n"


def _chosen(entry: dict) -> str:
    """The head's settings picked by grouped CV on training rows, and the baseline's C."""
    chosen = entry.get("chosen") or {}
    parts = [f"C={chosen['c']:g}"] if chosen.get("c") is not None else []
    if chosen.get("dense_weight") is not None:
        parts.append(f"dense×{chosen['dense_weight']:g}")
    if chosen.get("cv_auroc") is not None:
        parts.append(f"cv {chosen['cv_auroc']:.3f}")
    if entry.get("baseline_c") is not None:
        parts.append(f"baseline C={entry['baseline_c']:g}")
    return ", ".join(parts) or "–"


def registry_for(settings: Settings) -> Registry:
    return Registry(settings.classify.registry, settings.classify.max_label_drop)


def load_classifier(settings: Settings) -> UtteranceClassifier | None:
    """The champion utterance classifier, or None when classifiers are off or none is promoted."""
    if not settings.classify.enabled:
        return None
    root = settings.classify.registry
    if not root.is_dir():  # a lost or mistyped registry must not quietly switch labels off
        raise ConfigError(f"classify.registry {root} is not a folder; point it at a registry "
                          "or set classify.enabled = false to score by words alone")
    model = registry_for(settings).load_champion("utterance")
    if model is None:
        log.warning("no utterance classifier promoted in %s: scoring by words alone", root)
        return None
    return UtteranceClassifier(model, settings.model_dir, settings.cache_dir / "classify")
