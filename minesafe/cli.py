"""The ``minesafe`` command.

Exit status: 0 when every evaluation was made (whatever the verdicts), 2 when an input had
problems (all of them are printed, in Chinese, and nothing is written), 1 when a batch ran but
some unit failed (see its summary).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from minesafe.exceptions import InputError, MinesafeError, Problem

EXIT_OK, EXIT_FAILED, EXIT_INPUT = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="minesafe", description="矿山安全重点地区综合评估工具")
    commands = parser.add_subparsers(dest="command", required=True, metavar="命令")

    evaluate = commands.add_parser(
        "evaluate", help="评估一个或多个提交文件（YAML、JSON 或 Excel）", description="评估提交文件并输出结论"
    )
    evaluate.add_argument("files", nargs="+", type=Path, metavar="文件", help="县或省的提交文件")
    evaluate.add_argument("--json", action="store_true", help="输出 JSON（每个文件一个对象，一行一个）")
    evaluate.add_argument("--params", type=Path, metavar="参数文件", help="评估参数（阈值、类别读法等）的 YAML 文件")

    template = commands.add_parser("template", help="生成 Excel 填报模板", description="生成 Excel 填报工作簿")
    template.add_argument("--out", type=Path, required=True, metavar="文件.xlsx", help="输出的工作簿路径")
    template.add_argument("--rubric", default="noncoal-county", metavar="评估表", help="评估表编号（默认 noncoal-county）")
    template.add_argument("--from", dest="source", type=Path, metavar="提交文件", help="用已有的提交文件预先填好")
    template.add_argument("--force", action="store_true", help="覆盖已存在的输出文件")
    batch = commands.add_parser(
        "batch", help="批量生成评估报告（HTML、笔记本、结果 JSON 和汇总表）", description="按运行参数文件批量生成评估报告"
    )
    batch.add_argument("runs", nargs="*", type=Path, metavar="参数文件或文件夹", help="运行参数文件（默认 params/runs/ 下全部）")
    batch.add_argument("--jobs", type=int, default=os.cpu_count() or 1, metavar="N", help="并行进程数（默认为 CPU 核数）")
    batch.add_argument("--out", type=Path, default=Path("reports"), metavar="文件夹", help="报告输出文件夹（默认 reports/）")
    batch.add_argument(
        "--notebooks", type=Path, default=Path("notebooks"), metavar="文件夹", help="报告笔记本所在文件夹（默认 notebooks/）"
    )
    app = commands.add_parser(
        "app", help="在本机浏览器中打开假设分析页面（不显示代码）", description="用 Voilà 在 127.0.0.1 上提供假设分析页面"
    )
    app.add_argument(
        "submission",
        type=Path,
        nargs="?",
        default=Path("data/demo/counties/bing.yaml"),
        metavar="提交文件",
        help="县级提交文件（默认示例丙县）",
    )
    app.add_argument("--params", type=Path, metavar="参数文件", help="评估参数文件")
    app.add_argument("--port", type=int, default=8866, help="端口（默认 8866）")
    app.add_argument("--idle-minutes", type=int, default=30, metavar="分钟", help="空闲多久后关闭计算内核（默认 30）")
    lists = commands.add_parser(
        "lists", help="按评估结果和事故情况测算下一年度重点名单", description="动态管理：测算下一年度重点名单"
    )
    lists.add_argument("history", type=Path, metavar="名单数据文件", help="名单历史、评估结果和事故情况（YAML，见 docs/coal.md）")
    lists.add_argument("--out", type=Path, metavar="文件.xlsx", help="同时写出 Excel 名单建议")
    lists.add_argument("--force", action="store_true", help="覆盖已存在的输出文件")

    compare = commands.add_parser("compare", help="并列比较同一单位的自评与核查", description="比较自评与核查提交文件")
    compare.add_argument("self_assessment", type=Path, metavar="自评文件")
    compare.add_argument("verification", type=Path, metavar="核查文件")
    compare.add_argument("--params", type=Path, metavar="参数文件", help="评估参数文件")
    return parser


def _lists(args: argparse.Namespace) -> int:
    from minesafe.files import read_document, write_workbook
    from minesafe.lists import build_history, build_proposal_workbook, propose_next_list
    from minesafe.report import render_list_proposal

    if args.out is not None and args.out.exists() and not args.force:
        raise InputError(str(args.out), [Problem((), "输出文件已存在，未写入", str(args.out), "另选文件名，或加 --force 覆盖")])
    print(render_list_proposal(args.history).text)
    if args.out is not None:
        data, locate = read_document(args.history)
        history = build_history(data, str(args.history), locate)
        write_workbook(build_proposal_workbook(history, propose_next_list(history)), args.out)
        print(f"已写出：{args.out}")
    return EXIT_OK


def _compare(args: argparse.Namespace) -> int:
    from minesafe.report import load_report, render_stage_comparison

    report = load_report(args.self_assessment, args.params)
    print(render_stage_comparison(report, args.verification).text)
    return EXIT_OK


def _app(args: argparse.Namespace) -> int:
    from minesafe.app import serve_whatif_app

    return serve_whatif_app(args.submission, args.params, args.port, args.idle_minutes * 60)


def _batch(args: argparse.Namespace) -> int:
    from minesafe.batch import find_run_files, load_runs, run_batch

    if args.jobs < 1:
        raise InputError("--jobs", [Problem((), "并行进程数应至少为 1", args.jobs, "正整数")])
    runs = load_runs(find_run_files(args.runs or [Path("params") / "runs"]), args.notebooks)
    outcomes = run_batch(runs, args.out, args.jobs, progress=sys.stderr.isatty())
    for o in outcomes:
        detail = (o.verdict + (f"，得分 {o.score} 分" if o.score else "")) if o.succeeded else o.error.splitlines()[0]
        print(f"[{o.status}] {o.unit}（{o.kind or '—'}，{o.year or '—'}年）：{detail}")
    failed = [o for o in outcomes if not o.succeeded]
    print(
        f"\n共 {len(outcomes)} 份，成功 {len(outcomes) - len(failed)} 份，失败 {len(failed)} 份。报告位于：{args.out.resolve()}"
    )
    print(f"汇总表：{(args.out / 'batch-summary.xlsx').resolve()}")
    return EXIT_OK if not failed else EXIT_FAILED


def _evaluate(args: argparse.Namespace) -> int:
    from minesafe.files import evaluate_file
    from minesafe.rendering import format_result_text, result_to_dict

    status = EXIT_OK
    for i, path in enumerate(args.files):
        try:
            result = evaluate_file(path, args.params)
        except MinesafeError as exc:
            print(exc, file=sys.stderr)
            status = EXIT_INPUT
            continue
        if args.json:
            print(json.dumps(result_to_dict(result), ensure_ascii=False))
        else:
            print(("\n" if i else "") + f"== {path} ==\n" + format_result_text(result))
    return status


def _template(args: argparse.Namespace) -> int:
    from minesafe.files import read_prefill, read_rubric, write_workbook
    from minesafe.workbook import build_workbook

    out: Path = args.out
    if out.suffix.lower() != ".xlsx":
        raise InputError(str(out), [Problem((), "输出文件扩展名不对", out.suffix, ".xlsx")])
    if out.exists() and not args.force:
        raise InputError(
            str(out), [Problem((), "输出文件已存在，为免覆盖已填写的内容未写入", str(out), "另选文件名，或加 --force 覆盖")]
        )
    data = None
    if args.source is not None:
        data, rubric = read_prefill(args.source)
    else:
        rubric = read_rubric(args.rubric)
    write_workbook(build_workbook(rubric, data), out)
    print(f"已生成填报模板：{out}")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        commands = {
            "evaluate": _evaluate,
            "template": _template,
            "batch": _batch,
            "app": _app,
            "lists": _lists,
            "compare": _compare,
        }
        return commands[args.command](args)
    except MinesafeError as exc:
        print(exc, file=sys.stderr)
        return EXIT_INPUT
