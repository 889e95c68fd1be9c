"""The docs stay true: every command, every setting and every rubric condition is documented.
A command, setting or condition added without its documentation fails here."""

from __future__ import annotations

import importlib
import importlib.util
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

import typer
from pydantic import BaseModel

from pipeline.cli import app
from pipeline.config import Settings
from pipeline.rubric.conditions import CONDITIONS

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def config_example() -> str:
    """The README's example callqa.toml."""
    match = re.search(r"```toml\n(home = .*?)```", README, re.S)
    assert match, "the README has no callqa.toml example"
    return match.group(1)


def setting_paths(model: type[BaseModel], prefix: tuple[str, ...] = ()
                  ) -> Iterator[tuple[str, ...]]:
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from setting_paths(annotation, (*prefix, name))
        else:
            yield (*prefix, name)


def test_every_command_is_in_the_readme() -> None:
    root = typer.main.get_command(app)
    for name, command in root.commands.items():  # type: ignore[attr-defined]
        assert f"callqa {name}" in README, f"callqa {name} is not documented"
        if hasattr(command, "commands"):  # a group: each subcommand on its group's lines
            lines = [line for line in README.splitlines() if f"callqa {name} " in line]
            for sub in command.commands:
                assert any(re.search(rf"(?<![\w-]){re.escape(sub)}(?![\w-])", line)
                           for line in lines), f"callqa {name} {sub} is not documented"


def test_every_setting_is_in_the_readme_example() -> None:
    example = config_example()
    tomllib.loads(example)  # the example is a callqa.toml that parses
    documented: set[tuple[str, ...]] = set()
    section: tuple[str, ...] = ()
    for line in example.splitlines():
        if header := re.match(r"\[([\w.]+)\]", line):
            section = tuple(header.group(1).split("."))
            documented.add(section)
        elif key := re.match(r"#?\s*(\w+)\s*=", line):  # a commented line documents it too
            documented.add((*section, key.group(1)))
    missing = [".".join(path) for path in setting_paths(Settings)
               if not any(known[:len(path)] == path for known in documented)]
    assert not missing, f"settings missing from the README's callqa.toml example: {missing}"


def test_every_rubric_condition_is_in_the_rubric_format() -> None:
    rubric_doc = (ROOT / "rubrics" / "README.md").read_text(encoding="utf-8")
    missing = [key for key in CONDITIONS if f"`{key}`" not in rubric_doc]
    assert not missing, f"conditions missing from rubrics/README.md: {missing}"


def _module_or_member(name: str) -> bool:
    """``name`` is a module, or one name inside a module."""
    module, _, member = name.rpartition(".")
    for candidate in (name, module):
        try:
            if candidate and importlib.util.find_spec(candidate) is not None:
                return candidate == name or hasattr(importlib.import_module(candidate), member)
        except ModuleNotFoundError:
            continue
    return False


def test_every_module_the_docs_name_exists() -> None:
    """A file moved or removed leaves no stale path in the README, bench, model or rubric
    docs (``pipeline/x.py`` paths and ``pipeline.x`` module names)."""
    docs = [ROOT / "README.md", *(ROOT / d / "README.md" for d in ("bench", "models", "rubrics")),
            *(ROOT / "models").glob("*.md")]
    stale = []
    for doc in docs:
        text = doc.read_text(encoding="utf-8")
        for path in re.findall(r"(?<![\w/.])((?:pipeline|flows|review)/[\w/]+\.py)", text):
            if not (ROOT / path).is_file():
                stale.append(f"{doc.name}: {path}")
        # (``review.x`` and ``store.x`` are also settings, so only ``pipeline.`` names count)
        for name in re.findall(r"`(pipeline(?:\.\w+)+)`", text):
            if not _module_or_member(name):
                stale.append(f"{doc.name}: {name}")
    assert not stale, stale
