"""The house is layered: presentation depends on the engine, never the reverse."""

import ast
import subprocess
import sys
from pathlib import Path

import minesafe

PACKAGE = Path(minesafe.__file__).parent

#: The engine: rules, inputs as typed objects, verdicts.
ENGINE = ("targets", "evaluation", "gap", "rubric", "params", "submission", "stages", "names")
#: What shows results: HTML, tables, charts, reports, documents, the what-if panel and its app.
PRESENTATION = ("rendering", "frames", "report", "sources", "charts", "documents", "word", "annex", "whatif", "app", "export")


def _imported(module: str) -> set[str]:
    """The minesafe modules ``module`` imports anywhere in its source (also inside functions and
    under ``if TYPE_CHECKING:``), by their names under the package."""
    tree = ast.parse((PACKAGE / f"{module.replace('.', '/')}.py").read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)  # from minesafe import palette
    return {n.removeprefix("minesafe.") for n in names if n.startswith("minesafe.")} & set(_modules())


def _modules() -> list[str]:
    return [".".join(p.relative_to(PACKAGE).with_suffix("").parts) for p in PACKAGE.rglob("*.py") if p.stem != "__init__"]


def _reached(module: str) -> dict[str, list[str]]:
    """Every minesafe module ``module`` depends on, directly or through others, with one import chain to it."""
    chains = {module: [module]}
    todo = [module]
    while todo:
        current = todo.pop()
        for name in sorted(_imported(current)):
            if name not in chains:
                chains[name] = [*chains[current], name]
                todo.append(name)
    return chains


def test_the_layers_named_exist():
    assert set(ENGINE) | set(PRESENTATION) <= set(_modules())


def test_no_engine_module_depends_on_presentation():
    broken = [" → ".join(chain) for module in ENGINE for name, chain in _reached(module).items() if name in PRESENTATION]
    assert broken == [], "engine modules importing presentation:\n" + "\n".join(broken)


def test_the_check_sees_an_import_inside_a_function(tmp_path, monkeypatch):
    """The check would fail on the cycle it guards against: a lazy import in a result method."""
    copy = tmp_path / "minesafe"
    copy.mkdir()
    source = (PACKAGE / "evaluation.py").read_text(encoding="utf-8")
    (copy / "evaluation.py").write_text(source + "\n\ndef _show():\n    from minesafe.frames import items_frame\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", copy)
    monkeypatch.setattr(sys.modules[__name__], "_modules", lambda: ["evaluation", "frames"])
    assert "frames" in _imported("evaluation")


def test_evaluating_loads_no_presentation_module():
    """At run time too: evaluating a county through the engine alone imports no presentation module."""
    code = (
        "import sys\n"
        "from minesafe.files import read_county_submission\n"
        "from minesafe.evaluation import evaluate_county\n"
        "from minesafe.resources import demo_folder\n"
        "submission, rubric = read_county_submission(demo_folder() / 'counties' / 'bing.yaml')\n"
        "result = evaluate_county(submission, rubric)\n"
        "print(result.passed, result._repr_html_())\n"
        "print(' '.join(sorted(m for m in sys.modules if m.startswith('minesafe.'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.splitlines()
    assert out[0] == "False None"  # the verdict, and no banner: nothing of presentation was loaded
    loaded = {m.removeprefix("minesafe.") for m in out[1].split()}
    assert loaded.isdisjoint(PRESENTATION), loaded & set(PRESENTATION)


def test_results_of_the_public_api_have_their_views():
    county = minesafe.evaluate(minesafe.demo_folder() / "counties" / "bing.yaml")
    assert "不合格" in (county._repr_html_() or "")
    assert list(county.items_frame().index[:2]) == ["1-1a", "1-1b"]
    assert "T1" in county.targets_frame().index
    province = minesafe.evaluate(minesafe.demo_folder() / "province.yaml")
    assert len(province.counties_frame()) == len(province.counties)
