"""``minesafe app``: the what-if panel as a code-free page, served by Voilà on 127.0.0.1 only.

Before any server starts, the submission is checked (bad input, or a province file, gets the usual
Chinese message and exit status 2) and so is the port (busy: refused in Chinese, exit status 2).
Then a parameterized copy of the package's ``apps/whatif_app.ipynb`` is served with the
``minesafe_app`` template, which loads nothing from the internet, from one temporary folder that
holds everything the server writes.

Who may start kernels (docs/whatif.md): the page needs a secret token, printed in its address and
handed to Voilà through the environment (not the command line, which other local users can read);
at most ``max_pages`` kernels run at once, a further page load is refused with a Chinese page; a
closed or reloaded page frees its kernel within seconds; idle kernels are culled.

Ctrl-C and SIGTERM stop Voilà (which shuts its kernels down), then any kernel still alive is
killed and the temporary folder removed; the command then exits with the interrupted status.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path
from types import FrameType
from typing import NoReturn

import psutil

from minesafe.evaluation import CountyResult
from minesafe.exceptions import InputError, OptionError, Problem
from minesafe.resources import bundled_font_path
from minesafe.results import evaluate
from minesafe.whatif import app_title

APP_NOTEBOOK = "whatif_app.ipynb"
#: The longest Voilà may take to answer on its port before the start counts as failed.
START_SECONDS = 120
#: How long Voilà gets to shut its kernels down after SIGTERM before what is left is killed.
STOP_SECONDS = 15


def app_notebook_path() -> Path:
    """The app notebook shipped in the package: narrative, parameters and one call."""
    return Path(str(resources.files("minesafe") / "apps" / APP_NOTEBOOK))


def check_app_submission(submission: Path, params_file: Path | None) -> CountyResult:
    """Evaluate the submission the app will serve: a county or enterprise file, with no problems."""
    result = evaluate(submission, params_file)  # raises InputError with every problem of the file
    if not isinstance(result, CountyResult):
        raise InputError(
            str(submission),
            [
                Problem(
                    ("rubric",),
                    "假设分析页面只接受县级或企业的提交文件，这是省级提交文件",
                    result.rubric.id,
                    "县级或企业提交文件（rubric 为 noncoal-county、coal-county 或 coal-enterprise）；省内各县请分别打开",
                )
            ],
        )
    return result


def prepare_app(submission: Path, params_file: Path | None, folder: Path) -> Path:
    """Write the app notebook with the submission filled in; checks the submission first."""
    import nbformat
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    result = check_app_submission(submission, params_file)
    notebook = load_notebook_node(str(app_notebook_path()))
    notebook.metadata["title"] = app_title(result)  # the browser tab's title
    parameters = {
        "submission": str(submission.resolve()),
        "params_file": str(params_file.resolve()) if params_file else "",
        "working_folder": str(Path.cwd()),  # a demo file's scenarios are written here, not into the package
    }
    notebook = parameterize_notebook(notebook, parameters)
    path = folder / APP_NOTEBOOK
    nbformat.write(notebook, path)
    return path


def check_port(port: int) -> None:
    """Refuse a port this machine cannot listen on (another server has it, or no permission),
    before anything starts: Voilà would otherwise move to another port or fail in English."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server will
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            code = exc.errno or 0
            reason = {errno.EADDRINUSE: "已被占用", errno.EACCES: "无权使用（1024 以下的端口需要管理员权限）"}.get(
                code, f"无法使用（{errno.errorcode.get(code, code)}）"
            )
            raise OptionError(
                "--port", f"端口 {port} {reason}，页面服务未启动；请换一个空闲的端口，例如 --port {port + 1}"
            ) from None


def voila_command(notebook: Path, port: int, idle_seconds: int, max_pages: int, folder: Path) -> list[str]:
    return [
        sys.executable, "-m", "voila", str(notebook),
        "--no-browser",
        f"--port={port}",
        "--Voila.port_retries=0",  # never another port than the one printed
        "--Voila.ip=127.0.0.1",
        "--Voila.auto_token=True",  # the token itself comes through the environment
        "--Voila.identity_provider_class=minesafe.apps.server.TokenOnlyIdentityProvider",
        f"--Voila.connection_dir_root={folder}",
        "--template=minesafe_app",
        "--theme=light",
        "--VoilaConfiguration.show_tracebacks=False",
        "--VoilaConfiguration.multi_kernel_manager_class=minesafe.apps.server.PageLimitedKernelManager",
        f"--PageLimitedKernelManager.max_kernels={max_pages}",
        f"--PageLimitedKernelManager.cull_idle_timeout={idle_seconds}",
        "--PageLimitedKernelManager.cull_connected=True",  # an open page left idle is culled too
        "--PageLimitedKernelManager.cull_interval=60",
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


def voila_environment(data: Path, token: str) -> dict[str, str]:
    """The environment with the template's data folder first on Jupyter's data path, and the
    page's token (in the environment, which only this user can read)."""
    env = dict(os.environ)
    env["JUPYTER_PATH"] = os.pathsep.join(p for p in (str(data), env.get("JUPYTER_PATH", "")) if p)
    env["JUPYTER_TOKEN"] = token
    env.pop("JUPYTER_TOKEN_FILE", None)
    return env


def _raise_interrupt(signum: int, frame: FrameType | None) -> NoReturn:
    raise KeyboardInterrupt


@contextlib.contextmanager
def _signals(handler: Callable[[int, FrameType | None], object] | signal.Handlers) -> Iterator[None]:
    """SIGINT and SIGTERM handled by ``handler`` inside the block, restored after it."""
    saved = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, previous in saved.items():
            signal.signal(s, previous)


def stop_server(server: subprocess.Popen) -> None:
    """Stop Voilà and every process it started; a second Ctrl-C cannot cut this short.

    Kernels run in sessions of their own, so they are found as Voilà's descendants before it is
    asked to stop; whatever of them outlives its shutdown is killed."""
    with _signals(signal.SIG_IGN):
        if server.poll() is not None:
            return  # its pid may belong to another process by now: nothing to look up by it
        family = psutil.Process(server.pid).children(recursive=True)  # not reaped yet: still ours
        server.terminate()  # Voilà shuts its kernels down on SIGTERM
        try:
            server.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        alive = [p for p in family if p.is_running()]
        for p in alive:
            with contextlib.suppress(psutil.NoSuchProcess):
                p.terminate()
        _, alive = psutil.wait_procs(alive, timeout=5)
        for p in alive:
            with contextlib.suppress(psutil.NoSuchProcess):
                p.kill()
        psutil.wait_procs(alive, timeout=5)


def _wait_until_listening(server: subprocess.Popen, port: int, token: str) -> bool:
    """True once this app's Voilà answers on the port (:func:`answers_with_token`) while it runs;
    false if Voilà ended first or did not answer in time."""
    deadline = time.monotonic() + START_SECONDS
    while server.poll() is None and time.monotonic() < deadline:
        if answers_with_token(port, token):
            return server.poll() is None
        time.sleep(0.2)
    return False


def answers_with_token(port: int, token: str) -> bool:
    """Whether the server on ``port`` is the one holding ``token``, not any process that took the
    port: its kernel API refuses another token (403) and, given this one, says the kernel asked for
    does not exist (404, after the token was accepted). Nothing is started by asking."""
    import urllib.error
    import urllib.request
    import uuid

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # 127.0.0.1 directly, whatever the proxy settings
    probe = f"http://127.0.0.1:{port}/api/kernels/{uuid.uuid4()}?token="

    def status(given: str) -> int | None:
        try:
            with opener.open(probe + given, timeout=5) as answer:
                return int(answer.status)
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError:  # nothing listening yet, or the connection broke
            return None

    return status(token) == 404 and status(secrets.token_urlsafe(24)) == 403


def _log_tail(log: Path, lines: int = 15) -> str:
    text = log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
    return "\n".join(f"    {line}" for line in text)


def serve_whatif_app(submission: Path, params_file: Path | None, port: int, idle_seconds: int, max_pages: int) -> int:
    """Serve until Ctrl-C or SIGTERM (then KeyboardInterrupt is raised, after cleaning up).
    Returns 1 when the server could not start or ended by itself."""
    try:
        return _serve(submission, params_file, port, idle_seconds, max_pages)
    except KeyboardInterrupt:
        print("假设分析页面服务已停止，临时文件已删除。", file=sys.stderr)
        raise


def _serve(submission: Path, params_file: Path | None, port: int, idle_seconds: int, max_pages: int) -> int:
    with _signals(_raise_interrupt), tempfile.TemporaryDirectory(prefix="minesafe-app-") as name:
        folder = Path(name)
        check_port(port)
        notebook = prepare_app(submission, params_file, folder)
        data = prepare_template(folder)
        token = secrets.token_urlsafe(24)
        log = folder / "voila.log"
        with log.open("wb") as output:
            server = subprocess.Popen(
                voila_command(notebook, port, idle_seconds, max_pages, folder),
                env=voila_environment(data, token),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches this process only, which stops Voilà in order
            )
            try:
                print("正在启动假设分析页面服务……", flush=True)
                if not _wait_until_listening(server, port, token):
                    print(f"假设分析页面服务未能启动（端口 {port}）。服务日志最后几行：\n{_log_tail(log)}", file=sys.stderr)
                    return 1
                print(f"假设分析页面：http://127.0.0.1:{port}/?token={token}", flush=True)
                print("请用浏览器打开上面的地址（只在本机可用）；按 Ctrl-C 结束。", flush=True)
                status = server.wait()
                print(f"假设分析页面服务意外退出（状态 {status}）。服务日志最后几行：\n{_log_tail(log)}", file=sys.stderr)
                return 1
            finally:
                stop_server(server)
