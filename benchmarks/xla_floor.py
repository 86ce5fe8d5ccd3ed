"""A floor under ``mlp-digits-cv``: only the training arithmetic, compiled by XLA here.

The grid's fits (settings x folds rows) as bare as they can be written: each row runs
``steps`` minibatch steps of the 64-64 relu MLP's forward and backward pass on fixed,
pre-drawn minibatches of ``batch`` rows, with a plain SGD update. No shuffling, no Adam,
no penalty, no divergence guards, no validation, no scoring: strictly less work than any
system in the comparison does. Its time says how fast XLA runs this arithmetic on this
machine, so a target below it cannot be met by any JAX program here, jaxfit's or not.

Run in its own process (JAX fixes its CPU device count when it starts), the rows sharded
over ``--devices`` CPU devices::

    python -m benchmarks.xla_floor --devices 2 --rows 60 --steps 1600

It prints one JSON object: compile and run seconds (the best of ``--repeats`` calls),
the hand-counted FLOPs and FLOP/s.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import time
from typing import Any

HIDDEN = (64, 64)


def _measure(rows: int, steps: int, batch: int, features: int, classes: int, repeats: int):
    import jax
    import jax.numpy as jnp
    import numpy as np
    from jax.sharding import Mesh, PartitionSpec as P

    widths = (features, *HIDDEN, classes)
    n_batches = 8  # a digits fold's minibatches per epoch; cycled

    def init(key):
        keys = jax.random.split(key, len(widths) - 1)
        return [
            (jax.random.normal(k, (a, b)) * (2.0 / a) ** 0.5, jnp.zeros((b,)))
            for k, (a, b) in zip(keys, itertools.pairwise(widths), strict=True)
        ]

    def loss(params, x, y):
        h = x
        for w, b in params[:-1]:
            h = jax.nn.relu(h @ w + b)
        w, b = params[-1]
        out = h @ w + b
        picked = jnp.take_along_axis(out, y[:, None], axis=1)[:, 0]
        return jnp.mean(jax.nn.logsumexp(out, axis=-1) - picked)

    def train(lr, key, xs, ys):
        def step(params, t):
            i = t % n_batches
            x = jax.lax.dynamic_index_in_dim(xs, i, keepdims=False)
            y = jax.lax.dynamic_index_in_dim(ys, i, keepdims=False)
            grads = jax.grad(loss)(params, x, y)
            return jax.tree.map(lambda p, g: p - lr * g, params, grads), None

        params, _ = jax.lax.scan(step, init(key), jnp.arange(steps))
        return params[-1][1]

    devices = jax.devices()
    padded = -(-rows // len(devices)) * len(devices)
    mesh = Mesh(np.asarray(devices), ("rows",))
    xs = jax.random.normal(jax.random.key(1), (padded, n_batches, batch, features))
    ys = jax.random.randint(jax.random.key(2), (padded, n_batches, batch), 0, classes)
    lrs = jnp.full((padded,), 1e-3)
    keys = jax.random.split(jax.random.key(0), padded)
    fn = jax.jit(
        jax.shard_map(
            jax.vmap(train), mesh=mesh, in_specs=(P("rows"),) * 4, out_specs=P("rows"),
            check_vma=False,
        )
    )  # fmt: skip
    t0 = time.perf_counter()
    compiled = fn.lower(lrs, keys, xs, ys).compile()
    compile_s = time.perf_counter() - t0
    jax.block_until_ready(compiled(lrs, keys, xs, ys))  # warm-up
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(compiled(lrs, keys, xs, ys))
        runs.append(time.perf_counter() - t0)
    flops = 6.0 * rows * steps * batch * sum(a * b for a, b in itertools.pairwise(widths))
    return {
        "devices": len(devices),
        "rows": rows,
        "padded_rows": padded,
        "steps": steps,
        "batch": batch,
        "compile_s": compile_s,
        "run_s": min(runs),
        "runs_s": runs,
        "flops": flops,
        "flops_per_s": flops / min(runs),
    }


def measure_in_child(devices: int, **options: Any) -> dict[str, Any]:
    """:func:`_measure` in a fresh process with ``devices`` CPU devices."""
    env = dict(os.environ)
    env["XLA_FLAGS"] = (
        env.get("XLA_FLAGS", "") + f" --xla_force_host_platform_device_count={devices}"
    ).strip()
    env.setdefault("JAX_PLATFORMS", "cpu")
    args = [f"--{k}={v}" for k, v in options.items()]
    cmd = [sys.executable, "-m", "benchmarks.xla_floor", f"--devices={devices}", *args]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run(cmd, env=env, cwd=root, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def floor(rows: int, steps: int, batch: int, features: int, classes: int, repeats: int = 3):
    """The faster of one CPU device and one per core (both measured, both returned)."""
    counts = sorted({1, os.cpu_count() or 1})
    runs = [
        measure_in_child(k, rows=rows, steps=steps, batch=batch, features=features,
                         classes=classes, repeats=repeats)
        for k in counts
    ]  # fmt: skip
    best = min(runs, key=lambda r: r["run_s"])
    return {"best": best, "runs": runs}


def _main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=1)
    parser.add_argument("--rows", type=int, default=60)
    parser.add_argument("--steps", type=int, default=1600)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--features", type=int, default=64)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    a = parser.parse_args()
    if "--xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
        os.environ["XLA_FLAGS"] = (
            os.environ.get("XLA_FLAGS", "") + f" --xla_force_host_platform_device_count={a.devices}"
        )
    result = _measure(a.rows, a.steps, a.batch, a.features, a.classes, a.repeats)
    print(json.dumps(result))


if __name__ == "__main__":
    _main()
