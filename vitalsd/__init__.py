"""vitalsd: vital-signs device integration daemon."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("vitalsd")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0+unknown"
