"""Reading every input and the writers every output goes through.

Inputs: rubric resources, submissions (YAML 1.2, JSON, Excel), params and profiles, each within the
limits of docs/submission.md. Outputs: atomic, fsync'ed writers that respect the umask; the batch,
the app and the CLI decide *what* to write and where, but write through these. The engine (targets,
evaluation, gap, …) takes and returns plain values and touches no file; evaluating a file — read,
validate, judge, and a province's key-county files with it — is orchestrated by
:mod:`minesafe.results`, on top of this module.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import os
import re
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import yaml

import minesafe
from minesafe.evaluation import ProvinceResult, UnitResult
from minesafe.exceptions import InputError, KeyPath, Problem, RubricError, locate_key_path
from minesafe.params import apply_params
from minesafe.rubric import Rubric, build_rubric
from minesafe.submission import CountySubmission, build_county_submission

YAML_SUFFIXES = {".yaml", ".yml"}
EXCEL_SUFFIXES = {".xlsx", ".xlsm"}
SUBMISSION_SUFFIXES = YAML_SUFFIXES | {".json"} | EXCEL_SUFFIXES

Locator = Callable[[KeyPath], str]

# Modules that only some commands need (json, csv, zipfile, tempfile, shutil, subprocess) are
# imported where they are used, so that `minesafe evaluate` starts without them
# (tests/test_cli.py checks what it imports).

#: The installed package's folder (where its rubrics, fonts and templates are).
PACKAGE = Path(__file__).resolve().parent


def list_rubrics() -> list[str]:
    """Ids of the rubrics shipped inside the package."""
    return list(_shipped_rubric_ids())


@lru_cache(maxsize=1)
def _shipped_rubric_ids() -> tuple[str, ...]:
    folder = PACKAGE / "rubrics"
    return tuple(sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml")))


def _shipped_rubric_bytes(name: str) -> bytes:
    return (PACKAGE / "rubrics" / f"{name}.yaml").read_bytes()


@cache
def _parse_shipped_rubric(name: str) -> Any:
    """A shipped rubric's YAML, parsed once per process (build_rubric only reads it)."""
    return parse_yaml(_shipped_rubric_bytes(name).decode("utf-8"), f"minesafe/rubrics/{name}.yaml")[0]


@cache
def _read_shipped_rubric(name: str) -> Rubric:
    """A shipped rubric, built once per process (rubrics are immutable; params make new ones)."""
    data = _parse_shipped_rubric(name)
    targets_from = _read_shipped_rubric(str(data["targets_from"])) if "targets_from" in data else None
    rubric = build_rubric(data, f"minesafe/rubrics/{name}.yaml", targets_from)
    return dataclasses.replace(rubric, source_sha256=hashlib.sha256(_shipped_rubric_bytes(name)).hexdigest())


def read_rubric(name: str, targets_from: Rubric | None = None) -> Rubric:
    """A shipped rubric by id (``noncoal-county``) or a rubric file by path.

    A rubric that declares ``targets_from`` gets them from ``targets_from`` if given (so params
    applied to a county rubric reach its province rubric), else from the shipped rubric named.
    """
    if name in list_rubrics():
        _record_read(PACKAGE / "rubrics" / f"{name}.yaml")
        if targets_from is None:
            return _read_shipped_rubric(name)
        data, source = _parse_shipped_rubric(name), f"minesafe/rubrics/{name}.yaml"
        raw = _shipped_rubric_bytes(name)
    else:
        source = str(Path(name))
        if not Path(name).is_file():
            known = "、".join(list_rubrics())
            raise InputError(
                source,
                [Problem((), "不是已知的评估表编号，也不是已存在的评估表文件", name, f"{known}，或评估表 YAML 文件的路径")],
            )
        data, _ = parse_yaml(_read_text(Path(name)), source)
        if not isinstance(data, Mapping):
            raise RubricError(source, [f"文件内容应为评估表的键值映射（当前为 {type(data).__name__}）"])
        raw = Path(name).read_bytes()
    if isinstance(data, Mapping) and "targets_from" in data and targets_from is None:
        targets_from = read_rubric(str(data["targets_from"]))
    return dataclasses.replace(build_rubric(data, source, targets_from), source_sha256=hashlib.sha256(raw).hexdigest())


def package_folder(name: str) -> Path:
    """A folder shipped with the package (``notebooks``, ``data/demo``): inside the installed
    package, or at the top of the source tree where it is kept (a checkout or editable install)."""
    installed = PACKAGE / name
    return installed if installed.is_dir() else PACKAGE.parent / name


def demo_folder() -> Path:
    """The fictitious demo submissions shipped with minesafe (all marked 示例数据)."""
    return package_folder("data/demo")


def bundled_font_path() -> Path | None:
    """The Noto Sans SC font shipped in the package, if the installation has it."""
    path = PACKAGE / "fonts" / "NotoSansSC-Regular.ttf"
    return path if path.is_file() else None


_reads: ContextVar[list[Path] | None] = ContextVar("minesafe_reads", default=None)


@contextmanager
def recording_reads() -> Iterator[list[Path]]:
    """Collect every input file read inside the block (submissions, params, rubric files): the
    batch hashes exactly these to know whether a report is still up to date."""
    reads: list[Path] = []
    token = _reads.set(reads)
    try:
        yield reads
    finally:
        _reads.reset(token)


def _record_read(path: Path) -> None:
    reads = _reads.get()
    if reads is not None and path not in reads:
        reads.append(path)


def _read_text(path: Path) -> str:
    if path.exists() and not path.is_file() and not path.is_dir():  # a FIFO would block forever
        raise InputError(str(path), [Problem((), "不是普通文件（可能是管道或设备）", str(path), "普通的文本文件")])
    _record_read(path)
    try:
        with path.open("rb") as handle:  # bounded read: a huge file or /dev/zero cannot fill memory
            raw = handle.read(MAX_TEXT_BYTES + 1)
        if len(raw) > MAX_TEXT_BYTES:
            raise InputError(
                str(path),
                [
                    Problem(
                        (),
                        "文件过大",
                        f"超过 {MAX_TEXT_BYTES // 2**20} MB",
                        f"不超过 {MAX_TEXT_BYTES // 2**20} MB 的文件",
                        "整个文件",
                    )
                ],
            )
        return raw.decode("utf-8-sig")
    except FileNotFoundError:
        raise InputError(str(path), [Problem((), "文件不存在", str(path), "已存在的文件路径")]) from None
    except IsADirectoryError:
        raise InputError(str(path), [Problem((), "这是一个文件夹，不是文件", str(path), "文件路径")]) from None
    except UnicodeDecodeError as exc:
        raise InputError(
            str(path),
            [Problem((), f"文件不是 UTF-8 编码（第 {exc.start} 字节处无法解码）", expected="以 UTF-8 编码保存的文本文件")],
        ) from None
    except OSError as exc:
        raise InputError(str(path), [Problem((), f"无法读取文件：{exc.strerror}", expected="可读取的文件")]) from None


#: Limits on what a submission, params, run or rubric file may ask of the reader (docs/submission.md).
MAX_TEXT_BYTES = 5 * 1024 * 1024
MAX_WORKBOOK_BYTES = 20 * 1024 * 1024
MAX_WORKBOOK_UNCOMPRESSED = 100 * 1024 * 1024
MAX_DEPTH = 32
MAX_DIGITS = 15


class _HugeNumber:
    """Stands for an integer with more than :data:`MAX_DIGITS` digits, reported with its key path."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        digits = self.text.lstrip("+-")
        return f"{self.text[:12]}…（共 {len(digits)} 位数字）"


def _checked_int(text: str, base: int = 10) -> int | _HugeNumber:
    digits = text.lstrip("+-")
    if len(digits) > MAX_DIGITS:
        return _HugeNumber(text)
    return int(text, base)


_TAG = "tag:yaml.org,2002:"
_DEFAULT_TAGS = {yaml.ScalarNode: f"{_TAG}str", yaml.SequenceNode: f"{_TAG}seq", yaml.MappingNode: f"{_TAG}map"}


#: What :func:`_check_tree` looks into or at (text, numbers, booleans and null need no check).
_CHECKED = (dict, list, _HugeNumber)


class _Yaml12Resolver(yaml.resolver.BaseResolver):
    """The YAML 1.2 core schema: ``010`` is 10, ``1:30`` and ``yes``/``on`` are text, no merge
    keys, no dates. YAML 1.1 (PyYAML's default) would silently read 8, 90 and True.

    It has no path resolvers, so :meth:`resolve` is PyYAML's with their look-ups left out: libyaml
    calls it for every node, and it was a third of the time a rubric took to load.
    """

    def resolve(self, kind, value, implicit):
        if kind is yaml.ScalarNode and implicit[0]:
            for tag, pattern in self.yaml_implicit_resolvers.get(value[:1], ()):
                if pattern.match(value):
                    return tag
        return _DEFAULT_TAGS[kind]

    def descend_resolver(self, current_node, current_index):
        pass

    def ascend_resolver(self):
        pass


_CORE_SCALARS = {  # tag: (pattern, first characters, what it is called in messages)
    "bool": (r"true|True|TRUE|false|False|FALSE", "tTfF", "true 或 false"),
    "int": (r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+", "-+0123456789", "整数"),
    "float": (
        r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)",
        "-+.0123456789",
        "数",
    ),
    "null": (r"~|null|Null|NULL|", "~nN", "空值"),
}
for _tag, (_pattern, _first, _) in _CORE_SCALARS.items():
    _Yaml12Resolver.add_implicit_resolver(
        f"tag:yaml.org,2002:{_tag}", re.compile(f"^(?:{_pattern})$"), [*_first, *([""] if _tag == "null" else [])]
    )
_CORE_PATTERNS = {tag: re.compile(pattern) for tag, (pattern, _, _) in _CORE_SCALARS.items()}


class _Unusual(Exception):
    """A node the direct construction leaves to PyYAML's (an explicit tag, a key that is not a
    scalar, a repeated key, deep nesting, a scalar that does not fit its tag)."""


class _Yaml12Constructor(yaml.constructor.SafeConstructor):
    """Safe construction with YAML 1.2 scalars, bounded integers, and duplicate keys refused
    (YAML would silently keep the last one and lose the first)."""

    def construct_document(self, node):
        """The document built directly from its nodes: about twice as fast as PyYAML's general
        construction, which is still what builds (and refuses) anything unusual."""
        try:
            return self._construct_plainly(node, 0)
        except (_Unusual, yaml.constructor.ConstructorError):
            return super().construct_document(node)

    def _construct_plainly(self, node, depth: int) -> Any:
        kind, tag = type(node), node.tag
        if kind is yaml.ScalarNode:
            if tag == _STR_TAG:
                return node.value
            build = _SCALAR_BUILDERS.get(tag)
            if build is None:
                raise _Unusual
            return build(self, node)
        if depth > MAX_DEPTH:
            raise _Unusual  # PyYAML builds it (without recursing) and the tree check names the place
        if kind is yaml.MappingNode and tag == _MAP_TAG:
            data: dict[Any, Any] = {}
            for key_node, _ in node.value:  # every key first, in the order construct_mapping checks them
                if type(key_node) is not yaml.ScalarNode:
                    raise _Unusual
                key = self._construct_plainly(key_node, depth + 1)
                if key in data:
                    raise _Unusual
                data[key] = None
            for key, (_, value_node) in zip(data, node.value, strict=True):
                data[key] = self._construct_plainly(value_node, depth + 1)
            return data
        if kind is yaml.SequenceNode and tag == _SEQ_TAG:
            return [self._construct_plainly(child, depth + 1) for child in node.value]
        raise _Unusual

    def _core_scalar(self, node, tag: str) -> str:
        """The scalar's text, checked against its tag (``!!int "abc"`` is refused, not guessed)."""
        text = self.construct_scalar(node)
        if not _CORE_PATTERNS[tag].fullmatch(text):
            name = _CORE_SCALARS[tag][2]
            raise yaml.constructor.ConstructorError(None, None, f"标签 !!{tag} 与内容“{text}”不符，应为{name}", node.start_mark)
        return text

    def construct_yaml_null(self, node):
        self._core_scalar(node, "null")

    def construct_yaml_bool(self, node):
        return self._core_scalar(node, "bool").lower() == "true"

    def construct_yaml_int(self, node):
        text = self._core_scalar(node, "int")
        if text.startswith(("0o", "0x")):
            return _checked_int(text[2:], 8 if text[1] == "o" else 16)
        return _checked_int(text)

    def construct_yaml_float(self, node):
        text = self._core_scalar(node, "float").lower()
        special = {".inf": math.inf, "+.inf": math.inf, "-.inf": -math.inf, ".nan": math.nan}
        return special[text] if text in special else float(text)

    def construct_mapping(self, node, deep=False):
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, Hashable):
                raise yaml.constructor.ConstructorError(None, None, "键不能是列表或映射", key_node.start_mark)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"键 {key} 重复出现（第 {seen[key] + 1} 行已有）", key_node.start_mark
                )
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


for _tag, _method in (
    ("null", _Yaml12Constructor.construct_yaml_null),
    ("bool", _Yaml12Constructor.construct_yaml_bool),
    ("int", _Yaml12Constructor.construct_yaml_int),
    ("float", _Yaml12Constructor.construct_yaml_float),
):
    _Yaml12Constructor.add_constructor(f"tag:yaml.org,2002:{_tag}", _method)  # type: ignore[type-var]  # the stubs bind it to full loaders
for _tag in ("binary", "timestamp", "omap", "pairs", "set"):  # YAML 1.1 types no input needs
    del _Yaml12Constructor.yaml_constructors[f"tag:yaml.org,2002:{_tag}"]
_STR_TAG, _SEQ_TAG, _MAP_TAG = _DEFAULT_TAGS.values()
_SCALAR_BUILDERS = {f"{_TAG}{tag}": _Yaml12Constructor.yaml_constructors[f"{_TAG}{tag}"] for tag in _CORE_SCALARS}


class _YamlDumper(yaml.SafeDumper):
    """Quotes every text that YAML 1.1 *or* 1.2 would read as something else (``"0o10"``,
    ``"1e3"`` as well as ``"yes"``), so what minesafe writes reads back as written."""


for _tag, (_pattern, _first, _) in _CORE_SCALARS.items():
    _YamlDumper.add_implicit_resolver(
        f"tag:yaml.org,2002:{_tag}", re.compile(f"^(?:{_pattern})$"), [*_first, *([""] if _tag == "null" else [])]
    )


class PythonYamlLoader(
    yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser, yaml.composer.Composer, _Yaml12Constructor, _Yaml12Resolver
):
    """The pure-Python loader, for installations without libyaml."""

    def __init__(self, stream):
        yaml.reader.Reader.__init__(self, stream)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)
        yaml.composer.Composer.__init__(self)
        _Yaml12Constructor.__init__(self)
        _Yaml12Resolver.__init__(self)


if yaml.__with_libyaml__:

    class CYamlLoader(yaml.CBaseLoader, _Yaml12Constructor, _Yaml12Resolver):
        """The libyaml loader (about 8× faster) with the same YAML 1.2 and duplicate-key rules: PyYAML's
        public libyaml loader, its constructor and resolver ahead of the base ones."""

        def __init__(self, stream):
            yaml.CBaseLoader.__init__(self, stream)
            _Yaml12Constructor.__init__(self)
            _Yaml12Resolver.__init__(self)

    YamlLoader: type = CYamlLoader
else:  # pragma: no cover - every supported platform has libyaml wheels
    YamlLoader = PythonYamlLoader


def _refuse_anchors(text: str, loader: type) -> list[Problem]:
    """Anchors and aliases (``&a`` / ``*a``) are refused: expanding them is how a small file asks
    for gigabytes ("billion laughs"), and a submission has no need of them."""
    if "&" not in text and "*" not in text:
        return []  # no anchor or alias can be written without these characters
    problems: list[Problem] = []
    parser = loader(text)
    try:
        while parser.check_event() and len(problems) < 10:  # ten places suffice to find them all
            event = parser.get_event()
            if isinstance(event, yaml.AliasEvent):
                problems.append(
                    Problem((), "不支持 YAML 别名", f"*{event.anchor}", "把内容直接写出，不用 & 与 *", _line_of(event.start_mark))
                )
            elif getattr(event, "anchor", None):
                problems.append(
                    Problem((), "不支持 YAML 锚点", f"&{event.anchor}", "把内容直接写出，不用 & 与 *", _line_of(event.start_mark))
                )
    finally:
        parser.dispose()
    return problems


def _check_tree(data: Any, duplicates: Mapping[int, list] | None = None) -> list[Problem]:
    """Problems of a parsed document that its parser does not see: nesting deeper than
    :data:`MAX_DEPTH`, integers longer than :data:`MAX_DIGITS` digits, YAML merge keys and (JSON)
    duplicate keys. Iterative, so no document can exhaust the stack; only mappings (dicts, as both
    parsers make them), lists and long numbers are visited."""
    problems = []
    stack: list[tuple[Any, KeyPath]] = [(data, ())] if isinstance(data, _CHECKED) else []
    while stack:
        node, path = stack.pop()
        if isinstance(node, _HugeNumber):
            problems.append(Problem(path, "数字位数过多", node, f"不超过 {MAX_DIGITS} 位的整数"))
            continue
        if len(path) >= MAX_DEPTH:
            problems.append(Problem(path, f"嵌套超过 {MAX_DEPTH} 层", expected="按提交格式说明的层次填写"))
            continue
        for key in (duplicates or {}).get(id(node), []):
            problems.append(Problem((*path, key), f"键 {key} 重复出现", expected="每个键只写一次"))
        children: Iterable[tuple[Any, Any]] = enumerate(node)
        if isinstance(node, dict):
            if "<<" in node:
                problems.append(Problem((*path, "<<"), "不支持 YAML 合并键 <<", expected="把要合并的键逐个写出"))
            children = node.items()
        stack.extend(reversed([(value, (*path, key)) for key, value in children if isinstance(value, _CHECKED)]))
    return problems


def parse_yaml(text: str, source: str, loader: type | None = None) -> tuple[Any, Locator]:
    """Parse YAML (or JSON, a subset) text by the YAML 1.2 core schema; syntax errors name the
    line and column. Anchors, aliases, merge keys, duplicate keys, nesting deeper than
    :data:`MAX_DEPTH` and integers longer than :data:`MAX_DIGITS` digits are refused."""
    loader = loader or YamlLoader
    try:
        problems = _refuse_anchors(text, loader)
        if problems:
            raise InputError(source, problems)
        reader = loader(text)
        try:
            data = reader.get_single_data()
        finally:
            reader.dispose()
    except RecursionError:  # the pure-Python composer recurses; libyaml stops at 1000 levels itself
        raise InputError(source, [_too_deep(None)]) from None
    except yaml.MarkedYAMLError as exc:
        where = _line_of(exc.problem_mark)
        if "maximum nesting depth" in str(exc.problem):
            problem = _too_deep(exc.problem_mark)
        elif "重复" in str(exc.problem) or "键不能" in str(exc.problem):
            problem = Problem((), str(exc.problem), expected="每个键只写一次，键为文字", where=where)
        elif "标签 !!" in str(exc.problem):
            problem = Problem((), str(exc.problem), expected="去掉标签，直接写值", where=where)
        else:
            context = exc.context_mark
            if context is not None and exc.problem_mark is not None and context.line != exc.problem_mark.line:
                where = f"{_line_of(context)}开始的内容（在{where}发现）"
            problem = Problem(
                (), f"YAML 格式错误：{_in_chinese(str(exc.problem))}", expected="合法的 YAML/JSON，见提交格式说明", where=where
            )
        raise InputError(source, [problem]) from None
    except yaml.reader.ReaderError as exc:
        problem = Problem(
            (),
            f"含有不可见的控制字符 U+{exc.character:04X}" if isinstance(exc.character, int) else "含有无法读取的字符",
            expected="删除该字符后重新保存",
            where=f"第 {exc.position + 1} 个字符处",
        )
        raise InputError(source, [problem]) from None
    except yaml.YAMLError as exc:
        raise InputError(source, [Problem((), f"YAML 格式错误：{_in_chinese(str(exc))}", expected="合法的 YAML/JSON")]) from None
    problems = _check_tree(data)
    if problems:
        raise InputError(source, problems)
    return data, locate_key_path


#: The parsers' usual complaints, in the words an evaluator reads (others keep the original text).
_PARSER_PROBLEMS = {
    "could not determine a constructor for the tag": "不支持的 YAML 标签（! 或 !! 开头的写法）",
    "cannot start any token": "含有不能作为内容开头的字符（常见原因：用了 Tab 缩进，YAML 只能用空格）",
    "but found another document": "文件中只能有一个 YAML 文档（不要用 --- 分隔多个）",
    "expected a single document": "文件中只能有一个 YAML 文档（不要用 --- 分隔多个）",
    "expected ',' or '}'": "花括号 { } 内的内容没有正确结束（缺少逗号或右花括号）",
    "expected ',' or ']'": "方括号 [ ] 内的内容没有正确结束（缺少逗号或右方括号）",
    "mapping values are not allowed here": "此处不能出现“键: 值”（常见原因：值里有冒号加空格，请给值加引号）",
    "could not find expected ':'": "缺少冒号“:”",
    "found unexpected end of stream": "文件意外结束（引号或括号没有闭合）",
    "did not find expected key": "缩进不一致或缺少键",
    "did not find expected <document start>": "内容不是 YAML 映射",
    "did not find expected '-' indicator": "列表的缩进不一致",
    "found unknown escape character": "双引号内的转义字符有误（反斜杠 \\ 请写成 \\\\，或改用单引号）",
    "Expecting property name enclosed in double quotes": "此处应为用双引号括起的键（常见原因：多余的逗号）",
    "Expecting value": "此处缺少值",
    "Expecting ',' delimiter": "缺少逗号",
    "Expecting ':' delimiter": "缺少冒号",
    "Extra data": "JSON 内容结束后还有多余的内容",
    "Unterminated string starting at": "字符串的引号没有闭合",
    "Invalid control character at": "字符串中含有控制字符",
    "Invalid \\escape": "字符串中的转义字符有误",
}


def _in_chinese(problem: str) -> str:
    return next((chinese for english, chinese in _PARSER_PROBLEMS.items() if english in problem), problem)


def _too_deep(mark) -> Problem:
    return Problem((), f"嵌套超过 {MAX_DEPTH} 层", expected="按提交格式说明的层次填写", where=_line_of(mark))


def parse_json(text: str, source: str) -> tuple[Any, Locator]:
    """Parse JSON text with the same limits as YAML; duplicate keys are refused, not overwritten."""
    import json

    duplicates: dict[int, list] = {}

    def build_object(pairs: list[tuple[str, Any]]) -> dict:
        obj = dict(pairs)
        if len(obj) < len(pairs):
            seen: set[str] = set()
            repeated = []
            for key, _ in pairs:
                if key in seen:
                    repeated.append(key)
                seen.add(key)
            duplicates[id(obj)] = repeated
        return obj

    try:
        data = json.loads(text, object_pairs_hook=build_object, parse_int=_checked_int)
    except RecursionError:
        raise InputError(source, [_too_deep(None)]) from None
    except json.JSONDecodeError as exc:
        raise InputError(
            source,
            [
                Problem(
                    (),
                    f"JSON 格式错误：{_in_chinese(exc.msg)}",
                    expected="合法的 JSON",
                    where=f"第 {exc.lineno} 行第 {exc.colno} 列",
                )
            ],
        ) from None
    problems = _check_tree(data, duplicates)
    if problems:
        raise InputError(source, problems)
    return data, locate_key_path


def _line_of(mark) -> str:
    return f"第 {mark.line + 1} 行第 {mark.column + 1} 列" if mark is not None else "文件中"


def read_document(path: Path) -> tuple[Any, Locator]:
    """A submission or params file as a mapping, with the locator that names places in it."""
    suffix = path.suffix.lower()
    if suffix in EXCEL_SUFFIXES:
        from minesafe.workbook import read_workbook  # openpyxl is only imported for workbooks

        workbook = open_workbook(path)
        try:
            return read_workbook(workbook, str(path))
        finally:
            workbook.close()  # read-only workbooks keep the file open until closed
    if suffix == ".xls":
        raise InputError(str(path), [Problem((), "这是旧版 .xls 文件，无法读取", path.suffix, "另存为 .xlsx 格式后再评估")])
    if suffix not in YAML_SUFFIXES | {".json"}:
        raise InputError(str(path), [Problem((), "不支持的文件类型", path.suffix, "、".join(sorted(SUBMISSION_SUFFIXES)))])
    text = _read_text(path)
    if suffix == ".json":
        return parse_json(text, str(path))
    return parse_yaml(text, str(path))


def open_workbook(path: Path):
    """Open an .xlsx file read-only (only the used area is ever materialised), after checking its
    size and the uncompressed size of its parts (a zip bomb is refused before it is inflated);
    or raise a clear :class:`InputError`."""
    import zipfile

    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    if not path.exists():
        raise InputError(str(path), [Problem((), "文件不存在", str(path), "已存在的文件路径")])
    if not path.is_file():  # a folder, or a FIFO that would block forever
        raise InputError(str(path), [Problem((), "不是普通文件（可能是文件夹、管道或设备）", str(path), "Excel 工作簿文件")])
    limit = MAX_WORKBOOK_BYTES // 2**20
    if path.stat().st_size > MAX_WORKBOOK_BYTES:
        raise InputError(str(path), [Problem((), "文件过大", f"超过 {limit} MB", f"不超过 {limit} MB 的工作簿", "整个文件")])
    _record_read(path)
    try:
        with zipfile.ZipFile(path) as archive:
            inflated = sum(info.file_size for info in archive.infolist())
        if inflated > MAX_WORKBOOK_UNCOMPRESSED:
            raise InputError(
                str(path),
                [
                    Problem(
                        (),
                        "工作簿解压后过大（可能是压缩炸弹）",
                        f"解压后 {inflated // 2**20} MB",
                        f"解压后不超过 {MAX_WORKBOOK_UNCOMPRESSED // 2**20} MB 的工作簿",
                        "整个文件",
                    )
                ],
            )
        return openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError, EOFError, SyntaxError) as exc:
        raise InputError(
            str(path),
            [
                Problem(
                    (), f"不是有效的 Excel 工作簿，无法打开（{type(exc).__name__}）", expected="用 Excel 或 WPS 保存的 .xlsx 文件"
                )
            ],
        ) from None


def read_params(path: str | Path | None) -> tuple[Mapping[str, Any] | None, str, Locator]:
    """A params document (or None: no path, or an empty one), its name for messages and its locator."""
    if path is None or not str(path).strip():
        return None, "", locate_key_path
    data, locate = read_document(Path(path))
    if data is not None and not isinstance(data, Mapping):
        raise InputError(
            str(path), [Problem((), "参数文件内容应为键值映射", type(data).__name__, "如 evaluation: {pass_score: 80}")]
        )
    return data, str(path), locate


def profile_folder() -> Path:
    """The params profiles shipped with minesafe (``params/profiles/``): a province's or a city's
    own measures, added to a form (see :mod:`minesafe.params`); installed as ``minesafe/data/profiles``."""
    installed = package_folder("data/profiles")
    return installed if installed.is_dir() else package_folder("params/profiles")


def read_county_rubric(name: str, params_path: str | Path | None = None, profile: str = "", submission: str = "") -> Rubric:
    """A county (or enterprise) rubric with the params file's overrides applied.

    ``evaluation.rubric_file`` in the params swaps in another rubric file (the official coal form
    when it arrives, say): a params change, no code change. Its id must be the one asked for.
    ``profile`` (a submission's own ``profile:``) applies the shipped profile of that name first,
    unless the params file is itself a profile. Only a shipped profile's name is accepted (never a
    path): anything else is refused as the ``profile`` key of the file ``submission``.
    """
    params, source, locate = read_params(params_path)
    settings = params.get("evaluation", params) if isinstance(params, Mapping) else {}
    rubric = _read_swapped_rubric(name, params, settings, source, locate)
    if profile and not (isinstance(settings, Mapping) and "profile" in settings):
        shipped_names = {p.stem: p for p in profile_folder().glob("*.yaml") if p.is_file()}
        shipped = shipped_names.get(profile)
        if shipped is None:  # a name, never a path: nothing outside the shipped profiles is read
            known = "、".join(sorted(shipped_names)) or "（无）"
            raise InputError(
                submission or str(profile_folder()),
                [Problem(("profile",), "提交文件的 profile 不是 minesafe 自带的参数方案名称", profile, known)],
            )
        profile_params, profile_source, profile_locate = read_params(shipped)
        rubric = apply_params(rubric, profile_params, profile_source, profile_locate)
        rubric = dataclasses.replace(rubric, profile_file=str(shipped), profile_sha256=file_sha256(shipped))
    return apply_params(rubric, params, source, locate)


def profile_name(data: Any) -> str:
    """The profile a submission says it was filled against (checked again by the validation)."""
    profile = data.get("profile") if isinstance(data, Mapping) else None
    return profile if isinstance(profile, str) else ""


def _read_swapped_rubric(name: str, params: Any, settings: Any, source: str, locate: Locator) -> Rubric:
    rubric_file = settings.get("rubric_file") if isinstance(settings, Mapping) else None
    if rubric_file:
        path = Path(str(rubric_file))
        path = path if path.is_absolute() else Path(source).parent / path
        rubric = read_rubric(str(path))
        if rubric.id != name:
            where = ("evaluation", "rubric_file") if "evaluation" in params else ("rubric_file",)
            raise InputError(
                source,
                [
                    Problem(
                        where,
                        f"评估表文件的编号是 {rubric.id}，与提交文件要求的 {name} 不符",
                        str(rubric_file),
                        f"编号为 {name} 的评估表文件",
                    )
                ],
                locate,
            )
    else:
        rubric = read_rubric(name)
    return rubric


def check_rubric_id(data: Any, source: str, locate: Locator) -> str:
    """The id of the shipped rubric a parsed submission names (its ``rubric:`` key), or an
    :class:`InputError` naming the known ones."""
    rubric_id = data.get("rubric") if isinstance(data, Mapping) else None
    known = list_rubrics()
    if rubric_id not in known:
        raise InputError(source, [Problem(("rubric",), "缺少或写错了评估表编号", rubric_id, "、".join(known))], locate)
    return rubric_id


def read_prefill(path: Path) -> tuple[Mapping[str, Any], Rubric]:
    """A submission to pre-fill a workbook from (``template --from``) and its rubric; values of
    the wrong shape are refused, missing ones are left blank."""
    from minesafe.workbook import check_prefill

    data, locate = read_document(path)
    rubric = read_county_rubric(
        check_rubric_id(data, str(path), locate), None, profile_name(data), str(path)
    )  # with a profile's rows
    problems = check_prefill(data, rubric)
    if problems:
        raise InputError(str(path), problems, locate)
    return data, rubric


def read_county_submission(path: Path, rubric: Rubric | None = None, params_path=None) -> tuple[CountySubmission, Rubric]:
    """A validated county submission and the rubric it is judged by."""
    data, locate = read_document(path)
    if rubric is None:
        rubric = read_county_rubric(check_rubric_id(data, str(path), locate), params_path, profile_name(data), str(path))
    return build_county_submission(data, rubric, str(path), locate), rubric


KEY_PROVINCES_FILE = package_folder("data/lists") / "noncoal-key-provinces-2021.csv"


def read_key_provinces(path: Path = KEY_PROVINCES_FILE) -> tuple[str, ...] | None:
    """The non-coal key provinces of the 2021 list, or None when the list is not installed.

    Read once per process and file version (every province evaluation asks for it)."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return _read_key_provinces(path, stat.st_ino, stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=4)
def _read_key_provinces(path: Path, *identity: int) -> tuple[str, ...] | None:
    import csv

    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError:
        return None
    return tuple(row["province"].strip() for row in csv.DictReader(text.splitlines()) if row.get("province"))


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_code_revision() -> str:
    """The git revision of the minesafe source in use, or 未知 when it is not a git checkout."""
    import subprocess

    try:
        done = subprocess.run(
            ["git", "-C", str(PACKAGE), "describe", "--always", "--dirty", "--abbrev=12"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return "未知"
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else "未知"


def run_folder() -> Path:
    """The folder a run started in, which every path shown to a reader is relative to.

    A batch's report kernels run elsewhere; the batch passes its folder in ``MINESAFE_RUN_FOLDER``.
    """
    return Path(os.environ.get("MINESAFE_RUN_FOLDER") or Path.cwd())


def shown_path(path: str | Path) -> str:
    """A path as reports show it: relative to :func:`run_folder`, never absolute."""
    path = Path(path)
    if not path.is_absolute():
        return path.as_posix()
    try:
        return Path(os.path.relpath(path, run_folder().resolve())).as_posix()
    except ValueError:  # another drive: no relative path exists
        return path.name


def _file_facts(path: str | Path) -> dict[str, str]:
    return {"path": shown_path(path), "sha256": file_sha256(Path(path))}


def _shipped_path(path: str | Path) -> str:
    """A file shipped with minesafe as provenance names it, relative to the folder holding the
    package (``minesafe/data/profiles/…`` installed, ``params/profiles/…`` in a checkout); any
    other file relative to the run's folder."""
    root = Path(__file__).resolve().parent.parent
    try:
        return Path(path).resolve().relative_to(root).as_posix()
    except ValueError:
        return shown_path(path)


def read_provenance(unit: UnitResult, params: str | Path | None) -> dict[str, Any]:
    """Where a unit's result came from (the ``provenance`` key of the JSON outputs): every input
    file with its SHA-256 — each stage's submission and, for a province, each key county's files —
    the rubric files actually used (after any ``rubric_file`` swap), the profiles submissions named
    (``profile:``), the params file and the code.
    Paths are relative to the folder the run started in."""
    inputs: list[dict[str, str]] = []
    rubrics: dict[str, Rubric] = {}
    profiles: dict[str, Rubric] = {}  # a profile named by a submission (``profile:``), by its file

    def note_rubric(rubric: Rubric) -> None:
        rubrics.setdefault(rubric.source_file, rubric)
        if rubric.profile_file:
            profiles.setdefault(rubric.profile_file, rubric)

    for result, source in zip(unit.stages, unit.sources, strict=True):
        inputs.append({"role": "提交文件", "unit": result.name, "stage": result.header.stage} | _file_facts(source))
        note_rubric(result.rubric)
        if isinstance(result, ProvinceResult):
            for county in result.units:
                for r, county_source in zip(county.stages, county.sources, strict=True):
                    inputs.append({"role": "重点县文件", "unit": r.name, "stage": r.header.stage} | _file_facts(county_source))
                    note_rubric(r.rubric)
    return {
        "inputs": inputs,
        "rubrics": [
            {
                "id": r.id,
                "version": r.version,
                "path": r.source_file if r.source_file.startswith("minesafe/") else shown_path(r.source_file),
                "sha256": r.source_sha256,
            }
            for r in rubrics.values()
        ],
        "profiles": [
            {"name": r.profile, "path": _shipped_path(r.profile_file), "sha256": r.profile_sha256} for r in profiles.values()
        ],
        "params": None if params is None else _file_facts(params),
        "minesafe_version": minesafe.__version__,
        "code_revision": read_code_revision(),
    }


def read_umask() -> int:
    """The process's umask, read without changing it (Linux reports it in /proc; elsewhere it is
    set and restored at once)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_folder(folder: Path) -> None:
    """Make a rename inside ``folder`` durable (a crash after the rename keeps the new name)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot sync a folder; the data itself was synced
    finally:
        os.close(fd)


@contextmanager
def atomic_write(path: Path, mode: str = "wb") -> Iterator[Any]:
    """Write to a temporary file beside ``path`` and rename it into place only on success, so an
    interrupted write never leaves a half-written file nor destroys the previous one.

    The data is fsync'ed before the rename; the file gets the mode an ordinary write would give it
    (``0666`` less the umask), or keeps the mode of the file it replaces.
    """
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        file_mode = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        file_mode = 0o666 & ~read_umask()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, file_mode)  # mkstemp makes the file private
        with os.fdopen(fd, mode) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


def write_json(data: Any, path: Path) -> None:
    """Write JSON (UTF-8, Chinese kept readable) atomically."""
    import json

    with atomic_write(path, "w") as handle:
        json.dump(data, handle, ensure_ascii=False, indent=2)
        handle.write("\n")


def dump_yaml(data: Any) -> str:
    """YAML as minesafe writes it: Chinese readable, keys in the given order."""
    return yaml.dump(data, Dumper=_YamlDumper, allow_unicode=True, sort_keys=False, default_flow_style=None, width=120)


def write_yaml(data: Any, path: Path) -> None:
    """Write YAML (UTF-8) atomically."""
    with atomic_write(path) as handle:
        handle.write(dump_yaml(data).encode("utf-8"))


def _write_synced(path: Path, content: bytes, file_mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, file_mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())


#: The hidden folder beside a report folder where its new files are written before the swap:
#: a name no evaluator would choose, with :data:`STAGING_MARKER` inside. Housekeeping
#: (:func:`finish_interrupted_swaps`) touches nothing else.
STAGING_PREFIX = ".minesafe-staging."
#: The marker file inside a staging folder: which report folder it is for. The process writing it
#: holds a lock on it (``flock``) until the swap is done, so another batch never takes it for a
#: leftover; the lock goes with the process, however it ends.
STAGING_MARKER = "minesafe-staging.json"
#: Inside a staging folder: the new files, and the report folder they replace once set aside.
_NEW, _OLD = "new", "old"


def _lock(fd: int, wait: bool) -> bool:
    """Lock an open marker file for this process; ``False`` when another process holds it. Where
    there is no ``flock`` (not POSIX), a marker always counts as held: leftovers are then kept."""
    try:
        import fcntl
    except ImportError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def replace_folder(folder: Path, files: Mapping[str, bytes], before_swap: Callable[[], None] | None = None) -> None:
    """Make ``folder`` hold exactly ``files``, all or nothing.

    The files are written (and fsync'ed) into a staging folder beside it first (see
    :data:`STAGING_PREFIX`); only when all are complete does the old folder go aside *into* the
    staging folder and the new one take its place, so a failed or interrupted run never leaves a
    half-written report and never destroys the previous good one (a process killed between the two
    renames leaves the old report in the staging folder, and :func:`finish_interrupted_swaps`
    puts it back). ``before_swap`` is called between writing and swapping (the batch checks there
    that it was not interrupted).
    """
    import json
    import shutil
    import tempfile

    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=folder.parent))
    new, old = staging / _NEW, staging / _OLD
    umask = read_umask()
    # the marker appears under its name only once locked and written: housekeeping never sees it half made
    marker = os.open(staging / f".{STAGING_MARKER}", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        _lock(marker, wait=True)
        os.write(marker, json.dumps({"folder": folder.name, "pid": os.getpid()}, ensure_ascii=False).encode("utf-8"))
        os.fsync(marker)
        os.replace(staging / f".{STAGING_MARKER}", staging / STAGING_MARKER)
        new.mkdir(0o777 & ~umask)
        new.chmod(0o777 & ~umask)  # a report folder gets the mode an ordinary mkdir gives
        for name, content in files.items():
            _write_synced(new / name, content, 0o666 & ~umask)
        _fsync_folder(new)
        _fsync_folder(staging)
        if before_swap is not None:
            before_swap()
        if folder.exists():
            os.replace(folder, old)
        os.replace(new, folder)
        _fsync_folder(folder.parent)
        shutil.rmtree(staging)
    except BaseException:
        if old.exists() and not folder.exists():
            os.replace(old, folder)
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        os.close(marker)  # releases the lock, after the staging folder is gone


def finish_interrupted_swaps(root: Path, depths: Iterable[int]) -> None:
    """Finish what a killed :func:`replace_folder` left in ``root``'s report folders ``depths``
    levels down (1: ``root/x``): a report folder set aside whose place is empty goes back; a staging
    folder then goes. Only staging folders (:data:`STAGING_PREFIX`) holding a marker that names a
    report folder are touched, and only when no running process holds the marker's lock: an
    evaluator's own hidden folders (``.相册.old``, ``.草稿.tmp``) and another batch's work in progress
    are left alone."""
    for depth in depths:
        for staging in sorted(root.glob("*/" * (depth - 1) + STAGING_PREFIX + "*")):
            _finish_swap(staging)


def _finish_swap(staging: Path) -> None:
    import json
    import shutil

    if staging.is_symlink() or not staging.is_dir():
        return
    try:
        marker = os.open(staging / STAGING_MARKER, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:  # no marker: not a folder minesafe made
        return
    try:
        if not _lock(marker, wait=False):  # a running batch is writing it
            return
        try:
            name = json.loads(os.read(marker, 4096).decode("utf-8"))["folder"]
        except (ValueError, KeyError, TypeError):
            return
        if not isinstance(name, str) or name in ("", ".", "..") or "/" in name or os.sep in name:
            return
        old, original = staging / _OLD, staging.parent / name
        if os.path.lexists(old) and not os.path.lexists(original):
            if old.is_symlink() or not old.is_dir():
                return  # not what replace_folder sets aside: keep it
            os.replace(old, original)
        shutil.rmtree(staging, ignore_errors=True)
    finally:
        os.close(marker)


def write_workbook(workbook, path: Path) -> None:
    """Save an openpyxl workbook atomically."""
    with atomic_write(path) as handle:
        workbook.save(handle)
