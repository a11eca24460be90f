"""Kibble–Zurek quenches of the XY model: faster cooling leaves more vortices."""

import numpy as np
import pytest

from symbreak.analysis import quench


def test_faster_quench_leaves_more_vortices(tmp_path):
    table = quench.kibble_zurek((16, 16), [10, 300], replicas=24, seed=3)
    fast, slow = table.rows
    assert fast["rate"] > slow["rate"]
    gap = fast["density"] - slow["density"]
    assert gap > 5 * np.hypot(fast["density_err"], slow["density_err"]), table
    assert table.to_csv(tmp_path / "q.csv").read_text().startswith("steps,tau,rate,density,density_err")
    if pytest.importorskip("matplotlib"):
        assert quench.figure(table, tmp_path / "q.png").stat().st_size > 1000


def test_kz_exponent_is_negative():
    table = quench.kibble_zurek((16, 16), [10, 40, 160], replicas=16, seed=5)
    slope, err = table.kz_exponent()
    assert slope < 0 and np.isfinite(err)


@pytest.mark.parametrize("kwargs,name", [({"T_start": 0.5}, "T_KT"), ({"T_end": 1.0}, "T_KT"),
                                         ({"replicas": 1}, "replicas"), ({"shape": (8,)}, "shape")])
def test_quench_arguments_are_checked(kwargs, name):
    args = {"shape": (8, 8), **kwargs}
    with pytest.raises(ValueError, match=name):
        quench.kibble_zurek(args.pop("shape"), [5], **args)
