"""Model selection: scoring, the searches, the scikit-learn estimators, paired statistics.

Depends on the wings below it; used by ``_cli``. What the command line may use is named here.
The searches (``search.py``) and the estimators (``estimators.py``) subclass scikit-learn's
base classes, an optional extra, so nothing here imports them: ``jaxfit/__init__.py`` loads
them on first use.
"""

from .scoring import Scorer, get_scorers
from .stats import Comparison, compare_to_best, one_standard_error, summarize

__all__ = [
    "Comparison",
    "Scorer",
    "compare_to_best",
    "get_scorers",
    "one_standard_error",
    "summarize",
]
