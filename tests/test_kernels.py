"""Warm report kernels: forked from a clean template, so no unit's state reaches the next report."""

import asyncio
import json
import re
import shutil
import subprocess
import sys
import threading
from queue import Empty

import nbformat
import pytest

from minesafe.cli import main
from minesafe.kernels import SINGLE_THREAD_ENVIRONMENT, KernelStandby, ReadyKernelClient, count_os_threads

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
import sys
print("preloaded:", "minesafe.charts" in sys.modules)
"""


def _probe_batch(tmp_path, names=("jia", "yi", "bing")):
    """Run the probe notebook for the demo counties ``names`` in one worker; each report's printout."""
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    source = nbformat.read(ROOT / "notebooks" / "noncoal_county_report.ipynb", as_version=4)
    parameters = next(c for c in source.cells if "parameters" in c.metadata.get("tags", []))
    probe = nbformat.v4.new_notebook(cells=[parameters, nbformat.v4.new_code_cell(PROBE)], metadata=source.metadata)
    nbformat.write(probe, notebooks / "probe.ipynb")
    runs = tmp_path / "runs"
    runs.mkdir()
    for name in names:
        (runs / f"{name}.yaml").write_text(
            f"notebook: probe\nparameters: {{submission: {DEMO / 'counties' / name}.yaml}}\n", encoding="utf-8"
        )
    out = tmp_path / "reports"
    # one worker: every unit's kernel comes from the same template, one after another
    assert main(["batch", str(runs), "--out", str(out), "--jobs", "1", "--notebooks", str(notebooks)]) == 0
    reports = sorted(out.rglob("report.ipynb"))
    assert len(reports) == len(names)
    summary = json.loads((out / "batch-summary.json").read_text(encoding="utf-8"))
    assert summary["succeeded"] == len(names)
    printed = ["".join(o.get("text", "") for o in nbformat.read(path, as_version=4).cells[-1].outputs) for path in reports]
    shutil.rmtree(out)
    return printed


def test_no_unit_state_reaches_the_next_report(tmp_path):
    names = ("jia", "yi", "bing")
    kernels = set()
    for printed in _probe_batch(tmp_path, names):
        assert "module: clean | env: clean" in printed, printed
        assert "preloaded: True" in printed  # forked from the warm template
        assert "rc: 9.0" not in printed
        assert "transport: ipc" in printed  # Unix sockets in the batch's private folder, no TCP ports
        kernels.add(re.search(r"pid: (\d+)", printed).group(1))
    assert len(kernels) == len(names)  # a kernel of its own for every report


def test_warm_kernels_off_runs_plain_papermill_kernels(tmp_path, monkeypatch):
    """MINESAFE_WARM_KERNELS=0: an upstream break of the warm path degrades to slower, never to broken."""
    monkeypatch.setenv("MINESAFE_WARM_KERNELS", "0")
    for printed in _probe_batch(tmp_path, ("jia", "yi")):
        assert "module: clean | env: clean" in printed, printed
        assert "preloaded: False" in printed  # a new ipykernel process, nothing of the template
        assert "transport: tcp" in printed  # jupyter_client's own way of starting a kernel


def test_a_kernel_speaking_an_older_protocol_is_answered_in_it():
    """What jupyter_client does with a kernel_info reply, done through the session's public trait."""
    reply = _message("kernel_info_reply", "request-1") | {"content": {"protocol_version": "4.1"}}
    client = ScriptedClient(shell=[reply], iopub=[_message("status", "request-1", "idle")])
    asyncio.run(client.wait_for_ready(timeout=5))
    assert client.session.adapt_version == 4


def test_os_threads_are_counted_as_the_os_sees_them():
    """The template forks only while it is single-threaded at the OS level (a C library's threads
    included, which threading.active_count() does not see)."""
    before = count_os_threads()
    release = threading.Event()
    thread = threading.Thread(target=release.wait)
    thread.start()
    try:
        assert count_os_threads() == before + 1
    finally:
        release.set()
        thread.join()


def test_the_template_keeps_numerical_libraries_single_threaded():
    probe = "import os, sys; sys.argv = ['x']; from minesafe import kernels; os.environ.update(kernels.SINGLE_THREAD_ENVIRONMENT); import numpy; print(kernels.count_os_threads())"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "1"
    assert SINGLE_THREAD_ENVIRONMENT["OPENBLAS_NUM_THREADS"] == "1"


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
