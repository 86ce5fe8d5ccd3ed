"""How ``jaxfit bench`` and ``benchmarks/`` measure: machine, clocks, peak, FLOPs, JSON, table.

The rules of the repository's ``BENCHMARKS.md`` hold here in one place: block on results
before stopping a clock, take the median of repeats after a warm-up, compile separately
(``jax.jit(f).lower(...).compile()``), and count FLOPs by hand, checked against XLA's
``cost_analysis``.
"""

from __future__ import annotations

import datetime
import itertools
import json
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .._sweeping import memory_bytes as memory_bytes

__all__ = [
    "compile_timed",
    "dense_step_flops",
    "format_bytes",
    "format_si",
    "format_table",
    "jsonable",
    "machine_info",
    "matmul_peak_flops",
    "memory_bytes",
    "time_once",
    "write_json",
    "xla_flops",
]

# The side of the square matmul whose FLOP/s is the peak to compare to: XLA's CPU backend
# is fastest near 2048; an accelerator needs a larger one to reach its peak.
PEAK_MATMUL_N = {"cpu": 2048}
PEAK_MATMUL_N_ACCELERATOR = 8192


def machine_info() -> dict[str, Any]:
    """The ``machine`` object of BENCHMARKS.md, plus the CPU model and Python version."""
    from .._version import VERSION

    device = jax.devices()[0]
    return {
        "platform": device.platform,
        "device_kind": device.device_kind,
        "device_count": jax.device_count(),
        "cpu_count": os.cpu_count(),
        "jax": jax.__version__,
        "jaxfit": VERSION,
        "date": datetime.date.today().isoformat(),
        "cpu_model": _cpu_model(),
        "python": platform.python_version(),
    }


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def time_once(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds of one call of ``fn``, blocked until its results are ready, and its output."""
    t0 = time.perf_counter()
    out = jax.block_until_ready(fn())
    return time.perf_counter() - t0, out


def compile_timed(fn: Callable[..., Any], *args: Any) -> tuple[Any, float]:
    """``jax.jit(fn).lower(*args).compile()`` and its seconds (tracing included)."""
    t0 = time.perf_counter()
    compiled = jax.jit(fn).lower(*args).compile()
    return compiled, time.perf_counter() - t0


def matmul_peak_flops(n: int | None = None, repeats: int = 10) -> dict[str, Any]:
    """The achieved FLOP/s of a jitted ``n x n`` matmul in the default dtype: the roofline.

    Returns the median over ``repeats`` calls (after one warm-up) and the best call. The
    default ``n`` is 2048 on a CPU (where XLA's CPU backend runs fastest) and 8192 on an
    accelerator, so this is a practical peak of this machine measured now, not the
    vendor's theoretical one. The dtype is JAX's default float (float32 unless
    ``jax_enable_x64``), at JAX's default matmul precision, as the workloads use.
    """
    device = jax.devices()[0]
    if n is None:
        n = PEAK_MATMUL_N.get(device.platform, PEAK_MATMUL_N_ACCELERATOR)
    dtype = jnp.result_type(float)
    a = jax.random.normal(jax.random.key(0), (n, n), dtype)
    b = jax.random.normal(jax.random.key(1), (n, n), dtype)
    compiled, _ = compile_timed(jnp.matmul, a, b)
    jax.block_until_ready(compiled(a, b))
    times = [time_once(lambda: compiled(a, b))[0] for _ in range(repeats)]
    flops = 2.0 * n**3
    return {
        "n": n,
        "dtype": str(np.dtype(dtype)),
        "repeats": repeats,
        "median_flops": flops / statistics.median(times),
        "best_flops": flops / min(times),
        "xla_flops": xla_flops(compiled),
        "hand_flops": flops,
    }


def xla_flops(compiled: Any) -> float | None:
    """``compiled.cost_analysis()["flops"]``, or ``None`` where the backend gives none.

    XLA counts the body of a loop (``lax.scan``, ``while``) once, not once per iteration,
    and a program sharded over devices is counted for one device.
    """
    try:
        analysis = compiled.cost_analysis()
    except Exception:  # not every backend implements it
        return None
    if isinstance(analysis, Sequence):  # older JAX: one dict per computation
        analysis = analysis[0] if analysis else None
    if not isinstance(analysis, dict) or "flops" not in analysis:
        return None
    return float(analysis["flops"])


# Per-element costs of the elementwise parts, counted as XLA counts them (one FLOP per
# add, multiply, compare or select; a transcendental such as exp or log counts one).
_LOSS_FLOPS = {
    # forward (pred - y, square, mean) and backward (2 (pred - y) / n, sum for the bias)
    "mse": {"forward": 3, "backward": 3},
    # forward: max, subtract, exp, sum, log, pick the label, mean;
    # backward: softmax (exp already there: divide), subtract the one-hot, scale by 1/n
    "softmax_cross_entropy": {"forward": 6, "backward": 3},
}
_OPTIMIZER_FLOPS_PER_PARAM = {
    "sgd": 2,  # -lr * g, then p + u
    # m and v updates (3 + 4), bias corrections (2), sqrt, add eps, divide, -lr *, p + u
    "adam": 14,
}


def dense_step_flops(
    n: int,
    widths: Sequence[int],
    *,
    loss: str,
    optimizer: str,
    activation: bool = True,
) -> dict[str, float]:
    """Hand count of one full-batch training step of a dense network, by part.

    For ``widths = (d, h1, ..., k)`` on ``n`` examples: the forward pass costs
    ``2 n in out`` per layer for the matmul and ``n out`` for the bias (plus ``n out``
    for each hidden activation); the backward pass costs ``2 n in out`` for each weight
    gradient, ``2 n in out`` for each input gradient except the first layer's (nothing
    needs the gradient of the data, and XLA removes it), ``n out`` for each bias gradient
    and ``n out`` for each activation's derivative; then the loss's elementwise terms and
    the optimizer's per-parameter update.

    Returns:
      ``{"matmul", "elementwise", "optimizer", "total", "params", "forward"}``: the step's
      FLOPs by part and in total, the parameter count, and the FLOPs of one forward pass
      with the loss (an evaluation, not part of the step's total).
    """
    layers = list(itertools.pairwise(widths))
    matmul = 0.0
    elementwise = 0.0
    forward = 0.0
    params = 0
    for i, (fan_in, fan_out) in enumerate(layers):
        hidden = i < len(layers) - 1
        matmul += 2 * n * fan_in * fan_out  # forward
        matmul += 2 * n * fan_in * fan_out  # weight gradient
        if i > 0:
            matmul += 2 * n * fan_in * fan_out  # input gradient
        elementwise += 2 * n * fan_out  # bias add, bias gradient (a sum over examples)
        forward += 2 * n * fan_in * fan_out + n * fan_out
        if hidden and activation:
            elementwise += 2 * n * fan_out  # activation and its derivative
            forward += n * fan_out
        params += fan_in * fan_out + fan_out
    k = widths[-1]
    costs = _LOSS_FLOPS[loss]
    elementwise += (costs["forward"] + costs["backward"]) * n * k
    forward += costs["forward"] * n * k
    optimizer_flops = _OPTIMIZER_FLOPS_PER_PARAM[optimizer] * params
    return {
        "matmul": matmul,
        "elementwise": elementwise,
        "optimizer": float(optimizer_flops),
        "total": matmul + elementwise + optimizer_flops,
        "params": float(params),
        "forward": forward,
    }


def jsonable(obj: Any) -> Any:
    """``obj`` with numpy values as Python ones and non-finite floats as ``None``."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.generic | np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


def write_json(payload: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """Writes ``payload`` as JSON to ``path`` atomically (NaN and inf become ``null``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(jsonable(payload), indent=2, allow_nan=False) + "\n")
    tmp.replace(path)
    return path


def format_table(doc: dict[str, Any]) -> str:
    """The readable table of a ``jaxfit bench`` document: one line per workload."""
    m = doc["machine"]
    measured = doc["peak"]["measurements"]
    peak = measured[0]
    lines = [
        f"jaxfit bench ({doc['mode']} mode) on {m['device_count']} {m['platform']} device(s): "
        f"{m['device_kind']}"
        + (f" ({m['cpu_model']})" if m["platform"] == "cpu" else "")
        + f"; jax {m['jax']}, jaxfit {m['jaxfit']}; {m['date']}",
        f"matmul peak: {doc['peak_flops'] / 1e9:,.1f} GFLOP/s ({peak['n']}x{peak['n']} "
        f"{peak['dtype']} matmul: the highest of {len(measured)} medians of {peak['repeats']} "
        "calls, measured before and after every workload)",
    ]
    load = doc.get("load_average") or {}
    if load.get("start") and load.get("end"):
        lines.append(
            f"1-minute load average: {load['start'][0]:.1f} at the start, "
            f"{load['end'][0]:.1f} at the end (on {m['cpu_count']} CPUs)"
        )
    lines.append("")
    header = ("workload", "settings", "steps", "compile_s", "wall_s", "settings/s",
              "steps/s", "GFLOP/s", "% peak", "hand/XLA", "memory/chunk")  # fmt: skip
    table: list[tuple[str, ...]] = [header]
    for r in doc["rows"]:
        ratio = r["flop_check"]["hand_over_xla"]
        table.append((
            r["workload"], str(r["n_settings"]), str(r["steps"]), f"{r['compile_s']:.3g}",
            f"{r['wall_s']:.3g}", format_si(r["settings_per_s"]), format_si(r["steps_per_s"]),
            f"{r['flops_per_s'] / 1e9:,.3g}", f"{100 * r['peak_fraction']:.1f}%",
            "—" if ratio is None else f"{ratio:.3f}", format_bytes(r["memory_bytes"]),
        ))  # fmt: skip
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        cells = [c.ljust(widths[0]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def format_si(v: float | None) -> str:
    """A rate with an SI prefix, ``"1.23M"``; ``"—"`` for ``None``."""
    if v is None:
        return "—"
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(v) >= scale:
            return f"{v / scale:.3g}{unit}"
    return f"{v:.3g}"


def format_bytes(v: float | None) -> str:
    """A byte count in binary units, ``"1.5 GiB"``; ``"—"`` for ``None``."""
    if v is None:
        return "—"
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(v) >= scale:
            return f"{v / scale:.4g} {unit}" if v >= 1000 * scale else f"{v / scale:.3g} {unit}"
    return f"{v:.0f} B"
