"""Shared benchmark machinery: machine info, clocks, matmul peak, FLOP counts, output files.

Every number a benchmark reports goes through these helpers, so the rules of
``BENCHMARKS.md`` hold in one place: warm up first, block on results before stopping a
clock, take the median of repeats, measure compilation separately
(``jax.jit(f).lower(...).compile()``), and count FLOPs by hand, checked against XLA's
``cost_analysis``.
"""

from __future__ import annotations

import datetime
import hashlib
import itertools
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "RESULTS_DIR",
    "Timing",
    "compile_timed",
    "current_rss_bytes",
    "dense_step_flops",
    "jaxfit_source",
    "jsonable",
    "log",
    "machine_info",
    "matmul_peak_flops",
    "memory_bytes",
    "peak_rss_bytes",
    "reset_peak_rss",
    "rss_high_water_bytes",
    "time_interleaved",
    "time_once",
    "write_result",
    "xla_flops",
]

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"


def log(*parts: Any) -> None:
    """Progress on stderr, flushed, so a ``nohup`` log shows where a long run is."""
    print(*parts, file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- machine


def machine_info() -> dict[str, Any]:
    """The ``machine`` object of BENCHMARKS.md, plus the CPU model and Python version."""
    import jaxfit

    device = jax.devices()[0]
    return {
        "platform": device.platform,
        "device_kind": device.device_kind,
        "device_count": jax.device_count(),
        "cpu_count": os.cpu_count(),
        "jax": jax.__version__,
        "jaxfit": jaxfit.__version__,
        "date": datetime.date.today().isoformat(),
        "cpu_model": _cpu_model(),
        "python": platform.python_version(),
    }


def jaxfit_source() -> dict[str, Any]:
    """Which jaxfit was measured: the git commit, whether the tree is dirty, a source hash.

    The hash covers every ``jaxfit/*.py``; a benchmark takes it at its start and end, so
    a run during which the code changed (or whose child processes imported another
    version) can be told apart from a clean one.
    """
    import jaxfit

    package = Path(jaxfit.__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    head = dirty = None
    try:
        head = _git(package.parent, "rev-parse", "--short", "HEAD")
        dirty = bool(_git(package.parent, "status", "--porcelain", "--", package.name))
    except (OSError, subprocess.CalledProcessError):
        pass
    return {"git_head": head, "dirty": dirty, "sha256": digest.hexdigest()[:16]}


def _git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def peak_rss_bytes() -> int:
    """This process's peak resident memory so far (``ru_maxrss``; KiB on Linux, B on macOS)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(rss if sys.platform == "darwin" else rss * 1024)


def reset_peak_rss() -> bool:
    """Resets the kernel's high-water mark of this process's RSS (Linux), if it can.

    ``ru_maxrss`` never goes down, so a peak that includes compiling cannot tell what a
    later run needed; after this reset :func:`rss_high_water_bytes` can.
    """
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def rss_high_water_bytes() -> int | None:
    """The RSS high-water mark since start or :func:`reset_peak_rss` (Linux ``VmHWM``)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def current_rss_bytes() -> int | None:
    """This process's resident memory now (Linux ``/proc``), or ``None`` elsewhere."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


# ----------------------------------------------------------------------------- clocks


class Timing(dict):
    """``{"median": s, "samples": [s, ...], "repeats": r}`` of one timed callable."""


def _block(out: Any) -> Any:
    return jax.block_until_ready(out)


def time_once(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds of one call of ``fn``, blocked until its results are ready, and its output."""
    t0 = time.perf_counter()
    out = _block(fn())
    return time.perf_counter() - t0, out


def time_interleaved(
    fns: dict[str, Callable[[], Any]], repeats: int | dict[str, int]
) -> dict[str, Timing]:
    """Medians of repeated calls of each function, taken in turns (A B C A B C ...).

    Taking turns spreads the drift of a noisy, shared machine (other processes, thermal
    throttling) evenly over the systems being compared, so their ratios are fairer than
    with all of A's repeats first. ``repeats`` may differ per function: a function drops
    out of the rounds once it has its count. The caller warms every function up first.
    """
    counts = repeats if isinstance(repeats, dict) else dict.fromkeys(fns, repeats)
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for round_ in range(max(counts.values())):
        for name, fn in fns.items():
            if round_ < counts[name]:
                seconds, out = time_once(fn)
                del out
                samples[name].append(seconds)
    return {
        name: Timing(median=statistics.median(s), samples=s, repeats=len(s))
        for name, s in samples.items()
    }


def compile_timed(fn: Callable[..., Any], *args: Any) -> tuple[Any, float]:
    """``jax.jit(fn).lower(*args).compile()`` and its seconds (tracing included)."""
    t0 = time.perf_counter()
    compiled = jax.jit(fn).lower(*args).compile()
    return compiled, time.perf_counter() - t0


def matmul_peak_flops(n: int = 2048, repeats: int = 10) -> dict[str, Any]:
    """The achieved FLOP/s of a jitted ``n x n`` float32 matmul: the roofline to compare to.

    Returns the median over ``repeats`` calls (after one warm-up) and the best call; a
    matmul of this size is what XLA's CPU backend runs fastest, so it is a practical peak
    for this machine, not the vendor's theoretical one.
    """
    a = jax.random.normal(jax.random.key(0), (n, n), jnp.float32)
    b = jax.random.normal(jax.random.key(1), (n, n), jnp.float32)
    compiled, _ = compile_timed(jnp.matmul, a, b)
    _block(compiled(a, b))
    times = [time_once(lambda: compiled(a, b))[0] for _ in range(repeats)]
    flops = 2.0 * n**3
    return {
        "n": n,
        "median_flops": flops / statistics.median(times),
        "best_flops": flops / min(times),
        "xla_flops": xla_flops(compiled),
        "hand_flops": flops,
    }


# ----------------------------------------------------------------------------- FLOPs


def xla_flops(compiled: Any) -> float | None:
    """``compiled.cost_analysis()["flops"]``, or ``None`` where the backend gives none.

    Note that XLA counts the body of a loop (``lax.scan``, ``while``) once, not once per
    iteration: compare hand counts against a program without loops, such as one step.
    """
    try:
        analysis = compiled.cost_analysis()
    except Exception:  # not every backend implements it
        return None
    if isinstance(analysis, Sequence) and not isinstance(analysis, dict):
        analysis = analysis[0] if analysis else None
    if not analysis or "flops" not in analysis:
        return None
    return float(analysis["flops"])


def memory_bytes(compiled: Any) -> int | None:
    """XLA's memory estimate of a compiled program: arguments + outputs + temporaries."""
    try:
        m = compiled.memory_analysis()
    except Exception:  # not every backend implements it
        return None
    if m is None:
        return None
    total = m.argument_size_in_bytes + m.output_size_in_bytes + m.temp_size_in_bytes
    return int(total - m.alias_size_in_bytes)


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
      ``{"matmul": ..., "elementwise": ..., "optimizer": ..., "total": ...}`` in FLOPs.
    """
    layers = list(itertools.pairwise(widths))
    matmul = 0.0
    elementwise = 0.0
    params = 0
    for i, (fan_in, fan_out) in enumerate(layers):
        hidden = i < len(layers) - 1
        matmul += 2 * n * fan_in * fan_out  # forward
        matmul += 2 * n * fan_in * fan_out  # weight gradient
        if i > 0:
            matmul += 2 * n * fan_in * fan_out  # input gradient
        elementwise += 2 * n * fan_out  # bias add, bias gradient (a sum over examples)
        if hidden and activation:
            elementwise += 2 * n * fan_out  # activation and its derivative
        params += fan_in * fan_out + fan_out
    k = widths[-1]
    costs = _LOSS_FLOPS[loss]
    elementwise += (costs["forward"] + costs["backward"]) * n * k
    optimizer_flops = _OPTIMIZER_FLOPS_PER_PARAM[optimizer] * params
    return {
        "matmul": matmul,
        "elementwise": elementwise,
        "optimizer": float(optimizer_flops),
        "total": matmul + elementwise + optimizer_flops,
        "params": float(params),
    }


# ----------------------------------------------------------------------------- output


def write_result(payload: dict[str, Any]) -> Path:
    """Writes ``benchmarks/results/<benchmark>.json`` (NaN and inf become ``null``)."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{payload['benchmark']}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(jsonable(payload), indent=2, allow_nan=False) + "\n")
    tmp.replace(path)
    return path


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
