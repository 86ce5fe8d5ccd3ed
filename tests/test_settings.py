"""The sweep's columnar settings equal ``Space.apply``'s, value for value, error for error."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import jaxfit
from jaxfit._sweeping.settings import _from_list, _from_space, settings_of

FAST = settings(max_examples=40, deadline=None)


@jaxfit.hyperparams
class Wide(jaxfit.Hyperparams):
    """Hyperparams' own cross-field check, one more bounded field: the fast path applies."""

    dropout: float = jaxfit.numeric(default=0.1, ge=0.0, lt=1.0)


@jaxfit.hyperparams
class Custom:
    """A check of its own that compares with ``if``: only per-setting checks are exact."""

    rate: float = jaxfit.numeric(default=0.5, gt=0.0)
    width: int = jaxfit.static(default=4)

    def __check_init__(self):
        if self.rate > 10.0:
            raise ValueError("rate above 10")


lr = st.one_of(st.floats(0.0, 10.0), st.integers(0, 3))
axis_values = {
    "learning_rate": st.lists(lr, min_size=1, max_size=4),
    "momentum": st.lists(st.floats(0.0, 0.99), min_size=1, max_size=3),
    "dropout": st.lists(st.floats(0.0, 0.9), min_size=1, max_size=3),
    "steps": st.lists(st.integers(1, 5), min_size=1, max_size=3),
    "hidden": st.lists(st.sampled_from([(4,), (8, 8), ()]), min_size=1, max_size=2),
    "optimizer": st.lists(st.sampled_from(["sgd", "adam", "lbfgs"]), min_size=1, max_size=2),
}


@st.composite
def spaces(draw, names=tuple(axis_values)):
    def one():
        keys = draw(st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True))
        axes = {k: draw(axis_values[k]) for k in keys}
        if draw(st.booleans()):
            return jaxfit.grid(**axes)
        n = draw(st.integers(1, 3))
        return jaxfit.zipped(**{k: (v * n)[:n] for k, v in axes.items()})

    a, b = one(), one()
    if set(a.names) & set(b.names):
        return draw(st.sampled_from([a, a + b]))
    return draw(st.sampled_from([a, a + b, a * b]))


def _same(fast, slow):
    assert fast.varied == slow.varied
    assert fast.dicts == slow.dicts
    assert [g.key for g in fast.groups] == [g.key for g in slow.groups]
    assert [g.indices for g in fast.groups] == [g.indices for g in slow.groups]
    for f, s in zip(fast.groups, slow.groups, strict=True):
        assert jaxfit.to_dict(f.first) == jaxfit.to_dict(s.first)
        for a, b in zip(
            jaxfit.numeric_fields(f.batch), jaxfit.numeric_fields(s.batch), strict=True
        ):
            x, y = np.asarray(getattr(f.batch, a)), np.asarray(getattr(s.batch, b))
            assert x.dtype == y.dtype and x.shape == y.shape
            np.testing.assert_array_equal(x.view(np.uint8), y.view(np.uint8))  # bitwise


@FAST
@given(space=spaces(), wide=st.booleans())
def test_columns_equal_apply(space, wide):
    base = (Wide if wide else jaxfit.Hyperparams)(steps=3, weight_decay=0.0)
    try:
        expected = _from_list(space.apply(base), space.names)
    except (TypeError, ValueError) as e:  # e.g. lbfgs with a schedule: the same error
        with pytest.raises(type(e), match=str(e)[:40].replace("(", r"\(").replace("[", r"\[")):
            settings_of(base, space)
        return
    fast = _from_space(base, space)
    assert fast is not None  # valid points of these classes never need the slow path
    _same(fast, expected)


@pytest.mark.parametrize(
    ("space", "error", "match"),
    [
        (jaxfit.grid(learning_rate=[0.1, True]), TypeError, "point 1, axis learning_rate"),
        (jaxfit.grid(learning_rate=[0.1, -1.0]), ValueError, "point 1, axis learning_rate"),
        (jaxfit.grid(learning_rate=[float("nan")]), ValueError, "must be finite"),
        (jaxfit.grid(momentum=[0.5, 1.0]), ValueError, "point 1, axis momentum"),
        (jaxfit.grid(hidden=[("a",)]), TypeError, "point 0, axis hidden"),
        (jaxfit.grid(learning_rate=["0.1"]), TypeError, "point 0, axis learning_rate"),
        (
            jaxfit.zipped(optimizer=["sgd", "lbfgs"], weight_decay=[0.1, 0.1]),
            ValueError,
            "point 1 .*weight_decay=0.1 with optimizer='lbfgs'",
        ),
        (jaxfit.grid(learnin_rate=[0.1]), ValueError, "did you mean 'learning_rate'"),
    ],
)
def test_bad_points_raise_apply_errors(space, error, match):
    base = jaxfit.Hyperparams()
    with pytest.raises(error, match=match):
        space.apply(base)
    with pytest.raises(error, match=match):
        settings_of(base, space)


def test_a_custom_check_runs_per_setting():
    space = jaxfit.grid(rate=[1.0, 2.0], width=[1, 2])
    assert _from_space(Custom(), space) is None  # its check is not known to be batch-safe
    got = settings_of(Custom(), space)
    _same(got, _from_list(space.apply(Custom()), space.names))
    with pytest.raises(ValueError, match="rate above 10"):
        settings_of(Custom(), jaxfit.grid(rate=[1.0, 11.0]))


def test_groups_follow_first_appearance_and_keep_unequal_equal_values_apart():
    space = jaxfit.grid(steps=[2, 1], learning_rate=[0.1, 0.2])
    got = settings_of(jaxfit.Hyperparams(), space)
    assert [g.first.steps for g in got.groups] == [2, 1]
    assert [g.indices for g in got.groups] == [[0, 1], [2, 3]]
    np.testing.assert_array_equal(got.groups[1].batch.learning_rate, np.float32([0.1, 0.2]))
    assert got.dicts[3]["learning_rate"] == 0.2 and got.dicts[3]["steps"] == 1


seen_shapes: list[tuple[int, ...]] = []  # the shape of `rate` at each check below


@jaxfit.hyperparams
class Declared:
    """Declares that its check, which reads `rate` through np.any only, accepts a batch."""

    rate: float = jaxfit.numeric(default=0.5, gt=0.0)
    width: int = jaxfit.static(default=4)

    __check_init_batched__ = True

    def __check_init__(self):
        seen_shapes.append(np.shape(self.rate))
        if np.any(np.asarray(self.rate) > 10.0):
            raise ValueError("rate above 10")


@jaxfit.hyperparams
class Inherits(Declared):
    """Adds a field and keeps the declared check: still batch-safe."""

    extra: float = 1.0


@jaxfit.hyperparams
class Overrides(Declared):
    """Overrides the check without declaring it again: checked one setting at a time."""

    def __check_init__(self):
        seen_shapes.append(np.shape(self.rate))
        if self.rate > 10.0:
            raise ValueError("rate above 10")


@pytest.mark.parametrize("cls", [Declared, Inherits])
def test_a_declared_check_runs_once_per_group_on_the_batch(cls):
    base = cls()
    space = jaxfit.grid(rate=[1.0, 2.0, 3.0], width=[1, 2])
    seen_shapes.clear()
    fast = _from_space(base, space)
    assert fast is not None
    assert sorted(seen_shapes) == [(), (), (3,), (3,)]  # per group: its first setting, its batch
    _same(fast, _from_list(space.apply(base), space.names))
    with pytest.raises(ValueError, match=r"point 1, axis rate.*rate above 10"):
        settings_of(base, jaxfit.grid(rate=[1.0, 11.0]))


def test_an_override_without_the_declaration_runs_per_setting():
    space = jaxfit.grid(rate=[1.0, 2.0, 3.0], width=[1, 2])
    base = Overrides()
    assert _from_space(base, space) is None
    seen_shapes.clear()
    got = settings_of(base, space)
    assert seen_shapes == [()] * len(space)  # every setting alone, never a batch
    _same(got, _from_list(space.apply(base), space.names))


def test_the_declaration_is_checked():
    with pytest.raises(TypeError, match="must be True or False; got 1"):

        @jaxfit.hyperparams
        class One:
            rate: float = 0.5
            __check_init_batched__ = 1

    with pytest.raises(TypeError, match="declare it as a plain class attribute"):

        @jaxfit.hyperparams
        class Annotated:
            rate: float = 0.5
            __check_init_batched__: bool = True
