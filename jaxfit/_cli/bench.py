"""``jaxfit bench``: how fast ``jaxfit.sweep`` trains on this machine's CPU, GPU or TPU."""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jax

from .._hp import grid
from .._sweeping import cached_programs, sweep
from .bench_measure import (
    format_table,
    jsonable,
    machine_info,
    matmul_peak_flops,
    time_once,
    write_json,
    xla_flops,
)
from .bench_workloads import LINEAR_FLOP_NOTE, WORKLOADS, Workload, default_settings

__all__ = ["bench_command", "bench_workload", "register", "run_bench"]

NAME = "jaxfit_bench"
# On a CPU, mlp-large takes minutes even at one setting: --quick leaves it out by default.
QUICK_CPU_WORKLOADS = ("linear", "mlp-digits")
PEAK_REPEATS = {"quick": 3, "full": 10}


def run_bench(
    workloads: Sequence[str] | None = None,
    *,
    n_settings: int | None = None,
    repeats: int = 3,
    quick: bool = False,
    progress: bool = True,
) -> dict[str, Any]:
    """Benchmarks :func:`jaxfit.sweep` on this machine's default devices.

    Each workload is a learning-rate sweep (``n_settings`` log-spaced values, one seed)
    run through :func:`jaxfit.sweep` on every device JAX sees: once to compile and warm
    up, then ``repeats`` more times; ``wall_s`` is the median of the repeats, end to end
    (the sweep's results are on the host when it returns). A large square matmul in the
    default dtype, measured in the same run, is the peak that ``peak_fraction`` compares
    to. FLOPs are counted by hand and checked against XLA's ``cost_analysis`` of the
    compiled sweep program. The workloads (stable across versions):

    - ``linear``: ``y = a x + b`` on 1000 points, MSE, gradient descent, 1000 full-batch
      steps.
    - ``mlp-digits``: a 64-64 relu MLP on synthetic data of the digits' shape (1797 x 64,
      10 classes), softmax cross-entropy, Adam, 300 full-batch steps.
    - ``mlp-large``: a 512-512-512 relu MLP on synthetic 8192 x 256 data (10 classes),
      Adam, 100 full-batch steps: enough work per step to fill an accelerator.

    To split a CPU into several devices, call :func:`jaxfit.use_cpu_devices` before JAX
    starts (the ``jaxfit bench --cpu-devices K`` option does).

    Args:
      workloads: names of the workloads to run, in order (default: all three; with
        ``quick`` on a CPU, ``linear`` and ``mlp-digits``).
      n_settings: the number of settings of every workload (default: per workload and
        platform, larger on a GPU or TPU, rounded up to a multiple of the device count).
      repeats: timed runs after the warm-up run.
      quick: fewer settings and a shorter peak measurement: seconds on a 2-core CPU.
      progress: print progress lines (workload, compiling, repeat i/R) to stderr.

    Returns:
      The results as a JSON-ready dict, in the format of jaxfit's own benchmarks:
      ``benchmark``, ``mode``, ``machine``, ``peak_flops`` and one row per workload with
      ``workload``, ``n_settings``, ``system``, ``wall_s``, ``compile_s``, ``flops``,
      ``score`` (``None``: not a search), ``memory_bytes``, ``settings_per_s``,
      ``steps_per_s``, ``flops_per_s`` and ``peak_fraction``, among others.

    Raises:
      ValueError: for an unknown workload or a non-positive ``n_settings`` or ``repeats``.
      TypeError: for ``workloads`` given as one string instead of a list of names.

    Examples:
      >>> import jaxfit
      >>> doc = jaxfit.run_bench(["linear"], n_settings=4, repeats=1, quick=True,
      ...                        progress=False)
      >>> row = doc["rows"][0]
      >>> row["workload"], row["n_settings"], row["system"], row["score"]
      ('linear', 4, 'jaxfit', None)
      >>> row["flops_per_s"] == row["flops"] / row["wall_s"]
      True
    """
    names = _check_workloads(workloads)
    _check_positive("n_settings", n_settings, allow_none=True)
    _check_positive("repeats", repeats)
    mode = "quick" if quick else "full"
    log = _logger(progress)
    t_start = time.perf_counter()
    machine = machine_info()
    if names is None:
        cpu_quick = quick and machine["platform"] == "cpu"
        names = list(QUICK_CPU_WORKLOADS if cpu_quick else WORKLOADS)
    load_start = _load_average()
    log(
        f"{machine['device_count']} {machine['platform']} device(s) ({machine['device_kind']}); "
        f"measuring the matmul peak"
    )
    # Measured before and after every workload: on a shared machine, other processes
    # lower some measurements, and the highest median is the fairer (lower) roofline.
    peaks = [{"when": "start", **matmul_peak_flops(repeats=PEAK_REPEATS[mode])}]
    log(
        f"matmul peak: {peaks[0]['median_flops'] / 1e9:.4g} GFLOP/s "
        f"({peaks[0]['n']}x{peaks[0]['n']} {peaks[0]['dtype']})"
    )
    rows = []
    for name in names:
        w = WORKLOADS[name]
        n = n_settings or default_settings(
            w, machine["platform"], machine["device_count"], quick=quick
        )
        rows.append(bench_workload(w, n, repeats, log))
        peaks.append({"when": f"after {name}", **matmul_peak_flops(repeats=PEAK_REPEATS[mode])})
    peak = max(p["median_flops"] for p in peaks)
    for row in rows:
        row["peak_fraction"] = row["flops_per_s"] / peak
    return jsonable(
        {
            "benchmark": NAME,
            "mode": mode,
            "machine": machine,
            "peak_flops": peak,
            "peak": {
                "measurements": peaks,
                "used": "the highest median, measured before and after every workload",
            },
            "load_average": {"start": load_start, "end": _load_average()},
            "rows": rows,
            "workloads": {name: WORKLOADS[name].describe() for name in names},
            "settings": {
                "repeats": repeats,
                "wall_s": (
                    "median of the repeats of the whole jaxfit.sweep call (compiled program "
                    "cached), after one warm-up call that compiled it"
                ),
                "flops": (
                    "hand count per setting of steps x (forward + backward + update) plus "
                    "the final evaluation (one forward pass), times n_settings"
                ),
                "flop_check": (
                    "per setting, one training step plus the final evaluation, by hand and "
                    "by XLA's cost_analysis of the compiled sweep program (which counts a "
                    "loop body once, for one device, divided by the rows per device); "
                    "agrees when |hand / xla - 1| <= the workload's flop_tolerance"
                ),
                "memory_bytes": (
                    "XLA's memory estimate of one chunk on one device: arguments, outputs "
                    "and temporaries"
                ),
            },
            "total_s": time.perf_counter() - t_start,
        }
    )


def bench_workload(
    w: Workload, n: int, repeats: int, log: Any, devices: Sequence[Any] | None = None
) -> dict[str, Any]:
    """One row of :func:`run_bench`: workload ``w`` at ``n`` settings, warmed up, then timed
    ``repeats`` times (``peak_fraction`` is left ``None`` until the peak is known)."""
    x, y = w.data()
    space = grid(learning_rate=w.learning_rates(n))

    def run():
        return sweep(w.model, w.loss, (x, y), w.base, space, key=jax.random.key(0),
                     devices=devices, progress=False)  # fmt: skip

    log(f"{w.name}: {n} settings x {w.steps} steps; compiling...")
    first_s, first = time_once(run)
    compile_s = sum(g.compile_s for g in first.groups)
    log(f"{w.name}: compiled in {compile_s:.2f} s; warm-up run {first_s - compile_s:.3g} s")
    samples = []
    result = first
    for i in range(repeats):
        seconds, result = time_once(run)
        samples.append(seconds)
        log(f"{w.name}: repeat {i + 1}/{repeats}: {seconds:.4g} s")
    wall = statistics.median(samples)
    group = result.groups[0]
    n_devices = len(result.info["devices"])
    hand = w.flop_count(int(x.shape[0]))
    flops = n * (w.steps * hand["total"] + hand["forward"])
    check = _flop_check(w, hand, group.chunk_size, n_devices)
    return {
        "workload": w.name,
        "n_settings": n,
        "system": "jaxfit",
        "wall_s": wall,
        "compile_s": compile_s,
        "flops": flops,
        "score": None,
        "memory_bytes": group.bytes_per_chunk,
        "settings_per_s": n / wall,
        "steps_per_s": n * w.steps / wall,
        "flops_per_s": flops / wall,
        "peak_fraction": None,  # set once the peak is known
        "steps": w.steps,
        "seeds": 1,
        "devices": n_devices,
        "chunk_size": group.chunk_size,
        "n_chunks": group.n_chunks,
        "padded_rows": group.chunk_size * group.n_chunks - n,
        "run_s_internal": group.run_s,
        "first_call_s": first_s,
        "samples": samples,
        "repeats": repeats,
        "diverged": int(result.diverged.sum()),
        "flops_per_step": hand["total"],
        "flop_check": check,
    }


def _flop_check(w: Workload, hand: dict[str, float], width: int, n_devices: int):
    """Hand vs XLA FLOPs per setting of the sweep's compiled program (loop body once)."""
    # The sweep just ran, so its programs are the cache's most recently used entries; the
    # one it ran its chunks with is the newest of its width (it may have probed others).
    program = next((p for p in reversed(cached_programs()) if p.width == width), None)
    xla = None
    if program is not None:
        per_device = xla_flops(program.executable)
        xla = None if per_device is None else per_device / (width / n_devices)
    hand_once = hand["total"] + hand["forward"]
    ratio = None if not xla else hand_once / xla
    tolerance = w.flop_tolerance
    return {
        "hand": hand_once,
        "xla": xla,
        "hand_over_xla": ratio,
        "tolerance": tolerance,
        "agrees": None if ratio is None or tolerance is None else abs(ratio - 1) <= tolerance,
        "note": LINEAR_FLOP_NOTE if tolerance is None else None,
    }


def _check_workloads(workloads: Sequence[str] | None) -> list[str] | None:
    if workloads is None:
        return None
    if isinstance(workloads, str):
        raise TypeError(
            f"workloads must be a list of names, such as [{workloads!r}]; got the string "
            f"{workloads!r}."
        )
    names = list(workloads)
    unknown = [n for n in names if n not in WORKLOADS]
    if unknown or not names:
        what = f"unknown workload(s) {unknown}" if unknown else "no workloads given"
        raise ValueError(f"{what}; allowed are {list(WORKLOADS)}.")
    return names


def _check_positive(name: str, value: Any, *, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int; got {value!r}.")


def _logger(progress: bool):
    def log(line: str) -> None:
        if progress:
            print(f"jaxfit bench: {line}", file=sys.stderr, flush=True)

    return log


def _load_average() -> list[float] | None:
    try:
        return list(os.getloadavg())
    except (OSError, AttributeError):  # not on every platform
        return None


# ----------------------------------------------------------------------------- CLI


def register(sub: argparse._SubParsersAction) -> None:
    """Adds ``jaxfit bench`` to the command line."""
    bench = sub.add_parser(
        "bench",
        help="benchmark jaxfit.sweep on this machine's CPU, GPU or TPU",
        description=(
            "Runs fixed learning-rate sweeps through jaxfit.sweep and reports compile time, "
            "run time, settings/s, steps/s and achieved FLOP/s against a matmul peak "
            "measured in the same run. A table goes to stdout, progress to stderr, and "
            "the results to a JSON file."
        ),
    )
    bench.add_argument(
        "--workloads", type=_workload_list, default=None, metavar="NAME[,NAME...]",
        help=f"comma-separated, from {', '.join(WORKLOADS)} (default: all; with --quick on "
        f"a CPU: {', '.join(QUICK_CPU_WORKLOADS)})",
    )  # fmt: skip
    bench.add_argument(
        "--settings", type=_positive_int, default=None, metavar="N",
        help="settings per workload (default: per workload and platform)",
    )  # fmt: skip
    bench.add_argument(
        "--repeats", type=_positive_int, default=3, metavar="R",
        help="timed runs after the warm-up; the median is reported (default 3)",
    )  # fmt: skip
    bench.add_argument(
        "--quick", action="store_true", help="fewer settings: seconds on a 2-core CPU"
    )
    bench.add_argument(
        "--json", default=None, metavar="PATH",
        help="where to write the JSON results (default: ./jaxfit-bench-<platform>.json)",
    )  # fmt: skip
    bench.add_argument(
        "--cpu-devices", type=_positive_int, default=None, metavar="K",
        help="split the CPU into K devices first (jaxfit.use_cpu_devices)",
    )  # fmt: skip
    bench.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    return bench_command(
        workloads=args.workloads, n_settings=args.settings, repeats=args.repeats,
        quick=args.quick, json_path=args.json, cpu_devices=args.cpu_devices,
    )  # fmt: skip


def bench_command(
    *,
    workloads: Sequence[str] | None = None,
    n_settings: int | None = None,
    repeats: int = 3,
    quick: bool = False,
    json_path: str | None = None,
    cpu_devices: int | None = None,
) -> int:
    """``jaxfit bench``: runs :func:`run_bench`, prints its table and writes its JSON."""
    if cpu_devices is not None:
        from .._sweeping import use_cpu_devices

        try:  # must come before anything starts JAX's backends
            use_cpu_devices(cpu_devices)
        except (RuntimeError, ValueError) as e:
            print(f"jaxfit bench: error: --cpu-devices {cpu_devices}: {e}", file=sys.stderr)
            return 2
    doc = run_bench(workloads, n_settings=n_settings, repeats=repeats, quick=quick)
    path = _json_path(json_path, doc["machine"]["platform"])
    if path.exists():
        print(f"jaxfit bench: overwriting the existing {path}", file=sys.stderr, flush=True)
    write_json(doc, path)
    print(format_table(doc))
    print(f"\nJSON results written to {path}")
    return 0


def _json_path(json_path: str | None, platform: str) -> Path:
    name = f"jaxfit-bench-{platform}.json"
    if json_path is None:
        return Path.cwd() / name
    path = Path(json_path)
    return path / name if path.is_dir() else path


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer; got {text!r}")
    return value


def _workload_list(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in WORKLOADS]
    if unknown or not names:
        what = f"unknown workload(s) {', '.join(map(repr, unknown))}" if unknown else "empty"
        raise argparse.ArgumentTypeError(
            f"{what} in {text!r}; allowed are {', '.join(WORKLOADS)} (comma-separated)"
        )
    return names
