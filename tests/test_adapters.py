"""from_nnx, from_linen, from_equinox: each library's documented MLP (Dropout, BatchNorm)
trained by jaxfit equals a hand-written optax loop over the same module, with the same
init key, per-step keys (jaxfit.step_key) and data; sweeps compile once; misuse is named."""

import functools
import sys

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxfit
from jaxfit._sweeping.checkpoint import callable_digest
from jaxfit._training.step import TRACES

KEY = jax.random.key(3)
X = jnp.asarray(np.random.default_rng(0).normal(size=(24, 3)), jnp.float32)
Y = jnp.sin(X[:, 0]) + X[:, 1] * X[:, 2]
# SGD: a bias before batch norm has a zero gradient up to rounding, which Adam would scale
# up to full steps of rounding noise.
HP = jaxfit.Hyperparams(optimizer="sgd", learning_rate=0.1, steps=4, hidden=(8,))


def mse(pred, y):
    return jnp.mean((pred[:, 0] - y) ** 2)


def assert_trees_close(a, b):
    assert jax.tree.structure(a) == jax.tree.structure(b)
    for u, v in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_allclose(np.asarray(u), np.asarray(v), rtol=1e-5, atol=1e-6)


def assert_trees_differ(a, b):
    diffs = [
        np.max(np.abs(np.asarray(u) - np.asarray(v)))
        for u, v in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True)
    ]
    assert max(diffs) > 1e-4


def hand_loop(step, predict, params, state):
    """Runs the hand-written step with jaxfit's per-step keys, then ``predict`` in eval mode;
    the same loop with another run key gives other dropout masks (so the comparison is
    sensitive to the keys). One compile for both runs and the prediction."""
    tx = jaxfit.make_optimizer(HP)

    @jax.jit
    def run(params, state, run_key):
        def one_step(carry, t):
            params, state, opt_state = carry
            grads, state = jax.grad(step, has_aux=True)(params, state, jaxfit.step_key(run_key, t))
            updates, opt_state = tx.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), state, opt_state), None

        carry = (params, state, tx.init(params))
        (params, state, _), _ = jax.lax.scan(one_step, carry, jnp.arange(HP.steps))
        return params, state, predict(params, state)

    return run(params, state, KEY), run(params, state, jax.random.key(99))


def check_predict_and_evaluate(model, variables, expected):
    """predict and evaluate with the returned Variables equal the library's own eval mode."""
    np.testing.assert_allclose(jaxfit.predict(model, variables, X, HP), expected, atol=1e-6)
    got = jaxfit.evaluate(model, variables, (X, Y), HP, ["mse"])["mse"]
    expected_mse = np.mean((np.asarray(expected)[:, 0] - np.asarray(Y)) ** 2)
    np.testing.assert_allclose(got, expected_mse, rtol=1e-5)


def sweep_once(model):
    callable_digest(model, "the model")  # a sweep's checkpoint can recognise the model
    space = jaxfit.grid(learning_rate=[0.01, 0.05])
    before = TRACES["sweep"]
    s = jaxfit.sweep(model, "mse", (X, Y), HP, space, key=KEY, seeds=2)
    assert TRACES["sweep"] - before == 1
    assert not np.any(np.asarray(s.diverged))
    return s


# ------------------------------------------------------------------------------- flax NNX


@functools.cache  # one class: a new class per call is another pytree type
def nnx_mlp():
    nnx = pytest.importorskip("flax.nnx")

    class MLP(nnx.Module):  # flax's "NNX basics" MLP
        def __init__(self, din, dmid, dout, *, rngs):
            self.linear1 = nnx.Linear(din, dmid, rngs=rngs)
            self.dropout = nnx.Dropout(rate=0.5, rngs=rngs)
            self.bn = nnx.BatchNorm(dmid, rngs=rngs)
            self.linear2 = nnx.Linear(dmid, dout, rngs=rngs)

        def __call__(self, x):
            x = nnx.gelu(self.dropout(self.bn(self.linear1(x))))
            return self.linear2(x)

    return nnx, MLP


def test_nnx_fit_equals_hand_written_loop_and_predicts():
    nnx, MLP = nnx_mlp()
    model = jaxfit.from_nnx(lambda hp, rngs: MLP(3, hp.hidden[0], 1, rngs=rngs))
    assert model.name == "nnx"  # a lambda has no name to show
    r = jaxfit.fit(model, "mse", (X, Y), HP, key=KEY)
    assert isinstance(r.params, jaxfit.Variables)

    init_key = jax.random.split(KEY)[0]  # jaxfit's init key for the run key KEY

    def split(module):
        return nnx.split(module, nnx.Param, nnx.RngState, ...)

    graphdef = split(nnx.eval_shape(lambda: MLP(3, 8, 1, rngs=nnx.Rngs(0))))[0]
    # Built under jit: the values of an eager build, without an eager dispatch per operation.
    params, streams, stats = jax.jit(lambda key: split(MLP(3, 8, 1, rngs=nnx.Rngs(key)))[1:])(
        init_key
    )

    def step(params, stats, key):
        # Copies made in this trace: nnx refuses to mutate variables of an outer trace.
        streams_, stats_ = jax.tree.map(jnp.asarray, (streams, stats))
        module = nnx.merge(graphdef, params, streams_, stats_)
        for i, s in enumerate(s for _, s in nnx.iter_graph(module) if isinstance(s, nnx.RngStream)):
            s.key.set_value(jax.random.fold_in(key, i))
            s.count.set_value(jnp.zeros((), jnp.uint32))
        module.train()
        loss = mse(module(X), Y)
        return loss, nnx.state(module, nnx.BatchStat)

    def eval_mode(params, stats):
        module = nnx.merge(graphdef, params, *jax.tree.map(jnp.asarray, (streams, stats)))
        module.eval()
        return module(X)

    (p, st, expected), (p_other, _, _) = hand_loop(step, eval_mode, params, stats)
    assert_trees_close(r.params.params, nnx.to_pure_dict(p))
    assert_trees_close(r.params.state, nnx.to_pure_dict(st))
    assert_trees_differ(nnx.to_pure_dict(p), nnx.to_pure_dict(p_other))
    check_predict_and_evaluate(model, r.params, expected)


def test_nnx_sweep_compiles_once_and_seeds_differ():
    _, MLP = nnx_mlp()

    def make_mlp(hp, rngs):
        return MLP(3, hp.hidden[0], 1, rngs=rngs)

    model = jaxfit.from_nnx(make_mlp)
    assert model.name == "nnx(make_mlp)" and model is jaxfit.from_nnx(make_mlp)
    inits = [model.init(jax.random.key(seed), X, HP).params for seed in (0, 1)]
    assert_trees_differ(*inits)
    assert jaxfit.from_nnx(make_mlp, name="mlp").name == "mlp"
    s = sweep_once(model)
    assert_trees_differ(s.params(0, seed=0).params, s.params(0, seed=1).params)
    assert jaxfit.predict(model, s.params(1, seed=1), X, HP).shape == (24, 1)


def test_nnx_refusals():
    nnx, MLP = nnx_mlp()
    with pytest.raises(TypeError, match="not a module instance"):
        jaxfit.from_nnx(MLP(3, 8, 1, rngs=nnx.Rngs(0)))
    with pytest.raises(TypeError, match=r"cannot be called as factory\(hp, rngs\)"):
        jaxfit.from_nnx(MLP)
    with pytest.raises(TypeError, match="name=3 must be a str"):
        jaxfit.from_nnx(lambda hp, rngs: None, name=3)

    class NoRngs(nnx.Module):
        def __init__(self, *, rngs):
            self.linear = nnx.Linear(3, 1, rngs=rngs)
            self.dropout = nnx.Dropout(0.5)

        def __call__(self, x):
            return self.dropout(self.linear(x))

    with pytest.raises(TypeError, match=r"without rngs.*nnx.Dropout\(rate, rngs=rngs\)"):
        jaxfit.fit(jaxfit.from_nnx(lambda hp, rngs: NoRngs(rngs=rngs)), "mse", (X, Y), HP, key=KEY)

    class CallRngs(nnx.Module):  # wants rngs at call time, which jaxfit cannot know of
        def __init__(self, *, rngs):
            self.linear = nnx.Linear(3, 1, rngs=rngs)
            self.dropout = nnx.Dropout(0.5)

        def __call__(self, x, rngs):
            return self.dropout(self.linear(x), rngs=rngs)

    with pytest.raises(TypeError, match=r"requires 'rngs'.*calls module\(x\)"):
        jaxfit.from_nnx(lambda hp, rngs: CallRngs(rngs=rngs)).init(KEY, X, HP)
    with pytest.raises(TypeError, match=r"returned int, not an nnx\.Module"):
        jaxfit.from_nnx(lambda hp, rngs: 3).init(KEY, X, HP)

    @jaxfit.hyperparams
    class Config(jaxfit.Hyperparams):
        rate: float = jaxfit.numeric(0.1, ge=0.0, lt=1.0)

    class Drop(nnx.Module):
        def __init__(self, rate, *, rngs):
            self.linear = nnx.Linear(3, 1, rngs=rngs)
            self.dropout = nnx.Dropout(rate, rngs=rngs)

        def __call__(self, x):
            return self.dropout(self.linear(x))

    numeric_rate = jaxfit.from_nnx(lambda hp, rngs: Drop(hp.rate, rngs=rngs))
    with pytest.raises(TypeError, match=r"traced value.*jaxfit.static"):
        jaxfit.fit(numeric_rate, "mse", (X, Y), Config(steps=2), key=KEY)

    stateful = jaxfit.from_nnx(lambda hp, rngs: MLP(3, 8, 1, rngs=rngs))
    variables = stateful.init(KEY, X, HP)
    with pytest.raises(TypeError, match=r"pass the jaxfit\.Variables"):
        stateful.apply(variables.params, X, HP)
    with pytest.raises(TypeError, match="do not match the module"):
        stateful.apply({"linear1": variables.params["linear1"]}, X, HP, state=variables.state)

    class Noisy(nnx.Module):  # draws noise even in eval mode
        def __init__(self, *, rngs):
            self.linear = nnx.Linear(3, 1, rngs=rngs)
            self.rngs = rngs.noise.fork()

        def __call__(self, x):
            return self.linear(x) + jax.random.normal(self.rngs(), (x.shape[0], 1))

    noisy = jaxfit.from_nnx(lambda hp, rngs: Noisy(rngs=rngs))
    with pytest.raises(TypeError, match="drew random numbers outside training"):
        jaxfit.fit(noisy, "mse", (X, Y), HP, key=KEY)


# ------------------------------------------------------------------------------ flax linen


@functools.cache  # one class: a new class per call is another pytree type
def linen_mlp():
    nn = pytest.importorskip("flax.linen")

    class MLP(nn.Module):  # flax linen's documented pattern: a `train` flag
        features: int

        @nn.compact
        def __call__(self, x, train: bool):
            x = nn.Dense(self.features)(x)
            x = nn.BatchNorm(use_running_average=not train)(x)
            x = nn.Dropout(0.5, deterministic=not train)(nn.relu(x))
            return nn.Dense(1)(x)

    return nn, MLP


def test_linen_fit_equals_hand_written_loop_and_predicts():
    _, MLP = linen_mlp()
    module = MLP(features=8)
    model = jaxfit.from_linen(module)
    assert model.name == "linen(MLP)" and model is jaxfit.from_linen(MLP(features=8))
    r = jaxfit.fit(model, "mse", (X, Y), HP, key=KEY)

    params_key, dropout_key = jax.random.split(jax.random.split(KEY)[0])
    init = jax.jit(lambda k1, k2: module.init({"params": k1, "dropout": k2}, X, train=False))
    variables = init(params_key, dropout_key)

    def step(params, batch_stats, key):
        pred, updates = module.apply(
            {"params": params, "batch_stats": batch_stats}, X, train=True,
            rngs={"dropout": key}, mutable=["batch_stats"],
        )  # fmt: skip
        return mse(pred, Y), updates["batch_stats"]

    def eval_mode(params, batch_stats):
        return module.apply({"params": params, "batch_stats": batch_stats}, X, train=False)

    (p, bs, expected), (p_other, _, _) = hand_loop(
        step, eval_mode, variables["params"], variables["batch_stats"]
    )
    assert_trees_close(r.params.params, p)
    assert_trees_close(r.params.state, {"batch_stats": bs})
    assert_trees_differ(p, p_other)
    check_predict_and_evaluate(model, r.params, expected)


def test_linen_factory_sweep_compiles_once_and_seeds_differ():
    nn = pytest.importorskip("flax.linen")

    class Small(nn.Module):  # no state, no train flag, no randomness
        features: int

        @nn.compact
        def __call__(self, x):
            x = nn.tanh(nn.Dense(self.features)(x))
            return nn.Dense(1)(x)

    def make_small(hp):
        return Small(features=hp.hidden[0])

    model = jaxfit.from_linen(make_small, rngs=())
    assert model.name == "linen(make_small)"
    s = sweep_once(model)
    assert sorted(s.params(0)) == ["Dense_0", "Dense_1"]  # no state: the parameters alone
    assert s.params(0)["Dense_0"]["kernel"].shape == (3, 8)
    assert_trees_differ(s.params(0, seed=0), s.params(0, seed=1))


def test_linen_refusals():
    nn, MLP = linen_mlp()
    with pytest.raises(TypeError, match=r"not the class MLP.*from_linen\(MLP\(\.\.\.\)\)"):
        jaxfit.from_linen(MLP)
    with pytest.raises(TypeError, match=r"cannot be called as factory\(hp\)"):
        jaxfit.from_linen(lambda hp, key: MLP(8))
    with pytest.raises(TypeError, match="tuple of rng stream names"):
        jaxfit.from_linen(MLP(8), rngs="dropout")
    with pytest.raises(ValueError, match='must not name "params"'):
        jaxfit.from_linen(MLP(8), rngs=("params",))

    class Noise(nn.Module):
        @nn.compact
        def __call__(self, x, train: bool):
            x = nn.Dense(1)(x)
            return x + jax.random.normal(self.make_rng("noise"), x.shape) if train else x

    with pytest.raises(TypeError, match=r"rng stream 'noise'.*rngs=\(\"noise\""):
        jaxfit.fit(jaxfit.from_linen(Noise()), "mse", (X, Y), HP, key=KEY)
    listed = jaxfit.from_linen(Noise(), rngs=("noise",))
    params = listed.init(KEY, X, HP)
    noisy = [listed.apply(params, X, HP, key=jax.random.key(k), train=True) for k in (1, 2)]
    assert_trees_differ(noisy[0], noisy[1])  # the step key drives the listed stream
    assert_trees_close(listed.apply(params, X, HP), listed.apply(params, X, HP, key=KEY))

    class AlwaysDropout(nn.Module):  # no train flag: dropout would run in predict too
        @nn.compact
        def __call__(self, x):
            return nn.Dense(1)(nn.Dropout(0.5, deterministic=False)(x))

    with pytest.raises(TypeError, match=r"outside training.*deterministic=not train"):
        jaxfit.fit(jaxfit.from_linen(AlwaysDropout()), "mse", (X, Y), HP, key=KEY)

    class AlwaysBatchStats(nn.Module):  # no train flag: predict would update the statistics
        @nn.compact
        def __call__(self, x):
            return nn.Dense(1)(nn.BatchNorm(use_running_average=False)(x))

    with pytest.raises(TypeError, match=r"updates its collection 'batch_stats' outside training"):
        jaxfit.fit(jaxfit.from_linen(AlwaysBatchStats()), "mse", (X, Y), HP, key=KEY)

    class TrainOnlyCollection(nn.Module):
        @nn.compact
        def __call__(self, x, train: bool):
            if train:
                seen = self.variable("counter", "n", lambda: jnp.zeros(()))
                seen.value += 1
            return nn.Dense(1)(x)

    with pytest.raises(TypeError, match=r"collection 'counter' in training, but module.init"):
        jaxfit.fit(jaxfit.from_linen(TrainOnlyCollection()), "mse", (X, Y), HP, key=KEY)


# -------------------------------------------------------------------------------- equinox


@functools.cache  # one class: a new class per call is another pytree type
def eqx_mlp():
    eqx = pytest.importorskip("equinox")

    class MLP(eqx.Module):  # equinox's stateful-model pattern: BatchNorm + make_with_state
        linear1: eqx.nn.Linear
        norm: eqx.nn.BatchNorm
        dropout: eqx.nn.Dropout
        linear2: eqx.nn.Linear

        def __init__(self, din, dmid, dout, key):
            k1, k2 = jax.random.split(key)
            self.linear1 = eqx.nn.Linear(din, dmid, key=k1)
            self.norm = eqx.nn.BatchNorm(dmid, axis_name="batch", mode="batch")
            self.dropout = eqx.nn.Dropout(0.5)
            self.linear2 = eqx.nn.Linear(dmid, dout, key=k2)

        def __call__(self, x, state, *, key=None):
            x, state = self.norm(self.linear1(x), state)
            return self.linear2(self.dropout(jax.nn.relu(x), key=key)), state

    return eqx, MLP


def eqx_factory(hp, key):
    eqx, MLP = eqx_mlp()
    return eqx.nn.make_with_state(MLP)(3, hp.hidden[0], 1, key)


def test_equinox_fit_equals_hand_written_loop_and_predicts():
    eqx, MLP = eqx_mlp()
    model = jaxfit.from_equinox(eqx_factory)
    assert model.name == "equinox(eqx_factory)" and model is jaxfit.from_equinox(eqx_factory)
    r = jaxfit.fit(model, "mse", (X, Y), HP, key=KEY)

    make = eqx.filter_jit(lambda key: eqx.nn.make_with_state(MLP)(3, 8, 1, key))
    net, state = make(jax.random.split(KEY)[0])
    params, static = eqx.partition(net, eqx.is_inexact_array)

    def step(params, state, key):
        net = eqx.combine(params, static)
        keys = jax.random.split(key, X.shape[0])
        batched = jax.vmap(
            lambda x, k, s: net(x, s, key=k),
            axis_name="batch", in_axes=(0, 0, None), out_axes=(0, None),
        )  # fmt: skip
        pred, state = batched(X, keys, state)
        return mse(pred, Y), state

    def eval_mode(params, state):
        inference = eqx.nn.inference_mode(eqx.combine(params, static))
        batched = jax.vmap(inference, axis_name="batch", in_axes=(0, None), out_axes=(0, None))
        return batched(X, state)[0]

    (p, st, expected), (p_other, _, _) = hand_loop(step, eval_mode, params, state)
    assert_trees_close(r.params.params, p)
    assert_trees_close(r.params.state, st)
    assert_trees_differ(p, p_other)
    check_predict_and_evaluate(model, r.params, expected)


def test_equinox_sweep_compiles_once_and_seeds_differ():
    eqx = pytest.importorskip("equinox")

    def plain(hp, key):  # no state, no dropout: an eqx.nn.MLP as the docs build it
        return eqx.nn.MLP(3, "scalar", hp.hidden[0], 1, key=key)

    model = jaxfit.from_equinox(plain)
    s = sweep_once(model)
    assert_trees_differ(s.params(0, seed=0), s.params(0, seed=1))
    assert jaxfit.predict(model, s.params(0), X, HP).shape == (24, 1)  # "scalar" -> (n, 1)


def test_equinox_refusals():
    eqx, MLP = eqx_mlp()
    with pytest.raises(TypeError, match="not a module instance"):
        jaxfit.from_equinox(eqx.nn.Linear(3, 1, key=KEY))
    with pytest.raises(TypeError, match=r"cannot be called as factory\(hp, key\)"):
        jaxfit.from_equinox(MLP)
    with pytest.raises(TypeError, match="axis_name=None must be a non-empty str"):
        jaxfit.from_equinox(eqx_factory, axis_name=None)
    with pytest.raises(TypeError, match="make_with_state"):
        jaxfit.from_equinox(lambda hp, key: MLP(3, 8, 1, key)).init(KEY, X, HP)
    with pytest.raises(TypeError, match=r"axis_name='batch'.*axis_name='examples'"):
        jaxfit.from_equinox(eqx_factory, axis_name="examples").init(KEY, X, HP)

    class NoKey(eqx.Module):
        linear: eqx.nn.Linear
        dropout: eqx.nn.Dropout

        def __call__(self, x):
            return self.dropout(self.linear(x))

    no_key = jaxfit.from_equinox(lambda hp, key: NoKey(eqx.nn.Linear(3, 1, key=key),
                                                       eqx.nn.Dropout(0.5)))  # fmt: skip
    with pytest.raises(TypeError, match=r"takes no `key`.*self.dropout\(x, key=key\)"):
        no_key.init(KEY, X, HP)

    class Counter(eqx.Module):
        linear: eqx.nn.Linear
        count: jax.Array

        def __call__(self, x):
            return self.linear(x)

    counter = jaxfit.from_equinox(lambda hp, key: Counter(eqx.nn.Linear(3, 1, key=key),
                                                          jnp.zeros((), jnp.int32)))  # fmt: skip
    with pytest.raises(TypeError, match=r"non-floating array.*static=True"):
        counter.init(KEY, X, HP)
    with pytest.raises(TypeError, match=r"returned str, not an eqx\.Module"):
        jaxfit.from_equinox(lambda hp, key: "mlp").init(KEY, X, HP)
    stateful = jaxfit.from_equinox(eqx_factory)
    with pytest.raises(TypeError, match=r"pass the jaxfit\.Variables"):
        stateful.apply(stateful.init(KEY, X, HP).params, X, HP)


# ------------------------------------------------------------------------ missing packages


@pytest.mark.parametrize(
    ("adapter", "module", "extra"),
    [
        ("from_nnx", "flax.nnx", "flax"),
        ("from_linen", "flax.linen", "flax"),
        ("from_equinox", "equinox", "equinox"),
    ],
)
def test_missing_package_says_which_extra_to_install(monkeypatch, adapter, module, extra):
    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` fail
    with pytest.raises(ImportError, match=rf'pip install "jaxfit\[{extra}\]"'):
        getattr(jaxfit, adapter)(lambda hp, key: None)
