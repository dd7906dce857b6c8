"""Every error minesafe raises on purpose.

Messages are in Chinese because evaluators read them; each says where the problem is and how to
fix the input. Validation collects all problems in a file before raising, so one run shows them all.
"""

from __future__ import annotations

import errno
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from minesafe.names import reveal_characters

#: A location inside a document: mapping keys and list indexes, outermost first.
KeyPath = tuple[str | int, ...]


class _Missing:
    def __repr__(self) -> str:
        return "（空）"


#: Stands for "no value was given" in a :class:`Problem`.
MISSING = _Missing()


class FileList(tuple[str, ...]):
    """The files a problem is about, as its value: shown whole, one per line below the problem
    (a long path is never cut, as other long values are)."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input, at one place."""

    path: KeyPath
    message: str
    value: object = MISSING
    expected: str = ""  # in Chinese words, for every reader
    where: str = ""  # a place that is not a key path, e.g. a line of a file that did not parse
    #: How a YAML/JSON writer writes what is expected (``{baseline: …, current: …}``, the keys of a
    #: mapping): shown after ``expected`` when the place is a key path, never to a workbook's reader.
    syntax: str = ""

    def describe(self, locate: Callable[[KeyPath], str]) -> str:
        """One line of Chinese: place, what is wrong, the value found and what is expected."""
        text = f"{self.where or locate(self.path)}：{self.message}"
        details = []
        if self.value is not MISSING and not isinstance(self.value, FileList):
            details.append(f"当前值：{_show(self.value)}")
        expected = self.expected
        if self.syntax and not isinstance(locate, CellLocator):
            expected = f"{expected}（{self.syntax}）" if expected else self.syntax
        if expected:  # it may name what the value is compared with: shown alike
            details.append(f"应为：{reveal_characters(expected)}")
        if details:
            text += "（" + "；".join(details) + "）"
        if isinstance(self.value, FileList):
            text += "：" + "".join(f"\n      {name}" for name in self.value)
        return text


_SHOWN_CHARACTERS = 80  # a pasted essay or a 5000-digit number is not repeated in full


def _show(value: object) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        return "（空）"
    text = value if isinstance(value, str) else str(value)
    if len(text) > _SHOWN_CHARACTERS:
        text = f"{text[:_SHOWN_CHARACTERS]}…（共 {len(text)} 个字符）"
    text = reveal_characters(text)  # a zero-width space or U+F90A (金) is seen, not guessed
    return f"“{text}”" if isinstance(value, str) else text


class CellLocator:
    """Names the place of a key path in a workbook (sheet and cell) for messages: a problem's
    :attr:`Problem.syntax`, written for YAML/JSON writers, is left out of them."""

    def __init__(self, places: Mapping[KeyPath, str]) -> None:
        self.places = places

    def __call__(self, path: KeyPath) -> str:
        for depth in range(len(path), 0, -1):  # a place, or the place of the nearest parent
            if path[:depth] in self.places:
                return self.places[path[:depth]]
        return "工作簿"


#: The 基本信息 rows that problems of several files at once (one unit's stages) are about, by key.
HEADER_LABELS = {"rubric": "评估表编号", "profile": "参数方案", "province": "省（区）", "year": "评估年度", "stage": "评估阶段"}


def locate_header(sources: Sequence[str]) -> Callable[[KeyPath], str]:
    """A locator for problems of several files at once (their stages, their unit): the row of the
    基本信息 sheet by its label when every file is a workbook, else the key with its label beside it."""
    if sources and all(str(s).lower().endswith((".xlsx", ".xlsm")) for s in sources):
        return CellLocator({(key,): f"工作表「基本信息」“{label}”一行" for key, label in HEADER_LABELS.items()})
    return lambda path: (
        f"{locate_key_path(path)}（{HEADER_LABELS[str(path[0])]}）"
        if path and path[0] in HEADER_LABELS
        else locate_key_path(path)
    )


def locate_key_path(path: KeyPath) -> str:
    """Name a place in a YAML/JSON document by its key path, e.g. ``targets.deaths.current``."""
    if not path:
        return "文件顶层"
    text = ""
    for part in path:
        name = reveal_characters(str(part))  # a unit's name as a key: 示例县<U+F90A> is not 示例县金
        text += f"[{part}]" if isinstance(part, int) else (f".{name}" if text else name)
    return f"键 {text}"


class MinesafeError(Exception):
    """Base class of every error minesafe raises deliberately."""

    def _render_traceback_(self) -> list[str]:
        # IPython shows this instead of a traceback: a notebook reader sees the Chinese message alone.
        return str(self).splitlines()


class RubricError(MinesafeError):
    """Raised when a rubric file, or a rubric after a params override, breaks the evaluation
    table's structure: totals that differ from the footnote, duplicate ids, malformed rows.

    Fix the rubric file or the params override named in the message.
    """

    def __init__(self, source: str, problems: Sequence[str]):
        self.source = source
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"评估表文件 {source} 有 {len(self.problems)} 处问题，请按提示修改：\n{lines}")


class InputError(MinesafeError):
    """Raised when a submission, params file or workbook cannot be evaluated as given.

    Carries every problem found in the file, each with its place (YAML key path or Excel sheet and
    cell), the bad value and what is expected. Nothing is written when it is raised.
    """

    def __init__(
        self,
        source: str,
        problems: Sequence[Problem],
        locate: Callable[[KeyPath], str] = locate_key_path,
    ):
        self.source = source
        self.problems = list(problems)
        self.lines = [p.describe(locate) for p in self.problems]
        listing = "\n".join(f"  - {line}" for line in self.lines)
        super().__init__(f"文件 {source} 有 {len(self.problems)} 处问题，请修改后重新运行：\n{listing}")


class ProblemCollector:
    """Gathers problems while a document is validated, so all of them are reported at once."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, path: KeyPath, message: str, value: object = MISSING, expected: str = "", syntax: str = "") -> None:
        self.problems.append(Problem(tuple(path), message, value, expected, syntax=syntax))

    def raise_if_any(self, source: str, locate: Callable[[KeyPath], str] = locate_key_path) -> None:
        if self.problems:
            raise InputError(source, self.problems, locate)


class InputErrors(MinesafeError):
    """Raised when several files of one evaluation have problems (a province file and its county
    files): every file's problems are reported together. Fix each file listed."""

    def __init__(self, errors: Sequence[InputError]):
        self.errors = list(errors)
        super().__init__("\n".join(str(e) for e in self.errors))


class OutputError(MinesafeError):
    """Raised when an output file cannot be written where the command line asks: its folder does
    not exist or cannot be written, a folder has the file's name, or a file stands where a folder
    should be. Nothing was written; exit status 1 (not the input's fault).

    Choose another output path (``--out``), or create the folder first.
    """

    def __init__(self, path: str, reason: str):
        self.path = path
        super().__init__(f"无法写出 {path}：{reason}。请换一个输出位置（--out）后重新运行。")


class OutputBusy(OutputError):
    """Raised when another ``minesafe batch`` is writing into the output folder a batch or a report
    would write into (:func:`minesafe.storage.lock_out_folder`): two at once could lose a unit's
    history version or mix their summaries. Raised before anything is written; exit status 1 (the
    input is right, the output cannot be written now).

    Wait for the other batch to end, then run the same command again.
    """

    def __init__(self, path: str, busy: str, pid: str = ""):
        self.path = path
        holder = f"另一批量评估（进程 {pid}）" if pid else "另一批量评估"
        where = f"正在被{holder}写入" if busy == path else f"位于{holder}正在写入的文件夹 {busy} 之内"
        MinesafeError.__init__(
            self,
            f"输出文件夹 {path} {where}，本次运行未写入任何文件。"
            "请等待另一批量评估结束后再运行（同一输出文件夹同一时间只能运行一个批量评估）。",
        )


class FontError(MinesafeError):
    """Raised when no font that can draw Chinese is available for charts: the bundled Noto Sans SC
    is missing from the installation and no usual system CJK font is installed.

    Reinstall minesafe (it ships the font), or install a CJK font, e.g. ``apt install fonts-noto-cjk``
    on Debian/Ubuntu; on Windows 微软雅黑 or 黑体 are found automatically.
    """


class ParameterError(MinesafeError):
    """Raised when a report notebook is run with a parameter it does not declare (e.g. papermill
    ``-p submision …``), so a typo never silently yields the report of the notebook's demo default."""


class OptionError(MinesafeError):
    """Raised when a command-line option is well-formed but cannot be used as given, e.g. the
    port asked of ``minesafe app`` is taken. Nothing has started or been written; exit status 2."""

    def __init__(self, option: str, message: str):
        self.option = option
        super().__init__(f"参数 {option}：{message}")


class BatchInterrupted(MinesafeError):
    """Raised by :func:`minesafe.batch.run_batch` when SIGINT (Ctrl-C) or SIGTERM stopped a batch:
    the workers and kernels were stopped at once, no report was written after the signal, and the
    summary (with the unfinished units marked 中断) was written before it was raised.

    Run the same batch again to finish it: the units already done are reused.
    """

    def __init__(self, signum: int):
        self.signum = signum
        super().__init__("批量评估被中断：已完成的报告保留，未完成的单位在汇总表中记为“中断”。重新运行同一命令即可继续完成。")


class OfficeError(MinesafeError):
    """Raised when a PDF cannot be made from a Word document: LibreOffice (``soffice``) is not
    installed, fails, runs too long or writes no file. The .docx files are already written.

    Install LibreOffice's Writer (Debian/Ubuntu: ``apt install libreoffice-writer-nogui
    fonts-noto-cjk``), or open the .docx in WPS or Word and save it as PDF there.
    """


#: Why a file or folder could not be written or read, by ``errno``, in the words of a message.
_OS_REASONS = {
    errno.ENOSPC: "磁盘已满",
    errno.EDQUOT: "磁盘配额已用完",
    errno.EACCES: "没有权限",
    errno.EPERM: "没有权限",
    errno.EROFS: "文件系统只读",
    errno.EISDIR: "这是一个文件夹",
    errno.ENOTDIR: "路径中的上级不是文件夹",
    errno.ENOENT: "文件夹不存在",
    errno.EEXIST: "已存在同名文件",
    errno.ENAMETOOLONG: "名称过长，文件系统不接受",
    errno.EIO: "输入输出错误",
}


def describe_os_error(exc: OSError) -> str:
    """An operating system error as one Chinese line: the file (when known) and the reason."""
    reason = _OS_REASONS.get(exc.errno or 0, exc.strerror or type(exc).__name__)
    where = "、".join(str(f) for f in (exc.filename, exc.filename2) if f is not None)
    return f"{where}：{reason}" if where else reason
