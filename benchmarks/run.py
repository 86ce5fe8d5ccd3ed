"""Runs benchmarks and regenerates ``benchmarks/RESULTS.md`` from ``benchmarks/results/*.json``.

Usage::

    python -m benchmarks [--quick]             # every benchmark
    python benchmarks/run.py NAME [--quick]    # one (e.g. sweep_speed)
    python benchmarks/run.py --report          # only rewrite RESULTS.md from the JSON files

Each benchmark module has ``run(*, quick, max_minutes) -> dict``, the JSON payload of
``BENCHMARKS.md``; this runner writes it to ``benchmarks/results/<name>.json`` and then
rebuilds the whole ``RESULTS.md`` from every JSON file there, so tables from earlier runs
of other benchmarks are kept.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `import benchmarks` work
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import common
from jaxfit._cli.bench_measure import format_bytes, format_si  # the same formatting as jaxfit bench

BENCHMARKS = ("sweep_speed", "model_selection")
RESULTS_MD = common.BENCH_DIR / "RESULTS.md"
TIMES = "\u00d7"  # the multiplication sign, for ratios in the tables


def run_one(name: str, *, quick: bool, max_minutes: float) -> Path:
    """Runs benchmark ``name`` and writes its JSON file; returns the file's path."""
    module = importlib.import_module(f"benchmarks.{name}")
    t0 = time.perf_counter()
    payload = module.run(quick=quick, max_minutes=max_minutes)
    payload["total_s"] = time.perf_counter() - t0
    path = common.write_result(payload)
    common.log(f"{name}: wrote {path} ({payload['total_s']:.0f} s)")
    return path


# ----------------------------------------------------------------------------- report


def _num(v: Any, digits: int = 3) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "NO"
    if isinstance(v, int):
        return str(v)
    if v == 0:
        return "0"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    return f"{v:.{digits}g}"


def _ratio(row: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    """``jaxfit/vmap`` (overhead) on vmap's row, ``<peer>/jaxfit`` (speed-up) on the others."""
    wall = row.get("wall_s")
    if not wall:
        return "—"

    def other(system: str) -> dict[str, Any] | None:
        for r in rows:
            same = (r["workload"], r["n_settings"]) == (row["workload"], row["n_settings"])
            if same and r["system"] == system and r.get("wall_s"):
                return r
        return None

    if row["system"] == "jaxfit":
        return "(reference)"
    j = other("jaxfit")
    if j is None:
        return "—"
    if row["system"] == "vmap":  # jaxfit's overhead over the hand-written program
        return f"jaxfit/vmap {j['wall_s'] / wall:.3f}{TIMES}"
    return f"{row['system']}/jaxfit {wall / j['wall_s']:.3g}{TIMES}"  # jaxfit's speed-up


def _notes(row: dict[str, Any]) -> str:
    notes = []
    if row.get("extrapolated_from"):
        notes.append(f"**extrapolated** from {row['extrapolated_from']} calls")
    if row.get("deviation"):
        notes.append(f"**{row['deviation']}**")
    if row.get("skipped"):
        notes.append(row["skipped"])
    if row.get("diverged"):
        notes.append(f"{row['diverged']} diverged")
    if row.get("chunk_size") and row.get("n_chunks", 1) > 1:
        notes.append(
            f"{row['n_chunks']} chunks of {row['chunk_size']} rows, "
            f"{format_bytes(row.get('bytes_per_row'))}/row"
        )
    if row.get("memory_budget"):
        notes.append(f"budget {format_bytes(row['memory_budget'])}")
    if row.get("ru_maxrss_bytes"):
        notes.append(
            f"ru_maxrss {format_bytes(row['ru_maxrss_bytes'])} (compiling included); timed call: "
            f"peak RSS {format_bytes(row.get('rss_peak_timed_bytes'))} = "
            f"{format_bytes(row.get('rss_before_timed_bytes'))} before + "
            f"{format_bytes(row.get('result_bytes'))} result arrays + "
            f"{format_bytes(row.get('rss_working_bytes'))} working"
        )
    if row.get("same_result") is False:
        notes.append(f"max rel. diff {row.get('max_rel_diff', float('nan')):.2g}")
    return "; ".join(notes)


def _table(payload: dict[str, Any]) -> list[str]:
    rows = payload["rows"]
    lines = [
        "| workload | N | steps | system | wall_s | compile_s | ratio | GFLOP/s | % peak "
        "| memory | same_result | notes |",
        "|---|---:|---:|---|---:|---:|---|---:|---:|---:|---|---|",
    ]
    for r in rows:
        fraction = r.get("peak_fraction")
        cells = [
            r["workload"], str(r["n_settings"]), _num(r.get("steps")), r["system"],
            _num(r.get("wall_s")), _num(r.get("compile_s")), _ratio(r, rows),
            _num(r.get("gflops")), "—" if fraction is None else f"{100 * fraction:.1f}%",
            format_bytes(r.get("memory_bytes")), _num(r.get("same_result")), _notes(r),
        ]  # fmt: skip
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return lines


def _machine(payload: dict[str, Any]) -> str:
    m = payload["machine"]
    peak = payload.get("peak_flops")
    peak_text = f"; matmul peak {peak / 1e9:.0f} GFLOP/s measured in this run" if peak else ""
    load = ""
    if payload.get("load_average"):
        start, end = payload["load_average"]["start"][0], payload["load_average"]["end"][0]
        load = f"; 1-min load average {start:.1f} at the start, {end:.1f} at the end"
    source = payload.get("jaxfit_source")
    if source:
        start = source["start"]
        state = "dirty tree" if start.get("dirty") else "clean tree"
        load += f"; jaxfit at {start.get('git_head')} ({state}, source {start['sha256']})"
        if not source.get("unchanged", True):
            children = ", ".join(
                f"{c.get('git_head')} ({c['sha256']})" for c in source.get("children", [])
            )
            end = source["end"]
            load += (
                " — **WARNING: the jaxfit source changed during this run**: rows timed in the "
                "runner's process measured the version above (imported at the start)"
                + (f"; child processes imported {children}" if children else "")
                + f"; at the end the tree was at {end.get('git_head')} ({end['sha256']})"
            )
    return (
        f"Machine: {m['platform']} ({m.get('cpu_model', m['device_kind'])}), "
        f"{m['device_count']} device(s), {m['cpu_count']} CPUs; jax {m['jax']}, "
        f"jaxfit {m['jaxfit']}; {m['date']}; {payload['mode']} mode"
        f"{peak_text}{load}."
    )


def _targets(payload: dict[str, Any]) -> list[str]:
    out = []
    for t in payload.get("targets", []):
        verdict = "met" if t["met"] else "**not met**"
        unit = t.get("unit", TIMES)
        value = f"{t['value']:.3f}{unit}" if t["value"] < 10 else f"{t['value']:.1f}{unit}"
        line = f"- {t['target']}: {value} (target {t['goal']}{unit}): {verdict}"
        out.append(line + (f". Context: {t['context']}." if t.get("context") else ""))
    return out


def _flop_lines(payload: dict[str, Any]) -> list[str]:
    out = []
    for name, c in payload.get("flop_check", {}).items():
        out.append(
            f"- {name}: {format_si(c['hand_per_step'])} FLOPs per setting-step by hand; XLA "
            f"cost_analysis of one step: {format_si(c.get('xla_per_step_vmap'))} (vmap's), "
            f"{format_si(c.get('xla_per_step_jaxfit'))} (jaxfit's, with weights and guards); "
            f"hand/XLA = {_num(c.get('hand_over_xla_vmap'))}; {c.get('bound', '')}"
        )
    return out


def render(results_dir: Path = common.RESULTS_DIR) -> str:
    """RESULTS.md's text, from every JSON file in ``results_dir``."""
    parts = [
        "# Benchmark results",
        "",
        "Generated by `python -m benchmarks` (or `python benchmarks/run.py NAME`) from "
        "`benchmarks/results/*.json`; do not edit by hand. Times are medians in seconds "
        "without compilation; on a shared CPU only the ratios are meaningful.",
    ]
    for path in sorted(results_dir.glob("*.json")):
        payload = json.loads(path.read_text())
        parts += ["", f"## {payload['benchmark']}", "", _machine(payload), ""]
        # A benchmark whose table differs from sweep_speed's renders its own section.
        module = importlib.import_module(f"benchmarks.{payload['benchmark']}")
        if hasattr(module, "report"):
            parts += [*module.report(payload), ""]
            if payload.get("targets"):
                parts += ["Targets in this run:", "", *_targets(payload), ""]
            continue
        for key, about in payload.get("workloads", {}).items():
            parts.append(
                f"- `{key}`: {about['data']}; {about['model']} {about['widths']}, "
                f"{about['loss']}, {about['optimizer']}, {about['steps']} full-batch steps; "
                f"learning rates {about['learning_rates']}."
            )
        settings = payload.get("settings", {})
        if settings.get("wall_s"):
            parts.append(f"- wall_s: {settings['wall_s']}.")
        if settings.get("same_result"):
            parts.append(f"- same_result: {settings['same_result']}.")
        parts += ["", *_table(payload), ""]
        if payload.get("targets"):
            parts += ["Targets in this run:", "", *_targets(payload), ""]
        if payload.get("flop_check"):
            parts += ["FLOP counts:", "", *_flop_lines(payload), ""]
    return "\n".join(parts).rstrip() + "\n"


def write_report() -> Path:
    RESULTS_MD.write_text(render())
    return RESULTS_MD


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run jaxfit's benchmarks.")
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"benchmarks to run (default: {BENCHMARKS})"
    )
    parser.add_argument("--quick", action="store_true", help="a couple of minutes on 2 cores")
    parser.add_argument(
        "--max-minutes", type=float, default=20.0,
        help="longest the N=16384 row may run in full mode before its steps are cut (default 20)",
    )  # fmt: skip
    parser.add_argument("--report", action="store_true", help="only regenerate RESULTS.md")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; known are {list(BENCHMARKS)}")
    if not args.report:
        for name in args.names or BENCHMARKS:
            run_one(name, quick=args.quick, max_minutes=args.max_minutes)
    common.log(f"wrote {write_report()}")


if __name__ == "__main__":
    main()
