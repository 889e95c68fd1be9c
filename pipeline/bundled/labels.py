"""The label set (``models/labels.yaml``): the one place every label is named.

Utterance labels are qualified by speaker (``agent.greeting``, ``customer.complaint``); call
labels by ``call.`` (``call.dissatisfied``) and the complaint category is one binary label per
value (``call.category.logistics_delay``), so every head of a classifier is a yes/no question.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml

from pipeline import bundled
from pipeline.errors import ConfigError

LABELS_FILE = bundled.path("labels.yaml")
Speaker = Literal["agent", "customer"]
Task = Literal["utterance", "call"]
TASKS: tuple[Task, ...] = ("utterance", "call")


@dataclass(frozen=True)
class LabelSpec:
    name: str  # qualified: agent.greeting, customer.abuse, call.dissatisfied
    task: Task
    description: str
    sources: tuple[str, ...]

    @property
    def speaker(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def short(self) -> str:
        return self.name.split(".", 1)[1]


@dataclass(frozen=True)
class LabelSet:
    version: int
    specs: tuple[LabelSpec, ...]
    categories: tuple[str, ...]

    def names(self, task: Task | None = None) -> list[str]:
        return [s.name for s in self.specs if task is None or s.task == task]

    def for_speaker(self, speaker: str) -> list[LabelSpec]:
        return [s for s in self.specs if s.task == "utterance" and s.speaker == speaker]

    def get(self, name: str) -> LabelSpec:
        for spec in self.specs:
            if spec.name == name:
                return spec
        raise KeyError(name)

    def __contains__(self, name: object) -> bool:
        return any(spec.name == name for spec in self.specs)


def load_labels(path: Path = LABELS_FILE) -> LabelSet:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        specs: list[LabelSpec] = []
        for speaker in ("agent", "customer"):
            for name, body in data["utterance"][speaker].items():
                specs.append(_spec(f"{speaker}.{name}", "utterance", body))
        call = data["call"]
        categories = tuple(call["category"]["values"])
        specs.extend(_spec(f"call.{name}", "call", body)
                     for name, body in call.items() if name != "category")
        specs.extend(_spec(f"call.category.{value}", "call", call["category"])
                     for value in categories)
        return LabelSet(int(data["version"]), tuple(specs), categories)
    except (OSError, KeyError, TypeError, ValueError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: not a valid label set ({exc!r})") from exc


def _spec(name: str, task: Task, body: dict) -> LabelSpec:
    return LabelSpec(name, task, str(body.get("description", "")),
                     tuple(body.get("sources") or ()))


@lru_cache(maxsize=1)
def default_labels() -> LabelSet:
    return load_labels()
