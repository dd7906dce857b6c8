"""The ``minesafe`` command.

Exit status, the same for every command (README, "Exit status"):

- 0: every evaluation was made (whatever the verdicts), or the app was stopped;
- 2: an input had problems (all of them are printed, in Chinese, and nothing is written), including
  a wrong command line;
- 1: a failure that is not the input's fault: a batch unit failed (see its summary), the app's server
  could not start, the output could not be written (``--out`` in a missing folder, onto a folder or
  under a file, or into a folder another ``minesafe batch`` is writing into: refused at once; stdout
  closed early, e.g. ``| head -1``, closed (``>&-``) or on a full disk);
- 130: interrupted by Ctrl-C (SIGINT) or SIGTERM.
"""

from __future__ import annotations

import argparse
import datetime as dt
import errno
import gc
import os
import re
import signal
import sys
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from minesafe.exceptions import InputError, MinesafeError, OutputError, Problem, describe_os_error
from minesafe.names import escape_console_output

if TYPE_CHECKING:
    from minesafe.summary import UnitOutcome

EXIT_OK, EXIT_FAILED, EXIT_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130

#: argparse's own texts (its gettext message ids) in Chinese.
_ARGPARSE_CHINESE = {
    "usage: ": "用法：",
    "positional arguments": "位置参数",
    "options": "选项",
    "show this help message and exit": "显示本帮助并退出",
    "show program's version number and exit": "显示版本号并退出",
    "%(prog)s: error: %(message)s\n": "%(prog)s：错误：%(message)s\n",
    "argument %(argument_name)s: %(message)s": "参数 %(argument_name)s：%(message)s",
    "unrecognized arguments: %s": "无法识别的参数：%s",
    "the following arguments are required: %s": "缺少必需的参数：%s",
    "one of the arguments %s is required": "参数 %s 须给出其中之一",
    "not allowed with argument %s": "不能与参数 %s 同时使用",
    "ignored explicit argument %r": "此选项不接受取值 %r",
    "expected one argument": "需要一个取值",
    "expected at most one argument": "至多需要一个取值",
    "expected at least one argument": "至少需要一个取值",
    "expected %s argument": "需要 %s 个取值",
    "expected %s arguments": "需要 %s 个取值",
    "ambiguous option: %(option)s could match %(matches)s": "选项 %(option)s 有歧义，可能是：%(matches)s",
    "unexpected option string: %s": "意外的选项：%s",
    "invalid %(type)s value: %(value)r": "取值 %(value)r 无效（应为 %(type)s）",
    "invalid choice: %(value)r (choose from %(choices)s)": "无效的选择：%(value)r（可选：%(choices)s）",
    "can't open '%(filename)s': %(error)s": "无法打开 %(filename)s：%(error)s",
}


def _placeholders(template: str) -> re.Pattern[str]:
    """A regular expression matching the messages argparse makes from ``template`` (its printf-style
    fields: ``%(name)s``, ``%(name)r``, ``%s``), each field a named group (``p0``, ``p1``… if unnamed)."""
    regex, unnamed = "", 0
    for part in re.split(r"(%\(\w+\)[sr]|%[sr])", template):
        named = re.fullmatch(r"%\((\w+)\)[sr]", part)
        if named:
            regex += f"(?P<{named.group(1)}>.+?)"
        elif part in ("%s", "%r"):
            regex += f"(?P<p{unnamed}>.+?)"
            unnamed += 1
        else:
            regex += re.escape(part)
    return re.compile(regex, re.DOTALL)


_ARGPARSE_PATTERNS = [(_placeholders(english), chinese) for english, chinese in _ARGPARSE_CHINESE.items() if "%" in english]


def translate_argparse(message: str) -> str:
    """An argparse message in Chinese (:data:`_ARGPARSE_CHINESE`): matched against argparse's own
    templates, its values kept, a nested message (``argument --x: …``) translated too; an unknown
    message as it is."""
    if message in _ARGPARSE_CHINESE:
        return _ARGPARSE_CHINESE[message]
    for pattern, chinese in _ARGPARSE_PATTERNS:
        found = pattern.fullmatch(message)
        if found:
            return _fill(chinese, found.groupdict())
    return message


def _fill(template: str, values: dict[str, str]) -> str:
    """``template``'s fields filled with ``values`` as matched (a nested ``message`` translated)."""
    unnamed = iter(values[k] for k in sorted(values) if re.fullmatch(r"p\d+", k))

    def fill(field: re.Match[str]) -> str:
        name = field.group(1)
        if name is None:
            return next(unnamed)
        return translate_argparse(values[name]) if name == "message" else values[name]

    return re.sub(r"%\((\w+)\)[sr]|%[sr]", fill, template)


def _terminal_columns() -> int:
    """The terminal's width as ``shutil.get_terminal_size`` finds it: ``$COLUMNS``, else the
    terminal's own, else 80."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class ChineseHelpFormatter(argparse.HelpFormatter):
    """Help as wide as the terminal, found without shutil (the parser makes its headings Chinese)."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24, width: int | None = None):
        # argparse makes a formatter for every argument added and asks shutil for the width; shutil
        # loads three compression modules on import, a cost every command would pay at start.
        super().__init__(prog, indent_increment, max_help_position, _terminal_columns() - 2 if width is None else width)


class ChineseParser(argparse.ArgumentParser):
    """An ArgumentParser that speaks Chinese: headings, help, usage and every usage error (exit 2),
    through argparse's public hooks: its own ``--help`` option, and the formatted usage, help and
    error messages translated (:func:`translate_argparse`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", ChineseHelpFormatter)
        add_help = kwargs.pop("add_help", True)
        kwargs["add_help"] = False  # its own -h/--help below, with Chinese help
        super().__init__(*args, **kwargs)
        if add_help:
            self.add_argument("-h", "--help", action="help", help=_ARGPARSE_CHINESE["show this help message and exit"])

    def format_usage(self) -> str:
        return _chinese_usage(super().format_usage())

    def format_help(self) -> str:
        text = _chinese_usage(super().format_help())
        for heading in ("positional arguments", "options"):
            text = re.sub(rf"^{heading}:$", f"{_ARGPARSE_CHINESE[heading]}：", text, flags=re.MULTILINE)
        return re.sub(r"^(\S.*):$", r"\1：", text, flags=re.MULTILINE)  # the other headings: full-width colons

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}：错误：{translate_argparse(message)}\n")


def _chinese_usage(text: str) -> str:
    prefix = "usage: "
    return _ARGPARSE_CHINESE[prefix] + text[len(prefix) :] if text.startswith(prefix) else text


class _VersionAction(argparse.Action):
    """``--version``, reading the installed version only when asked (package metadata is slow to
    load, and every other command starts without it)."""

    def __init__(
        self,
        option_strings: Sequence[str],
        dest: str = argparse.SUPPRESS,
        default: Any = argparse.SUPPRESS,
        help: str | None = None,
    ) -> None:
        super().__init__(option_strings=option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(
        self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any, option_string: str | None = None
    ) -> NoReturn:
        import minesafe

        print(f"minesafe {minesafe.__version__}")
        parser.exit()


def _whole_number(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse type: a whole number in a range, refused in Chinese otherwise."""

    def parse(text: str) -> int:
        expected = f"{low}～{high} 之间的整数" if high is not None else f"不小于 {low} 的整数"
        try:
            number = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"“{text}”不是整数，应为{expected}") from None
        if number < low or (high is not None and number > high):
            raise argparse.ArgumentTypeError(f"{number} 超出范围，应为{expected}")
        return number

    return parse


def _parser() -> argparse.ArgumentParser:
    parser = ChineseParser(prog="minesafe", description="矿山安全重点地区综合评估工具")
    parser.add_argument("--version", action=_VersionAction, help="显示版本号并退出")
    commands = parser.add_subparsers(dest="command", required=True, metavar="命令")

    evaluate = commands.add_parser(
        "evaluate", help="评估一个或多个提交文件（YAML、JSON 或 Excel）", description="评估提交文件并输出结论"
    )
    evaluate.add_argument(
        "files",
        nargs="+",
        type=Path,
        metavar="文件",
        help="县或省的提交文件；同一单位不同阶段（自评、核查、认定）的文件以最后阶段为准",
    )
    evaluate.add_argument("--json", action="store_true", help="输出 JSON（每个文件一个对象，一行一个）")
    evaluate.add_argument("--params", type=Path, metavar="参数文件", help="评估参数（阈值、类别读法等）的 YAML 文件")

    template = commands.add_parser("template", help="生成 Excel 填报模板", description="生成 Excel 填报工作簿")
    template.add_argument("--out", type=Path, required=True, metavar="文件.xlsx", help="输出的工作簿路径")
    template.add_argument("--rubric", default="noncoal-county", metavar="评估表", help="评估表编号（默认 noncoal-county）")
    template.add_argument("--from", dest="source", type=Path, metavar="提交文件", help="用已有的提交文件预先填好")
    template.add_argument("--force", action="store_true", help="覆盖已存在的输出文件")
    template.add_argument(
        "--params",
        type=Path,
        metavar="参数文件",
        help="按参数文件的读法生成（如 baseline_reading: two-years-before 时按评估年度前2年填报）",
    )
    batch = commands.add_parser(
        "batch",
        help="批量生成评估报告（HTML、笔记本、结果 JSON 和汇总表）",
        description="按提交文件或运行参数文件批量生成各单位的评估报告，最后生成总览",
    )
    batch.add_argument(
        "runs",
        nargs="*",
        type=Path,
        metavar="提交文件、参数文件或文件夹",
        help="各单位的提交文件（YAML、JSON 或 Excel）、运行参数文件，或存放它们的文件夹（默认：安装包自带的示例数据）",
    )
    batch.add_argument(
        "--jobs", type=_whole_number(1), default=os.cpu_count() or 1, metavar="N", help="并行进程数（默认为 CPU 核数）"
    )
    batch.add_argument("--out", type=Path, default=Path("reports"), metavar="文件夹", help="报告输出文件夹（默认 reports/）")
    batch.add_argument("--force", action="store_true", help="重新生成全部报告（默认沿用输入未变且报告完好的单位）")
    batch.add_argument("--pdf", action="store_true", help="同时生成各报告的 PDF（需安装 LibreOffice）")
    batch.add_argument("--notebooks", type=Path, metavar="文件夹", help="报告笔记本所在文件夹（默认：安装包自带的报告笔记本）")
    app = commands.add_parser(
        "app", help="在本机浏览器中打开假设分析页面（不显示代码）", description="用 Voilà 在 127.0.0.1 上提供假设分析页面"
    )
    app.add_argument(
        "submission",
        type=Path,
        nargs="?",
        metavar="提交文件",
        help="县级提交文件（默认示例丙县）",
    )
    app.add_argument("--params", type=Path, metavar="参数文件", help="评估参数文件")
    app.add_argument("--port", type=_whole_number(1, 65535), default=8866, metavar="端口", help="端口（默认 8866）")
    app.add_argument(
        "--idle-minutes", type=_whole_number(1), default=30, metavar="分钟", help="空闲多久后关闭计算内核（默认 30）"
    )
    app.add_argument(
        "--max-pages", type=_whole_number(1, 50), default=4, metavar="N", help="同时打开的页面（计算内核）上限（默认 4）"
    )
    lists = commands.add_parser(
        "lists", help="按评估结果和事故情况测算下一年度重点名单", description="动态管理：测算下一年度重点名单"
    )
    lists.add_argument(
        "history",
        type=Path,
        nargs="?",
        metavar="名单数据文件",
        help="名单历史、评估结果和事故情况（YAML，见 docs/coal.md）；与 --results 同用时可省略，以随程序提供的2023年国家名单为名单历史",
    )
    lists.add_argument(
        "--results",
        type=Path,
        metavar="评估结果文件夹",
        help="批量评估的输出文件夹：各单位的评估结果取自其中的 result.json（只用决定结论的阶段，且须为核查或认定），不必在名单数据中另行填写",
    )
    lists.add_argument("--out", type=Path, metavar="文件.xlsx", help="同时写出 Excel 名单建议")
    lists.add_argument("--force", action="store_true", help="覆盖已存在的输出文件")

    report = commands.add_parser(
        "report",
        help="为提交文件生成 Word（及 PDF）评估报告",
        description="为各单位的提交文件生成评估报告（.docx，附填好的评估表）；同一单位不同阶段的文件合为一份报告，以最后阶段为准",
    )
    report.add_argument("files", nargs="+", type=Path, metavar="文件", help="县、企业或省的提交文件（YAML、JSON 或 Excel）")
    report.add_argument("--docx", action="store_true", help="生成 Word 文档（默认即生成）")
    report.add_argument("--pdf", action="store_true", help="同时由 Word 文档生成 PDF（需安装 LibreOffice）")
    report.add_argument("--out", type=Path, default=Path("."), metavar="文件夹", help="输出文件夹（默认当前文件夹）")
    report.add_argument("--params", type=Path, metavar="参数文件", help="评估参数文件")
    report.add_argument("--force", action="store_true", help="覆盖已存在的同名报告")

    export = commands.add_parser(
        "export",
        help="把已运行的报告笔记本导出为离线网页和 Word 评估报告",
        description="把用 papermill 或 JupyterLab 运行过的报告笔记本导出为与 minesafe batch 相同的离线网页（不显示代码和使用方法），"
        "评估报告笔记本同时导出 Word 评估报告",
    )
    export.add_argument("notebook", type=Path, metavar="笔记本", help="已运行的报告笔记本（.ipynb）")
    export.add_argument(
        "--out", type=Path, metavar="文件.html", help="网页的路径（默认：笔记本旁边、同名的 .html）；Word 文档与它同名"
    )
    export.add_argument("--html-only", action="store_true", help="只导出网页，不生成 Word 评估报告")
    export.add_argument("--force", action="store_true", help="覆盖已存在的输出文件")

    compare = commands.add_parser(
        "compare",
        help="并列比较同一单位的自评与核查（及认定）",
        description="比较自评与核查提交文件，给出认定文件时依次比较三个阶段",
    )
    compare.add_argument("self_assessment", type=Path, metavar="自评文件")
    compare.add_argument("verification", type=Path, metavar="核查文件")
    compare.add_argument("confirmation", type=Path, nargs="?", metavar="认定文件", help="同一单位的认定文件（可省略）")
    compare.add_argument("--params", type=Path, metavar="参数文件", help="评估参数文件")

    status = commands.add_parser(
        "status",
        help="报送情况：各单位各评估阶段是否已提交、何时提交、是否逾期",
        description="汇总文件夹中的提交文件（或批量评估的 result.json）：应报单位各评估阶段的提交日期、缺少的阶段和逾期情况，打印并写出 Excel",
    )
    status.add_argument("folder", type=Path, metavar="文件夹", help="提交文件所在的文件夹（或批量评估的输出文件夹）")
    status.add_argument(
        "--expected",
        default="省文件",
        metavar="应报名单",
        help="应报单位：省文件（默认，各省级文件所列重点县及省本身）、煤矿重点县2023、煤矿重点企业2023，或 CSV 名单文件（province 和 county 或 enterprise 列）",
    )
    status.add_argument(
        "--calendar", type=Path, metavar="日程文件", help="评估日程（期限）文件，默认按通知首批评估的期限（次年3月1日前完成核查）"
    )
    status.add_argument("--today", type=_date, metavar="日期", help="按哪一天判断逾期，如 2023-03-10（默认今天）")
    status.add_argument(
        "--year", type=_whole_number(2000, 2100), action="append", metavar="年度", help="只列这一评估年度（可重复）"
    )
    status.add_argument(
        "--out",
        type=Path,
        default=Path("status.xlsx"),
        metavar="文件.xlsx",
        help="写出的 Excel 文件（默认 status.xlsx，已存在时覆盖）",
    )

    demo = commands.add_parser(
        "demo",
        help="写出演示工作区（示例提交文件、填报表、运行参数文件、参数、名单数据、报告笔记本和使用说明）",
        description="把安装包自带的示例数据写成一个可直接试用的工作区文件夹，其中 README.txt 说明可以试哪些命令",
    )
    demo.add_argument("folder", type=Path, metavar="文件夹", help="工作区文件夹（如 演示）；不存在时自动创建")
    demo.add_argument("--force", action="store_true", help="文件夹已存在且不为空时，覆盖其中的演示文件（其他文件保留）")
    return parser


def _demo(args: argparse.Namespace) -> int:
    from minesafe.workspace import README, write_demo_workspace

    written = write_demo_workspace(args.folder, args.force)
    print(f"已写出演示工作区：{args.folder}（{len(written)} 个文件）")
    print(f"下一步：cd {args.folder}，然后按 {README} 试用各项命令")
    return EXIT_OK


def _lists(args: argparse.Namespace) -> int:
    from minesafe.lists import build_proposal_workbook, name_bases, propose_next_list
    from minesafe.report import render_list_proposal
    from minesafe.results import read_list_history
    from minesafe.storage import check_output_file, write_workbook

    if args.out is not None:
        check_output_file(args.out)
    if args.out is not None and args.out.exists() and not args.force:
        raise InputError(str(args.out), [Problem((), "输出文件已存在，未写入", str(args.out), "另选文件名，或加 --force 覆盖")])
    if args.history is None and args.results is None:
        raise InputError(
            "minesafe lists", [Problem((), "缺少名单数据", expected="名单数据文件，或 --results 评估结果文件夹（或两者）")]
        )
    history_file, results = args.history or "", args.results or ""
    print(render_list_proposal(history_file, results).text)
    if args.out is not None:
        history, bases = read_list_history(history_file, results)
        write_workbook(build_proposal_workbook(history, name_bases(propose_next_list(history), bases)), args.out)
        print(f"已写出：{args.out}")
    return EXIT_OK


def _date(text: str) -> dt.date:
    from minesafe.verification import parse_date

    day = parse_date(text)
    if day is None:
        raise argparse.ArgumentTypeError(f"日期写法有误：{text}（应为如 2023-03-10 的日期）")
    return day


def _status(args: argparse.Namespace) -> int:
    from minesafe.status import build_status_workbook, collect_status, describe_status, read_calendar
    from minesafe.storage import check_output_file, write_workbook

    if args.out.suffix.lower() != ".xlsx":
        raise InputError(str(args.out), [Problem((), "输出文件扩展名不对", args.out.suffix, ".xlsx")])
    check_output_file(args.out)
    if not args.folder.is_dir():
        raise InputError(str(args.folder), [Problem((), "文件夹不存在", str(args.folder), "存放提交文件的文件夹")])
    calendar = read_calendar(args.calendar)
    rows, unreadable = collect_status(args.folder, args.expected, calendar, args.today, args.year or ())
    print(describe_status(rows, calendar, unreadable))
    write_workbook(build_status_workbook(rows, calendar), args.out)
    print(f"已写出：{args.out}")
    return EXIT_OK


def _compare(args: argparse.Namespace) -> int:
    from minesafe.report import load_report, render_stage_comparison

    if args.confirmation is None:
        report = load_report(args.self_assessment, args.params)
        comparison = render_stage_comparison(report, args.verification)
    else:  # the three files must be one unit's three stages: each is compared with the one before it
        report = load_report(args.self_assessment, args.params, verification=args.verification, confirmation=args.confirmation)
        comparison = render_stage_comparison(report)
    for notice in report.result.rubric.notices:  # a verdict under a non-national rule set never stands alone
        print(notice)
    print(comparison.text)
    return EXIT_OK


def _app(args: argparse.Namespace) -> int:
    from minesafe.app import serve_whatif_app
    from minesafe.resources import demo_folder

    submission = args.submission or demo_folder() / "counties" / "bing.yaml"
    return serve_whatif_app(submission, args.params, args.port, args.idle_minutes * 60, args.max_pages)


def _batch(args: argparse.Namespace) -> int:
    from minesafe.batch import check_out_folder, run_batch
    from minesafe.exceptions import BatchInterrupted
    from minesafe.intake import default_inputs, left_out_outcomes, load_batch_runs
    from minesafe.resources import package_folder
    from minesafe.summary import STATUS_IGNORED

    check_out_folder(args.out)
    inputs = args.runs or default_inputs()
    runs, overview = load_batch_runs(inputs, args.out, args.notebooks or package_folder("notebooks"))
    left_out = left_out_outcomes(inputs, args.out)
    try:
        outcomes = run_batch(
            runs,
            args.out,
            args.jobs,
            progress=sys.stderr.isatty(),
            force=args.force,
            overview=overview,
            pdf=args.pdf,
            left_out=left_out,
        )
    except BatchInterrupted as exc:
        print(exc, file=sys.stderr)
        print(f"汇总表：{(args.out / 'batch-summary.xlsx').resolve()}", file=sys.stderr)
        return EXIT_INTERRUPTED  # SIGINT or SIGTERM alike, as every command does
    except OSError as exc:  # a full disk or a folder that became unwritable while writing
        print(
            f"写入输出文件夹 {args.out} 失败：{describe_os_error(exc)}。已写好的报告保留；请腾出空间或换一个文件夹后重新运行。",
            file=sys.stderr,
        )
        return EXIT_FAILED
    for line in describe_batch(outcomes, args.out, overview is not None):
        print(line)
    return EXIT_OK if all(o.succeeded or o.status == STATUS_IGNORED for o in outcomes) else EXIT_FAILED


def describe_batch(outcomes: Sequence[UnitOutcome], out: Path, overview_expected: bool) -> list[str]:
    """What ``minesafe batch`` prints when done: a line per unit report (:func:`describe_outcome`),
    the files of its input folders it did not take (each with why), the overview's line with what it sums up, the counts by outcome (合格, 不合格, 待定, 失败; the
    overview said apart: re-made, failed, or kept when no unit changed) and the files to open next."""
    from minesafe.batch import OVERVIEW_FOLDER, shown_file
    from minesafe.evaluation import Verdict
    from minesafe.frames import PROVINCE_KIND, SUMMARY_STEM
    from minesafe.summary import STATUS_FAILED, STATUS_IGNORED

    ignored = [o for o in outcomes if o.status == STATUS_IGNORED]
    units = [o for o in outcomes if o.kind != OVERVIEW_FOLDER and o.status != STATUS_IGNORED]
    made = [o for o in outcomes if o.kind == OVERVIEW_FOLDER]
    lines = [describe_outcome(o) for o in units]
    for o in made:
        detail = f"{_where(o.report, out)}，{_sum_up(out)}" if o.succeeded else o.error
        lines.append(f"[{o.status}] {o.unit}：{detail}")
    if ignored:  # every file of the input folders the batch did not take, one per line, with why
        lines += ["", f"未评估的文件 {len(ignored)} 个（{STATUS_IGNORED}，也列在汇总表中）："]
        lines += [f"  {shown_file(o.run_file)}：{o.error}" for o in ignored]
    # a unit's outcome is the engine's verdict, or its run's status when it has no report
    counted = Counter(o.verdict or o.kind if o.succeeded else o.status for o in units)
    shown = [v.value for v in Verdict] + [STATUS_FAILED] + sorted(counted.keys() - {v.value for v in Verdict} - {STATUS_FAILED})
    closing = f"单位报告共 {len(units)} 份：" + "，".join(f"{name} {counted[name]} 份" for name in shown)
    closing += f"（其中沿用上次报告 {sum(o.reused for o in units)} 份）"
    if made:
        closing += "；总览报告已重新生成" if made[0].succeeded else "；总览报告生成失败（见上）"
    elif overview_expected:
        closing += "；各单位报告均无变化，总览报告沿用上次报告"
    lines += ["", f"{closing}。", "接下来可以打开："]
    overview = out / OVERVIEW_FOLDER / "report.html"
    if overview.is_file() and (overview_expected or made):
        lines.append(f"  总览报告：{overview.resolve()}")
    lines.append(f"  汇总表：{(out / f'{SUMMARY_STEM}.xlsx').resolve()}")
    for o in units:
        if o.kind == PROVINCE_KIND and o.succeeded and o.report:
            lines += [f"  {o.unit} 评估报告：{path.resolve()}" for path in _province_documents(Path(o.report))]
    lines.append(f"报告位于：{out.resolve()}")
    return lines


def describe_outcome(o: UnitOutcome) -> str:
    """A unit report's console line: the unit, its kind, year and deciding stage, the verdict and
    score, and when a later stage overturned an earlier one, which (``核查不合格，推翻自评合格``).
    A failed unit is named by its file, then by what its file states (unit, kind, year, stage),
    then every problem in the words of ``minesafe evaluate``."""
    from minesafe.batch import shown_file

    name = o.unit if not o.province or o.province == o.unit else f"{o.province} {o.unit}"
    stage = f"以{o.stage}为准" if len(o.stages) > 1 else o.stage
    if not o.succeeded:
        known = "，".join(x for x in (name if o.kind else "", o.kind, f"{o.year}年" if o.year else "", stage) if x)
        return f"[{o.status}] {shown_file(o.run_file)}" + (f"（{known}）" if known else "") + (f"：{o.error}" if o.error else "")
    facts = "，".join(x for x in (o.kind, f"{o.year}年" if o.year else "", stage) if x)
    detail = o.verdict + (f"，得分 {o.score} 分" if o.score else "")
    detail += f"（非国家评估表口径：{o.rule_set}）" if o.rule_set else ""  # never a plain 合格
    overturned = [f"{s}{v}" for s, v in o.stages[:-1] if v != o.verdict]
    if overturned:
        detail += f"；{o.stage}{o.verdict}，推翻{'、'.join(overturned)}"
    detail += "（沿用上次报告）" if o.reused else ""
    return f"[{o.status}] {name}" + (f"（{facts}）" if facts else "") + (f"：{detail}" if detail else "")


def _province_documents(report: Path) -> list[Path]:
    """What a reader of a province's result opens: its 评估报告 documents (Word, PDF) when the
    batch made them, else its HTML report."""
    folder = report.parent
    documents = sorted(folder.glob("*.docx")) + sorted(folder.glob("*.pdf"))
    return documents or [report]


def _where(report: str, out: Path) -> str:
    """A report's place as the batch shows it: relative to the output folder."""
    return Path(report).resolve().relative_to(out.resolve()).as_posix()


def _sum_up(out: Path) -> str:
    """The overview's own opening sentence for the results in ``out``: the same numbers it shows."""
    from minesafe.overview import summarize_results
    from minesafe.results import load_results

    try:
        return summarize_results(load_results(out)).removesuffix("。")
    except MinesafeError as exc:  # a result.json damaged meanwhile: the overview itself shows it
        return f"无法汇总评估结果（{exc}）"


def _report(args: argparse.Namespace) -> int:
    """Word (and PDF) documents of the units the files give, without a batch; every input is
    checked before anything is written."""
    from minesafe.batch import check_out_folder
    from minesafe.documents import build_document, document_name
    from minesafe.exceptions import OfficeError
    from minesafe.provenance import read_provenance
    from minesafe.results import evaluate_files
    from minesafe.storage import atomic_write
    from minesafe.word import to_bytes

    check_out_folder(args.out)
    units = evaluate_files(args.files, args.params)
    names = [document_name(u.deciding) for u in units]
    extensions = (".docx", ".pdf") if args.pdf else (".docx",)
    problems = [
        Problem((), "有两个单位的报告文件名相同", name, "每个单位一份报告：请分别生成")
        for name in {n for n in names if names.count(n) > 1}
    ]
    problems += [
        Problem((), "输出文件已存在，未写入", str(path), "另选 --out 文件夹，或加 --force 覆盖")
        for name in names
        for path in (args.out / f"{name}{e}" for e in extensions)
        if path.exists() and not args.force
    ]
    if problems:
        raise InputError(str(args.out), problems)
    documents = {
        name: to_bytes(build_document(unit, read_provenance(unit, args.params))) for name, unit in zip(names, units, strict=True)
    }
    args.out.mkdir(parents=True, exist_ok=True)  # once every document is made: an interrupted command leaves nothing
    for name, data in documents.items():
        with atomic_write(args.out / f"{name}.docx") as handle:
            handle.write(data)
        print(f"已写出：{args.out / f'{name}.docx'}")
    if args.pdf:
        from minesafe.office import pdf_of

        try:
            pdfs = pdf_of(documents)
        except OfficeError as exc:
            print(exc, file=sys.stderr)
            return EXIT_FAILED
        for name, data in pdfs.items():
            with atomic_write(args.out / f"{name}.pdf") as handle:
                handle.write(data)
            print(f"已写出：{args.out / f'{name}.pdf'}")
    return EXIT_OK


def _export(args: argparse.Namespace) -> int:
    """An executed report notebook's page (and Word document), written only when all can be made."""
    from minesafe.export import export_notebook
    from minesafe.storage import atomic_write, check_output_file

    check_output_file(args.out or args.notebook.with_suffix(".html"))
    files = export_notebook(args.notebook, args.out, args.html_only)
    for path in files:
        check_output_file(path)
    existing = [Problem((), "输出文件已存在，未写入", str(p), "另选 --out，或加 --force 覆盖") for p in files if p.exists()]
    if existing and not args.force:
        raise InputError(str(args.notebook), existing)
    made: list[Path] = []
    try:
        for path, data in files.items():
            made += [] if path.exists() else [path]  # noted first: the rename may be done when a signal comes
            with atomic_write(path) as handle:
                handle.write(data)
    except BaseException:  # interrupted or a full disk between the files: no page without its document
        for path in made:
            path.unlink(missing_ok=True)
        raise
    for path in files:
        print(f"已写出：{path}")
    return EXIT_OK


def _evaluate(args: argparse.Namespace) -> int:
    from minesafe.evaluation import group_stages
    from minesafe.provenance import read_provenance
    from minesafe.rendering import format_result_text, result_to_dict
    from minesafe.results import evaluate

    status = EXIT_OK
    results, sources = [], []
    for path in args.files:
        try:
            results.append(evaluate(path, args.params))
            sources.append(str(path))
        except MinesafeError as exc:
            print(exc, file=sys.stderr)
            status = EXIT_INPUT
    try:
        units = group_stages(results, sources)  # one unit's stages side by side: the latest decides
    except MinesafeError as exc:
        print(exc, file=sys.stderr)
        return EXIT_INPUT
    source_of = {id(r): source for r, source in zip(results, sources, strict=True)}
    for i, unit in enumerate(units):
        if args.json:
            from minesafe.storage import dump_json

            print(dump_json(result_to_dict(unit, read_provenance(unit, args.params))))
        else:
            files = "、".join(source_of[id(r)] for r in unit.stages)
            print(("\n" if i else "") + f"== {files} ==\n" + format_result_text(unit))
    return status


def _template(args: argparse.Namespace) -> int:
    from minesafe.files import read_county_rubric, read_prefill
    from minesafe.storage import check_output_file, write_workbook
    from minesafe.workbook import build_workbook

    out: Path = args.out
    check_output_file(out)
    if out.suffix.lower() != ".xlsx":
        raise InputError(str(out), [Problem((), "输出文件扩展名不对", out.suffix, ".xlsx")])
    if out.exists() and not args.force:
        raise InputError(
            str(out), [Problem((), "输出文件已存在，为免覆盖已填写的内容未写入", str(out), "另选文件名，或加 --force 覆盖")]
        )
    data = None
    if args.source is not None:
        data, rubric = read_prefill(args.source, args.params)
    else:
        rubric = read_county_rubric(args.rubric, args.params)
    write_workbook(build_workbook(rubric, data), out)
    print(f"已生成填报模板：{out}")
    return EXIT_OK


_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "evaluate": _evaluate,
    "template": _template,
    "batch": _batch,
    "app": _app,
    "lists": _lists,
    "compare": _compare,
    "demo": _demo,
    "report": _report,
    "export": _export,
    "status": _status,
}


#: Commands that run briefly in a process of their own (not the batch, nor the app's server).
BRIEF_COMMANDS = {"evaluate", "template", "lists", "compare", "demo", "report", "export", "status"}


def run() -> int:
    """The ``minesafe`` console script and ``python -m minesafe``: :func:`main` in a process of its own.

    A brief command loads some fifty modules and a rubric, judges a file or a few and exits; nearly
    all it makes is freed by reference counting. The cyclic garbage collector would walk those
    objects again and again while they are made and once more at exit: for a brief command it runs
    a thirtieth as often (still bounding what cyclic garbage can pile up) and skips that last walk
    (``gc.freeze``), about a tenth of `minesafe evaluate`'s time (benchmarks/batch_speed.py). The
    batch and the app run long and keep the collector's defaults.
    """
    brief = len(sys.argv) > 1 and sys.argv[1] in BRIEF_COMMANDS
    if brief:
        gc.set_threshold(20_000)  # young objects collected every 20 000 allocations, not 700
    status = main()
    if brief:
        gc.freeze()
    return status


def _stdout_is_open() -> bool:
    """Whether standard output was given to this process (``>&-`` closes it: Python then has no
    ``sys.stdout``, and the descriptor would be taken by the next file opened)."""
    try:
        os.fstat(1)
    except OSError:
        return False
    return sys.stdout is not None


def _silence_stdout() -> None:
    """Point standard output at nothing, so that the interpreter's final flush does not fail again
    with a traceback after the failure was reported."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)


def _interrupt(signum: int, frame: Any) -> NoReturn:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Run one ``minesafe`` command: its exit status (see the module's docstring). SIGTERM stops
    any command as Ctrl-C does (the batch and the app stop their workers, kernels and server
    first); a failure to write an output or standard output is one Chinese line, never a traceback."""
    if not _stdout_is_open():
        _silence_stdout()  # fd 1 held, so no file this command opens takes its place
        print("标准输出已被关闭（例如用了 >&-），命令未运行：请让输出写到终端、文件或管道。", file=sys.stderr)
        return EXIT_FAILED
    escape_console_output()  # a file name that is not UTF-8 is shown escaped, never a UnicodeEncodeError
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _interrupt) if in_main_thread else None
    try:
        args = _parser().parse_args(argv)
        status = _COMMANDS[args.command](args)
        sys.stdout.flush()  # a closed pipe or a full disk shows here, inside the handlers, not at interpreter exit
        return status
    except OutputError as exc:
        print(exc, file=sys.stderr)
        return EXIT_FAILED
    except MinesafeError as exc:
        print(exc, file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("\n已中断（Ctrl-C 或终止信号）。", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # Whoever read the output stopped early (``| head -1``): say so once
        _silence_stdout()
        print("输出管道已被关闭（例如接到了 head），其余输出未写出。", file=sys.stderr)
        return EXIT_FAILED
    except OSError as exc:
        if exc.errno == errno.ENAMETOOLONG:  # a name given on the command line or in a file: the input's fault
            from minesafe.parsing import name_too_long

            print(InputError(str(exc.filename), [name_too_long(str(exc.filename))]), file=sys.stderr)
            return EXIT_INPUT
        if exc.filename is None:  # standard output itself (a full disk: > /dev/full)
            _silence_stdout()
            print(f"无法写出到标准输出：{describe_os_error(exc)}，其余输出未写出。", file=sys.stderr)
        else:
            print(f"无法写入：{describe_os_error(exc)}。请检查输出位置后重新运行。", file=sys.stderr)
        return EXIT_FAILED
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)
