from __future__ import annotations

import contextlib
import copy
import os
import re
import selectors
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import yaml

from minesafe.files import read_rubric
from minesafe.rubric import Rubric

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
DEMO = ROOT / "data" / "demo"
REFERENCE = ROOT / "docs" / "reference" / "矿安〔2023〕9号.txt"  # the public notice, kept in the repository


@pytest.fixture(scope="session")
def county_rubric() -> Rubric:
    return read_rubric("noncoal-county")


@pytest.fixture(scope="session")
def province_rubric() -> Rubric:
    return read_rubric("noncoal-province")


@pytest.fixture(scope="session")
def _passing_county_data() -> dict:
    return yaml.safe_load((DEMO / "counties" / "jia.yaml").read_text(encoding="utf-8"))


@pytest.fixture
def county_data(_passing_county_data) -> dict:
    """A fresh copy of a submission that passes on every count, for tests to alter."""
    return copy.deepcopy(_passing_county_data)


#: The plan text's reading of the baseline year: two years before the evaluated year.
TWO_YEARS_BEFORE = ROOT / "params" / "readings" / "two-years-before.yaml"


@pytest.fixture
def wu_in_2026(tmp_path) -> Path:
    """示例戊县 (T1 failed: its underground mines fell by 18 %) as its 2026 evaluation: under
    ``two-years-before`` it is compared with 2024, under the default with the table's 2020 (T4's
    five previous years are 2021–2025, so no 2020 is due to them)."""
    data = yaml.safe_load((DEMO / "counties" / "wu.yaml").read_text(encoding="utf-8")) | {"year": 2026}
    path = tmp_path / "wu-2026.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


#: Every process this test session starts inherits this mark in its environment, even ones that
#: outlive their parent and are adopted by init, so the session can find what it leaves behind.
SESSION_MARK = "MINESAFE_TEST_SESSION"
_LEFTOVER = re.compile(r"ipykernel|voila|jupyter|minesafe|papermill")


def _marked_processes(mark: str) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter():
        if process.pid == os.getpid():
            continue
        try:
            if process.environ().get(SESSION_MARK) == mark and process.status() != psutil.STATUS_ZOMBIE:
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


@pytest.fixture(scope="session", autouse=True)
def no_server_or_kernel_left_behind():
    """After the last test: no kernel, Voilà server or minesafe process that the suite started is
    still running (each gets a few seconds to finish exiting). Leftovers fail the session and are
    then stopped."""
    mark = os.environ[SESSION_MARK] = uuid.uuid4().hex
    yield
    processes = [p for p in _marked_processes(mark) if _LEFTOVER.search(" ".join(_cmdline(p)))]
    _, alive = psutil.wait_procs(processes, timeout=15)
    left = [f"{p.pid}: {' '.join(_cmdline(p))[:200]}" for p in alive]
    for p in alive:
        p.kill()
    assert not left, "the test suite left processes running:\n" + "\n".join(left)


def _cmdline(process: psutil.Process) -> list[str]:
    try:
        return process.cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return []


def minesafe_exe() -> str:
    """The installed console script beside this Python."""
    return str(Path(sys.executable).parent / "minesafe")


def start_app(
    *args: str, env: dict[str, str] | None = None, timeout: float = 180, exe: str | None = None, cwd: Path = ROOT
) -> tuple[subprocess.Popen, str]:
    """Start ``minesafe app`` with ``args`` (``exe``: another installation's script) and return it with
    the address it prints once serving. Fails (stopping it) if it ends or prints no address in time."""
    server = subprocess.Popen(
        [exe or minesafe_exe(), "app", *args], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    selector = selectors.DefaultSelector()
    selector.register(server.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    printed = []
    while time.monotonic() < deadline:
        if selector.select(timeout=1):
            line = server.stdout.readline()
            if not line:
                break
            printed.append(line)
            found = re.search(r"http://127\.0\.0\.1:\d+/\?token=\S+", line)
            if found:
                return server, found.group(0)
    server.terminate()
    _, errors = server.communicate(timeout=60)
    pytest.fail(f"minesafe app printed no address: {''.join(printed)}{errors}")


def stop_app(server: subprocess.Popen, stop: int = signal.SIGTERM) -> tuple[int, str]:
    """Send ``stop`` to a started app; its exit status and what it wrote on stderr."""
    if server.poll() is None:
        server.send_signal(stop)
    try:
        _, errors = server.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        server.kill()
        _, errors = server.communicate()
    return server.returncode, errors


@contextlib.contextmanager
def bound_by_permissions() -> Iterator[None]:
    """Permission bits bind the block as they bind an evaluator. Root ignores them (CI runs as
    root): as root the block runs as ``nobody``, root kept as the saved user id to return to."""
    if os.geteuid() != 0:
        yield
        return
    os.setresuid(65534, 65534, 0)
    try:
        yield
    finally:
        os.setresuid(0, 0, 0)
