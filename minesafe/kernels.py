"""Warm report kernels for the batch: each one forked from a template process that has already
imported ipykernel, matplotlib and minesafe.

Starting a Python kernel and importing matplotlib cost more than most reports' own cells. Each
batch worker therefore starts one *template* process (``python -m minesafe.kernels SOCKET``) that
imports everything the report notebooks use, then waits. When papermill starts a kernel, the
batch's kernel spec runs a tiny launcher (:data:`LAUNCHER`) which asks the template to fork: the
child becomes an ordinary ipykernel for that one report, with the launcher's working directory,
environment and standard streams.

Isolation is the point of forking rather than reusing a kernel: every report runs in a fresh
process copied from the same clean template, so nothing a report's cells do (globals, module
state, matplotlib settings) can reach the next report.

Each worker also keeps its next report's kernel started (:class:`KernelStandby`): it is forked
while the previous report exports, and used kernels are stopped in the background. Its client
(:class:`ReadyKernelClient`) knows a kernel is ready when it has answered, without jupyter_client's
0.2 s wait for silence.

Lifetimes are tied together so nothing is left behind: the forked kernel exits when its launcher
goes away (papermill kills the launcher to shut the kernel down), and the template kills every
kernel it forked and exits when its worker goes away (its standard input closes). A process killed
outright (SIGKILL) takes its children with it: each batch worker, template and kernel asks the
system to kill it when its parent ends (:func:`end_with_parent`).
"""

from __future__ import annotations

import asyncio
import importlib
import json
import math
import os
import select
import signal
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable
from queue import Empty
from typing import Any

from jupyter_client import protocol_version_info
from jupyter_client.asynchronous.client import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from traitlets import Type

#: Modules the template imports once, so forked kernels start with them loaded.
PRELOAD = (
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "ipykernel.zmqshell",
    "ipykernel.debugger",
    "IPython.core.interactiveshell",
    "IPython.core.completerlib",
    "IPython.core.debugger",
    "IPython.core.oinspect",
    "IPython.extensions",
    "IPython.utils.wildcard",
    "tornado.platform.asyncio",
    "faulthandler",
    "matplotlib.figure",
    "matplotlib.backends.backend_agg",
    "matplotlib_inline.backend_inline",
    "minesafe.report",
    "minesafe.charts",
    "minesafe.whatif",
    "minesafe.gap",
    "minesafe.stages",
    "minesafe.lists",
)
#: The environment variable naming a worker's template socket; without it the launcher starts a
#: plain kernel (``python -m ipykernel_launcher``).
SOCKET_VARIABLE = "MINESAFE_KERNEL_TEMPLATE"

#: The launcher the kernel spec runs with ``python -I -S`` (no site-packages: it starts in a few ms).
LAUNCHER = r"""
import json, os, signal, socket, sys
connection_file = sys.argv[1]
path = os.environ.get("MINESAFE_KERNEL_TEMPLATE", "")
sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    sock.connect(path)
except OSError:
    os.execv(sys.executable, [sys.executable, "-m", "ipykernel_launcher", "-f", connection_file])
message = json.dumps({"connection_file": connection_file, "cwd": os.getcwd(), "env": dict(os.environ)}).encode()
socket.send_fds(sock, [len(message).to_bytes(8, "big") + message], [0, 1, 2])
def forward(signum, frame):
    try:
        sock.send(b"I" if signum == signal.SIGINT else b"T")
    except OSError:
        pass
signal.signal(signal.SIGINT, forward)
signal.signal(signal.SIGTERM, forward)
while sock.recv(64):
    pass
"""


class ReadyKernelClient(AsyncKernelClient):
    """jupyter_client waits for 0.2 s of silence on IOPub after a kernel's first reply, and every
    report paid it. This client waits instead for the kernel's ``idle`` status that answers its own
    ``kernel_info`` request; if IOPub connected too late to see it, it asks again, as
    jupyter_client does."""

    async def wait_for_ready(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (math.inf if timeout is None else timeout)
        while True:
            request = self.kernel_info()
            if await self._answered(request, deadline):
                return
            if not await self.is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout} seconds")

    async def _answered(self, request: str, deadline: float) -> bool:
        reply = await _message_for(self.shell_channel, request, "kernel_info_reply", min(deadline, time.monotonic() + 1))
        if reply is None:
            return False
        # what jupyter_client does with the reply: speak the kernel's major protocol version
        major = int(reply["content"]["protocol_version"].split(".")[0])
        if major != protocol_version_info[0]:
            self.session.adapt_version = major
        # the idle status follows the reply at once, unless IOPub connected too late to see it:
        # then waiting longer is no use, asking again is
        return await _message_for(self.iopub_channel, request, "status", time.monotonic() + 0.05, "idle") is not None


async def _message_for(channel: Any, request: str, kind: str, until: float, state: str = "") -> dict | None:
    """The first message of ``kind`` (in ``state``) answering ``request`` before ``until``; others
    (answers to an earlier request, a kernel's start-up status) are skipped."""
    while (left := until - time.monotonic()) > 0:
        try:
            msg: dict[str, Any] = await channel.get_msg(timeout=left)
        except Empty:
            return None
        answers = msg["parent_header"].get("msg_id") == request
        if answers and msg["msg_type"] == kind and msg["content"].get("execution_state", "") == state:
            return msg
    return None


class ReportKernelManager(AsyncKernelManager):
    """The kernel manager of a batch report: jupyter_client's, with :class:`ReadyKernelClient`,
    remembering its clients (papermill leaves the channels of a kernel it did not start open)."""

    client_factory = Type(klass=ReadyKernelClient, config=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.clients: list[AsyncKernelClient] = []

    def client(self, **kwargs: Any) -> AsyncKernelClient:  # type: ignore[override]  # as AsyncKernelManager's own
        client = super().client(**kwargs)
        self.clients.append(client)
        return client


def start_report_kernel(kernel_name: str, sockets: str, cwd: str) -> ReportKernelManager:
    """Start a report kernel working in ``cwd`` (it gets ready in the background). It talks over
    Unix sockets in the private folder ``sockets``: no TCP ports on the machine, nothing to find
    them and nothing to log about unencrypted TCP."""
    path = os.path.join(sockets, f"kernel-{uuid.uuid4().hex[:12]}")
    # a Unix socket's path has at most 107 bytes: a very long temporary folder keeps to local TCP
    local = {"transport": "ipc", "ip": path} if len(os.fsencode(path)) <= 90 else {}
    manager = ReportKernelManager(kernel_name=kernel_name, **local)
    run_sync(manager.start_kernel)(cwd=cwd)
    return manager


class KernelStandby:
    """A worker's next report kernel, started while the current report exports.

    Starting a kernel (the launcher, the fork, the kernel's set-up, its first reply) and stopping
    one (jupyter_client polls every 0.1 s until it has exited) cost a few tenths of a second that
    every report waited for. The standby starts the next report's kernel as soon as a report's
    cells have run, and stops used kernels in the background. Each kernel still serves exactly
    one report, and each is forked from the same clean template: no report's state can reach
    the next one.
    """

    def __init__(self, start: Callable[[str], Any]) -> None:
        self._start = start  # cwd -> a started kernel manager
        self._next: tuple[str, Any] | None = None  # (working folder, started kernel manager)

    def take(self, cwd: str) -> Any:
        """A started kernel working in ``cwd``: the standby if it is alive there, else a new one."""
        standby, self._next = self._next, None
        if standby is not None:
            folder, manager = standby
            if folder == cwd and run_sync(manager.is_alive)():
                return manager
            self.retire(manager)
        return self._start(cwd)

    def prepare(self, cwd: str) -> None:
        """Start the next report's kernel in ``cwd`` now."""
        if self._next is None:
            self._next = (cwd, self._start(cwd))

    def retire(self, manager: Any) -> None:
        """Close a used kernel's client channels and shut it down, without waiting for its exit."""
        for client in manager.clients:
            client.stop_channels()
        threading.Thread(target=asyncio.run, args=(manager.shutdown_kernel(now=True),), daemon=True).start()


def _warm_up() -> None:
    """Do once, before forking, what every report would otherwise do first."""
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # the debugger's import-time warning
    for name in PRELOAD:
        importlib.import_module(name)
    from jupyter_client.localinterfaces import localhost

    from minesafe.charts import chinese_font_families
    from minesafe.files import list_rubrics, read_rubric

    localhost()  # finds the machine's addresses (a subprocess) once, not in every kernel
    chinese_font_families()
    for rubric in list_rubrics():
        read_rubric(rubric)
    _draw_sample_report()


def _draw_sample_report() -> None:
    """Draw the demo county's charts and its largest tables once, so every forked kernel starts
    with the Chinese font's glyphs, matplotlib's layout caches and the compiled report templates
    loaded. Only shipped demo data is touched: every kernel still forks from the same state."""
    from minesafe import charts, report
    from minesafe.evaluation import CountyResult
    from minesafe.resources import demo_folder

    sample = report.load_report(demo_folder() / "counties" / "jia.yaml")
    for part in (report.render_verdict(sample), report.render_items(sample)):
        part._repr_html_()
    county = sample.result
    if isinstance(county, CountyResult):  # it is: the demo file is a county's
        charts.plot_targets(county)
        charts.plot_section_points(county)


#: Linux's ``prctl`` option asking for a signal when the parent process ends.
_PR_SET_PDEATHSIG = 1


def _ask_parent_death_signal(signum: int) -> bool:
    """Ask the kernel to send this process ``signum`` when its parent ends (Linux only)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        return bool(ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signum, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def end_with_parent(parent: int, poll: bool = True) -> None:
    """End this process (SIGKILL: nothing more is written) when ``parent`` ends, even by SIGKILL:
    at once where Linux can be asked to (``PR_SET_PDEATHSIG``), else by a thread that checks the
    parent every second (``poll``; a process that must stay single-threaded to fork passes
    ``False`` and relies on its other tie). A parent already gone ends it now."""
    asked = _ask_parent_death_signal(signal.SIGKILL)
    if os.getppid() != parent:  # the parent ended before the request was made
        os.kill(os.getpid(), signal.SIGKILL)
    if not asked and poll:
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True, name="minesafe-parent-watch").start()


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1)
    os.kill(os.getpid(), signal.SIGKILL)


def _receive(conn: socket.socket) -> tuple[dict, list[int]]:
    data, fds, _, _ = socket.recv_fds(conn, 1 << 16, 3)
    size = int.from_bytes(data[:8], "big")
    body = data[8:]
    while len(body) < size:
        chunk = conn.recv(size - len(body))
        if not chunk:
            raise ConnectionError("launcher closed the connection")
        body += chunk
    return json.loads(body), fds


def _follow_launcher(conn: socket.socket) -> None:
    """In the kernel: interrupt on the launcher's word, and exit when the launcher is gone."""
    while True:
        try:
            data = conn.recv(1)
        except OSError:
            data = b""
        if data == b"I":
            os.kill(os.getpid(), signal.SIGINT)
        elif data != b"" and data != b"T":
            continue
        else:
            os._exit(1)


def _become_kernel(conn: socket.socket, request: dict, fds: list[int], template: int) -> None:
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the kernel's own subprocesses must be waited for
    end_with_parent(template)  # a template killed outright cannot kill its kernels itself
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.path[0] = request["cwd"]
    sys.argv = [sys.argv[0], "-f", request["connection_file"]]
    threading.Thread(target=_follow_launcher, args=(conn,), daemon=True).start()
    from ipykernel.kernelapp import IPKernelApp

    # a parent handle, as a kernel started by a Jupyter client has: no connection banner on stdout
    parent = request["env"].get("JPY_PARENT_PID") or str(os.getppid())
    # a batch kernel keeps no command history: nothing to write, no shared database to lock
    argv = ["-f", request["connection_file"], f"--IPKernelApp.parent_handle={parent}", "--HistoryManager.enabled=False"]
    IPKernelApp.launch_instance(argv)


#: Numerical libraries start thread pools on import; a process with threads other than the forking
#: one cannot fork safely (a lock held by another thread stays locked in the child). The template
#: keeps them to the calling thread.
SINGLE_THREAD_ENVIRONMENT = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def count_os_threads() -> int:
    """The threads of this process as the operating system counts them (``/proc/self/task`` on Linux:
    those a C library started too); elsewhere Python's own count."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return threading.active_count()


def serve(path: str) -> None:
    """The template process: bind, warm up, then fork a kernel for each launcher that connects."""
    os.environ.update(SINGLE_THREAD_ENVIRONMENT)  # before the warm-up imports numpy (kernels get the launcher's environment)
    # ends with its worker at once where the system can tell it; elsewhere when its stdin closes
    end_with_parent(os.getppid(), poll=False)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)  # launchers may connect while the warm-up runs; they wait in the backlog
    _warm_up()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # forked kernels are reaped automatically
    try:
        while True:
            ready, _, _ = select.select([listener, sys.stdin], [], [])
            if sys.stdin in ready and not os.read(sys.stdin.fileno(), 1024):
                break  # the worker is gone
            if listener not in ready:
                continue
            conn, _ = listener.accept()
            try:
                request, fds = _receive(conn)
            except (OSError, ValueError, ConnectionError):
                conn.close()
                continue
            if count_os_threads() != 1:  # OS threads: a library's own (OpenBLAS's) are no Python threads
                raise RuntimeError("the kernel template must stay single-threaded to fork safely")
            template = os.getpid()
            if os.fork() == 0:
                try:
                    listener.close()
                    _become_kernel(conn, request, fds, template)
                finally:
                    os._exit(0)
            conn.close()
            for fd in fds:
                os.close(fd)
    finally:
        os.killpg(0, signal.SIGKILL)  # the forked kernels share this process's group


if __name__ == "__main__":
    serve(sys.argv[1])
