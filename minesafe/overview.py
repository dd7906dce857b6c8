"""The overview across units and years: computed on the table of results that
``minesafe.load_results`` gives (one line per unit and stage), for the overview report.

A unit's verdict in a year is that of the stage that decides it (the engine's rule: the latest),
marked 以此阶段为准 in the table. Row ids and their sections and points come from each unit's rubric; the
units that would be listed a third consecutive year come from :mod:`minesafe.lists`'s own rule.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from minesafe.evaluation import Verdict
from minesafe.exceptions import FileList, InputError, Problem
from minesafe.files import read_county_rubric, read_rubric
from minesafe.frames import mark_form
from minesafe.lists import KINDS, build_history, consecutive_years, propose_next_list
from minesafe.names import normalize_name
from minesafe.rendering import DEMO_BANNER
from minesafe.report import Html
from minesafe.rubric import Category

if TYPE_CHECKING:
    import pandas as pd

#: The separator ``load_results`` joins row ids with.
ID_SEPARATOR = "、"


def unit_name(frame: pd.DataFrame) -> pd.Series:
    """A unit as the overview names it: 省 单位 (the province alone for a province)."""
    return frame["省"].where(frame["省"] == frame["单位"], frame["省"] + " " + frame["单位"])


def decide_units(results: pd.DataFrame) -> pd.DataFrame:
    """One line per unit and year: the line of the stage that decides, with 单位名称. Raises
    :class:`InputError` naming the files when two results decide one unit's year (a copied report
    folder, say): counting both would count the unit twice."""
    units = results[results["以此阶段为准"].fillna(True).astype(bool)].reset_index(drop=True)
    names = unit_name(units)
    # a county on the coal and the non-coal list alike: its coal unit's name carries the form
    on_two_forms = names.map(units.groupby(names)["评估表"].nunique()) > 1
    marked = [mark_form(n, f) if two else n for n, f, two in zip(names, units["评估表"], on_two_forms, strict=True)]
    units = units.assign(单位名称=marked)
    twice = units[units.duplicated(["评估表", "年度", "单位名称"], keep=False)]
    problems = [
        Problem(
            (),
            f"{name} {year}年有 {len(group)} 份评估结果",
            FileList(map(str, group["文件"])),
            "每个单位每个年度一份评估结果（同一单位各阶段的文件一起评估，结论以最后阶段为准）",
        )
        for (_, year, name), group in twice.groupby(["评估表", "年度", "单位名称"], sort=True)
    ]
    if problems:
        raise InputError("、".join(dict.fromkeys(map(str, twice["文件"]))), problems)
    return units


def summarize_results(results: pd.DataFrame) -> str:
    """How many units, which years, how many passed, failed and (when any) are 待定, in one sentence (what ``minesafe batch``
    says of its overview)."""
    units = decide_units(results)
    if units.empty:
        return "没有找到评估结果。"
    years = sorted(set(units["年度"]))
    span = f"{years[0]}年" if len(years) == 1 else f"{years[0]}—{years[-1]}年（{len(years)} 个年度）"
    counts = units["结论"].value_counts()
    pending = int(counts.get(Verdict.PENDING, 0))
    text = f"{span}共 {len(units)} 个单位·年度的评估结果：合格 {int(counts.get(Verdict.PASSED, 0))} 个，不合格 {int(counts.get(Verdict.FAILED, 0))} 个"
    text += f"，待定 {pending} 个。" if pending else "。"
    # a result judged under a non-national rule set is named with each change (never counted silently)
    other = units[units["评估口径"].fillna("").astype(str) != ""]
    if not other.empty:
        text += (
            "其中按非国家评估表口径评估的："
            + "；".join(f"{n}（{r}）" for n, r in zip(other["单位名称"], other["评估口径"], strict=True))
            + "。"
        )
    return text


def describe_results(results: pd.DataFrame) -> Html:
    """The overview's opening line: :func:`summarize_results`, after the demo notice when any
    result is demo data."""
    text = summarize_results(results)
    if not results.empty and decide_units(results)["示例数据"].any():
        text = DEMO_BANNER + text
    return Html(f"<p><b>{html.escape(text)}</b></p>", text)


def title_forms(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with its 评估表 column naming each form by its title, as a reviewer knows it (and as
    the charts name it), not by its key."""
    titles = {rubric_id: read_rubric(str(rubric_id)).title for rubric_id in set(table["评估表"])}
    return table.assign(评估表=table["评估表"].map(titles))


def summarize_units(results: pd.DataFrame) -> pd.DataFrame:
    """Each unit's verdict and score per year, failing units first within a year."""
    table = decide_units(results)
    columns = ["年度", "单位名称", "单位类型", "阶段", "结论", "得分", "否决项未完成数", "不合格原因", "评估表"]
    return title_forms(table.sort_values(["年度", "是否合格", "单位名称"], kind="stable")[columns].reset_index(drop=True))


def count_verdicts(results: pd.DataFrame) -> pd.DataFrame:
    """How many units passed and failed, per year and kind of unit."""
    units = decide_units(results)
    table = units.pivot_table(index=["年度", "单位类型"], columns="结论", values="单位", aggfunc="count", fill_value=0)
    table.columns.name = None
    return table


def _failed_rows(units: pd.DataFrame) -> pd.DataFrame:
    """One line per unit and failed row: its rubric's section, category and points."""
    import pandas as pd

    lines = []
    for unit in units.itertuples(index=False):
        if unit.单位类型 == "重点省":
            continue
        profile = unit.参数方案 if isinstance(unit.参数方案, str) else ""  # NaN or None: no profile
        rows = {r.id: r for r in read_county_rubric(str(unit.评估表), None, profile, str(unit.文件)).rows}  # a profile's rows too
        failed = [i for column in ("未完成的否决项", "失分的评分项") for i in str(getattr(unit, column)).split(ID_SEPARATOR) if i]
        for row_id in failed:
            row = rows.get(row_id)
            if row is None:  # a target id (T1 …): targets are not rows of a section
                continue
            lines.append(
                {
                    "年度": unit.年度,
                    "单位名称": unit.单位名称,
                    "评估表": unit.评估表,
                    "编号": row.id,
                    "部分": f"({row.section}) {row.section_name}",
                    "类别": row.category.value,
                    "任务分解": row.requirement,
                    "失分": float(row.points) if row.category is Category.SCORED else 0.0,
                    "否决项未完成": int(row.category is Category.VETO),
                }
            )
    columns = ["年度", "单位名称", "评估表", "编号", "部分", "类别", "任务分解", "失分", "否决项未完成"]
    return pd.DataFrame(lines, columns=columns).astype({"失分": "float64", "否决项未完成": "int64"})


def rank_failed_rows(results: pd.DataFrame) -> pd.DataFrame:
    """The rows that fail most across units (the unit's deciding stage), most frequent first."""
    failed = _failed_rows(decide_units(results))
    table = failed.groupby(["评估表", "编号", "类别", "任务分解"], sort=False).agg(
        未完成次数=("单位名称", "count"), 失分合计=("失分", "sum"), 单位=("单位名称", lambda s: "、".join(sorted(set(s))))
    )
    return title_forms(table.sort_values(["未完成次数", "失分合计"], ascending=False, kind="stable").reset_index())


def tabulate_all_section_losses(results: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """:func:`tabulate_section_losses` for every rubric with rows among the results, by rubric title."""
    rubrics = sorted(set(results.loc[results["单位类型"] != "重点省", "评估表"]))
    return {read_rubric(r).title: tabulate_section_losses(results, r) for r in rubrics}


def tabulate_section_losses(results: pd.DataFrame, rubric_id: str) -> pd.DataFrame:
    """Units × sections of one rubric: points lost and failed veto rows (the heatmap's numbers),
    for every unit judged by that rubric (a unit that lost nothing has a line of zeros)."""
    import pandas as pd

    units = decide_units(results)
    units = units[units["评估表"] == rubric_id]
    names = (units["年度"].astype(str) + " " + units["单位名称"]).tolist()  # as the failed rows name them (a form's mark too)
    sections = [f"({s.number}) {s.name}" for s in read_rubric(rubric_id).sections]
    failed = _failed_rows(units).assign(行=lambda f: f["年度"].astype(str) + " " + f["单位名称"])
    lost = failed.pivot_table(index="行", columns="部分", values="失分", aggfunc="sum", fill_value=0.0)
    vetoes = failed.pivot_table(index="行", columns="部分", values="否决项未完成", aggfunc="sum", fill_value=0)
    index = pd.Index(names, name="单位")
    columns = pd.Index(sections, name="部分")
    return pd.concat(
        {
            "失分": lost.reindex(index=index, columns=columns, fill_value=0.0).astype("float64"),
            "否决项未完成": vetoes.reindex(index=index, columns=columns, fill_value=0).astype("int64"),
        },
        axis=1,
    )


def trace_trends(results: pd.DataFrame) -> pd.DataFrame:
    """Each unit's score and verdict year by year (units × years), for units seen in several years."""
    units = decide_units(results)
    units = units.assign(年度结果=units["结论"] + units["得分"].map(lambda s: "" if s != s else f" {s:g}分"))
    table = units.pivot_table(index=["单位类型", "单位名称"], columns="年度", values="年度结果", aggfunc="first")
    table.columns.name = "年度"
    return table.fillna("—")


#: How long a unit has been on the list: the consecutive years up to and including its latest
#: evaluated year (a unit evaluated in 2023 only: 1), whatever next year's proposal.
STATIONED_YEARS_COLUMN = "连续列入年数（截至最近评估年度）"
#: The proposal for a unit with no result in its kind's latest year: nothing to decide on.
MISSING_RESULT = "待补充评估结果"


def _list_records(group: pd.DataFrame, latest: pd.DataFrame, other: pd.Series) -> dict[str, dict[str, Any]]:
    """Each unit's list record: the years it was evaluated as the years listed, and its latest
    result with its deciding stage (an exit is proposed on a 核查 or 认定 result only) — unless that
    result was reached under a non-national rule set (``other``: its 评估口径), which is no ground."""
    verdicts, stages = latest["结论"], latest["阶段"].fillna("")
    return {
        str(name): {"listed": sorted(int(y) for y in history["年度"])}
        | ({} if other[name] else {"result": verdicts[name], "stage": stages[name]})
        for name, history in group[group["单位名称"].isin(latest.index)].groupby("单位名称", sort=True)
    }


def propose_stationed_supervision(results: pd.DataFrame) -> pd.DataFrame:
    """For each kind of unit, its latest year's list proposal by :func:`minesafe.lists.propose_next_list`,
    taking the years a unit was evaluated as the years it was listed and its deciding stage as the
    stage of its result (a 合格 at 自评 is 待核查, never 调出): the units that would be on
    the list a third consecutive year are flagged for 驻点式督导帮扶 (coal units, as the rule says);
    :data:`STATIONED_YEARS_COLUMN` says how long each has been on the list so far. A unit with no
    result in its kind's latest year gets a line saying so (:data:`MISSING_RESULT`), not a proposal."""
    import pandas as pd

    units = decide_units(results)
    lines = []
    for rubric_id, group in units.groupby("评估表", sort=True):
        if rubric_id not in KINDS:
            continue
        year = int(group["年度"].max())
        latest = group[group["年度"] == year].set_index("单位名称")
        other = latest["评估口径"].fillna("").astype(str) if "评估口径" in latest else latest["结论"].map(lambda _: "")
        history = build_history({"kind": rubric_id, "year": year, "units": _list_records(group, latest, other)}, "（评估结果）")
        # the history holds names normalised (省 and 单位 run together); the overview shows them as 省 单位
        shown = {normalize_name(name): name for name in latest.index}
        for p in propose_next_list(history):
            unit = shown[p.unit]
            lines.append(
                {
                    "评估表": rubric_id,
                    "单位名称": unit,
                    "最近评估年度": year,
                    "结论": p.result,
                    "下一年度名单建议": p.action or "不列入",
                    STATIONED_YEARS_COLUMN: p.years_listed,
                    "驻点式督导帮扶": "是" if p.stationed_supervision else "",
                    "理由": "；".join(
                        ([f"评估结果按{other[unit]}得出，不作为名单调整的依据"] if other.get(unit) else []) + list(p.reasons)
                    ),
                }
            )
        # a unit of this kind with no result in its latest year is not silently left out: without
        # that year's result there is nothing to propose it on, and the evaluator must know
        for name, unit_years in group[~group["单位名称"].isin(latest.index)].groupby("单位名称", sort=True)["年度"]:
            last = int(unit_years.max())
            lines.append(
                {
                    "评估表": rubric_id,
                    "单位名称": str(name),
                    "最近评估年度": last,
                    "结论": "—",
                    "下一年度名单建议": MISSING_RESULT,
                    STATIONED_YEARS_COLUMN: consecutive_years([int(y) for y in unit_years], last),
                    "驻点式督导帮扶": "",
                    "理由": f"没有{year}年评估结果（最近一次为{last}年），无法提出{year + 1}年名单建议；请补充该单位{year}年的评估结果",
                }
            )
    return title_forms(
        pd.DataFrame(
            lines,
            columns=[
                "评估表",
                "单位名称",
                "最近评估年度",
                "结论",
                "下一年度名单建议",
                STATIONED_YEARS_COLUMN,
                "驻点式督导帮扶",
                "理由",
            ],
        )
    )
