"""Parsing YAML 1.2 and JSON documents and opening workbooks, within the limits of docs/submission.md.

Every parse error and every limit (size, depth, digits, anchors, duplicate keys) becomes a located
:class:`~minesafe.exceptions.InputError`; the files read inside :func:`recording_reads` are recorded
for the batch's reuse cache.
"""

from __future__ import annotations

import errno
import math
import re
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import yaml

if TYPE_CHECKING:
    from openpyxl import Workbook

from minesafe.exceptions import InputError, KeyPath, Problem, describe_os_error, locate_key_path

YAML_SUFFIXES = {".yaml", ".yml"}
EXCEL_SUFFIXES = {".xlsx", ".xlsm"}
SUBMISSION_SUFFIXES = YAML_SUFFIXES | {".json"} | EXCEL_SUFFIXES

Locator = Callable[[KeyPath], str]


class _Mark(Protocol):
    """A place in a YAML text, as PyYAML's pure-Python and libyaml parsers both give it."""

    line: int
    column: int


@dataclass(frozen=True)
class RecordedReads:
    """The input files read inside :func:`recording_reads` (``files``: each existed when read) and
    the files merely looked for (``looked_for``: a row's listed evidence, found or not; whether it
    is there, and its content, shape the report as much as a file read)."""

    files: list[Path] = field(default_factory=list)
    looked_for: list[Path] = field(default_factory=list)


_reads: ContextVar[RecordedReads | None] = ContextVar("minesafe_reads", default=None)


@contextmanager
def recording_reads() -> Iterator[RecordedReads]:
    """Collect every input file read inside the block (submissions, params, rubric files) and every
    file looked for (evidence): the batch hashes exactly these to know whether a report is still
    up to date."""
    reads = RecordedReads()
    token = _reads.set(reads)
    try:
        yield reads
    finally:
        _reads.reset(token)


def record_read(path: Path) -> None:
    reads = _reads.get()
    if reads is not None and path not in reads.files:
        reads.files.append(path)


def record_lookup(path: Path) -> None:
    """Record a file whose presence counts, whether or not it exists (a listed evidence file)."""
    reads = _reads.get()
    if reads is not None and path not in reads.looked_for:
        reads.looked_for.append(path)


def read_text(path: Path) -> str:
    if path.exists() and not path.is_file() and not path.is_dir():  # a FIFO would block forever
        raise InputError(str(path), [Problem((), "不是普通文件（可能是管道或设备）", str(path), "普通的文本文件")])
    record_read(path)
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
        if exc.errno == errno.ENAMETOOLONG:
            raise InputError(str(path), [name_too_long(path)]) from None
        reason = describe_os_error(OSError(exc.errno, exc.strerror))  # the reason alone: the file is named already
        raise InputError(str(path), [Problem((), f"无法读取文件：{reason}", expected="可读取的文件")]) from None


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

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is yaml.ScalarNode and implicit[0]:
            tag: str
            for tag, pattern in self.yaml_implicit_resolvers.get(value[:1], ()):
                if pattern.match(value):
                    return tag
        return _DEFAULT_TAGS[kind]

    def descend_resolver(self, current_node: yaml.Node | None, current_index: Any) -> None:
        pass

    def ascend_resolver(self) -> None:
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

    def construct_document(self, node: yaml.Node) -> Any:
        """The document built directly from its nodes: about twice as fast as PyYAML's general
        construction, which is still what builds (and refuses) anything unusual."""
        try:
            return self._construct_plainly(node, 0)
        except (_Unusual, yaml.constructor.ConstructorError):
            return super().construct_document(node)

    def _construct_plainly(self, node: yaml.Node, depth: int) -> Any:
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
            return self._construct_mapping_plainly(node, depth)
        if kind is yaml.SequenceNode and tag == _SEQ_TAG:
            return [self._construct_plainly(child, depth + 1) for child in node.value]
        raise _Unusual

    def _construct_mapping_plainly(self, node: yaml.Node, depth: int) -> dict[Any, Any]:
        """A plain mapping built directly; a key that is not a scalar or that repeats is left to
        PyYAML's construction, whose error names the place."""
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

    def _core_scalar(self, node: yaml.ScalarNode, tag: str) -> str:
        """The scalar's text, checked against its tag (``!!int "abc"`` is refused, not guessed)."""
        text = self.construct_scalar(node)
        if not _CORE_PATTERNS[tag].fullmatch(text):
            name = _CORE_SCALARS[tag][2]
            raise yaml.constructor.ConstructorError(None, None, f"标签 !!{tag} 与内容“{text}”不符，应为{name}", node.start_mark)
        return text

    def construct_yaml_null(self, node: yaml.ScalarNode) -> None:
        self._core_scalar(node, "null")

    def construct_yaml_bool(self, node: yaml.ScalarNode) -> bool:
        return self._core_scalar(node, "bool").lower() == "true"

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int | _HugeNumber:  # type: ignore[override]  # a long one is named by the tree check
        text = self._core_scalar(node, "int")
        if text.startswith(("0o", "0x")):
            return _checked_int(text[2:], 8 if text[1] == "o" else 16)
        return _checked_int(text)

    def construct_yaml_float(self, node: yaml.ScalarNode) -> float:
        text = self._core_scalar(node, "float").lower()
        special = {".inf": math.inf, "+.inf": math.inf, "-.inf": -math.inf, ".nan": math.nan}
        return special[text] if text in special else float(text)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
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

    def __init__(self, stream: str) -> None:
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

        def __init__(self, stream: str) -> None:
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


#: Control characters no workbook (XML 1.0) can store and nobody types on purpose; tab, line feed and
#: carriage return are ordinary text. The parsers refuse them written as they are; written as escapes
#: (YAML ``"\v"``, JSON ``"\u000b"``: Word's manual line break, pasted) they reach the text.
#: Lone surrogates (JSON ``"\ud800"``) are no text either.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")


#: Keys whose text names a unit: such a name is read through :func:`minesafe.names.normalize_name`,
#: which replaces a control character (U+000B becomes a space) instead of refusing it.
_NAME_KEYS = frozenset({"province", "county", "enterprise"})


def _names_a_unit(path: KeyPath) -> bool:
    """Whether the text at ``path`` is a unit's name: a header's name, a province's key county, a
    list's unit (list data names its units by key)."""
    return bool(path) and (path[-1] in _NAME_KEYS or "key_counties" in path[:-1] or path[0] == "units")


def _control_characters(data: Any) -> list[Problem]:
    """A problem for every text (value or key) holding one of :data:`CONTROL_CHARACTERS`, at its
    key path, unit names aside (:func:`_names_a_unit`); iterative, like :func:`_check_tree`."""
    problems: list[Problem] = []
    expected = "删除该字符；从 Word 复制的手动换行请改为普通换行"
    stack: list[tuple[Any, KeyPath]] = [(data, ())]
    while stack:
        node, path = stack.pop()
        if isinstance(node, str):
            found = None if _names_a_unit(path) else CONTROL_CHARACTERS.search(node)
            if found:
                where = f"第 {found.start() + 1} 个字符"
                problems.append(Problem(path, f"含有不可见的控制字符 U+{ord(found.group()):04X}（{where}）", expected=expected))
        elif isinstance(node, dict):
            for key, value in node.items():
                found = CONTROL_CHARACTERS.search(key) if isinstance(key, str) and not _names_a_unit((*path, key)) else None
                if found:
                    shown = CONTROL_CHARACTERS.sub(lambda m: f"\\x{ord(m.group()):02x}", key)
                    message = f"键“{shown}”含有不可见的控制字符 U+{ord(found.group()):04X}"
                    problems.append(Problem(path, message, expected=expected))
                    continue
                stack.append((value, (*path, key)))
        elif isinstance(node, list):
            stack.extend((value, (*path, i)) for i, value in enumerate(node))
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
        raise InputError(source, [_describe_marked_error(exc)]) from None
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
    problems = _check_tree(data) + (_control_characters(data) if "\\" in text else [])
    if problems:
        raise InputError(source, problems)
    return data, locate_key_path


def _describe_marked_error(exc: yaml.MarkedYAMLError) -> Problem:
    """The problem a parser or constructor error is, with its line: too deep, a repeated or
    non-text key, a tag, or malformed YAML (in Chinese words, where it began when that was on an
    earlier line)."""
    where = _line_of(exc.problem_mark)
    if "maximum nesting depth" in str(exc.problem):
        return _too_deep(exc.problem_mark)
    if "重复" in str(exc.problem) or "键不能" in str(exc.problem):
        return Problem((), str(exc.problem), expected="每个键只写一次，键为文字", where=where)
    if "标签 !!" in str(exc.problem):
        return Problem((), str(exc.problem), expected="去掉标签，直接写值", where=where)
    context = exc.context_mark
    if context is not None and exc.problem_mark is not None and context.line != exc.problem_mark.line:
        where = f"{_line_of(context)}开始的内容（在{where}发现）"
    return Problem(
        (), f"YAML 格式错误：{_in_chinese(str(exc.problem))}", expected="合法的 YAML/JSON，见提交格式说明", where=where
    )


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


def _too_deep(mark: _Mark | None) -> Problem:
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
    problems = _check_tree(data, duplicates) + (_control_characters(data) if "\\" in text else [])
    if problems:
        raise InputError(source, problems)
    return data, locate_key_path


def _line_of(mark: _Mark | None) -> str:
    return f"第 {mark.line + 1} 行第 {mark.column + 1} 列" if mark is not None else "文件中"


#: Workbooks of other programs and formats minesafe does not read, by suffix: what each is.
OTHER_WORKBOOKS = {
    ".xls": "旧版 .xls 文件",
    ".xlsb": "Excel 二进制工作簿（.xlsb）",
    ".ods": "OpenDocument 表格（.ods）",
    ".et": "WPS 表格文件（.et）",
    ".numbers": "Numbers 表格",
}


def convert_workbook_problem(path: Path) -> Problem:
    """Why a workbook of :data:`OTHER_WORKBOOKS` is not read, and how to convert it."""
    return Problem(
        (), f"这是{OTHER_WORKBOOKS[path.suffix.lower()]}，无法读取", path.suffix, "用 Excel 或 WPS 另存为 .xlsx 格式后再评估"
    )


#: The longest file or folder name most file systems accept, in bytes (UTF-8 on Linux and macOS).
NAME_MAX = 255


def name_too_long(path: str | Path) -> Problem:
    """The problem of a path the file system refuses as too long (``File name too long``)."""
    import os

    longest = max((len(os.fsencode(part)) for part in Path(path).parts), default=0)
    size = f"最长的一级 {longest} 字节" if longest > NAME_MAX else f"共 {len(os.fsencode(str(path)))} 字节"
    return Problem(
        (), f"文件名或路径过长（{size}），文件系统不接受", expected=f"每一级名称不超过 {NAME_MAX} 字节（约 85 个汉字）的路径"
    )


def check_name_length(path: str | Path) -> Problem | None:
    """:func:`name_too_long` when a part of ``path`` is longer than :data:`NAME_MAX` bytes, else ``None``."""
    import os

    return name_too_long(path) if any(len(os.fsencode(part)) > NAME_MAX for part in Path(path).parts) else None


def read_document(path: Path) -> tuple[Any, Locator]:
    """A submission or params file as a mapping, with the locator that names places in it."""
    suffix = path.suffix.lower()
    if suffix in EXCEL_SUFFIXES:
        from minesafe.workbook import read_workbook  # openpyxl is only imported for workbooks

        workbook = open_workbook(path, formulas=True)
        try:
            return read_workbook(workbook, str(path), lambda: open_workbook(path))
        finally:
            workbook.close()  # read-only workbooks keep the file open until closed
    if suffix in OTHER_WORKBOOKS:
        raise InputError(str(path), [convert_workbook_problem(path)])
    if suffix not in YAML_SUFFIXES | {".json"}:
        raise InputError(str(path), [Problem((), "不支持的文件类型", path.suffix, "、".join(sorted(SUBMISSION_SUFFIXES)))])
    text = read_text(path)
    if suffix == ".json":
        return parse_json(text, str(path))
    return parse_yaml(text, str(path))


def open_workbook(path: Path, formulas: bool = False) -> Workbook:
    """Open an .xlsx file read-only (only the used area is ever materialised), after checking its
    size and the uncompressed size of its parts (a zip bomb is refused before it is inflated);
    or raise a clear :class:`InputError`. A formula cell holds the result the spreadsheet program
    stored for it, or with ``formulas`` the formula itself (``data_type`` ``"f"``)."""
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
    record_read(path)
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
        return openpyxl.load_workbook(path, read_only=True, data_only=not formulas)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError, EOFError, SyntaxError) as exc:
        raise InputError(
            str(path),
            [
                Problem(
                    (), f"不是有效的 Excel 工作簿，无法打开（{type(exc).__name__}）", expected="用 Excel 或 WPS 保存的 .xlsx 文件"
                )
            ],
        ) from None


def dump_yaml(data: Any) -> str:
    """YAML as minesafe writes it: Chinese readable, keys in the given order."""
    return yaml.dump(data, Dumper=_YamlDumper, allow_unicode=True, sort_keys=False, default_flow_style=None, width=120)
