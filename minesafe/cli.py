"""The ``minesafe`` command.

Exit status: 0 when every evaluation was made (whatever the verdicts), 2 when an input had
problems (all of them are printed, in Chinese, and nothing is written), 1 for an internal error.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from minesafe.exceptions import MinesafeError

EXIT_OK, EXIT_INPUT = 0, 2


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
    return parser


def _evaluate(args: argparse.Namespace) -> int:
    from minesafe.io import evaluate_file
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
    from minesafe.exceptions import InputError, Problem
    from minesafe.io import read_document, read_rubric, write_workbook
    from minesafe.workbook import build_workbook

    out: Path = args.out
    if out.suffix.lower() != ".xlsx":
        raise InputError(str(out), [Problem((), "输出文件扩展名不对", out.suffix, ".xlsx")])
    if out.exists() and not args.force:
        raise InputError(
            str(out), [Problem((), "输出文件已存在，为免覆盖已填写的内容未写入", str(out), "另选文件名，或加 --force 覆盖")]
        )
    data = None
    rubric_name = args.rubric
    if args.source is not None:
        data, _ = read_document(args.source)
        rubric_name = data.get("rubric", rubric_name) if isinstance(data, dict) else rubric_name
    rubric = read_rubric(rubric_name)
    write_workbook(build_workbook(rubric, data), out)
    print(f"已生成填报模板：{out}")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "evaluate":
            return _evaluate(args)
        return _template(args)
    except MinesafeError as exc:
        print(exc, file=sys.stderr)
        return EXIT_INPUT
