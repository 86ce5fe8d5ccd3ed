"""Shared benchmark machinery: machine info, clocks, matmul peak, FLOP counts, output files.

Every number a benchmark reports goes through these helpers, so the rules of
``BENCHMARKS.md`` hold in one place: warm up first, block on results before stopping a
clock, take the median of repeats, measure compilation separately
(``jax.jit(f).lower(...).compile()``), and count FLOPs by hand, checked against XLA's
``cost_analysis``. The pieces that ``jaxfit bench`` uses too (machine info, clocks, the
matmul peak, FLOP and memory counts, JSON output) live in ``jaxfit._cli.bench_measure`` and
are re-exported here.
"""

from __future__ import annotations

import hashlib
import os
import resource
import statistics
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jaxfit._cli.bench_measure import (
    compile_timed,
    dense_step_flops,
    jsonable,
    machine_info,
    matmul_peak_flops,
    memory_bytes,
    time_once,
    write_json,
    xla_flops,
)

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


# ----------------------------------------------------------------------------- output


def write_result(payload: dict[str, Any]) -> Path:
    """Writes ``benchmarks/results/<benchmark>.json`` (NaN and inf become ``null``)."""
    return write_json(payload, RESULTS_DIR / f"{payload['benchmark']}.json")
