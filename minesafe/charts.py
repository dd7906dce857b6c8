"""Charts for the reports, drawn with Chinese labels.

Figures are rendered to PNG inside a matplotlib ``rc_context`` that names the CJK fonts, so the
charts look the same on every machine and no global matplotlib state is changed. The bundled
Noto Sans SC (SIL OFL 1.1, see ``minesafe/fonts/OFL.txt``) comes first; the usual system CJK fonts
follow as per-glyph fallbacks.
"""

from __future__ import annotations

import base64
import functools
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from minesafe import palette
from minesafe.decimals import format_decimal
from minesafe.evaluation import CountyResult, ProvinceResult
from minesafe.exceptions import FontError
from minesafe.resources import bundled_font_path
from minesafe.rubric import Category, TargetRule
from minesafe.targets import TargetResult

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

SYSTEM_CJK_FONTS = ("Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "SimHei", "PingFang SC")


@dataclass(frozen=True)
class Chart:
    """A rendered chart: a PNG with Chinese alt text, and the data it was drawn from (for tests and
    for readers of the alt text)."""

    title: str
    png: bytes
    alt: str
    data: tuple[Mapping[Any, Any], ...]

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
        png = base64.b64encode(self.png).decode("ascii")
        return {"image/png": png, "text/plain": f"图表：{self.title}"}, {"image/png": {"alt": self.alt}}

    def __repr__(self) -> str:
        return f"Chart({self.title!r})"


@functools.cache
def chinese_font_families() -> tuple[str, ...]:
    """Font families able to draw Chinese, best first; registers the bundled font once per process
    (registering a font clears matplotlib's font look-up cache: done per chart, every chart paid for
    finding its fonts again)."""
    from matplotlib import font_manager

    families: list[str] = []
    path = bundled_font_path()
    if path is not None:
        font_manager.fontManager.addfont(str(path))
        families.append(font_manager.FontProperties(fname=str(path)).get_name())
    installed = {f.name for f in font_manager.fontManager.ttflist}
    families += [name for name in SYSTEM_CJK_FONTS if name in installed and name not in families]
    if not families:
        raise FontError(
            "找不到可以显示中文的字体，图表无法绘制。请重新安装 minesafe（安装包自带思源黑体 Noto Sans SC），"
            "或安装中文字体，例如 Debian/Ubuntu 上运行 apt install fonts-noto-cjk；Windows 自带的微软雅黑、黑体可被自动识别。"
        )
    return tuple(families)


def _loss_grids(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Lost points and failed veto rows of a units × sections frame, as grids in the same column order."""
    lost = frame["失分"]
    return lost.to_numpy(dtype=float), frame["否决项未完成"][lost.columns].to_numpy(dtype=int)


def _render(
    title: str, draw: Callable[[Figure], None], size: tuple[float, float], alt: str, data: Sequence[Mapping[Any, Any]]
) -> Chart:
    """Draw on a new figure with the CJK fonts and render it to PNG."""
    import matplotlib
    from matplotlib.figure import Figure

    style: Any = {  # matplotlib types rc keys as literals
        "font.family": "sans-serif",
        "font.sans-serif": [*chinese_font_families(), "DejaVu Sans"],
        "axes.unicode_minus": False,
        "svg.hashsalt": "minesafe",
    }
    with matplotlib.rc_context(style):
        figure = Figure(figsize=size, dpi=100, layout="constrained")
        draw(figure)
        figure.suptitle(title)
        return Chart(title, _png(figure), f"{title}。{alt}", tuple(data))


def _png(figure: Figure) -> bytes:
    """The figure as an indexed-colour PNG: a chart has a few flat colours and their anti-aliased
    edges, so 256 colours look the same as full colour at about a third of the size (smaller
    reports and notebooks), and a fast octree quantizer costs less than saving full colour."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    image = Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    indexed = image.convert("RGB").quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    buffer = io.BytesIO()
    indexed.save(buffer, format="png")  # no metadata: the same chart gives the same bytes
    return buffer.getvalue()


def _wrap(text: str, width: int) -> str:
    """Chinese has no spaces to break at: cut a long label into lines of ``width`` characters."""
    return "\n".join(text[i : i + width] for i in range(0, len(text), width))


def _count_ticks(ax: Axes) -> None:
    """Whole-number ticks on the y axis of a chart of counts (matplotlib's default locator, told so)."""
    from matplotlib.ticker import MaxNLocator

    locator = ax.yaxis.get_major_locator()
    assert isinstance(locator, MaxNLocator)  # the default AutoLocator is one
    locator.set_params(integer=True)


def _legend(ax: Axes, entries: Sequence[tuple[str, str, str]]) -> None:
    """A legend above the plot area (it never covers a bar), its swatches in the bars' own colours."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [
        Line2D([0], [0], color=colour, linestyle="--") if kind == "line" else Patch(color=colour) for kind, colour, _ in entries
    ]
    ax.legend(handles, [label for *_, label in entries], loc="lower left", bbox_to_anchor=(0, 1.0), ncol=len(entries),
              frameon=False, fontsize=9)  # fmt: skip


def section_points(result: CountyResult) -> list[dict[str, Any]]:
    """Per section: its name, the points earned and the points available (scored rows)."""
    rows = []
    for s in result.rubric.sections:
        items = [i for i in result.items if i.row.section == s.number]
        rows.append(
            {
                "section": f"({s.number}) {s.name}",
                "earned": sum((i.earned for i in items if i.earned is not None), 0),
                "available": sum(i.row.points for i in items if i.row.category is Category.SCORED),
            }
        )
    return rows


def plot_section_points(result: CountyResult) -> Chart:
    """Points earned against points available, per section of the table."""
    data = section_points(result)
    earned = [float(d["earned"]) for d in data]
    available = [d["available"] for d in data]
    colours = [palette.PASS if d["earned"] == d["available"] else palette.FAIL for d in data]

    def draw(figure: Figure) -> None:
        ax = figure.subplots()
        positions = range(len(data))
        ax.barh(positions, available, color=palette.AVAILABLE)
        ax.barh(positions, earned, height=0.5, color=colours)
        for y, d in enumerate(data):
            ax.text(d["available"] + 0.4, y, f"{format_decimal(d['earned'])} / {d['available']}", va="center", fontsize=9)
        ax.set_yticks(list(positions), [_wrap(d["section"], 15) for d in data], fontsize=9)
        ax.invert_yaxis()
        ax.set_xlim(0, max(available) * 1.3 if any(available) else 1)
        ax.set_xlabel("分值")
        _legend(
            ax,
            [
                ("bar", palette.AVAILABLE, "可得分"),
                ("bar", palette.PASS, "实得分（满分）"),
                ("bar", palette.FAIL, "实得分（有失分）"),
            ],
        )

    alt = "；".join(f"{d['section']} 得 {format_decimal(d['earned'])} 分，共 {d['available']} 分" for d in data)
    return _render(f"{result.county} 各部分评分项得分", draw, (8, 0.75 * len(data) + 1.4), alt, data)


def _target_colour(t: TargetResult) -> str:
    return palette.OUTCOME_COLOURS[t.outcome]


def target_values(result: CountyResult | ProvinceResult) -> list[dict[str, Any]]:
    """Per target: id, rule, value and bound in percent (ratios) or counts (未发生 targets), result."""
    return [
        {
            "id": t.target.id,
            "events": t.target.rule is TargetRule.NONE_OCCURRED,
            "value": None if t.value is None else t.value if t.target.rule is TargetRule.NONE_OCCURRED else t.value * 100,
            "bound": None if t.target.bound is None else t.target.bound * 100,
            "value_text": t.value_text or "不涉及",
            "bound_text": t.bound_text,
            "outcome": t.outcome.value,
        }
        for t in result.targets
    ]


def plot_targets(result: CountyResult | ProvinceResult) -> Chart:
    """Ratio targets as bars against their dashed bound; 未发生 targets as bars of their counts, or,
    when none occurred, as one line under the chart instead of an empty panel."""
    data = target_values(result)
    results = {t.target.id: t for t in result.targets}
    ratios = [d for d in data if not d["events"]]
    events = [d for d in data if d["events"]]
    quiet = all(d["value"] == 0 for d in events)

    def ticks(group: Sequence[Mapping[str, Any]]) -> list[str]:
        return [f"{d['id']}\n实际 {d['value_text']}\n目标 {d['bound_text']}" for d in group]

    def draw_ratios(ax: Axes) -> None:
        values = [0.0 if d["value"] is None else float(d["value"]) for d in ratios]
        ax.bar(range(len(ratios)), values, color=[_target_colour(results[d["id"]]) for d in ratios], width=0.6)
        for x, d in enumerate(ratios):
            ax.hlines(float(d["bound"]), x - 0.4, x + 0.4, colors="black", linestyles="--")
        ax.axhline(0, color="black", linewidth=0.8)
        top = max([*values, *(float(d["bound"]) for d in ratios)])
        ax.set_ylim(min([*values, 0]) * 1.15, top * 1.15 + 1)
        ax.set_xticks(range(len(ratios)), ticks(ratios), fontsize=8)
        ax.set_ylabel("下降或提高比例（%）")

    def draw_events(ax: Axes) -> None:
        counts = [float(d["value"] or 0) for d in events]
        ax.bar(range(len(events)), counts, color=[_target_colour(results[d["id"]]) for d in events], width=0.6)
        ax.set_ylim(0, max([*counts, 1]) * 1.2)
        _count_ticks(ax)
        ax.set_xticks(range(len(events)), ticks(events), fontsize=8)
        ax.set_ylabel("起数（目标：未发生）")

    panels = [(len(ratios), draw_ratios)] if ratios else []
    if events and not quiet:
        panels.append((len(events), draw_events))

    quiet_line = f"{'、'.join(d['id'] for d in events)}（未发生类目标）：均为 0 起，完成"

    def draw(figure: Figure) -> None:
        if not panels:  # only 未发生 targets, none occurred: one line, no empty axes
            figure.text(0.5, 0.3, quiet_line, ha="center", va="center", color=palette.PASS, fontsize=11)
            return
        axes = figure.subplots(1, len(panels), width_ratios=[w for w, _ in panels], squeeze=False)[0]
        for ax, (_, drawer) in zip(axes, panels, strict=True):
            drawer(ax)
        entries = [("bar", palette.PASS, "完成"), ("bar", palette.FAIL, "未完成"), ("bar", palette.NOT_APPLICABLE, "不涉及")]
        _legend(axes[0], [*entries, ("line", "black", "目标值")] if ratios else entries)
        if events and quiet:
            figure.supxlabel(quiet_line, fontsize=9)

    name = result.county if isinstance(result, CountyResult) else result.header.province
    alt = "；".join(f"{d['id']} 实际 {d['value_text']}，目标 {d['bound_text']}，{d['outcome']}" for d in data)
    return _render(f"{name} 工作目标完成情况", draw, (8, 3.8) if panels else (8, 1.0), alt, data)


def county_scores(result: ProvinceResult) -> list[dict[str, Any]]:
    """Per key county: name, score and verdict."""
    return [{"county": c.county, "score": c.score, "passed": c.passed, "verdict": c.verdict} for c in result.counties]


def plot_counties(result: ProvinceResult) -> Chart:
    """Every key county's score against the pass score, coloured by verdict."""
    counties: Sequence[CountyResult] = result.counties
    data = county_scores(result)
    pass_score = counties[0].rubric.pass_score if counties else Fraction(0)

    def draw(figure: Figure) -> None:
        ax = figure.subplots()
        ax.bar(range(len(data)), [float(d["score"]) for d in data], width=0.6,
               color=[palette.verdict_colour(d["passed"]) for d in data])  # fmt: skip
        ax.axhline(float(pass_score), color="black", linestyle="--")
        ax.set_xticks(
            range(len(data)), [f"{d['county']}\n{format_decimal(d['score'])} 分\n{d['verdict']}" for d in data], fontsize=8
        )
        ax.set_ylim(0, 110)
        ax.set_ylabel("评分项得分")
        _legend(ax, [("bar", palette.PASS, "合格"), ("bar", palette.FAIL, "不合格"),
                     ("line", "black", f"合格分数线 {format_decimal(pass_score)} 分")])  # fmt: skip

    alt = f"合格分数线 {format_decimal(pass_score)} 分；" + "；".join(
        f"{d['county']} {format_decimal(d['score'])} 分，{d['verdict']}" for d in data
    )
    return _render(f"{result.header.province} 重点县评估结果", draw, (8, 3.8), alt, data)


def _short(label: str, width: int = 12) -> str:
    return label[:width] + ("…" if len(label) > width else "")


def plot_section_losses(losses: Mapping[str, pd.DataFrame]) -> Chart:
    """Units × sections heatmaps of points lost, one panel per rubric, each cell also counting its
    failed veto rows (``losses`` as :func:`minesafe.overview.tabulate_all_section_losses` gives it)."""
    heights = [max(len(frame), 1) for frame in losses.values()] or [1]

    def draw(figure: Figure) -> None:
        if not losses:
            figure.text(0.5, 0.5, "没有县级或企业评估结果", ha="center")
            return
        axes = figure.subplots(len(losses), 1, height_ratios=heights, squeeze=False)[:, 0]
        for ax, (title, frame) in zip(axes, losses.items(), strict=True):
            lost, (lost_at, veto_at) = frame["失分"], _loss_grids(frame)
            most = max(float(lost_at.max()), 1.0)
            image = ax.imshow(lost_at, cmap="Reds", aspect="auto", vmin=0, vmax=most)
            for y in range(lost.shape[0]):
                for x in range(lost.shape[1]):
                    points, veto = lost_at[y, x], veto_at[y, x]
                    text = "\n".join(t for t in (f"-{points:g}分" if points else "", f"否决项{veto}" if veto else "") if t)
                    # legible on every shade of red: white on the darker half (the bundled font has one weight)
                    colour = "white" if points / most > 0.5 else "black"
                    ax.text(x, y, text or "·", ha="center", va="center", fontsize=8, color=colour)
            ax.set_xticks(range(lost.shape[1]), [_short(c) for c in lost.columns], rotation=20, ha="right", fontsize=8)
            ax.set_yticks(range(lost.shape[0]), list(lost.index), fontsize=8)
            ax.set_title(title, fontsize=10)
            figure.colorbar(image, ax=ax, label="失分")

    data = [
        {"rubric": title, "unit": unit, "section": section, "lost": float(grids[0][i, j]), "failed_veto": int(grids[1][i, j])}
        for title, frame in losses.items() for grids in [_loss_grids(frame)]
        for i, unit in enumerate(frame.index) for j, section in enumerate(frame["失分"].columns)
    ]  # fmt: skip
    worst = sorted((d for d in data if d["lost"] or d["failed_veto"]), key=lambda d: (-d["failed_veto"], -d["lost"]))
    alt = (
        "；".join(f"{d['unit']} {d['section']} 失 {d['lost']:g} 分，未完成否决项 {d['failed_veto']} 项" for d in worst)
        or "无失分"
    )
    return _render("各单位各部分失分与未完成否决项", draw, (9, 1.2 + 1.3 * len(heights) + 0.4 * sum(heights)), alt, data)


def plot_score_distribution(units: pd.DataFrame) -> Chart:
    """Units' scores against the pass line, coloured by verdict (``units`` has 得分, 合格分数线, 是否合格)."""
    scored = units.dropna(subset=["得分"])
    pass_lines = sorted(set(scored["合格分数线"]))

    def draw(figure: Figure) -> None:
        ax = figure.subplots()
        groups = [scored.loc[scored["是否合格"] == passed, "得分"] for passed in (True, False)]
        ax.hist(groups, bins=range(0, 105, 5), stacked=True, color=[palette.PASS, palette.FAIL])
        for line in pass_lines:
            ax.axvline(line, color="black", linestyle="--")
        ax.set_xlim(0, 105)
        _count_ticks(ax)
        ax.set_xlabel("评分项得分")
        ax.set_ylabel("单位数")
        lines = [("line", "black", f"合格分数线 {line:g} 分") for line in pass_lines]
        _legend(ax, [("bar", palette.PASS, "合格"), ("bar", palette.FAIL, "不合格"), *lines])

    data = scored[["单位名称", "年度", "得分", "结论"]].to_dict("records")
    alt = "；".join(f"{d['年度']}年 {d['单位名称']} {d['得分']:g} 分，{d['结论']}" for d in data)
    return _render(f"得分分布（{len(scored)} 个单位·年度）", draw, (8, 3.4), alt, data)


def plot_score_trends(units: pd.DataFrame) -> Chart:
    """Each unit's score year by year, for units evaluated in more than one year."""
    scored = units.dropna(subset=["得分"])
    names = scored.groupby("单位名称")["年度"].nunique()
    several = scored[scored["单位名称"].isin(names[names > 1].index)]

    def draw(figure: Figure) -> None:
        ax = figure.subplots()
        if several.empty:
            ax.text(0.5, 0.5, "各单位均只有一个年度的评估结果，暂无趋势", ha="center", va="center", transform=ax.transAxes)
        for name, history in several.groupby("单位名称"):
            history = history.sort_values("年度")
            ax.plot(history["年度"], history["得分"], marker="o", label=name)
            for year, score, passed in zip(history["年度"], history["得分"], history["是否合格"], strict=True):
                ax.annotate(f"{score:g}", (year, score), textcoords="offset points", xytext=(0, 6), ha="center",
                            color=palette.PASS if passed else palette.FAIL)  # fmt: skip
        for line in sorted(set(several["合格分数线"])):
            ax.axhline(line, color="black", linestyle="--", linewidth=0.8)
        ax.set_xticks(sorted(set(several["年度"])))
        ax.set_ylim(0, 110)
        ax.set_ylabel("评分项得分（虚线为合格分数线）")
        if len(several):
            ax.legend(loc="lower right")

    data = several[["单位名称", "年度", "得分", "结论"]].to_dict("records")
    alt = (
        "；".join(f"{d['单位名称']} {d['年度']}年 {d['得分']:g} 分，{d['结论']}" for d in data)
        or "各单位均只有一个年度的评估结果"
    )
    return _render("多年度得分趋势", draw, (8, 3.4), alt, data)
