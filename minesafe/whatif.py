"""What-if analysis: a scenario edited from a submission and re-evaluated by the engine on every
change, the ipywidgets panel that edits it, and its export as an auditable submission file.

The panel never judges anything itself: every read-out comes from
:func:`minesafe.evaluation.evaluate_county` and :func:`minesafe.gap.compute_gap`.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from minesafe import palette
from minesafe.decimals import format_decimal
from minesafe.evaluation import CountyResult, evaluate_county
from minesafe.exceptions import InputError
from minesafe.files import profile_name, read_county_rubric
from minesafe.gap import GapToPass, compute_gap, describe_gap
from minesafe.parsing import dump_yaml, read_document
from minesafe.provenance import file_sha256
from minesafe.rendering import describe_unit, unit_label
from minesafe.report import Report, render_fragment, report_notices
from minesafe.resources import PACKAGE, demo_folder
from minesafe.rubric import Outcome, Rubric, parse_outcome, row_category_label
from minesafe.storage import atomic_write
from minesafe.submission import TargetField, build_county_submission, put_value, target_fields, value_at

if TYPE_CHECKING:
    from ipywidgets import DOMWidget

#: A traitlets observer: called with the change (its ``new`` value among others).
Observer = Callable[[Mapping[str, Any]], None]

STATIC_NOTE = (
    "本页为静态报告，不含假设分析面板；如需假设分析，可运行 minesafe app 打开提交文件，"
    "或在 Jupyter 中运行报告笔记本 {notebook}.ipynb。（本说明只在屏幕上显示，不打印。）"
)


def report_notebook(rubric_id: str) -> str:
    """The report notebook of a form: ``coal-enterprise`` -> ``coal_enterprise_report``."""
    return f"{rubric_id.replace('-', '_')}_report"


@dataclass(frozen=True)
class Change:
    """One difference between the scenario and the submission it started from."""

    place: str
    before: str
    after: str

    def __str__(self) -> str:
        return f"{self.place}：{self.before} → {self.after}"


@dataclass(frozen=True)
class Outlook:
    """The scenario as the engine judges it, or why it cannot be judged."""

    result: CountyResult | None
    gap: GapToPass | None
    problems: tuple[str, ...]


class Scenario:
    """A county submission being edited. ``data`` is the submission mapping as it stands."""

    def __init__(self, data: Mapping[str, Any], rubric: Rubric, source: str = "", sha256: str = "", params_file: str = ""):
        self.rubric = rubric
        self.source = source
        self.sha256 = sha256
        self.params_file = params_file
        self.original = copy.deepcopy(dict(data))
        self.data = copy.deepcopy(self.original)
        submission = build_county_submission(self.original, rubric, source or "（提交数据）")  # raises its problems
        self.submitted: CountyResult = evaluate_county(submission, rubric)
        self.fields: list[TargetField] = target_fields(rubric, self.submitted.header.year)

    @classmethod
    def from_file(cls, path: str | Path, params_file: str | Path | None = None) -> Scenario:
        path = Path(path)
        data, _ = read_document(path)
        rubric = read_county_rubric(
            str(data.get("rubric", "")) if isinstance(data, Mapping) else "", params_file, profile_name(data), str(path)
        )
        return cls(data, rubric, str(path), file_sha256(path), str(params_file or ""))

    def evaluate(self) -> Outlook:
        try:
            result = evaluate_county(build_county_submission(self.data, self.rubric), self.rubric)
        except InputError as exc:
            return Outlook(None, None, tuple(exc.lines))
        return Outlook(result, compute_gap(result), ())

    def target_value(self, field: TargetField, original: bool = False) -> int:
        value: int = value_at((self.original if original else self.data)["targets"], field.path)
        return value

    def set_target(self, field: TargetField, value: int) -> None:
        put_value(self.data["targets"], field.path, value)

    def submitted_outcome(self, row_id: str) -> Outcome:
        return next(i.outcome for i in self.submitted.items if i.row.id == row_id)

    def row_outcome(self, row_id: str) -> Outcome:
        """The row's result as the scenario stands: an explicit result, else the submitted one."""
        entry = self.data["items"][row_id]
        token = entry if isinstance(entry, str) else entry.get("result")
        return parse_outcome(token) or self.submitted_outcome(row_id)

    def set_row(self, row_id: str, outcome: Outcome) -> None:
        """Set a row's result; choosing the submitted result again restores the submitted entry."""
        original = self.original["items"][row_id]
        if outcome is self.submitted_outcome(row_id):
            self.data["items"][row_id] = copy.deepcopy(original)
            return
        entry = {"result": original} if isinstance(original, str) else copy.deepcopy(dict(original))
        entry["result"] = outcome.value
        self.data["items"][row_id] = entry

    def reset(self) -> None:
        self.data = copy.deepcopy(self.original)

    def changes(self) -> list[Change]:
        found = [
            Change(f"{f.target.id} {f.label}", str(self.target_value(f, original=True)), str(self.target_value(f)))
            for f in self.fields
            if self.target_value(f) != self.target_value(f, original=True)
        ]
        for row in self.rubric.rows:
            before, after = self.submitted_outcome(row.id), self.row_outcome(row.id)
            if before is not after:
                found.append(Change(f"第 {row.id} 行", before.value, after.value))
        return found

    def export_mapping(self, note: str = "", now: dt.datetime | None = None) -> dict[str, Any]:
        """The scenario as a submission that ``minesafe evaluate`` accepts, saying where it came from."""
        data = copy.deepcopy(self.data)
        data["scenario"] = {
            "based_on": self.source,
            "based_on_sha256": self.sha256,
            "created": (now or dt.datetime.now().astimezone()).isoformat(timespec="seconds"),
            "note": note,
            "changes": [str(c) for c in self.changes()],
        }
        return data


def render_verdict_bar(outlook: Outlook) -> str:
    """The read-out kept in view: verdict and summary line, or why the scenario cannot be judged."""
    r = outlook.result
    if r is None:
        return render_fragment("whatif_verdict.html.j2", problems=outlook.problems)
    return render_fragment(
        "whatif_verdict.html.j2", problems=(), colour=palette.verdict_colour(r.passed), verdict=r.verdict, summary=r.summary
    )


def render_outlook(outlook: Outlook, changes: list[Change]) -> str:
    """The rest of the live read-out: veto counts, score, gap to pass and the changes made."""
    r, gap = outlook.result, outlook.gap
    if r is None or gap is None:
        return ""
    return render_fragment(
        "whatif_details.html.j2",
        veto=r.veto,
        score=format_decimal(r.score),
        gap=describe_gap(gap),
        changes=[str(c) for c in changes],
    )


class StaticNote:
    """What stands in the panel's place where no kernel runs: how to open it live, naming the
    report notebook of the unit's form."""

    notebook = report_notebook("noncoal-county")

    def _repr_html_(self) -> str:
        return render_fragment("whatif_note.html.j2", note=repr(self))

    def __repr__(self) -> str:
        return STATIC_NOTE.format(notebook=self.notebook)


class WhatIfPanel(StaticNote):
    """The what-if panel: inputs for every target number and row result, a live read-out."""

    def __init__(self, scenario: Scenario, chart: bool = True, standalone: bool = False, working_folder: Path | None = None):
        import ipywidgets as w

        self.scenario = scenario
        self.notebook = report_notebook(scenario.rubric.id)
        self.show_chart = chart
        self._quiet = False
        self.target_inputs: dict[tuple, w.IntText] = {}
        for f in scenario.fields:
            # any whole number reaches the engine, which refuses a negative one in Chinese (never clamped to 0)
            box = w.IntText(
                value=scenario.target_value(f),
                description=f"{f.target.id} {f.label}",
                style={"description_width": "340px"},
                layout=w.Layout(width="470px"),
            )
            box.observe(self._on_target(f), names="value")
            self.target_inputs[f.path] = box
        self.row_inputs: dict[str, w.Dropdown] = {}
        sections = []
        for section in scenario.rubric.sections:
            lines = []
            for row in (r for r in scenario.rubric.rows if r.section == section.number):
                menu = w.Dropdown(
                    options=[o.value for o in Outcome],
                    value=scenario.row_outcome(row.id).value,
                    description=row.id,
                    layout=w.Layout(width="190px"),
                    style={"description_width": "50px"},
                )
                menu.observe(self._on_row(row.id), names="value")
                self.row_inputs[row.id] = menu
                text = f"{row_category_label(row)}　{row.requirement}"
                lines.append(w.HBox([menu, w.HTML(render_fragment("whatif_row.html.j2", fill_in=row.fill_in, text=text))]))
            sections.append(w.VBox(lines))
        targets_box = w.VBox(list(self.target_inputs.values()))
        inputs = w.Accordion(children=[targets_box, *sections])
        inputs.set_title(0, "一、工作目标（填报数量）")
        for i, section in enumerate(scenario.rubric.sections, start=1):
            inputs.set_title(i, f"二、（{section.number}）{section.name}")
        self.verdict_bar = w.HTML()
        self.verdict_bar.add_class("ms-sticky")
        self.readout = w.HTML()
        self.chart = w.Image(format="png", layout=w.Layout(width="640px"))
        self.reset_button = w.Button(description="恢复为提交数据", icon="undo")
        self.reset_button.on_click(lambda _: self.reset())
        self.note = w.Textarea(placeholder="评估人员说明：为何作此假设", layout=w.Layout(width="640px"))
        folder = choose_export_folder(scenario.source, working_folder)
        default_out = folder / f"{Path(scenario.source).stem if scenario.source else ''}-假设情景.yaml".lstrip("-")
        # the app's page is open to whoever holds its address: it writes only in that one folder
        self.export_folder = folder if standalone else None
        shown = default_out.name if self.export_folder is not None else str(default_out)
        self.export_path = w.Text(value=shown, description="导出到", layout=w.Layout(width="640px"))
        self.export_button = w.Button(description="导出为提交文件", icon="save")
        self.export_button.on_click(lambda _: self.export())
        self.status = w.HTML()
        self.widget = w.VBox(
            [
                w.HTML(render_head(scenario.submitted, standalone, scenario.params_file)),
                self.verdict_bar,
                self.readout,
                self.chart,
                w.HBox([self.reset_button]),
                inputs,
                self.note,
                w.HBox([self.export_path, self.export_button]),
                self.status,
            ]
        )
        self.widget.add_class("ms-panel")
        self.refresh()

    def _on_target(self, field: TargetField) -> Observer:
        return self._on_change(lambda value: self.scenario.set_target(field, int(value)))

    def _on_row(self, row_id: str) -> Observer:
        return self._on_change(lambda value: self.scenario.set_row(row_id, Outcome(value)))

    def _on_change(self, apply: Callable[[Any], None]) -> Observer:
        """A widget observer: apply the new value to the scenario and re-evaluate (not while resetting)."""

        def handler(change: Mapping[str, Any]) -> None:
            if not self._quiet:
                apply(change["new"])
                self.refresh()

        return handler

    def refresh(self) -> Outlook:
        """Re-evaluate the scenario and update every read-out and highlight."""
        outlook = self.scenario.evaluate()
        changes = self.scenario.changes()
        self.verdict_bar.value = render_verdict_bar(outlook)
        self.readout.value = render_outlook(outlook, changes)
        if outlook.result is not None and self.show_chart:
            from minesafe.charts import plot_section_points

            self.chart.value = plot_section_points(outlook.result).png
        for f in self.scenario.fields:
            self._mark(self.target_inputs[f.path], self.scenario.target_value(f) != self.scenario.target_value(f, original=True))
        for row_id, menu in self.row_inputs.items():
            self._mark(menu, self.scenario.row_outcome(row_id) is not self.scenario.submitted_outcome(row_id))
        return outlook

    @staticmethod
    def _mark(widget: DOMWidget, changed: bool) -> None:
        (widget.add_class if changed else widget.remove_class)("ms-changed")

    def reset(self) -> None:
        """Back to the submission: every input shows its submitted value again."""
        self.scenario.reset()
        self._quiet = True
        try:
            for f in self.scenario.fields:
                self.target_inputs[f.path].value = self.scenario.target_value(f)
            for row_id, menu in self.row_inputs.items():
                menu.value = self.scenario.row_outcome(row_id).value
        finally:
            self._quiet = False
        self.refresh()

    def export(self) -> Path | None:
        """Write the scenario as a submission file beside the submission (never over an existing
        file; in the app only there) and offer the same file as a browser download; returns the path
        written, if any."""
        if self.scenario.evaluate().result is None:
            self.status.value = render_fragment(
                "whatif_status.html.j2", problems=["当前输入有误，不能导出。"], written="", download=""
            )
            return None
        path = Path(self.export_path.value.strip())
        text = dump_yaml(self.scenario.export_mapping(self.note.value.strip())).encode("utf-8")
        problems, written = [], None
        if self.export_folder is not None:
            path = self.export_folder / path  # a name; an absolute path stays as it is, and is checked
        refused = _refuse_outside(path, self.export_folder) if self.export_folder is not None else ""
        if refused:
            problems.append(refused)
        elif path.exists():
            problems.append(f"文件已存在，未写入：{path}。请换一个文件名，或用下面的链接下载。")
        else:
            try:
                with atomic_write(path) as handle:
                    handle.write(text)
                written = path
            except OSError as exc:
                problems.append(f"无法写入 {path}（{exc.strerror or exc}），请用下面的链接下载。")
        self.status.value = render_fragment(
            "whatif_status.html.j2",
            problems=problems,
            written=str(written or ""),
            download=base64.b64encode(text).decode("ascii"),
            filename=path.name,
        )
        return written

    def _repr_mimebundle_(self, include: Iterable[str] | None = None, exclude: Iterable[str] | None = None) -> dict[str, Any]:
        """The live widget where a kernel runs; the static note everywhere else (HTML, nbval)."""
        bundle = self.widget._repr_mimebundle_(include=include, exclude=exclude) or {}
        return bundle | {"text/html": self._repr_html_(), "text/plain": repr(self)}


def choose_export_folder(source: str, working_folder: Path | None = None) -> Path:
    """Where a scenario is written: beside its submission, unless that is a file shipped with the
    package (the demo data), whose folder is no place for an evaluator's files; then the working
    folder (the one ``minesafe app`` was started in; a notebook's own folder)."""
    working = (working_folder or Path.cwd()).resolve()
    if not source:
        return working
    folder = Path(source).resolve().parent
    return working if folder.is_relative_to(PACKAGE) or folder.is_relative_to(demo_folder().resolve()) else folder


def _refuse_outside(path: Path, folder: Path) -> str:
    """Why the app's page may not write ``path`` (empty when it may): only a visible ``.yaml`` file
    directly in its export ``folder``, whatever the field says (``../``, an absolute path, a link
    leading elsewhere)."""
    inside = path.resolve().parent == folder.resolve() and not path.name.startswith(".")
    if not inside or path.suffix.lower() not in (".yaml", ".yml"):
        return f"页面只能把情景文件写在文件夹 {folder} 中，请只填写以 .yaml 结尾的文件名；也可用下面的链接下载。"
    return ""


def render_head(result: CountyResult, standalone: bool, params_file: str = "") -> str:
    """The panel's top: the heading, and standing alone (the app), the unit, year, stage, form, the
    params profile in force (and the params file given) and the 示例数据 / 暂行评估表 notices, as the
    reports show them."""
    return render_fragment(
        "whatif_head.html.j2",
        standalone=standalone,
        title=app_title(result),
        notices=report_notices(result),
        unit_label=unit_label(result.rubric),
        unit=describe_unit(result),
        year=result.header.year,
        stage=result.rubric.stage_label(result.header.stage),
        form=result.rubric.title,
        profile=result.rubric.profile,
        params=Path(params_file).name if params_file else "",
    )


def app_title(result: CountyResult) -> str:
    """The app page's title, fitting the unit: ``假设分析：示例省 示例丁县（重点县）``."""
    kind = "重点企业" if result.rubric.unit == "enterprise" else "重点县"
    return f"假设分析：{describe_unit(result)}（{kind}）"


def build_whatif_panel(
    source: Report | str | Path,
    params_file: str | Path | None = None,
    enabled: bool = True,
    standalone: bool = False,
    working_folder: str | Path = "",
) -> StaticNote:
    """The what-if panel for a county or enterprise report (or submission file); only the static
    note when ``enabled`` is false, as in batch reports, which nobody edits. ``standalone`` (the
    app) heads it with the unit and the report's notices. ``working_folder`` takes the scenarios
    of the demo files shipped with the package (default: the current folder)."""
    working = Path(working_folder) if str(working_folder).strip() else None
    if not enabled:
        panel = StaticNote()
    elif isinstance(source, Report):
        scenario = Scenario.from_file(source.submission, source.params_file)
        panel = WhatIfPanel(scenario, standalone=standalone, working_folder=working)
    else:
        panel = WhatIfPanel(Scenario.from_file(source, params_file), standalone=standalone, working_folder=working)
    if isinstance(source, Report):
        panel.notebook = report_notebook(source.result.rubric.id)
    return panel
