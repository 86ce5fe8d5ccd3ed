"""Hyperparameters as frozen dataclass pytrees: fields, batches, spaces and distributions.

The bottom wing: it imports no other. What the other wings may use is named here.
"""

from .batch import column_floats, group_dicts, stack, stack_group, unstack
from .distributions import choice, integers, loguniform, uniform
from .fields import BOUND_CHECKS, ClassFields
from .hyperparams import (
    fields_of,
    hyperparams,
    is_hyperparams,
    numeric,
    numeric_fields,
    static,
    static_fields,
    static_key,
    to_dict,
    to_python,
)
from .space import Space, grid, random_space, space_from_dict, zipped

__all__ = [
    "BOUND_CHECKS",
    "ClassFields",
    "Space",
    "choice",
    "column_floats",
    "fields_of",
    "grid",
    "group_dicts",
    "hyperparams",
    "integers",
    "is_hyperparams",
    "loguniform",
    "numeric",
    "numeric_fields",
    "random_space",
    "space_from_dict",
    "stack",
    "stack_group",
    "static",
    "static_fields",
    "static_key",
    "to_dict",
    "to_python",
    "uniform",
    "unstack",
    "zipped",
]
