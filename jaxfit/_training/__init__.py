"""One training run: the standard hyperparameters, data, models, losses, optimizers, the
penalty, a guarded step and a whole run as pure functions.

Depends on ``_hp`` only. What the other wings may use is named here.
"""

from .contract import RUN_FIELDS, RunFields, check_run_fields, steps_of
from .data import Dataset, as_dataset
from .fit import FitResult, evaluate, fit, fit_result, predict, run_fit
from .losses import (
    METRICS,
    Metric,
    accuracy,
    binary_cross_entropy,
    check_metric_output,
    check_targets,
    get_metric,
    huber,
    huber_loss,
    mae,
    mse,
    r2,
    softmax_cross_entropy,
)
from .minibatch import Batcher, epoch_batches
from .models import (
    ACTIVATIONS,
    MODELS,
    Model,
    linear,
    logistic,
    mlp,
    polynomial,
    softmax_regression,
)
from .optim import OPTIMIZERS, SCHEDULES, make_optimizer, make_schedule
from .penalty import l2_penalty, weight_mask
from .run import Run, RunState, final_metrics, val_steps
from .spec import (
    Inputs,
    OptimizerFactory,
    RunSpec,
    StepSpec,
    check_hp,
    check_inputs,
    check_key,
    check_model,
    step_spec,
)
from .standard import Hyperparams
from .step import (
    CAUSES,
    TRACES,
    StepMetrics,
    TrainState,
    guarded_step,
    init_state,
    make_step,
    new_train_state,
)

__all__ = [
    "ACTIVATIONS",
    "CAUSES",
    "METRICS",
    "MODELS",
    "OPTIMIZERS",
    "SCHEDULES",
    "TRACES",
    "Batcher",
    "Dataset",
    "FitResult",
    "Hyperparams",
    "Inputs",
    "Metric",
    "Model",
    "OptimizerFactory",
    "RUN_FIELDS",
    "Run",
    "RunFields",
    "RunSpec",
    "RunState",
    "StepMetrics",
    "StepSpec",
    "TrainState",
    "accuracy",
    "as_dataset",
    "binary_cross_entropy",
    "check_hp",
    "check_run_fields",
    "check_inputs",
    "check_key",
    "check_model",
    "check_metric_output",
    "check_targets",
    "epoch_batches",
    "evaluate",
    "final_metrics",
    "fit",
    "fit_result",
    "get_metric",
    "guarded_step",
    "huber",
    "huber_loss",
    "init_state",
    "l2_penalty",
    "linear",
    "logistic",
    "mae",
    "make_optimizer",
    "make_schedule",
    "make_step",
    "mlp",
    "mse",
    "new_train_state",
    "polynomial",
    "predict",
    "r2",
    "run_fit",
    "softmax_cross_entropy",
    "softmax_regression",
    "step_spec",
    "steps_of",
    "val_steps",
    "weight_mask",
]
