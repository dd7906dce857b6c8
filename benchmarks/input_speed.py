"""Reading inputs, measured side by side in one run.

    python benchmarks/input_speed.py [--repeat 20]

Prints, for the shipped county rubric and a demo county submission, the time to parse with the
libyaml loader and with the pure-Python loader (both with the same YAML 1.2, duplicate-key and
alias checks) and their ratio; then how long the hostile inputs take to be refused (billion laughs,
20,000 levels of YAML, 100,000 of JSON, a stray cell at row 1,048,576, a zip bomb), each of which
must answer within seconds; then the largest workbook the limits let through (every keyed sheet
filled with distinct keys down to ``workbook.MAX_ROWS``) beside the demo county's workbook, and
their ratio: reading is linear, so the largest answers within seconds too.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import openpyxl  # noqa: E402

from minesafe.exceptions import InputError  # noqa: E402
from minesafe.files import read_rubric  # noqa: E402
from minesafe.parsing import PythonYamlLoader, YamlLoader, parse_yaml, read_document  # noqa: E402
from minesafe.results import evaluate  # noqa: E402
from minesafe.storage import write_workbook  # noqa: E402
from minesafe.workbook import FIELDS, INFO, ITEMS, MAX_ROWS, TARGETS, build_workbook  # noqa: E402
from tests.hostile_files import write_hostile_files  # noqa: E402

INVALID = ROOT / "tests" / "data" / "invalid"


def median_ms(action, repeat: int) -> float:
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def refused_ms(path: Path) -> float:
    started = time.perf_counter()
    try:
        evaluate(path)
    except InputError:
        return (time.perf_counter() - started) * 1000
    raise SystemExit(f"{path.name} was not refused")


def write_workbooks(folder: Path) -> tuple[Path, Path]:
    """The demo county's workbook, and the same workbook with every keyed sheet filled down to
    :data:`MAX_ROWS` with distinct keys and values (each key a problem, all of them reported)."""
    data, _ = read_document(ROOT / "data" / "demo" / "counties" / "jia.yaml")
    demo = folder / "jia.xlsx"
    write_workbook(build_workbook(read_rubric(data["rubric"]), data), demo)
    book = openpyxl.load_workbook(demo)
    rows = {
        INFO: lambda i: [f"extra_{i}", "项目", 1],
        TARGETS: lambda i: [f"extra_{i}.group_{i % 7}.current", "", "", "", "填报项", 1],
        ITEMS: lambda i: [f"9-{i}", "", "", "", "任务分解", "", "完成", ""],
        FIELDS: lambda i: ["1-1a", f"extra_{i}", "填报项", "数量", 1],
    }
    for sheet, row in rows.items():
        ws = book[sheet]
        for i in range(ws.max_row + 1, MAX_ROWS + 1):
            ws.append(row(i))
    largest = folder / "largest.xlsx"
    book.save(largest)
    return demo, largest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    texts = {
        "county rubric": (resources.files("minesafe") / "rubrics" / "noncoal-county.yaml").read_text(encoding="utf-8"),
        "county submission": (ROOT / "data" / "demo" / "counties" / "jia.yaml").read_text(encoding="utf-8"),
    }
    print("YAML parse, median of", args.repeat)
    for name, text in texts.items():
        c = median_ms(lambda text=text, name=name: parse_yaml(text, name, YamlLoader), args.repeat)
        py = median_ms(lambda text=text, name=name: parse_yaml(text, name, PythonYamlLoader), args.repeat)
        print(f"  {name:18} libyaml {c:7.2f} ms   pure Python {py:7.2f} ms   ratio {py / c:4.1f}x")
    print("hostile inputs, time to refuse")
    with tempfile.TemporaryDirectory() as folder:
        write_hostile_files(Path(folder))
        paths = [
            INVALID / "county_yaml_billion_laughs.yaml",
            INVALID / "county_yaml_nesting_20000_levels.yaml",
            INVALID / "county_json_nesting_100000_levels.json",
            INVALID / "county_yaml_ratio_1e999999999.yaml",
            Path(folder) / "county_xlsx_stray_cell_in_last_row.xlsx",
            Path(folder) / "county_xlsx_zip_bomb.xlsx",
        ]
        for path in paths:
            print(f"  {path.name:42} {refused_ms(path):8.1f} ms")
        demo, largest = write_workbooks(Path(folder))
        size = largest.stat().st_size // 1024
        print(f"largest workbook the limits allow ({MAX_ROWS} rows in each keyed sheet, {size} KB), time to answer")
        timings = []
        for path in (demo, largest):
            started, cpu = time.perf_counter(), time.process_time()
            with contextlib.suppress(InputError):  # the largest is refused, every one of its keys named
                evaluate(path)
            timings.append(((time.perf_counter() - started) * 1000, (time.process_time() - cpu) * 1000))
        (demo_ms, demo_cpu), (largest_ms, largest_cpu) = timings
        print(f"  demo county workbook {demo_ms:8.1f} ms ({demo_cpu:8.1f} ms CPU)")
        print(
            f"  largest              {largest_ms:8.1f} ms ({largest_cpu:8.1f} ms CPU)   ratio {largest_cpu / demo_cpu:5.1f}x (CPU)"
        )


if __name__ == "__main__":
    main()
