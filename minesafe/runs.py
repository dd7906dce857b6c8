"""Run files: which report notebook, with which parameters, checked against the parameters the
notebook declares before any kernel starts (unknown names, missing required names, wrong types are
refused; values reach papermill through its Python API, never through command-line type guessing);
and a :class:`Job`, a run ready for a worker."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from minesafe.exceptions import InputError, InputErrors, Problem, ProblemCollector
from minesafe.parsing import check_name_length, read_document

#: Declared parameters that name input files: resolved against the working directory and checked.
FILE_PARAMETERS = ("submission", "params_file", "verification", "confirmation", "history_file")


#: Declared parameters that name input folders (a list run's reports folder, the overview's):
#: resolved against the working directory like :data:`FILE_PARAMETERS` — the report's kernel runs in
#: the notebooks' folder — and found when the unit is evaluated (the overview's is the batch's
#: output folder, made by the batch).
FOLDER_PARAMETERS = ("results",)


#: Declared parameters that name one unit's files at its stages, earliest first (自评, 核查, 认定).
STAGE_PARAMETERS = ("submission", "verification", "confirmation")


#: A batch notebook names the unit it reports on with one of these (its report folder follows from it).
UNIT_PARAMETERS = ("submission", "history_file")


#: Declared parameters that are link templates, with the one field they may use.
LINK_PARAMETERS = {"county_report_link": "county"}


#: Batch reports are static pages nobody edits: declared parameters set so unless a run file says otherwise.
BATCH_DEFAULTS: Mapping[str, Any] = {"whatif_panel": False}


#: A declared parameter whose help comment starts with this word must be given by every run file.
REQUIRED_MARK = "required"


_TYPES: Mapping[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "dict": (dict,),
    "list": (list,),
}


_TYPE_NAMES = {"str": "文字", "int": "整数", "float": "数", "bool": "true 或 false", "dict": "映射", "list": "列表"}


@dataclass(frozen=True)
class Run:
    """A validated run file: which notebook, with which parameters."""

    source: Path
    notebook: Path
    parameters: Mapping[str, Any]


@dataclass(frozen=True)
class Job:
    """A run ready for a worker: where its outputs go and what its result is."""

    run: Run
    folder: Path
    title: str
    result: Mapping[str, Any]
    inputs: Mapping[str, str]  # every file the report depends on -> its SHA-256
    pdf: bool = False  # also write the report's PDF (report.pdf, from report.docx)


def find_run_files(paths: Iterable[Path]) -> list[Path]:
    """Run files named directly, and every ``*.yaml`` below folders named, in a stable order.
    Raises :class:`InputError` naming every path that does not exist."""
    found: list[Path] = []
    missing = []
    for path in paths:
        if not path.exists():
            missing.append(Problem((), "路径不存在", str(path), "已存在的运行参数文件或文件夹"))
            continue
        found += sorted(path.rglob("*.yaml")) if path.is_dir() else [path]
    if missing:
        raise InputError("（批量评估的运行参数）", missing)
    return found


def declared_parameters(notebook: Path) -> dict[str, dict[str, Any]]:
    """The notebook's ``parameters`` cell as papermill reads it: name -> type, default, help."""
    import papermill

    return dict(papermill.inspect_notebook(str(notebook)))


def build_run(
    data: Any,
    source: Path,
    notebooks: Path,
    declared: Callable[[Path], Mapping[str, Mapping[str, Any]]],
    needs_unit: bool = True,
) -> Run:
    """Validate one run file's mapping; raise :class:`InputError` listing every problem.
    ``needs_unit=False`` for a report of the whole batch (the overview), which names no unit."""
    problems = ProblemCollector()
    if not isinstance(data, Mapping):
        raise InputError(str(source), [Problem((), "参数文件内容应为映射", type(data).__name__, "notebook: …，parameters: {…}")])
    for key in [k for k in data if k not in ("notebook", "parameters")]:
        problems.add((key,), "未知的键", key, "notebook、parameters")
    available = sorted(p.stem for p in notebooks.glob("*.ipynb"))
    name = data.get("notebook")
    notebook = notebooks / f"{name}.ipynb"
    if not isinstance(name, str) or name not in available:
        problems.add(("notebook",), "没有这个报告笔记本", name, "、".join(available))
        problems.raise_if_any(str(source))
    spec = declared(notebook)
    if needs_unit and not any(key in spec for key in UNIT_PARAMETERS):
        problems.add(
            ("notebook",),
            "这个笔记本不能批量运行（它没有说明评估哪个单位的参数）",
            name,
            "声明了 " + " 或 ".join(UNIT_PARAMETERS) + " 参数的报告笔记本",
        )
        problems.raise_if_any(str(source))
    given = data.get("parameters") or {}
    if not isinstance(given, Mapping):
        problems.add(("parameters",), "parameters 应为映射", given, "如 submission: data/县.yaml")
        given = {}
    parameters: dict[str, Any] = {}
    for key, value in given.items():
        problem = _parameter_problem(str(name), key, value, spec)
        if problem is not None:
            problems.add(("parameters", key), *problem)
        elif key in FILE_PARAMETERS + FOLDER_PARAMETERS and value:
            parameters[key] = str(Path(str(value)).resolve())
        else:
            parameters[key] = value
    missing = {key: expected for key, expected in _required_parameters(spec).items() if key not in given}
    for key, expected in missing.items():
        problems.add(("parameters", key), f"缺少必填参数 {key}", expected=expected)
    problems.raise_if_any(str(source))
    defaults = {key: value for key, value in BATCH_DEFAULTS.items() if key in spec and key not in parameters}
    return Run(source, notebook, defaults | parameters)


def _required_parameters(spec: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """The parameters a notebook requires (its help text starts with :data:`REQUIRED_MARK`), each
    with what it expects."""
    helps = {key: str(info.get("help", "")) for key, info in spec.items()}
    return {key: text.removeprefix(REQUIRED_MARK).strip(" :：") for key, text in helps.items() if text.startswith(REQUIRED_MARK)}


def _parameter_problem(name: str, key: str, value: Any, spec: Mapping[str, Mapping[str, Any]]) -> tuple[str, Any, str] | None:
    """What is wrong with one parameter a run file gives notebook ``name``: the message, the value
    shown and what is expected; None when it is right."""
    if key not in spec:
        return f"笔记本 {name} 没有这个参数", key, "、".join(spec)
    type_name = spec[key]["inferred_type_name"]
    allowed = _TYPES.get(type_name)
    if allowed is None:  # the notebook must annotate its parameters (name: str = …)
        return (
            f"笔记本 {name} 没有声明这个参数的类型，无法检查",
            key,
            "在笔记本的 parameters 单元格中写明类型，如 submission: str = …",
        )
    if not isinstance(value, allowed) or (isinstance(value, bool) and bool not in allowed):
        return "参数类型不对", value, _TYPE_NAMES[type_name]
    if key in LINK_PARAMETERS and not _valid_link_template(str(value)):
        return "链接模板中有未知的占位符或花括号不成对", value, "只含 {county} 占位符的相对路径，如 ../{county}/report.html"
    if key in FILE_PARAMETERS and value:
        path = Path(str(value))
        too_long = check_name_length(path)
        if too_long is not None:
            return too_long.message, value, too_long.expected
        if not path.is_file():
            return "文件不存在", value, f"相对于当前目录 {Path.cwd()} 的已存在文件路径"
    return None


def _valid_link_template(template: str) -> bool:
    import string

    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
        template.format(county="")
    except (ValueError, KeyError, IndexError, AttributeError):
        return False
    return all(f == "county" for f in fields)


def load_runs(
    run_files: Sequence[Path], notebooks: Path, declared: Callable[[Path], Mapping[str, Any]] | None = None
) -> list[Run]:
    """Validate every run file; raise all their problems together. ``declared`` reads a
    notebook's parameters (default: papermill's inspection, once per notebook)."""
    cache: dict[Path, Mapping[str, Mapping[str, Any]]] = {}

    def declared_once(notebook: Path) -> Mapping[str, Mapping[str, Any]]:
        if notebook not in cache:
            cache[notebook] = (declared or declared_parameters)(notebook)
        return cache[notebook]

    runs, errors = [], []
    if not run_files:
        raise InputError("（批量评估）", [Problem((), "没有找到参数文件", expected="params/runs/ 下的 *.yaml 运行参数文件")])
    for path in run_files:
        try:
            data, _ = read_document(path)
            runs.append(build_run(data, path, notebooks, declared_once))
        except InputError as exc:
            errors.append(exc)
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise InputErrors(errors)
    return runs
