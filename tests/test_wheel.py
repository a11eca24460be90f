"""The wheel `make wheel` builds installs into a fresh virtual environment and works there.

This catches files missing from the wheel (the compiled module, subpackages, the console script).
"""

import subprocess
import sys
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

SMOKE = """
import numpy as np, symbreak
from symbreak.lattice import Ising
from symbreak.analysis import exact, stats
d = symbreak.info()
assert d["version"] == symbreak.__version__
ising = Ising((16, 16), 2.0, seed=1).sweep(10)
assert set(np.unique(ising.spins)) <= {-1, 1}
assert abs(exact.onsager_energy(exact.TC_2D) + 2 ** 0.5) < 1e-12
print("wheel-smoke-ok", symbreak.__file__)
"""


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


@pytest.mark.skipif(not (REPO / "pyproject.toml").exists(), reason="needs the source tree")
def test_wheel_installs_and_imports_in_fresh_venv(tmp_path):
    dist = tmp_path / "dist"
    run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "--wheel-dir", str(dist),
         str(REPO)], cwd=REPO)
    wheels = list(dist.glob("symbreak-*.whl"))
    assert len(wheels) == 1, wheels
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    run([str(py), "-m", "pip", "install", "-q", str(wheels[0])])
    out = run([str(py), "-c", SMOKE], cwd=tmp_path).stdout  # cwd away from the source tree
    assert "wheel-smoke-ok" in out and str(env_dir) in out
    cli = run([str(env_dir / "bin" / "symbreak"), "info"], cwd=tmp_path).stdout
    assert "symbreak" in cli and "CUDA" in cli
