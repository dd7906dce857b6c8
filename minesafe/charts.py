"""Charts for the reports, drawn with Chinese labels.

Figures are rendered to PNG inside a matplotlib ``rc_context`` that names the CJK fonts, so the
charts look the same on every machine and no global matplotlib state is changed. The bundled
Noto Sans SC (SIL OFL 1.1, see ``minesafe/fonts/OFL.txt``) comes first; the usual system CJK fonts
follow as per-glyph fallbacks.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from minesafe.evaluation import CountyResult, ProvinceResult
from minesafe.exceptions import FontError
from minesafe.files import bundled_font_path
from minesafe.rubric import Category, Outcome, TargetRule

SYSTEM_CJK_FONTS = ("Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "SimHei", "PingFang SC")
PASS_COLOUR, FAIL_COLOUR, NA_COLOUR, AVAILABLE_COLOUR = "#2e7d32", "#c62828", "#9e9e9e", "#cfd8dc"


@dataclass(frozen=True)
class Chart:
    """A rendered chart: shows as a PNG in Jupyter and in the HTML report."""

    title: str
    png: bytes

    def _repr_png_(self) -> bytes:
        return self.png

    def __repr__(self) -> str:
        return f"图表：{self.title}"


def chinese_font_families() -> list[str]:
    """Font families able to draw Chinese, best first; registers the bundled font."""
    from matplotlib import font_manager

    families = []
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
    return families


def _render(title: str, draw, size: tuple[float, float]) -> Chart:
    """Draw on a new figure with the CJK fonts and render it to PNG."""
    import matplotlib
    from matplotlib.figure import Figure

    style = {
        "font.family": "sans-serif",
        "font.sans-serif": [*chinese_font_families(), "DejaVu Sans"],
        "axes.unicode_minus": False,
        "svg.hashsalt": "minesafe",
    }
    with matplotlib.rc_context(style):
        figure = Figure(figsize=size, dpi=100, layout="constrained")
        draw(figure)
        figure.suptitle(title)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", metadata={"Software": None})
    return Chart(title, buffer.getvalue())


def plot_section_points(result: CountyResult) -> Chart:
    """Points earned against points available, per section of the table."""
    sections = result.rubric.sections
    available = [
        sum(i.row.points for i in result.items if i.row.section == s.number and i.row.category is Category.SCORED)
        for s in sections
    ]
    earned = [float(sum(i.earned for i in result.items if i.row.section == s.number and i.earned is not None)) for s in sections]
    labels = [f"({s.number}) {s.name[:12]}{'…' if len(s.name) > 12 else ''}" for s in sections]

    def draw(figure):
        ax = figure.subplots()
        positions = range(len(sections))
        ax.barh(positions, available, color=AVAILABLE_COLOUR, label="可得分")
        ax.barh(
            positions,
            earned,
            height=0.5,
            color=[PASS_COLOUR if e == a else FAIL_COLOUR for e, a in zip(earned, available, strict=True)],
            label="实得分",
        )
        for y, (e, a) in enumerate(zip(earned, available, strict=True)):
            ax.text(a + 0.5, y, f"{e:g} / {a}", va="center")
        ax.set_yticks(list(positions), labels)
        ax.invert_yaxis()
        ax.set_xlim(0, max(available) * 1.25 if any(available) else 1)
        ax.set_xlabel("分值")
        ax.legend(loc="lower right")

    return _render(f"{result.county} 各部分评分项得分", draw, (8, 3.6))


def plot_targets(result: CountyResult | ProvinceResult) -> Chart:
    """Each target's value against its bound: ratios on the left, event counts on the right."""
    ratios = [t for t in result.targets if t.target.rule is not TargetRule.NONE_OCCURRED]
    events = [t for t in result.targets if t.target.rule is TargetRule.NONE_OCCURRED]

    def colour(t):
        return NA_COLOUR if t.outcome is Outcome.NOT_APPLICABLE else PASS_COLOUR if t.met else FAIL_COLOUR

    def draw_ratios(ax):
        values = [0.0 if t.value is None else float(t.value) * 100 for t in ratios]
        ax.bar([t.target.id for t in ratios], values, color=[colour(t) for t in ratios])
        for x, t in enumerate(ratios):
            bound = float(t.target.bound) * 100
            ax.hlines(bound, x - 0.4, x + 0.4, colors="black", linestyles="--")
            ax.text(x, max(values[x], bound) + 1, t.value_text or "不涉及", ha="center", va="bottom", fontsize=9)
        ax.axhline(0, color="black", linewidth=0.8)
        top = max([*values, *(float(t.target.bound) * 100 for t in ratios)])
        ax.set_ylim(min([*values, 0]) * 1.15, top * 1.2 + 1)
        ax.set_ylabel("下降或提高比例（%），虚线为目标")
        ax.set_title("比例目标", fontsize=10)

    def draw_events(ax):
        counts = [float(t.value or 0) for t in events]
        ax.bar([t.target.id for t in events], counts, color=[colour(t) for t in events])
        for x, t in enumerate(events):
            ax.text(x, counts[x], f"{t.value_text}\n{t.outcome.value}", ha="center", va="bottom", fontsize=9, color=colour(t))
        ax.set_ylim(0, max([*counts, 1]) * 1.5 + 0.5)
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.set_ylabel("起数（目标：0 起）")
        ax.set_title("未发生类目标", fontsize=10)

    panels = [(len(group), drawer) for group, drawer in ((ratios, draw_ratios), (events, draw_events)) if group]

    def draw(figure):
        axes = figure.subplots(1, len(panels), width_ratios=[w for w, _ in panels], squeeze=False)[0]
        for ax, (_, drawer) in zip(axes, panels, strict=True):
            drawer(ax)

    name = result.county if isinstance(result, CountyResult) else result.header.province
    return _render(f"{name} 工作目标完成情况", draw, (8, 3.8))


def plot_counties(result: ProvinceResult) -> Chart:
    """Every key county's score against the pass score, coloured by verdict."""
    counties: Sequence[CountyResult] = result.counties
    pass_score = float(counties[0].rubric.pass_score) if counties else 0.0

    def draw(figure):
        ax = figure.subplots()
        scores = [float(c.score) for c in counties]
        ax.bar([c.county for c in counties], scores, color=[PASS_COLOUR if c.passed else FAIL_COLOUR for c in counties])
        ax.axhline(pass_score, color="black", linestyle="--", label=f"合格分数线 {pass_score:g} 分")
        for x, c in enumerate(counties):
            ax.text(x, scores[x] + 1, f"{scores[x]:g}\n{c.verdict}", ha="center", va="bottom", fontsize=9)
        ax.set_ylim(0, 120)
        ax.set_ylabel("评分项得分")
        ax.legend(loc="lower right")

    return _render(f"{result.header.province} 重点县评估结果", draw, (8, 3.8))
