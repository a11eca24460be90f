"""``symbreak particles``: a hot gas in a periodic box, cooled (or damped) until it crystallises.

Example::

    symbreak particles --n 4096 --dim 2 --density 0.8 --cool 2.0:0.2 --steps 100000 --out runs/particles

writes ``observables.csv``, ``run.json``, ``trajectory.gsd`` (``.xyz`` without the gsd package) and
``particles.png`` to ``--out`` and prints the figure's path.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from .. import __version__, get_num_threads, schedules, set_num_threads
from ..results import RunResult
from ._common import PROG, Progress, anneal, int_at_least, temperature


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``symbreak particles`` to the sub-command parsers."""
    q = sub.add_parser("particles", help="molecular dynamics of a gas cooled until it crystallises",
                       description="LJ (or Morse, soft-core) particles in a periodic box, started as a hot gas and "
                                   "cooled by a Langevin thermostat (or collisional damping); writes observables.csv, "
                                   "run.json, a trajectory and particles.png to --out. LJ units.")
    q.add_argument("--n", type=int_at_least(2), default=4096, help="number of particles (default: 4096)")
    q.add_argument("--dim", type=int, choices=(2, 3), default=2, help="dimension (default: 2)")
    q.add_argument("--density", type=temperature, default=0.8, metavar="RHO", help="number density (default: 0.8)")
    q.add_argument("--cool", type=anneal, default=(2.0, 0.2), metavar="T0:T1",
                   help="start at T0 and cool linearly to T1 (Langevin; damping only starts at T0) (default: 2.0:0.2)")
    q.add_argument("--steps", type=int_at_least(1), default=100000, help="time steps (default: 100000)")
    q.add_argument("--dt", type=temperature, default=0.005, help="time step (default: 0.005)")
    q.add_argument("--integrator", choices=("langevin", "damping", "verlet"), default="langevin")
    q.add_argument("--gamma", type=temperature, default=1.0,
                   help="Langevin friction or collisional damping coefficient (default: 1)")
    q.add_argument("--potential", choices=("lj", "lj_force_shifted", "morse", "soft"), default="lj")
    q.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    q.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    q.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default: cpu)")
    q.add_argument("--measure-every", type=int_at_least(1), default=None, metavar="K",
                   help="steps between measurements (default: steps / 200)")
    q.add_argument("--frames", type=int_at_least(0), default=50, help="trajectory frames (default: 50)")
    q.add_argument("--snapshots", type=int_at_least(0), default=4, help="snapshots in the figure (default: 4)")
    q.add_argument("--threads", type=int_at_least(1), metavar="N", help="OpenMP threads (default: all)")
    q.add_argument("--out", type=Path, default=Path("runs/particles"), help="output folder (default: runs/particles)")
    q.add_argument("--quiet", action="store_true", help="no progress output")
    q.set_defaults(run=_run_particles)


def _run_particles(args: argparse.Namespace) -> int:
    from ..analysis import structure
    from ..particles import ParticleSystem, trajectory_writer

    if args.threads is not None:
        set_num_threads(args.threads)
    T0, T1 = args.cool
    ps = ParticleSystem.gas(args.n, dim=args.dim, density=args.density, T=T0, seed=args.seed,
                            potential=args.potential, integrator=args.integrator, gamma=args.gamma, dt=args.dt,
                            dtype=args.dtype, device=args.device)
    full = schedules.linear(T0, T1, args.steps) if args.integrator == "langevin" else schedules.constant(T0, args.steps)
    k = args.measure_every or max(1, args.steps // 200)
    if k > args.steps:
        raise ValueError(f"--measure-every ({k}) must not exceed --steps ({args.steps})")
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        import gsd  # noqa: F401

        traj_path = args.out / "trajectory.gsd"
    except ImportError:
        traj_path = args.out / "trajectory.xyz"

    # Chunks of whole measurement blocks, ending where frames and snapshots are taken (random numbers are keyed
    # by step, so chunking does not change the run).
    blocks = args.steps // k
    frame_ends = {k * int(b) for b in np.linspace(1, blocks, min(args.frames, blocks))} if args.frames else set()
    snap_ends = {k * int(b) for b in np.linspace(1, blocks, min(args.snapshots, blocks))} if args.snapshots else set()
    every = k * max(1, blocks // 100)
    bounds = sorted({0, k * blocks, args.steps, *range(every, k * blocks, every), *frame_ends, *snap_ends})
    r_max = 0.5 * float(ps.box.min()) if args.dim == 3 else min(6.0, 0.5 * float(ps.box.min()))
    rdfs = []
    snapshots = []
    progress = Progress(args.steps, None if args.quiet else sys.stderr, unit="steps")
    parts, sim_seconds = [], 0.0
    with trajectory_writer(traj_path) as writer:
        try:
            for a, b in zip(bounds[:-1], bounds[1:]):
                t = time.perf_counter()
                parts.append(ps.run(schedules.Schedule(full.values[a:b], full.description), measure_every=k,
                                    order=b in snap_ends or b in frame_ends))
                sim_seconds += time.perf_counter() - t
                if a == 0:  # the gas after its first steps (the start is a jittered grid)
                    rdfs.append((f"step {b}, T = {full.values[b - 1]:.3g}",
                                 *structure.rdf(ps.positions, ps.box, r_max=r_max, bins=150)))
                if b in frame_ends:
                    writer.append(ps.frame({"T": float(full.values[b - 1])}))
                if b in snap_ends:
                    x = ps.positions
                    local = (structure.psi6(x, ps.box).local_orientation if args.dim == 2
                             else structure.steinhardt_q(x, ps.box, l=6).q)
                    snapshots.append({"step": b, "T": float(full.values[b - 1]), "positions": x, "box": ps.box,
                                      "orientation": local})
                progress.update(b, float(full.values[b - 1]))
        finally:
            progress.close()
    result = RunResult.concatenate([r for r in parts if len(r)])
    rdfs.append((f"end, T = {full.values[-1]:.3g}", *structure.rdf(ps.positions, ps.box, r_max=r_max, bins=150)))
    result.to_csv(args.out / "observables.csv")
    rate = args.n * args.steps / sim_seconds if sim_seconds > 0 else None
    final = ps.observables()
    params = {key: (str(v) if isinstance(v, Path) else v) for key, v in vars(args).items()
              if key not in ("command", "run")}
    summary = {"final_order": final["order"], "final_T_kin": final["T_kin"], "final_u": final["u"],
               "elapsed_s": sim_seconds, "particle_steps_per_s": rate, "counters": ps.counters,
               "trajectory": traj_path.name, "threads": get_num_threads(), "version": __version__}
    (args.out / "run.json").write_text(json.dumps({"parameters": params, "summary": summary}, indent=2) + "\n")

    from ..plot import particles_figure  # matplotlib is optional: imported only here

    # the order parameter is computed only where frames or snapshots were taken: draw those measurements
    figure = particles_figure(result.select(np.isfinite(result.abs_m)), snapshots, rdfs, args.out / "particles.png")
    if not args.quiet:
        print(f"{PROG}: {args.steps} steps of {args.n} particles in {sim_seconds:.2f} s "
              f"({(rate or 0) / 1e6:.2f} M particle-steps/s); final order = {final['order']:.3f}, "
              f"T_kin = {final['T_kin']:.3f}", file=sys.stderr)
    print(figure)
    return 0
