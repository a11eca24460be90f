"""symbreak: spontaneous symmetry breaking, fast.

Lattice and particle simulators with a C++/OpenMP (and optional CUDA) core, exact reference results, and
Energy Conserving Descent optimizers. See ``symbreak.info()`` for what this build can do.
"""

from __future__ import annotations

import os
import sys

from . import _core
from ._backend import cuda_available, cuda_unavailable_reason

__version__: str = _core.build_info()["version"]

__all__ = ["__version__", "info", "set_num_threads", "get_num_threads", "cuda_available",
           "cuda_unavailable_reason", "lattice", "schedules", "analysis"]


def set_num_threads(n: int) -> None:
    """Set the number of OpenMP threads of the C++ core (results never depend on it). OMP_NUM_THREADS sets the
    default."""
    from ._validate import require_int

    _core.set_num_threads(require_int("n", n, 1))


def get_num_threads() -> int:
    """Number of OpenMP threads the C++ core uses."""
    return _core.get_num_threads()


def info(file=None) -> dict:
    """Print and return the build: version, compiler and flags, CUDA, visible GPUs, OpenMP threads."""
    d = dict(_core.build_info())
    d["python"] = sys.version.split()[0]
    d["omp_threads"] = get_num_threads()
    d["OMP_NUM_THREADS"] = os.environ.get("OMP_NUM_THREADS", "(unset)")
    lines = [
        f"symbreak {d['version']} (Python {d['python']})",
        f"  compiler        {d['compiler']}",
        f"  flags           {d['cxx_flags'].strip()}",
        f"  SIMD            {d['simd_dispatch']}",
        f"  OpenMP          {d['openmp']}, {d['omp_threads']} threads (OMP_NUM_THREADS={d['OMP_NUM_THREADS']})",
        f"  CUDA compiled   {'yes, archs ' + d['cuda_architectures'] if d['cuda_compiled'] else 'no'}",
    ]
    if d["cuda_devices"]:
        lines += [f"  GPU {i}           {name}" for i, name in enumerate(d["cuda_devices"])]
    else:
        lines.append(f"  GPUs            none ({d['cuda_unavailable_reason']})")
    print("\n".join(lines), file=file or sys.stdout)
    return d


from . import analysis, lattice, schedules  # noqa: E402  (after _core, which they need)
