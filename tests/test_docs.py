"""Every documented command runs as written.

Each shell block of README.md and docs/*.md (a fenced block whose language is ``bash``) and every
command of the demo workspace's README.txt is run, in order, in one shell per document:
README.md from a folder laid out like a clone (with ``.venv``, and ``minesafe`` not yet on PATH),
every other document in a fresh ``minesafe demo`` workspace with ``minesafe`` on PATH. A command
must exit with the status the documentation gives it: 0, or the one written in a trailing comment
tag ``# [exit N] why``. Commands that serve until stopped (``# [server]``; ``[网页服务]`` in
README.txt) or need the repository itself (``# [repository]``) are not run, but every file they
name must exist. A whole block can be tagged in its info string: ```` ```bash server ````.
docs/development.md ("Documented commands") describes the convention.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from .conftest import ROOT, minesafe_exe

SHELL_LANGUAGES = {"bash", "sh", "shell"}
#: Tags that keep a command from being run; its file arguments are still checked.
NOT_RUN = {"server", "网页服务", "repository"}
TAG = re.compile(r"\s#\s*\[(?P<tag>exit (?P<status>\d+)|server|网页服务|repository)\]")
ANY_TAG = re.compile(r"\s#\s*\[(?P<tag>[^\]]*)\]")
FENCE = re.compile(r"^```(?P<info>[^\n`]*)\n(?P<body>.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
#: README.txt's commands: indented four spaces, starting with a command word.
TEXT_COMMAND = re.compile(r"^    (?P<command>(?:minesafe|jupyter|papermill|cd|python)\b.*)$", re.MULTILINE)
FILE_SUFFIXES = (".yaml", ".yml", ".json", ".xlsx", ".ipynb", ".py", ".txt")
OUTPUT_OPTIONS = {"--out", "-o", "--output"}
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
WORKSPACE = "演示"  # the folder README.md's commands make and enter
WORKSPACE_README = ROOT / "minesafe" / "templates" / "workspace" / "README.txt"


@dataclass(frozen=True)
class Command:
    """One documented command: where it is, what it is, and what the documentation promises."""

    document: str
    line: int
    block: int  # the line of its block's opening fence (README.txt: the command's own line)
    text: str
    status: int | None  # the exit status promised; None: not run (see ``tag``)
    tag: str

    def where(self) -> str:
        return f"{self.document}:{self.line} (block at line {self.block})"


def _logical_lines(body: str, first: int) -> list[tuple[int, str]]:
    """A block's commands with their line numbers: continuation lines joined, comments left out."""
    lines: list[tuple[int, str]] = []
    pending: tuple[int, str] | None = None
    for number, line in enumerate(body.splitlines(), start=first):
        if pending is not None:
            line = pending[1] + " " + line.strip()
            number = pending[0]
            pending = None
        if line.rstrip().endswith("\\"):
            pending = (number, line.rstrip()[:-1].rstrip())
            continue
        if line.strip() and not line.strip().startswith("#"):
            lines.append((number, line.strip()))
    return lines


def _command(document: str, line: int, block: int, text: str, block_tag: str = "") -> Command:
    unknown = [m.group("tag") for m in ANY_TAG.finditer(text) if not TAG.match(m.group(0))]
    assert not unknown, f"{document}:{line}: unknown tag [{unknown[0]}] (known: [exit N], [server], [repository])"
    found = TAG.search(text)
    tag = found.group("tag") if found else block_tag
    status = None if tag in NOT_RUN else int(found.group("status")) if found and found.group("status") else 0
    return Command(document, line, block, text, status, tag.split()[0] if tag else "")


def markdown_commands(path: Path, name: str = "") -> list[Command]:
    """The commands of every shell block of a Markdown document, in order."""
    text = path.read_text(encoding="utf-8")
    name = name or path.relative_to(ROOT).as_posix()
    commands = []
    for block in FENCE.finditer(text):
        words = block.group("info").split()
        if not words or words[0] not in SHELL_LANGUAGES:
            continue
        fence_line = text.count("\n", 0, block.start()) + 1
        block_tag = next((w for w in words[1:] if w in NOT_RUN), "")
        for number, line in _logical_lines(block.group("body"), fence_line + 1):
            commands.append(_command(name, number, fence_line, line, block_tag))
    return commands


def workspace_readme_commands() -> list[Command]:
    text = WORKSPACE_README.read_text(encoding="utf-8")
    return [
        _command("README.txt (minesafe demo)", line, line, m.group("command").strip())
        for m in TEXT_COMMAND.finditer(text)
        for line in [text.count("\n", 0, m.start()) + 1]
    ]


def _file_arguments(command: str) -> list[str]:
    """The files a command reads, as far as its words show: arguments with a file suffix that are
    not the value of an output option."""
    words = shlex.split(command, comments=True)
    return [
        word
        for before, word in zip(["", *words], words, strict=False)
        if word.endswith(FILE_SUFFIXES) and before not in OUTPUT_OPTIONS and not word.startswith("-")
    ]


#: The environment whose ``minesafe`` the documented commands run: this interpreter's, or, to prove
#: the commands after a plain ``pip install`` (docs/development.md), a virtual environment the wheel
#: was installed into, named by MINESAFE_DOCS_ENV.
INSTALLED = os.environ.get("MINESAFE_DOCS_ENV", "")


def _scripts() -> Path:
    return Path(INSTALLED) / "bin" if INSTALLED else Path(sys.executable).parent


def _venv_folder(base: Path) -> Path:
    """``.venv`` as a clone has it after the set-up: this interpreter's environment."""
    venv = base / ".venv"
    if INSTALLED:
        venv.symlink_to(Path(INSTALLED).resolve(), target_is_directory=True)
    elif sys.prefix != sys.base_prefix and (Path(sys.prefix) / "bin" / "activate").is_file():
        venv.symlink_to(sys.prefix, target_is_directory=True)
    else:  # not a venv (conda, say): an activate script that does what a venv's does
        (venv / "bin").mkdir(parents=True)
        (venv / "bin" / "activate").write_text(f'PATH={shlex.quote(str(Path(sys.executable).parent))}:"$PATH"\n')
        (venv / "bin" / "minesafe").symlink_to(minesafe_exe())
    return venv


DRIVER = r"""
__run() {
    eval "$2" >"$LOG/$1.out" 2>"$LOG/$1.err" </dev/null
    echo $? >"$LOG/$1.status"
}
__exists() {
    local i=$1; shift
    for f in "$@"; do [ -e "$f" ] || echo "$f" >>"$LOG/$i.missing"; done
    echo skipped >"$LOG/$i.status"
}
"""


def run_commands(commands: list[Command], start: Path, env: dict[str, str], log: Path, timeout: float) -> list[str]:
    """Run the commands in one shell from ``start``; every broken promise, described."""
    script = _write_script(commands, start, log)
    shell = subprocess.Popen(["bash", "-c", script], env=env | {"LOG": str(log)}, start_new_session=True, text=True)
    try:
        shell.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(shell.pid, signal.SIGKILL)
        shell.wait()
    return _describe_failures(commands, log, timeout)


def _write_script(commands: list[Command], start: Path, log: Path) -> str:
    """The shell script running ``commands`` from ``start``: each command's status (or for a
    command that is not run, the files it names that do not exist) written to ``log``, so that a
    shell stopped at its timeout still tells which commands finished."""
    script = [DRIVER, f"cd {shlex.quote(str(start))}"]
    for i, c in enumerate(commands):
        if c.status is None and c.tag == "repository":
            missing = [f for f in _file_arguments(c.text) if not (ROOT / f).exists()]
            if missing:
                (log / f"{i}.missing").write_text("\n".join(missing) + "\n", encoding="utf-8")
            script.append(f"echo skipped >{shlex.quote(str(log / f'{i}.status'))}")
        elif c.status is None:
            script.append(f"__exists {i} " + " ".join(map(shlex.quote, _file_arguments(c.text))))
        else:
            script.append(f"__run {i} {shlex.quote(c.text)}")
    return "\n".join(script)


def _describe_failures(commands: list[Command], log: Path, timeout: float) -> list[str]:
    """Every broken promise the script's ``log`` shows: a file named that does not exist, a status
    other than documented (with the command's last output), a command cut off by the timeout (the
    commands after it never ran)."""
    failures = []
    for i, c in enumerate(commands):
        status_file, missing = log / f"{i}.status", log / f"{i}.missing"
        if missing.exists():
            files = "、".join(missing.read_text(encoding="utf-8").split("\n")).strip("、")
            failures.append(f"{c.where()}: `{c.text}` ({c.tag}, not run) names files that do not exist: {files}")
        if c.status is None:
            continue
        if not status_file.exists():
            failures.append(f"{c.where()}: `{c.text}` did not finish within {timeout:.0f} s (the shell was stopped)")
            break
        status = int(status_file.read_text())
        if status != c.status:
            errors = (log / f"{i}.err").read_text(encoding="utf-8", errors="replace").strip().splitlines()
            output = (log / f"{i}.out").read_text(encoding="utf-8", errors="replace").strip().splitlines()
            failures.append(
                f"{c.where()}: `{c.text}` exited {status}, the documentation says {c.status}"
                + (" (if that status is intended, the document says so with `# [exit N] why`)" if c.status == 0 else "")
                + "\n    stderr: "
                + "\n    ".join(errors[-30:] or ["(empty)"])
                + "\n    stdout: "
                + "\n    ".join(output[-10:] or ["(empty)"])
            )
    return failures


def _environment(with_minesafe: bool) -> dict[str, str]:
    scripts = str(_scripts())
    path = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p and Path(p).resolve() != Path(scripts).resolve()]
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    return env | {"PATH": os.pathsep.join([scripts, *path] if with_minesafe else path), "COLUMNS": "120"}


DOCUMENT_COMMANDS = {
    **{path.relative_to(ROOT).as_posix(): markdown_commands(path) for path in DOCUMENTS},
    "README.txt (minesafe demo)": workspace_readme_commands(),
}


@pytest.mark.parametrize("document", [name for name, commands in DOCUMENT_COMMANDS.items() if commands])
def test_documented_commands_run_as_written(document, tmp_path):
    """README.md from a clone's top folder (its commands set up PATH and make the workspace), every
    other document in a fresh demo workspace."""
    commands = DOCUMENT_COMMANDS[document]
    log = tmp_path / "log"
    log.mkdir()
    if document == "README.md":
        start = tmp_path / "clone"
        start.mkdir()
        _venv_folder(start)
        env = _environment(with_minesafe=False)
    else:
        start = tmp_path / WORKSPACE
        made = subprocess.run([str(_scripts() / "minesafe"), "demo", str(start)], capture_output=True, text=True, timeout=300)
        assert made.returncode == 0, made.stderr
        env = _environment(with_minesafe=True)
    failures = run_commands(commands, start, env, log, timeout=1800)
    assert not failures, f"{len(failures)} documented command(s) in {document} do not do what it says:\n" + "\n".join(failures)


def test_readme_use_starts_from_a_clone_and_enters_the_demo_workspace():
    """The Use section puts minesafe on PATH, makes the workspace and enters it before using its files."""
    texts = [" ".join(shlex.split(c.text, comments=True)) for c in DOCUMENT_COMMANDS["README.md"] if c.status is not None]
    assert texts[:3] == ["source .venv/bin/activate", f"minesafe demo {WORKSPACE}", f"cd {WORKSPACE}"], texts[:3]


def test_the_convention_catches_a_wrong_status(tmp_path):
    """A command that exits otherwise than documented is reported with its place and its command."""
    commands = [
        Command("doc.md", 3, 2, "true", 0, ""),
        Command("doc.md", 4, 2, "sh -c 'echo why >&2; exit 2'", 0, ""),
        Command("doc.md", 5, 2, "false  # [exit 1] fails", 1, "exit"),
        Command("doc.md", 6, 2, "minesafe app missing.yaml  # [server]", None, "server"),
    ]
    failures = run_commands(commands, tmp_path, _environment(with_minesafe=True), tmp_path, timeout=60)
    assert len(failures) == 2, failures
    assert failures[0].startswith("doc.md:4 (block at line 2): `sh -c 'echo why >&2; exit 2'` exited 2, the documentation says 0")
    assert "why" in failures[0]
    assert failures[1].startswith("doc.md:6 (block at line 2): `minesafe app missing.yaml  # [server]` (server, not run)")


def test_blocks_and_tags_are_parsed_as_documented(tmp_path):
    doc = tmp_path / "x.md"
    doc.write_text(
        "text\n```bash\n# a comment\nminesafe evaluate a.yaml \\\n  --json   # [exit 2] why\n\nminesafe app b.yaml\n```\n"
        "```bash server\nminesafe app c.yaml\n```\n```yaml\nnot: run\n```\n",
        encoding="utf-8",
    )
    commands = [(c.line, c.block, c.status, c.tag) for c in markdown_commands(doc, doc.name)]
    assert commands == [(4, 2, 2, "exit"), (7, 2, 0, ""), (10, 9, None, "server")]


LINK = re.compile(r"\]\((?P<target>[^)#\s]+)(?:#[^)]*)?\)")
RELATIVE_PATH = re.compile(r"`(?P<path>\.\./[^`\s]+)`")


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_docs_point_only_inside_the_repository(path):
    """Links lead to files of the repository, and no path leads out of it (a reader has a clone)."""
    text = path.read_text(encoding="utf-8")
    outside = []
    for found in [*LINK.finditer(text), *RELATIVE_PATH.finditer(text)]:
        target = found.groupdict().get("target") or found.group("path")
        if re.match(r"[a-z]+:", target):  # https:, mailto:
            continue
        resolved = (path.parent / target).resolve()
        if not resolved.is_relative_to(ROOT) or not resolved.exists():
            outside.append(target)
    assert not outside, f"{path.relative_to(ROOT)} points outside the repository or at nothing: {outside}"
