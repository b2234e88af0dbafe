"""The README and the public surface stay in step with the code."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import passivelog
from passivelog import PassiveLogMiddleware, schema

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_the_readme_record_table_is_the_schemas_own() -> None:
    # Every field, in order, with both names, type, example and privacy note, and nothing else.
    assert schema.field_table() in README
    assert README.count("| field (ECS) |") == 1


def test_every_middleware_option_is_in_the_options_table() -> None:
    options = [
        name
        for name, p in inspect.signature(PassiveLogMiddleware).parameters.items()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    documented = set(re.findall(r"^\| `(\w+)` \|", README, flags=re.MULTILINE))
    assert set(options) <= documented, set(options) - documented


def test_options_are_keyword_only() -> None:
    params = list(inspect.signature(PassiveLogMiddleware).parameters.values())
    assert params[0].name == "app"
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params[1:])


def test_all_is_sorted_complete_and_importable() -> None:
    # isort-style order, as ruff's RUF022 keeps it: CONSTANTS, then Classes, then functions.
    def kind(name: str) -> tuple[int, str]:
        return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)

    assert passivelog.__all__ == sorted(passivelog.__all__, key=kind)
    for name in passivelog.__all__:
        assert hasattr(passivelog, name), name
    public = {
        name
        for name, value in vars(passivelog).items()
        if not name.startswith("_") and not inspect.ismodule(value)
    }
    assert public - {"__version__"} <= set(passivelog.__all__)


def test_readme_first_commands_are_the_demo_and_the_tests() -> None:
    blocks = re.findall(r"```sh\n(.*?)```", README, flags=re.DOTALL)
    assert "passivelog demo" in blocks[0]
    assert "pytest" in blocks[1]
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text()
    assert blocks[1].strip() in ci
