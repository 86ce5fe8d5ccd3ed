"""The installed jaxfit's version, in its own module so that nothing imports the package face
(which exposes it as ``jaxfit.__version__``)."""

from importlib.metadata import PackageNotFoundError, version as _version

try:
    VERSION = _version("jaxfit")
except PackageNotFoundError:  # running from a source tree that is not installed
    VERSION = "0.0.0"

__all__ = ["VERSION"]
