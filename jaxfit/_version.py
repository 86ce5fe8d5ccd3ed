"""The installed jaxfit's version, in its own module so that nothing imports the package face."""

from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("jaxfit")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

__all__ = ["__version__"]
