"""``jaxfit sweep CONFIG.toml``: the sweep a config describes, its plan, outputs and resume."""

from __future__ import annotations

import argparse
import csv
import dataclasses
import inspect
import io
import json
import math
import os
import pathlib
import shutil
import statistics
import sys
import time
from typing import Any, TextIO

import numpy as np

from .._hp import static_key
from .._sweeping import SweepDiverged, sweep, sweep_plan
from .._training import METRICS, MODELS
from .._version import VERSION
from .config import CLASSIFIERS, ConfigError, SweepConfig, load_config
from .datasources import Data, load_data, split_validation, standardize

__all__ = ["register", "run_config"]

MARKER, COPY = "sweep.json", "sweep.toml"  # which config wrote an output directory
OUTPUTS = ("results.csv", "results.json", "summary.txt", "result", "figures", "checkpoint",
           COPY, MARKER)  # fmt: skip


def register(sub: argparse._SubParsersAction) -> None:
    """Adds ``jaxfit sweep`` to the command line."""
    p = sub.add_parser(
        "sweep",
        help="run the sweep a TOML config describes",
        description="Train every setting x seed (x fold) of the sweep that CONFIG describes "
        "and write the results into its output directory; see docs/config.md. Running the "
        "same command again after an interruption resumes where it stopped.",
    )
    p.add_argument("config", metavar="CONFIG.toml", help="the sweep's TOML config file")
    p.add_argument("--out", metavar="DIR", help="the output directory (default: [output] dir)")
    p.add_argument("--dry-run", action="store_true", help="print the plan: groups, chunks, "
                   "memory, FLOPs, a time bound; train and write nothing")  # fmt: skip
    p.add_argument("--quiet", action="store_true", help="print only errors and notes")
    p.add_argument("--force", action="store_true", help="start over, replacing what the output "
                   "directory holds (another config's results, a finished run)")  # fmt: skip
    p.set_defaults(run=_main)


def _main(args: argparse.Namespace) -> int:
    try:
        run_config(
            args.config, out=args.out, dry_run=args.dry_run, force=args.force, quiet=args.quiet
        )
    except ConfigError as e:
        print(f"jaxfit sweep: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # finished chunks are saved: say how to go on, not where it stopped
        print("jaxfit sweep: interrupted; run the same command to resume.", file=sys.stderr)
        return 130
    return 0


def run_config(
    path: str | os.PathLike,
    *,
    out: str | os.PathLike | None = None,
    dry_run: bool = False,
    force: bool = False,
    quiet: bool = False,
    progress: bool | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> Any:
    """Runs the sweep a TOML config file describes and writes its outputs.

    Args:
      path: the config file (see ``docs/config.md`` for its schema).
      out: the output directory, overriding ``[output] dir`` (relative to the working
        directory, where ``[output] dir`` is relative to the config file).
      dry_run: plan only: print the static groups, chunks, memory, FLOPs and a lower
        bound on the time, train nothing, write nothing; return the plan.
      force: replace the outputs of a different config (or start a finished or
        interrupted run of this config over) instead of refusing or resuming.
      quiet: print nothing but notes (no plan, no progress bar, no summary).
      progress: show the progress bar (default: when stderr is a terminal, unless quiet).
      stdout: where to print (default ``sys.stdout``); ``stderr``: where notes go.

    Returns:
      The :class:`jaxfit.SweepResult`, or with ``dry_run`` the :class:`jaxfit.SweepPlan`.

    Raises:
      ConfigError: for a config, data or output directory that cannot be used, naming
        the file and key; also for a sweep that refuses to run (its message included).

    Examples:
      >>> import pathlib, tempfile, jaxfit
      >>> text = '''
      ... [model]
      ... name = "linear"
      ... [data]
      ... source = "linear"   # y = a·x + b + noise
      ... [hyperparams]
      ... optimizer = "sgd"
      ... steps = 50
      ... [space.grid]
      ... learning_rate = [0.05, 0.5]
      ... [output]
      ... figures = false
      ... '''
      >>> with tempfile.TemporaryDirectory() as tmp:
      ...     path = pathlib.Path(tmp, "lr.toml")
      ...     _ = path.write_text(text)
      ...     result = jaxfit.run_config(path, quiet=True)
      ...     print(*sorted(p.name for p in (pathlib.Path(tmp) / "runs" / "lr").iterdir()))
      checkpoint result results.csv results.json summary.txt sweep.json sweep.toml
      >>> result.best(1)[0]["varied"]
      {'learning_rate': 0.5}
    """
    import jax

    def say(line: str = "") -> None:
        if not quiet:
            print(line, file=stdout or sys.stdout, flush=True)

    def note(line: str) -> None:
        print(f"note: {line}", file=stderr or sys.stderr, flush=True)

    config = load_config(path)
    out_dir = pathlib.Path(out).resolve() if out is not None else config.out_dir
    job = resolve(config)
    say(f"config   {config.file} -> {out_dir}")
    say(f"data     {job.data.description}{' (standardized)' * config.data.standardize}")
    say(f"model    {job.model_label}, loss {job.loss!r}; {job.split}")
    say(f"ranked   by {job.rank} ({job.better} is better)")
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(config.file, "output", "dir", f"{out_dir} is a file, not a directory.")
    state = _state(out_dir, config)
    if dry_run:
        plan = _refusing(config, lambda: sweep_plan(**job.kwargs))
        say(str(plan))
        say(_estimate(plan, jax))
        say(f"output   {out_dir}: {_STATES[state]}")
        say("dry run: nothing trained, nothing written.")
        return plan
    _claim(out_dir, config, state, force)
    settings = config.space.apply(config.hyperparams) if config.space else [config.hyperparams]
    n_groups = len({static_key(h) for h in settings})
    folds = getattr(config.cv, "n_splits", config.cv) or 1
    seeds = config.options["seeds"]
    runs = f"{len(settings)} settings x {seeds} seeds" + f" x {folds} folds" * (folds > 1)
    say(f"plan     {runs} = {len(settings) * seeds * folds} runs in {n_groups} static group(s), "
        "one compile each")  # fmt: skip
    checkpoint = out_dir / "checkpoint"
    done = len(list(checkpoint.glob("group*.npz"))) if state == "same" and not force else 0
    if done:
        say(f"resume   {done} finished chunk(s) in {checkpoint}")
    t0 = time.perf_counter()
    result = _refusing(config, lambda: sweep(
        **job.kwargs, checkpoint_dir=str(checkpoint), keep_params=config.save_params,
        progress=False if quiet else progress,
    ))  # fmt: skip
    say(result.summary(k=config.top, metric=job.rank))
    written = write_outputs(out_dir, config, job, result, note)
    say(f"wrote    {', '.join(written)} into {out_dir} ({time.perf_counter() - t0:.1f} s)")
    return result


@dataclasses.dataclass(frozen=True)
class Job:
    """A config resolved against its data: the keyword arguments of ``jaxfit.sweep``."""

    kwargs: dict[str, Any]
    data: Data
    loss: str
    rank: str  # the ranking metric's name in the result, e.g. "val_accuracy"
    better: str  # "higher" or "lower"
    model_label: str
    split: str


def resolve(config: SweepConfig) -> Job:
    """Loads the data and infers what the config leaves open: loss, outputs, metrics."""
    import jax

    model = config.model
    data = load_data(config.data, file=config.file, base_dir=config.base_dir, task=config.task)
    n_classes = len(data.classes) if data.classes is not None else 0
    default = "softmax_cross_entropy" if data.task == "classification" else "mse"
    loss = config.loss or CLASSIFIERS.get(model, default)
    if loss == "binary_cross_entropy" and n_classes != 2:
        where = ("model", "name") if model == "logistic" else ("sweep", "loss")
        raise ConfigError(config.file, *where, f"{loss!r} is for 2 classes, but the data has "
                          f"{n_classes}; use 'softmax_cross_entropy' with 'mlp' or "
                          "'softmax_regression'.")  # fmt: skip
    width = {"binary_cross_entropy": 1, "softmax_cross_entropy": n_classes}.get(loss)
    width = width or (data.y.shape[1] if data.y.ndim == 2 else 1)
    args = dict(config.model_args)
    for arg in ("n_outputs", "n_classes"):
        if arg in inspect.signature(MODELS[model]).parameters:
            given = args.setdefault(arg, width)
            if given != width:
                message = f"is {given}, but the data and the loss {loss!r} need {width}."
                raise ConfigError(config.file, "model", arg, message + " Leave it out to infer it.")
    validated = config.cv is not None or config.validation is not None
    prefix = "val" if validated else "train"
    stem = config.metric.removeprefix("train_").removeprefix("val_")
    rank = config.metric if config.metric != stem else f"{prefix}_{stem}"
    metrics = tuple(dict.fromkeys(config.metrics + ((stem,) if stem != "loss" else ())))
    for m in metrics:
        needs = "regression" if METRICS[m].target == "real" else "classification"
        if needs != data.task:
            key = "metric" if m == stem else "metrics"
            message = f"{m!r} needs {needs} targets; this data is for {data.task}."
            raise ConfigError(config.file, "sweep", key, message)
    x, y, val, split = data.x, data.y, None, "no validation data: ranked by training scores"
    if config.validation is not None:
        fraction, seed = config.validation
        train_rows, val_rows = split_validation(len(x), fraction, seed)
        if config.data.standardize:
            x = standardize(x, train_rows)
        x, y, val = x[train_rows], y[train_rows], (x[val_rows], y[val_rows])
        split = f"validation: {len(val_rows)} of {len(data.x)} samples held out"
    elif config.data.standardize:
        x = standardize(x)
    if config.cv is not None:
        split = f"cross-validation: {config.cv!r}"
    if data.groups is not None:
        named = config.data.options["groups"]
        split += f" over the {_check_groups(config, x, data.groups)} groups in {named!r}"
    kwargs = dict(model=MODELS[model](**args), loss=loss, data=(x, y), base=config.hyperparams,
                  space=config.space, key=jax.random.key(config.root_seed), val=val,
                  metrics=metrics, cv=config.cv, groups=data.groups,
                  **config.options)  # fmt: skip
    label = f"{model}({', '.join(f'{k}={v}' for k, v in args.items())})"
    better = "higher" if stem != "loss" and METRICS[stem].greater_is_better else "lower"
    return Job(kwargs, data, loss, rank, better, label, split)


def _check_groups(config: SweepConfig, x: Any, groups: Any) -> int:
    """The number of distinct groups, once the config's GroupKFold has split ``x`` by them.

    Its refusals (labels of another length than the samples, fewer groups than folds)
    become ConfigErrors naming the key to change.
    """
    try:
        config.cv.split(x, groups=groups)
    except (TypeError, ValueError) as e:
        one_each = np.ndim(groups) == 1 and len(groups) == len(x)
        raise ConfigError(config.file, *(("cv", "n_splits") if one_each else ("data", "groups")),
                          str(e)) from None  # fmt: skip
    return len(np.unique(groups))


def _refusing(config: SweepConfig, call: Any) -> Any:
    """Runs ``call``, turning a sweep's refusal into a ConfigError that says what to do."""
    try:
        return call()
    except MemoryError as e:
        raise ConfigError(config.file, "sweep", "memory_budget", str(e)) from e
    except (RuntimeError, PermissionError) as e:  # the checkpoint directory is busy/read-only
        if "checkpoint_dir=" not in str(e):
            raise
        raise ConfigError(config.file, "output", "dir", str(e)) from e
    except (TypeError, ValueError) as e:
        if "checkpoint_dir=" in str(e):
            message = f"{e} Rerun with --force to start over, or use another directory: --out DIR."
            raise ConfigError(config.file, "output", "dir", message) from e
        raise ConfigError(config.file, None, None, f"the sweep refused to run: {e}") from e


_STATES = {
    "new": "new; a run writes its results there",
    "same": "holds this config's outputs; a run resumes (or repeats) them",
    "other": "holds a different config's outputs; a run refuses without --force",
    "foreign": "holds files a run would overwrite; it refuses without --force",
}


def _state(out_dir: pathlib.Path, config: SweepConfig) -> str:
    """``"new"``, ``"same"`` (this config wrote it), ``"other"`` or ``"foreign"``."""
    try:
        digest = json.loads((out_dir / MARKER).read_text())["digest"]
    except FileNotFoundError:
        return "foreign" if any((out_dir / n).exists() for n in OUTPUTS) else "new"
    except (ValueError, KeyError, TypeError, OSError):
        return "other"
    return "same" if digest == config.digest else "other"


def _claim(out_dir: pathlib.Path, config: SweepConfig, state: str, force: bool) -> None:
    """Refuses another config's output directory (unless forced); marks it as this one's."""
    if state in ("other", "foreign") and not force:
        found = [n for n in OUTPUTS if (out_dir / n).exists()]
        whose = f"the outputs of a different config ({COPY})" if state == "other" else found
        message = f"{out_dir} already holds {whose}. Rerun with --force to replace them"
        raise ConfigError(config.file, "output", "dir", message + ", or use --out DIR.")
    own = pathlib.Path(config.file).resolve()
    if force:
        for name in OUTPUTS:
            p = out_dir / name
            if p.resolve() == own:  # never delete the config file itself
                continue
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            elif p.exists() or p.is_symlink():
                p.unlink()
    out_dir.mkdir(parents=True, exist_ok=True)
    if (out_dir / COPY).resolve() != own:
        _write(out_dir / COPY, config.text)
    marker = {"digest": config.digest, "config": str(own), "jaxfit": VERSION}
    _write(out_dir / MARKER, json.dumps(marker, indent=2) + "\n")


def write_outputs(
    out_dir: pathlib.Path, config: SweepConfig, job: Job, result: Any, note
) -> list[str]:
    """Writes results.csv, results.json, summary.txt, result/ and figures/; their names."""
    records = result.to_records()
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(records[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(
        {k: json.dumps(list(v)) if isinstance(v, tuple | list) else v for k, v in r.items()}
        for r in records
    )
    _write(out_dir / "results.csv", buffer.getvalue())
    try:
        best = result.best(config.top, metric=job.rank)
    except SweepDiverged as e:  # nothing to rank: say why instead
        best, reason = [], str(e)
    else:
        reason = None
    mean, std, order = result.mean(job.rank), result.std(job.rank), result.ranking(job.rank)
    rank_of = {int(i): r + 1 for r, i in enumerate(order)}
    settings = [{"setting": i, "rank": rank_of.get(i), "diverged": bool(result.diverged[i].any()),
                 "varied": {f: result.hyperparams[i][f] for f in result.varied},
                 "mean": mean[i], "std": std[i]} for i in range(len(result))]  # fmt: skip
    doc = {
        "config": config.file, "digest": config.digest, "data": job.data.description,
        "classes": job.data.classes, "features": job.data.features, "model": job.model_label,
        "loss": job.loss, "metric": job.rank,
        "greater_is_better": result.greater_is_better[job.rank], "n_settings": len(result),
        "seeds": result.seeds, "folds": result.folds, "varied": result.varied,
        "best": best, "no_best": reason, "settings": settings,
        "groups": [_group(g) for g in result.groups], "info": result.info, "records": records,
    }  # fmt: skip
    _write(out_dir / "results.json", json.dumps(_plain(doc), indent=1, allow_nan=False) + "\n")
    _write(out_dir / "summary.txt", result.summary(k=config.top, metric=job.rank) + "\n")
    result.save(out_dir / "result", params=config.save_params)
    written = ["results.csv", "results.json", "summary.txt", "result/"]
    if config.figures:
        try:
            paths = result.save_figures(out_dir / "figures", metric=job.rank)
            written.append(f"figures/ ({len(paths)} files)")
        except ImportError:
            note("figures need matplotlib: pip install 'jaxfit[plot]'; no figures written.")
    return written


def _group(g: Any) -> dict[str, Any]:
    return {"static": dict(g.static_key[1]), "settings": g.indices.tolist(),
            "compile_s": g.compile_s, "run_s": g.run_s, "chunk_size": g.chunk_size,
            "n_chunks": g.n_chunks, "bytes_per_chunk": g.bytes_per_chunk}  # fmt: skip


def _plain(v: Any) -> Any:
    """JSON-ready: tuples as lists, numpy scalars as Python numbers, NaN and inf as null."""
    if isinstance(v, dict):
        return {str(k): _plain(e) for k, e in v.items()}
    if isinstance(v, list | tuple):
        return [_plain(e) for e in v]
    if hasattr(v, "item") and not isinstance(v, str):
        v = v.item()
    return None if isinstance(v, float) and not math.isfinite(v) else v


def _write(path: pathlib.Path, text: str) -> None:
    """Writes a file atomically: a temporary sibling renamed over ``path``."""
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _estimate(plan: Any, jax: Any) -> str:
    """A lower bound on the training time: the plan's FLOPs at a matmul's measured rate."""
    if plan.flops is None:
        return "estimate: this backend reports no FLOP counts, so there is no time estimate."
    # The best median rate over sizes: an accelerator needs a large matmul to near its peak.
    sizes, repeats = (1024,) if jax.devices()[0].platform == "cpu" else (1024, 4096), 5
    rate = max(_matmul_rate(jax, n, repeats) for n in sizes)
    # CPU devices share the host's cores; accelerators work in parallel.
    parallel = 1 if jax.devices()[0].platform == "cpu" else len(plan.devices)
    seconds = plan.flops / (rate * parallel)
    compile_s = sum(g.compile_s for g in plan.groups)
    across, squares = f" x {parallel} devices" * (parallel > 1), [f"{n}x{n}" for n in sizes]
    return (
        f"estimate at least ~{_duration(seconds)} of training ({plan.flops:.3g} FLOPs, "
        f"{plan.flops / plan.n_settings:.3g} per setting, at this\n         device's matmul "
        f"rate: {rate / 1e9:.3g} GFLOP/s{across}, measured now as the best median of {repeats} "
        f"float32\n         {' and '.join(squares)} matmuls). A lower bound: small models run "
        "far below a matmul's rate.\n"
        f"compile  {compile_s:.2f} s while planning (a run in a new process compiles again)"
    )


def _duration(seconds: float) -> str:
    for unit, size in (("h", 3600), ("min", 60), ("s", 1), ("ms", 1e-3)):
        if seconds >= size or unit == "ms":
            return f"{seconds / size:.3g} {unit}"
    raise AssertionError("unreachable")  # pragma: no cover


def _matmul_rate(jax: Any, n: int, repeats: int) -> float:
    """FLOP/s of a jitted ``n x n`` float32 matmul: the median of ``repeats`` timed runs."""
    a = jax.numpy.ones((n, n), jax.numpy.float32)
    matmul = jax.jit(jax.numpy.matmul)
    matmul(a, a).block_until_ready()  # compile outside the timing
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        matmul(a, a).block_until_ready()
        times.append(time.perf_counter() - t0)
    return 2 * n**3 / statistics.median(times)
