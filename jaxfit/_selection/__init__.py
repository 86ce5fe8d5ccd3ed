"""Model selection: scoring, the searches, the scikit-learn estimators, paired statistics.

Depends on the wings below it; used by ``_cli``. What the command line may use is named here.
"""

from .scoring import Scorer, get_scorers
from .search import GridSearchCV, RandomizedSearchCV, one_standard_error
from .stats import Comparison, compare_to_best, summarize

__all__ = [
    "Comparison",
    "GridSearchCV",
    "RandomizedSearchCV",
    "Scorer",
    "compare_to_best",
    "get_scorers",
    "one_standard_error",
    "summarize",
]
