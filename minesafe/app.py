"""``minesafe app``: the what-if panel as a code-free page, served by Voilà on 127.0.0.1 only.

The submission is checked first (bad input gets the usual Chinese message and exit status 2), then
a parameterized copy of the package's ``apps/whatif_app.ipynb`` is served with the ``minesafe_app``
template, which loads nothing from the internet. Idle kernels are culled.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from importlib import resources
from pathlib import Path

import nbformat

from minesafe.files import bundled_font_path, evaluate_file

APP_NOTEBOOK = "whatif_app.ipynb"


def app_notebook_path() -> Path:
    """The app notebook shipped in the package: narrative, parameters and one call."""
    return Path(str(resources.files("minesafe") / "apps" / APP_NOTEBOOK))


def prepare_app(submission: Path, params_file: Path | None, folder: Path) -> Path:
    """Write the app notebook with the submission filled in; checks the submission first."""
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    evaluate_file(submission, params_file)  # raises InputError with every problem of the file
    notebook = load_notebook_node(str(app_notebook_path()))
    parameters = {"submission": str(submission.resolve()), "params_file": str(params_file.resolve()) if params_file else ""}
    notebook = parameterize_notebook(notebook, parameters)
    path = folder / APP_NOTEBOOK
    nbformat.write(notebook, path)
    return path


def voila_command(notebook: Path, port: int, idle_seconds: int) -> list[str]:
    return [
        sys.executable, "-m", "voila", str(notebook),
        "--no-browser",
        f"--port={port}",
        "--Voila.ip=127.0.0.1",
        "--template=minesafe_app",
        "--theme=light",
        "--VoilaConfiguration.show_tracebacks=False",
        f"--MappingKernelManager.cull_idle_timeout={idle_seconds}",
        "--MappingKernelManager.cull_interval=60",
    ]  # fmt: skip


def prepare_template(folder: Path) -> Path:
    """A temporary Jupyter data folder holding the ``minesafe_app`` template, with the bundled
    Chinese font among its static files, so the page shows Chinese on any machine. (A copy: the
    static file server refuses links that lead outside its folder.)"""
    source = Path(str(resources.files("minesafe") / "templates" / "voila"))
    data = folder / "jupyter"
    shutil.copytree(source, data / "voila")
    font = bundled_font_path()
    if font is not None:
        static = data / "voila" / "templates" / "minesafe_app" / "static"
        static.mkdir(exist_ok=True)
        shutil.copyfile(font, static / font.name)
    return data


def voila_environment(data: Path) -> dict[str, str]:
    """The environment with the template's data folder first on Jupyter's data path."""
    env = dict(os.environ)
    env["JUPYTER_PATH"] = os.pathsep.join(p for p in (str(data), env.get("JUPYTER_PATH", "")) if p)
    return env


def serve_whatif_app(submission: Path, params_file: Path | None, port: int, idle_seconds: int) -> int:
    """Serve until interrupted (Ctrl-C)."""
    with tempfile.TemporaryDirectory(prefix="minesafe-app-") as folder:
        notebook = prepare_app(submission, params_file, Path(folder))
        data = prepare_template(Path(folder))
        print(f"假设分析页面：http://127.0.0.1:{port}/ （按 Ctrl-C 结束）", flush=True)
        try:
            return subprocess.call(voila_command(notebook, port, idle_seconds), env=voila_environment(data))
        except KeyboardInterrupt:
            return 0
