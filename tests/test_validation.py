"""Bad input gets a ValueError (or RuntimeError for an absent device) naming the parameter; never a crash."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from symbreak import schedules, set_num_threads
from symbreak.lattice import Ising


@pytest.mark.parametrize("T", [0.0, -1.0, math.nan, math.inf, "hot", None])
def test_bad_temperature(T):
    with pytest.raises(ValueError, match="T"):
        Ising((8, 8), T)
    ising = Ising((8, 8))
    with pytest.raises(ValueError, match="T"):
        ising.T = T


@pytest.mark.parametrize("shape,match", [((7, 8), "even"), ((8,), "2 or 3"), ((0, 8), "shape"), ((8, 8, 8, 8), "2 or 3"),
                                         (8, "shape"), ((8.5, 8), "integer"), ((-2, 8), "shape")])
def test_bad_shape(shape, match):
    with pytest.raises(ValueError, match=match):
        Ising(shape)


def test_lattice_too_large_for_memory():
    with pytest.raises(ValueError, match="GiB"):
        Ising((2**20, 2**20))


@pytest.mark.parametrize("kwargs,match", [
    ({"algorithm": "glauber"}, "algorithm"), ({"device": "tpu"}, "device"), ({"device": "cuda:x"}, "device"),
    ({"init": "sideways"}, "init"), ({"init": np.ones((4, 4))}, "shape"), ({"init": np.zeros((8, 8))}, r"\+1 or -1"),
    ({"J": math.nan}, "J"), ({"h": math.inf}, "h"), ({"seed": -1}, "seed"), ({"seed": 2**64}, "seed"),
    ({"wolff_clusters": 0}, "wolff_clusters")])
def test_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Ising((8, 8), **kwargs)


def test_wolff_needs_zero_field_and_ferromagnet():
    with pytest.raises(ValueError, match="wolff"):
        Ising((8, 8), algorithm="wolff", h=0.1).sweep(1)
    with pytest.raises(ValueError, match="wolff"):
        Ising((8, 8), algorithm="wolff", J=-1.0).sweep(1)


def test_bad_run_arguments():
    ising = Ising((8, 8))
    with pytest.raises(ValueError, match="measure_every"):
        ising.run(2.0, sweeps=10, measure_every=0)
    with pytest.raises(ValueError, match="steps"):
        ising.run(2.0)
    with pytest.raises(ValueError, match="steps"):
        ising.run(schedules.constant(2.0, 5), sweeps=6)
    with pytest.raises(ValueError, match="n"):
        ising.sweep(-1)
    with pytest.raises(ValueError, match="n"):
        set_num_threads(0)


def test_bad_state_dict():
    ising = Ising((8, 8), seed=1)
    state = ising.state_dict()
    with pytest.raises(ValueError, match="shape"):
        Ising((8, 10), seed=1).load_state_dict(state)
    with pytest.raises(ValueError, match="seed"):
        Ising((8, 8), seed=2).load_state_dict(state)
    with pytest.raises(ValueError, match="format"):
        ising.load_state_dict({**state, "format": "other"})


@pytest.mark.parametrize("make", [lambda: schedules.linear(0, 1, 10), lambda: schedules.geometric(1, -1, 10),
                                  lambda: schedules.constant(1, 0), lambda: schedules.piecewise()])
def test_bad_schedules(make):
    with pytest.raises(ValueError):
        make()


@settings(max_examples=60, deadline=None)
@given(T=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-5, 5)),
       sides=st.lists(st.integers(-3, 12), min_size=1, max_size=4),
       algorithm=st.sampled_from(["metropolis", "heat_bath", "wolff", "other"]))
def test_fuzz_constructor_never_crashes(T, sides, algorithm):
    """Any combination either works (and gives ±1 spins) or raises ValueError."""
    try:
        ising = Ising(tuple(sides), T, algorithm=algorithm, seed=0)
    except ValueError:
        return
    assert T > 0 and math.isfinite(T)
    spins = ising.sweep(2).spins
    assert set(np.unique(spins)) <= {-1, 1}


def test_schedule_values():
    assert np.allclose(schedules.linear(3, 1, 3).values, [3, 2, 1])
    assert np.allclose(schedules.geometric(4, 1, 3).values, [4, 2, 1])
    s = schedules.constant(2, 2) + schedules.linear(2, 1, 2)
    assert len(s) == 4 and s(3) == 1.0
    with pytest.raises(ValueError, match="step"):
        s(4)
