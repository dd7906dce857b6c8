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
