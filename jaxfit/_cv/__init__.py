"""Cross-validation: folds as weight masks, and the splitters that make them.

Below the sweep (``sweep(cv=...)`` needs them); imports no other wing.
"""

from .splitters import (
    Folds,
    GroupKFold,
    KFold,
    ShuffleSplit,
    StratifiedKFold,
    TimeSeriesSplit,
    as_folds,
    folds_from_indices,
)

__all__ = [
    "Folds",
    "GroupKFold",
    "KFold",
    "ShuffleSplit",
    "StratifiedKFold",
    "TimeSeriesSplit",
    "as_folds",
    "folds_from_indices",
]
