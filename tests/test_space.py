"""Search spaces: lengths, order, determinism, bounds, round trips, apply and every error."""

import dataclasses
import itertools
import json
import math
import tomllib
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import jaxfit

FAST = settings(max_examples=30, deadline=None)
WRONG: dict[str, Any] = {"str": "0", "float": 2.5, "two": 2.0}  # mistyped on purpose

names = st.sampled_from(["lr", "wd", "hidden", "steps", "act"])
values = st.one_of(
    st.integers(-5, 5),
    st.floats(-1e3, 1e3, allow_nan=False),
    st.text(max_size=3),
    st.booleans(),
    st.none(),
    st.lists(st.integers(1, 64), max_size=3).map(tuple),
)
axis = st.lists(values, min_size=1, max_size=3)
axes = st.dictionaries(names, axis, min_size=1, max_size=3)


@st.composite
def ranges(draw):
    """(distribution, low, high) for one of the bounded distributions."""
    kind = draw(st.sampled_from(["uniform", "loguniform", "integers"]))
    if kind == "integers":
        low = draw(st.integers(-1000, 1000))
        high = low + draw(st.integers(1, 1000))
        return jaxfit.integers(low, high), low, high
    if kind == "loguniform":
        low = draw(st.floats(1e-8, 1e3))
        high = low * draw(st.floats(1.001, 1e6))
        return jaxfit.loguniform(low, high), low, high
    low = draw(st.floats(-1e6, 1e6))
    high = low + draw(st.floats(1e-3, 1e6))
    return jaxfit.uniform(low, high), low, high


@st.composite
def spaces(draw, prefix=""):
    """A grid, zipped or random space whose names all start with ``prefix``."""
    kind = draw(st.sampled_from(["grid", "zip", "random"]))
    keys = [prefix + k for k in draw(st.lists(names, min_size=1, max_size=3, unique=True))]
    if kind == "grid":
        return jaxfit.grid(**{k: draw(axis) for k in keys})
    if kind == "zip":
        length = draw(st.integers(1, 3))
        return jaxfit.zipped(
            **{k: draw(st.lists(values, min_size=length, max_size=length)) for k in keys}
        )
    dists = st.one_of(ranges().map(lambda r: r[0]), axis, axis.map(jaxfit.choice))
    n, seed = draw(st.integers(1, 4)), draw(st.integers(0, 2**32))
    return jaxfit.random_space(n, seed=seed, **{k: draw(dists) for k in keys})


@st.composite
def composed(draw):
    a, b, c = draw(spaces("a_")), draw(spaces("b_")), draw(spaces("a_"))
    return draw(st.sampled_from([a, a * b, a + c, (a + c) * b, b * a + c]))


@FAST
@given(axes=axes)
def test_grid_length_and_order_follow_itertools_product(axes):
    space = jaxfit.grid(**axes)
    assert len(space) == math.prod(len(v) for v in axes.values()) == len(space.points())
    expected = [dict(zip(axes, row, strict=True)) for row in itertools.product(*axes.values())]
    assert space.points() == expected
    assert list(space) == expected
    assert space.names == tuple(axes)


@FAST
@given(length=st.integers(1, 5), data=st.data())
def test_zipped_moves_axes_together(length, data):
    a = data.draw(st.lists(values, min_size=length, max_size=length))
    b = data.draw(st.lists(values, min_size=length, max_size=length))
    space = jaxfit.zipped(x=a, y=b)
    assert len(space) == length
    assert space.points() == [{"x": u, "y": v} for u, v in zip(a, b, strict=True)]


@FAST
@given(a=spaces("a_"), b=spaces("b_"), c=spaces("a_"))
def test_product_and_concat(a, b, c):
    product = a * b
    assert len(product) == len(a) * len(b) == len(product.points())
    assert product.points() == [p | q for p in a.points() for q in b.points()]
    assert product.names == a.names + b.names
    concat = a + c
    assert len(concat) == len(a) + len(c)
    assert concat.points() == a.points() + c.points()
    assert concat.names == tuple(dict.fromkeys(a.names + c.names))
    assert ((a + c) * b).points() == [p | q for p in concat.points() for q in b.points()]


@FAST
@given(seed=st.integers(0, 2**32), other=st.integers(0, 2**32), n=st.integers(2, 6))
def test_random_space_is_deterministic_by_seed(seed, other, n):
    def make(s):
        return jaxfit.random_space(n, seed=s, lr=jaxfit.loguniform(1e-5, 1.0), k=[1, 2, 3])

    space = make(seed)
    assert len(space) == n
    assert space.points() == make(seed).points() == list(space)
    if other != seed:
        assert make(other).points() != space.points()


@FAST
@given(r=ranges(), seed=st.integers(0, 1000))
def test_samples_within_bounds(r, seed):
    dist, low, high = r
    samples = jaxfit.random_space(50, seed=seed, x=dist).points()
    for p in samples:
        assert low <= p["x"] <= high  # inclusive at both ends for every distribution
        kind = int if isinstance(dist, jaxfit.integers) else float
        assert type(p["x"]) is kind


def test_integers_reach_both_ends_and_choice_keeps_tuples():
    space = jaxfit.random_space(200, d=jaxfit.integers(1, 3), h=[(32,), (64, 64)])
    assert {p["d"] for p in space} == {1, 2, 3}
    assert {p["h"] for p in space} == {(32,), (64, 64)}


@FAST
@given(space=composed())
def test_to_dict_round_trip_through_json(space):
    d = space.to_dict()
    assert jaxfit.space_from_dict(d).points() == space.points()
    via_json = jaxfit.space_from_dict(json.loads(json.dumps(d)))
    assert via_json.points() == space.points()
    assert via_json == space


def test_space_from_toml():
    text = """
    [random]
    n = 6
    seed = 3
    learning_rate = {loguniform = [1e-4, 1e-1]}
    hidden = {choice = [[32], [64, 64]]}
    optimizer = ["sgd", "adam"]
    """
    space = jaxfit.space_from_dict(tomllib.loads(text))
    assert len(space) == 6 and space.names == ("learning_rate", "hidden", "optimizer")
    assert {p["hidden"] for p in space} <= {(32,), (64, 64)}
    hps = space.apply(jaxfit.Hyperparams())
    assert [hp.hidden for hp in hps] == [p["hidden"] for p in space]


def test_numpy_values_become_python_values():
    space = jaxfit.grid(
        lr=np.array([0.1, 0.2], dtype=np.float32), steps=np.arange(1, 3), hidden=np.ones((1, 2))
    )
    point = space.points()[0]
    assert point == {"lr": 0.1, "steps": 1, "hidden": (1.0, 1.0)}
    assert type(point["lr"]) is float and type(point["steps"]) is int
    assert jaxfit.grid(steps=range(3)).points()[2] == {"steps": 2}


def test_space_is_immutable_hashable_and_points_are_copies():
    space = jaxfit.grid(lr=[0.1, 0.2])
    with pytest.raises(dataclasses.FrozenInstanceError):
        space._kind = "zip"  # type: ignore[misc]
    assert hash(space) == hash(jaxfit.grid(lr=[0.1, 0.2]))
    space.points()[0]["lr"] = 9.0
    assert space.points()[0] == {"lr": 0.1}
    assert len(jaxfit.grid(a=range(1000), b=range(1000), c=range(1000))) == 10**9  # not built


def test_repr():
    space = jaxfit.grid(learning_rate=[1e-3, 1e-2, 1e-1], hidden=[(32,), (64, 64)])
    assert repr(space) == "grid(learning_rate=[3 values], hidden=[2 values]) → 6 points"
    mixed = (space + jaxfit.zipped(steps=[1])) * jaxfit.random_space(2, m=jaxfit.uniform(0, 1))
    assert repr(mixed) == (
        "(grid(learning_rate=[3 values], hidden=[2 values]) + zipped(steps=[1 value])) * "
        "random_space(2, seed=0, m=uniform(low=0.0, high=1.0)) → 14 points"
    )


@jaxfit.hyperparams
class Tiny:
    rate: float = jaxfit.numeric(default=0.5, gt=0.0)
    width: int = jaxfit.static(default=4)
    mode: str = jaxfit.static(default="a")

    def __check_init__(self):
        if self.mode == "b" and self.width < 2:
            raise ValueError("mode 'b' needs width >= 2")


def test_apply_to_standard_and_custom_hyperparams():
    base = jaxfit.Hyperparams(steps=7)
    hps = jaxfit.grid(learning_rate=[0.1, 0.2], hidden=[(8,), (16, 16)]).apply(base)
    assert [float(h.learning_rate) for h in hps] == pytest.approx([0.1, 0.1, 0.2, 0.2])
    assert [(h.hidden, h.steps) for h in hps] == [((8,), 7), ((16, 16), 7)] * 2
    # A concatenation sets only the fields each point names; the base keeps the rest.
    tinies = (jaxfit.grid(rate=[2.0]) + jaxfit.zipped(width=[1, 3], mode=["a", "b"])).apply(Tiny())
    assert [(float(t.rate), t.width, t.mode) for t in tinies] == [
        (2.0, 4, "a"),
        (0.5, 1, "a"),
        (0.5, 3, "b"),
    ]


@pytest.mark.parametrize(
    ("space", "base", "error", "match"),
    [
        (
            lambda: jaxfit.grid(learnin_rate=[0.1]),
            jaxfit.Hyperparams(),
            ValueError,
            r"Hyperparams has no field 'learnin_rate' \(did you mean 'learning_rate'\?\); "
            r"allowed fields are \['activation', ",
        ),
        (
            lambda: jaxfit.grid(rate=[1.0, -1.0]),
            Tiny(),
            ValueError,
            r"point 1, axis rate: Tiny.rate=-1.0 is out of range",
        ),
        (
            lambda: jaxfit.grid(hidden=[32]),
            jaxfit.Hyperparams(),
            TypeError,
            r"point 0, axis hidden: Hyperparams.hidden=32 does not match",
        ),
        (
            lambda: jaxfit.zipped(width=[4, 1], mode=["b", "b"]),
            Tiny(),
            ValueError,
            r"point 1 \{'width': 1, 'mode': 'b'\}: mode 'b' needs width >= 2",
        ),
        (lambda: jaxfit.grid(rate=[1.0]), 1.0, TypeError, r"base must be an instance of a"),
        (
            lambda: jaxfit.grid(rate=[1.0]),
            jaxfit.stack([Tiny(), Tiny()]),
            TypeError,
            r"base is a batch \(batch_shape=\(2,\)\); pass one setting",
        ),
    ],
)
def test_apply_errors(space, base, error, match):
    with pytest.raises(error, match=match):
        space().apply(base)


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (
            lambda: jaxfit.grid(hidden=(64, 64)),
            TypeError,
            r"hidden=\(64, 64\) is a tuple.*"
            r"pass a list: hidden=\[\(64, 64\)\] for this one value",
        ),
        (lambda: jaxfit.grid(learning_rate=0.1), TypeError, r"learning_rate=\[0.1\]"),
        (lambda: jaxfit.grid(lr=np.float64(0.1)), TypeError, r"lr=0.1 is a single value"),
        (lambda: jaxfit.grid(optimizer="adam"), TypeError, r"e.g. optimizer=\['adam'\]"),
        (lambda: jaxfit.grid(x=iter([1])), TypeError, r"x is a list_iterator, not a list"),
        (lambda: jaxfit.grid(learning_rate=[]), ValueError, r"learning_rate is empty"),
        (lambda: jaxfit.grid(hidden=[{32}]), TypeError, r"hidden\[0\]=\{32\} is a set"),
        (lambda: jaxfit.grid(f=[print]), TypeError, r"f\[0\]=.* is a builtin_function"),
        (lambda: jaxfit.grid(), ValueError, r"grid needs at least one axis"),
        (lambda: jaxfit.zipped(a=[1, 2], b=[1]), ValueError, r"same length; got a: 2, b: 1"),
        (
            lambda: jaxfit.grid(a=[1]) * jaxfit.grid(a=[2], b=[3]),
            ValueError,
            r"share field\(s\) \['a'\]",
        ),
        (lambda: jaxfit.grid(a=[1]) * 2, TypeError, r"unsupported operand"),
        (lambda: jaxfit.loguniform(0.0, 1.0), ValueError, r"log-uniform ranges must be > 0"),
        (lambda: jaxfit.loguniform(-1.0, 1.0), ValueError, r"low=-1.0.*must be > 0"),
        (lambda: jaxfit.uniform(1.0, 1.0), ValueError, r"low=1.0 must be < high=1.0"),
        (lambda: jaxfit.integers(3, 2), ValueError, r"low=3 must be < high=2"),
        (lambda: jaxfit.uniform(0.0, math.inf), ValueError, r"high=inf must be finite"),
        (lambda: jaxfit.uniform(math.nan, 1.0), ValueError, r"low=nan must be finite"),
        (lambda: jaxfit.uniform(WRONG["str"], 1.0), TypeError, r"low='0' must be a real number"),
        (lambda: jaxfit.integers(0, WRONG["float"]), TypeError, r"high=2.5 must be an int"),
        (lambda: jaxfit.integers(False, 2), TypeError, r"low=False must be an int"),
        (lambda: jaxfit.choice([]), ValueError, r"values is empty"),
        (lambda: jaxfit.choice((1, 2)), TypeError, r"is a tuple"),
        (lambda: jaxfit.random_space(0, a=[1]), ValueError, r"n=0 must be >= 1"),
        (lambda: jaxfit.random_space(True, a=[1]), TypeError, r"n=True must be an int"),
        (lambda: jaxfit.random_space(WRONG["two"], a=[1]), TypeError, r"n=2.0 must be an int"),
        (lambda: jaxfit.random_space(2, seed=-1, a=[1]), ValueError, r"seed=-1 must be >= 0"),
        (lambda: jaxfit.random_space(2), ValueError, r"needs at least one axis"),
        (
            lambda: jaxfit.random_space(2, a=(1e-4, 1e-1)),
            TypeError,
            r"a=\(0.0001, 0.1\) is a tuple, which is ambiguous; use jaxfit.uniform",
        ),
        (lambda: jaxfit.random_space(2, a=0.1), TypeError, r"a=0.1 is not a distribution"),
    ],
)
def test_construction_errors(make, error, match):
    with pytest.raises(error, match=match):
        make()


@pytest.mark.parametrize(
    ("d", "error", "match"),
    [
        ({"grd": {}}, ValueError, r"unknown key\(s\) \['grd'\]; allowed keys are \['grid', "),
        ({"grid": {"a": [1]}, "zip": {"a": [1]}}, ValueError, r"exactly one key"),
        ([1], TypeError, r"must be a dict"),
        ({"grid": [1]}, TypeError, r"grid must be a dict from field names"),
        ({"grid": {"a": 1}}, TypeError, r"a=1 is a single value"),
        ({"random": {"x": [1]}}, ValueError, r'"random" needs "n"'),
        (
            {"random": {"n": 2, "x": {"logu": [1, 2]}}},
            ValueError,
            r"x: unknown key\(s\) \['logu'\]; allowed keys are \['choice', 'uniform'",
        ),
        (
            {"random": {"n": 2, "x": {"uniform": [1, 2, 3]}}},
            ValueError,
            r"uniform takes \[low, high\]",
        ),
        ({"random": {"n": 2, "x": 5}}, TypeError, r"x=5 is not a distribution"),
        ({"random": {"n": 2, "x": {"loguniform": [0, 1]}}}, ValueError, r"must be > 0"),
        ({"product": []}, ValueError, r"product takes a non-empty list"),
        ({"product": [{"grid": {"a": [1]}}, {"grid": {"a": [2]}}]}, ValueError, r"share"),
    ],
)
def test_space_from_dict_errors(d, error, match):
    with pytest.raises(error, match=match):
        jaxfit.space_from_dict(d)


def test_lists_inside_axes_become_tuples_as_in_configs():
    listed = jaxfit.grid(hidden=[[8], [16, 4]], learning_rate=[0.1])
    assert listed.points() == jaxfit.grid(hidden=[(8,), (16, 4)], learning_rate=[0.1]).points()
    assert [hp.hidden for hp in listed.apply(jaxfit.Hyperparams())] == [(8,), (16, 4)]
    assert jaxfit.zipped(hidden=[[8], [[1], 2]]).points() == [
        {"hidden": (8,)},
        {"hidden": ((1,), 2)},
    ]
    assert {p["hidden"] for p in jaxfit.random_space(6, hidden=[[8], [16]])} <= {(8,), (16,)}
    chosen = jaxfit.random_space(6, hidden=jaxfit.choice([[8], [16]]))
    assert {p["hidden"] for p in chosen} <= {(8,), (16,)}
