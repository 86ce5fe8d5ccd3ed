"""Optimizers and schedules: optax conformance, vmap over hyperparameters, no retracing."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given, settings, strategies as st

import jaxfit
from jaxfit._training.optim import OPTIMIZERS, SCHEDULES, make_optimizer, make_schedule

# L-BFGS needs value and value_fn in update; it is tested on its own below.
FIRST_ORDER = tuple(o for o in OPTIMIZERS if o not in ("lbfgs", "newton"))

STEPS = 8
X = np.array([[1.0, 2.0, 0.5], [-1.0, 0.3, 2.0], [0.2, -0.7, 1.1], [1.5, 0.1, -0.4]])
Y = np.array([[1.0, 0.0], [0.5, -1.0], [0.0, 2.0], [-1.0, 0.3]])


def init_params(dtype=jnp.float32):
    return {
        "w": jnp.asarray(np.linspace(-0.5, 0.5, 6).reshape(3, 2), dtype),
        "b": jnp.asarray([0.1, -0.2], dtype),
    }


def loss(params):
    pred = jnp.asarray(X, params["w"].dtype) @ params["w"] + params["b"][None, :]
    return jnp.mean((pred - jnp.asarray(Y, params["w"].dtype)) ** 2)


def run(opt, params, steps=STEPS, grad_fn=None):
    """``steps`` updates with ``opt`` in a ``lax.scan``; returns the final params."""
    grad_fn = grad_fn or jax.grad(loss)

    def step(carry, _):
        params, state = carry
        updates, state = opt.update(grad_fn(params), state, params)
        return (optax.apply_updates(params, updates), state), None

    (params, _), _ = jax.lax.scan(step, (params, opt.init(params)), length=steps)
    return params


def train(hp, params):
    return run(make_optimizer(hp), params)


def assert_trees_close(a, b, rtol=1e-6, atol=1e-7):
    jax.tree.map(lambda x, y: np.testing.assert_allclose(x, y, rtol=rtol, atol=atol), a, b)


HP = dict(learning_rate=0.05, momentum=0.8, b1=0.85, b2=0.99, eps=1e-6, decay=0.95)
OPTAX = {
    "sgd": lambda h: optax.sgd(h["learning_rate"]),
    "momentum": lambda h: optax.sgd(h["learning_rate"], h["momentum"]),
    "nesterov": lambda h: optax.sgd(h["learning_rate"], h["momentum"], nesterov=True),
    "adam": lambda h: optax.adam(h["learning_rate"], h["b1"], h["b2"], h["eps"]),
    "adamw": lambda h: optax.adamw(
        h["learning_rate"], h["b1"], h["b2"], h["eps"], weight_decay=0.0
    ),
    "rmsprop": lambda h: optax.rmsprop(h["learning_rate"], h["decay"], h["eps"]),
    "adagrad": lambda h: optax.adagrad(h["learning_rate"], eps=h["eps"]),
}


def test_registry_is_covered():
    assert set(OPTAX) == set(FIRST_ORDER)


def test_lbfgs_matches_optax_lbfgs_with_its_line_search():
    value_and_grad = optax.value_and_grad_from_state(loss)

    def run_lbfgs(opt, params):
        def step(carry, _):
            params, state = carry
            value, grad = value_and_grad(params, state=state)
            updates, state = opt.update(grad, state, params, value=value, grad=grad, value_fn=loss)
            return (optax.apply_updates(params, updates), state), None

        (params, _), _ = jax.lax.scan(step, (params, opt.init(params)), length=STEPS)
        return params

    ours = jax.jit(lambda p: run_lbfgs(make_optimizer(jaxfit.Hyperparams(optimizer="lbfgs")), p))
    theirs = jax.jit(lambda p: run_lbfgs(optax.lbfgs(), p))
    assert_trees_close(ours(init_params()), theirs(init_params()), rtol=1e-5)


@pytest.mark.parametrize("name", FIRST_ORDER)
def test_matches_optax_alias_without_weight_decay(name):
    hp = jaxfit.Hyperparams(optimizer=name, **HP)
    ours = jax.jit(train)(hp, init_params())
    theirs = jax.jit(lambda p: run(OPTAX[name](HP), p))(init_params())
    assert_trees_close(ours, theirs)
    assert not np.allclose(ours["w"], init_params()["w"])  # it did move


def test_adamw_decay_is_decoupled_and_masked_like_optax():
    hp = jaxfit.Hyperparams(optimizer="adamw", weight_decay=0.3, **HP)
    theirs = optax.adamw(
        HP["learning_rate"], HP["b1"], HP["b2"], HP["eps"], weight_decay=0.3,
        mask={"w": True, "b": False},
    )  # fmt: skip
    ours = jax.jit(train)(hp, init_params())
    assert_trees_close(ours, jax.jit(lambda p: run(theirs, p))(init_params()))


@pytest.mark.parametrize("name", ["sgd", "momentum", "adam"])
def test_coupled_weight_decay_is_added_to_weight_gradients(name):
    wd = 0.3

    def decayed_grad(params):  # grads + wd * W, for weight matrices only
        g = jax.grad(loss)(params)
        return {"w": g["w"] + wd * params["w"], "b": g["b"]}

    hp = jaxfit.Hyperparams(optimizer=name, weight_decay=wd, **HP)
    theirs = jax.jit(lambda p: run(OPTAX[name](HP), p, grad_fn=decayed_grad))(init_params())
    ours = jax.jit(train)(hp, init_params())
    assert_trees_close(ours, theirs)
    without = jax.jit(train)(hp.replace(weight_decay=0.0), init_params())
    assert not np.allclose(ours["w"], without["w"])
    assert np.linalg.norm(ours["w"]) < np.linalg.norm(without["w"])


# ----------------------------------------------------------------------------- schedules


@jax.jit
def schedule_at(hp, ts):
    """The schedule at steps ``ts``; compiles once per static part of ``hp``."""
    return jax.vmap(make_schedule(hp))(ts)


def schedule_values(hp, ts):
    return np.asarray(schedule_at(hp, jnp.asarray(ts, jnp.int32)))


TS = jnp.arange(80)  # past the end of every schedule below


def check_schedule(hp, reference):
    expected = np.asarray(jax.vmap(reference)(TS))
    lr = float(hp.learning_rate)
    np.testing.assert_allclose(schedule_values(hp, TS), expected, rtol=2e-5, atol=1e-6 * lr)


lrs = st.floats(1e-4, 2.0)
factors = st.floats(0.0, 1.0)
rates = st.floats(0.01, 1.5)
steps = st.sampled_from([1, 2, 9, 60])  # static: each value compiles


@settings(max_examples=10, deadline=None)
@given(lr=lrs, end=factors, n=steps)
def test_cosine_matches_optax(lr, end, n):
    hp = jaxfit.Hyperparams(learning_rate=lr, end_factor=end, schedule="cosine", steps=n)
    check_schedule(hp, optax.cosine_decay_schedule(lr, n, alpha=end))


@settings(max_examples=10, deadline=None)
@given(lr=lrs, end=factors, n=steps.filter(lambda n: n > 1), data=st.data())
def test_warmup_cosine_matches_optax(lr, end, n, data):
    w = data.draw(st.integers(0, n - 1), label="warmup_steps")
    hp = jaxfit.Hyperparams(
        learning_rate=lr, end_factor=end, warmup_steps=w, schedule="warmup_cosine", steps=n
    )
    check_schedule(hp, optax.warmup_cosine_decay_schedule(0.0, lr, w, n, end * lr))


@settings(max_examples=10, deadline=None)
@given(lr=lrs, rate=rates, n=steps)
def test_exponential_matches_optax(lr, rate, n):
    hp = jaxfit.Hyperparams(learning_rate=lr, decay_rate=rate, schedule="exponential", steps=n)
    check_schedule(hp, optax.exponential_decay(lr, n, rate))
    np.testing.assert_allclose(schedule_values(hp, [n]), [rate * lr], rtol=1e-5)


@settings(max_examples=10, deadline=None)
@given(lr=lrs, rate=rates, every=st.integers(1, 20))
def test_step_matches_optax(lr, rate, every):
    hp = jaxfit.Hyperparams(
        learning_rate=lr, decay_rate=rate, decay_every=every, schedule="step", steps=50
    )
    check_schedule(hp, optax.exponential_decay(lr, every, rate, staircase=True))


def test_constant_schedule():
    hp = jaxfit.Hyperparams(learning_rate=0.3, schedule="constant", steps=5)
    np.testing.assert_allclose(schedule_values(hp, range(8)), np.full(8, 0.3), rtol=1e-7)


@pytest.mark.parametrize("warmup", [0.0, 2.5, 10.0, 25.0])
def test_warmup_cosine_with_traced_warmup(warmup):
    """Fractional, zero and too-long warm-ups work when warmup_steps is a tracer."""
    hp = jaxfit.Hyperparams(learning_rate=2.0, end_factor=0.1, schedule="warmup_cosine", steps=10)
    ts = jnp.arange(15)

    def values_at(w):
        return jax.vmap(make_schedule(with_warmup(hp, w)))(ts)

    values = np.asarray(jax.jit(values_at)(jnp.float32(warmup)))
    grad = jax.jit(jax.grad(lambda w: jnp.sum(values_at(w))))(jnp.float32(warmup))
    assert np.all(np.isfinite(values)) and np.isfinite(grad)
    t = np.arange(15.0)
    rising = t < warmup  # a warm-up longer than the run (25 > 10) never decays
    np.testing.assert_allclose(values[rising], 2.0 * t[rising] / warmup, rtol=1e-6)
    if warmup < 10:
        assert values[0] == pytest.approx(0.0 if warmup > 0 else 2.0)
        assert values[int(np.ceil(warmup))] <= 2.0
        np.testing.assert_allclose(values[10:], 0.2, rtol=1e-6)


def with_warmup(hp, w):
    """``hp`` with a (possibly traced) warmup_steps leaf, bypassing validation."""
    leaves, treedef = jax.tree.flatten(hp)
    names = jaxfit.numeric_fields(hp)
    leaves[names.index("warmup_steps")] = w
    return jax.tree.unflatten(treedef, leaves)


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_every_schedule_runs_under_vmap_over_hyperparameters(schedule):
    hps = jaxfit.stack(
        [jaxfit.Hyperparams(learning_rate=lr, schedule=schedule, steps=10) for lr in (0.1, 0.4)]
    )
    out = jax.vmap(lambda hp: make_schedule(hp)(jnp.int32(3)))(hps)
    singles = [make_schedule(h)(jnp.int32(3)) for h in jaxfit.unstack(hps)]
    np.testing.assert_allclose(out, singles, rtol=1e-6)


# ----------------------------------------------------------------------------- batching


@pytest.mark.parametrize("name", FIRST_ORDER)
def test_vmap_over_hyperparameters_equals_each_alone(name):
    settings_ = [
        dict(learning_rate=0.01, momentum=0.5, b1=0.8, weight_decay=0.0),
        dict(learning_rate=0.05, momentum=0.9, b1=0.9, weight_decay=0.1),
        dict(learning_rate=0.2, momentum=0.0, b1=0.5, weight_decay=0.01),
    ]
    hps = [
        jaxfit.Hyperparams(optimizer=name, schedule="cosine", steps=STEPS, **s) for s in settings_
    ]
    batched = jax.jit(jax.vmap(train, in_axes=(0, None)))(jaxfit.stack(hps), init_params())
    for i, hp in enumerate(hps):
        alone = jax.jit(train)(hp, init_params())
        assert_trees_close(jax.tree.map(lambda x, i=i: x[i], batched), alone, rtol=1e-5)


def test_new_learning_rates_do_not_retrace_but_a_new_optimizer_does():
    traces = 0

    def counted(hp, params):
        nonlocal traces
        traces += 1
        return train(hp, params)

    jitted = jax.jit(counted)
    for lr in (0.1, 0.2, 0.3):
        jitted(jaxfit.Hyperparams(learning_rate=lr, weight_decay=lr / 10), init_params())
    assert traces == 1
    jitted(jaxfit.Hyperparams(learning_rate=0.1, optimizer="sgd"), init_params())
    assert traces == 2
    jitted(jaxfit.Hyperparams(learning_rate=0.5, optimizer="sgd"), init_params())
    assert traces == 2


# ----------------------------------------------------------------------------- dtypes


def state_dtypes(hp, params):
    """The float dtypes of one update's state and updates (traced only, not compiled)."""

    def one_update(params):
        opt = make_optimizer(hp)
        state = opt.init(params)
        updates, new_state = opt.update(jax.grad(loss)(params), state, params)
        return state, new_state, updates

    state, new_state, updates = jax.eval_shape(one_update, params)

    def float_dtypes(tree):
        return {x.dtype for x in jax.tree.leaves(tree) if jnp.issubdtype(x.dtype, jnp.floating)}

    assert jax.tree.map(lambda x: x.dtype, new_state) == jax.tree.map(lambda x: x.dtype, state)
    return float_dtypes(new_state) | float_dtypes(updates)


@pytest.mark.parametrize("name", FIRST_ORDER)
def test_float32_state_stays_float32(name):
    hp = jaxfit.Hyperparams(optimizer=name, schedule="warmup_cosine", warmup_steps=2)
    assert state_dtypes(hp, init_params()) <= {jnp.dtype("float32")}


@pytest.mark.parametrize("name", FIRST_ORDER)
def test_float64_state_stays_float64_under_x64(name):
    with jax.enable_x64(True):
        hp = jaxfit.Hyperparams(optimizer=name, schedule="exponential", weight_decay=0.1)
        assert hp.learning_rate.dtype == jnp.float64
        assert state_dtypes(hp, init_params(jnp.float64)) <= {jnp.dtype("float64")}
        # float64 hyperparameters must not promote a float32 model's state or updates
        assert state_dtypes(hp, init_params(jnp.float32)) <= {jnp.dtype("float32")}


# ----------------------------------------------------------------------------- errors


@jaxfit.hyperparams
class Minimal:
    learning_rate: float = 0.1
    optimizer: str = jaxfit.static("sgd")
    schedule: str = jaxfit.static("constant")


def test_missing_field_names_it_and_suggests_subclassing():
    with pytest.raises(TypeError, match=r"weight_decay.*Subclass jaxfit\.Hyperparams"):
        make_optimizer(Minimal())
    with pytest.raises(TypeError, match=r"'cosine' schedule.*\['steps', 'end_factor'\]"):
        make_schedule(Minimal(schedule="cosine"))


@jaxfit.hyperparams
class Custom(jaxfit.Hyperparams):
    def __check_init__(self) -> None:  # skip the standard name checks
        pass


def test_unknown_names_are_rejected():
    with pytest.raises(ValueError, match=r"hp.optimizer='lion' is not supported.*'lbfgs'"):
        make_optimizer(Custom(optimizer="lion"))
    with pytest.raises(ValueError, match=r"hp.schedule='linear' is not supported"):
        make_optimizer(Custom(schedule="linear"))
    with pytest.raises(ValueError, match=r"hp.steps=0"):
        make_schedule(Custom(schedule="cosine", steps=0))


@settings(max_examples=10, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    l2=st.floats(0.01, 10.0),
    n=st.integers(8, 40),
    d=st.integers(1, 5),
)
def test_newton_one_step_is_closed_form_ridge(seed, l2, n, d):
    """On a quadratic objective one Newton step lands on the normal equations' solution."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    y = x @ rng.normal(size=d) + 0.5 + 0.1 * rng.normal(size=n)
    with jax.enable_x64(True):  # the setting too: its l2 leaf would otherwise be float32
        hp = jaxfit.Hyperparams(optimizer="newton", steps=1, l2=l2, l2_scaling="sum")
        r = jaxfit.fit(jaxfit.linear(), "mse", (x, y), hp, key=jax.random.key(0))
        w, b = np.asarray(r.params["w"])[:, 0], float(r.params["b"][0])
    # mean((Xw + b - y)^2) + 0.5 * l2 * ||w||^2 / n, bias unpenalised: Ridge(alpha=l2/2).
    design = np.hstack([x, np.ones((n, 1))])
    penalty = np.diag([l2 / 2] * d + [0.0])
    exact = np.linalg.solve(design.T @ design + penalty, design.T @ y)
    np.testing.assert_allclose(np.append(w, b), exact, rtol=1e-8, atol=1e-10)


def test_newton_needs_the_objective():
    opt = jaxfit.make_optimizer(jaxfit.Hyperparams(optimizer="newton"))
    params = {"w": jnp.ones((2, 1))}
    with pytest.raises(ValueError, match="needs params and value_fn"):
        opt.update(params, opt.init(params), params)


_SOLVE = jax.jit(__import__("jaxfit._training.optim", fromlist=["_"])._cholesky_solve)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**16), n=st.sampled_from([1, 3, 8]))  # one compile per size
def test_cholesky_solve_matches_numpy(seed, n):
    rng = np.random.default_rng(seed)
    m = rng.normal(size=(n, n))
    a, b = m @ m.T + n * np.eye(n), rng.normal(size=n)
    with jax.enable_x64(True):
        x = np.asarray(_SOLVE(jnp.asarray(a), jnp.asarray(b)))
    np.testing.assert_allclose(x, np.linalg.solve(a, b), rtol=1e-9, atol=1e-12)
    not_pd = _SOLVE(-jnp.eye(3), jnp.ones(3))
    assert np.isnan(np.asarray(not_pd)).any()  # the divergence guard's signal


def test_cholesky_pivot_floor_solves_singular_and_leaves_definite_alone():
    """The floor raises a pivot that is zero to rounding, and only such a pivot."""
    ones = np.ones((3, 3))  # rank 1: the 2nd and 3rd pivots are 0 (or rounding)
    b = np.array([1.0, 1.0, 1.0])  # in the range of `ones`
    with jax.enable_x64(True):
        plain = np.asarray(_SOLVE(jnp.asarray(ones), jnp.asarray(b)))
        floored = np.asarray(_SOLVE(jnp.asarray(ones), jnp.asarray(b), 1e-9))
        a = np.array([[4.0, 1.0], [1.0, 3.0]])
        same = np.asarray(_SOLVE(jnp.asarray(a), jnp.ones(2), 1e-9))
        unfloored = np.asarray(_SOLVE(jnp.asarray(a), jnp.ones(2)))
        still_nan = np.asarray(_SOLVE(-jnp.eye(2), jnp.ones(2), 1e-9))
    assert not np.isfinite(plain).all()
    np.testing.assert_allclose(ones @ floored, b, rtol=1e-9)  # a solution, finite
    np.testing.assert_array_equal(same, unfloored)
    assert np.isnan(still_nan).any()  # clearly indefinite: still the guard's NaN


NEWTON_ON_TWO_DEVICES = """
import jax, numpy as np
jax.config.update("jax_num_cpu_devices", 2)
import jaxfit
rng = np.random.default_rng(0)
x = rng.normal(size=(200, 30)).astype(np.float32)
y = (x[:, 0] + 0.3 * rng.normal(size=200) > 0).astype(np.int32)
base = jaxfit.Hyperparams(optimizer="newton", steps=8, l2_scaling="sum")
r = jaxfit.sweep(jaxfit.logistic(), "binary_cross_entropy", (x, y), base,
                 jaxfit.grid(l2=list(np.geomspace(0.1, 100, 10))), key=jax.random.key(0), cv=5,
                 progress=False)
print("ok", r.diverged.any())
"""


def test_newton_sweep_on_two_cpu_devices_does_not_deadlock():
    """Regression: LAPACK's batched Cholesky deadlocked with one CPU device per core.

    At these sizes (50 rows of 31 parameters) jaxlib's cho_factor hung on a 2-core machine.
    """
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-c", NEWTON_ON_TWO_DEVICES], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "ok False"


def test_newton_survives_softmax_intercepts_singular_hessian():
    """Regression: adding one constant to every class's intercept leaves softmax regression's
    loss unchanged, so its Hessian is singular; the undamped Cholesky solve went NaN."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(90, 4)).astype(np.float32)
    y = np.argmax(x[:, :3] + 0.5 * rng.normal(size=(90, 3)), axis=1)
    for l2 in (0.0, 1.0):  # l2 = 0: every class-wise weight shift is flat too
        hp = jaxfit.Hyperparams(optimizer="newton", steps=10, l2=l2, l2_scaling="sum")
        r = jaxfit.fit(jaxfit.softmax_regression(3), "softmax_cross_entropy", (x, y), hp,
                       key=jax.random.key(0))  # fmt: skip
        assert not bool(r.diverged), (l2, int(r.diverged_step))
        assert np.all(np.isfinite(r.train_loss))
        assert np.all(np.diff(r.train_loss) <= 1e-6)  # the line search never goes uphill


def test_newton_line_search_shortens_an_overshooting_step():
    """log(1 + e^x) - x / 2 (minimum at 0) from x = 3: full Newton steps go to -7.0, then
    past +500 (the curvature vanishes in the tails); the line search converges."""

    def f(p):
        return jnp.logaddexp(0.0, p["x"]) - 0.5 * p["x"]

    opt = make_optimizer(jaxfit.Hyperparams(optimizer="newton"))
    params, state = {"x": jnp.asarray(3.0)}, opt.init({"x": jnp.asarray(3.0)})
    for _ in range(8):
        value, grad = jax.value_and_grad(f)(params)
        updates, state = opt.update(grad, state, params, value=value, value_fn=f)
        params = optax.apply_updates(params, updates)
        assert float(f(params)) <= float(value)
    assert abs(float(params["x"])) < 1e-4


def test_newton_without_a_descent_step_stays_put():
    """At the optimum no trial step decreases the objective: the update is exactly 0."""
    opt = make_optimizer(jaxfit.Hyperparams(optimizer="newton"))
    params = {"x": jnp.asarray([0.0, 0.0])}
    f = lambda p: jnp.sum(p["x"] ** 2)  # noqa: E731
    updates, _ = opt.update(jax.grad(f)(params), opt.init(params), params, value_fn=f)
    np.testing.assert_array_equal(updates["x"], 0.0)


# The advice for a divergence depends on when it happened and on the optimizer.
ADVICE_X = np.linspace(-1, 1, 16, dtype=np.float32)[:, None]
ADVICE_Y = 2 * ADVICE_X[:, 0]


def _all_diverged_message(model, base, space, x=ADVICE_X, y=ADVICE_Y) -> str:
    r = jaxfit.sweep(model, "mse", (x, y), base, space, key=jax.random.key(0), progress=False)
    assert r.diverged.all()
    with pytest.raises(jaxfit.SweepDiverged) as info:
        r.best()
    assert str(info.value) in r.summary()
    return str(info.value)


def test_divergence_advice_for_a_learning_rate_names_it():
    base = jaxfit.Hyperparams(optimizer="sgd", steps=30)
    text = _all_diverged_message(jaxfit.linear(), base, jaxfit.grid(learning_rate=[5.0, 9.0]))
    assert "lower the learning rate" in text and "step 0" not in text


def test_divergence_advice_at_step_0_points_at_the_data_not_the_optimizer():
    y = 1e30 * ADVICE_Y  # finite, but its square overflows float32: the loss is inf
    for optimizer in ("sgd", "newton"):
        base = jaxfit.Hyperparams(optimizer=optimizer, steps=5)
        space = jaxfit.grid(l2=[0.1, 1.0])
        text = _all_diverged_message(jaxfit.linear(), base, space, y=y)
        assert "(inf: 2)" in text and "step 0" in text and "extreme values" in text, text
        assert "learning rate" not in text.replace("no optimizer setting", ""), text


def test_divergence_advice_for_newton_does_not_mention_a_learning_rate_to_lower():
    # Newton on an MLP: the Hessian at a random start is indefinite, the step is NaN.
    base = jaxfit.Hyperparams(optimizer="newton", steps=5, hidden=(4,))
    text = _all_diverged_message(jaxfit.mlp(), base, jaxfit.grid(l2=[0.0, 1e-3]))
    assert "lower the learning rate" not in text, text
    assert "'newton' has no learning rate to lower" in text and "convex" in text, text


def test_estimator_divergence_warning_depends_on_the_step_and_the_optimizer():
    from sklearn.exceptions import ConvergenceWarning

    x, y = np.asarray(ADVICE_X), np.asarray(ADVICE_Y)
    cases = [
        # the first update is NaN (indefinite Hessian): caught at its own step, the loss at
        # the initial parameters being finite, so the advice is the optimizer's
        (dict(optimizer="newton", model="mlp", hidden=(4,)), y, r"at step \d+ .*no learning rate"),
        (dict(optimizer="newton"), 1e30 * y, r"at step 0 .*check X and y"),  # inf loss
        (dict(optimizer="sgd", learning_rate=9.0), y, r"Lower learning_rate"),
    ]
    for params, target, match in cases:
        with pytest.warns(ConvergenceWarning, match=match):
            jaxfit.JaxfitRegressor(steps=5, **params).fit(x, target)
