"""Words for the people who fill the forms (issue "The first hour and every day after", §2): a
workbook's messages name the sheet, the cell and the Chinese label, and say what is expected in
Chinese words, never an internal key or YAML syntax; YAML/JSON users keep the key path."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from minesafe.exceptions import InputError, InputErrors, MinesafeError
from minesafe.files import list_rubrics, read_rubric
from minesafe.parsing import read_document
from minesafe.results import evaluate, evaluate_unit
from minesafe.storage import write_workbook
from minesafe.workbook import build_workbook, check_prefill

from .conftest import DATA, DEMO
from .hostile_files import write_hostile_files

#: Keys of the submission format that only YAML/JSON writers see, besides the rubrics' own keys.
FORMAT_KEYS = {
    "rubric", "profile", "province", "county", "enterprise", "group", "year", "stage", "demo", "narrative",
    "targets", "items", "result", "note", "counties", "key_counties", "baseline", "current", "previous_5_years",
    "count", "deaths", "work", "problems", "measures", "pass", "fail", "na", "true", "false", "submitted",
}  # fmt: skip


def _rubric_identifiers() -> set[str]:
    """Every ASCII identifier of the shipped rubrics a submission writes: field keys, target inputs."""
    names = set(FORMAT_KEYS)
    for rubric_id in list_rubrics():
        rubric = read_rubric(rubric_id)
        names |= {key for target in rubric.targets for key in target.inputs}
        names |= {f.key for row in rubric.rows for f in row.fields}
    return names


def _workbook_messages(folder: Path) -> dict[str, list[str]]:
    """The message lines of every workbook of the catalogues: the generated hostile workbooks, and
    each invalid YAML/JSON submission that a workbook can be pre-filled from, as that workbook."""
    write_hostile_files(folder)
    books = sorted(folder.glob("*.xlsx"))
    for source in sorted((DATA / "invalid").glob("[cp][or]*_*.*")):  # county_… and province_…
        try:
            data, _ = read_document(source)
        except MinesafeError:
            continue  # a file that does not parse cannot be a workbook
        if not isinstance(data, dict) or data.get("rubric") not in list_rubrics():
            continue
        rubric = read_rubric(data["rubric"])
        if check_prefill(data, rubric):
            continue
        book = folder / f"{source.stem}.xlsx"
        write_workbook(build_workbook(rubric, data), book)
        books.append(book)
    messages = {}
    for book in books:
        try:
            evaluate(book)
        except InputErrors as exc:
            messages[book.name] = [line for e in exc.errors for line in e.lines]
        except InputError as exc:
            messages[book.name] = exc.lines
        except MinesafeError as exc:
            messages[book.name] = str(exc).splitlines()
    return messages


#: What a message shows as the cell's own content (``当前值：“…”``): the person's text, not ours.
_SHOWN_VALUE = re.compile(r"当前值：“[^”]*”")


def test_no_workbook_message_carries_an_internal_key(tmp_path):
    identifiers = _rubric_identifiers()
    messages = _workbook_messages(tmp_path)
    assert len(messages) > 20
    leaks = {
        (name, line): found
        for name, lines in messages.items()
        for line in lines
        if (found := identifiers & set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", _SHOWN_VALUE.sub("", line))))
    }
    assert not leaks, "\n".join(f"{name}: {line} ← {sorted(found)}" for (name, line), found in leaks.items())
    key_paths = [line for lines in messages.values() for line in lines if line.startswith(("键 ", "文件顶层"))]
    assert not key_paths  # a workbook's places are sheets and cells (or the whole workbook or file)


def test_a_stage_given_twice_in_workbooks_is_named_by_its_row_not_its_key(tmp_path):
    """Problems of several files at once (one unit's stages) name the 基本信息 row in workbooks;
    YAML files keep the key, with its label beside it."""
    data, _ = read_document(DEMO / "counties" / "jia.yaml")
    books = [tmp_path / "甲.xlsx", tmp_path / "甲-副本.xlsx"]
    for book in books:
        write_workbook(build_workbook(read_rubric(data["rubric"]), data), book)
    with pytest.raises(InputError) as refused:
        evaluate_unit(books)
    assert refused.value.lines[0].startswith("工作表「基本信息」“评估阶段”一行：")
    yaml_file = DEMO / "counties" / "jia.yaml"
    with pytest.raises(InputError) as refused:
        evaluate_unit([yaml_file, yaml_file])
    assert refused.value.lines[0].startswith("键 stage（评估阶段）：")
