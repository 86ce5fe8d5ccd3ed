"""sweep_speed: ``jaxfit.sweep`` against a Python loop of jitted fits and a hand-written vmap.

Three systems train the same N learning rates of the same workload, in one run:

- ``jaxfit``: ``jaxfit.sweep(model, loss, data, base, jaxfit.grid(learning_rate=lrs))``.
  Its wall time is a later call of the same sweep (compilation cached), end to end: grid
  expansion, validation, transfers, the compiled program and assembling the result.
- ``vmap``: a purejaxrl-style ``train(lr, key, x, y)`` (``lax.scan`` over steps, optax
  built inside from ``lr``, no divergence guards), written here independently of jaxfit,
  run as ``jax.jit(jax.vmap(train))``; timed to the outputs on the host.
- ``loop``: one ``jax.jit`` of ``jaxfit.fit`` on a single setting (the hyperparameters
  are a traced argument, so new learning rates do not recompile), called N times.

Workloads (kept stable across versions):

- ``linear``: ``y = 3x - 2 + noise`` on 1000 points, ``jaxfit.linear()``, MSE, plain
  gradient descent (``optimizer="sgd"``), 1000 full-batch steps, zero init.
- ``mlp-digits``: scikit-learn's digits (1797 x 64, standardised, 10 classes), a 64-64
  relu MLP (He init), softmax cross-entropy, Adam, 300 full-batch steps.

The learning rates are N log-spaced values in a range small enough that none diverges
(each row reports the number that did). Every system uses the same data, model, init
(the same keys: with one seed every row uses ``fold_in(key, 0)``, as ``jaxfit.sweep``
does), steps and optimizer; the final training losses of ``jaxfit`` and ``loop`` are
checked against ``vmap``'s (``same_result``).

Run with ``python benchmarks/run.py sweep_speed [--quick]``. Quick mode runs ``linear``
at N = 1, 64, 1024 and ``mlp-digits`` at N = 1, 64 with fewer repeats; full mode adds
``mlp-digits`` at N = 1024 and at N = 16384 under a 1 GiB memory budget (in a separate
process, so that its peak resident memory is its own).
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxfit

from . import common
from .common import log

NAME = "sweep_speed"
ROOT_SEED = 0
BIG_N = 16384
BIG_BUDGET = 2**30
# The loop is run in full when it is estimated to take at most this long; beyond it, a
# subset of calls is timed and scaled to N, and the row says so ("extrapolated_from").
LOOP_FULL_LIMIT_S = {"quick": 30.0, "full": 180.0}
LOOP_SUBSET_S = {"quick": 10.0, "full": 45.0}
# Seconds of timed calls per system and (workload, N); the repeats follow from it.
TIME_BUDGET_S = {"quick": 6.0, "full": 40.0}
MAX_REPEATS = {"quick": 5, "full": 9}
# Final losses of two systems agree when within this (loose: float32, different
# summation orders, 300 Adam steps).
RTOL, ATOL = 1e-2, 1e-5


# ----------------------------------------------------------------------------- workloads


@dataclasses.dataclass(frozen=True)
class Workload:
    """One training problem, as jaxfit sees it and as the hand-written vmap computes it."""

    name: str
    x: jax.Array
    y: jax.Array
    model: jaxfit.Model
    loss: str
    base: jaxfit.Hyperparams
    lr_range: tuple[float, float]
    widths: tuple[int, ...]
    init: Callable[[jax.Array], Any]  # hand-written: init key -> params
    apply: Callable[[Any, jax.Array], jax.Array]  # hand-written: (params, x) -> pred
    data_note: str

    @property
    def steps(self) -> int:
        return self.base.steps

    def loss_fn(self, params: Any, x: jax.Array, y: jax.Array) -> jax.Array:
        pred = self.apply(params, x)
        if self.loss == "mse":
            return jnp.mean(jnp.square(pred[:, 0] - y))
        return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(pred, y))

    def tx(self, lr: jax.Array) -> optax.GradientTransformation:
        if self.base.optimizer == "sgd":
            return optax.sgd(lr)
        return optax.adam(lr, b1=0.9, b2=0.999, eps=1e-8)

    def learning_rates(self, n: int) -> np.ndarray:
        lo, hi = self.lr_range
        if n == 1:
            return np.array([math.sqrt(lo * hi)], np.float32)
        return np.geomspace(lo, hi, n).astype(np.float32)

    def with_steps(self, steps: int) -> Workload:
        return dataclasses.replace(self, base=self.base.replace(steps=steps))

    def describe(self) -> dict[str, Any]:
        return {
            "data": self.data_note,
            "n_samples": int(self.x.shape[0]),
            "model": self.model.name,
            "widths": list(self.widths),
            "loss": self.loss,
            "optimizer": self.base.optimizer,
            "steps": self.steps,
            "batch": "full",
            "learning_rates": (
                f"N log-spaced in [{self.lr_range[0]:g}, {self.lr_range[1]:g}] "
                "(their geometric mean for N = 1); small enough that none diverges"
            ),
        }


def linear_workload() -> Workload:
    rng = np.random.default_rng(0)
    x = rng.uniform(-1.0, 1.0, 1000).astype(np.float32)
    y = (3.0 * x - 2.0 + 0.1 * rng.normal(size=1000)).astype(np.float32)

    def init(key: jax.Array) -> dict[str, jax.Array]:
        del key  # zeros, as jaxfit.linear(): the problem is convex
        return {"w": jnp.zeros((1, 1), jnp.float32), "b": jnp.zeros((1,), jnp.float32)}

    def apply(params: dict[str, jax.Array], x: jax.Array) -> jax.Array:
        return x[:, None] @ params["w"] + params["b"][None, :]

    return Workload(
        name="linear",
        x=jnp.asarray(x),
        y=jnp.asarray(y),
        model=jaxfit.linear(),
        loss="mse",
        base=jaxfit.Hyperparams(optimizer="sgd", steps=1000),
        # Full-batch GD on this MSE is stable below lr = 2 / lambda_max(Hessian) ~ 1.
        lr_range=(1e-3, 0.5),
        widths=(1, 1),
        init=init,
        apply=apply,
        data_note="y = 3x - 2 + N(0, 0.1^2), x ~ U(-1, 1), 1000 points (seed 0)",
    )


def digits_workload() -> Workload:
    try:
        from sklearn.datasets import load_digits

        digits = load_digits()
        x, y = digits.data.astype(np.float32), digits.target.astype(np.int32)
        note = "sklearn.datasets.load_digits(), 1797 x 64, standardised features, 10 classes"
    except ImportError:
        rng = np.random.default_rng(0)
        x = rng.normal(size=(1797, 64)).astype(np.float32)
        y = rng.integers(0, 10, 1797).astype(np.int32)
        note = "SYNTHETIC (scikit-learn missing): N(0, 1) features 1797 x 64, random labels"
    std = x.std(axis=0)
    x = ((x - x.mean(axis=0)) / np.where(std > 0, std, 1.0)).astype(np.float32)
    hidden = (64, 64)
    widths = (x.shape[1], *hidden, 10)

    def init(key: jax.Array) -> tuple[dict[str, jax.Array], ...]:
        # He init before relu, LeCun for the output layer: the same draws as jaxfit.mlp.
        keys = jax.random.split(key, len(widths) - 1)
        layers = []
        for i, (fan_in, fan_out) in enumerate(itertools.pairwise(widths)):
            gain = 2.0 if i < len(hidden) else 1.0
            w = jax.random.normal(keys[i], (fan_in, fan_out), jnp.float32)
            layers.append(
                {
                    "w": w * jnp.float32(math.sqrt(gain / fan_in)),
                    "b": jnp.zeros((fan_out,), jnp.float32),
                }
            )
        return tuple(layers)

    def apply(params: tuple[dict[str, jax.Array], ...], x: jax.Array) -> jax.Array:
        h = x
        for layer in params[:-1]:
            h = jax.nn.relu(h @ layer["w"] + layer["b"][None, :])
        return h @ params[-1]["w"] + params[-1]["b"][None, :]

    return Workload(
        name="mlp-digits",
        x=jnp.asarray(x),
        y=jnp.asarray(y),
        model=jaxfit.mlp(10),
        loss="softmax_cross_entropy",
        base=jaxfit.Hyperparams(optimizer="adam", steps=300, hidden=hidden, activation="relu"),
        lr_range=(1e-4, 1e-2),
        widths=widths,
        init=init,
        apply=apply,
        data_note=note,
    )


WORKLOADS: dict[str, Callable[[], Workload]] = {
    "linear": linear_workload,
    "mlp-digits": digits_workload,
}


def row_keys(n: int) -> jax.Array:
    """The key of each row, as ``jaxfit.sweep`` derives it: seed ``s`` of every setting
    trains with ``fold_in(key, s)`` (paired keys), so with 1 seed every row has one key."""
    key = jax.random.fold_in(jax.random.key(ROOT_SEED), 0)
    data = jax.random.key_data(key)
    return jax.random.wrap_key_data(jnp.broadcast_to(data, (n, *data.shape)))


# ----------------------------------------------------------------------------- systems


def make_train(w: Workload) -> Callable[..., Any]:
    """The hand-written training run of one setting: ``train(lr, key, x, y)``."""
    steps = w.steps

    def train(lr: jax.Array, key: jax.Array, x: jax.Array, y: jax.Array):
        init_key, _ = jax.random.split(key)  # the second half would shuffle minibatches
        params = w.init(init_key)
        tx = w.tx(lr)

        def step(carry, _):
            params, opt_state = carry
            loss, grads = jax.value_and_grad(w.loss_fn)(params, x, y)
            updates, opt_state = tx.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), loss

        (params, _), losses = jax.lax.scan(step, (params, tx.init(params)), None, length=steps)
        return params, losses, w.loss_fn(params, x, y)

    return train


def make_single_fit(w: Workload) -> Callable[..., Any]:
    """``jaxfit.fit`` of one setting, with the hyperparameters and data as arguments."""

    def single(hp: jaxfit.Hyperparams, key: jax.Array, x: jax.Array, y: jax.Array):
        return jaxfit.fit(w.model, w.loss, (x, y), hp, key=key)

    return single


def run_sweep(w: Workload, lrs: np.ndarray, **options: Any) -> Any:
    space = jaxfit.grid(learning_rate=[float(v) for v in lrs])
    return jaxfit.sweep(
        w.model, w.loss, (w.x, w.y), w.base, space,
        key=jax.random.key(ROOT_SEED), progress=False, **options,
    )  # fmt: skip


def _repeats(mode: str, seconds: float) -> int:
    return max(1, min(MAX_REPEATS[mode], round(TIME_BUDGET_S[mode] / max(seconds, 1e-9))))


def _agree(a: np.ndarray, b: np.ndarray) -> tuple[bool, float]:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    rel = np.abs(a - b) / np.maximum(np.abs(b), ATOL)
    ok = bool(np.allclose(a, b, rtol=RTOL, atol=ATOL, equal_nan=True))
    return ok, float(np.nanmax(rel)) if rel.size else 0.0


def bench_point(w: Workload, n: int, mode: str) -> list[dict[str, Any]]:
    """The three systems on ``n`` settings of ``w``: warm-ups, then repeats in turns."""
    lrs = w.learning_rates(n)
    keys = row_keys(n)
    lrs_dev = jnp.asarray(lrs)

    # vmap: compile separately, then one warm-up call.
    train = jax.vmap(make_train(w), in_axes=(0, 0, None, None))
    vmapped, vmap_compile_s = common.compile_timed(train, lrs_dev, keys, w.x, w.y)

    def vmap_call():
        return jax.device_get(vmapped(lrs_dev, keys, w.x, w.y))

    vmap_first_s, vmap_out = common.time_once(vmap_call)
    log(f"  vmap   N={n}: compile {vmap_compile_s:.2f} s, first call {vmap_first_s:.3f} s")

    # jaxfit: the first call compiles (and is the warm-up); later calls are timed.
    t0 = time.perf_counter()
    first = run_sweep(w, lrs)
    jaxfit_first_s = time.perf_counter() - t0
    jaxfit_compile_s = sum(g.compile_s for g in first.groups)
    log(f"  jaxfit N={n}: compile {jaxfit_compile_s:.2f} s, first call {jaxfit_first_s:.3f} s")
    outputs: dict[str, Any] = {}

    def jaxfit_call():
        outputs["jaxfit"] = run_sweep(w, lrs)
        return outputs["jaxfit"]

    loop = LoopSystem(w, lrs, keys, mode)

    def loop_call():
        outputs["loop"] = loop.run()
        return outputs["loop"]

    repeats = _repeats(mode, max(vmap_first_s, jaxfit_first_s - jaxfit_compile_s))
    counts = {"vmap": repeats, "jaxfit": repeats, "loop": _repeats(mode, loop.estimate_s)}
    timings = common.time_interleaved(
        {"vmap": vmap_call, "jaxfit": jaxfit_call, "loop": loop_call}, counts
    )
    log(
        f"  N={n}: vmap {timings['vmap']['median']:.3f} s, jaxfit "
        f"{timings['jaxfit']['median']:.3f} s ({repeats} repeats), loop "
        f"{timings['loop']['median'] * n / loop.count:.3f} s ({counts['loop']} repeats"
        + (f", extrapolated from {loop.count} calls)" if loop.count < n else ")")
    )

    result = outputs["jaxfit"]
    vmap_loss = np.asarray(vmap_out[2])
    jaxfit_loss = np.asarray(result.metrics["train_loss"])[:, 0]
    same, rel = _agree(jaxfit_loss, vmap_loss)
    group = result.groups[0]
    bytes_per_row = group.bytes_per_row
    memory, memory_source = _jaxfit_memory(w, loop.hps, keys, group)
    rows = [
        {
            "workload": w.name,
            "n_settings": n,
            "system": "jaxfit",
            "wall_s": timings["jaxfit"]["median"],
            "compile_s": jaxfit_compile_s,
            "memory_bytes": memory,
            "memory_source": memory_source,
            "first_call_s": jaxfit_first_s,
            "run_s_internal": float(np.median([g.run_s for g in result.groups])),
            "chunk_size": group.chunk_size,
            "n_chunks": group.n_chunks,
            "bytes_per_row": bytes_per_row,
            "diverged": int(np.sum(result.diverged)),
            "same_result": same,
            "max_rel_diff": rel,
            "compared_with": "vmap",
            "samples": timings["jaxfit"]["samples"],
            "repeats": timings["jaxfit"]["repeats"],
        },
        {
            "workload": w.name,
            "n_settings": n,
            "system": "vmap",
            "wall_s": timings["vmap"]["median"],
            "compile_s": vmap_compile_s,
            "memory_bytes": common.memory_bytes(vmapped),
            "memory_source": "XLA memory_analysis of the compiled program",
            "first_call_s": vmap_first_s,
            "diverged": int(np.sum(~np.isfinite(vmap_loss))),
            "same_result": True,
            "max_rel_diff": 0.0,
            "compared_with": "itself (the reference)",
            "samples": timings["vmap"]["samples"],
            "repeats": timings["vmap"]["repeats"],
        },
        loop.row(timings["loop"], outputs["loop"], vmap_loss),
    ]
    best = float(np.nanmin(jaxfit_loss))
    for row in rows:
        row.update(score=None, steps=w.steps, best_train_loss=best)
    return rows


def _jaxfit_memory(w: Workload, hps: list[Any], keys: jax.Array, group: Any):
    """XLA's memory estimate of a sweep's chunk, and where it comes from.

    ``jaxfit.sweep`` reports bytes per row only when it had to cut the rows into chunks;
    otherwise the same program, ``jax.vmap`` of ``jaxfit.fit`` over all rows, is compiled
    here (not run) for its memory analysis.
    """
    if group.bytes_per_row is not None:
        source = "bytes_per_row x chunk_size (jaxfit's XLA estimate, fixed part excluded)"
        return float(group.bytes_per_row * group.chunk_size), source
    stacked = jaxfit.stack(hps)
    batched = jax.vmap(make_single_fit(w), in_axes=(0, 0, None, None))
    compiled, _ = common.compile_timed(batched, stacked, keys, w.x, w.y)
    source = "XLA memory_analysis of jax.vmap(jaxfit.fit) over all rows (compiled, not run)"
    return common.memory_bytes(compiled), source


class LoopSystem:
    """A Python loop over one jitted single-setting fit; extrapolated only when too long.

    Construction compiles (timed separately), warms up and times a few calls to estimate
    the whole loop; when that exceeds ``LOOP_FULL_LIMIT_S``, :meth:`run` covers only the
    first ``count`` settings and the row scales the time to N, saying so.
    """

    def __init__(self, w: Workload, lrs: np.ndarray, keys: jax.Array, mode: str) -> None:
        self.w, self.n, self.keys = w, len(lrs), keys
        single = make_single_fit(w)
        self.hps = [w.base.replace(learning_rate=float(lr)) for lr in lrs]
        self.compiled, self.compile_s = common.compile_timed(single, self.hps[0], keys[0], w.x, w.y)
        self.fitted = jax.jit(single)
        self.first_s, _ = common.time_once(lambda: self.fitted(self.hps[0], keys[0], w.x, w.y))
        probe = min(self.n, 4)
        self.count = probe
        probe_s, _ = common.time_once(self.run)
        per_call = probe_s / probe
        self.estimate_s = per_call * self.n
        if self.estimate_s <= LOOP_FULL_LIMIT_S[mode]:
            self.count = self.n
        else:
            self.count = max(probe, min(self.n, int(LOOP_SUBSET_S[mode] / per_call)))
            self.estimate_s = per_call * self.count

    def run(self) -> list[Any]:
        """Dispatches ``count`` fits (asynchronously), then brings all to the host."""
        w = self.w
        outs = [self.fitted(self.hps[i], self.keys[i], w.x, w.y) for i in range(self.count)]
        return jax.device_get(outs)

    def row(self, timing: common.Timing, outputs: list[Any], reference: np.ndarray):
        loss = np.asarray([o.metrics["train_loss"] for o in outputs])
        same, rel = _agree(loss, reference[: self.count])
        extrapolated = self.count < self.n
        return {
            "workload": self.w.name,
            "n_settings": self.n,
            "system": "loop",
            "wall_s": timing["median"] * self.n / self.count,
            "compile_s": self.compile_s,
            "memory_bytes": common.memory_bytes(self.compiled),
            "memory_source": "XLA memory_analysis of the single-setting program",
            "first_call_s": self.first_s,
            "extrapolated_from": self.count if extrapolated else None,
            "diverged": int(sum(bool(o.diverged) for o in outputs)),
            "same_result": same,
            "max_rel_diff": rel,
            "compared_with": "vmap" + (f" (first {self.count} settings)" if extrapolated else ""),
            "samples": timing["samples"],
            "repeats": timing["repeats"],
        }


# ----------------------------------------------------------------------------- FLOPs


def flop_check(w: Workload) -> dict[str, Any]:
    """FLOPs of one training step: by hand, and by XLA for vmap's and jaxfit's step.

    XLA's ``cost_analysis`` counts a loop body once, so whole scanned programs cannot be
    compared with it; one step without a loop can.
    """
    hand = common.dense_step_flops(
        int(w.x.shape[0]), w.widths, loss=w.loss, optimizer=w.base.optimizer
    )
    lr = jnp.float32(w.learning_rates(1)[0])
    params = w.init(jax.random.key(0))
    tx = w.tx(lr)

    def vmap_step(params, opt_state, lr, x, y):
        tx = w.tx(lr)
        loss, grads = jax.value_and_grad(w.loss_fn)(params, x, y)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    vmap_compiled, _ = common.compile_timed(vmap_step, params, tx.init(params), lr, w.x, w.y)
    hp = w.base.replace(learning_rate=float(lr))
    step = jaxfit.make_step(w.model, w.loss, hp)
    state = jaxfit.init_state(w.model, hp, w.x, key=jax.random.key(0))
    jaxfit_compiled, _ = common.compile_timed(lambda s, x, y: step(s, (x, y)), state, w.x, w.y)
    xla_vmap = common.xla_flops(vmap_compiled)
    xla_jaxfit = common.xla_flops(jaxfit_compiled)
    return {
        "hand_per_step": hand["total"],
        "hand_breakdown": hand,
        "xla_per_step_vmap": xla_vmap,
        "xla_per_step_jaxfit": xla_jaxfit,
        "hand_over_xla_vmap": hand["total"] / xla_vmap if xla_vmap else None,
        "note": (
            "per full-batch step of one setting; XLA's count is cost_analysis() of one "
            "compiled step (no loop), vmap's hand-written step and jaxfit.make_step's "
            "(which adds sample weights and divergence guards). XLA counts the optimised "
            "program, where fusion may recompute a cheap elementwise producer in several "
            "consumers (in linear's step the forward residual is computed three times), "
            "so for elementwise-bound steps its count exceeds the algorithmic hand count"
        ),
        "bound": "compute (matmul)"
        if hand["matmul"] > 10 * hand["elementwise"]
        else ("memory (elementwise): FLOP/s against a matmul peak is not its roofline"),
    }


def add_flops(rows: list[dict[str, Any]], check: dict[str, Any], peak: float) -> None:
    for row in rows:
        settings_steps = row["n_settings"] * row["steps"]
        row["flops"] = check["hand_per_step"] * settings_steps
        per_step = check["xla_per_step_vmap" if row["system"] == "vmap" else "xla_per_step_jaxfit"]
        row["xla_flops"] = None if per_step is None else per_step * settings_steps
        wall = row.get("wall_s")
        row["gflops"] = row["flops"] / wall / 1e9 if wall else None
        row["peak_fraction"] = row["flops"] / wall / peak if wall else None


# ----------------------------------------------------------------------------- big row


def bench_big(w: Workload, jaxfit_rate: float, max_minutes: float) -> list[dict[str, Any]]:
    """mlp-digits at N = 16384 under a 1 GiB budget, in a child process (its own RSS).

    ``jaxfit_rate`` is the measured seconds per setting-step at N = 1024. When two calls
    (the compiling one and the timed one) of the full 300 steps would take longer than
    ``max_minutes``, the row runs fewer steps, says so (``steps``, ``reduced_from_steps``)
    and keeps N and the budget.
    """
    full_steps = w.steps
    one_call = jaxfit_rate * BIG_N * full_steps
    log(
        f"  N={BIG_N}: estimated {one_call / 60:.1f} min ({one_call / 3600:.2f} h) per "
        f"{full_steps}-step sweep, {2 * one_call / 3600:.2f} h for the compiling call and "
        "the timed call together"
    )
    steps = full_steps
    if 2 * one_call > max_minutes * 60:
        steps = max(1, int(max_minutes * 60 / (2 * jaxfit_rate * BIG_N)))
        log(f"  N={BIG_N}: over --max-minutes={max_minutes:g}; running {steps} steps instead")
    cmd = [sys.executable, "-m", "benchmarks.sweep_speed", "--big-child",
           "--n", str(BIG_N), "--steps", str(steps), "--budget", str(BIG_BUDGET)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=common.BENCH_DIR.parent)
    sys.stderr.write(proc.stderr)
    if proc.returncode != 0:
        raise RuntimeError(f"the N={BIG_N} child failed ({proc.returncode}):\n{proc.stderr}")
    child = json.loads(proc.stdout.strip().splitlines()[-1])
    reduced = steps != full_steps
    row = {
        "workload": w.name,
        "n_settings": BIG_N,
        "system": "jaxfit",
        "steps": steps,
        "reduced_from_steps": full_steps if reduced else None,
        "deviation": (
            f"{steps} steps instead of {full_steps}: the full run was estimated at "
            f"{one_call / 60:.0f} min per call, over --max-minutes={max_minutes:g} for two"
            if reduced
            else None
        ),
        "estimated_full_wall_s": one_call,
        "memory_budget": BIG_BUDGET,
        "score": None,
        **child,
    }
    # What an unchunked vmap of the same rows would need (compiled, not run).
    wb = w.with_steps(steps)
    lrs = jnp.asarray(wb.learning_rates(BIG_N))
    unchunked, _ = common.compile_timed(
        jax.vmap(make_train(wb), in_axes=(0, 0, None, None)), lrs, row_keys(BIG_N), w.x, w.y
    )
    vmap_bytes = common.memory_bytes(unchunked)
    vmap_row = {
        "workload": w.name,
        "n_settings": BIG_N,
        "system": "vmap",
        "steps": steps,
        "wall_s": None,
        "compile_s": None,
        "memory_bytes": vmap_bytes,
        "memory_source": "XLA memory_analysis of the unchunked program (compiled, not run)",
        "score": None,
        "skipped": (
            "not run: the point of this row is jaxfit's chunking under a 1 GiB budget; the "
            f"unchunked vmap needs {vmap_bytes / 2**30:.1f} GiB by XLA's estimate"
            if vmap_bytes
            else "not run: the point of this row is jaxfit's chunking under a 1 GiB budget"
        ),
    }
    return [row, vmap_row]


def _host_bytes(result: Any) -> int:
    """Bytes of the host arrays a result holds (parameters, curves, metrics)."""
    leaves = jax.tree.leaves([getattr(result, f.name) for f in dataclasses.fields(result)])
    return int(sum(getattr(leaf, "nbytes", 0) for leaf in leaves))


def _big_child(n: int, steps: int, budget: int) -> dict[str, Any]:
    """Runs in a fresh process: the sweep twice (compiling, then timed) and its memory.

    Two peaks are recorded: ``ru_maxrss`` over the whole process (compiling included), and
    the kernel's high-water mark reset just before the timed call, which is what running
    the chunks needed. From the latter, the RSS before the call and the result's host
    arrays are subtracted to compare with the budget.
    """
    source = common.jaxfit_source()
    w = digits_workload().with_steps(steps)
    lrs = w.learning_rates(n)
    jax.block_until_ready((w.x, w.y))
    rss_start = common.current_rss_bytes()
    t0 = time.perf_counter()
    first = run_sweep(w, lrs, memory_budget=budget)
    first_s = time.perf_counter() - t0
    compile_s = sum(g.compile_s for g in first.groups)
    result_bytes = _host_bytes(first)
    del first
    before = common.current_rss_bytes()
    reset = common.reset_peak_rss()
    wall, result = common.time_once(lambda: run_sweep(w, lrs, memory_budget=budget))
    timed_peak = common.rss_high_water_bytes() if reset else None
    group = result.groups[0]
    working = None
    if timed_peak is not None and before is not None:
        working = timed_peak - before - result_bytes
    return {
        "wall_s": wall,
        "compile_s": compile_s,
        "first_call_s": first_s,
        "run_s_internal": group.run_s,
        "chunk_size": group.chunk_size,
        "n_chunks": group.n_chunks,
        "bytes_per_row": group.bytes_per_row,
        "memory_bytes": (
            None if group.bytes_per_row is None else group.bytes_per_row * group.chunk_size
        ),
        "memory_source": "bytes_per_row x chunk_size (jaxfit's XLA estimate, fixed part excluded)",
        "rss_start_bytes": rss_start,
        "ru_maxrss_bytes": common.peak_rss_bytes(),
        "rss_before_timed_bytes": before,
        "rss_peak_timed_bytes": timed_peak,
        "result_bytes": result_bytes,
        "rss_working_bytes": working,
        "rss_note": (
            "fresh process. ru_maxrss_bytes: its lifetime peak, compiling included; "
            "rss_peak_timed_bytes: the high-water mark (VmHWM) reset just before the timed "
            "call; working = that peak - RSS before the call - the result's host arrays"
        ),
        "diverged": int(np.sum(result.diverged)),
        "best_train_loss": float(np.nanmin(result.metrics["train_loss"])),
        "repeats": 1,
        "same_result": None,
        "jaxfit_source": source,
    }


# ----------------------------------------------------------------------------- driver


def targets(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The issue's targets, evaluated on this run's rows."""
    by = {(r["workload"], r["n_settings"], r["system"]): r for r in rows if r.get("wall_s")}
    out = []
    ratios = []
    for (wl, n, system), r in sorted(by.items()):
        v = by.get((wl, n, "vmap"))
        if system == "jaxfit" and v is not None:
            ratios.append((r["wall_s"] / v["wall_s"], wl, n))
    for ratio, wl, n in ratios:
        out.append({
            "target": f"jaxfit/vmap wall time, {wl} N={n}",
            "value": ratio, "goal": "<= 1.05", "met": ratio <= 1.05,
        })  # fmt: skip
    lin_j, lin_l = by.get(("linear", 1024, "jaxfit")), by.get(("linear", 1024, "loop"))
    if lin_j and lin_l:
        speedup = lin_l["wall_s"] / lin_j["wall_s"]
        out.append({
            "target": "loop/jaxfit speed-up, linear N=1024",
            "value": speedup, "goal": ">= 10", "met": speedup >= 10,
        })  # fmt: skip
    return out


def _source_check(start: dict[str, Any], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The jaxfit source at the start and end of the run, and whether it stayed the same.

    This process measured the code it imported at its start; a child process (the N =
    16384 row) imports the code of its own start time.
    """
    end = common.jaxfit_source()
    children = [r["jaxfit_source"] for r in rows if r.get("jaxfit_source")]
    hashes = {start["sha256"], end["sha256"], *(c["sha256"] for c in children)}
    return {"start": start, "end": end, "children": children, "unchanged": len(hashes) == 1}


def run(*, quick: bool, max_minutes: float = 20.0) -> dict[str, Any]:
    """Runs the benchmark and returns its JSON payload (BENCHMARKS.md's format)."""
    mode = "quick" if quick else "full"
    load_start = os.getloadavg()
    source_start = common.jaxfit_source()
    log(f"sweep_speed ({mode}): measuring the matmul peak")
    peak_start = common.matmul_peak_flops()
    plan = {"linear": (1, 64, 1024), "mlp-digits": (1, 64) if quick else (1, 64, 1024)}
    rows: list[dict[str, Any]] = []
    checks: dict[str, Any] = {}
    workloads: dict[str, Any] = {}
    pending: list[tuple[list[dict[str, Any]], str]] = []
    for name, ns in plan.items():
        w = WORKLOADS[name]()
        workloads[name] = w.describe()
        checks[name] = flop_check(w)
        log(f"{name}: hand {checks[name]['hand_per_step']:.4g} FLOPs/step, XLA "
            f"{checks[name]['xla_per_step_vmap']:.4g} (vmap step)")  # fmt: skip
        for n in ns:
            point = bench_point(w, n, mode)
            rows += point
            pending.append((point, name))
        if name == "mlp-digits" and not quick:
            j = next(r for r in rows if (r["workload"], r["n_settings"], r["system"])
                     == (name, 1024, "jaxfit"))  # fmt: skip
            big = bench_big(w, j["wall_s"] / (1024 * w.steps), max_minutes)
            rows += big
            pending.append((big, name))
    log("sweep_speed: measuring the matmul peak again")
    peak_end = common.matmul_peak_flops()
    # The higher of the two medians: a conservative roofline for the fractions.
    peak = max(peak_start["median_flops"], peak_end["median_flops"])
    for point, name in pending:
        add_flops(point, checks[name], peak)
    for row in rows:
        if row["system"] != "jaxfit":
            j = next((r for r in rows if r["system"] == "jaxfit" and r["workload"] ==
                      row["workload"] and r["n_settings"] == row["n_settings"]), None)  # fmt: skip
            if j and row.get("wall_s") and j.get("wall_s"):
                row["wall_vs_jaxfit"] = row["wall_s"] / j["wall_s"]
    return {
        "benchmark": NAME,
        "mode": mode,
        "machine": common.machine_info(),
        "peak_flops": peak,
        "peak": {"start": peak_start, "end": peak_end, "used": "max of the two medians"},
        # Other processes on a shared machine are the main source of noise: say how busy.
        "load_average": {"start": load_start, "end": os.getloadavg()},
        "jaxfit_source": _source_check(source_start, rows),
        "rows": rows,
        "targets": targets(rows),
        "flop_check": checks,
        "workloads": workloads,
        "settings": {
            "quick_mode": "linear N=1,64,1024; mlp-digits N=1,64; fewer repeats",
            "full_mode": "adds mlp-digits N=1024 and N=16384 (1 GiB budget, own process)",
            "repeats": f"as many as fit {TIME_BUDGET_S[mode]:g} s per system, "
            f"1 to {MAX_REPEATS[mode]}, jaxfit and vmap taken in turns; median reported",
            "loop_full_limit_s": LOOP_FULL_LIMIT_S[mode],
            "same_result": f"final train loss allclose(rtol={RTOL:g}, atol={ATOL:g}) to vmap's",
            "wall_s": (
                "jaxfit: a later call of the same sweep, end to end (compilation cached); "
                "vmap: the compiled program to outputs on the host; loop: N calls of the "
                "jitted single fit, dispatched asynchronously, outputs to the host"
            ),
            "max_minutes": max_minutes,
        },
    }


def _main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, default=BIG_N)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--budget", type=int, default=BIG_BUDGET)
    args = parser.parse_args(argv)
    if not args.big_child:
        parser.error("run benchmarks with `python benchmarks/run.py sweep_speed [--quick]`")
    print(json.dumps(common.jsonable(_big_child(args.n, args.steps, args.budget))))


if __name__ == "__main__":
    _main()
