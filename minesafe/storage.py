"""Writing outputs atomically: fsync'ed files that respect the umask, and report folders swapped in
whole through a locked staging folder, so a crash or kill never leaves a half-written report."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from minesafe.exceptions import InputError, OutputBusy, OutputError
from minesafe.names import SURROGATES, escape_undecodable
from minesafe.parsing import check_name_length, dump_yaml

if TYPE_CHECKING:
    from openpyxl import Workbook


def read_umask() -> int:
    """The process's umask, read without changing it (Linux reports it in /proc; elsewhere it is
    set and restored at once)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_folder(folder: Path) -> None:
    """Make a rename inside ``folder`` durable (a crash after the rename keeps the new name)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot sync a folder; the data itself was synced
    finally:
        os.close(fd)


def check_output_file(path: Path) -> None:
    """Refuse, before any work, an output file that could not be written: its folder is missing,
    is a file or cannot be written, or a folder has its name (:class:`OutputError`); a name longer
    than the file system accepts is the command line's fault (:class:`InputError`)."""
    too_long = check_name_length(path)
    if too_long is not None:
        raise InputError(str(path), [too_long])
    folder = path.parent
    if os.path.isdir(path):
        raise OutputError(str(path), "这是一个已存在的文件夹，不是文件")
    missing = next((p for p in (folder, *folder.parents) if not os.path.lexists(p)), None)
    existing = next((p for p in (folder, *folder.parents) if os.path.lexists(p)), Path("."))
    if not os.path.isdir(existing):
        raise OutputError(str(path), f"上级路径 {existing} 是一个文件，不是文件夹")
    if missing is not None:
        raise OutputError(str(path), f"文件夹 {folder} 不存在")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(str(path), f"没有写入文件夹 {folder} 的权限")


@contextmanager
def atomic_write(path: Path, mode: str = "wb") -> Iterator[Any]:
    """Write to a temporary file beside ``path`` and rename it into place only on success, so an
    interrupted write never leaves a half-written file nor destroys the previous one.

    The data is fsync'ed before the rename; the file gets the mode an ordinary write would give it
    (``0666`` less the umask), or keeps the mode of the file it replaces.
    """
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        file_mode = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        file_mode = 0o666 & ~read_umask()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, file_mode)  # mkstemp makes the file private
        with os.fdopen(fd, mode) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


def escape_json_text(text: str) -> str:
    """JSON text (``ensure_ascii=False``) that is always valid UTF-8: a file name's bytes that are
    not UTF-8 (lone surrogates, which can stand only inside a JSON string) become the text ``\\xNN``
    (:func:`minesafe.names.escape_undecodable`), written as JSON writes a backslash."""
    import json

    return SURROGATES.sub(lambda match: json.dumps(escape_undecodable(match.group()))[1:-1], text)


def dump_json(data: Any, indent: int | None = None) -> str:
    """JSON text with Chinese kept readable, always valid UTF-8 (:func:`escape_json_text`)."""
    import json

    return escape_json_text(json.dumps(data, ensure_ascii=False, indent=indent))


def write_json(data: Any, path: Path, exact: bool = False) -> None:
    """Write JSON (:func:`dump_json`, indented) atomically. ``exact``: a file only minesafe reads
    back (the batch's cache), all ASCII, so that a file name that is not UTF-8 reads back as the
    same name (a ``\\udcXX`` escape), not as its shown form."""
    import json

    text = json.dumps(data, indent=2) if exact else dump_json(data, indent=2)
    with atomic_write(path) as handle:
        handle.write((text + "\n").encode("utf-8"))


def write_yaml(data: Any, path: Path) -> None:
    """Write YAML (UTF-8) atomically."""
    with atomic_write(path) as handle:
        handle.write(dump_yaml(data).encode("utf-8"))


def _write_synced(path: Path, content: bytes, file_mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, file_mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())


#: The hidden folder beside a report folder where its new files are written before the swap:
#: a name no evaluator would choose, with :data:`STAGING_MARKER` inside. Housekeeping
#: (:func:`finish_interrupted_swaps`) touches nothing else.
STAGING_PREFIX = ".minesafe-staging."
#: The marker file inside a staging folder: which report folder it is for. The process writing it
#: holds a lock on it (``flock``) until the swap is done, so another batch never takes it for a
#: leftover; the lock goes with the process, however it ends.
STAGING_MARKER = "minesafe-staging.json"
#: Inside a staging folder: the new files, and the report folder they replace once set aside.
_NEW, _OLD = "new", "old"


def _lock(fd: int, wait: bool) -> bool | None:
    """Lock an open file for this process (``flock``: the kernel releases it when the process ends,
    however it ends, a SIGKILL too): ``True`` once locked, ``False`` when another process holds it,
    ``None`` where there is no ``flock`` (not POSIX) or it does not work (a network share without
    a lock daemon: ENOLCK, or not supported): a staging marker then counts as held (leftovers are
    kept) and an output folder as free, never as another batch's."""
    try:
        import fcntl
    except ImportError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:  # EWOULDBLOCK: another process holds it
        return False
    except OSError:
        return None
    return True


#: The file inside a batch's output folder (``--out``) that the batch holds locked while it writes
#: there, with its process id in it: a second batch into the same folder is refused at once
#: (:func:`lock_out_folder`). The file is removed when the batch ends; a batch killed outright
#: leaves it, unlocked (the kernel releases the lock), and the next batch takes it over.
OUT_LOCK = ".minesafe-batch.lock"


def _take_lock(path: Path) -> int | None:
    """Open and lock ``path`` (made if missing): its descriptor, or ``None`` when another process
    holds it. A file removed by its holder while this process waited for it is not the lock any
    more (the holder removes it while still holding it): the file now under the name is taken.
    A free lock file this user cannot write (left by another user's batch killed outright) is
    removed while held and made afresh; a folder that forbids removing it raises PermissionError."""
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o666 & ~read_umask())
        except PermissionError:  # another user's file: flock needs no write access to tell whether it is held
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
            stale = True
        else:
            stale = False
        if _lock(fd, wait=False) is False:
            os.close(fd)
            return None
        try:
            current = os.stat(path, follow_symlinks=False)
        except FileNotFoundError:
            current = None
        held = os.fstat(fd)
        same = current is not None and (current.st_dev, current.st_ino) == (held.st_dev, held.st_ino)
        if same and not stale:
            return fd
        try:
            if same:  # held by this process now, so no batch uses it: make a file of this user's own
                path.unlink()
        finally:
            os.close(fd)


def _lock_holder(folder: Path) -> str:
    """The process id the holder of ``folder``'s lock wrote into it, or ``""``."""
    try:
        text = (folder / OUT_LOCK).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return ""
    return text if text.isdigit() else ""


def refuse_busy_folder(folder: Path) -> None:
    """Refuse (:class:`OutputBusy`), before anything is written, an output folder that a running
    batch writes into, or that lies inside such a batch's output folder (its lock, :data:`OUT_LOCK`,
    held by another process). Nothing is made; a lock found free is released at once."""
    # every folder it really lies in: not only those a relative path names, not a folder that
    # ``..`` leaves (reports/../reports2 is beside reports), and those a link leads into
    whole = folder.resolve()
    for candidate in (whole, *whole.parents):
        try:
            fd = os.open(candidate / OUT_LOCK, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:  # no lock file: no batch writes there
            continue
        try:
            busy = _lock(fd, wait=False) is False
        finally:
            os.close(fd)
        if busy:
            raise OutputBusy(str(folder), str(folder if candidate == whole else candidate), _lock_holder(candidate))


@contextmanager
def lock_out_folder(folder: Path) -> Iterator[None]:
    """Hold ``folder``'s batch lock (:data:`OUT_LOCK`) for the block, making the folder if missing:
    :class:`OutputBusy` at once, with nothing else touched, when another process holds it. One
    batch per output folder at a time: two would race on its history versions, cache and summary."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / OUT_LOCK
    try:
        fd = _take_lock(path)
    except PermissionError as exc:  # another user's free lock file in a folder that forbids removing it (sticky)
        raise OutputError(
            str(folder), f"其中的锁文件 {OUT_LOCK} 是其他用户已中断的批量评估留下的，本用户无权删除，请该用户或管理员删除此文件"
        ) from exc
    if fd is None:
        raise OutputBusy(str(folder), str(folder), _lock_holder(folder))
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        yield
    finally:
        path.unlink(missing_ok=True)  # still held: a process that opened it meanwhile takes a new one
        os.close(fd)


def replace_folder(folder: Path, files: Mapping[str, bytes], before_swap: Callable[[], None] | None = None) -> None:
    """Make ``folder`` hold exactly ``files``, all or nothing.

    The files are written (and fsync'ed) into a staging folder beside it first (see
    :data:`STAGING_PREFIX`); only when all are complete does the old folder go aside *into* the
    staging folder and the new one take its place, so a failed or interrupted run never leaves a
    half-written report and never destroys the previous good one (a process killed between the two
    renames leaves the old report in the staging folder, and :func:`finish_interrupted_swaps`
    puts it back). ``before_swap`` is called between writing and swapping (the batch checks there
    that it was not interrupted).
    """
    import json
    import shutil
    import tempfile

    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=folder.parent))
    new, old = staging / _NEW, staging / _OLD
    umask = read_umask()
    # the marker appears under its name only once locked and written: housekeeping never sees it half made
    marker = os.open(staging / f".{STAGING_MARKER}", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        _lock(marker, wait=True)
        os.write(marker, json.dumps({"folder": folder.name, "pid": os.getpid()}, ensure_ascii=False).encode("utf-8"))
        os.fsync(marker)
        os.replace(staging / f".{STAGING_MARKER}", staging / STAGING_MARKER)
        new.mkdir(0o777 & ~umask)
        new.chmod(0o777 & ~umask)  # a report folder gets the mode an ordinary mkdir gives
        for name, content in files.items():
            if "/" in name:  # a file in a subfolder (a unit's kept versions)
                (new / name).parent.mkdir(0o777 & ~umask, parents=True, exist_ok=True)
            _write_synced(new / name, content, 0o666 & ~umask)
        _fsync_folder(new)
        _fsync_folder(staging)
        if before_swap is not None:
            before_swap()
        if folder.exists():
            os.replace(folder, old)
        os.replace(new, folder)
        _fsync_folder(folder.parent)
        shutil.rmtree(staging)
    except BaseException:
        if old.exists() and not folder.exists():
            os.replace(old, folder)
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        os.close(marker)  # releases the lock, after the staging folder is gone


def finish_interrupted_swaps(root: Path, depths: Iterable[int]) -> None:
    """Finish what a killed :func:`replace_folder` left in ``root``'s report folders ``depths``
    levels down (1: ``root/x``): a report folder set aside whose place is empty goes back; a staging
    folder then goes. Only staging folders (:data:`STAGING_PREFIX`) holding a marker that names a
    report folder are touched, and only when no running process holds the marker's lock: an
    evaluator's own hidden folders (``.相册.old``, ``.草稿.tmp``) and another batch's work in progress
    are left alone."""
    for depth in depths:
        for staging in sorted(root.glob("*/" * (depth - 1) + STAGING_PREFIX + "*")):
            _finish_swap(staging)


def _finish_swap(staging: Path) -> None:
    import json
    import shutil

    if staging.is_symlink() or not staging.is_dir():
        return
    try:
        marker = os.open(staging / STAGING_MARKER, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:  # no marker: not a folder minesafe made
        return
    try:
        if not _lock(marker, wait=False):  # a running batch is writing it
            return
        try:
            name = json.loads(os.read(marker, 4096).decode("utf-8"))["folder"]
        except (ValueError, KeyError, TypeError):
            return
        if not isinstance(name, str) or name in ("", ".", "..") or "/" in name or os.sep in name:
            return
        old, original = staging / _OLD, staging.parent / name
        if os.path.lexists(old) and not os.path.lexists(original):
            if old.is_symlink() or not old.is_dir():
                return  # not what replace_folder sets aside: keep it
            os.replace(old, original)
        shutil.rmtree(staging, ignore_errors=True)
    finally:
        os.close(marker)


def write_workbook(workbook: Workbook, path: Path) -> None:
    """Save an openpyxl workbook atomically."""
    with atomic_write(path) as handle:
        workbook.save(handle)
