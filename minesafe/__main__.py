from minesafe.cli import run

raise SystemExit(run())
