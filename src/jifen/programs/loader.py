"""Load a program from YAML (a file, a string or a shipped preset); explain any refusal."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from jifen.domain.errors import JifenError
from jifen.programs.schema import Program

PRESETS = ("railway", "retail")
_MERGE_TAG = "tag:yaml.org,2002:merge"
_BOOL_TAG = "tag:yaml.org,2002:bool"


class ProgramInvalid(JifenError):
    """A program file that cannot be used; `details["errors"]` lists `{field, problem}` pairs."""

    code = "program_invalid"
    status = 422

    def __init__(self, *, source: str, errors: list[dict[str, str]]) -> None:
        lines = "\n".join(f"  {error['field']}: {error['problem']}" for error in errors)
        super().__init__(f"Program {source} is invalid:\n{lines}", source=source, errors=errors)


class _ProgramLoader(yaml.SafeLoader):
    """A safe loader with YAML 1.2 booleans that refuses a key given twice in one mapping.

    YAML 1.1 reads `on`, `off`, `yes` and `no` as booleans, which would turn a rule's `on:` key into
    `True`; only `true` and `false` are booleans here. PyYAML keeps the last of two equal keys
    silently; a program file with one is a mistake worth reporting.
    """

    # PyYAML reads this per class; its stubs declare it an instance attribute, hence no ClassVar.
    yaml_implicit_resolvers: dict[Any, list[tuple[str, re.Pattern[str]]]] = {  # noqa: RUF012
        first: [resolver for resolver in resolvers if resolver[0] != _BOOL_TAG]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG:  # keys merged in with `<<:` may be overridden
                continue
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"found duplicate key {key!r}",
                    key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_ProgramLoader.add_implicit_resolver(
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def parse_program(text: str, source: str) -> Program:
    """The program described by the YAML `text`; `source` names it in error messages."""
    try:
        data = yaml.load(text, Loader=_ProgramLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as error:
        raise ProgramInvalid(source=source, errors=[_yaml_problem(error)]) from error
    if not isinstance(data, dict):
        problem = f"the file must hold a mapping of settings, not {type(data).__name__}"
        raise ProgramInvalid(source=source, errors=[{"field": "(file)", "problem": problem}])
    try:
        return Program.model_validate(data)
    except ValidationError as error:
        raise ProgramInvalid(source=source, errors=validation_problems(error)) from error


def load_program(path: Path) -> Program:
    """The program in the YAML file at `path`."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        problem = f"cannot be read: {error.strerror or error}"
        raise ProgramInvalid(
            source=str(path), errors=[{"field": "(file)", "problem": problem}]
        ) from error
    return parse_program(text, str(path))


def load_preset(name: str) -> Program:
    """A program shipped with Jifen: `railway` or `retail`."""
    if name not in PRESETS:
        problem = f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}"
        raise ProgramInvalid(source=name, errors=[{"field": "(preset)", "problem": problem}])
    text = resources.files("jifen.programs").joinpath(f"presets/{name}.yaml").read_text("utf-8")
    return parse_program(text, f"preset {name}")


def validation_problems(error: ValidationError) -> list[dict[str, str]]:
    """One `{field, problem}` per problem pydantic found, cross-field problems expanded."""
    problems: list[dict[str, str]] = []
    for item in error.errors():
        where = field_path(item["loc"])
        nested = (item.get("ctx") or {}).get("problems")
        if item["type"] == "program_inconsistent" and nested:
            problems.extend(
                {"field": _join(where, path), "problem": problem} for path, problem in nested
            )
        else:
            problems.append({"field": where or "(program)", "problem": _message(item)})
    return problems


def field_path(loc: tuple[int | str, ...]) -> str:
    """A pydantic location as people write it: `tiers.levels[2].threshold`."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}" if path else str(part)
    return path


def _join(where: str, path: str) -> str:
    if not path or not where:
        return path or where or "(program)"
    return f"{where}{path}" if path.startswith("[") else f"{where}.{path}"


def _message(item: Any) -> str:
    # The file writes lists; pydantic calls the immutable form a tuple.
    message = str(item["msg"]).removeprefix("Value error, ").replace("uple", "ist")
    if item["type"] == "missing":
        return "is required"
    if item["type"] == "extra_forbidden":
        return "is not a known setting (check the spelling)"
    return message


def _yaml_problem(error: yaml.YAMLError) -> dict[str, str]:
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error)
    context = getattr(error, "context", None)
    text = f"{context}, {problem}" if context else str(problem)
    if mark is None:
        return {"field": "(yaml)", "problem": text}
    return {"field": f"line {mark.line + 1}", "problem": f"{text} (column {mark.column + 1})"}
