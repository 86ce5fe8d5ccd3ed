"""``jaxfit demo``: parameters vs hyperparameters, end to end, in well under a minute."""

from __future__ import annotations

import argparse
import pathlib
import sys
import time
from typing import Any, TextIO

from .._cv import StratifiedKFold
from .._hp import grid, to_dict
from .._sweeping import sweep
from .._training import CAUSES, Hyperparams, fit, linear, mlp
from .._version import VERSION

__all__ = ["demo_command", "register", "spirals"]

DEFAULT_OUT = "jaxfit-demo"


def register(sub: argparse._SubParsersAction) -> None:
    """Adds ``jaxfit demo`` to the command line."""
    demo = sub.add_parser(
        "demo",
        help="fit y = a*x + b, sweep its learning rate, cross-validate an MLP, draw figures",
        description="Parameters vs hyperparameters, end to end: fit y = a*x + b; sweep the "
        "learning rate x seeds in one compiled program; cross-validate an MLP's hidden "
        "layers (static: one compile each) x learning rate (vmapped); write PNG figures.",
    )
    demo.add_argument("--seed", type=int, default=0, help="PRNG seed (default 0)")
    demo.add_argument(
        "--out",
        default=DEFAULT_OUT,
        metavar="DIR",
        help=f"directory for the figures (default ./{DEFAULT_OUT}; needs matplotlib)",
    )
    demo.set_defaults(run=lambda args: demo_command(seed=args.seed, figures=args.out))


def spirals(n_per_class: int, classes: int = 3, noise: float = 0.2, seed: int = 0):
    """``classes`` interleaved 2-D spirals: a data set where depth matters, no download.

    Returns ``(x, y)``: float32 inputs ``(n, 2)`` and int32 labels ``(n,)``.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    t = rng.uniform(0.0, 1.0, (classes, n_per_class))
    radius = 0.1 + t
    angle = 2.5 * np.pi * t + 2.0 * np.pi * np.arange(classes)[:, None] / classes
    angle = angle + noise * rng.normal(size=angle.shape)
    x = np.stack([radius * np.cos(angle), radius * np.sin(angle)], -1).reshape(-1, 2)
    y = np.repeat(np.arange(classes), n_per_class)
    order = rng.permutation(len(y))
    return x[order].astype(np.float32), y[order].astype(np.int32)


def demo_command(*, seed: int = 0, figures: str | None = DEFAULT_OUT, out: TextIO | None = None):
    """Runs the demo; prints to ``out`` and writes figures under ``figures`` (None: none)."""
    stream = out or sys.stdout

    def say(line: str = "") -> None:
        print(line, file=stream, flush=True)

    import jax
    import numpy as np

    t_all = time.perf_counter()
    key = jax.random.key(seed)
    k_data, k_noise, k_fit, k_sweep, k_cv = jax.random.split(key, 5)
    n = 200
    x = np.asarray(jax.random.uniform(k_data, (n,), minval=-1.0, maxval=1.0))
    y = 2.0 * x + 1.0 + 0.1 * np.asarray(jax.random.normal(k_noise, (n,)))
    say(f"jaxfit {VERSION} on {jax.devices()[0].platform} — data: y = 2·x + 1 + noise, {n} points")
    say()
    say("1. Parameters are learned; hyperparameters are chosen before training.")
    hp = Hyperparams(optimizer="sgd", learning_rate=0.1, steps=500)
    t0 = time.perf_counter()
    result = fit(linear(), "mse", (x, y), hp, key=k_fit)
    a, b = float(result.params["w"][0, 0]), float(result.params["b"][0])
    elapsed = time.perf_counter() - t0
    design = np.stack([x, np.ones(n)], axis=1)
    a_ls, b_ls = np.linalg.lstsq(design, y, rcond=None)[0]
    lr = to_dict(hp)["learning_rate"]
    say(f"   hyperparameters  optimizer={hp.optimizer!r}  learning_rate={lr}  steps={hp.steps}")
    say(
        f"   learned          a = {a:.4f}   b = {b:.4f}   (final mse "
        f"{float(result.metrics['train_loss']):.5f}, {elapsed:.2f} s with compilation)"
    )
    say(f"   least squares    a = {a_ls:.4f}   b = {b_ls:.4f}   (closed form, numpy)")
    say()

    rates = [0.001, 0.01, 0.1, 0.5, 0.9, 1.2, 2.0]
    seeds = 3
    say(
        f"2. Sweep: {len(rates)} learning rates x {seeds} seeds = {len(rates) * seeds} runs, "
        "trained at once by jax.vmap in one compiled program."
    )
    lr_sweep = sweep(
        linear(), "mse", (x, y), hp, grid(learning_rate=rates),
        key=k_sweep, seeds=seeds, progress=False,
    )  # fmt: skip
    _lr_table(lr_sweep, say)
    g = lr_sweep.groups[0]
    say(
        f"   one compile ({g.compile_s:.2f} s); all {len(rates) * seeds} runs of {hp.steps} steps "
        f"took {g.run_s * 1e3:.0f} ms. A diverged run is frozen inside the program at its "
        "last good step; the others never notice."
    )
    say()

    xs, ys = spirals(150, seed=seed)
    depths = [(16,), (16, 16), (16, 16, 16)]
    cv_rates = [0.003, 0.01, 0.03, 0.1]
    base = Hyperparams(optimizer="adam", steps=400, activation="tanh")
    space = grid(hidden=depths, learning_rate=cv_rates)
    say(
        f"3. Cross-validation: an MLP on {len(ys)} points of 3 interleaved spirals (no download), "
        f"{len(depths)} depths x {len(cv_rates)} learning rates x 5 folds."
    )
    say(
        "   `hidden` is static (it changes the program): one compile per depth. The learning "
        "rate and the folds are vmapped."
    )
    t0 = time.perf_counter()
    cv_sweep = sweep(
        mlp(3), "softmax_cross_entropy", (xs, ys), base, space, key=k_cv,
        cv=StratifiedKFold(5, shuffle=True, seed=seed), metrics=["accuracy"],
        progress=False,
    )  # fmt: skip
    cv_s = time.perf_counter() - t0
    for group in cv_sweep.groups:
        depth = len(dict(group.static_key[1])["hidden"])
        say(
            f"   depth {depth}: compiled in {group.compile_s:.2f} s, {len(group.indices)} settings "
            f"x 5 folds trained in {group.run_s:.2f} s"
        )
    _cv_table(cv_sweep, say)
    best = cv_sweep.best(1, metric="val_accuracy")[0]
    chosen = best["varied"]
    say(
        f"   best: hidden={chosen['hidden']} learning_rate={chosen['learning_rate']}"
        f"  val_accuracy {best['mean']:.3f} ± {best['std']:.3f} over 5 folds ({cv_s:.1f} s "
        "in all, compiles included)"
    )
    say()
    if figures is not None:
        _figures(figures, lr_sweep, cv_sweep, say)
    say(f"done in {time.perf_counter() - t_all:.1f} s.")
    return 0


def _lr_table(r: Any, say) -> None:
    import numpy as np

    say(f"   {'learning_rate':>13}  {'a':>8}  {'b':>8}  {'final mse':>18}  status")
    for i, h in enumerate(r.hyperparams):
        params = [r.params(i, s) for s in range(r.seeds)]
        a = np.mean([float(p["w"][0, 0]) for p in params])
        b = np.mean([float(p["b"][0]) for p in params])
        if r.diverged[i].any():
            steps = sorted({int(s) for s in r.diverged_step[i][r.diverged[i]]})
            causes = sorted({CAUSES[int(c)] for c in r.cause[i][r.diverged[i]]})
            status = (
                f"DIVERGED ({', '.join(causes)}) at step {', '.join(map(str, steps))} in "
                f"{int(r.diverged[i].sum())} of {r.seeds} seeds"
            )
            mse = a_text = b_text = "—"
        else:
            status = "ok"
            mse = f"{r.mean('train_loss')[i]:.5f} ± {r.std('train_loss')[i]:.0e}"
            a_text, b_text = f"{a:.4f}", f"{b:.4f}"
        say(f"   {h['learning_rate']:>13g}  {a_text:>8}  {b_text:>8}  {mse:>18}  {status}")


def _cv_table(r: Any, say) -> None:
    mean, std = r.mean("val_accuracy"), r.std("val_accuracy")
    rates = sorted({h["learning_rate"] for h in r.hyperparams})
    say("   mean validation accuracy over 5 folds:")
    say("   " + f"{'hidden':>14}" + "".join(f"  lr={lr:<7g}" for lr in rates))
    rows: dict[Any, dict[float, str]] = {}
    for i, h in enumerate(r.hyperparams):
        cell = "diverged" if r.diverged[i].any() else f"{mean[i]:.3f}±{std[i]:.2f}"
        rows.setdefault(h["hidden"], {})[h["learning_rate"]] = cell
    for hidden, cells in rows.items():
        say("   " + f"{hidden!s:>14}" + "".join(f"  {cells.get(lr, ''):<10}" for lr in rates))


def _figures(directory: str, lr_sweep: Any, cv_sweep: Any, say) -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        say(
            "4. Figures need matplotlib, which is not installed: pip install 'jaxfit[plot]' "
            "(then run jaxfit demo again)."
        )
        return
    root = pathlib.Path(directory)
    paths = lr_sweep.save_figures(root / "lr_sweep")
    paths += cv_sweep.save_figures(root / "mlp_cv", metric="val_accuracy")
    say(f"4. Figures ({len(paths)} PNG files) in {root.resolve()}:")
    for p in paths:
        say(f"   {p}")
