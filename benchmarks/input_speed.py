"""Reading inputs, measured side by side in one run.

    python benchmarks/input_speed.py [--repeat 20]

Prints, for the shipped county rubric and a demo county submission, the time to parse with the
libyaml loader and with the pure-Python loader (both with the same YAML 1.2, duplicate-key and
alias checks) and their ratio; then how long the hostile inputs take to be refused (billion laughs,
20,000 levels of YAML, 100,000 of JSON, a stray cell at row 1,048,576, a zip bomb), each of which
must answer within seconds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from minesafe.exceptions import InputError  # noqa: E402
from minesafe.parsing import PythonYamlLoader, YamlLoader, parse_yaml  # noqa: E402
from minesafe.results import evaluate  # noqa: E402
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


if __name__ == "__main__":
    main()
