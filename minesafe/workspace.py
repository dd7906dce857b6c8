"""The demo workspace: ``minesafe demo DIR`` writes the shipped demo as a folder to work in.

Everything the documentation's commands use is in it, under the names the documentation uses:
each demo submission as YAML (named after its unit, e.g. ``收件/示例省/示例丙县.yaml``, with its stage
and year added where a unit has several) and as a filled workbook (``填报表/…``), run files
(``运行/``), the params readings and profiles (``参数/``), the list data (``名单数据.yaml``), copies
of the report notebooks whose defaults point at these files (``笔记本/``), and a Chinese
``README.txt`` saying what to try. Names are derived from what each file declares (unit, year,
stage), so a demo file added to the package appears in the workspace under a name of the same kind.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import yaml

from minesafe.exceptions import InputError, Problem
from minesafe.files import read_prefill, read_rubric
from minesafe.parsing import read_document
from minesafe.resources import demo_folder, package_folder, profile_folder
from minesafe.rubric import STAGES
from minesafe.season import CALENDAR_FILE
from minesafe.storage import atomic_write, read_umask

if TYPE_CHECKING:
    from minesafe.rubric import Rubric

README = "README.txt"
#: The submissions as they arrive, a folder per province: what ``minesafe batch 收件/`` takes.
INBOX = "收件"
WORKBOOK_FOLDER = "填报表"
RUN_FOLDER = "运行"
PARAMS_FOLDER = "参数"
NOTEBOOK_FOLDER = "笔记本"
LIST_DATA = "名单数据.yaml"
#: The season calendar in ``参数/`` (a copy of the shipped one, to edit for a year).
CALENDAR_NAME = "评估日程.yaml"
#: A province's coal units are kept apart from its non-coal key counties (other lists, other forms).
COAL_FOLDER = "煤矿"
#: The run file of the list-management notebook (the other notebooks' run files are named by unit).
LIST_RUN = "名单建议.yaml"
#: The package's list data written as ``名单数据.yaml``.
SHIPPED_LIST_DATA = "lists/coal-county-history.yaml"
#: A report notebook's parameter default that points into the shipped demo data, as the notebooks write it.
_DEMO_DEFAULT = re.compile(r'"\.\./data/demo((?:/[^"]*)?)"')


@dataclass(frozen=True)
class DemoSubmission:
    """A shipped demo submission and where the workspace puts it."""

    source: Path  # in the package
    data: Mapping[str, Any]
    name: PurePosixPath  # in the workspace, e.g. 示例省/煤矿/示例煤矿县甲-核查.yaml


def _unit_of(data: Mapping[str, Any]) -> tuple[str, str, str]:
    """(rubric, province, unit name) of a submission: who it is about, whatever the stage and year."""
    rubric = read_rubric(str(data["rubric"]))
    name = data["province"] if rubric.unit == "province" else data[rubric.unit_key]
    return rubric.id, str(data["province"]).strip(), str(name).strip()


def list_demo_submissions() -> list[DemoSubmission]:
    """Every submission shipped in the demo folder, each with its workspace name: the unit's name,
    then ``-年度`` when the unit has files for several years, then ``-阶段`` for a stage after 自评;
    a province's files sit in a folder named after it, its coal units in ``煤矿/`` below."""
    found = []
    for path in sorted(demo_folder().rglob("*.yaml")):
        data, _ = read_document(path)
        if isinstance(data, Mapping) and "rubric" in data:
            found.append((path, data))
    years: dict[tuple[str, str, str], set[str]] = {}
    for _, data in found:
        years.setdefault(_unit_of(data), set()).add(str(data["year"]))
    submissions = []
    for path, data in found:
        rubric_id, province, unit = _unit_of(data)
        stem = unit
        if len(years[rubric_id, province, unit]) > 1:
            stem += f"-{data['year']}"
        if data.get("stage", STAGES[0]) != STAGES[0]:
            stem += f"-{data['stage']}"
        folder = PurePosixPath(INBOX, province, *([COAL_FOLDER] if rubric_id.startswith("coal-") else []))
        submissions.append(DemoSubmission(path, data, folder / f"{stem}.yaml"))
    names = Counter(s.name for s in submissions)
    twice = [str(name) for name, n in names.items() if n > 1]
    if twice:  # two shipped files for one unit, year and stage: the demo data itself is wrong
        raise ValueError(f"demo files share a workspace name: {twice}")
    return submissions


def _county_names(province: DemoSubmission, by_source: Mapping[Path, DemoSubmission], suffix: str) -> list[str]:
    """A province's ``counties:`` entries as the workspace names its county files (relative to it)."""
    names = []
    for entry in province.data.get("counties") or []:
        county = by_source[(province.source.parent / entry).resolve()]
        relative = PurePosixPath(os.path.relpath(county.name, province.name.parent))
        names.append(str(relative.with_suffix(suffix)))
    return names


def _renamed_counties(text: str, old: list[str], new: list[str]) -> str:
    """The province file's text with each ``counties:`` entry replaced (its comments kept)."""
    for before, after in zip(old, new, strict=True):
        text = re.sub(rf"(?<=[\s\[,]){re.escape(before)}(?=[\s\],]|$)", after, text)
    return text


def plan_submissions() -> dict[str, bytes]:
    """The demo submissions as YAML and as filled workbooks, by workspace path."""
    submissions = list_demo_submissions()
    by_source = {s.source.resolve(): s for s in submissions}
    files: dict[str, bytes] = {}
    for s in submissions:
        text = s.source.read_text(encoding="utf-8")
        data, rubric = read_prefill(s.source)
        if "counties" in s.data:
            old = list(s.data["counties"])
            text = _renamed_counties(text, old, _county_names(s, by_source, ".yaml"))
            data = {**data, "counties": _county_names(s, by_source, ".xlsx")}
        files[str(s.name)] = text.encode("utf-8")
        files[str(workbook_name(s))] = _workbook_bytes(rubric, data)
        for evidence in _evidence_files(s.data):  # beside the YAML and the workbook, as listed
            content = (s.source.parent / evidence).read_bytes()
            files[str(s.name.parent / evidence)] = files[str(workbook_name(s).parent / evidence)] = content
    return files


def _evidence_files(data: Mapping[str, Any]) -> list[str]:
    """The evidence files a demo submission lists (relative to it)."""
    items = data.get("items") or {}
    listed = [entry.get("evidence") or [] for entry in items.values() if isinstance(entry, Mapping)]
    return [f["file"] if isinstance(f, Mapping) else f for files in listed for f in files]


def workbook_name(submission: DemoSubmission) -> PurePosixPath:
    """Where a submission's filled workbook is: ``填报表/`` holds the inbox's folders and names."""
    return PurePosixPath(WORKBOOK_FOLDER) / submission.name.relative_to(INBOX).with_suffix(".xlsx")


def _workbook_bytes(rubric: Rubric, data: Mapping[str, Any]) -> bytes:
    from minesafe.workbook import build_workbook

    buffer = io.BytesIO()
    build_workbook(rubric, data).save(buffer)
    return buffer.getvalue()


def plan_params() -> dict[str, bytes]:
    """The params readings and the shipped profiles, side by side in ``参数/``."""
    readings = package_folder("data/readings")  # installed; in a checkout, params/readings
    readings = readings if readings.is_dir() else package_folder("params/readings")
    calendar = package_folder("data/lists") / CALENDAR_FILE  # the season calendar, for `minesafe status --calendar`
    return {
        f"{PARAMS_FOLDER}/{p.name}": p.read_bytes()
        for folder in (readings, profile_folder())
        for p in sorted(folder.glob("*.yaml"))
    } | {f"{PARAMS_FOLDER}/{CALENDAR_NAME}": calendar.read_bytes()}


def workspace_path(shipped: str, submissions: list[DemoSubmission]) -> str:
    """Where a path into the shipped demo data (``counties/jia.yaml``, or ``""`` for the demo
    folder itself) is in the workspace. Raises ``KeyError`` for a path the workspace lacks."""
    if shipped in ("", "."):
        return INBOX
    if shipped == SHIPPED_LIST_DATA:
        return LIST_DATA
    source = (demo_folder() / shipped).resolve()
    found = [str(s.name) for s in submissions if s.source.resolve() == source]
    if not found:
        raise KeyError(shipped)
    return found[0]


def plan_notebooks(submissions: list[DemoSubmission]) -> dict[str, bytes]:
    """The report notebooks for JupyterLab: without outputs, their defaults pointing at the
    workspace's files (relative to ``笔记本/``, as a notebook's kernel starts in its folder)."""
    import nbformat

    files = {}
    for path in sorted(package_folder("notebooks").glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        notebook.metadata.pop("minesafe", None)  # the seal of the repository's nbval reference
        for cell in notebook.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
            if "parameters" in cell.metadata.get("tags", []):
                cell.source = _DEMO_DEFAULT.sub(
                    lambda m: f'"../{workspace_path(m.group(1).lstrip("/"), submissions)}"', cell.source
                )
        files[f"{NOTEBOOK_FOLDER}/{path.name}"] = nbformat.writes(notebook).encode("utf-8")
    return files


def plan_list_data() -> dict[str, bytes]:
    return {LIST_DATA: (demo_folder() / SHIPPED_LIST_DATA).read_bytes()}


def plan_runs(root: Path) -> dict[str, bytes]:
    """A run file per report of the workspace's submissions (the runs ``minesafe batch`` makes of
    the province folder, written out), plus the list-management notebook's; paths relative to the
    workspace, where ``minesafe batch 运行/`` is run."""
    from minesafe.intake import collect_run_documents

    files = {}
    for source, run in collect_run_documents([root / INBOX], root / "reports"):
        parameters = {
            key: PurePosixPath(os.path.relpath(value, root)).as_posix() if key in _PATH_PARAMETERS else value
            for key, value in run["parameters"].items()
        }
        body = {"notebook": run["notebook"], "parameters": parameters}
        header = f"# 示例数据：{Path(source).stem} 的评估报告（minesafe demo 生成；在工作区文件夹中运行 minesafe batch {RUN_FOLDER}/）\n"
        files[f"{RUN_FOLDER}/{Path(source).stem}.yaml"] = _run_file(header, body)
    body = {"notebook": "list_management", "parameters": {"history_file": LIST_DATA}}
    files[f"{RUN_FOLDER}/{LIST_RUN}"] = _run_file("# 示例数据：按名单数据测算下一年度重点名单（minesafe demo 生成）\n", body)
    return files


def _run_file(header: str, body: Mapping[str, Any]) -> bytes:
    return (header + yaml.safe_dump(body, allow_unicode=True, sort_keys=False, default_flow_style=False)).encode("utf-8")


_PATH_PARAMETERS = ("submission", "verification", "confirmation", "params_file", "history_file")


def plan_readme() -> dict[str, bytes]:
    return {README: (resources.files("minesafe") / "templates" / "workspace" / README).read_bytes()}


def _write_tree(root: Path, files: Mapping[str, bytes]) -> None:
    mode = 0o666 & ~read_umask()
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        path.chmod(mode)


def write_demo_workspace(folder: Path, force: bool = False) -> list[str]:
    """Write the demo workspace into ``folder``; returns the files written (relative paths).

    A folder that exists and is not empty is refused unless ``force``; then each file of the
    workspace is replaced (atomically, one by one) and any other file in the folder is kept. A new
    workspace is built beside ``folder`` and moved into place whole, so an interrupted run leaves
    nothing half-written.
    """
    if folder.exists() and not folder.is_dir():
        raise InputError(str(folder), [Problem((), "这是一个文件，不是文件夹", str(folder), "新的文件夹名，如 演示")])
    if folder.is_dir() and any(folder.iterdir()) and not force:
        raise InputError(
            str(folder),
            [
                Problem(
                    (), "文件夹已存在且不为空，为免覆盖其中的文件未写入", str(folder), "新的文件夹名，或加 --force 覆盖演示文件"
                )
            ],
        )
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=folder.parent))
    try:
        submissions = list_demo_submissions()
        files = plan_readme() | plan_submissions() | plan_params() | plan_list_data() | plan_notebooks(submissions)
        _write_tree(staging, files)
        runs = plan_runs(staging)
        _write_tree(staging, runs)
        files |= runs
        staging.chmod(0o777 & ~read_umask())
        if not folder.exists() or not any(folder.iterdir()):
            if folder.exists():
                folder.rmdir()
            os.replace(staging, folder)
            return sorted(files)
        for name, content in files.items():
            with atomic_write(folder / name) as handle:
                handle.write(content)
        return sorted(files)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
