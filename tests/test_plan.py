"""sweep_plan: the same groups, chunks and programs as the sweep, FLOPs that add up."""

import jax
import numpy as np
import pytest

import jaxfit
from jaxfit._sweeping import cached_programs
from jaxfit._training.step import TRACES

RNG = np.random.default_rng(1)
X = RNG.normal(size=(96, 8)).astype(np.float32)
Y = RNG.integers(0, 3, 96)
BASE = jaxfit.Hyperparams(optimizer="adam", steps=12, hidden=(16,))
SPACE = jaxfit.grid(learning_rate=[0.001, 0.01, 0.1], hidden=[(16,), (8, 8)])
ARGS = (jaxfit.mlp(3), "softmax_cross_entropy", (X, Y), BASE, SPACE)


def test_plan_matches_the_sweep_and_compiles_what_it_will_use():
    plan = jaxfit.sweep_plan(*ARGS, seeds=2, cv=3, chunk_size=4)
    assert [g.static["hidden"] for g in plan.groups] == [(16,), (8, 8)]
    assert [g.n_rows for g in plan.groups] == [3 * 2 * 3] * 2
    assert plan.n_rows == 36 and (plan.seeds, plan.folds) == (2, 3)
    assert all(g.chunk_size == 4 and g.n_chunks == 5 for g in plan.groups)
    before = TRACES["sweep"]
    result = jaxfit.sweep(*ARGS, key=jax.random.key(0), seeds=2, cv=3, chunk_size=4,
                          progress=False)  # fmt: skip
    assert TRACES["sweep"] == before  # the plan's programs are the sweep's
    for g, info in zip(plan.groups, result.groups, strict=True):
        assert (info.chunk_size, info.n_chunks) == (g.chunk_size, g.n_chunks)
        assert info.bytes_per_chunk == g.bytes_per_chunk
    assert "2 static group(s)" in str(plan) and "hidden=(8, 8)" in str(plan)


def test_plan_without_params_compiles_what_the_sweep_without_params_uses():
    args = (*ARGS[:4], jaxfit.grid(learning_rate=[0.1], hidden=[(64, 64)]))
    jaxfit.sweep_plan(*args)
    kept = cached_programs()[-1].executable.memory_analysis().output_size_in_bytes
    jaxfit.sweep_plan(*args, keep_params=False)
    lean = cached_programs()[-1].executable.memory_analysis().output_size_in_bytes
    # The program returns no parameters: its outputs shrink by at least their size (the
    # total estimate need not: the parameters stay in the program as temporaries).
    n_params = 8 * 64 + 64 + 64 * 64 + 64 + 64 * 3 + 3
    assert kept - lean >= 4 * n_params
    before = TRACES["sweep"]
    jaxfit.sweep(*args, key=jax.random.key(0), keep_params=False, progress=False)
    assert TRACES["sweep"] == before


def test_plan_chunks_within_the_memory_budget():
    args = (*ARGS[:4], jaxfit.grid(learning_rate=[0.001, 0.01]))
    whole = jaxfit.sweep_plan(*args, seeds=16)
    big = whole.groups[0].bytes_per_chunk
    assert big is not None and whole.groups[0].n_chunks == 1
    plan = jaxfit.sweep_plan(*args, seeds=16, memory_budget=big // 3)
    g = plan.groups[0]
    assert g.n_chunks > 1 and g.bytes_per_chunk <= big // 3
    assert g.bytes_per_row is not None and g.bytes_per_row > 0


def test_flops_per_row_against_a_hand_count():
    """A one-hidden-layer MLP on the full batch: the matmuls dominate.

    Forward 2·n·(8·16 + 16·3) FLOPs, backward twice that less the input gradient of the
    first layer (not needed): 6·n·P − 2·n·8·16. Adam, the softmax and the guards add a
    few percent.
    """
    n, p = X.shape[0], 8 * 16 + 16 * 3
    hand_step = 6 * n * p - 2 * n * 8 * 16
    base = BASE.replace(steps=50)
    plan = jaxfit.sweep_plan(jaxfit.mlp(3), "softmax_cross_entropy", (X, Y), base)
    per_step = plan.groups[0].flops_per_row / 50
    assert hand_step <= per_step <= 1.6 * hand_step
    assert plan.flops == pytest.approx(plan.groups[0].flops_per_row)
    twice = jaxfit.sweep_plan(
        jaxfit.mlp(3), "softmax_cross_entropy", (X, Y), base.replace(steps=100)
    )
    step_cost = (twice.groups[0].flops_per_row - plan.groups[0].flops_per_row) / 50
    assert step_cost == pytest.approx(per_step, rel=0.1)  # linear in the steps


def test_evaluations_are_counted():
    args = (*ARGS[:4], jaxfit.grid(learning_rate=[0.01]))  # one group: half the compiles
    plain = jaxfit.sweep_plan(*args)
    with_val = jaxfit.sweep_plan(*args, val=(X, Y), eval_every=3)
    assert with_val.groups[0].flops_per_row > plain.groups[0].flops_per_row


def test_plan_refuses_what_the_sweep_refuses():
    with pytest.raises(ValueError, match="seeds"):
        jaxfit.sweep_plan(*ARGS, seeds=0)
    with pytest.raises(ValueError, match="chunk_size"):
        jaxfit.sweep_plan(*ARGS, chunk_size=-1)
    with pytest.raises(ValueError, match=r"either val= .* or cv="):
        jaxfit.sweep_plan(*ARGS, val=(X, Y), cv=3)
    with pytest.raises(MemoryError, match="memory budget"):
        jaxfit.sweep_plan(*ARGS, memory_budget=16)
