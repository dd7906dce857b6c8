"""Write constraints.txt: the exact versions of this environment's packages (``pip freeze``), which CI
installs (.ci/run sets PIP_CONSTRAINT). Run it with the environment the whole suite has just passed in."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HEADER = """\
# The versions CI installs (PIP_CONSTRAINT in .ci/run): `pip freeze` of the environment the suite passed in.
# Regenerate after testing newer releases: see docs/development.md (Dependencies).
"""


def main() -> None:
    frozen = subprocess.run(
        [sys.executable, "-m", "pip", "freeze", "--exclude-editable"], capture_output=True, text=True, check=True
    ).stdout
    pins = [line for line in frozen.splitlines() if "==" in line]  # no local paths or URLs
    target = Path(__file__).resolve().parent.parent / "constraints.txt"
    target.write_text(HEADER + "\n".join(pins) + "\n", encoding="utf-8")
    print(f"{len(pins)} versions written to {target}")


if __name__ == "__main__":
    main()
