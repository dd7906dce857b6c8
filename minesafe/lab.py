"""A Jupyter server extension: a notebook saved with a live what-if panel reopens as its static note.

A live panel's output carries the widget's view (``application/vnd.jupyter.widget-view+json``)
beside the static note (``text/html``). Saved as it is, the notebook reopens, with no kernel behind
the widget, as "Error displaying widget: model not found". Registered as a pre-save hook of the
server's contents manager (jupyter_server's public ``register_pre_save_hook``), it removes the
widget's view from exactly those outputs before the file is written, so a saved notebook holds no
widget and shows the note; the page that saved keeps its live panel. Outputs of other widgets are
left alone. The extension is enabled by the configuration file the package installs
(``etc/jupyter/jupyter_server_config.d/minesafe.json``).
"""

from __future__ import annotations

from typing import Any

from minesafe.export import WIDGET_VIEW

#: The class of the what-if panel's static note (templates/fragments/whatif_note.html.j2).
NOTE_CLASS = "ms-static-note"


def strip_live_panels(model: dict[str, Any], **_: Any) -> None:
    """Drop the widget view from every output that also holds the what-if panel's static note."""
    if model.get("type") != "notebook" or not isinstance(model.get("content"), dict):
        return
    for cell in model["content"].get("cells", []):
        for output in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            data = output.get("data", {})
            html = data.get("text/html", "")
            if WIDGET_VIEW in data and NOTE_CLASS in ("".join(html) if isinstance(html, list) else html):
                del data[WIDGET_VIEW]


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """The entry point jupyter_server looks up in an enabled extension module."""
    return [{"module": "minesafe.lab"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    """Called by jupyter_server when the extension is enabled: register the hook."""
    serverapp.contents_manager.register_pre_save_hook(strip_live_panels)
