"""minesafe: executable, auditable evaluations of China's mine-safety supervision rules.

The public API for notebooks (see docs/api.md)::

    import minesafe
    result = minesafe.evaluate("县.yaml")      # a county, enterprise or province result
    result.targets_frame(); result.items_frame()
    table = minesafe.load_results("reports/")   # one line per unit and stage
"""

from typing import TYPE_CHECKING, Any

# The public names are imported on first use (PEP 562), so `minesafe evaluate` and the batch start
# without loading what they do not need (pandas, the results tables, the package metadata).
_PUBLIC = {
    "CountyResult": "minesafe.evaluation",
    "ProvinceResult": "minesafe.evaluation",
    "InputError": "minesafe.exceptions",
    "InputErrors": "minesafe.exceptions",
    "MinesafeError": "minesafe.exceptions",
    "demo_folder": "minesafe.resources",
    "evaluate": "minesafe.results",
    "load_results": "minesafe.results",
}


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            value = version("minesafe")
        except PackageNotFoundError:  # running from a source tree that was never installed
            value = "0+unknown"
    elif name in _PUBLIC:
        import importlib

        value = getattr(importlib.import_module(_PUBLIC[name]), name)
    else:
        raise AttributeError(f"module 'minesafe' has no attribute {name!r}")
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from minesafe.evaluation import CountyResult, ProvinceResult
    from minesafe.exceptions import InputError, InputErrors, MinesafeError
    from minesafe.resources import demo_folder
    from minesafe.results import evaluate, load_results

__version__: str

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
