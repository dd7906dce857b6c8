import re
import unicodedata

import pytest

from minesafe.exceptions import RubricError
from minesafe.files import list_rubrics, read_rubric
from minesafe.rubric import Category, FieldRole, build_rubric

from .conftest import REFERENCE

# The row ids named by the engine issue, in table order: the submission contract.
CONTRACT_IDS = (
    "1-1a 1-1b 1-1c 1-2a 1-2b 1-3a 1-3b 1-3c 1-4a 1-4b 1-4c "
    "2-1a 2-1b 2-2a 2-2b 2-3a 2-3b 2-3c 2-4a 2-4b 2-4c 2-5a 2-5b 2-5c "
    "3-1a 3-1b 3-2a 3-2b 3-3a 3-3b 3-3c 3-4a 3-4b 3-4c 3-5a 3-5b 3-6a 3-6b 3-6c 3-6d 3-7a 3-7b 3-7c 3-7d "
    "4-1a 4-1b 4-2a 4-2b 4-2c 4-3a 4-3b 4-4a 4-4b 4-4c 4-4d 4-4e "
    "5-1a 5-1b 5-1c 5-2a 5-3a 5-4a 5-4b 5-5a 5-5b"
).split()


def test_shipped_rubrics_are_listed():
    assert {"noncoal-county", "noncoal-province"} <= set(list_rubrics())


def test_row_ids_follow_the_contract(county_rubric):
    assert [r.id for r in county_rubric.rows] == CONTRACT_IDS
    assert [t.id for t in county_rubric.targets] == [f"T{i}" for i in range(1, 8)]


def _footnote_numbers(footnote: str) -> dict[str, int]:
    numbers = {
        "veto": re.search(r"否决项(\d+)项", footnote),
        "scored": re.search(r"评分项有(\d+)项", footnote),
        "points": re.search(r"共计(\d+)分", footnote),
        "reference": re.search(r"参考项(\d+)项", footnote),
    }
    return {k: int(m.group(1)) for k, m in numbers.items()}


def test_totals_match_the_transcribed_footnote(county_rubric):
    expected = _footnote_numbers(county_rubric.footnote)
    assert expected == vars(county_rubric.totals)
    counted = {
        "veto": len(county_rubric.targets) + len(list(county_rubric.rows_of(Category.VETO))),
        "scored": len(list(county_rubric.rows_of(Category.SCORED))),
        "points": county_rubric.total_points,
        "reference": len(list(county_rubric.rows_of(Category.REFERENCE))),
    }
    assert counted == expected


def test_scored_points_are_the_forms_three_and_four(county_rubric):
    assert {r.points for r in county_rubric.rows_of(Category.SCORED)} == {3, 4}


def test_inferred_rows_are_recorded(county_rubric):
    inferred = [r.id for r in county_rubric.rows if r.inferred]
    assert inferred == ["2-1a", "2-3c", "3-7a", "3-7b", "3-7c", "3-7d", "4-1a"]
    assert "推断" in county_rubric.inferred_note


def test_every_derivable_row_can_fail(county_rubric):
    """A row whose counts decide it must have a way to be 未完成."""
    for row in county_rubric.rows:
        if county_rubric.derivable(row):
            assert any(f.role is not FieldRole.INFO for f in row.fields), row.id


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = re.sub(r"\$\\Delta\s*/\s*\d\$", "", text)
    return re.sub(r"[\s,，;；:：。.、()（）“”\"]", "", text)


def test_texts_come_from_the_reference(county_rubric):
    """Every requirement and fill-in text appears in the reference text; rows the transcription
    garbled say so in ``reconstructed`` and are checked by review instead."""
    reference = _normalise(REFERENCE.read_text(encoding="utf-8"))
    missing = []
    for row in county_rubric.rows:
        for text in [] if row.reconstructed else [row.fill_in, row.requirement]:
            # a transcription page break may split a cell; every sentence must still be there
            for sentence in re.split(r"[；;。(（]评分标准|[；;]", text):
                if len(_normalise(sentence)) > 6 and _normalise(sentence) not in reference:
                    missing.append((row.id, sentence))
    for target in county_rubric.targets:
        if _normalise(target.name) not in reference:
            missing.append((target.id, target.name))
    assert not missing


def _mutated(county_rubric_data, mutate):
    import copy

    data = copy.deepcopy(county_rubric_data)
    mutate(data)
    return data


@pytest.fixture(scope="module")
def rubric_data():
    from importlib import resources

    import yaml

    return yaml.safe_load((resources.files("minesafe") / "rubrics" / "noncoal-county.yaml").read_text(encoding="utf-8"))


def _row(data, row_id):
    return next(r for s in data["sections"] for t in s["tasks"] for r in t["rows"] if r["id"] == row_id)


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda d: _row(d, "3-7a").update(category="veto"), "否决项（含7项工作目标）合计为 30"),
        (lambda d: _row(d, "1-1c").update(points=3), "评分项总分合计为 99"),
        (lambda d: _row(d, "1-1b").update(id="1-1a"), "编号 1-1a 重复出现"),
        (lambda d: _row(d, "1-3b").update(points=2), "第 1-3b 行：参考项不应有分值"),
        (lambda d: _row(d, "2-2a").pop("requirement"), "第 2-2a 行写法有误"),
        (lambda d: _row(d, "4-4a").update(id="4-5a"), "第 4-5a 行：编号应为“4-4”加一个字母"),
        (lambda d: d["targets"][0].update(bound="20"), "targets[0]（T1）写法有误"),
    ],
)
def test_broken_rubric_names_the_row(rubric_data, mutate, fragment):
    with pytest.raises(RubricError) as info:
        build_rubric(_mutated(rubric_data, mutate), "test.yaml")
    assert fragment in str(info.value)


def test_rubric_from_a_file_path(tmp_path, rubric_data):
    import yaml

    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(rubric_data, allow_unicode=True), encoding="utf-8")
    assert read_rubric(str(path)).id == "noncoal-county"


def test_province_rubric_reuses_county_targets(county_rubric, province_rubric):
    assert province_rubric.targets == county_rubric.targets
    assert province_rubric.rows == ()
    assert province_rubric.baseline_year == county_rubric.baseline_year


def test_row_by_id_knows_the_rows_a_profile_adds():
    """The row index is cached per rubric object: a rubric with added rows has its own."""
    from minesafe.files import read_county_rubric

    base = read_rubric("coal-county")
    assert base.row_by_id("1-1b") is None  # the index of the shipped rubric is made here
    wuhai = read_county_rubric("coal-county", profile="wuhai-2023")
    added = wuhai.row_by_id("1-1b")
    assert added is not None and added.id == "1-1b" and added in wuhai.rows
    assert base.row_by_id("1-1b") is None and wuhai.row_by_id("1-1a") is base.row_by_id("1-1a")


def test_malformed_rubric_reports_every_problem_as_rubric_error_lines(rubric_data):
    """A rubric file named by a params file may be malformed anywhere: every problem is a line of one
    RubricError (never a KeyError, AttributeError or ValueError out of build_rubric)."""

    def break_everything(d):
        d["sections"][0].pop("number")
        d["sections"][1]["tasks"][0]["rows"].append("不是一行")
        d["sections"][2]["tasks"] = "不是列表"
        d["thresholds"] = ["75%"]
        d["pass_score"] = "八十"
        d["baseline_year"] = "2020年"
        d["inferred_categories"] = ["note"]

    with pytest.raises(RubricError) as info:
        build_rubric(_mutated(rubric_data, break_everything), "test.yaml")
    problems = info.value.problems
    expected = [
        "sections[0] 应为映射，含整数 number",
        "sections[1].tasks[0].rows[",
        "sections[2]（第 3 部分）的 tasks 应为任务的列表",
        "thresholds 应为映射",
        "pass_score 应为合格分数线（数，如 80）（当前值：'八十'）",
        "baseline_year 应为基准年份（整数）",
        "inferred_categories 应为映射",
    ]
    for fragment in expected:
        assert any(fragment in p for p in problems), (fragment, problems)
    assert len(problems) == len(expected)


@pytest.mark.parametrize("data", [["id", "unit"], "评估表", None])
def test_rubric_that_is_not_a_mapping_is_a_rubric_error(data):
    with pytest.raises(RubricError, match="文件内容应为评估表的键值映射"):
        build_rubric(data, "test.yaml")


def test_each_row_and_target_names_its_line_of_the_reference(county_rubric):
    """The line a refusal cites (params may not change a marked row) is the row's own line: it holds
    the row's text and, but for the seven inferred rows, its category marker."""
    lines = REFERENCE.read_text(encoding="utf-8").splitlines()
    for row in county_rubric.rows:
        assert row.line, row.id
        text = _normalise(lines[row.line - 1])
        assert _normalise(row.requirement)[:8] in text or _normalise(row.fill_in)[:8] in text, row.id
        marker = {"veto": "■", "scored": "△", "reference": "/"}[row.category.key]
        raw = lines[row.line - 1].replace("$\\Delta", "△")
        if row.inferred:  # the marker was lost ("/" cannot be told from 万吨/年)
            assert "■" not in raw and "△" not in raw, row.id
        elif marker != "/":
            assert marker in raw, row.id
    for target in county_rubric.targets:
        assert _normalise(target.name) in _normalise(lines[target.line - 1]), target.id
    assert all("80分" in lines[n - 1] for n in county_rubric.pass_score_lines)


@pytest.mark.parametrize("name", list_rubrics())
def test_a_forms_notices_read_as_chinese_prose(name):
    """What a report prints of the form (title, pass rule, provisional notice, footnote): no space
    left between Chinese characters by a folded YAML line, no key a reader cannot act on."""
    rubric = read_rubric(name)
    for text in (rubric.title, rubric.pass_rule, rubric.provisional, rubric.footnote):
        assert not re.search(r"[\u3000-\u9fff\uff00-\uffef] +[\u3000-\u9fff\uff00-\uffef]", text or ""), text
        assert not re.search(r"[a-z]+_[a-z_]+", text or ""), text
