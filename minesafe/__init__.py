"""minesafe: executable, auditable evaluations of China's mine-safety supervision rules."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("minesafe")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
