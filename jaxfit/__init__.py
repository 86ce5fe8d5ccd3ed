"""jaxfit: parameters are learned, hyperparameters are declared, and many train at once."""

from typing import TYPE_CHECKING

from ._cv.splitters import (
    Folds as Folds,
    GroupKFold as GroupKFold,
    KFold as KFold,
    ShuffleSplit as ShuffleSplit,
    StratifiedKFold as StratifiedKFold,
    TimeSeriesSplit as TimeSeriesSplit,
    as_folds as as_folds,
    folds_from_indices as folds_from_indices,
)
from ._hp.batch import stack as stack, unstack as unstack
from ._hp.distributions import (
    choice as choice,
    integers as integers,
    loguniform as loguniform,
    uniform as uniform,
)
from ._hp.hyperparams import (
    hyperparams as hyperparams,
    is_hyperparams as is_hyperparams,
    numeric as numeric,
    numeric_fields as numeric_fields,
    static as static,
    static_fields as static_fields,
    static_key as static_key,
    to_dict as to_dict,
)
from ._hp.space import (
    Space as Space,
    grid as grid,
    random_space as random_space,
    space_from_dict as space_from_dict,
    zipped as zipped,
)
from ._selection.stats import (
    Comparison as Comparison,
    compare_to_best as compare_to_best,
    one_standard_error as one_standard_error,
    summarize as summarize,
)
from ._sweeping.devices import use_cpu_devices as use_cpu_devices
from ._sweeping.plan import PlanGroup as PlanGroup, SweepPlan as SweepPlan, sweep_plan as sweep_plan
from ._sweeping.result import (
    GroupInfo as GroupInfo,
    SweepDiverged as SweepDiverged,
    SweepResult as SweepResult,
)
from ._sweeping.sweep import sweep as sweep
from ._training.adapters import (
    from_equinox as from_equinox,
    from_linen as from_linen,
    from_nnx as from_nnx,
)
from ._training.data import Dataset as Dataset, as_dataset as as_dataset
from ._training.fit import (
    evaluate as evaluate,
    fit as fit,
    predict as predict,
)
from ._training.losses import (
    Metric as Metric,
    accuracy as accuracy,
    binary_cross_entropy as binary_cross_entropy,
    check_metric_output as check_metric_output,
    check_targets as check_targets,
    get_metric as get_metric,
    huber as huber,
    huber_loss as huber_loss,
    mae as mae,
    mse as mse,
    r2 as r2,
    softmax_cross_entropy as softmax_cross_entropy,
)
from ._training.models import (
    ACTIVATIONS as ACTIVATIONS,
    MODELS as MODELS,
    Model as Model,
    Variables as Variables,
    apply_model as apply_model,
    init_model as init_model,
    linear as linear,
    logistic as logistic,
    mlp as mlp,
    polynomial as polynomial,
    softmax_regression as softmax_regression,
)
from ._training.objective import Objective as Objective
from ._training.optim import (
    OPTIMIZERS as OPTIMIZERS,
    SCHEDULES as SCHEDULES,
    make_optimizer as make_optimizer,
    make_schedule as make_schedule,
    with_eval_params as with_eval_params,
)
from ._training.penalty import l2_penalty as l2_penalty, weight_mask as weight_mask
from ._training.preprocess import (
    PCA as PCA,
    Standardize as Standardize,
    pipeline as pipeline,
)
from ._training.result import FitResult as FitResult
from ._training.run import step_key as step_key
from ._training.standard import Hyperparams as Hyperparams
from ._training.step import (
    CAUSES as CAUSES,
    StepMetrics as StepMetrics,
    TrainState as TrainState,
    init_state as init_state,
    make_step as make_step,
)
from ._version import VERSION as __version__

if TYPE_CHECKING:  # imported lazily at run time: see __getattr__
    from ._cli.bench import run_bench as run_bench
    from ._cli.config import (
        ConfigError as ConfigError,
        SweepConfig as SweepConfig,
        load_config as load_config,
    )
    from ._cli.sweep_command import run_config as run_config
    from ._selection.estimators import (
        JaxfitClassifier as JaxfitClassifier,
        JaxfitRegressor as JaxfitRegressor,
    )
    from ._selection.search import (
        GridSearchCV as GridSearchCV,
        RandomizedSearchCV as RandomizedSearchCV,
    )

# Names whose modules load on first use: the command line's (configs, the benchmark) are not
# needed to fit or sweep, and the estimators and searches need scikit-learn, an optional extra.
_LAZY = {
    "run_bench": "._cli.bench",
    "ConfigError": "._cli.config",
    "SweepConfig": "._cli.config",
    "load_config": "._cli.config",
    "run_config": "._cli.sweep_command",
    "JaxfitClassifier": "._selection.estimators",
    "JaxfitRegressor": "._selection.estimators",
    "GridSearchCV": "._selection.search",
    "RandomizedSearchCV": "._selection.search",
}
_SKLEARN_NAMES = ("GridSearchCV", "JaxfitClassifier", "JaxfitRegressor", "RandomizedSearchCV")


def __getattr__(name: str):
    """Loads the command line's names and the scikit-learn estimators on first use."""
    if name not in _LAZY:
        raise AttributeError(f"module 'jaxfit' has no attribute {name!r}")
    import importlib

    try:
        module = importlib.import_module(_LAZY[name], __name__)
    except ImportError as e:
        if name in _SKLEARN_NAMES:
            raise ImportError(
                f"jaxfit.{name} needs scikit-learn: pip install 'jaxfit[sklearn]' ({e})."
            ) from e
        raise
    value = getattr(module, name)
    globals()[name] = value
    return value


__all__ = [
    "ACTIVATIONS",
    "CAUSES",
    "MODELS",
    "OPTIMIZERS",
    "SCHEDULES",
    "__version__",
    "Comparison",
    "ConfigError",
    "Dataset",
    "FitResult",
    "Folds",
    "GridSearchCV",
    "GroupInfo",
    "GroupKFold",
    "Hyperparams",
    "JaxfitClassifier",
    "JaxfitRegressor",
    "KFold",
    "Metric",
    "Model",
    "PCA",
    "Objective",
    "PlanGroup",
    "RandomizedSearchCV",
    "ShuffleSplit",
    "Space",
    "StepMetrics",
    "StratifiedKFold",
    "SweepConfig",
    "SweepDiverged",
    "SweepPlan",
    "Standardize",
    "SweepResult",
    "TimeSeriesSplit",
    "TrainState",
    "Variables",
    "accuracy",
    "apply_model",
    "as_dataset",
    "as_folds",
    "binary_cross_entropy",
    "check_metric_output",
    "check_targets",
    "choice",
    "compare_to_best",
    "evaluate",
    "fit",
    "folds_from_indices",
    "from_equinox",
    "from_linen",
    "from_nnx",
    "get_metric",
    "grid",
    "huber",
    "huber_loss",
    "hyperparams",
    "init_model",
    "init_state",
    "integers",
    "is_hyperparams",
    "l2_penalty",
    "linear",
    "load_config",
    "logistic",
    "loguniform",
    "mae",
    "make_optimizer",
    "make_schedule",
    "make_step",
    "mlp",
    "mse",
    "numeric",
    "numeric_fields",
    "one_standard_error",
    "pipeline",
    "polynomial",
    "predict",
    "r2",
    "random_space",
    "run_bench",
    "run_config",
    "softmax_cross_entropy",
    "softmax_regression",
    "space_from_dict",
    "stack",
    "static",
    "static_fields",
    "static_key",
    "step_key",
    "summarize",
    "sweep",
    "sweep_plan",
    "to_dict",
    "uniform",
    "unstack",
    "use_cpu_devices",
    "weight_mask",
    "with_eval_params",
    "zipped",
]
