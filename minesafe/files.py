"""Everything that touches files: rubric resources, submissions (YAML, JSON, Excel), params, and
atomic writes. The rest of the package takes and returns plain values.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from minesafe import __version__
from minesafe.evaluation import CountyResult, ProvinceResult, evaluate_county, evaluate_province
from minesafe.exceptions import InputError, InputErrors, KeyPath, Problem, ProblemCollector, locate_key_path
from minesafe.params import apply_params
from minesafe.rubric import Rubric, build_rubric
from minesafe.submission import CountySubmission, build_county_submission, build_province_submission

YAML_SUFFIXES = {".yaml", ".yml"}
EXCEL_SUFFIXES = {".xlsx", ".xlsm"}
SUBMISSION_SUFFIXES = YAML_SUFFIXES | {".json"} | EXCEL_SUFFIXES

Locator = Callable[[KeyPath], str]


def list_rubrics() -> list[str]:
    """Ids of the rubrics shipped inside the package."""
    folder = resources.files("minesafe") / "rubrics"
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


def read_rubric(name: str, targets_from: Rubric | None = None) -> Rubric:
    """A shipped rubric by id (``noncoal-county``) or a rubric file by path.

    A rubric that declares ``targets_from`` gets them from ``targets_from`` if given (so params
    applied to a county rubric reach its province rubric), else from the shipped rubric named.
    """
    if name in list_rubrics():
        text = (resources.files("minesafe") / "rubrics" / f"{name}.yaml").read_text(encoding="utf-8")
        source = f"minesafe/rubrics/{name}.yaml"
    else:
        path = Path(name)
        text = _read_text(path)
        source = str(path)
    data, _ = parse_yaml(text, source)
    if isinstance(data, Mapping) and "targets_from" in data and targets_from is None:
        targets_from = read_rubric(str(data["targets_from"]))
    return build_rubric(data, source, targets_from)


def bundled_font_path() -> Path | None:
    """The Noto Sans SC font shipped in the package, if the installation has it."""
    path = Path(str(resources.files("minesafe") / "fonts" / "NotoSansSC-Regular.ttf"))
    return path if path.is_file() else None


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
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


class _UniqueKeyLoader(yaml.SafeLoader):
    """Refuses duplicate keys: YAML would silently keep the last one and lose the first."""


def _construct_unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"键 {key} 重复出现（第 {seen[key] + 1} 行已有）", key_node.start_mark
            )
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping)


def parse_yaml(text: str, source: str) -> tuple[Any, Locator]:
    """Parse YAML (or JSON, a subset) text; syntax errors name the line and column."""
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader), locate_key_path
    except yaml.MarkedYAMLError as exc:
        where = _line_of(exc.problem_mark)
        if "重复" in str(exc.problem):
            problem = Problem((), str(exc.problem), expected="每个键只写一次", where=where)
        else:
            context = exc.context_mark
            if context is not None and exc.problem_mark is not None and context.line != exc.problem_mark.line:
                where = f"{_line_of(context)}开始的内容（在{where}发现）"
            problem = Problem((), f"YAML 格式错误：{exc.problem}", expected="合法的 YAML/JSON，见提交格式说明", where=where)
        raise InputError(source, [problem]) from None
    except yaml.YAMLError as exc:
        raise InputError(source, [Problem((), f"YAML 格式错误：{exc}", expected="合法的 YAML/JSON")]) from None


def _line_of(mark) -> str:
    return f"第 {mark.line + 1} 行第 {mark.column + 1} 列" if mark is not None else "文件中"


def read_document(path: Path) -> tuple[Any, Locator]:
    """A submission or params file as a mapping, with the locator that names places in it."""
    suffix = path.suffix.lower()
    if suffix in EXCEL_SUFFIXES:
        from minesafe.workbook import read_workbook  # openpyxl is only imported for workbooks

        return read_workbook(open_workbook(path), str(path))
    if suffix == ".xls":
        raise InputError(str(path), [Problem((), "这是旧版 .xls 文件，无法读取", path.suffix, "另存为 .xlsx 格式后再评估")])
    if suffix not in YAML_SUFFIXES | {".json"}:
        raise InputError(str(path), [Problem((), "不支持的文件类型", path.suffix, "、".join(sorted(SUBMISSION_SUFFIXES)))])
    text = _read_text(path)
    if suffix == ".json":
        try:
            return json.loads(text), locate_key_path
        except json.JSONDecodeError as exc:
            raise InputError(
                str(path),
                [Problem((), f"JSON 格式错误：{exc.msg}", expected="合法的 JSON", where=f"第 {exc.lineno} 行第 {exc.colno} 列")],
            ) from None
    return parse_yaml(text, str(path))


def open_workbook(path: Path):
    """Open an .xlsx file with openpyxl, or raise a clear :class:`InputError`."""
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    if not path.exists():
        raise InputError(str(path), [Problem((), "文件不存在", str(path), "已存在的文件路径")])
    try:
        return openpyxl.load_workbook(path, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
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


def read_county_rubric(name: str, params_path: str | Path | None = None) -> Rubric:
    """A county (or enterprise) rubric with the params file's overrides applied.

    ``evaluation.rubric_file`` in the params swaps in another rubric file (the official coal form
    when it arrives, say): a params change, no code change. Its id must be the one asked for.
    """
    params, source, locate = read_params(params_path)
    settings = params.get("evaluation", params) if isinstance(params, Mapping) else {}
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
    return apply_params(rubric, params, source, locate)


def _rubric_id(data: Any, source: str, locate: Locator) -> str:
    rubric_id = data.get("rubric") if isinstance(data, Mapping) else None
    known = list_rubrics()
    if rubric_id not in known:
        raise InputError(source, [Problem(("rubric",), "缺少或写错了评估表编号", rubric_id, "、".join(known))], locate)
    return rubric_id


def read_county_submission(path: Path, rubric: Rubric | None = None, params_path=None) -> tuple[CountySubmission, Rubric]:
    """A validated county submission and the rubric it is judged by."""
    data, locate = read_document(path)
    if rubric is None:
        rubric = read_county_rubric(_rubric_id(data, str(path), locate), params_path)
    return build_county_submission(data, rubric, str(path), locate), rubric


def evaluate_file(path: str | Path, params_path: str | Path | None = None) -> CountyResult | ProvinceResult:
    """Read, validate and evaluate a county or province submission file."""
    path = Path(path)
    data, locate = read_document(path)
    rubric_id = _rubric_id(data, str(path), locate)
    stub = read_rubric(rubric_id)
    if stub.unit != "province":
        rubric = read_county_rubric(rubric_id, params_path)
        return evaluate_county(build_county_submission(data, rubric, str(path), locate), rubric)
    county_rubric = read_county_rubric(stub.county_rubric, params_path)
    rubric = read_rubric(rubric_id, targets_from=county_rubric)
    province = build_province_submission(data, rubric, str(path), locate)
    errors: list[InputError] = []
    counties = []
    membership = ProblemCollector()
    for i, name in enumerate(province.counties):
        county_path = path.parent / name
        if not county_path.is_file():
            membership.add(("counties", i), "找不到重点县文件", name, f"相对于 {path.parent} 的已存在文件路径")
            continue
        try:
            county, _ = read_county_submission(county_path, county_rubric)
        except InputError as exc:
            errors.append(exc)
            continue
        for key, label in (("province", "省（区）"), ("year", "评估年度")):
            mine, theirs = getattr(province.header, key), getattr(county.header, key)
            if mine != theirs:
                membership.add(("counties", i), f"重点县文件的{label}与本省文件不一致", theirs, str(mine))
        counties.append(evaluate_county(county, county_rubric))
    if membership.problems:
        errors.insert(0, InputError(str(path), membership.problems, locate))
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise InputErrors(errors)
    return evaluate_province(province, rubric, counties)


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_code_revision() -> str:
    """The git revision of the minesafe source in use, or 未知 when it is not a git checkout."""
    package = Path(__file__).resolve().parent
    try:
        done = subprocess.run(
            ["git", "-C", str(package), "describe", "--always", "--dirty", "--abbrev=12"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return "未知"
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else "未知"


def read_provenance(result: CountyResult | ProvinceResult, submission: Path, params: Path | None) -> dict[str, str]:
    """Where a result came from: every input file with its SHA-256, the rubric and the code."""
    facts = {"提交文件": f"{submission}（SHA-256 {file_sha256(submission)}）"}
    if isinstance(result, ProvinceResult):
        data, _ = read_document(submission)
        for name in data.get("counties", []):
            facts[f"重点县文件 {name}"] = f"SHA-256 {file_sha256(submission.parent / name)}"
    if params is not None:
        facts["参数文件"] = f"{params}（SHA-256 {file_sha256(params)}）"
    rubric_text = (resources.files("minesafe") / "rubrics" / f"{result.rubric.id}.yaml").read_bytes()
    facts["评估表数据"] = f"{result.rubric.id} {result.rubric.version}（SHA-256 {hashlib.sha256(rubric_text).hexdigest()}）"
    facts["minesafe 版本"] = __version__
    facts["代码版本"] = read_code_revision()
    return facts


@contextmanager
def atomic_write(path: Path, mode: str = "wb") -> Iterator[Any]:
    """Write to a temporary file beside ``path`` and rename it into place only on success, so an
    interrupted write never leaves a half-written file nor destroys the previous one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode) as handle:
            yield handle
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(data: Any, path: Path) -> None:
    """Write JSON (UTF-8, Chinese kept readable) atomically."""
    with atomic_write(path, "w") as handle:
        json.dump(data, handle, ensure_ascii=False, indent=2)
        handle.write("\n")


def _read_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


def write_yaml(data: Any, path: Path) -> None:
    """Write YAML (UTF-8, Chinese readable, keys in the given order) atomically."""
    with atomic_write(path, "w") as handle:
        yaml.safe_dump(data, handle, allow_unicode=True, sort_keys=False, default_flow_style=None, width=120)


def replace_folder(folder: Path, files: Mapping[str, bytes]) -> None:
    """Make ``folder`` hold exactly ``files``, all or nothing.

    The files are written to a hidden sibling folder first; only when all are complete does it
    take the old folder's place, so a failed or interrupted run never leaves a half-written report
    and never destroys the previous good one (at worst the old one is kept beside it, renamed).
    """
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=folder.parent))
    try:
        staging.chmod(0o777 & ~_UMASK)  # mkdtemp makes it private; a report folder is not
        for name, content in files.items():
            (staging / name).write_bytes(content)
        retired = None
        if folder.exists():
            retired = folder.with_name(f".{folder.name}.{os.getpid()}.old")
            os.replace(folder, retired)
        os.replace(staging, folder)
        if retired is not None:
            shutil.rmtree(retired)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def write_workbook(workbook, path: Path) -> None:
    """Save an openpyxl workbook atomically."""
    with atomic_write(path) as handle:
        workbook.save(handle)
