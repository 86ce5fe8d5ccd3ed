"""jaxfit: parameters are learned, hyperparameters are declared, and many train at once."""

from importlib.metadata import PackageNotFoundError, version as _version

from ._config import Hyperparams as Hyperparams
from ._hyperparams import (
    hyperparams as hyperparams,
    is_hyperparams as is_hyperparams,
    numeric as numeric,
    numeric_fields as numeric_fields,
    stack as stack,
    static as static,
    static_fields as static_fields,
    static_key as static_key,
    to_dict as to_dict,
    unstack as unstack,
)

try:
    __version__ = _version("jaxfit")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

__all__ = [
    "Hyperparams",
    "__version__",
    "hyperparams",
    "is_hyperparams",
    "numeric",
    "numeric_fields",
    "stack",
    "static",
    "static_fields",
    "static_key",
    "to_dict",
    "unstack",
]
