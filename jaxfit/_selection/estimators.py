"""scikit-learn estimators around :func:`jaxfit.fit`: ``JaxfitRegressor``, ``JaxfitClassifier``.

scikit-learn is an optional dependency: this module imports it at the top, and
``jaxfit/__init__.py`` imports this module only when one of its names is first used.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from .._hp import numeric_fields
from .._training import (
    FitResult,
    Hyperparams,
    Model,
    fit,
    linear,
    logistic,
    mlp,
    polynomial,
    predict,
    softmax_regression,
)

__all__ = ["JaxfitClassifier", "JaxfitRegressor"]

# Every field of jaxfit.Hyperparams, in declaration order: the estimators' sweepable
# parameters. Spelled out (sklearn introspects __init__); tests keep it in sync.
HP_FIELDS = (
    "learning_rate", "momentum", "b1", "b2", "eps", "decay", "weight_decay", "l2",
    "warmup_steps", "end_factor", "decay_rate", "decay_every",
    "optimizer", "schedule", "steps", "batch_size", "hidden", "activation", "degree",
    "l2_scaling",
)  # fmt: skip

_REGRESSORS: dict[str, Callable[[int], Model]] = {
    "linear": linear, "polynomial": polynomial, "mlp": mlp,
}  # fmt: skip
_CLASSIFIERS: dict[str, Callable[[int], Model]] = {
    "logistic": lambda k: logistic(), "softmax_regression": softmax_regression, "mlp": mlp,
}  # fmt: skip
_LOSSES = ("mse", "mae", "huber")


class FitArgs(NamedTuple):
    """The arguments of :func:`jaxfit.fit` that an estimator and ``(X, y)`` stand for.

    Validated and encoded from the estimator's parameters and the data. The estimator's
    ``fit`` passes them to :func:`jaxfit.fit`; jaxfit's searches pass them to
    :func:`jaxfit.sweep`, so both paths train identically.

    Attributes:
      model: the :class:`jaxfit.Model` (sized for the targets' outputs or classes).
      loss: the loss name.
      hp: the :class:`jaxfit.Hyperparams` built from the estimator's parameters.
      x: the inputs, float32 ``(n, d)``.
      y: float32 targets ``(n,)`` or ``(n, k)`` (regression), or int32 class codes ``(n,)``
        indexing ``classes``.
      classes: the sorted class labels (classification), else ``None``.
      seed: the seed of ``jax.random.key`` (initialisation and shuffling).
    """

    model: Model
    loss: str
    hp: Hyperparams
    x: np.ndarray
    y: np.ndarray
    classes: np.ndarray | None
    seed: int


class JaxfitEstimator(BaseEstimator):
    """What both estimators share: parameters to hyperparameters, fit, raw predictions."""

    _MODELS: dict[str, Callable[[int], Model]]
    _n_model_outputs: int
    model: Any
    seed: Any

    @classmethod
    def _jaxfit_param_names(cls) -> tuple[str, ...]:
        """The parameters that are :class:`jaxfit.Hyperparams` fields (the sweepable ones)."""
        return HP_FIELDS

    def _fit_args(self, X: Any, y: Any) -> FitArgs:
        """Validates ``X`` and ``y`` (setting ``n_features_in_``) and the parameters."""
        raise NotImplementedError

    def _targets(self, y: Any) -> np.ndarray:
        """``y`` encoded as ``fit`` encodes it, for a metric of a fitted estimator's outputs."""
        raise NotImplementedError

    def _hp(self) -> Hyperparams:
        name = type(self).__name__
        values = {f: plain_value(getattr(self, f)) for f in HP_FIELDS}
        try:
            hp = Hyperparams(**values)
        except (TypeError, ValueError) as e:
            raise type(e)(f"{name}: invalid hyperparameter: {e}") from None
        for f in numeric_fields(hp):
            if np.ndim(values[f]) != 0:
                raise ValueError(
                    f"{name}: {f}={values[f]!r:.80} must be a scalar. To try several values, "
                    "use jaxfit.GridSearchCV."
                )
        return hp

    def _seed(self) -> int:
        seed = self.seed
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
            raise TypeError(f"{type(self).__name__}: seed={seed!r} must be an int.")
        return int(seed)

    def _model(self, k: int) -> Model:
        model, name, table = self.model, type(self).__name__, self._MODELS
        if isinstance(model, Model):
            return model
        if not isinstance(model, str):
            raise TypeError(
                f"{name}: model={model!r:.80} ({type(model).__name__}) must be one of "
                f"{list(table)} or a jaxfit.Model."
            )
        if model not in table:
            raise ValueError(
                f"{name}: model={model!r} is not supported; allowed are {list(table)} or a "
                "jaxfit.Model."
            )
        return table[model](k)

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> Any:
        """Trains on ``(X, y)`` with :func:`jaxfit.fit`, as float32.

        Divergence (a non-finite or exploding loss) warns with a ``ConvergenceWarning``
        and keeps the last parameters before it; it never raises.

        Args:
          X: inputs, array-like ``(n, d)`` (a DataFrame sets ``feature_names_in_``).
          y: targets ``(n,)`` or ``(n, k)`` for regression, labels ``(n,)`` for
            classification.
          sample_weight: non-negative weights ``(n,)``, or ``None`` for ones.

        Returns:
          ``self``, with ``params_``, ``hp_``, ``fit_result_``, ``n_iter_`` and
          ``loss_curve_`` set.
        """
        args = self._fit_args(X, y)
        data: tuple = (args.x, args.y)
        if sample_weight is not None:
            w = _check_sample_weight(
                sample_weight, args.x, dtype=np.float32, ensure_non_negative=True
            )
            data = (*data, w)
        result = fit(args.model, args.loss, data, args.hp, key=jax.random.key(args.seed))
        self._set_fitted(args, result)
        if bool(result.diverged):
            warnings.warn(
                f"{type(self).__name__} diverged at step {int(result.diverged_step)} of "
                f"{args.hp.steps} (cause: {result.cause_name}); it keeps the parameters from "
                "before that step. "
                + (
                    "The loss is not finite at the initial parameters, before any update: "
                    "check X and y for NaN, infinite or extreme values."
                    if int(result.diverged_step) == 0 and not np.isfinite(result.train_loss[0])
                    else f"optimizer={args.hp.optimizer!r} has no learning rate: raise l2 and "
                    "standardise X (e.g. StandardScaler in a Pipeline)."
                    if args.hp.optimizer in ("lbfgs", "newton")
                    else "Lower learning_rate, or standardise X and y (e.g. StandardScaler "
                    "in a Pipeline)."
                ),
                ConvergenceWarning,
                stacklevel=2,
            )
        return self

    def _set_fitted(self, args: FitArgs, result: FitResult) -> None:
        self.params_ = result.params
        self.hp_ = result.hp
        self.fit_result_ = result
        self.n_iter_ = args.hp.steps
        self.loss_curve_ = np.asarray(result.train_loss)

    def _raw(self, X: Any) -> np.ndarray:
        """The model's outputs ``(n, k)`` (predictions or logits), as float64."""
        check_is_fitted(self, "params_")
        x = validate_data(self, X, reset=False, dtype=np.float32)
        # Rebuilt, not stored: built-in models are closures, which do not pickle.
        model = self._model(self._n_model_outputs)
        pred = predict(model, self.params_, x, self.hp_)
        return np.asarray(pred, dtype=np.float64)


class JaxfitRegressor(RegressorMixin, JaxfitEstimator):
    """A scikit-learn regressor trained by :func:`jaxfit.fit`.

    Every field of :class:`jaxfit.Hyperparams` is a parameter of the same name and default
    (see its documentation), so ``get_params``/``set_params``, ``clone``, pipelines and
    scikit-learn's searches work as usual; :class:`jaxfit.GridSearchCV` trains all
    settings of a search at once. Parameters are only stored here and checked at ``fit``
    (numpy scalars and lists, as scikit-learn's searches pass them, become Python values
    and tuples). Training is float32; predictions are returned as float64.

    Args:
      model: ``"linear"``, ``"polynomial"`` (degree ``degree``), ``"mlp"`` (``hidden``,
        ``activation``), sized to ``y``'s outputs, or a :class:`jaxfit.Model`.
      loss: ``"mse"``, ``"mae"`` or ``"huber"``.
      seed: the seed of ``jax.random.key`` for initialisation and minibatch shuffling.

    Attributes:
      params_: the trained parameters.
      hp_: the :class:`jaxfit.Hyperparams` trained with.
      fit_result_: the :class:`jaxfit.FitResult` (divergence, final metrics).
      n_iter_: the number of optimizer steps.
      loss_curve_: the training loss of each step (NaN after divergence).
      n_features_in_: the number of input features (``feature_names_in_`` for a DataFrame).
      n_outputs_: the number of regression targets.

    Examples:
      >>> import numpy as np, jaxfit
      >>> X = np.linspace(-1, 1, 40)[:, None]; y = 2 * X[:, 0] + 1
      >>> reg = jaxfit.JaxfitRegressor(learning_rate=0.1, steps=300).fit(X, y)
      >>> reg.predict([[0.0], [1.0]]).round(2).tolist(), round(reg.score(X, y), 3)
      ([1.0, 3.0], 1.0)
    """

    _MODELS = _REGRESSORS
    loss: Any

    def __init__(
        self, *, model: str | Model = "linear", loss: str = "mse",
        learning_rate: float = 0.01, momentum: float = 0.9, b1: float = 0.9,
        b2: float = 0.999, eps: float = 1e-8, decay: float = 0.9, weight_decay: float = 0.0,
        l2: float = 0.0, warmup_steps: float = 0.0, end_factor: float = 0.0,
        decay_rate: float = 0.1, decay_every: float = 100.0, optimizer: str = "adam",
        schedule: str = "constant", steps: int = 500, batch_size: int | None = None,
        hidden: tuple[int, ...] = (64, 64), activation: str = "relu", degree: int = 2,
        l2_scaling: str = "mean", seed: int = 0,
    ) -> None:  # fmt: skip
        _store(self, locals())

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def _fit_args(self, X: Any, y: Any) -> FitArgs:
        if self.loss not in _LOSSES:
            raise ValueError(
                f"JaxfitRegressor: loss={self.loss!r} is not supported; allowed are "
                f"{list(_LOSSES)}."
            )
        hp, seed = self._hp(), self._seed()
        x, y = validate_data(self, X, y, dtype=np.float32, multi_output=True, y_numeric=True)
        y = np.asarray(y, dtype=np.float32)
        k = 1 if y.ndim == 1 else y.shape[1]
        model = self._model(k)
        return FitArgs(model, self.loss, hp, np.asarray(x), y, None, seed)

    def _set_fitted(self, args: FitArgs, result: FitResult) -> None:
        self.n_outputs_ = 1 if args.y.ndim == 1 else args.y.shape[1]
        self._single_output = args.y.ndim == 1
        self._n_model_outputs = self.n_outputs_
        super()._set_fitted(args, result)

    def _targets(self, y: Any) -> np.ndarray:
        return np.asarray(y, dtype=np.float32)

    def predict(self, X: Any) -> np.ndarray:
        """Predicts targets for ``X``.

        Args:
          X: inputs ``(n, d)``.

        Returns:
          Predictions ``(n,)`` if ``y`` was 1-D at fit, else ``(n, k)``.
        """
        pred = self._raw(X)
        return pred[:, 0] if self._single_output else pred


class JaxfitClassifier(ClassifierMixin, JaxfitEstimator):
    """A scikit-learn classifier trained by :func:`jaxfit.fit`.

    The loss follows the model: ``"binary_cross_entropy"`` for ``model="logistic"`` (two
    classes only), ``"softmax_cross_entropy"`` otherwise, with one output per class. Labels
    may be of any type (strings too); they are encoded as ``0..K-1`` in the order of
    ``classes_``. Every field of :class:`jaxfit.Hyperparams` is a parameter of the same
    name and default, as for :class:`jaxfit.JaxfitRegressor`; they are only stored here and
    checked at ``fit``. Training is float32; probabilities are normalised in float64.

    Args:
      model: ``"softmax_regression"`` (multinomial logistic regression, the default),
        ``"logistic"`` (binary, a single logit), ``"mlp"``, or a :class:`jaxfit.Model`
        returning one logit per class.
      seed: the seed of ``jax.random.key`` for initialisation and minibatch shuffling.

    Attributes:
      classes_: the sorted class labels.
      params_: the trained parameters.
      hp_: the :class:`jaxfit.Hyperparams` trained with.
      fit_result_: the :class:`jaxfit.FitResult` (divergence, final metrics).
      n_iter_: the number of optimizer steps.
      loss_curve_: the training loss of each step (NaN after divergence).
      n_features_in_: the number of input features (``feature_names_in_`` for a DataFrame).

    Examples:
      >>> import numpy as np, jaxfit
      >>> X = np.array([[-2.0], [-1.0], [1.0], [2.0]]); y = np.array(["no", "no", "yes", "yes"])
      >>> clf = jaxfit.JaxfitClassifier(learning_rate=0.1, steps=100).fit(X, y)
      >>> clf.classes_.tolist(), clf.predict([[-3.0], [3.0]]).tolist()
      (['no', 'yes'], ['no', 'yes'])
      >>> clf.predict_proba([[0.0]]).sum(axis=1).round(6).tolist()
      [1.0]
    """

    _MODELS = _CLASSIFIERS

    def __init__(
        self, *, model: str | Model = "softmax_regression",
        learning_rate: float = 0.01, momentum: float = 0.9, b1: float = 0.9,
        b2: float = 0.999, eps: float = 1e-8, decay: float = 0.9, weight_decay: float = 0.0,
        l2: float = 0.0, warmup_steps: float = 0.0, end_factor: float = 0.0,
        decay_rate: float = 0.1, decay_every: float = 100.0, optimizer: str = "adam",
        schedule: str = "constant", steps: int = 500, batch_size: int | None = None,
        hidden: tuple[int, ...] = (64, 64), activation: str = "relu", degree: int = 2,
        l2_scaling: str = "mean", seed: int = 0,
    ) -> None:  # fmt: skip
        _store(self, locals())

    def _fit_args(self, X: Any, y: Any) -> FitArgs:
        hp, seed = self._hp(), self._seed()
        x, y = validate_data(self, X, y, dtype=np.float32)
        check_classification_targets(y)
        classes, codes = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(
                "JaxfitClassifier needs at least 2 classes in y to train; got only one "
                f"class: {classes.tolist()}."
            )
        if self.model == "logistic" and len(classes) != 2:
            raise ValueError(
                f"JaxfitClassifier: model='logistic' is binary, but y has {len(classes)} "
                "classes; use model='softmax_regression' or 'mlp' for more than two."
            )
        model = self._model(len(classes))
        loss = "binary_cross_entropy" if self.model == "logistic" else "softmax_cross_entropy"
        return FitArgs(model, loss, hp, np.asarray(x), codes.astype(np.int32), classes, seed)

    def _set_fitted(self, args: FitArgs, result: FitResult) -> None:
        self.classes_ = np.asarray(args.classes)
        self._n_model_outputs = len(self.classes_)
        super()._set_fitted(args, result)

    def _targets(self, y: Any) -> np.ndarray:
        check_is_fitted(self, "classes_")
        y = column_or_1d(y)
        codes = np.minimum(np.searchsorted(self.classes_, y), len(self.classes_) - 1)
        unseen = self.classes_[codes] != y
        if unseen.any():
            raise ValueError(
                f"JaxfitClassifier: y has labels {np.unique(y[unseen]).tolist()[:10]} that were "
                f"not seen at fit; classes_ are {self.classes_.tolist()[:10]}."
            )
        return codes.astype(np.int32)

    def decision_function(self, X: Any) -> np.ndarray:
        """Confidence scores: the logit of ``classes_[1]`` for two classes, else the logits.

        Args:
          X: inputs ``(n, d)``.

        Returns:
          Scores ``(n,)`` for two classes (positive means ``classes_[1]``), else ``(n, K)``.
        """
        z = self._raw(X)
        if z.shape[1] == 1:
            return z[:, 0]
        return z[:, 1] - z[:, 0] if z.shape[1] == 2 else z

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, in the order of ``classes_``.

        Args:
          X: inputs ``(n, d)``.

        Returns:
          Probabilities ``(n, K)`` whose rows sum to 1.
        """
        z = self._raw(X)
        if z.shape[1] == 1:  # a single logit: [1 - p, p]
            p = 1.0 / (1.0 + np.exp(-z))
            return np.concatenate([1.0 - p, p], axis=1)
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def predict(self, X: Any) -> np.ndarray:
        """Predicts class labels.

        Args:
          X: inputs ``(n, d)``.

        Returns:
          Labels ``(n,)`` taken from ``classes_``.
        """
        z = self._raw(X)
        codes = (z[:, 0] > 0).astype(int) if z.shape[1] == 1 else np.argmax(z, axis=1)
        return self.classes_[codes]


def _store(estimator: Any, args: dict[str, Any]) -> None:
    """Stores ``__init__``'s arguments unchanged, as scikit-learn requires."""
    for name, value in args.items():
        if name != "self":
            setattr(estimator, name, value)


def plain_value(value: Any) -> Any:
    """Numpy scalars and lists, as scikit-learn's searches pass them, as Python values."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, list):
        return tuple(plain_value(v) for v in value)
    return value
