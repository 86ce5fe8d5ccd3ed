"""``jaxfit demo``: parameters vs hyperparameters, end to end."""

from __future__ import annotations

import argparse
import sys
import time

__all__ = ["demo_command", "register"]


def register(sub: argparse._SubParsersAction) -> None:
    """Adds ``jaxfit demo`` to the command line."""
    demo = sub.add_parser("demo", help="fit y = a*x + b, then sweep the learning rate with vmap")
    demo.add_argument("--seed", type=int, default=0, help="PRNG seed (default 0)")
    demo.set_defaults(run=lambda args: demo_command(seed=args.seed))


def demo_command(*, seed: int = 0, out=None) -> int:
    """Parameters vs hyperparameters, end to end, in a few seconds on a CPU."""
    out = out or sys.stdout
    import jax
    import numpy as np

    import jaxfit

    def say(line: str = "") -> None:
        print(line, file=out, flush=True)

    key = jax.random.key(seed)
    kx, kn, kfit = jax.random.split(key, 3)
    n = 200
    x = jax.random.uniform(kx, (n,), minval=-1.0, maxval=1.0)
    y = 2.0 * x + 1.0 + 0.1 * jax.random.normal(kn, (n,))
    say(
        f"jaxfit {jaxfit.__version__} on {jax.devices()[0].platform} — data: y = 2·x + 1 + noise, "
        f"{n} points"
    )
    say()
    say("1. Parameters are learned; hyperparameters are chosen before training.")
    hp = jaxfit.Hyperparams(optimizer="sgd", learning_rate=0.1, steps=500)
    t0 = time.perf_counter()
    result = jaxfit.fit(jaxfit.linear(), "mse", (x, y), hp, key=kfit)
    a, b = float(result.params["w"][0, 0]), float(result.params["b"][0])
    elapsed = time.perf_counter() - t0
    design = np.stack([np.asarray(x), np.ones(n)], axis=1)
    a_ls, b_ls = np.linalg.lstsq(design, np.asarray(y), rcond=None)[0]
    lr = jaxfit.to_dict(hp)["learning_rate"]
    say(f"   hyperparameters  optimizer={hp.optimizer!r}  learning_rate={lr}  steps={hp.steps}")
    say(
        f"   learned          a = {a:.4f}   b = {b:.4f}   (final mse "
        f"{float(result.metrics['train_loss']):.5f}, {elapsed:.2f} s with compilation)"
    )
    say(f"   least squares    a = {a_ls:.4f}   b = {b_ls:.4f}   (closed form, numpy)")
    say()

    rates = (0.001, 0.01, 0.1, 0.5, 0.9, 1.2, 2.0)
    say(
        f"2. A learning-rate sweep: {len(rates)} settings trained at once by jax.vmap "
        "(one compiled program)."
    )
    batch = jaxfit.stack([hp.replace(learning_rate=lr) for lr in rates])
    keys = jax.random.split(kfit, len(rates))

    @jax.jit
    def sweep(batch, keys):
        return jax.vmap(lambda h, k: jaxfit.fit(jaxfit.linear(), "mse", (x, y), h, key=k))(
            batch, keys
        )

    t0 = time.perf_counter()
    compiled = sweep.lower(batch, keys).compile()
    compile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    results = jax.block_until_ready(compiled(batch, keys))
    run_s = time.perf_counter() - t0
    say(f"   {'learning_rate':>13}  {'a':>8}  {'b':>8}  {'final mse':>10}  status")
    for i, lr in enumerate(rates):
        if bool(results.diverged[i]):
            status = (
                f"DIVERGED at step {int(results.diverged_step[i])} "
                f"({results.cause_name[i]}); parameters frozen before it"
            )
        else:
            status = "ok"
        wa, wb = float(results.params["w"][i, 0, 0]), float(results.params["b"][i, 0])
        mse = float(results.metrics["train_loss"][i])
        say(f"   {lr:>13g}  {wa:>8.4f}  {wb:>8.4f}  {mse:>10.5f}  {status}")
    say(
        f"   compiled once in {compile_s:.2f} s; all {len(rates)} runs of {hp.steps} steps "
        f"took {run_s * 1e3:.1f} ms"
    )
    return 0
