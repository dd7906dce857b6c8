"""Warm report kernels: forked from a clean template, so no unit's state reaches the next report."""

import asyncio
import json
import shutil
import threading
from queue import Empty

import nbformat
import pytest

from minesafe.cli import main
from minesafe.kernels import KernelStandby, ReadyKernelClient

from .conftest import DEMO, ROOT

PROBE = """import os
import minesafe.report as probe
print("module:", getattr(probe, "left_by_previous_unit", "clean"), "| env:", os.environ.get("LEFT_BY_PREVIOUS_UNIT", "clean"))
probe.left_by_previous_unit = submission
os.environ["LEFT_BY_PREVIOUS_UNIT"] = submission
import matplotlib
print("rc:", matplotlib.rcParams["lines.linewidth"])
matplotlib.rcParams["lines.linewidth"] = 9.0
import json, ipykernel.connect
print("transport:", json.loads(ipykernel.connect.get_connection_info())["transport"], "| pid:", os.getpid())
"""


def test_no_unit_state_reaches_the_next_report(tmp_path):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    source = nbformat.read(ROOT / "notebooks" / "noncoal_county_report.ipynb", as_version=4)
    parameters = next(c for c in source.cells if "parameters" in c.metadata.get("tags", []))
    probe = nbformat.v4.new_notebook(cells=[parameters, nbformat.v4.new_code_cell(PROBE)], metadata=source.metadata)
    nbformat.write(probe, notebooks / "probe.ipynb")
    runs = tmp_path / "runs"
    runs.mkdir()
    names = ("jia", "yi", "bing")
    for name in names:
        (runs / f"{name}.yaml").write_text(
            f"notebook: probe\nparameters: {{submission: {DEMO / 'counties' / name}.yaml}}\n", encoding="utf-8"
        )
    out = tmp_path / "reports"
    # one worker: every unit's kernel comes from the same template, one after another
    assert main(["batch", str(runs), "--out", str(out), "--jobs", "1", "--notebooks", str(notebooks)]) == 0
    reports = sorted(out.rglob("report.ipynb"))
    assert len(reports) == len(names)
    kernels = set()
    for path in reports:
        printed = "".join(o.get("text", "") for o in nbformat.read(path, as_version=4).cells[-1].outputs)
        assert "module: clean | env: clean" in printed, printed
        assert "rc: 9.0" not in printed
        assert "transport: ipc" in printed  # Unix sockets in the batch's private folder, no TCP ports
        kernels.add(printed.rsplit("pid:", 1)[1].strip())
    assert len(kernels) == len(names)  # a kernel of its own for every report
    summary = json.loads((out / "batch-summary.json").read_text(encoding="utf-8"))
    assert summary["succeeded"] == len(names)
    shutil.rmtree(out)


class ScriptedClient(ReadyKernelClient):
    """A kernel client whose channels replay a script of messages (nothing is connected)."""

    shell_channel = iopub_channel = None  # plain attributes instead of jupyter_client's channel properties

    def __init__(self, shell, iopub, alive=True):
        super().__init__()
        self.shell_channel, self.iopub_channel, self.alive = ScriptedChannel(shell), ScriptedChannel(iopub), alive
        self.requests = []

    def kernel_info(self):
        self.requests.append(f"request-{len(self.requests) + 1}")
        return self.requests[-1]

    async def is_alive(self):
        return self.alive


class ScriptedChannel:
    def __init__(self, messages):
        self.messages = list(messages)

    async def get_msg(self, timeout=None):
        message = self.messages.pop(0) if self.messages else None
        if message is None:  # nothing (yet): the wait times out
            raise Empty
        return message


def _message(kind, request, state=None):
    content = {"protocol_version": "5.3"} if kind == "kernel_info_reply" else {"execution_state": state}
    return {"msg_type": kind, "parent_header": {"msg_id": request}, "content": content}


def test_a_kernel_is_ready_when_it_said_idle_for_this_request():
    client = ScriptedClient(
        shell=[_message("kernel_info_reply", "request-1")],
        iopub=[
            _message("status", "earlier", "idle"),
            _message("status", "request-1", "busy"),
            _message("status", "request-1", "idle"),
        ],
    )
    asyncio.run(client.wait_for_ready(timeout=5))
    assert client.requests == ["request-1"]
    assert client.iopub_channel.messages == []  # read up to this request's idle, past the earlier one


def test_a_missed_idle_status_means_asking_again():
    """IOPub may connect after the kernel said idle (a slow joiner): then the client asks again."""
    client = ScriptedClient(
        shell=[_message("kernel_info_reply", "request-1"), _message("kernel_info_reply", "request-2")],
        iopub=[_message("status", "request-1", "busy"), None, _message("status", "request-2", "idle")],
    )
    asyncio.run(client.wait_for_ready(timeout=5))
    assert client.requests == ["request-1", "request-2"]


def test_a_dead_kernel_is_reported_not_waited_for():
    client = ScriptedClient(shell=[], iopub=[], alive=False)
    with pytest.raises(RuntimeError, match="died"):
        asyncio.run(client.wait_for_ready(timeout=5))
    assert client.requests == ["request-1"]


class FakeKernel:
    """A started kernel manager as the standby sees it."""

    def __init__(self, cwd, alive=True):
        self.cwd, self.alive, self.clients, self.stopped = cwd, alive, [FakeClient()], threading.Event()

    async def is_alive(self):
        return self.alive

    async def shutdown_kernel(self, now=False):
        assert now  # a used kernel's outputs are in hand: no graceful wait
        self.stopped.set()


class FakeClient:
    channels_open = True

    def stop_channels(self):
        self.channels_open = False


def _standby():
    started = []

    def start(cwd):
        started.append(FakeKernel(cwd))
        return started[-1]

    return KernelStandby(start), started


def test_the_standby_kernel_serves_the_next_report():
    standby, started = _standby()
    first = standby.take("/notebooks")
    standby.prepare("/notebooks")
    assert standby.take("/notebooks") is started[1] and len(started) == 2
    assert first is started[0]


def test_a_standby_in_another_folder_or_dead_is_stopped_and_replaced():
    standby, started = _standby()
    standby.prepare("/notebooks")
    kernel = standby.take("/elsewhere")
    assert kernel is started[1] and kernel.cwd == "/elsewhere"
    assert started[0].stopped.wait(5) and not started[0].clients[0].channels_open
    standby.prepare("/elsewhere")
    started[2].alive = False
    assert standby.take("/elsewhere") is started[3]
    assert started[2].stopped.wait(5)


def test_a_used_kernel_is_stopped_and_its_channels_closed():
    standby, _ = _standby()
    kernel = standby.take("/notebooks")
    standby.retire(kernel)
    assert kernel.stopped.wait(5) and not kernel.clients[0].channels_open
