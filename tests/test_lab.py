"""The Jupyter server extension: a notebook saved with a live what-if panel reopens as its note."""

from types import SimpleNamespace

import nbformat
from jupyter_server.services.contents.filemanager import FileContentsManager

from minesafe import lab
from minesafe.export import WIDGET_VIEW
from minesafe.whatif import build_whatif_panel

from .conftest import DEMO


def _saved_notebook(tmp_path, outputs) -> nbformat.NotebookNode:
    """Save a notebook through a contents manager with the extension loaded, as JupyterLab does."""
    manager = FileContentsManager(root_dir=str(tmp_path))
    lab._load_jupyter_server_extension(SimpleNamespace(contents_manager=manager))
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("panel", outputs=outputs, execution_count=1)])
    manager.save({"type": "notebook", "format": "json", "content": notebook}, "saved.ipynb")
    return nbformat.read(tmp_path / "saved.ipynb", as_version=4)


def test_a_saved_panel_keeps_its_note_and_no_widget(tmp_path):
    """The live panel's output as the kernel sends it: saved, it holds the note, not the widget view
    that reopens as "Error displaying widget: model not found"."""
    bundle = build_whatif_panel(DEMO / "counties" / "ding.yaml")._repr_mimebundle_()
    assert WIDGET_VIEW in bundle  # live
    (cell,) = _saved_notebook(tmp_path, [nbformat.v4.new_output("execute_result", bundle, execution_count=1)]).cells
    (output,) = cell.outputs
    assert WIDGET_VIEW not in output.data
    assert "ms-static-note" in output.data["text/html"] and "minesafe app" in output.data["text/plain"]


def test_other_widgets_are_saved_as_they_are(tmp_path):
    other = {WIDGET_VIEW: {"version_major": 2, "version_minor": 0, "model_id": "abc"}, "text/plain": "IntSlider(value=3)"}
    (cell,) = _saved_notebook(tmp_path, [nbformat.v4.new_output("display_data", other)]).cells
    assert cell.outputs[0].data[WIDGET_VIEW]["model_id"] == "abc"
