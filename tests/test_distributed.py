"""Multi-process sweeps: two local processes over loopback, as two hosts would run them."""

import contextlib
import os
import socket
import subprocess
import sys
import time

import jax
import numpy as np

# Both the workers and the single-process reference run this, so they train the same sweep:
# two static groups (sgd, adam) of 3 settings x 2 seeds, one of which diverges.
SWEEP = """
import jax
import jax.numpy as jnp
import jaxfit


def run_sweep(**options):
    x = jnp.linspace(-1, 1, 32)
    y = 2 * x + 1
    base = jaxfit.Hyperparams(optimizer="sgd", steps=50)
    space = jaxfit.grid(optimizer=["sgd", "adam"], learning_rate=[0.01, 0.3, 5.0])
    result = jaxfit.sweep(
        jaxfit.linear(), "mse", (x, y), base, space,
        key=jax.random.key(0), seeds=2, val=(x[::4], y[::4]), **options,
    )
    return {
        "train_loss": result.metrics["train_loss"],
        "val_loss": result.metrics["val_loss"],
        "diverged": result.diverged,
        "train_curves": result.train_curves,
        "process_count": result.info["process_count"],
        "chunks": [g.n_chunks for g in result.groups],
    }
"""

WORKER = (
    """
import sys

import jax
import numpy as np

process_id, port, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
jax.config.update("jax_num_cpu_devices", 2)
# Cross-process collectives on CPU use gloo, jax's default (jax_cpu_collectives_implementation).
jax.distributed.initialize(
    f"127.0.0.1:{port}", num_processes=2, process_id=process_id, initialization_timeout=60
)
"""
    + SWEEP
    + """
assert len(jax.devices()) == 4 and len(jax.local_devices()) == 2
# 6 rows per group over 4 devices of 2 processes, in chunks of 4: the last chunk is padded.
spanning = run_sweep(chunk_size=4)
# Each process sweeps its own devices alone, in a different number of chunks: fetching the
# results must not wait for the other process.
local = run_sweep(devices=jax.local_devices(), chunk_size=2 if process_id == 0 else 6)
np.savez(
    out,
    **{f"spanning/{k}": v for k, v in spanning.items()},
    **{f"local/{k}": v for k, v in local.items()},
)
"""
)

TIMEOUT_S = 120


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_workers(tmp_path) -> list[dict[str, np.ndarray]]:
    port = _free_port()
    # CPU only: on a GPU machine both processes would otherwise claim the same GPU.
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    env.pop("XLA_FLAGS", None)  # a forced host device count would override jax_num_cpu_devices
    paths = [tmp_path / f"worker{i}.log" for i in range(2)]
    with contextlib.ExitStack() as stack:
        # Output to files, not pipes: a full pipe would block a worker.
        logs = [stack.enter_context(open(path, "w")) for path in paths]
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", WORKER, str(i), str(port), str(tmp_path / f"out{i}.npz")],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
            for i, log in enumerate(logs)
        ]
        deadline = time.monotonic() + TIMEOUT_S
        try:
            for p in procs:
                p.wait(timeout=max(deadline - time.monotonic(), 1))
        except subprocess.TimeoutExpired:
            pass
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait()
    output = [
        f"--- worker {i} (exit code {p.returncode}) ---\n{path.read_text()[-5000:]}"
        for i, (p, path) in enumerate(zip(procs, paths, strict=True))
    ]
    report = "\n".join(output)
    assert all(p.returncode == 0 for p in procs), f"a worker failed or timed out:\n{report}"
    return [dict(np.load(tmp_path / f"out{i}.npz")) for i in range(2)]


def test_two_processes_each_get_the_whole_sweep(tmp_path):
    namespace: dict = {}
    exec(SWEEP, namespace)
    # This process alone, on its own CPU devices (the workers' platform).
    reference = namespace["run_sweep"](devices=jax.devices("cpu"))
    results = _run_workers(tmp_path)
    for part in ("spanning", "local"):
        for name in ("train_loss", "val_loss", "diverged", "train_curves"):
            want = reference[name]
            got = [r[f"{part}/{name}"] for r in results]
            assert got[0].shape == want.shape, (part, name)
            if part == "spanning":  # one result, gathered to both: bit for bit the same
                np.testing.assert_array_equal(got[0], got[1], err_msg=f"{part}/{name}")
            for g in got:  # other chunk widths or device counts may round differently
                np.testing.assert_allclose(g, want, rtol=1e-5, atol=1e-7, err_msg=f"{part}/{name}")
    assert all(r["spanning/process_count"] == 2 for r in results)
    assert all(r["spanning/chunks"].tolist() == [2, 2] for r in results)  # per group
    assert [r["local/chunks"].tolist() for r in results] == [[3, 3], [1, 1]]
    # Complete: every row was trained (the lr=5.0 rows diverge, the others reach low loss).
    diverged = results[0]["spanning/diverged"]
    assert diverged.tolist() == reference["diverged"].tolist()
    assert diverged.any() and not diverged.all()
    assert np.isfinite(results[0]["spanning/train_loss"][~diverged]).all()
