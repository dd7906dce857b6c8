"""minesafe: executable, auditable evaluations of China's mine-safety supervision rules.

The public API for notebooks (see docs/api.md)::

    import minesafe
    result = minesafe.evaluate("县.yaml")      # a county, enterprise or province result
    result.targets_frame(); result.items_frame()
    table = minesafe.load_results("reports/")   # one line per unit and stage
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("minesafe")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

from minesafe.evaluation import CountyResult, ProvinceResult
from minesafe.exceptions import InputError, InputErrors, MinesafeError
from minesafe.files import demo_folder
from minesafe.results import evaluate, load_results

__all__ = [
    "CountyResult",
    "InputError",
    "InputErrors",
    "MinesafeError",
    "ProvinceResult",
    "__version__",
    "demo_folder",
    "evaluate",
    "load_results",
]
