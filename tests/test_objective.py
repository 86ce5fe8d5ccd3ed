"""``jaxfit.Objective``: your own training code through fit, the run seam and sweeps."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given, settings, strategies as st

import jaxfit
from jaxfit._training import TRACES, ObjectiveState, objective_run

KEY = jax.random.key(0)

# ----------------------------------------------------------------------------- linear regression
# A hand-written objective for what jaxfit.linear() + "mse" + full-batch sgd does.

X = jnp.linspace(-1.0, 1.0, 16)[:, None]
Y = 2.0 * X[:, 0] + 1.0 + 0.1 * jnp.sin(7.0 * X[:, 0])
LINEAR = jaxfit.linear()


def _mse(params, hp):
    pred = LINEAR.apply(params, X, hp)
    return jnp.mean((pred[:, 0] - Y) ** 2)


def _lin_init(key, hp):
    init_key, _ = jax.random.split(key)  # as the model path splits its key
    params = LINEAR.init(init_key, X, hp)
    return params, optax.sgd(hp.learning_rate).init(params)


def _lin_step(state, hp):
    params, opt_state = state
    loss, grads = jax.value_and_grad(_mse)(params, hp)
    updates, opt_state = optax.sgd(hp.learning_rate).update(grads, opt_state, params)
    return (optax.apply_updates(params, updates), opt_state), loss


LIN = jaxfit.Objective(
    init=_lin_init,
    step=_lin_step,
    evaluate=lambda state, hp: {"train_loss": _mse(state[0], hp)},
    params=lambda state: state[0],
    name="linear",
)
LIN_HP = jaxfit.Hyperparams(optimizer="sgd", learning_rate=0.3, steps=12)


@settings(max_examples=8, deadline=None)
@given(lr=st.floats(0.01, 0.9), seed=st.integers(0, 2**16))
def test_hand_written_linear_objective_matches_fit(lr, seed):
    hp = LIN_HP.replace(learning_rate=lr)
    key = jax.random.key(seed)
    ours = jaxfit.fit(LIN, hp=hp, key=key)
    ref = jaxfit.fit(LINEAR, "mse", (X, Y), hp, key=key)
    np.testing.assert_allclose(ours.train_loss, ref.train_loss, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(
        ours.metrics["train_loss"], ref.metrics["train_loss"], rtol=1e-5, atol=1e-7
    )
    for k in ("w", "b"):
        np.testing.assert_allclose(ours.params[k], ref.params[k], rtol=1e-5, atol=1e-7)
    assert not bool(ours.diverged) and ours.val_steps == ()


def test_hand_written_linear_objective_matches_sweep():
    space = jaxfit.grid(learning_rate=[0.05, 0.3, 0.8])
    ours = jaxfit.sweep(LIN, base=LIN_HP, space=space, key=KEY, seeds=2)
    ref = jaxfit.sweep(LINEAR, "mse", (X, Y), LIN_HP, space, key=KEY, seeds=2)
    np.testing.assert_allclose(
        ours.metrics["train_loss"], ref.metrics["train_loss"], rtol=1e-5, atol=1e-7
    )
    np.testing.assert_allclose(ours.train_curves, ref.train_curves, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(ours.params(2, 1)["w"], ref.params(2, 1)["w"], rtol=1e-5)
    assert ours.greater_is_better == {"train_loss": False}
    assert [b["varied"] for b in ours.best(3)] == [b["varied"] for b in ref.best(3)]
    assert ours.info["rank_by"] == "train_loss" and ours.info["objective"] == "linear"


# ----------------------------------------------------------------------------- the run seam
# A damped oscillator's two constants fitted to a known curve by Adam: data-free, with a
# key in the state (a jitter of the start) and a validation curve.

T = jnp.linspace(0.0, 6.0, 40)
TRUE = jnp.array([0.3, 2.0])  # damping, angular frequency


def _curve(theta):
    return jnp.exp(-theta[0] * T) * jnp.cos(theta[1] * T)


TARGET = _curve(TRUE)


def _cost(theta):
    return jnp.mean((_curve(theta) - TARGET) ** 2)


def _osc_init(key, hp):
    theta = jnp.array([0.5, 1.8]) + 0.01 * jax.random.normal(key, (2,))
    return {"theta": theta, "opt": optax.adam(hp.learning_rate).init(theta), "key": key}


def _osc_step(state, hp):
    cost, grad = jax.value_and_grad(_cost)(state["theta"])
    updates, opt = optax.adam(hp.learning_rate).update(grad, state["opt"], state["theta"])
    return {"theta": optax.apply_updates(state["theta"], updates), "opt": opt,
            "key": state["key"]}, cost  # fmt: skip


OSC = jaxfit.Objective(
    init=_osc_init,
    step=_osc_step,
    evaluate=lambda s, hp: {"cost": _cost(s["theta"]), "damping": s["theta"][0]},
    params=lambda s: s["theta"],
    name="oscillator",
)
OSC_HP = jaxfit.Hyperparams(learning_rate=0.05, steps=300)
OSC_SPACE = jaxfit.grid(learning_rate=[0.003, 0.03, 0.1])


@pytest.fixture(scope="module")
def osc_sweep():
    return jaxfit.sweep(OSC, base=OSC_HP, space=OSC_SPACE, key=KEY, seeds=2, eval_every=100)


def test_data_free_objective_converges(osc_sweep):
    r = osc_sweep
    best = r.best(1)[0]
    assert best["varied"]["learning_rate"] in (0.03, 0.1)
    assert best["metric"] == "cost" and best["mean"] < 1e-6
    np.testing.assert_allclose(r.params(best["index"], 0), TRUE, atol=1e-3)
    assert r.val_steps[0] == (100, 200, 300) and r.val_curves.shape == (3, 2, 3)
    # The validation curve records the first metric: its last point is the final cost.
    np.testing.assert_allclose(r.val_curves[:, :, -1], r.metrics["cost"], rtol=1e-6)
    assert r.greater_is_better == {"cost": False, "damping": False}
    assert "ranked by cost (lower is better)" in r.summary()


def test_an_objectives_result_saves_loads_and_plots(osc_sweep, tmp_path):
    pytest.importorskip("matplotlib")
    osc_sweep.save(tmp_path / "result")
    loaded = jaxfit.SweepResult.load(tmp_path / "result")
    assert loaded.best(3) == osc_sweep.best(3)  # ranked by "cost" after loading too
    np.testing.assert_array_equal(loaded.params(2, 1), osc_sweep.params(2, 1))
    import matplotlib.pyplot as plt

    assert osc_sweep.plot_curves("val_loss").get_ylabel() == "val_loss (cost, lower is better)"
    assert osc_sweep.plot_score().get_ylabel() == "cost (lower is better)"
    plt.close("all")


RUN = objective_run(OSC, OSC_HP.replace(steps=10), eval_every=3)
INIT = jax.jit(RUN.init)
ADVANCE = jax.jit(RUN.advance)


@settings(max_examples=10, deadline=None)
@given(k=st.integers(0, 12), m=st.integers(0, 12))
def test_advance_twice_is_advance_once(k, m):
    s0 = INIT(KEY, OSC_HP.replace(steps=10))
    twice, once = ADVANCE(ADVANCE(s0, k), m), ADVANCE(s0, k + m)
    for a, b in zip(jax.tree.leaves(twice), jax.tree.leaves(once), strict=True):
        if jnp.issubdtype(a.dtype, jax.dtypes.prng_key):
            a, b = jax.random.key_data(a), jax.random.key_data(b)
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert int(once.step) == min(k + m, 10)
    assert np.isnan(np.asarray(once.val_loss)).sum() == 4 - min(k + m, 10) // 3 - (k + m >= 10)


def test_vmapped_run_equals_single_runs():
    hp = OSC_HP.replace(steps=10)
    hps = jaxfit.stack([hp.replace(learning_rate=lr) for lr in (0.01, 0.05, 0.2)])
    keys = jax.random.split(KEY, 3)
    s0 = jax.vmap(RUN.init)(keys, hps)
    axes = ObjectiveState.axes()
    s0 = s0._replace(step=s0.step[0])
    batched = jax.jit(jax.vmap(RUN.advance, in_axes=(axes, None), out_axes=axes))(s0, 10)
    for i in range(3):
        one = ADVANCE(INIT(keys[i], jaxfit.unstack(hps)[i]), 10)
        np.testing.assert_allclose(batched.train_loss[i], one.train_loss, rtol=1e-6)
        np.testing.assert_allclose(batched.val_loss[i], one.val_loss, rtol=1e-6)
        np.testing.assert_allclose(batched.state["theta"][i], one.state["theta"], rtol=1e-6)
    # A whole run (scans of known lengths: 3 periods of 3 steps, then 1) is the same run.
    whole = jax.jit(RUN.fit)(jaxfit.unstack(hps)[2], keys[2])
    np.testing.assert_allclose(whole.train_loss, batched.train_loss[2], rtol=1e-6)
    np.testing.assert_allclose(whole.val_loss, batched.val_loss[2], rtol=1e-6)
    assert whole.val_steps == (3, 6, 9, 10) and not np.isnan(whole.val_loss).any()


# ----------------------------------------------------------------------------- PureJaxRL port


@jaxfit.hyperparams
class BanditConfig:
    learning_rate: float = jaxfit.numeric(0.5, gt=0.0)
    ent_coef: float = jaxfit.numeric(0.0, ge=0.0)
    n_updates: int = jaxfit.static(20)


def make_train(config):
    """A two-armed bandit (arm 1 pays 1 more on average) and a REINFORCE learner of the
    probability ``p`` of pulling arm 1, PureJaxRL-style: one pure function of a key, its
    loop a ``lax.scan``. ``ent_coef`` pulls ``p`` back towards 1/2 (exploration).

    Only arithmetic, comparisons and uniform draws (no exp or log, whose vectorised
    implementations can differ in the last bit between batch layouts), so a sweep's rows
    and a nested vmap agree exactly.
    """

    def train(key):
        def update(carry, key):
            p, baseline = carry
            k_arm, k_reward = jax.random.split(key)
            arm = jax.random.uniform(k_arm) < p
            reward = arm.astype(p.dtype) + jax.random.uniform(k_reward, minval=-1.0, maxval=1.0)
            # d log pi(arm) / dp, times p (1 - p): a natural-gradient step on p
            grad = jnp.where(arm, 1.0 - p, -p) * (reward - baseline)
            p = jnp.clip(p + config.learning_rate * grad + config.ent_coef * (0.5 - p), 0.01, 0.99)
            baseline = 0.9 * baseline + 0.1 * reward
            return (p, baseline), {"return": reward, "p_best": p}

        keys = jax.random.split(key, config.n_updates)
        _, metrics = jax.lax.scan(update, (jnp.full((), 0.5), jnp.zeros(())), keys)
        return {"runner_state": None, "metrics": metrics}

    return train


BANDIT = jaxfit.Objective.from_train(
    lambda hp, key: make_train(hp)(key)["metrics"], maximize=("p_best", "return"),
    metrics=["p_best", "return"],
)  # fmt: skip


def test_purejaxrl_style_train_sweeps_exactly():
    space = jaxfit.grid(ent_coef=[0.0, 0.1, 1.0])
    r = jaxfit.sweep(BANDIT, base=BanditConfig(), space=space, key=KEY, seeds=8)
    seeds = jnp.arange(8)
    keys = jax.vmap(lambda s: jax.random.fold_in(KEY, s))(seeds)
    hps = jaxfit.stack([BanditConfig(ent_coef=c) for c in (0.0, 0.1, 1.0)])
    by_hand = jax.jit(jax.vmap(lambda h: jax.vmap(make_train(h))(keys)))(hps)["metrics"]
    np.testing.assert_array_equal(r.metrics["p_best"], np.asarray(by_hand["p_best"][..., -1]))
    np.testing.assert_array_equal(r.metrics["return"], np.asarray(by_hand["return"][..., -1]))
    assert r.info["rank_by"] == "p_best" and r.greater_is_better["p_best"]
    assert r.best(1)[0]["varied"] == {"ent_coef": 0.0}  # entropy keeps the policy uncertain
    assert r.params(0) == {} and r.train_curves.shape == (3, 8, 1)


# ----------------------------------------------------------------------------- divergence


@jaxfit.hyperparams
class FailConfig:
    fail_at: float = 100.0
    inf_at: float = 100.0
    steps: int = jaxfit.static(6)


def _fail_step(state, hp):
    t, w = state
    w = jnp.where(t >= hp.fail_at, jnp.nan, w + 1.0)
    loss = jnp.where(t >= hp.inf_at, jnp.inf, t)
    return (t + 1.0, w), loss


FAIL = jaxfit.Objective(
    init=lambda key, hp: (jnp.zeros(()), jnp.zeros(())),
    step=_fail_step,
    evaluate=lambda s, hp: {"w": s[1], "inv": 1.0 / (s[1] - 6.0)},
)


def test_divergence_freezes_the_state_and_marks_the_row():
    space = [FailConfig(fail_at=3.0), FailConfig(inf_at=2.0), FailConfig()]
    r = jaxfit.sweep(FAIL, base=FailConfig(), space=space, key=KEY)
    assert r.diverged[:, 0].tolist() == [True, True, True]
    assert [str(c) for c in np.asarray(jaxfit.CAUSES)[r.cause[:, 0]]] == ["nan", "inf", "inf"]
    # NaN at step 3 (w would be NaN) and inf loss at step 2; the third ran all 6 steps,
    # and its final metric 1 / (6 - 6) is infinite: diverged at its last step.
    assert r.diverged_step[:, 0].tolist() == [3, 2, 5]
    assert r.last_good_metrics["w"][:, 0].tolist() == [3.0, 2.0, 6.0]
    assert np.isnan(r.metrics["w"]).all()
    np.testing.assert_array_equal(r.train_curves[0, 0], [0, 1, 2, np.nan, np.nan, np.nan])
    np.testing.assert_array_equal(r.train_curves[1, 0], [0, 1, np.nan, np.nan, np.nan, np.nan])
    with pytest.raises(jaxfit.SweepDiverged):
        r.best()


SCALE = jaxfit.Objective(
    init=lambda key, hp: jnp.ones(()),
    step=lambda w, hp: w * (1.0 - hp.learning_rate),
    evaluate=lambda w, hp: {"w": w},
)


def test_step_without_loss_has_a_nan_curve_and_new_values_do_not_retrace():
    hp = jaxfit.Hyperparams(learning_rate=0.5, steps=3)
    r = jaxfit.fit(SCALE, hp=hp, key=KEY)
    assert np.isnan(r.train_loss).all() and float(r.metrics["w"]) == 0.125
    assert float(r.params) == 0.125  # params default to the whole state
    before = TRACES["objective"]
    r = jaxfit.fit(SCALE, hp=hp.replace(learning_rate=0.75), key=KEY)
    assert float(r.metrics["w"]) == 0.25**3 and TRACES["objective"] == before


# ----------------------------------------------------------------------------- compiles, resume


def test_one_compile_per_static_group_and_none_when_repeated():
    space = jaxfit.grid(learning_rate=[0.01, 0.1, 0.2], steps=[4, 8])
    before = TRACES["sweep"]
    r = jaxfit.sweep(SCALE, base=LIN_HP, space=space, key=KEY, seeds=2)
    assert TRACES["sweep"] - before == 2 and len(r.groups) == 2
    again = jaxfit.sweep(SCALE, base=LIN_HP, space=space, key=KEY, seeds=2)
    assert TRACES["sweep"] - before == 2
    assert all(g.compile_s == 0.0 for g in again.groups)
    np.testing.assert_array_equal(r.metrics["w"], again.metrics["w"])
    expected = [(1 - r.hyperparams[i]["learning_rate"]) ** r.hyperparams[i]["steps"]
                for i in range(6)]  # fmt: skip
    np.testing.assert_allclose(r.metrics["w"][:, 0], expected, rtol=1e-5)


def test_checkpoint_resume_and_changed_objective_refused(tmp_path, osc_sweep):
    d = str(tmp_path / "ckpt")
    kwargs = dict(base=OSC_HP, space=OSC_SPACE, key=KEY, seeds=2, eval_every=100, chunk_size=4)
    first = jaxfit.sweep(OSC, checkpoint_dir=d, **kwargs)
    assert first.groups[0].n_chunks == 2 and len(first.info["devices"]) == 4
    # Chunked (4 rows per call, the last padded) equals one call of all 6 rows.
    np.testing.assert_array_equal(first.metrics["cost"], osc_sweep.metrics["cost"])
    np.testing.assert_array_equal(first.train_curves, osc_sweep.train_curves)
    resumed = jaxfit.sweep(OSC, checkpoint_dir=d, **kwargs)
    assert all(g.n_chunks == 0 for g in resumed.groups)  # every row came from the checkpoint
    np.testing.assert_array_equal(resumed.metrics["cost"], first.metrics["cost"])
    np.testing.assert_array_equal(resumed.val_curves, first.val_curves)
    np.testing.assert_array_equal(resumed.params(1, 1), first.params(1, 1))
    changed = jaxfit.Objective(
        init=_osc_init,
        step=_osc_step,
        evaluate=lambda s, hp: {"cost": 2 * _cost(s["theta"]), "damping": s["theta"][0]},
        params=lambda s: s["theta"],
        name="oscillator",
    )
    with pytest.raises(ValueError, match="differs in objective"):
        jaxfit.sweep(changed, checkpoint_dir=d, **kwargs)


# ----------------------------------------------------------------------------- refusals


def _ok_init(key, hp):
    return jnp.zeros(())


def _ok_step(w, hp):
    return w + 1.0


def _ok_eval(w, hp):
    return {"w": w}


def test_construction_refusals():
    with pytest.raises(TypeError, match=r"init=.*cannot be called as init\(key, hp\)"):
        jaxfit.Objective(init=lambda key: 0, step=_ok_step, evaluate=_ok_eval)
    with pytest.raises(TypeError, match=r"step=3 .* is not callable"):
        jaxfit.Objective(init=_ok_init, step=3, evaluate=_ok_eval)
    with pytest.raises(TypeError, match=r"maximize=\('return',\)"):
        jaxfit.Objective(init=_ok_init, step=_ok_step, evaluate=_ok_eval, maximize="return")
    with pytest.raises(ValueError, match=r"Objective.steps must be a positive int"):
        jaxfit.Objective(init=_ok_init, step=_ok_step, evaluate=_ok_eval, steps=0)
    with pytest.raises(TypeError, match="name must be a str"):
        jaxfit.Objective(init=_ok_init, step=_ok_step, evaluate=_ok_eval, name=1)
    with pytest.raises(TypeError, match=r"train=.*cannot be called as train\(hp, key\)"):
        jaxfit.Objective.from_train(lambda key: {})
    with pytest.raises(TypeError, match=r"metrics=\.\.\.\) must be a sequence"):
        jaxfit.Objective.from_train(lambda hp, key: {}, metrics="return")


HP = jaxfit.Hyperparams(steps=2)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(step=lambda w, hp: (w, w, w)), TypeError, r"must return the state \(structure"),
        (dict(step=lambda w, hp: jnp.zeros(3)), TypeError, r"float32\[\] .* to float32\[3\]"),
        (dict(step=lambda w, hp: (w, jnp.zeros(2))), TypeError, r"loss of shape \(2,\)"),
        (dict(evaluate=lambda w, hp: w), TypeError, "must return a dict"),
        (dict(evaluate=lambda w, hp: {"ok": w, "bad": jnp.zeros(2)}), TypeError,
         r"evaluate's 'bad' must be a scalar; got shape \(2,\)"),
        (dict(evaluate=lambda w, hp: {"flag": w > 0}), TypeError, "'flag' has dtype bool"),
        (dict(evaluate=lambda w, hp: {}), ValueError, "empty dict"),
        (dict(maximize=("reward",)), ValueError, r"maximize names \['reward'\]"),
    ],
)  # fmt: skip
def test_shape_refusals_before_compiling(kwargs, error, match):
    fields = dict(init=_ok_init, step=_ok_step, evaluate=_ok_eval) | kwargs
    objective = jaxfit.Objective(**fields)
    before = TRACES["sweep"]
    with pytest.raises(error, match=match):
        jaxfit.sweep(objective, base=HP, key=KEY)
    with pytest.raises(error, match=match):
        jaxfit.fit(objective, hp=HP, key=KEY)
    assert TRACES["sweep"] == before


OK = jaxfit.Objective(init=_ok_init, step=_ok_step, evaluate=_ok_eval)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        (dict(loss="mse"), "loss"),
        (dict(data=(X, Y)), "data"),
        (dict(val=(X, Y)), "val"),
        (dict(metrics=["mae"]), "metrics"),
        (dict(cv=3), "cv"),
        (dict(groups=np.zeros(16)), "groups"),
        (dict(optimizer=lambda hp: optax.sgd(0.1)), "optimizer"),
        (dict(explode_factor=10.0), "explode_factor"),
    ],
)
def test_data_arguments_refused_with_an_objective(kwargs, name):
    with pytest.raises(TypeError, match=f"sweep: {name}= cannot be used with a jaxfit.Objective"):
        jaxfit.sweep(OK, base=HP, key=KEY, **kwargs)
    with pytest.raises(TypeError, match=f"sweep_plan: {name}= cannot be used"):
        jaxfit.sweep_plan(OK, base=HP, **kwargs)


def test_other_refusals():
    with pytest.raises(TypeError, match="base or space, pass them by keyword"):
        jaxfit.sweep(OK, HP, key=KEY)  # positional base lands in loss
    with pytest.raises(TypeError, match="needs base="):
        jaxfit.sweep(OK, key=KEY)
    with pytest.raises(TypeError, match=r"sweep with a jaxfit.Model needs loss, data"):
        jaxfit.sweep(LINEAR, base=HP, key=KEY)
    with pytest.raises(TypeError, match=r"fit with a jaxfit.Model needs data"):
        jaxfit.fit(LINEAR, "mse", hp=HP, key=KEY)
    with pytest.raises(TypeError, match=r"fit: loss=, data= given with a jaxfit.Objective"):
        jaxfit.fit(OK, "mse", (X, Y), HP, key=KEY)
    with pytest.raises(TypeError, match=r"NoSteps.steps is missing"):
        jaxfit.fit(OK, hp=NoSteps(), key=KEY)
    with pytest.raises(ValueError, match="eval_every must be a positive int"):
        jaxfit.fit(OK, hp=HP, key=KEY, eval_every=0)
    with pytest.raises(TypeError, match="'done' has dtype bool"):
        jaxfit.fit(
            jaxfit.Objective.from_train(lambda hp, key: {"done": jnp.ones(3, bool)}),
            hp=HP, key=KEY,
        )  # fmt: skip


@jaxfit.hyperparams
class NoSteps:
    lr: float = 0.1


def test_sweep_plan_of_an_objective():
    plan = jaxfit.sweep_plan(OK, base=HP, space=jaxfit.grid(steps=[2, 3]), seeds=3)
    assert [(g.steps, g.n_rows) for g in plan.groups] == [(2, 3), (3, 3)]
    assert [g.flops_per_row for g in plan.groups] == [2.0, 3.0]  # one add per step
