"""``minesafe app`` as a process: what it refuses before any server starts, who may start kernels,
and that a signal stops Voilà and every kernel and removes its temporary folder."""

import os
import signal
import socket
import subprocess
import urllib.error
import urllib.request

import psutil
import pytest

from minesafe.app import answers_with_token

from .conftest import DEMO, ROOT, minesafe_exe, start_app, stop_app


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, str]:
    """Status and text of a page; refusals are answers too."""
    try:
        with urllib.request.urlopen(url, timeout=120) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode("utf-8")


def _run_app(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([minesafe_exe(), "app", *args], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)


def test_busy_port_is_refused_in_chinese_before_anything_starts():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = _run_app(str(DEMO / "counties" / "ding.yaml"), "--port", str(port))
    assert run.returncode == 2
    assert f"端口 {port} 已被占用" in run.stderr and "--port" in run.stderr
    assert "http://" not in run.stdout  # never an address that is not served


def test_province_file_is_refused_before_any_server_starts():
    run = _run_app(str(DEMO / "province.yaml"), "--port", str(_free_port()))
    assert run.returncode == 2
    assert "省级提交文件" in run.stderr and "province.yaml" in run.stderr
    assert run.stdout == ""  # not even “starting”


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_token_cap_and_signal_stop_everything(stop, tmp_path):
    env = dict(os.environ, TMPDIR=str(tmp_path))  # the app's temporary folder lands here
    server, url = start_app(str(DEMO / "counties" / "ding.yaml"), "--port", str(_free_port()), "--max-pages", "1", env=env)
    try:
        folders = list(tmp_path.glob("minesafe-app-*"))
        assert len(folders) == 1
        anonymous, page = _get(url.split("?")[0])  # without the token: refused, no kernel
        assert anonymous == 403 and "需要完整地址" in page
        opened, page = _get(url)  # the printed address opens the page: one kernel
        assert opened == 200
        assert "<title>假设分析：示例省 示例丁县（重点县）</title>" in page and "正在打开假设分析页面" in page
        refused, page = _get(url)  # a second page at the cap of one
        assert refused == 503 and "达到上限（1 个）" in page
        port, token = int(url.split(":")[2].split("/")[0]), url.split("token=")[1]
        assert answers_with_token(port, token) and not answers_with_token(port, "wrong-token")
        family = psutil.Process(server.pid).children(recursive=True)
        kernels = [p for p in family if "ipykernel_launcher" in " ".join(p.cmdline())]
        assert len(kernels) == 1 and any("voila" in " ".join(p.cmdline()) for p in family)
        status, errors = stop_app(server, stop)
        assert status == 130
        assert "假设分析页面服务已停止" in errors and "Traceback" not in errors
        _, alive = psutil.wait_procs(family, timeout=10)
        assert not alive, [p.cmdline() for p in alive]
        assert not folders[0].exists()
    finally:
        stop_app(server)


def test_another_server_on_the_port_is_not_taken_for_the_app():
    """The start waits for this app's Voilà, known by its token, not for whatever answers on the port."""
    import http.server
    import threading

    class Anything(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # answers every request the way a kernel API would answer ours
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args):
            pass

    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), Anything) as other:
        threading.Thread(target=other.serve_forever, daemon=True).start()
        try:
            assert not answers_with_token(other.server_address[1], "a-token")
        finally:
            other.shutdown()
    assert not answers_with_token(_free_port(), "a-token")  # nothing listening


def test_pages_being_opened_count_against_the_cap(monkeypatch):
    """N page loads at once each start a kernel: those still starting count, or all N would pass."""
    import asyncio

    from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
    from tornado.web import HTTPError

    from minesafe.apps.server import PageLimitedKernelManager

    async def slow_start(self, *args, **kwargs):  # a kernel takes a while to start, and is listed after
        await asyncio.sleep(0.2)
        return "kernel"

    monkeypatch.setattr(AsyncMappingKernelManager, "start_kernel", slow_start)
    manager = PageLimitedKernelManager(max_kernels=2)

    async def open_pages(n):
        return await asyncio.gather(*(manager.start_kernel() for _ in range(n)), return_exceptions=True)

    started = asyncio.run(open_pages(3))
    assert started[:2] == ["kernel", "kernel"]
    assert isinstance(started[2], HTTPError) and started[2].status_code == 503
    assert manager.starting == 0


def test_a_page_gone_frees_its_kernel():
    """A kernel lives while its page holds a websocket: a closed page's kernel is shut down after
    the grace (a page that reconnects in time keeps it), one whose page never connected too."""
    import asyncio

    from minesafe.apps.server import PageLimitedKernelManager

    async def released(manager, kernel_id) -> bool:
        """Whether the kernel is released within a generous deadline (a loaded machine is slow, never early)."""
        for _ in range(200):
            if kernel_id not in manager:
                return True
            await asyncio.sleep(0.05)
        return False

    async def pages():
        manager = PageLimitedKernelManager(closed_page_seconds=0.5, unopened_page_seconds=3)
        kept = await manager.start_kernel(kernel_name="python3")
        unopened = await manager.start_kernel(kernel_name="python3")
        try:
            manager.notify_connect(kept)
            manager.notify_disconnect(kept)  # a websocket blip: the page reconnects within the grace
            await asyncio.sleep(0.1)
            manager.notify_connect(kept)
            await asyncio.sleep(1)  # past the closed page's grace, well before the unopened page's
            assert kept in manager and unopened in manager
            assert await released(manager, unopened)  # its page never connected
            assert kept in manager  # connected: never released
            manager.notify_disconnect(kept)  # the page is closed
            assert await released(manager, kept)
        finally:
            await manager.shutdown_all()

    asyncio.run(pages())
