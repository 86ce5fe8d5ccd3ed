"""The fixed workloads of ``jaxfit bench``: what each trains, on what data, how many settings.

Keep the names and definitions stable across versions, so that results can be compared
over time; ``--quick`` changes only the number of settings, never a workload.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .._training import Hyperparams, Model, linear, mlp
from .bench_measure import dense_step_flops

__all__ = ["LINEAR_FLOP_NOTE", "WORKLOADS", "Workload", "default_settings"]


@dataclasses.dataclass(frozen=True)
class Workload:
    """One benchmark workload: a model, a loss, data, and a log-spaced learning-rate sweep.

    Attributes:
      name: the stable name (``linear``, ``mlp-digits``, ``mlp-large``).
      model: the jaxfit model.
      loss: the loss name.
      base: the hyperparameters every setting shares (optimizer, steps, widths).
      widths: the layer widths ``(d, h1, ..., k)`` of the hand FLOP count.
      lr_range: the learning rates are log-spaced in this range (its geometric mean for
        one setting), small enough that none diverges.
      settings_cpu: the default number of settings ``(quick, full)`` on a CPU.
      settings_accelerator: the same on a GPU or TPU.
      data: ``() -> (x, y)``, deterministic.
      data_note: what the data is, in words.
      flop_tolerance: how far ``hand / XLA`` FLOPs may be from 1, or ``None`` where the
        two are not expected to agree (an elementwise-bound step; see ``WORKLOADS``).
    """

    name: str
    model: Model
    loss: str
    base: Hyperparams
    widths: tuple[int, ...]
    lr_range: tuple[float, float]
    settings_cpu: tuple[int, int]
    settings_accelerator: tuple[int, int]
    data: Callable[[], tuple[np.ndarray, np.ndarray]]
    data_note: str
    flop_tolerance: float | None

    @property
    def steps(self) -> int:
        return self.base.steps

    def learning_rates(self, n: int) -> list[float]:
        lo, hi = self.lr_range
        if n == 1:
            return [math.sqrt(lo * hi)]
        return [float(v) for v in np.geomspace(lo, hi, n).astype(np.float32)]

    def flop_count(self, n_examples: int) -> dict[str, float]:
        """Hand FLOPs per setting: one step, and one forward pass (the final evaluation)."""
        return dense_step_flops(
            n_examples, self.widths, loss=self.loss, optimizer=self.base.optimizer
        )

    def describe(self) -> dict[str, Any]:
        hidden = f" {'-'.join(map(str, self.base.hidden))}" if self.model.name == "mlp" else ""
        return {
            "data": self.data_note,
            "model": f"{self.model.name}{hidden}",
            "widths": list(self.widths),
            "loss": self.loss,
            "optimizer": self.base.optimizer,
            "steps": self.steps,
            "batch": "full",
            "learning_rates": (
                f"N log-spaced in [{self.lr_range[0]:g}, {self.lr_range[1]:g}] (their "
                "geometric mean for N = 1)"
            ),
            "default_settings": {
                "cpu": dict(zip(("quick", "full"), self.settings_cpu, strict=True)),
                "gpu/tpu": dict(zip(("quick", "full"), self.settings_accelerator, strict=True)),
            },
            "flop_tolerance": self.flop_tolerance,
        }


def default_settings(w: Workload, platform: str, n_devices: int, *, quick: bool) -> int:
    """The default N of ``w`` on this platform, rounded up to a multiple of ``n_devices``.

    A sweep pads its last chunk to a multiple of the device count; rounding the default up
    keeps every device busy with real settings instead of padding.
    """
    table = w.settings_cpu if platform == "cpu" else w.settings_accelerator
    n = table[0] if quick else table[1]
    return -(-n // n_devices) * n_devices


def _linear_data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.uniform(-1.0, 1.0, 1000).astype(np.float32)
    y = (3.0 * x - 2.0 + 0.1 * rng.normal(size=1000)).astype(np.float32)
    return x, y


def _blobs(n: int, d: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points in ``d`` dimensions around ``k`` random class centres, standardised."""
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(k, d))
    y = rng.integers(0, k, n)
    x = centres[y] + rng.normal(size=(n, d))
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    return x.astype(np.float32), y.astype(np.int32)


# The speed of a full-batch step does not depend on the data's values, so the MLP
# workloads use synthetic data of fixed shapes: the same work everywhere, whether or not
# scikit-learn is installed. Matmul-bound steps agree with XLA within 3%. The linear step
# is elementwise (12 FLOPs per point), where XLA also counts jaxfit's sample weights, its
# divergence guards, the residual that fusion recomputes in several consumers, and work
# done once per device (the data's weight sum) that the rows on the device share, so its
# hand / XLA ratio depends on the rows per device (0.54 at one, 0.85 at 64): not checked.
LINEAR_FLOP_NOTE = (
    "not checked: an elementwise-bound step, where XLA also counts sample weights, "
    "divergence guards, fused recomputations and per-device work shared by the rows"
)
WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in (
        Workload(
            name="linear",
            model=linear(),
            loss="mse",
            base=Hyperparams(optimizer="sgd", steps=1000),
            widths=(1, 1),
            lr_range=(1e-3, 0.5),
            settings_cpu=(64, 1024),
            settings_accelerator=(1024, 16384),
            data=_linear_data,
            data_note="y = 3x - 2 + N(0, 0.1^2), x ~ U(-1, 1), 1000 points (numpy seed 0)",
            flop_tolerance=None,
        ),
        Workload(
            name="mlp-digits",
            model=mlp(10),
            loss="softmax_cross_entropy",
            base=Hyperparams(optimizer="adam", steps=300, hidden=(64, 64), activation="relu"),
            widths=(64, 64, 64, 10),
            lr_range=(1e-4, 1e-2),
            settings_cpu=(4, 16),
            settings_accelerator=(64, 1024),
            data=lambda: _blobs(1797, 64, 10),
            data_note=(
                "synthetic, the shape of scikit-learn's digits: 1797 x 64, standardised, 10 "
                "classes around N(0, 1) centres plus N(0, 1) noise (numpy seed 0)"
            ),
            flop_tolerance=0.03,
        ),
        Workload(
            name="mlp-large",
            model=mlp(10),
            loss="softmax_cross_entropy",
            base=Hyperparams(
                optimizer="adam", steps=100, hidden=(512, 512, 512), activation="relu"
            ),
            widths=(256, 512, 512, 512, 10),
            lr_range=(1e-4, 3e-3),
            settings_cpu=(1, 2),
            settings_accelerator=(8, 128),
            data=lambda: _blobs(8192, 256, 10),
            data_note=(
                "synthetic: 8192 x 256, standardised, 10 classes around N(0, 1) centres plus "
                "N(0, 1) noise (numpy seed 0)"
            ),
            flop_tolerance=0.03,
        ),
    )
}
