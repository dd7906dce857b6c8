"""Tests of minesafe.storage."""

import errno
import json
import os
import re
import stat
from pathlib import Path

import pytest
import yaml

from minesafe import storage
from minesafe.exceptions import OutputBusy, OutputError
from minesafe.parsing import read_document
from minesafe.storage import atomic_write, replace_folder, write_json, write_yaml

from .conftest import bound_by_permissions


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "report.txt"
    target.write_text("旧内容", encoding="utf-8")
    with pytest.raises(RuntimeError), atomic_write(target, "w") as handle:
        handle.write("半截")
        raise RuntimeError("interrupted")
    assert target.read_text(encoding="utf-8") == "旧内容"
    assert [p.name for p in tmp_path.iterdir()] == ["report.txt"]


def test_written_yaml_reads_back_as_written(tmp_path):
    data = {"a": "0o10", "b": "1e3", "c": "yes", "d": "010", "e": "1:30", "f": "~", "g": "null", "h": ".5", "i": 7, "j": True}
    write_yaml(data, tmp_path / "x.yaml")
    assert read_document(tmp_path / "x.yaml")[0] == data
    assert yaml.safe_load((tmp_path / "x.yaml").read_text(encoding="utf-8")) == data  # YAML 1.1 readers too


@pytest.fixture
def umask_022():
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_written_files_respect_the_umask(tmp_path, umask_022):
    write_json({"a": 1}, tmp_path / "new.json")
    replace_folder(tmp_path / "report", {"report.html": b"<p>x</p>"})
    assert stat.S_IMODE((tmp_path / "new.json").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "report" / "report.html").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "report").stat().st_mode) == 0o755


def test_overwriting_keeps_the_existing_files_mode(tmp_path, umask_022):
    target = tmp_path / "summary.json"
    target.write_text("{}")
    target.chmod(0o640)
    write_json({"a": 1}, target)
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert json.loads(target.read_text()) == {"a": 1}


def test_data_is_synced_before_the_rename(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(os, "replace", lambda a, b: (events.append(("replace", Path(b).name)), real_replace(a, b))[1])
    write_json({"a": 1}, tmp_path / "x.json")
    assert events[:2] == ["fsync", ("replace", "x.json")]
    events.clear()
    replace_folder(tmp_path / "report", {"a": b"1", "b": b"2"})
    marked, swapped = events.index(("replace", storage.STAGING_MARKER)), events.index(("replace", "report"))
    assert events[marked + 1 : marked + 3] == ["fsync", "fsync"] and swapped > marked + 2  # both files, then the swap


def test_a_failure_between_writing_and_swapping_keeps_the_old_folder(tmp_path):
    folder = tmp_path / "report"
    replace_folder(folder, {"report.html": b"old", "result.json": b"{}"})

    def fail():
        raise RuntimeError("injected between writing and swapping")

    with pytest.raises(RuntimeError):
        replace_folder(folder, {"report.html": b"new"}, before_swap=fail)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == {"report.html": b"old", "result.json": b"{}"}
    assert [p.name for p in tmp_path.iterdir()] == ["report"]  # no staging folder left behind


_KILLED_SWAP = """
import os, shutil, signal, sys
from pathlib import Path
from minesafe.storage import replace_folder
module, name, at = sys.argv[2], sys.argv[3], int(sys.argv[4])
real, calls = getattr(sys.modules[module], name), []
def killing(*args, **kwargs):
    calls.append(args)
    if len(calls) == at:
        os.kill(os.getpid(), signal.SIGKILL)
    return real(*args, **kwargs)
setattr(sys.modules[module], name, killing)
replace_folder(Path(sys.argv[1]), {"report.html": b"new"})
"""


@pytest.mark.parametrize(
    ("killed_in", "kept"),
    [
        (("os", "replace", 2), b"old"),  # before the old report goes aside
        (("os", "replace", 3), b"old"),  # after it went aside, before the new one took its place
        (("shutil", "rmtree", 1), b"new"),  # after the swap, before the staging folder is removed
    ],
)
def test_a_swap_killed_half_way_is_undone(tmp_path, killed_in, kept):
    """A process killed (a real SIGKILL) at each step of a swap: the next housekeeping leaves one
    report folder, never none, and nothing beside it."""
    import subprocess
    import sys

    folder = tmp_path / "2022" / "省" / "县"
    replace_folder(folder, {"report.html": b"old"})
    argv = [sys.executable, "-c", _KILLED_SWAP, str(folder), *map(str, killed_in)]
    done = subprocess.run(argv, capture_output=True, check=False)
    assert done.returncode == -9, done.stderr
    assert [p.name for p in folder.parent.iterdir() if p.name.startswith(storage.STAGING_PREFIX)]  # left behind
    storage.finish_interrupted_swaps(tmp_path, (3,))
    assert (folder / "report.html").read_bytes() == kept
    assert [p.name for p in folder.parent.iterdir()] == ["县"]


def test_housekeeping_never_touches_what_minesafe_did_not_make(tmp_path):
    """The evaluator's own hidden folders, anywhere under --out, survive housekeeping; so do staging
    folders without a marker, at other depths, or in use by another process (its marker locked)."""
    import fcntl

    folder = tmp_path / "2022" / "省" / "县"
    replace_folder(folder, {"report.html": b"report"})
    own = [
        tmp_path / ".相册.old",
        tmp_path / ".草稿.tmp",
        folder.parent / ".县.4242.old",  # what minesafe 0.x made, or the evaluator
        folder.parent / ".县.abcd.tmp",
        folder / ".草稿.tmp",
        folder.parent / f"{storage.STAGING_PREFIX}nomarker",
        tmp_path / "2022" / f"{storage.STAGING_PREFIX}wrongdepth",
    ]
    for path in own:
        path.mkdir()
        (path / "照片.jpg").write_bytes(b"photo")
    (own[-1] / storage.STAGING_MARKER).write_text('{"folder": "x"}')
    busy = folder.parent / f"{storage.STAGING_PREFIX}busy"
    busy.mkdir()
    (busy / "old").mkdir()
    (busy / storage.STAGING_MARKER).write_text('{"folder": "乙县"}')
    with open(busy / storage.STAGING_MARKER) as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # another batch is writing this report
        storage.finish_interrupted_swaps(tmp_path, (1, 3))
    assert all((path / "照片.jpg").read_bytes() == b"photo" for path in own)
    assert (busy / "old").is_dir() and not (folder.parent / "乙县").exists()
    storage.finish_interrupted_swaps(tmp_path, (1, 3))  # the lock is gone: the swap is finished
    assert (folder.parent / "乙县").is_dir() and not busy.exists()
    assert (folder / "report.html").read_bytes() == b"report"


@pytest.mark.parametrize("error", [errno.ENOLCK, errno.EOPNOTSUPP, errno.EINVAL])
def test_a_file_system_without_locks_never_reads_as_another_batch_running(tmp_path, monkeypatch, error):
    """A network share whose ``flock`` fails (no lock daemon: ENOLCK; not supported) cannot say
    whether another batch runs there: the batch goes on as where there is no ``flock`` at all,
    never refused for ever as busy. Only "held by another process" is busy."""
    import fcntl

    def failing(fd, operation):
        raise OSError(error, os.strerror(error))

    out = tmp_path / "reports"
    out.mkdir()
    (out / storage.OUT_LOCK).write_text("4242\n", encoding="ascii")  # left by a batch killed outright
    monkeypatch.setattr(fcntl, "flock", failing)
    storage.refuse_busy_folder(out / "2023")
    with storage.lock_out_folder(out):
        pass


def test_a_lock_held_by_another_process_is_busy(tmp_path, monkeypatch):
    import fcntl

    def held(fd, operation):
        raise BlockingIOError(errno.EWOULDBLOCK, os.strerror(errno.EWOULDBLOCK))

    out = tmp_path / "reports"
    out.mkdir()
    (out / storage.OUT_LOCK).write_text("4242\n", encoding="ascii")
    monkeypatch.setattr(fcntl, "flock", held)
    with pytest.raises(OutputBusy, match="进程 4242"):
        storage.refuse_busy_folder(out / "2023")
    with pytest.raises(OutputBusy), storage.lock_out_folder(out):
        pass


@pytest.mark.skipif(os.geteuid() != 0, reason="another user's lock file can only be made by root")
def test_a_free_lock_file_left_by_another_user_is_taken_over():
    """A batch killed outright leaves its lock file, unlocked; another user's next batch into that
    folder takes the lock over (the file is made afresh, this user's own), never refused as busy."""
    import shutil
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="minesafe-lock-"))  # not under pytest's folder, which only root may enter
    try:
        base.chmod(0o777)
        out = base / "reports"
        out.mkdir(mode=0o777)
        out.chmod(0o777)
        (out / storage.OUT_LOCK).write_text("4242\n", encoding="ascii")  # root's, 0644: nobody may not write it
        (out / storage.OUT_LOCK).chmod(0o644)
        with bound_by_permissions(), storage.lock_out_folder(out):
            assert (out / storage.OUT_LOCK).stat().st_uid == os.geteuid()
            assert (out / storage.OUT_LOCK).read_text(encoding="ascii") == f"{os.getpid()}\n"
        assert not (out / storage.OUT_LOCK).exists()
    finally:
        shutil.rmtree(base)


@pytest.mark.skipif(os.geteuid() != 0, reason="another user's lock file can only be made by root")
def test_another_users_lock_file_that_cannot_be_removed_is_a_chinese_message():
    """In a folder whose sticky bit keeps another user's file from being removed, the lock cannot
    be taken over: an output error saying whose file it is and what to do, nothing written."""
    import shutil
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="minesafe-lock-"))
    try:
        base.chmod(0o777)
        out = base / "reports"
        out.mkdir()
        out.chmod(0o1777)  # as /tmp: anyone may write, only a file's owner may remove it
        (out / storage.OUT_LOCK).write_text("4242\n", encoding="ascii")
        (out / storage.OUT_LOCK).chmod(0o644)
        refused = pytest.raises(OutputError, match=re.escape(f"锁文件 {storage.OUT_LOCK} 是其他用户已中断的批量评估留下的"))
        with bound_by_permissions(), refused, storage.lock_out_folder(out):
            pass
        assert (out / storage.OUT_LOCK).read_text(encoding="ascii") == "4242\n"
    finally:
        shutil.rmtree(base)


def test_the_folders_above_an_out_are_those_it_really_lies_in(tmp_path, monkeypatch):
    """``reports/../reports2`` lies beside a running batch's ``reports``, not inside it: never
    refused for it; a link to a folder inside ``reports`` lies inside it: refused."""
    out = tmp_path / "reports"
    (out / "2022").mkdir(parents=True)
    (tmp_path / "link").symlink_to(out / "2022")
    monkeypatch.chdir(out)  # a user in the folder of the first batch, writing next to it
    with storage.lock_out_folder(out):
        storage.refuse_busy_folder(Path("../reports2"))
        storage.refuse_busy_folder(tmp_path / "reports" / ".." / "reports2")
        with pytest.raises(OutputBusy, match="之内"):
            storage.refuse_busy_folder(tmp_path / "link" / "示例省")
        with pytest.raises(OutputBusy, match="之内"):
            storage.refuse_busy_folder(Path("2022"))
